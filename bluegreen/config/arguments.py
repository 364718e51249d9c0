"""`BlueGreenApp`'s arguments, validated once into the app's model by the rules the stack config follows.

Whatever language passed them, the arguments go through the same key table and the same pydantic
layer (config/schema.py) and app rules (config/resolve.py) as a stack's config; only the wording
differs: a stack is fixed with `pulumi config set`, an argument in the program that passes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

import pulumi
from pulumi.provider.experimental.util import camel_case

from bluegreen.config import grammar, keys, rules, schema
from bluegreen.config.model import AppSpec
from bluegreen.config.problems import ArgumentReporter, Literal, Problem
from bluegreen.config.resolve import AppSource, Layer, resolve

ARGUMENT_NAMES: Final = schema.ARGUMENT_NAMES
EXAMPLE_APP_NAME: Final = keys.BY_NAME["appName"].default
AN_OUTPUT: Final = Literal("(an output)")
"""How an Output is shown in a message: its value is not known (or is secret)."""

camel: Final = camel_case
"""`scale_down_delay_seconds` -> `scaleDownDelaySeconds`: the schema's name of a Python field, as the
SDK's analyzer names it."""


def snake(name: str) -> str:
    """`scaleDownDelaySeconds` -> `scale_down_delay_seconds`: the Python field of a schema name."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class ArgumentError(pulumi.RunError):
    """Every bad argument of one BlueGreenApp at once, each named as the schema names it."""

    def __init__(self, component: str, problems: list[Problem]) -> None:
        self.component = component
        self.problems = tuple(problems)
        self.header = f'BlueGreenApp "{component}": {len(problems)} invalid argument(s), nothing was created'
        super().__init__(self.header + ":\n" + "\n".join(f"  - {p}" for p in problems))


def _plain(value: Any, *, integer: bool = False) -> Any:
    """A value as the validators take it: enum members as their value; for an integer, a whole float as an int.

    The engine carries every number as a float, and the component provider hands integers over that
    way (2 arrives as 2.0), so an integer argument takes a whole float and nothing else does.
    """
    if isinstance(value, Enum):
        return value.value
    if integer and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _unknown_at_preview(reporter: ArgumentReporter, name: str, value: Any) -> bool:
    """An Output where a plain value is needed: names, labels and routing must be known when planning."""
    found = isinstance(value, pulumi.Output) or (
        isinstance(value, list | tuple) and any(isinstance(v, pulumi.Output) for v in value)
    )
    if not found:
        return False
    if name == "env":
        allowed = (
            "must be a map written in the program: its names become the pods' variables, so they must be known "
            "when the program is planned; only its values may be outputs (or secret)"
        )
        fix = "pass env a map of names to values"
    else:
        allowed = (
            "must be a plain value, known when the program is planned: it decides names, labels or routing, "
            "so it cannot wait for another resource's output (or be secret)"
        )
        fix = f"pass {name} a literal or config value"
    reporter.bad(name, AN_OUTPUT, allowed, fix=fix, rule="plain")
    return True


def _given(reporter: ArgumentReporter, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments by schema name: Python's snake-case fields and the engine's camel-case names alike."""
    given: dict[str, Any] = {}
    for key, value in args.items():
        name = camel(key)
        if name in given:
            reporter.bad(
                name, value, f"is given twice (as {name} and {snake(name)})", fix=f"pass {name} once", rule="duplicate"
            )
        given[name] = value
    return given


def _values(reporter: ArgumentReporter, given: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The arguments as the validators take them, and those refused as outputs where a value is needed."""
    values: dict[str, Any] = {}
    outputs: set[str] = set()
    for name, value in given.items():
        if _unknown_at_preview(reporter, name, value):
            outputs.add(name)
        elif name == "env" and isinstance(value, Mapping):
            # Each Output value (secret or unknown) stands in as an empty string; only the Secret gets it.
            values[name] = {k: "" if isinstance(v, pulumi.Output) else _plain(v) for k, v in value.items()}
        else:
            spec = keys.BY_NAME.get(name)
            values[name] = _plain(value, integer=spec is not None and spec.type == "integer")
    return values, outputs


def parse(resource_name: str, args: Mapping[str, Any]) -> AppSpec:
    """Check every argument of one BlueGreenApp, or raise one ArgumentError that lists every bad one.

    `args` may name the arguments as the schema does (what the engine sends the package) or as the
    Python fields (what a Python program and the SDK's component provider pass).
    """
    reporter = ArgumentReporter()
    given = _given(reporter, args)
    env = given.get("env")
    secret_env = isinstance(env, Mapping) and any(isinstance(v, pulumi.Output) for v in env.values())
    reporter.secret = frozenset({"env"}) if secret_env else frozenset()
    values, outputs = _values(reporter, given)
    valid, failed = schema.check(schema.ArgumentLayer, values, reporter)
    if "namespace" not in given:
        reporter.bad(
            "namespace", None, "is required: the namespace the app's objects live in", "bluegreen-dev", rule="required"
        )
    app_name = valid.get("appName")
    if "appName" not in given:
        app_name = resource_name
        if (why := grammar.dns1035_label(resource_name, keys.MAX_APP_NAME_LENGTH)) is not None:
            allowed = f"is unset, so the resource name {resource_name!r} names the app, and it {why}"
            reporter.bad("appName", None, allowed, EXAMPLE_APP_NAME, rule="app-name")
    layer = Layer(
        {**values, **dict.fromkeys(outputs)}, valid, secret_env=secret_env, reported=frozenset(failed | outputs)
    )
    source = AppSource(app_name or resource_name, (layer,))
    app = resolve(source, reporter)
    clients = tuple(valid.get("clients") or ())
    cidrs = tuple(valid.get("apiServerCidrs") or ())
    if not reporter.problems:
        rules.app_combinations(reporter, source, app, clients, cidrs)
    if reporter.problems:
        raise ArgumentError(resource_name, reporter.problems)
    # The env Secret gets each checked value, and each Output as given (never read here, never shown).
    outputs_given = env if isinstance(env, Mapping) else {}
    env_values = {
        name: outputs_given[name] if isinstance(outputs_given.get(name), pulumi.Output) else text
        for name, text in app.env
    }
    return AppSpec(
        app=app,
        namespace=valid.get("namespace") or "",
        pre_switch_gate=valid.get("preSwitchGate", True),
        clients=clients,
        api_server_cidrs=cidrs,
        env_values=env_values,
    )


def describe(problem: Problem) -> str:
    """One problem's reason, as the engine prints it after the property's name and value."""
    return f"{problem.allowed}. Fix: {problem.fix}"
