"""Admin forms: typed spec fields generated from the catalogue, and the core's issues shown at their fields.

A module per concern (``specs``: the catalogue's specs as form fields; ``widgets``: the project's form renderer;
``issues``: the core's issues placed at their fields; ``configs``: the change form and its layer-type formset;
``imports``, ``compare``, ``plan``: the forms of the import pages, the history page's comparison and the Plan
panel); every public name is importable from here, as callers use them.
"""

from __future__ import annotations

from registry.forms.compare import CompareForm, SideBySideForm
from registry.forms.configs import (
    PARENT_FORM_ATTR,
    PLAN_UNSAVED,
    LayerTypeForm,
    LayerTypeFormSet,
    ModelConfigForm,
    stale_message,
)
from registry.forms.imports import ImportForm, ImportHFForm, MultipleFileField, MultipleFileInput
from registry.forms.issues import add_issue, attach_issues
from registry.forms.plan import PlanForm
from registry.forms.specs import (
    SPEC_PREFIX,
    CatalogueSpec,
    JsonIntegerField,
    OptionalBooleanSelect,
    catalogue_specs,
    class_choices,
    spec_form_field,
)
from registry.forms.widgets import WidgetRenderer

__all__ = [
    "PARENT_FORM_ATTR",
    "PLAN_UNSAVED",
    "SPEC_PREFIX",
    "CatalogueSpec",
    "CompareForm",
    "ImportForm",
    "ImportHFForm",
    "JsonIntegerField",
    "LayerTypeForm",
    "LayerTypeFormSet",
    "ModelConfigForm",
    "MultipleFileField",
    "MultipleFileInput",
    "OptionalBooleanSelect",
    "PlanForm",
    "SideBySideForm",
    "WidgetRenderer",
    "add_issue",
    "attach_issues",
    "catalogue_specs",
    "class_choices",
    "spec_form_field",
    "stale_message",
]
