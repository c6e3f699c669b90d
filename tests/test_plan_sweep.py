"""``manage.py plan --sweep FILE.csv``: one JSON object per row, the API's plan, a bad row's errors in its own."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from registry.management.commands.plan import SWEEP_COLUMNS
from tests.conftest import SEED

MODELS = sorted(SEED)
DEVICES = ("H100-SXM", "H100-80GB", "H200", "B200", "MI300X", "L40S", "A100-80GB")


def _rows(n: int) -> list[dict[str, str]]:
    """``n`` deployments over the seed models, devices, dtypes and workloads (blank cells now and then)."""
    grid = itertools.product(MODELS, DEVICES, ("bf16", "fp8", ""), ("1", "2", "8"), ("1024", "128"), ("1", "16", ""))
    rows = []
    for model_id, device, dtype, tp, isl, concurrency in itertools.islice(itertools.cycle(grid), n):
        rows.append(
            {"model_id": model_id, "device": device, "dtype": dtype, "kv_dtype": "", "tp": tp, "pp": "", "ep": "",
             "isl": isl, "osl": "256", "concurrency": concurrency, "engine": ""}
        )  # fmt: skip
    return rows


def _write(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = SWEEP_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _sweep(path: Path, *args: str) -> list[dict]:
    out = io.StringIO()
    call_command("plan", "--sweep", str(path), *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.django_db
def test_a_thousand_rows_give_a_thousand_objects_and_a_bad_row_its_own(loaded_fixtures, tmp_path):
    """1,000 rows, row 500 naming an unknown device: 1,000 objects in order, the bad one its errors only."""
    rows = _rows(1000)
    rows[499] = {**rows[499], "device": "Z80"}
    objects = _sweep(_write(tmp_path / "sweep.csv", rows))
    assert len(objects) == 1000
    bad = objects[499]
    assert bad["row"] == 501  # the header is line 1
    assert bad["model_id"] == rows[499]["model_id"]
    assert [(e["loc"], e["code"]) for e in bad["errors"]] == [("device", "unknown_device")]
    good = [o for i, o in enumerate(objects) if i != 499]
    assert all(
        "row" not in o and o["model_id"] == r["model_id"] for o, r in zip(good, rows[:499] + rows[500:], strict=True)
    )
    refused = [o for o in good if o.get("errors")]
    assert refused == []  # every other row plans (the seed models split by 1, 2 and 8)
    assert all("performance" in o for o in good)


@pytest.mark.django_db
def test_each_object_is_the_apis_plan(loaded_fixtures, api, tmp_path):
    """A row's object is GET /models/{id}/plan's body for the same parameters, blank cells left out."""
    rows = _rows(12)
    objects = _sweep(_write(tmp_path / "sweep.csv", rows))
    for row, obj in zip(rows, objects, strict=True):
        query = "&".join(f"{k}={v}" for k, v in row.items() if v and k != "model_id")
        body = api.get(f"/models/{row['model_id']}/plan?{query}").json()
        assert obj == body


@pytest.mark.django_db
def test_row_errors_name_their_columns_and_the_rest_goes_on(loaded_fixtures, tmp_path):
    """Blank model_id, unknown model_id, a degree that does not split, isl without osl: each row its errors."""
    base = _rows(1)[0]
    rows = [
        {**base, "model_id": ""},
        {**base, "model_id": "nobody_nothing"},
        {**base, "tp": "3"},
        {**base, "osl": ""},
        base,
    ]
    objects = _sweep(_write(tmp_path / "sweep.csv", rows))
    codes = [[(e["loc"], e["code"]) for e in o.get("errors", [])] for o in objects]
    assert codes[0] == [("model_id", "required")]
    assert codes[1] == [("model_id", "not_found")]
    assert codes[2] and all(loc.startswith("tp") or code == "not_divisible" for loc, code in codes[2])
    assert codes[3] == [("osl", "required")]
    assert codes[4] == [] and objects[4]["performance"]["device"] == "H100-SXM"
    assert [o.get("row") for o in objects] == [2, 3, 4, 5, None]


@pytest.mark.django_db
def test_output_file_and_refusals(loaded_fixtures, tmp_path):
    """--output writes the same lines; an unknown column, MODEL_ID with --sweep, --output alone: CommandError."""
    path = _write(tmp_path / "sweep.csv", _rows(3))
    target = tmp_path / "out.jsonl"
    call_command("plan", "--sweep", str(path), "--output", str(target), verbosity=0)
    assert [json.loads(line) for line in target.read_text().splitlines()] == _sweep(path)
    with pytest.raises(CommandError, match=r"unknown column\(s\) 'gpu'"):
        _sweep(_write(tmp_path / "bad.csv", [{"model_id": MODELS[0], "gpu": "H100"}], ("model_id", "gpu")))
    with pytest.raises(CommandError, match=r"drop MODEL_ID, --tp"):
        call_command("plan", MODELS[0], "--tp", "2", "--sweep", str(path))
    with pytest.raises(CommandError, match=r"--output goes with --sweep"):
        call_command("plan", MODELS[0], "--output", str(target))
    with pytest.raises(CommandError, match=r"not_a_regular_file|not a regular file|folder|directory"):
        call_command("plan", "--sweep", str(tmp_path))
