"""The device catalogue in the database: loading with loadconfigs (all or nothing), dumping byte for byte, the one
write path with history, the DB constraints, the selector, and the admin (a price edit moves the cost line)."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from registry import selectors
from registry.core.devices import FIXTURE, load_devices
from registry.core.performance import Layout, Workload, estimate_config
from registry.models import Device, DeviceName, DeviceRevision, ModelConfig
from registry.services import PreconditionFailed
from registry.services.devices import DeviceRejected, device_patch, device_upsert, document_of, load_device_fixture
from tests.conftest import FIXTURES, copy_fixtures, form_data

pytestmark = pytest.mark.django_db
N_DEVICES = len(json.loads(FIXTURE.read_text())["devices"])


def load(*args: str) -> str:
    out = StringIO()
    call_command("loadconfigs", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_quick_start_loads_the_catalogue_and_dump_gives_the_same_bytes(settings, tmp_path):
    settings.REGISTRY_FIXTURES_DIR = FIXTURES
    out = load()
    assert f"devices: {N_DEVICES} created, 0 updated, 0 unchanged, 0 failed\n" in out
    assert Device.objects.count() == N_DEVICES
    target = tmp_path / "devices.json"
    call_command("dumpdevices", "-o", str(target), stdout=StringIO())
    assert target.read_bytes() == FIXTURE.read_bytes()
    # Loaded again: nothing changes, no revision is added.
    revisions = DeviceRevision.objects.count()
    assert f"0 created, 0 updated, {N_DEVICES} unchanged" in load()
    assert DeviceRevision.objects.count() == revisions == N_DEVICES


def test_a_bad_device_fails_the_whole_load(tmp_path, settings):
    folder = copy_fixtures(tmp_path / "fx")
    (folder / "devices").mkdir()
    data = json.loads(FIXTURE.read_text())
    data["devices"][3]["price_per_hour"] = -1
    (folder / "devices" / "devices.json").write_text(json.dumps(data))
    settings.REGISTRY_FIXTURES_DIR = folder
    with pytest.raises(CommandError, match="Nothing was written"):
        load()
    assert Device.objects.count() == 0
    assert ModelConfig.objects.count() == 0  # the configs were valid, but not written either
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("loadconfigs", stdout=StringIO(), stderr=err)
    assert "devices[3]: 1 error(s)" in err.getvalue()
    assert "price_per_hour (out_of_range)" in err.getvalue() or "price_per_hour" in err.getvalue()


def test_dry_run_writes_no_device(settings):
    settings.REGISTRY_FIXTURES_DIR = FIXTURES
    assert "Dry run" in load("--dry-run")
    assert Device.objects.count() == 0


def test_selector_serves_names_and_aliases_from_the_database():
    assert selectors.device_catalogue() == {}  # nothing until the catalogue is loaded
    assert load_device_fixture().written
    catalogue = selectors.device_catalogue()
    expected = {key for d in load_devices() for key in (d.name, *d.aliases)}
    assert set(catalogue) == expected
    assert catalogue["H100"] is catalogue["H100-SXM"]
    device_patch(name="H100-SXM", patch={"price_per_hour": 2.5})
    assert selectors.device_catalogue()["H100"].price_per_hour == 2.5


def test_upsert_keeps_history_and_refuses_clashes_and_stale_writes():
    load_device_fixture()
    h100 = Device.objects.get(name="H100-SXM")
    doc = document_of(h100)
    doc["price_per_hour"] = 3.5
    result = device_upsert(data=doc, if_match=h100.digest)
    assert result.changed and not result.created
    revision = DeviceRevision.objects.filter(name="H100-SXM").first()
    assert (
        revision is not None and revision.before["price_per_hour"] == 2.99 and revision.after["price_per_hour"] == 3.5
    )
    with pytest.raises(PreconditionFailed):
        device_upsert(data=doc, if_match=h100.digest)  # the digest before the write
    other = document_of(Device.objects.get(name="L4"))
    other["aliases"] = ["h100"]  # another device's alias, in another case
    with pytest.raises(DeviceRejected) as refused:
        device_upsert(data=other)
    assert [(i.loc, i.code) for i in refused.value.issues] == [("aliases[0]", "duplicate_name")]
    bad = {**other, "aliases": [], "memory_bytes": 0}
    with pytest.raises(DeviceRejected) as refused:
        device_upsert(data=bad)
    assert [(i.loc, i.code) for i in refused.value.issues] == [("memory_bytes", "not_positive")]


def test_the_database_keeps_names_unique_across_devices():
    load_device_fixture()
    l4 = Device.objects.get(name="L4")
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceName.objects.create(device=l4, key="H100-sxm", alias=True)


def staff_client(client):
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("staff", password="secret-pass-1")
    client.force_login(user)
    return client


COST = re.compile(r"\$([0-9.]+) per million output tokens")


def test_admin_edits_a_price_and_the_cost_follows(client):
    load_device_fixture()
    staff_client(client)
    device = Device.objects.get(name="L4")
    url = reverse("admin:registry_device_change", args=[device.pk])
    page = client.get(url)
    before = float(COST.search(page.content.decode()).group(1))
    reference = json.loads((FIXTURES / "Qwen_Qwen2.5-7B-Instruct.json").read_text())
    expected = estimate_config(reference, load_devices().get("L4"), Layout(), Workload(1024, 256, 16))
    assert before == round(expected["cost_per_million_output_tokens"], 4)
    from django.utils.html import escape

    source = document_of(device)["sources"]["price_per_hour"]["source"]
    assert escape(source) in page.content.decode()  # the sources are shown
    data = form_data(page)
    data["price_per_hour"] = "1.42"
    data["sources__price_per_hour__source"] = "our negotiated rate"
    data["_continue"] = "1"
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    after = float(COST.search(client.get(url).content.decode()).group(1))
    # The cost is linear in the price: $/M = price × devices ÷ (tokens/s × 3600) × 1e6.
    assert after == pytest.approx(before * 1.42 / 0.71, abs=1e-4)
    assert after != before
    revision = DeviceRevision.objects.filter(name="L4").first()
    assert revision.source == "admin" and revision.user.username == "staff"
    assert revision.after["sources"]["price_per_hour"]["source"] == "our negotiated rate"
    history = client.get(reverse("admin:registry_device_history", args=[device.pk])).content.decode()
    assert "price_per_hour" in history and "1.42" in history


def test_admin_form_reports_the_core_issue_at_its_field(client):
    load_device_fixture()
    staff_client(client)
    device = Device.objects.get(name="L4")
    url = reverse("admin:registry_device_change", args=[device.pk])
    data = form_data(client.get(url))
    data["sources__tdp_watts__date"] = "2024-13"
    data["aliases"] = "H100"
    page = client.post(url, data)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "sources__tdp_watts__date" in errors
    assert document_of(Device.objects.get(name="L4"))["sources"]["tdp_watts"]["date"] != "2024-13"


def test_admin_restores_a_version(client):
    load_device_fixture()
    staff_client(client)
    device_patch(name="L4", patch={"price_per_hour": 9.0})
    device = Device.objects.get(name="L4")
    first = DeviceRevision.objects.filter(name="L4", action="created").get()
    url = reverse("admin:registry_device_restore", args=[device.pk, first.pk])
    client.post(url, {"base_digest": device.digest})
    assert Device.objects.get(name="L4").price_per_hour == 0.71
    assert DeviceRevision.objects.filter(name="L4").first().action == "restored"


def test_dumpdevices_refuses_an_empty_catalogue(tmp_path: Path):
    with pytest.raises(CommandError, match="No device is stored"):
        call_command("dumpdevices", "-o", str(tmp_path / "x.json"), stdout=StringIO())
    assert not (tmp_path / "x.json").exists()
