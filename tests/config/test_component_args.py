"""The component checks its own arguments by the config's rules, so every caller (any language) is stopped."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pytest

from bluegreen.app.args import ActiveColor, BlueGreenAppArgs
from bluegreen.app.component import BlueGreenApp
from bluegreen.config import arguments
from bluegreen.config.model import AppSettings, Settings
from bluegreen.config.stack import parse_settings
from tests.conftest import dev_config, engine_value

BASE: dict[str, Any] = {
    "namespace": "apps",
    "active_color": ActiveColor.BLUE,
    "blue_image": "nginx:1.27",
    "blue_version": "1.1",
    "green_image": "nginx:1.28",
    "green_version": "1.2",
}
HEADER = 'BlueGreenApp "backend": 1 invalid argument(s), nothing was created:\n  - '


Expected = tuple[str, str, str]
"""A problem as (argument, rule, fix): the wording is in the golden file."""


def _structured(error: arguments.ArgumentError) -> list[Expected]:
    return [(p.key, p.rule, p.fix) for p in error.problems]


ARGUMENT_CASES: list[tuple[dict[str, Any], list[Expected]]] = [
    ({"active_color": "purple"}, [("activeColor", "choice", 'set the argument activeColor to "blue"')]),
    ({"blue_image": "nginx:latest"}, [("blueImage", "image-reference", 'set the argument blueImage to "nginx:<tag>"')]),
    ({"blue_replicas": 2.5}, [("blueReplicas", "range", "set the argument blueReplicas to 2")]),
    ({"blue_replicas": 0}, [("blueReplicas", "active-replicas", "set the argument blueReplicas to 2")]),
    ({"container_port": 0}, [("containerPort", "range", "set the argument containerPort to 8080")]),
    ({"idle_replicas": 3}, [("idleReplicas", "range", "set the argument idleReplicas to 0")]),
    ({"args": ["-text={colour}"]}, [("args[0]", "placeholder", 'set the argument args[0] to "-text={color}"')]),
    ({"env": {"1X": "a"}}, [('env["1X"]', "env-name", 'remove env["1X"] from the arguments')]),
    (
        {"clients": ["frontend"], "service_type": "NodePort"},
        [("serviceType", "combination", 'set the argument serviceType to "ClusterIP"')],
    ),
    ({"namespace": "Team_A"}, [("namespace", "namespace", 'set the argument namespace to "bluegreen-dev"')]),
]


@pytest.mark.parametrize(("changes", "expected"), ARGUMENT_CASES)
def test_a_bad_argument_is_named_with_its_value_rule_and_fix(changes, expected):
    with pytest.raises(arguments.ArgumentError) as error:
        BlueGreenApp("backend", BlueGreenAppArgs(**{**BASE, **changes}))  # type: ignore[typeddict-item]
    assert _structured(error.value) == expected
    assert str(error.value) == HEADER + str(error.value.problems[0])


def test_an_unset_app_name_makes_the_resource_name_the_app_name_and_checks_it():
    with pytest.raises(arguments.ArgumentError) as error:
        BlueGreenApp("myApp", BlueGreenAppArgs(**BASE))  # type: ignore[typeddict-item]
    assert _structured(error.value) == [("appName", "app-name", 'set the argument appName to "backend"')]
    assert error.value.header == 'BlueGreenApp "myApp": 1 invalid argument(s), nothing was created'
    assert arguments.parse("my-app", BASE).app.name == "my-app"
    assert arguments.parse("myApp", {**BASE, "app_name": "orders"}).app.name == "orders"


def test_every_missing_required_argument_is_listed_at_once():
    args = {k: v for k, v in BASE.items() if k not in ("namespace", "green_image")}
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", args)
    assert [(p.key, p.fix) for p in error.value.problems] == [
        ("namespace", 'set the argument namespace to "bluegreen-dev"'),
        ("greenImage", 'set the argument greenImage to "<image>:<tag>"'),
    ]


def test_an_output_where_a_plain_value_is_needed_is_refused_as_unknown_at_preview():
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**BASE, "blue_image": pulumi.Output.from_input("nginx:1.27")})
    assert _structured(error.value) == [("blueImage", "plain", "pass blueImage a literal or config value")]
    assert error.value.problems[0].value == arguments.AN_OUTPUT


def test_whole_numbers_the_provider_sends_as_floats_are_integers():
    parsed = arguments.parse("backend", {**BASE, "blue_replicas": 3.0, "container_port": 9090.0})
    assert (parsed.app.blue.replicas, parsed.app.container_port) == (3, 9090)
    assert isinstance(parsed.app.container_port, int)


def test_a_secret_env_value_makes_the_env_secret_and_never_shows_it():
    token = pulumi.Output.secret("s3cret")
    parsed = arguments.parse("backend", {**BASE, "env": {"TOKEN": token, "LOG": "info"}})
    assert parsed.app.env_secret is True
    assert [name for name, _ in parsed.app.env] == ["LOG", "TOKEN"]
    assert parsed.env_values == {"TOKEN": token, "LOG": "info"}
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**BASE, "env": {"TOKEN": token, "LOG": "bad\x07"}})
    assert "[secret]" in str(error.value) and "bad" not in str(error.value)


def test_an_unknown_argument_is_named():
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**BASE, "colour": "blue"})
    assert [(p.key, p.fix) for p in error.value.problems] == [("colour", "remove colour from the arguments")]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "bluegreen:activeColor": "green",
            "bluegreen:idleReplicas": "0",
            "bluegreen:smokePath": "/healthz",
            "bluegreen:apiServerCidrs": '["172.18.0.0/16"]',
        },
        {"bluegreen:args": '["-listen=:{port}", "-text={color} {version}"]', "bluegreen:env": '{"LOG": "info"}'},
    ],
)
def test_an_app_given_as_config_or_as_arguments_is_the_same_spec(changes):
    raw = {**{k: engine_value(v) for k, v in dev_config().items()}, **{k.split(":")[1]: v for k, v in changes.items()}}
    settings = parse_settings(raw)
    app = settings.apps[0]
    # The one difference by design: the stack loader read the `kubernetes:` keys once for every app, while a
    # component given arguments reads them from the running program itself (kube_access None).
    assert arguments.parse(app.name, _as_arguments(settings, app)) == replace(settings.spec(app), kube_access=None)


def _as_arguments(settings: Settings, app: AppSettings) -> dict[str, Any]:
    """The arguments a program in another language would pass for `app`: every field, by schema name."""
    args: dict[str, Any] = {
        "namespace": settings.namespace,
        "appName": app.name,
        "activeColor": app.active_color,
        "preSwitchGate": settings.pre_switch_gate,
        "containerPort": float(app.container_port),  # the engine carries every number as a float
        "servicePort": app.service_port,
        "serviceType": app.service_type,
        "readinessPath": app.readiness_path,
        "runAsUser": app.run_as_user,
        "scaleDownDelaySeconds": app.scale_down_delay_seconds,
        "args": list(app.args),
        "env": {name: pulumi.Output.secret(value) if app.env_secret else value for name, value in app.env},
        "clients": list(settings.clients(app.name)),
        "apiServerCidrs": list(settings.api_server_cidrs),
    }
    for color in ("blue", "green"):
        args |= {f"{color}Image": app.color(color).image, f"{color}Version": app.color(color).version}
        args[f"{color}Replicas"] = app.color(color).replicas
    if app.idle_replicas is not None:
        args["idleReplicas"] = app.idle_replicas
    if app.smoke_path is not None:
        args["smokePath"] = app.smoke_path
    return args


def test_the_camel_and_snake_names_map_both_ways_for_every_argument():
    assert all(arguments.camel(arguments.snake(name)) == name for name in arguments.ARGUMENT_NAMES)
    assert sorted(arguments.camel(k) for k in BlueGreenAppArgs.__annotations__) == sorted(arguments.ARGUMENT_NAMES)


ENGINE_INPUTS: dict[str, Any] = {
    "namespace": "apps",
    "activeColor": "blue",
    "blueImage": "nginx:1.27",
    "blueVersion": "1.1",
    "greenImage": "nginx:1.28",
    "greenVersion": "1.2",
}


def test_the_engines_inputs_are_read_by_schema_name_with_numbers_as_floats():
    parsed = arguments.parse("backend", {**ENGINE_INPUTS, "blueReplicas": 3.0, "idleReplicas": 0.0})
    assert (parsed.app.blue.replicas, parsed.app.idle_replicas) == (3, 0)


def test_a_whole_float_is_refused_where_a_string_is_wanted():
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**ENGINE_INPUTS, "blueVersion": 2.0})
    assert _structured(error.value) == [("blueVersion", "type", 'set the argument blueVersion to "1.0.0"')]


@pytest.mark.parametrize("name", ["idleReplicas", "activeColor", "serviceType", "args"])
def test_an_output_in_any_plain_argument_is_refused_by_name(name):
    value = pulumi.Output.from_input(["x"] if name == "args" else "blue")
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**ENGINE_INPUTS, name: [value] if name == "args" else value})
    assert [(p.key, str(p).split(": ", 1)[0]) for p in error.value.problems] == [(name, f"{name} = (an output)")]


def test_an_env_that_is_itself_an_output_is_refused_with_why():
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**ENGINE_INPUTS, "env": pulumi.Output.from_input({"A": "b"})})
    assert _structured(error.value) == [("env", "plain", "pass env a map of names to values")]


def test_a_bad_app_name_is_reported_as_app_name():
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**ENGINE_INPUTS, "appName": "Bad_Name"})
    assert [(p.key, p.value) for p in error.value.problems] == [("appName", "Bad_Name")]


def test_an_argument_given_by_both_its_names_is_refused():
    with pytest.raises(arguments.ArgumentError) as error:
        arguments.parse("backend", {**ENGINE_INPUTS, "blue_image": "nginx:1.26"})
    assert _structured(error.value) == [("blueImage", "duplicate", "pass blueImage once")]


def test_in_a_mixed_env_the_secret_gets_the_checked_text_and_the_output_as_given():
    token = pulumi.Output.secret("s3cret")
    parsed = arguments.parse("backend", {**ENGINE_INPUTS, "env": {"TOKEN": token, "WORKERS": 5}})
    assert parsed.app.env == (("TOKEN", ""), ("WORKERS", "5"))
    assert parsed.env_values == {"TOKEN": token, "WORKERS": "5"}


def test_a_secret_env_reaches_the_component_as_secret_outputs_whichever_boundary_it_came_by():
    raw = {k: engine_value(v) for k, v in dev_config().items()} | {"env": '{"LOG": "info", "TOKEN": "s3cret"}'}
    settings = parse_settings(raw, secret=frozenset({"env"}))
    app = settings.apps[0]
    from_config = settings.spec(app)
    from_arguments = arguments.parse(app.name, _as_arguments(settings, app))
    for spec in (from_config, from_arguments):
        assert spec.app.env_secret is True
        assert spec.app.env == (("LOG", ""), ("TOKEN", ""))
        assert sorted(spec.env_values) == ["LOG", "TOKEN"]
        assert all(isinstance(v, pulumi.Output) for v in spec.env_values.values())
    assert app.env == (("LOG", "info"), ("TOKEN", "s3cret"))


def test_the_package_answers_bad_inputs_as_invalid_properties_before_building_anything():
    from pulumi.errors import InputPropertiesError

    from bluegreen.provider import BlueGreenProvider

    with pytest.raises(InputPropertiesError) as error:
        BlueGreenProvider().construct(
            "backend", "bluegreen:index:BlueGreenApp", {**ENGINE_INPUTS, "activeColor": "Green", "idleReplicas": 9.0}
        )
    assert error.value.message == 'BlueGreenApp "backend": 2 invalid argument(s), nothing was created'
    assert error.value.errors == [
        {
            "property_path": "activeColor",
            "reason": 'must be exactly "blue" or "green" (lower case, no spaces). '
            'Fix: set the argument activeColor to "green"',
        },
        {
            "property_path": "idleReplicas",
            "reason": "must be a whole number from 0 to 2 (greenReplicas, the idle color's size). "
            "Fix: set the argument idleReplicas to 0",
        },
    ]
