"""The catalogue's specs as typed form fields: which classes take each spec, and its field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from registry.core import catalogue
from registry.core.catalogue import PARAMETER_COUNT, Spec, SpecKind
from registry.core.counts import BIGINT_MAX
from registry.core.validation import integer_from_text

SPEC_PREFIX = "spec_"


@dataclass(frozen=True)
class CatalogueSpec:
    """A spec name as the admin offers it: the classes that take it and those that require it."""

    spec: Spec
    classes: tuple[str, ...]
    required_in: tuple[str, ...]

    @property
    def field_name(self) -> str:
        return SPEC_PREFIX + self.spec.name


class JsonIntegerField(forms.IntegerField):
    """An integer typed as the JSON format writes one (the core's integer_from_text): Django's IntegerField
    would also take ``768.0``, `` 768`` and digits of other scripts, which a document refuses."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if type(value) is int:  # an initial value, not text
            return value
        minimum = 1 if self.min_value is not None and self.min_value >= 1 else 0
        number, issues = integer_from_text("", str(value), minimum=minimum)
        if issues:
            raise ValidationError(issues[0].msg, code=issues[0].code)
        return number


def integer_formfield(field: Any, **kwargs: Any) -> Any:
    """A model form's ``formfield_callback``: integer model fields as JsonIntegerField, the others as Django's."""
    if isinstance(field, models.IntegerField):
        return field.formfield(form_class=JsonIntegerField, **kwargs)
    return field.formfield(**kwargs)


def catalogue_specs() -> list[CatalogueSpec]:
    """Every spec any class may hold (parameter_count excluded: it is derived), in first-seen order."""
    seen: dict[str, tuple[Spec, list[str], list[str]]] = {}
    for layer_class in catalogue.classes():
        for name, spec in layer_class.allowed.items():
            if name == PARAMETER_COUNT.name:
                continue
            entry = seen.setdefault(name, (spec, [], []))
            entry[1].append(layer_class.name)
            if name in layer_class.required_names:
                entry[2].append(layer_class.name)
    return [CatalogueSpec(spec, tuple(classes), tuple(required)) for spec, classes, required in seen.values()]


class OptionalBooleanSelect(forms.NullBooleanSelect):
    """yes / no / blank, the blank option naming the default an absent key means."""

    def __init__(self, default: bool, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", f"— (default: {_yes_no(default)})"), ("true", "yes"), ("false", "no")]


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _help(spec: Spec) -> str:
    if spec.default is None:
        return spec.description
    default = _yes_no(spec.default) if spec.kind is SpecKind.BOOL else spec.default
    return f"{spec.description} Default when left blank: {default}."


def spec_form_field(entry: CatalogueSpec) -> forms.Field:
    """The typed form field of a spec, from its kind alone.

    A blank optional field leaves the key absent (its default applies), so saving an untouched
    form never adds a key to the document. A boolean every class having it requires stays a checkbox.
    """
    spec = entry.spec
    if spec.kind is SpecKind.BOOL:
        # A checkbox cannot leave a key absent: only for a flag every class that has it requires.
        if entry.required_in and set(entry.required_in) == set(entry.classes):
            return forms.BooleanField(label=spec.name, required=False, help_text=_help(spec))
        return forms.NullBooleanField(
            label=spec.name, required=False, help_text=_help(spec), widget=OptionalBooleanSelect(bool(spec.default))
        )
    if spec.kind is SpecKind.CHOICE:
        blank = "—" if spec.default is None else f"— (default: {spec.default})"
        return forms.TypedChoiceField(
            label=spec.name,
            required=False,
            choices=[("", blank), *((choice, choice) for choice in spec.choices)],
            empty_value=None,
            help_text=_help(spec),
        )
    return JsonIntegerField(
        label=spec.name, required=False, min_value=spec.minimum, max_value=BIGINT_MAX, help_text=_help(spec)
    )


def class_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *((name, name) for name in catalogue.names())]
