"""The catalogue reference of docs/format.md, written from the catalogue itself.

``python -m registry.core.catalogue_doc docs/format.md`` rewrites the part of the file between the markers
below; tests/test_catalogue_doc.py fails while the file and the catalogue disagree, so a class added with
``register(...)`` reaches the format document by running this once.
"""

from __future__ import annotations

import sys
from pathlib import Path

from registry.core import catalogue
from registry.core.catalogue import LayerClass, Spec, SpecKind

BEGIN = "<!-- catalogue reference: written by python -m registry.core.catalogue_doc; do not edit by hand -->"
END = "<!-- end of catalogue reference -->"


def _type(spec: Spec) -> str:
    if spec.kind is SpecKind.CHOICE:
        return " \\| ".join(f'`"{c}"`' for c in spec.choices)
    return spec.kind.value.replace("_", " ")


def _status(layer_class: LayerClass, spec: Spec) -> str:
    if spec in layer_class.required:
        return "required"
    if spec.default is None:
        return "optional, absent"
    shown = str(spec.default).lower() if isinstance(spec.default, bool) else f'"{spec.default}"'
    return f"`{shown}`"


def cache_text(layer_class: LayerClass) -> str:
    """What one layer of the class caches, in words (planning's rules)."""
    parts = []
    if layer_class.kv_elements is not None:
        parts.append(
            "per token (at most `sliding_window` or `attention_chunk_size` tokens when given; nothing with `kv_shared`)"
            if "sliding_window" in layer_class.allowed or "attention_chunk_size" in layer_class.allowed
            else "per token"
        )
    if layer_class.state_elements is not None or layer_class.recurrent_state_elements is not None:
        parts.append("a state per sequence that does not grow with the context")
    return "; ".join(parts) or "nothing"


def render() -> str:
    """The reference: a section per class, in catalogue order."""
    lines = [
        BEGIN,
        "",
        "### Catalogue reference",
        "",
        "Every class of the catalogue, as `GET /layer-classes/` serves it.",
        "",
        "| class | kind | parallelism | cache |",
        "|---|---|---|---|",
    ]
    for c in catalogue.classes():
        parallelism = ", ".join(f"`{p.value}`" for p in c.parallelism) or "none (replicated)"
        lines.append(f"| `{c.name}` | {c.kind.value} | {parallelism} | {cache_text(c)} |")
    for c in catalogue.classes():
        lines += ["", f"#### {c.name}", "", c.description, "", "| spec | type | required / default | meaning |"]
        lines.append("|---|---|---|---|")
        for spec in c.specs:
            lines.append(f"| `{spec.name}` | {_type(spec)} | {_status(c, spec)} | {spec.description} |")
        lines += ["", f"Parameters of one layer: {c.formula_text}."]
        if c.active_formula_text:
            lines.append(f"Per token: {c.active_formula_text}.")
        for whole, part in c.divisors:
            lines.append(f"`{part}` must divide `{whole}` (`heads_not_divisible`).")
    lines += ["", END]
    return "\n".join(lines)


def rewrite(path: Path) -> bool:
    """Replace the reference in ``path`` (appended when the markers are absent); whether the file changed."""
    text = path.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        new = head + render() + rest.split(END, 1)[1]
    else:
        new = text.rstrip("\n") + "\n\n" + render() + "\n"
    if new == text:
        return False
    path.write_text(new)
    return True


if __name__ == "__main__":
    for name in sys.argv[1:] or ["docs/format.md"]:
        print(f"{name}: {'rewritten' if rewrite(Path(name)) else 'up to date'}")
