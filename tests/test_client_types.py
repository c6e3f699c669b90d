"""The client's TypedDicts against the served OpenAPI schema: same keys, same required keys, same types."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from registry_client import types as client_types

# The operations registry_client.Registry calls, as (method, path) in the schema.
CLIENT_OPERATIONS = [
    ("get", "/models/{model_id}"),
    ("get", "/models/"),
    ("post", "/models/"),
    ("put", "/models/{model_id}"),
    ("patch", "/models/{model_id}"),
    ("delete", "/models/{model_id}"),
    ("post", "/models/validate"),
    ("get", "/models/{model_id}/parameters"),
    ("get", "/models/{model_id}/plan"),
    ("get", "/plans/"),
    ("get", "/models/{model_id}/recommend"),
    ("get", "/layer-classes/"),
    ("get", "/layer-classes/{name}"),
]
PRIMITIVES = {"integer": int, "number": float, "string": str, "boolean": bool}


@pytest.fixture(scope="module")
def schema(django_db_setup: Any, django_db_blocker: Any) -> dict[str, Any]:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _is_free_form(name: str, components: dict[str, Any]) -> bool:
    """Components the client keeps as plain values: enums (str) and each layer class's specs (dict)."""
    component = components[name]
    return component.get("type") == "string" or name.endswith("Specs")


def _properties(name: str, components: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """A component's properties and required keys; for a oneOf (LayerType), those its members share."""
    component = components[name]
    if "oneOf" in component:
        members = [components[_name(m["$ref"])] for m in component["oneOf"]]
        keys = {tuple(m["properties"]) for m in members}
        assert len(keys) == 1, f"{name}: members differ in their keys: {keys}"
        return members[0]["properties"], set(members[0]["required"])
    return component["properties"], set(component.get("required", []))


def _matches(annotation: Any, prop: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether a TypedDict field's annotation is the Python type of an OpenAPI property."""
    if prop.get("nullable"):
        if typing.get_origin(annotation) not in (typing.Union, types.UnionType) or type(None) not in typing.get_args(
            annotation
        ):
            return annotation is Any
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
        prop = {k: v for k, v in prop.items() if k != "nullable"}
    if "allOf" in prop:
        prop = prop["allOf"][0]
    if "$ref" in prop:
        target = _name(prop["$ref"])
        if components[target].get("type") == "string":
            return annotation is str
        if target.endswith("Specs"):
            return annotation == dict[str, Any]
        if "oneOf" in components[target] and target not in client_types.COMPONENTS:
            members = {client_types.COMPONENTS.get(_name(m["$ref"])) for m in components[target]["oneOf"]}
            return set(typing.get_args(annotation)) == members
        return annotation is client_types.COMPONENTS.get(target)
    kind = prop.get("type")
    if kind is None:
        return annotation is Any
    if kind == "array":
        return typing.get_origin(annotation) is list and _matches(
            typing.get_args(annotation)[0], prop["items"], components
        )
    if kind == "object":
        return typing.get_origin(annotation) is dict
    return annotation is PRIMITIVES[kind]


@pytest.mark.parametrize("component", sorted(client_types.COMPONENTS))
def test_each_typed_dict_is_its_component(schema, component):
    """Keys, required keys and each key's type: a field the API adds, drops or retypes fails here."""
    components = schema["components"]["schemas"]
    typed = client_types.COMPONENTS[component]
    properties, required = _properties(component, components)
    assert list(typed.__annotations__) == list(properties)  # the API's key order too
    assert set(typed.__required_keys__) == required
    hints = typing.get_type_hints(typed)
    wrong = {key: (hints[key], prop) for key, prop in properties.items() if not _matches(hints[key], prop, components)}
    assert wrong == {}


def _reachable(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = _name(ref)
            if name not in seen and not _is_free_form(name, components):
                seen.add(name)
                if not ("oneOf" in components[name] and name in client_types.COMPONENTS):
                    _reachable(components[name], components, seen)  # a typed oneOf's members: _properties
        for value in node.values():
            _reachable(value, components, seen)
    elif isinstance(node, list):
        for value in node:
            _reachable(value, components, seen)


def test_every_shape_the_client_receives_has_a_typed_dict(schema):
    """Every component in the responses of the operations the client calls is typed (enums and specs aside)."""
    components = schema["components"]["schemas"]
    seen: set[str] = set()
    for method, path in CLIENT_OPERATIONS:
        operation = schema["paths"][path][method]
        _reachable(operation["responses"], components, seen)
    # ConfigListItem is the union ConfigSummary | ModelConfig (ConfigPage.results); it has no keys of its own.
    assert seen - {"ConfigListItem"} == set(client_types.COMPONENTS)


def test_the_typed_dicts_check_under_mypy_as_the_api_answers(tmp_path):
    """A fixture document assigned to ModelConfig type-checks (strict), and a misspelt key does not."""
    import subprocess
    import sys

    good = tmp_path / "good.py"
    good.write_text(
        "from registry_client import ModelConfig, load_model_config\n"
        "cfg: ModelConfig = load_model_config('x')\n"
        "names: list[str] = [lt['name'] for lt in cfg['layer_types']]\n"
        "total: int = cfg['total_params']\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text("from registry_client import load_model_config\nprint(load_model_config('x')['total_param'])\n")
    run = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "/dev/null"]
    assert subprocess.run([*run, str(good)], capture_output=True, text=True).returncode == 0
    result = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert result.returncode == 1 and '"ModelConfig" has no key "total_param"' in result.stdout
