"""One table of deployment parameters, one tree of plan outputs: every surface agrees with them.

The table (registry.core.plan_parameters.TABLE) drives the parser, the OpenAPI schema, the ``plan`` command's
options and the admin's plan form; the outputs (registry.core.plan_outputs) drive Plan.as_dict and the API's
serializers. Each test walks them, so a parameter or an output added later is checked without an edit here.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from registry.api import serializers as api_serializers
from registry.core import plan_outputs, plan_parameters
from registry.core.devices import load_devices
from registry.core.issues import Code
from registry.core.plan_parameters import BY_NAME, TABLE, Deployment, Mode, Parameter, parse_deployment
from registry.core.planning import plan_config
from registry.forms import PlanForm
from registry.management.commands.plan import Command
from tests.conftest import fixture_document

LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
PLAN_PATHS = ("/models/{model_id}/plan", "/plans/")


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _schema_parameters(openapi: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in openapi["paths"][path]["get"]["parameters"]}


def _a_valid_text(p: Parameter) -> str:
    return {"choice": p.choices[-1] if p.choices else "", "memory": "80GB", "fraction": "0.5"}.get(p.kind, "1")


# What a workload parameter needs beside it (isl and osl go together, on a device).
WORKLOAD = {"isl": {"osl": "1", "device": "H100-SXM"}, "osl": {"isl": "1", "device": "H100-SXM"}}
WORKLOAD["concurrency"] = {"isl": "1", "osl": "1", "device": "H100-SXM"}


def test_the_table_is_the_deployments_fields_with_their_defaults():
    assert {p.name for p in TABLE} == {f.name for f in dataclasses.fields(Deployment)}
    assert len(TABLE) == len(BY_NAME)
    for p in TABLE:
        assert p.help_text.startswith(p.help)
        if p.default is not None and not p.default_text:
            assert f"Default {p.default}." in p.help_text


@pytest.mark.parametrize("p", [p for p in TABLE if p.kind == "integer"], ids=lambda p: p.name)
def test_the_parser_takes_each_integer_within_its_bounds_only(p):
    low, high = p.bounds
    mode = {"mode": "training"} if Mode.INFERENCE not in p.modes else WORKLOAD.get(p.name, {})
    for text in (str(low), str(high)):
        deployment, issues = parse_deployment({p.name: text, **mode})
        assert issues == [] and getattr(deployment, p.name) == int(text)
    for text in (str(low - 1), str(high + 1)):
        deployment, issues = parse_deployment({p.name: text, **mode})
        assert deployment is None
        assert [(i.loc, i.code, i.msg) for i in issues] == [
            (p.name, Code.INVALID, f"expected an integer from {low} to {high}, got {text!r}")
        ]


@pytest.mark.parametrize("p", [p for p in TABLE if p.choices], ids=lambda p: p.name)
def test_the_parser_takes_each_choice_only(p):
    mode = {} if Mode.INFERENCE in p.modes else {"mode": "training"}
    for choice in p.choices:
        deployment, issues = parse_deployment({p.name: choice, **mode})
        assert issues == [] and getattr(deployment, p.name) == p.value(choice)
    _, issues = parse_deployment({p.name: "nonsense", **mode})
    assert [(i.loc, i.code) for i in issues] == [(p.name, Code.INVALID_CHOICE)]
    assert all(choice in issues[0].msg for choice in p.choices)


@pytest.mark.parametrize("p", [p for p in TABLE if Mode.INFERENCE not in p.modes], ids=lambda p: p.name)
def test_a_training_parameter_is_refused_for_inference_unless_default(p):
    text = _a_valid_text(p) if p.kind != "integer" else str(p.bounds[1])
    _, issues = parse_deployment({p.name: text})
    assert [(i.loc, i.code) for i in issues] == [(p.name, Code.NOT_FOR_INFERENCE)]
    assert parse_deployment({p.name: p.default_text_value})[1] == []


def test_the_fraction_and_the_memory_follow_their_bounds():
    low, high = BY_NAME["utilization"].bounds
    assert parse_deployment({"utilization": str(high)})[1] == []
    assert parse_deployment({"utilization": str(low)})[1][0].msg == f"expected a fraction in ({low}, {high}], got '0'"
    assert parse_deployment({"device_memory": str(plan_parameters.MAX_MEMORY + 1)})[1][0].loc == "device_memory"


@pytest.mark.parametrize("path", PLAN_PATHS)
def test_the_openapi_parameters_are_the_tables(openapi, path):
    """Bounds, choices and help of /models/{id}/plan and /plans/ are the table's (pp: at most 1,024 in both)."""
    parameters = _schema_parameters(openapi, path)
    for p in TABLE:
        schema = parameters[p.name]["schema"]
        assert parameters[p.name]["description"] == p.help_text
        if p.choices:
            assert sorted(schema["enum"]) == sorted(p.choices)
        elif p.kind in ("integer", "fraction"):
            assert (schema["minimum"], schema["maximum"]) == p.bounds
        else:
            assert schema == p.json_schema()
    assert parameters["pp"]["schema"]["maximum"] == plan_parameters.MAX_STAGES


def test_the_command_has_an_option_per_parameter():
    parser = Command().create_parser("manage.py", "plan")
    actions = {a.dest: a for a in parser._actions if isinstance(a, argparse.Action)}
    for p in TABLE:
        action = actions[p.name]
        assert action.option_strings == [p.option] and action.help == p.help_text
        if p.choices == ("false", "true"):  # a flag: --sequence-parallel, --enforce-eager
            assert action.const == "true" and action.nargs == 0
        else:
            assert list(action.choices or ()) == list(p.choices)
        assert action.default is None  # the parser's default applies, as for a query without the parameter


@pytest.mark.django_db
def test_the_command_names_the_option_of_a_bad_value():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=r"--device-memory: expected bytes"):
        call_command("plan", "any", "--device-memory", "lots")
    with pytest.raises(CommandError, match=rf"--pp: expected an integer from 1 to {plan_parameters.MAX_STAGES}"):
        call_command("plan", "any", "--pp", str(plan_parameters.MAX_STAGES + 1))


def test_the_admin_form_fields_are_the_tables():
    catalogue = load_devices()
    devices = {key: d for d in catalogue for key in (d.name, *d.aliases)}
    form = PlanForm({}, devices)
    for name in (*PlanForm.PARAMETERS, *PlanForm.WORKLOAD):
        p, field = BY_NAME[name], form.fields[name]
        if name in PlanForm.PARAMETERS or p.default is not None:
            assert PlanForm.DEFAULTS[name] == str(p.default) or name == "concurrency"
        if p.choices:
            assert [value for value, _ in field.choices] == list(p.choices)
        else:
            assert (field.widget.attrs["min"], field.widget.attrs["max"]) == p.bounds
    # The catalogue's names, then its aliases (every memory-only name of earlier releases among them).
    values = [value for value, _ in form.fields["device"].choices]
    assert values[: len(catalogue)] == catalogue.names() and set(plan_parameters.DEVICES) <= set(values)
    too_many = PlanForm({"plan-tp": str(BY_NAME["tp"].bounds[1] + 1)}, devices)
    assert not too_many.is_valid() and "expected an integer from 1 to" in too_many.errors["tp"][0]


# ---- outputs ---------------------------------------------------------------------------------------------------


def _serializer_fields(serializer: Any) -> dict[str, Any]:
    return dict(serializer().fields)


@pytest.mark.parametrize("cls", plan_outputs.OUTPUTS, ids=lambda c: c.__name__)
def test_each_output_class_is_a_serializer(cls):
    """Plan<X> is Plan<X>Serializer field for field, with its help, nullability and requiredness."""
    if cls is plan_outputs.PlanFigures:
        fields = _serializer_fields(api_serializers.PlanSerializer)
    else:
        fields = _serializer_fields(getattr(api_serializers, f"{cls.__name__}Serializer"))
    for f in plan_outputs.output_fields(cls):
        field = fields[f.key]
        assert (field.help_text or "") == f.help
        assert field.allow_null == (f.type.endswith("| None") and not f.omit_none)
        assert field.required == (not f.omit_none and cls is not plan_outputs.PlanFigures)


def test_the_plan_json_is_the_output_tree_in_order():
    """Plan.as_dict: model_id, deployment, errors, notes, then the figures' fields, then layer_types."""
    plan = plan_config(fixture_document(LLAMA), Deployment(tp=2, context=8192, device_memory=80 * 2**30))
    body = plan.as_dict()
    keys = lambda cls: [f.key for f in plan_outputs.output_fields(cls)]  # noqa: E731
    left_out = ("budget", "training", "performance")  # engine, training, isl and osl
    figures = [k for k in keys(plan_outputs.PlanFigures) if k not in left_out]
    assert list(body) == ["model_id", "deployment", "errors", "notes", *figures, "layer_types"]
    assert list(body["deployment"]) == keys(plan_outputs.PlanDeployment)
    assert list(body["device"]) == [k for k in keys(plan_outputs.PlanDevice) if k != "training_state_bytes"]
    assert list(body["fit"]) == keys(plan_outputs.PlanFit)
    assert list(body["layer_types"][0]) == keys(plan_outputs.PlanLayer)
    assert list(api_serializers.PlanSerializer().fields) == [*list(body)[:-1], *left_out, "layer_types"]


def test_outputs_left_out_when_none_and_null_otherwise():
    plan = plan_config(fixture_document(LLAMA), Deployment(mode=Mode.TRAINING))
    body = plan.as_dict()
    assert "fit" not in body and body["device"]["training_state_bytes"] > 0
    assert plan_outputs.to_dict(plan.outputs.flops_per_token) == body["flops_per_token"]
    refused = plan_config(fixture_document(LLAMA), Deployment(tp=3)).as_dict()
    assert list(refused) == ["model_id", "deployment", "errors", "notes"]
