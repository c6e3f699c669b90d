"""FIFOs, devices and oversized files: refused by name and code, never read, nothing written.

A FIFO blocks ``open()`` and ``/dev/zero`` never ends, so each case runs in a child process with a time and a
memory limit: before the fix the child hangs or fills its memory, and the test fails instead of the run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from registry.core.files import Code, config_paths, read_file_bytes
from registry.models import ModelConfig
from tests.conftest import ROOT, hub_config, small_config, subprocess_database_url

LIMIT_SECONDS = 30
LIMIT_MEMORY = 4 * 1024**3  # address space: far above a command's needs, far below the machine's


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_MEMORY, LIMIT_MEMORY))


def bounded(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the project, with a time and a memory limit; a hang is a failure, not a stuck run."""
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environ.update(env or {})
    try:
        return subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=LIMIT_SECONDS,
            preexec_fn=_limits,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args)} was still running after {LIMIT_SECONDS}s (blocked on a special file?)")


def manage_bounded(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return bounded(str(ROOT / "manage.py"), *args, env={"DATABASE_URL": subprocess_database_url(), **env})


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def zero(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")
    return path


def refused(result: subprocess.CompletedProcess[str], *paths: Path, code: str = "not_a_regular_file") -> None:
    """The command failed, naming each path with the code, and said nothing was written."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    for path in paths:
        assert any(str(path) in line for line in result.stderr.splitlines()), result.stderr
    assert result.stderr.count(f"[{code}]") == len(paths), result.stderr
    assert "Nothing was written" in result.stderr


# ---- the reader ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [fifo, zero], ids=["fifo", "dev_zero"])
def test_the_reader_refuses_a_special_file_without_reading_it(tmp_path, make):
    """read_file_bytes returns not_a_regular_file at once for a FIFO with no writer and a symlink to /dev/zero."""
    path = make(tmp_path / "config.json")
    reader = (
        "import sys; from pathlib import Path; from registry.core.files import read_file_bytes; "
        "raw, issue = read_file_bytes(Path(sys.argv[1])); print(issue.code, issue.msg)"
    )
    result = bounded("-c", reader, str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("not_a_regular_file ") and str(path) in result.stdout


def test_the_reader_refuses_a_file_over_the_cap(tmp_path):
    """A regular file of more than max_bytes is file_too_large; one of exactly max_bytes is read."""
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 100)
    assert read_file_bytes(path, max_bytes=100) == (b" " * 100, None)
    raw, issue = read_file_bytes(path, max_bytes=99)
    assert raw is None and issue is not None and issue.code == Code.FILE_TOO_LARGE


def test_special_files_in_a_folder_are_listed_to_be_refused(tmp_path):
    """A FIFO or a device found in a folder is an input (refused by name later), not skipped without a word."""
    (tmp_path / "a.json").write_text("{}")
    fifo(tmp_path / "b.json")
    zero(tmp_path / "sub" / "c.json")
    (tmp_path / "dir.json").mkdir()
    assert config_paths([tmp_path]) == [tmp_path / "a.json", tmp_path / "b.json", tmp_path / "sub" / "c.json"]


# ---- loadconfigs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [fifo, zero], ids=["fifo", "dev_zero"])
def test_loadconfigs_refuses_a_special_file_named_directly(tmp_path, make, transactional_db):
    path = make(tmp_path / "acme_tiny-1.json")
    refused(manage_bounded("loadconfigs", str(path)), path)
    assert not ModelConfig.objects.exists()


def test_loadconfigs_refuses_special_files_found_in_a_folder(tmp_path, transactional_db):
    """A good file beside a FIFO and a /dev/zero symlink: both refused by name, the good one not written either."""
    (tmp_path / "acme_tiny-1.json").write_text(json.dumps(small_config()))
    pipe, dev = fifo(tmp_path / "b.json"), zero(tmp_path / "sub" / "c.json")
    refused(manage_bounded("loadconfigs", str(tmp_path)), pipe, dev)
    assert not ModelConfig.objects.exists()


def test_loadconfigs_refuses_a_file_over_the_size_cap(tmp_path, transactional_db):
    """REGISTRY_MAX_FILE_BYTES caps what is read: a larger file is file_too_large, nothing written."""
    path = tmp_path / "acme_tiny-1.json"
    path.write_text(json.dumps(small_config()))
    refused(manage_bounded("loadconfigs", str(path), REGISTRY_MAX_FILE_BYTES="100"), path, code="file_too_large")
    assert not ModelConfig.objects.exists()


# ---- importhf --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [fifo, zero], ids=["fifo", "dev_zero"])
def test_importhf_refuses_a_special_config_json_named_directly(tmp_path, make, transactional_db):
    path = make(tmp_path / "config.json")
    refused(manage_bounded("importhf", str(path), "--hf-id", "acme/tiny"), path)
    assert not ModelConfig.objects.exists()


@pytest.mark.parametrize("make", [fifo, zero], ids=["fifo", "dev_zero"])
def test_importhf_refuses_a_special_config_json_found_in_a_folder(tmp_path, make, transactional_db):
    """ORG/NAME/config.json, a repo folder's own config.json, and the Hub cache layout."""
    good = tmp_path / "org" / "meta-llama" / "Llama-3.2-1B" / "config.json"
    good.parent.mkdir(parents=True)
    good.write_text(json.dumps(hub_config("meta-llama/Llama-3.2-1B")))
    bad = make(tmp_path / "org" / "acme" / "tiny" / "config.json")
    refused(manage_bounded("importhf", str(tmp_path / "org")), bad)
    repo = make(tmp_path / "repo" / "acme" / "tiny" / "config.json")
    refused(manage_bounded("importhf", str(repo.parent)), repo)
    cached = make(tmp_path / "hub" / "models--acme--tiny" / "snapshots" / "abc123" / "config.json")
    refused(manage_bounded("importhf", str(tmp_path / "hub")), cached)
    assert not ModelConfig.objects.exists()
