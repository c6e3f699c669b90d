"""How the admin writes parameter counts and ids in its pages and messages."""

from __future__ import annotations

from django.utils.html import format_html

from registry.core import format_params


def params(value: int | None) -> str:
    """``70553706496`` as "70.6B (70,553,706,496)"."""
    if value is None:
        return "-"
    return f"{format_params(value)} ({value:,})"


def about(subject: str | None, text: str) -> str:
    """A message about an id or a path, which must keep its case (the admin capitalizes messages).

    ``subject`` is an outcome's model_id, None only for a config gone before the selection was read.
    """
    return format_html("<code>{}</code>: {}", subject, text)
