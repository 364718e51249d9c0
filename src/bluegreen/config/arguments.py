"""`BlueGreenApp`'s arguments checked by the rules the stack config follows, whatever language passed them.

The config parser and the component read every value through the same key table and the same
readers (components/config_scope.py, components/app_keys.py); only the wording of the fix
differs: a stack is fixed with `pulumi config set`, an argument in the program that passes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

import pulumi
from pulumi.provider.experimental.util import camel_case

from bluegreen.app.args import ActiveColor, BlueGreenAppArgs, ServiceType
from bluegreen.config import app_keys, grammar, keys, rules
from bluegreen.config.model import AppSettings
from bluegreen.config.problems import Literal, Problem
from bluegreen.config.scope import INVALID, Scope, read, typed

ARGUMENT_NAMES: Final = (
    "namespace",
    "appName",
    *keys.APP_KEYS,
    "preSwitchGate",
    "clients",
    "apiServerCidrs",
)
"""Every argument, by its schema (camel-case) name: the config keys of one app, and its surroundings."""
EXAMPLE_APP_NAME: Final = keys.BY_NAME["appName"].default


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


class ArgumentScope(Scope):
    """A scope whose keys are argument names and whose fixes say which argument to change."""

    def key(self, name: str) -> str:
        return self.path + name

    def rm_fix(self, name: str) -> str:
        return f"remove {self.path}{name} from the arguments"

    def set_fix(self, name: str, example: Any) -> str:
        subpath, value = example if isinstance(example, tuple) else ("", example)
        return f"set the argument {self.path}{name}{subpath} to {json.dumps(value)}"


@dataclass(frozen=True)
class Parsed:
    """What one BlueGreenApp builds from: the app, and where it lives."""

    app: AppSettings
    namespace: str
    pre_switch_gate: bool
    clients: tuple[str, ...] = ()
    api_server_cidrs: tuple[str, ...] = ()
    env_values: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The env values the Secret receives when `app.env_secret`: the checked text, and each Output as given.

    Where a value was an Output, `app.env` holds an empty string: only the Secret ever holds the value.
    """


def _plain(value: Any, *, integer: bool = False) -> Any:
    """A value as the readers take it: enum members as their value; for an integer, a whole float as an int.

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


AN_OUTPUT: Final = Literal("(an output)")
"""How an Output is shown in a message: its value is not known (or is secret)."""


def _unknown_at_preview(scope: ArgumentScope, name: str, value: Any) -> bool:
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
    scope.bad(name, AN_OUTPUT, allowed, fix=fix)
    return True


def _env(given: Mapping[str, Any]) -> dict[str, Any]:
    """Env as the readers take it: each Output value (secret or unknown) stands in as an empty string."""
    return {name: "" if isinstance(value, pulumi.Output) else _plain(value) for name, value in given.items()}


def _given(scope: ArgumentScope, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments by schema name: Python's snake-case fields and the engine's camel-case names alike."""
    given: dict[str, Any] = {}
    for key, value in args.items():
        name = camel(key)
        if name in given:
            scope.bad(name, value, f"is given twice (as {name} and {snake(name)})", fix=f"pass {name} once")
        given[name] = value
    return given


def parse(resource_name: str, args: Mapping[str, Any]) -> Parsed:
    """Check every argument of one BlueGreenApp, or raise one ArgumentError that lists every bad one.

    `args` may name the arguments as the schema does (what the engine sends the package) or as the
    Python fields (what a Python program and the SDK's component provider pass).
    """
    problems: list[Problem] = []
    scope = ArgumentScope({}, problems)
    given = _given(scope, args)
    app_keys.unknown_keys(scope, given, set(ARGUMENT_NAMES))
    env_given = given.get("env")
    outputs_in_env = isinstance(env_given, Mapping) and any(isinstance(v, pulumi.Output) for v in env_given.values())
    values: dict[str, Any] = {}
    for name in ARGUMENT_NAMES:
        if name not in given:
            continue
        if _unknown_at_preview(scope, name, given[name]):
            values[name] = INVALID
        elif name == "env" and isinstance(env_given, Mapping):
            values[name] = _env(env_given)
        else:
            values[name] = _plain(given[name], integer=name in keys.BY_NAME and keys.BY_NAME[name].type == "integer")
    scope = ArgumentScope(values, problems, secret=frozenset({"env"}) if outputs_in_env else frozenset())
    if "namespace" not in given:
        scope.bad("namespace", None, "is required: the namespace the app's objects live in", "bluegreen-dev")
    app_name = read(scope, "appName")
    if app_name is None:
        app_name = resource_name
        if (why := grammar.dns1035_label(resource_name, keys.MAX_APP_NAME_LENGTH)) is not None:
            scope.bad(
                "appName",
                None,
                f"is unset, so the resource name {resource_name!r} names the app, and it {why}",
                EXAMPLE_APP_NAME,
            )
    namespace = read(scope, "namespace")
    gate = read(scope, "preSwitchGate")
    app = app_keys.parse_app(scope, app_name if isinstance(app_name, str) else resource_name)
    clients = _clients(scope)
    cidrs = app_keys.parse_cidrs(scope)
    if not problems:
        rules.app_combinations(scope, scope, app, clients, cidrs)
    if problems:
        raise ArgumentError(resource_name, problems)
    # The env Secret gets each checked value, and each Output as given (never read here, never shown).
    outputs = env_given if isinstance(env_given, Mapping) else {}
    env_values = {
        name: outputs[name] if isinstance(outputs.get(name), pulumi.Output) else text for name, text in app.env
    }
    return Parsed(
        app=app,
        namespace=namespace if isinstance(namespace, str) else "",
        pre_switch_gate=gate if isinstance(gate, bool) else True,
        clients=clients,
        api_server_cidrs=cidrs,
        env_values=env_values,
    )


def _clients(scope: ArgumentScope) -> tuple[str, ...]:
    value = read(scope, "clients", keys.CLIENTS_ARGUMENT)
    found: list[str] = []
    for index, item in enumerate(value if isinstance(value, list) else ()):
        text = typed(scope, keys.Key(f"clients[{index}]", "string", "", grammar=grammar.label_value), item)
        if isinstance(text, str):
            found.append(text)
    return tuple(found)


def from_settings(
    app: AppSettings,
    namespace: str,
    *,
    pre_switch_gate: bool,
    clients: tuple[str, ...] = (),
    api_server_cidrs: tuple[str, ...] = (),
) -> BlueGreenAppArgs:
    """The arguments that describe `app` (parsed from stack config): what the program passes BlueGreenApp."""
    args = BlueGreenAppArgs(
        namespace=namespace,
        app_name=app.name,
        active_color=ActiveColor(app.active_color),
        blue_image=app.blue.image,
        blue_version=app.blue.version,
        blue_replicas=app.blue.replicas,
        green_image=app.green.image,
        green_version=app.green.version,
        green_replicas=app.green.replicas,
        pre_switch_gate=pre_switch_gate,
        container_port=app.container_port,
        service_port=app.service_port,
        service_type=ServiceType(app.service_type),
        readiness_path=app.readiness_path,
        run_as_user=app.run_as_user,
        scale_down_delay_seconds=app.scale_down_delay_seconds,
    )
    if app.idle_replicas is not None:
        args["idle_replicas"] = app.idle_replicas
    if app.smoke_path is not None:
        args["smoke_path"] = app.smoke_path
    if app.args:
        args["args"] = list(app.args)
    if app.env:
        # A secret env stays secret in transit: the component sends a secret value only to the env Secret.
        args["env"] = {k: pulumi.Output.secret(v) if app.env_secret else v for k, v in app.env}
    if clients:
        args["clients"] = list(clients)
    if api_server_cidrs:
        args["api_server_cidrs"] = list(api_server_cidrs)
    return args


def describe(problem: Problem) -> str:
    """One problem's reason, as the engine prints it after the property's name and value."""
    return f"{problem.allowed}. Fix: {problem.fix}"
