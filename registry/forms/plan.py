"""The Plan panel's form: a deployment (device, tp, dtype, batch) read by the core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from registry import selectors
from registry.core import plan_parameters
from registry.core.devices import DeviceSpec
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
    """The change page's charts: a device of the catalogue, a tensor-parallel degree, a weight dtype, a batch and
    an engine for the memory chart; isl, osl and a concurrency for the speed chart.

    The core's ``parse_deployment`` reads the values (its messages appear at the fields) twice: the memory
    deployment (batch, the chart's contexts) and the serving one (isl, osl, concurrency: its context and batch
    follow them). The device's select lists the catalogue (``selectors.device_catalogue``) at form time, its
    aliases (the memory-only names of earlier releases) accepted too. tp, dtype, batch, engine, isl, osl and
    concurrency are the core's deployment parameters (``registry.core.plan_parameters.TABLE``).
    """

    PREFIX = "plan"
    PARAMETERS = ("tp", "dtype", "batch", "engine")
    WORKLOAD = ("isl", "osl", "concurrency")
    # isl and osl have no default in a plan (no estimate); the panel always draws one.
    DEFAULTS = (
        {"device": "H100-SXM"}
        | {name: str(plan_parameters.BY_NAME[name].default) for name in PARAMETERS}
        | {"isl": "1024", "osl": "1024", "concurrency": "16"}
    )
    FIELD_OF_PARAMETER = {"device_memory": "device", "device": "device", "context": "isl"} | {
        name: name for name in (*PARAMETERS, *WORKLOAD)
    }
    # The GET form is an empty <form id="plan-form"> after the change form: HTML forms do not nest.
    _OUTSIDE = {"form": f"{PREFIX}-form"}

    device = forms.ChoiceField(widget=forms.Select(attrs=_OUTSIDE))
    tp = _parameter_field("tp", _OUTSIDE, label="tp")
    dtype = _parameter_field("dtype", _OUTSIDE, label="Weight dtype")
    batch = _parameter_field("batch", _OUTSIDE)
    engine = _parameter_field("engine", _OUTSIDE, label="Engine")
    isl = _parameter_field("isl", _OUTSIDE, label="Input tokens")
    osl = _parameter_field("osl", _OUTSIDE, label="Output tokens")
    concurrency = _parameter_field("concurrency", _OUTSIDE, label="Concurrency")

    def __init__(self, query: Any, devices: Mapping[str, DeviceSpec] | None = None) -> None:
        """Bound to the query string's ``plan-*`` values, a default standing in for each one missing; ``devices``:
        the catalogue by name and alias (default: the database's)."""
        names = {name: f"{self.PREFIX}-{name}" for name in self.DEFAULTS}
        data = {key: query.get(key, self.DEFAULTS[name]) for name, key in names.items()}
        super().__init__(data, prefix=self.PREFIX)
        self.devices = selectors.device_catalogue() if devices is None else devices
        specs = list({d.name: d for d in self.devices.values()}.values())
        field = self.fields["device"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(d.name, f"{d.name} ({d.memory_bytes / 2**30:g} GiB)") for d in specs] + [
            (alias, f"{alias} (= {d.name})") for d in specs for alias in d.aliases
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, as above
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        common = {"device": cleaned["device"], **{name: cleaned[name] for name in self.PARAMETERS if name != "batch"}}
        deployment, issues = parse_deployment({**common, "batch": cleaned["batch"]}, self.devices)
        serving, serving_issues = parse_deployment(
            {**common, **{name: cleaned[name] for name in self.WORKLOAD}}, self.devices
        )
        seen = {(i.loc, i.msg) for i in issues}
        for issue in [*issues, *(i for i in serving_issues if (i.loc, i.msg) not in seen)]:
            add_issue(self, self.FIELD_OF_PARAMETER.get(issue.loc), issue)
        cleaned["deployment"] = deployment
        cleaned["serving"] = serving
        return cleaned

    @property
    def deployment(self) -> Deployment | None:
        """The deployment the values describe; None while any of them is wrong."""
        return self.cleaned_data.get("deployment") if self.is_valid() else None

    @property
    def serving(self) -> Deployment | None:
        """The serving deployment (isl, osl, concurrency on the device); None while any value is wrong."""
        return self.cleaned_data.get("serving") if self.is_valid() else None

    @property
    def device_spec(self) -> DeviceSpec | None:
        """The catalogue's device the form names; None while any value is wrong."""
        d = self.deployment
        return self.devices.get(d.device) if d is not None and d.device else None
