"""The project's form renderer: Django's widget HTML for plain inputs and selects, written in Python."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.forms.renderers import BaseRenderer, get_default_renderer
from django.forms.utils import ErrorList
from django.template import Template
from django.utils.html import conditional_escape

SELECT_OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def _value_html(value: Any) -> str:
    """``{{ value|stringformat:"s" }}`` as Django's widget templates write it (autoescaped, unless safe)."""
    return conditional_escape(str(value))


def _attrs_html(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_value_html(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input_html(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input.html (text, number, hidden and checkbox include it)."""
    value = "" if widget["value"] is None else f' value="{_value_html(widget["value"])}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{value}{_attrs_html(widget['attrs'])}>"
    )


def _select_html(widget: dict[str, Any]) -> str | None:
    """django/forms/widgets/select.html with its select_option.html; None for another option template."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            if option["template_name"] != SELECT_OPTION_TEMPLATE:
                return None
            parts.append(
                f'\n  <option value="{_value_html(option["value"])}"{_attrs_html(option["attrs"])}>'
                f"{conditional_escape(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


_WIDGET_HTML: dict[str, Callable[[dict[str, Any]], str | None]] = {
    **{f"django/forms/widgets/{kind}.html": _input_html for kind in ("text", "number", "hidden", "checkbox")},
    "django/forms/widgets/select.html": _select_html,
}


class WidgetRenderer(BaseRenderer):
    """The project's form renderer, with plain inputs, selects and empty error lists written in Python.

    The HTML is that of Django's templates (tests/test_admin.py compares them); the template engine took
    seconds over the 7,000 widgets of a config at the cap of 512 layer types.
    """

    def get_template(self, template_name: str) -> Template:
        return get_default_renderer().get_template(template_name)

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        write = _WIDGET_HTML.get(template_name)
        html = write(context["widget"]) if write is not None else None
        if html is None and template_name == ErrorList.template_name_ul and not context["errors"]:
            html = ""  # what ul.html writes for no errors; every field of every row asks
        if html is None:
            html = super().render(template_name, context, request)
        return html
