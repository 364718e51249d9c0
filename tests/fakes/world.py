"""A project directory, a stack and its history for the fake `pulumi`, built from the real program.

Outputs, state and plan steps come from evaluating `__main__.py` under the mock engine: the plan of
a cutover is the difference between the registrations of the program before and after the color
changes, as the engine would diff them, so the tool is tested against what the program really does.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, Run, dev_config, run_program
from tests.fakes.pulumi_cli import config_json

STACK = "dev"


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(_leaves(item, f"{prefix}.{key}" if prefix else key))
        return found
    if isinstance(value, list):
        found = {}
        for index, item in enumerate(value):
            found.update(_leaves(item, f"{prefix}[{index}]"))
        return found
    return {prefix: value}


def _plain(value: Any) -> Any:
    """Numbers as the engine's JSON has them: the mock engine hands back every number as a float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _state(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": resource["type"],
        "urn": resource["urn"],
        "id": resource["id"],
        "parent": "",
        "provider": "",
        "custom": True,
        "inputs": resource["inputs"],
        "outputs": resource["outputs"],
    }


def resources(run: Run) -> list[dict[str, Any]]:
    """The stack's state as `pulumi stack export` lists it (outputs: inputs plus what the cluster adds)."""
    found = []
    for index, r in enumerate(run.kubernetes):
        inputs = _plain(r.inputs)
        outputs = json.loads(json.dumps(inputs))
        if r.type == "kubernetes:core/v1:Service":
            outputs["spec"]["clusterIP"] = f"10.96.0.{11 + index}"
        found.append(
            {"urn": r.urn, "type": r.type, "id": f"bluegreen-dev/{r.name}", "inputs": inputs, "outputs": outputs}
        )
    return found


def steps(before: Run, after: Run) -> list[dict[str, Any]]:
    """Engine step metadata (camelCase JSON) for going from `before` to `after`: same or update."""
    old = {r["urn"]: r for r in resources(before)}
    found = []
    for new in resources(after):
        previous = old[new["urn"]]
        a, b = _leaves(previous["inputs"]), _leaves(new["inputs"])
        changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        step: dict[str, Any] = {
            "op": "update" if changed else "same",
            "urn": new["urn"],
            "type": new["type"],
            "provider": "",
            "old": _state(previous),
            "new": _state(new),
        }
        if changed:
            step["diffs"] = sorted({k.split(".")[0].split("[")[0] for k in changed})
            step["detailedDiff"] = {k: {"diffKind": "update", "inputDiff": True} for k in changed}
        found.append(step)
    return found


def history_entry(
    position: int, config: dict[str, Any], result: str = "succeeded", kind: str = "update", message: str = ""
) -> dict[str, Any]:
    """An entry as `pulumi stack history --json` gives it on the file backend: `version` is always 0.

    `position` (1 = the first update) only sets its start time, 2025-04-(10 + position) 09:30 UTC.
    """
    stamp = f"2025-04-{10 + position:02d}T09:30:00.000Z"
    return {
        "version": 0,
        "kind": kind,
        "startTime": stamp,
        "endTime": stamp,
        "message": message,
        "environment": {},
        "config": config_json(config),
        "result": result,
        "resourceChanges": {"same": 12, "update": 2},
    }


def qualified(config: dict[str, Any]) -> dict[str, Any]:
    return {f"bluegreen:{k}": v for k, v in config.items()}


@dataclass
class World:
    root: Path
    work_dir: Path
    bin_dir: Path
    state_path: Path
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def stack_file(self) -> Path:
        return self.work_dir / f"Pulumi.{STACK}.yaml"

    def save(self) -> None:
        self.state_path.write_text(json.dumps(self.state, indent=2))

    def load(self) -> dict[str, Any]:
        self.state = json.loads(self.state_path.read_text())
        return self.state

    def calls(self) -> list[list[str]]:
        path = self.root / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def config(self) -> dict[str, Any]:
        return dict(yaml.safe_load(self.stack_file.read_text())["config"])

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_PULUMI_STATE": str(self.state_path),
        }


def build(root: Path, config: dict[str, Any] | None = None, app: str = "backend") -> World:
    """A project dir whose stack `dev` runs `config` (unqualified keys; default: the dev stack), deployed."""
    config = dev_config() if config is None else config
    work_dir, bin_dir = root / "project", root / "bin"
    work_dir.mkdir()
    bin_dir.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", work_dir / "Pulumi.yaml")
    # The project's policy pack, which bgctl's checked commands run by default.
    shutil.copytree(ROOT / "policies", work_dir / "policies", ignore=shutil.ignore_patterns("__pycache__"))
    (work_dir / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": qualified(config)}, sort_keys=False))
    launcher = bin_dir / "pulumi"
    launcher.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec {shlex.quote(sys.executable)} -c "
        '"import sys; from tests.fakes.pulumi_cli import main; main(sys.argv[1:])" "$@"\n'
    )
    launcher.chmod(0o755)
    deployed = run_program(config)
    world = World(root, work_dir, bin_dir, root / "state.json")
    world.state = {
        "stacks": {STACK: {}},
        "app": app,
        "outputs": deployed.outputs,
        "resources": resources(deployed),
        "history": [history_entry(1, qualified(config), message="first deploy")],
        "plans": {},
    }
    world.save()
    return world
