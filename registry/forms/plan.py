"""The Plan panel's form: a deployment (device, tp, dtype, batch) read by the core."""

from __future__ import annotations

from typing import Any

from django import forms

from registry.core import plan_parameters
from registry.core.plan_parameters import Deployment, parse_deployment
from registry.forms.issues import add_issue


def _parameter_field(name: str, attrs: dict[str, Any], **kwargs: Any) -> forms.Field:
    """A plan form's field for a deployment parameter of the core's table: its choices, or its bounds as the
    number input's min and max (text all the same: ``parse_deployment`` reads it and says what is wrong)."""
    parameter = plan_parameters.BY_NAME[name]
    if parameter.choices:
        choices = [(choice, choice) for choice in parameter.choices]
        return forms.ChoiceField(choices=choices, widget=forms.Select(attrs=attrs), **kwargs)
    low, high = parameter.bounds
    widget = forms.NumberInput(attrs={**attrs, "min": low, "max": high, "step": 1})
    return forms.CharField(widget=widget, **kwargs)


class PlanForm(forms.Form):
    """The change page's memory chart: a device, a tensor-parallel degree, a weight dtype and a batch.

    The core's ``parse_deployment`` reads the values (its messages appear at the fields); the device
    goes to it as ``device_memory``, which takes a device's name. tp, dtype and batch are the core's
    deployment parameters (``registry.core.plan_parameters.TABLE``): their choices, bounds and defaults.
    """

    PREFIX = "plan"
    PARAMETERS = ("tp", "dtype", "batch")
    DEFAULTS = {"device": "H100-80GB"} | {name: str(plan_parameters.BY_NAME[name].default) for name in PARAMETERS}
    FIELD_OF_PARAMETER = {"device_memory": "device"} | {name: name for name in PARAMETERS}
    # The GET form is an empty <form id="plan-form"> after the change form: HTML forms do not nest.
    _OUTSIDE = {"form": f"{PREFIX}-form"}

    device = forms.ChoiceField(
        choices=[(name, f"{name} ({size / 1e9:.1f} GB)") for name, size in plan_parameters.DEVICES.items()],
        widget=forms.Select(attrs=_OUTSIDE),
    )
    tp = _parameter_field("tp", _OUTSIDE, label="tp")
    dtype = _parameter_field("dtype", _OUTSIDE, label="Weight dtype")
    batch = _parameter_field("batch", _OUTSIDE)

    def __init__(self, query: Any) -> None:
        """Bound to the query string's ``plan-*`` values, a default standing in for each one missing."""
        names = {name: f"{self.PREFIX}-{name}" for name in self.DEFAULTS}
        data = {key: query.get(key, self.DEFAULTS[name]) for name, key in names.items()}
        super().__init__(data, prefix=self.PREFIX)

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, as above
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        deployment, issues = parse_deployment(
            {"device_memory": cleaned["device"], **{name: cleaned[name] for name in self.PARAMETERS}}
        )
        for issue in issues:
            add_issue(self, self.FIELD_OF_PARAMETER.get(issue.loc), issue)
        cleaned["deployment"] = deployment
        return cleaned

    @property
    def deployment(self) -> Deployment | None:
        """The deployment the values describe; None while any of them is wrong."""
        return self.cleaned_data.get("deployment") if self.is_valid() else None
