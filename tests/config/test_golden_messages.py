"""Every problem message, word for word, in one golden file: a changed phrase is one reviewed diff.

The other config tests assert on structured problems (key, rule, fix); this one keeps the exact text
a user reads. After an intended wording change, regenerate the file and review its diff:
`BLUEGREEN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/config/test_golden_messages.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pulumi

from bluegreen.config import arguments
from bluegreen.config.problems import Secret
from bluegreen.config.stack import ConfigError, parse_settings
from tests.config.test_bad_config import CASES
from tests.config.test_component_args import ARGUMENT_CASES, BASE, ENGINE_INPUTS
from tests.conftest import dev_config, engine_value

GOLDEN = Path(__file__).with_name("golden") / "problems.txt"
UPDATE_VAR = "BLUEGREEN_UPDATE_GOLDEN"

ENTRY = {"name": "api", "blueVersion": "1", "greenVersion": "2"}
# Stack configs beyond the per-key cases: whole-stack shapes, apps entries, secrets, near misses.
STACKS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "nothing-set": ({}, {"on_dev": False}),
    "every-key-bad": ({"activeColor": "purple", "blueImage": "nginx", "namespace": "Dev", "servicePort": "0"}, {}),
    "apps-entry-not-object": ({"apps": '["api"]', "frontend": "{}"}, {}),
    "apps-entry-without-name": ({"apps": json.dumps([{"blueVersion": "1"}]), "frontend": "{}"}, {}),
    "apps-entry-unknown-key": ({"apps": json.dumps([{**ENTRY, "colour": "blue"}]), "frontend": "{}"}, {}),
    "apps-entry-null": ({"apps": json.dumps([{**ENTRY, "greenImage": None}]), "frontend": "{}"}, {}),
    "apps-entry-bad-values": (
        {"apps": json.dumps([{**ENTRY, "activeColor": "Blue", "blueReplicas": -1, "args": ["{colour}"]}])},
        {},
    ),
    "apps-same-name": ({"apps": json.dumps([ENTRY, ENTRY]), "frontend": "{}"}, {}),
    "apps-idle-for-one-app": (
        {
            "apps": json.dumps([{**ENTRY, "greenReplicas": 1}, {**ENTRY, "name": "web"}]),
            "idleReplicas": "2",
            "frontend": "{}",
        },
        {},
    ),
    "apps-active-zero-for-one-app": (
        {"apps": json.dumps([{**ENTRY, "activeColor": "green", "greenReplicas": 0}]), "frontend": "{}"},
        {},
    ),
    "apps-next-to-app-name": ({"apps": json.dumps([ENTRY]), "appName": "web", "frontend": "{}"}, {}),
    "apps-override-every-top-level-value": (
        {"apps": json.dumps([{**ENTRY, "containerPort": 9000}]), "containerPort": "7000", "frontend": "{}"},
        {},
    ),
    "apps-not-array": ({"apps": '{"name": "api"}'}, {}),
    "frontend-unknown-key": ({"frontend": '{"image": "nginx:1.27", "colour": "x"}'}, {}),
    "frontend-without-image": ({"frontend": '{"name": "web"}'}, {}),
    "frontend-not-object": ({"frontend": '"web"'}, {}),
    "secret-image": ({}, {"secret": frozenset({"blueImage"})}),
    "secret-apps": ({}, {"secret": frozenset({"apps"})}),
    "secret-env-bad-name": ({"env": '{"1X": "hunter2"}'}, {"secret": frozenset({"env"})}),
    "near-miss": ({}, {"stray": {"bluegren:activeColor": "green", "blue-green:env": Secret()}}),
    "cidr-not-string": ({"smokePath": "/", "apiServerCidrs": "[1]"}, {}),
    "cidrs-without-effect": ({"apiServerCidrs": '["172.18.0.0/16"]', "frontend": "{}"}, {}),
    "verify-without-gate": ({"verifySeconds": "30", "preSwitchGate": "false", "frontend": "{}"}, {}),
    "verify-percent-above-100": ({"verifySeconds": "30", "verifySuccessPercent": "101", "frontend": "{}"}, {}),
    "boolean-in-structured": ({"frontend": '{"image": "nginx:1.27", "replicas": true}'}, {}),
    "value-too-long": ({"blueVersion": "v" * 70000}, {}),
    "secret-near-a-known-key": ({"activecolour": "green"}, {"secret": frozenset({"activecolour"})}),
    "secret-near-env": ({"Env": '{"TOKEN": "s3cret"}'}, {"secret": frozenset({"Env"})}),
}
# BlueGreenApp arguments beyond the per-argument cases.
ARGUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "resource-name-not-a-label": ("myApp", BASE),
    "missing-required": ("backend", {k: v for k, v in BASE.items() if k not in ("namespace", "green_image")}),
    "unknown": ("backend", {**BASE, "colour": "blue"}),
    "unknown-near-a-known-one": ("backend", {**BASE, "activecolour": "blue"}),
    "output-where-plain": ("backend", {**BASE, "blue_image": pulumi.Output.from_input("nginx:1.27")}),
    "env-output": ("backend", {**ENGINE_INPUTS, "env": pulumi.Output.from_input({"A": "b"})}),
    "float-for-string": ("backend", {**ENGINE_INPUTS, "blueVersion": 2.0}),
    "given-twice": ("backend", {**ENGINE_INPUTS, "blue_image": "nginx:1.26"}),
    "secret-env-bad-value": ("backend", {**BASE, "env": {"TOKEN": pulumi.Output.secret("s3cret"), "LOG": "bad\x07"}}),
    "clients-bad": ("backend", {**BASE, "clients": ["Front End"]}),
    "engine-inputs": ("backend", {**ENGINE_INPUTS, "activeColor": "Green", "idleReplicas": 9.0}),
}


def _stack(overrides: dict[str, Any], *, on_dev: bool = True, **kwargs: Any) -> str:
    base = {k: engine_value(v) for k, v in dev_config().items()} if on_dev else {}
    try:
        parse_settings({**base, **{k: engine_value(v) for k, v in overrides.items()}}, **kwargs)
    except ConfigError as error:
        return str(error)
    return "(accepted)"


def _arguments(resource_name: str, args: dict[str, Any]) -> str:
    try:
        arguments.parse(resource_name, args)
    except arguments.ArgumentError as error:
        return str(error)
    return "(accepted)"


def _cases() -> Iterator[tuple[str, Callable[[], str]]]:
    for name, (overrides, _) in CASES.items():
        yield f"stack/{name}", partial(_stack, overrides)
    for name, (overrides, kwargs) in STACKS.items():
        yield f"stack/{name}", partial(_stack, overrides, **kwargs)
    for index, (changes, _) in enumerate(ARGUMENT_CASES):
        yield f"arguments/{index}-{'-'.join(changes)}", partial(_arguments, "backend", {**BASE, **changes})
    for name, (resource_name, args) in ARGUMENTS.items():
        yield f"arguments/{name}", partial(_arguments, resource_name, args)


def render() -> str:
    return "".join(f"## {name}\n{run()}\n\n" for name, run in _cases())


def test_every_problem_message_is_the_golden_one() -> None:
    text = render()
    if os.environ.get(UPDATE_VAR):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
