"""An upgrade whose rules change: ETags stay what clients read, configs are re-checked and stamped, not rewritten."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from registry.core import document
from registry.core.document import digest
from registry.models import ConfigRevision, ModelConfig
from tests.conftest import LLAMA, token_client, user_with


@pytest.fixture
def new_rules(monkeypatch):
    """The next release's rules: another RULES_VERSION (as a changed rule or catalogue would make it)."""
    monkeypatch.setattr(document, "RULES_VERSION", document.RULES_VERSION + "-next")
    document.rules_stamp.cache_clear()
    yield document.rules_stamp()
    monkeypatch.undo()
    document.rules_stamp.cache_clear()


@pytest.mark.django_db
def test_a_client_that_read_before_the_upgrade_writes_with_its_etag_after_it(loaded_fixtures, new_rules):
    """The ETag read under the old rules is the ETag after the upgrade, even when the document cache is cold; a
    write guarded by it succeeds."""
    editor = token_client(user_with("editor", "change_modelconfig"))
    old_rules = ModelConfig.objects.get(model_id=LLAMA).rules
    assert old_rules != new_rules
    cache.clear()
    response = editor.get(f"/models/{LLAMA}")
    etag = response["ETag"]
    assert etag == f'"{ModelConfig.objects.get(model_id=LLAMA).digest}"'
    patched = editor.patch(
        f"/models/{LLAMA}", {"validation_notes": "Checked again."}, format="json", HTTP_IF_MATCH=etag
    )
    assert patched.status_code == 200, patched.content
    assert ModelConfig.objects.get(model_id=LLAMA).rules == new_rules


@pytest.mark.django_db
def test_revalidate_stamps_every_config_without_touching_documents_or_history(loaded_fixtures, new_rules):
    """manage.py revalidate: every config passes, is stamped with the new rules; digests and revisions stay."""
    digests = dict(ModelConfig.objects.values_list("model_id", "digest"))
    revisions = ConfigRevision.objects.count()
    out = StringIO()
    call_command("revalidate", "--dry-run", stdout=out)
    assert f"{len(digests)} config(s) would pass the current rules, 0 refused." in out.getvalue()
    assert new_rules not in set(ModelConfig.objects.values_list("rules", flat=True))
    call_command("revalidate", stdout=(out := StringIO()))
    assert f"{len(digests)} config(s) pass the current rules, 0 refused." in out.getvalue()
    assert set(ModelConfig.objects.values_list("rules", flat=True)) == {new_rules}
    assert dict(ModelConfig.objects.values_list("model_id", "digest")) == digests
    assert ConfigRevision.objects.count() == revisions


@pytest.mark.django_db
def test_revalidate_lists_a_config_the_rules_refuse_and_leaves_it(loaded_fixtures):
    """A stored config the rules now refuse (here, a stale total) is named with its error; nothing changes."""
    ModelConfig.objects.filter(model_id=LLAMA).update(total_params=1, rules="")
    with pytest.raises(CommandError, match="1 refused"):
        call_command("revalidate", stdout=(out := StringIO()))
    assert f"{LLAMA}: total_params: expected 70553706496" in out.getvalue()
    assert ModelConfig.objects.get(model_id=LLAMA).rules == ""


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_each_digest_the_hash_of_its_document(loaded_fixtures):
    """0006 recomputes digests written salted by earlier releases as the plain hash of the document (as it was
    before 0007 added the published total: migrating back to 0005 drops it)."""
    later = ("published_total_params", "published_total_params_source")
    expected = {
        c.model_id: digest({k: v for k, v in c.to_document().items() if k not in later})
        for c in ModelConfig.objects.prefetch_related("layer_types")
    }
    ModelConfig.objects.update(digest="0" * 64)  # as an older release left them: not today's hash
    executor = MigrationExecutor(connection)
    executor.migrate([("registry", "0005_revision_source_choices")])
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([("registry", "0006_config_rules")])
        assert dict(ModelConfig.objects.values_list("model_id", "digest")) == expected
        assert set(ModelConfig.objects.values_list("rules", flat=True)) == {""}
    finally:  # back to the newest schema: later tests (and /readyz under test) expect every migration applied
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
