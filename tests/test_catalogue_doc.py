"""docs/format.md's catalogue reference is the catalogue's own: a class added is documented by one command."""

from __future__ import annotations

from pathlib import Path

from registry.core import catalogue, catalogue_doc

FORMAT = Path(__file__).resolve().parent.parent / "docs" / "format.md"


def test_format_document_lists_every_class_as_the_catalogue_has_it():
    """Run `python -m registry.core.catalogue_doc docs/format.md` after changing the catalogue."""
    text = FORMAT.read_text()
    assert catalogue_doc.render() in text
    for name in catalogue.names():
        assert f"#### {name}\n" in text


def test_rewrite_is_idempotent(tmp_path):
    """A second rewrite changes nothing; a file without markers gets the reference appended."""
    path = tmp_path / "format.md"
    path.write_text("# Title\n")
    assert catalogue_doc.rewrite(path) is True
    assert catalogue_doc.rewrite(path) is False
    assert path.read_text().startswith("# Title\n\n" + catalogue_doc.BEGIN)
