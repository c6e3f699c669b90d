"""Finding Hugging Face config.json files: a file, a folder of Hub downloads, or a Hub id in the user's cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from registry import conf
from registry.core.files import is_candidate, read_config_file
from registry.core.hf import HUB_ID_RE
from registry.health import first_line
from registry.services import HFSource

CONFIG_NAME = "config.json"


class SourceError(Exception):
    """A source that names nothing importable (the message says why and what to do)."""


@dataclass(frozen=True)
class Found:
    path: Path
    hf_model_id: str


def read_source(found: Found) -> HFSource:
    """The parsed config.json of a found file (a read problem, a FIFO or device, or a file over the size cap
    becomes the input's error)."""
    data, error = read_config_file(found.path, conf.max_file_bytes())
    return HFSource(str(found.path), found.hf_model_id, config=data, read_error=error)


def find_in_folder(folder: Path) -> list[Found]:
    """config.json files under ``folder``: Hub cache layout, ``ORG/NAME/config.json``, or a repo folder itself.

    In the cache layout (``models--ORG--NAME/snapshots/REVISION/config.json``) the newest file of a
    repo's revisions is taken.
    """
    found: dict[str, Found] = {}
    cache_roots = [folder] if any(folder.glob("models--*--*")) else []
    if (folder / "hub").is_dir() and any((folder / "hub").glob("models--*--*")):
        cache_roots.append(folder / "hub")  # HF_HOME-style folder
    for root in cache_roots:
        for repo in sorted(root.glob("models--*--*")):
            parts = repo.name.split("--")
            if len(parts) != 3:
                continue
            candidates = [p for p in repo.glob(f"snapshots/*/{CONFIG_NAME}") if is_candidate(p)]
            if candidates:
                newest = max(candidates, key=lambda p: (p.stat().st_mtime, str(p)))
                found[f"{parts[1]}/{parts[2]}"] = Found(newest, f"{parts[1]}/{parts[2]}")
    if not cache_roots:
        if is_candidate(folder / CONFIG_NAME):
            hf_id = f"{folder.resolve().parent.name}/{folder.resolve().name}"
            found[hf_id] = Found(folder / CONFIG_NAME, hf_id)
        for path in sorted(folder.glob(f"*/*/{CONFIG_NAME}")):
            hf_id = f"{path.parent.parent.name}/{path.parent.name}"
            found.setdefault(hf_id, Found(path, hf_id))
        for path in sorted(folder.glob(f"*/{CONFIG_NAME}")):  # an ORG folder of NAME/config.json
            hf_id = f"{folder.resolve().name}/{path.parent.name}"
            found.setdefault(hf_id, Found(path, hf_id))
    return list(found.values())


def find_in_hub_cache(hf_model_id: str, *, download: bool) -> Found:
    """A Hub id's config.json from the user's Hub cache (``HF_HUB_CACHE``/``HF_HOME``), or fetched with ``download``."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.constants import HF_HUB_CACHE
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    cached = try_to_load_from_cache(hf_model_id, CONFIG_NAME)
    if isinstance(cached, str):
        return Found(Path(cached), hf_model_id)
    if not download:
        raise SourceError(
            f"{hf_model_id}: no {CONFIG_NAME} in the Hugging Face cache ({HF_HUB_CACHE}); "
            "pass --download to fetch it from the Hub"
        )
    try:
        return Found(Path(hf_hub_download(hf_model_id, CONFIG_NAME)), hf_model_id)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        raise SourceError(f"{hf_model_id}: could not download {CONFIG_NAME}: {first_line(exc)}") from exc


def resolve(sources: list[str], *, hf_id: str | None, download: bool) -> list[Found]:
    """Every config.json the sources name; raises ``SourceError`` for a source that names none."""
    found: list[Found] = []
    problems: list[str] = []
    for source in sources:
        path = Path(source)
        if is_candidate(path):  # a FIFO or a device too: read_source refuses it by name
            if hf_id is None:
                problems.append(f"{source}: a config.json file needs --hf-id ORG/NAME (the repo it comes from)")
            else:
                found.append(Found(path, hf_id))
        elif path.is_dir():
            in_folder = find_in_folder(path)
            if not in_folder:
                problems.append(
                    f"{source}: no config.json found (expected models--ORG--NAME/snapshots/REVISION/config.json, "
                    "ORG/NAME/config.json or config.json)"
                )
            if hf_id is not None and len(in_folder) == 1:
                in_folder = [Found(in_folder[0].path, hf_id)]
            found.extend(in_folder)
        elif HUB_ID_RE.fullmatch(source):
            try:
                found.append(find_in_hub_cache(source, download=download))
            except SourceError as exc:
                problems.append(str(exc))
        else:
            problems.append(f"{source}: no such file or folder, and not a Hub id ORG/NAME")
    found = list(dict.fromkeys(found))  # a source named twice is one input
    if hf_id is not None and len(found) > 1:
        problems.append(f"--hf-id names one repo, but the sources hold {len(found)} config.json files")
    if problems:
        raise SourceError("\n".join(problems))
    return found
