"""The device catalogue: the fixture, its validation and its aliases."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from registry.core.devices import FIXTURE, SOURCED, load_devices, parse_device, parse_devices
from registry.core.files import config_paths
from registry.core.issues import Code
from registry.core.plan_parameters import DEVICES

REQUIRED = [
    "H100-SXM",
    "H100-PCIe",
    "H200-SXM",
    "B200",
    "B300",
    "GB200",
    "GB300",
    "A100-SXM-40GB",
    "A100-SXM-80GB",
    "L4",
    "L40S",
    "A10",
    "RTX-4090",
    "RTX-PRO-6000",
    "MI300X",
    "MI325X",
    "MI355X",
    "Gaudi3",
]


def _doc() -> dict:
    return copy.deepcopy(json.loads(FIXTURE.read_text())["devices"][0])


def test_fixture_holds_every_required_device_with_every_figure_sourced():
    """Every device the issue names is in the fixture, and each names a source and date for every figure."""
    catalogue = load_devices()
    assert set(REQUIRED) <= set(catalogue.names())
    for device in catalogue:
        assert set(device.sources) == set(SOURCED), device.name
        assert device.peak("bf16") > 0 and device.memory_bytes > 0


def test_planner_device_names_stay_usable_as_aliases_with_the_same_memory():
    """Each memory-only name of plan_parameters.DEVICES resolves to a device; H200 is H200-SXM; where the memory
    differs (B200: 180 GB per the HGX B200 datasheet, not 192) the test names it."""
    catalogue = load_devices()
    assert catalogue.get("H200").name == "H200-SXM"
    assert catalogue.get("h100-80gb").name == "H100-SXM"
    for name, memory in DEVICES.items():
        device = catalogue.get(name)
        assert device is not None, name
        if name != "B200":
            assert device.memory_bytes == memory, name
    assert catalogue.get("B200").memory_bytes == 180 * 2**30


def test_parse_device_reports_every_problem_with_path_and_code():
    """A negative memory, a figure without a source, a bad date and an unknown key are all reported at once."""
    doc = _doc()
    doc["memory_bytes"] = -1
    del doc["sources"]["tdp_watts"]
    doc["sources"]["price_per_hour"]["date"] = "last year"
    doc["colour"] = "green"
    device, issues = parse_device(doc)
    assert device is None
    found = {(i.loc, i.code) for i in issues}
    assert ("memory_bytes", Code.NOT_POSITIVE) in found
    assert ("sources.tdp_watts", Code.MISSING_SOURCE) in found
    assert ("sources.price_per_hour.date", Code.INVALID_DATE) in found
    assert ("colour", Code.UNKNOWN_KEY) in found


def test_parse_devices_rejects_an_alias_that_names_another_device():
    """Names and aliases are unique across the catalogue, case-insensitively."""
    first, second = _doc(), _doc()
    second["name"], second["aliases"] = "Other", ["h100-sxm"]
    catalogue, issues = parse_devices({"devices": [first, second]})
    assert catalogue is None
    assert [(i.loc, i.code) for i in issues] == [("devices[1].aliases[0]", Code.DUPLICATE_NAME)]


@pytest.mark.parametrize("value", [True, 1.5, "80GB"])
def test_parse_device_rejects_a_non_integer_memory(value):
    """Figures are integers in base units: booleans, floats and strings are refused."""
    doc = _doc()
    doc["memory_bytes"] = value
    assert (parse_device(doc)[1][0].loc, parse_device(doc)[1][0].code) == ("memory_bytes", Code.NOT_AN_INTEGER)


def test_config_folders_never_include_the_device_catalogue():
    """loadconfigs' file list (config_paths) over fixtures/ is exactly the config files, not fixtures/devices/."""
    fixtures = FIXTURE.parent.parent
    found = config_paths([fixtures])
    assert FIXTURE not in found
    assert found == sorted(fixtures.glob("*.json"), key=str)
    assert len(found) == 15


def test_config_paths_still_recurse_into_other_subfolders(tmp_path: Path):
    """Only a folder's devices/ subfolder is skipped; other nested config files are still found."""
    (tmp_path / "a").mkdir()
    (tmp_path / "devices").mkdir()
    (tmp_path / "a" / "x.json").write_text("{}")
    (tmp_path / "devices" / "devices.json").write_text("{}")
    assert config_paths([tmp_path]) == [tmp_path / "a" / "x.json"]
