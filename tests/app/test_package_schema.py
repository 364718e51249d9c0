"""The package schema other languages see is the component's: its arguments, outputs and descriptions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bluegreen import naming
from bluegreen.app.component import OUTPUTS, BlueGreenApp
from bluegreen.config import arguments, keys
from bluegreen.provider import BlueGreenProvider

SCHEMA_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "array": "array", "object": "object"}
ENUMS = {"activeColor": "bluegreen:index:ActiveColor", "serviceType": "bluegreen:index:ServiceType"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    provider = BlueGreenProvider()
    assert provider.schema is not None
    return json.loads(provider.schema)


def _key(name: str) -> keys.Key:
    return keys.CLIENTS_ARGUMENT if name == "clients" else keys.BY_NAME[name]


def test_the_package_is_bluegreen_at_its_version_with_one_component(schema):
    assert (schema["name"], schema["version"]) == (naming.PROJECT, naming.PACKAGE_VERSION)
    assert list(schema["resources"]) == [naming.COMPONENT_TYPE]
    assert schema["resources"][naming.COMPONENT_TYPE]["isComponent"] is True


def test_every_argument_is_a_config_key_with_its_type_and_description(schema):
    inputs = schema["resources"][naming.COMPONENT_TYPE]["inputProperties"]
    assert sorted(inputs) == sorted(arguments.ARGUMENT_NAMES)
    for name, prop in inputs.items():
        key = _key(name)
        assert prop["description"] == (key.argument or key.description), name
        assert prop["plain"] is True, name
        if name in ENUMS:
            assert prop["$ref"] == f"#/types/{ENUMS[name]}"
            continue
        assert prop["type"] == SCHEMA_TYPES[key.type], name
        if key.type == "array":
            assert prop["items"]["type"] == "string"
        if key.type == "object":
            assert prop["additionalProperties"]["type"] == "string"
            assert "plain" not in prop["additionalProperties"], "env values may be secret outputs"


def test_only_the_keys_the_cli_requires_and_the_namespace_are_required(schema):
    component = schema["resources"][naming.COMPONENT_TYPE]
    required = {name for name in arguments.ARGUMENT_NAMES if name != "namespace" and _key(name).required}
    assert sorted(component["requiredInputs"]) == sorted({"namespace", *required})
    assert sorted(required) == ["activeColor", "blueImage", "blueVersion", "greenImage", "greenVersion"]


def test_the_enums_are_the_keys_choices(schema):
    for name, token in ENUMS.items():
        values = [member["value"] for member in schema["types"][token]["enum"]]
        assert values == list(keys.BY_NAME[name].choices)


def test_the_outputs_are_the_components_and_what_the_program_exports(schema):
    component = schema["resources"][naming.COMPONENT_TYPE]
    assert sorted(component["properties"]) == sorted(arguments.camel(name) for name in OUTPUTS)
    assert sorted(component["required"]) == sorted(component["properties"])
    assert component["description"] == BlueGreenApp.__doc__
    assert all(prop["description"] for prop in component["properties"].values())
    assert {name: prop.get("type") for name, prop in component["properties"].items() if name.endswith("Replicas")} == {
        "blueReplicas": "integer",
        "greenReplicas": "integer",
    }
