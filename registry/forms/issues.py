"""The core's issues shown at the form fields their locs name."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import ValidationError

from registry.core import Issue
from registry.core.keys import AUTHORED_VALUE_KEYS
from registry.forms.specs import SPEC_PREFIX
from registry.models import LAYER_FIELD_OF_KEY

if TYPE_CHECKING:
    from registry.forms.configs import LayerTypeForm


_LAYER_LOC = re.compile(r"^layer_types\[(\d+)\](?:\.([A-Za-z_]+))?(?:\.([A-Za-z_]+))?$")


def add_issue(form: forms.BaseForm, field: str | None, issue: Issue) -> None:
    """Put ``issue`` at ``field``, or among the form's non-field errors when it has no such field."""
    if field is not None and field not in form.fields:
        field = None
    if field is not None and form.has_error(field):
        return  # the field's own check has said why; the core saw the value as missing
    message = issue.msg if field is not None else f"{issue.loc}: {issue.msg}"
    form.add_error(field, ValidationError(message, code=issue.code))


def _row_field(part: str | None, spec: str | None) -> str | None:
    """The inline form field for ``layer_types[i].<part>[.<spec>]``; None for the row as a whole."""
    if part == "specs":
        return SPEC_PREFIX + spec if spec else None
    return LAYER_FIELD_OF_KEY.get(part or "")


def attach_issues(
    issues: list[Issue], parent: forms.BaseForm | None, rows: list[LayerTypeForm]
) -> tuple[list[Issue], bool]:
    """Show each issue at the form field its loc names.

    Returns the issues no form can show, and whether any went to the parent form.
    """
    leftover: list[Issue] = []
    at_parent = False
    for issue in issues:
        match = _LAYER_LOC.match(issue.loc)
        if match:
            index, part, spec = int(match.group(1)), match.group(2), match.group(3)
            if index >= len(rows):
                leftover.append(issue)
                continue
            add_issue(rows[index], _row_field(part, spec), issue)
        elif issue.loc.startswith("layer_types") or issue.loc.startswith("total_params") or parent is None:
            # The derived total comes from the layer types: its issues (overflow) are shown with them.
            leftover.append(issue)
        else:
            top = issue.loc.split(".", 1)[0].split("[", 1)[0]
            add_issue(parent, top if top in AUTHORED_VALUE_KEYS else None, issue)
            at_parent = True
    return leftover, at_parent
