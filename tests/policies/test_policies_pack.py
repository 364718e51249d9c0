"""The pack's files: its manifest, pins, policy names and the example config the engine would validate."""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import jsonschema
import pytest
import yaml
from bluegreen_policies.catalog import POLICIES

from tests.conftest import ROOT
from tests.fakes.policy_engine import running_pack

PACK_DIR = ROOT / "policies"
KEBAB = re.compile(r"^[a-z]+(-[a-z]+)*$")
LEVELS = ["advisory", "mandatory", "remediate", "disabled"]


def _schema(policy_name: str) -> dict[str, Any]:
    """A policy's config schema as the engine validates it: its properties plus enforcementLevel."""
    policy = next(p for p in POLICIES if p.name == policy_name)
    properties = dict(policy.config_schema.properties) if policy.config_schema else {}
    properties["enforcementLevel"] = {"type": "string", "enum": LEVELS}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _pins(text: str) -> dict[str, str]:
    return dict(line.split("==") for line in text.splitlines() if "==" in line and not line.startswith("#"))


def test_the_manifest_runs_the_pack_in_the_projects_virtualenv() -> None:
    manifest = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    virtualenv = PACK_DIR / manifest["runtime"]["options"]["virtualenv"]
    assert virtualenv.resolve() == (ROOT / ".venv").resolve()
    assert (virtualenv / "bin" / "python").exists()


def test_the_pack_pins_the_same_pulumi_and_pulumi_policy_as_the_project() -> None:
    pack = _pins((PACK_DIR / "requirements.txt").read_text())
    project = _pins((ROOT / "requirements.txt").read_text())
    assert pack == {name: project[name] for name in ("pulumi", "pulumi-policy")}


def test_policy_names_are_unique_kebab_case_with_a_sentence_description() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    assert [n for n in names if not KEBAB.match(n)] == []
    assert [p.name for p in POLICIES if not p.description.endswith(".")] == []


def test_the_example_config_names_real_policies_and_passes_their_schemas() -> None:
    example = json.loads((PACK_DIR / "config.example.json").read_text())
    assert set(example) <= {p.name for p in POLICIES}
    for name, value in example.items():
        jsonschema.validate(value if isinstance(value, dict) else {"enforcementLevel": value}, _schema(name))


@pytest.mark.parametrize(
    ("policy", "value"),
    [
        ("active-color-ready", {"minActiveReplicas": 0}),
        ("min-replicas", {"minReplicas": "two"}),
        ("service-type-allowed", {"allowedTypes": ["ExternalName"]}),
        ("both-colors-exist", {"enforcementLevel": "optional"}),
    ],
)
def test_a_bad_config_value_fails_its_schema(policy: str, value: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, _schema(policy))


def test_the_pack_folder_alone_serves_every_policy_as_published(tmp_path) -> None:
    # What `pulumi policy publish` uploads is this folder: copied away from the checkout, it still starts
    # and lists every policy (the package it would need from outside is not importable there).
    copy = tmp_path / "pack"
    shutil.copytree(PACK_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with running_pack(copy) as analyzer:
        assert sorted(p.name for p in analyzer.info().policies) == sorted(p.name for p in POLICIES)


@pytest.mark.parametrize(
    ("copy", "original"), [("naming.py", "bluegreen/naming.py"), ("grammar.py", "bluegreen/config/grammar.py")]
)
def test_the_packs_copies_of_the_programs_names_and_grammar_are_unchanged(copy: str, original: str) -> None:
    # The pack is published alone, so it carries these two modules; `make policies-shared` refreshes them.
    header = f"# Copied from {original} by `make policies-shared`: edit the original, then run it again.\n"
    source = (
        (ROOT / original)
        .read_text()
        .replace("\nfrom bluegreen import naming\n", "\nfrom bluegreen_policies import naming\n")
    )
    assert (PACK_DIR / "bluegreen_policies" / copy).read_text() == header + source
