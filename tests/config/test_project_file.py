"""Pulumi.yaml is valid for the Pulumi CLI and declares every key the program reads, with its defaults."""

from __future__ import annotations

import json

import jsonschema
import yaml

from bluegreen.config import keys, reference, stack
from tests.conftest import ROOT, engine_value

SCHEMA = ROOT / "tests" / "fixtures" / "pulumi_project" / "project.schema.json"
"""Pulumi's own schema for Pulumi.yaml, vendored with its source and license (see the README beside it)."""


def _project() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_pulumi_yaml_validates_against_pulumis_own_schema():
    jsonschema.validate(_project(), json.loads(SCHEMA.read_text()))


def test_project_is_named_bluegreen_and_runs_python_from_the_makefile_venv():
    project = _project()
    assert project["name"] == "bluegreen"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_pulumi_yaml_config_block_is_generated_from_the_key_table():
    assert _project()["config"] == reference.pulumi_yaml_config()


def test_pulumi_yaml_declares_every_key_the_program_reads_but_idle_replicas():
    # The CLI requires a value for every declared key without a default, and "the idle color at
    # full size" has no integer value, so idleReplicas is the one key read but not declared.
    assert set(_project()["config"]) == keys.KNOWN_KEYS - {"idleReplicas"}


def test_only_the_required_keys_lack_a_default():
    assert {key for key, spec in _project()["config"].items() if "default" not in spec} == {
        "activeColor",
        "blueImage",
        "blueVersion",
        "greenImage",
        "greenVersion",
    }


def test_the_documented_key_table_is_generated_from_the_key_table():
    docs = (ROOT / "docs" / "configuration.md").read_text()
    start, end = "<!-- keys:start -->\n", "<!-- keys:end -->"
    assert docs[docs.index(start) + len(start) : docs.index(end)] == reference.key_table()


def test_the_empty_defaults_mean_unset():
    required = {
        "activeColor": "blue",
        "blueImage": "app:1.1",
        "blueVersion": "1.1",
        "greenImage": "app:1.2",
        "greenVersion": "1.2",
    }
    with_defaults = {
        **{key: engine_value(spec["default"]) for key, spec in _project()["config"].items() if "default" in spec},
        **required,
    }
    assert stack.parse_settings(with_defaults) == stack.parse_settings(required)
    parsed = stack.parse_settings(with_defaults)
    assert (parsed.frontend, parsed.api_server_cidrs, parsed.apps[0].smoke_path) == (None, (), None)
    assert [app.name for app in parsed.apps] == ["backend"]


def test_every_key_has_a_type_and_a_description():
    for key, spec in _project()["config"].items():
        assert spec["type"] in {"string", "integer", "boolean", "array", "object"}, key
        assert spec["description"].strip(), key


def test_dev_stack_runs_backend_blue_at_1_1_and_green_at_1_2():
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert stack["bluegreen:appName"] == "backend"
    assert stack["bluegreen:activeColor"] == "blue"
    assert (stack["bluegreen:blueVersion"], stack["bluegreen:greenVersion"]) == ("1.1", "1.2")
    assert stack["bluegreen:blueImage"] == stack["bluegreen:greenImage"] == "hashicorp/http-echo:1.0.0"


def test_the_generator_prints_what_pulumi_yaml_the_docs_and_the_arguments_hold(capsys):
    assert reference.main(["pulumi-yaml"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == {"config": _project()["config"]}
    assert reference.main(["key-table"]) == 0
    assert capsys.readouterr().out == reference.key_table()
    assert reference.main(["component-args"]) == 0
    assert capsys.readouterr().out == (ROOT / "bluegreen" / "app" / "args.py").read_text()
    assert reference.main(["nonsense"]) == 2


def test_the_documented_transform_is_the_one_the_example_program_runs():
    program = (ROOT / "e2e" / "python_transform" / "__main__.py").read_text()
    function = program[program.index("def scheduling(") : program.index("\n\n\nBlueGreenApp(")]
    docs = (ROOT / "docs" / "configuration.md").read_text()
    assert f"```python\n{function}\n```" in docs
