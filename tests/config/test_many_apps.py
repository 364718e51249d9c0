"""One stack, several blue/green apps: each its own component, cut over on its own."""

from __future__ import annotations

import json

import pytest

from bluegreen.config import inventory
from bluegreen.config.stack import ConfigError, parse_settings
from tests.app.test_cutover import _diff
from tests.conftest import AUTO_NAME_SUFFIX, dev_config, engine_value, object_name

ECHO = "hashicorp/http-echo:1.0.0"


def _apps(**overrides: dict[str, object]) -> str:
    apps: list[dict[str, object]] = [
        {"name": "backend", "blueVersion": "1.1", "greenVersion": "1.2"},
        {
            "name": "api",
            "blueImage": ECHO,
            "blueVersion": "2.0",
            "greenImage": ECHO,
            "greenVersion": "2.1",
            "activeColor": "green",
        },
        {"name": "worker", "blueVersion": "3.0", "greenVersion": "3.0", "blueReplicas": 3, "idleReplicas": 0},
    ]
    for index, fields in overrides.items():
        apps[int(index[1:])].update(fields)
    return json.dumps(apps)


def test_three_apps_give_three_components_with_distinct_resources(program):
    run = program({"apps": _apps()})
    assert sorted(r.name for r in run.registrations if r.type == "bluegreen:index:BlueGreenApp") == [
        "api",
        "backend",
        "worker",
    ]
    deployments = sorted(r.name for r in run.registrations if r.type == "kubernetes:apps/v1:Deployment")
    assert deployments == [
        "api-blue",
        "api-green",
        "backend-blue",
        "backend-green",
        "frontend",
        "worker-blue",
        "worker-green",
    ]
    for app in ("backend", "api", "worker"):
        component = run.get("BlueGreenApp", app).urn
        assert sorted(r.name for r in run.registrations if r.parent == component and r.type.endswith("Service")) == [
            app,
            f"{app}-preview",
        ]


def test_each_app_takes_its_own_active_color_or_the_stacks(program):
    outputs = program({"apps": _apps(), "activeColor": "blue"}).outputs["apps"]
    assert {name: app["activeColor"] for name, app in outputs.items()} == {
        "backend": "blue",
        "api": "green",
        "worker": "blue",
    }
    assert (outputs["worker"]["blueReplicas"], outputs["worker"]["greenReplicas"]) == (3, 0)
    assert outputs["api"]["serviceDns"] == "api.bluegreen-dev.svc.cluster.local"


def test_several_apps_export_only_the_apps_map(program):
    outputs = program({"apps": _apps()}).outputs
    assert sorted(outputs) == ["apps", "frontendService", "frontendUpstream", "namespace"]


def test_cutting_over_one_app_changes_only_that_apps_services(program):
    before = {(r.type, r.name): r.inputs for r in program({"apps": _apps()}).registrations}
    after = {(r.type, r.name): r.inputs for r in program({"apps": _apps(a1={"activeColor": "blue"})}).registrations}
    assert set(before) == set(after)
    changed = {name: _diff(before[t, name], after[t, name]) for t, name in before if before[t, name] != after[t, name]}
    assert changed == {"api": [".spec.selector.color"], "api-preview": [".spec.selector.color"]}


def test_the_frontends_backend_alone_gets_a_network_policy(program):
    run = program({"apps": _apps()})
    assert [r.name for r in run.registrations if r.type.endswith("NetworkPolicy")] == ["backend"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"blueImage": "nginx"},
            (
                "apps[1].blueImage",
                "image-reference",
                "pulumi config set --path 'bluegreen:apps[1].blueImage' 'nginx:<tag>'",
            ),
        ),
        (
            {"activeColor": "Green"},
            ("apps[1].activeColor", "choice", "pulumi config set --path 'bluegreen:apps[1].activeColor' green"),
        ),
        (
            {"idleReplicas": 5},
            ("apps[1].idleReplicas", "range", "pulumi config set --path 'bluegreen:apps[1].idleReplicas' 0"),
        ),
        ({"colour": "blue"}, ("apps[1].colour", "unknown-key", "pulumi config rm --path 'bluegreen:apps[1].colour'")),
    ],
    ids=["unpinned-image", "color-case", "idle-above-replicas", "unknown-key"],
)
def test_a_bad_value_in_one_app_names_that_app_and_key(program, fields, expected):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program({"apps": _apps(a1=fields)}).registrations
    assert [(p.key.removeprefix("bluegreen:"), p.rule, p.fix) for p in error.value.problems] == [expected]
    assert error.value.problems[0].allowed.endswith("(app 'api')")
    assert registrations == []


def test_an_app_named_like_another_names_the_key_of_each(program):
    with pytest.raises(ConfigError) as error:
        program({"apps": _apps(a1={"name": "backend"})})
    assert [(p.key, p.rule, p.fix) for p in error.value.problems] == [
        ("bluegreen:apps[1].name", "name-clash", "pulumi config set --path 'bluegreen:apps[1].name' backend-2")
    ]
    assert "(set by bluegreen:apps[0].name)" in error.value.problems[0].allowed


def _kinds(run) -> list[tuple[str, str]]:
    return sorted((r.type.rsplit(":", 1)[1], object_name(r)) for r in run.kubernetes)


def _planned(settings) -> list[tuple[str, str]]:
    return sorted((o.kind, o.name.replace("*", AUTO_NAME_SUFFIX)) for o in inventory.of(settings))


@pytest.mark.parametrize(
    ("overrides", "secret"),
    [({}, ()), ({"apps": _apps()}, ()), ({"env": '{"A": "1"}'}, ("env",)), ({"createNamespace": "false"}, ())],
    ids=["dev", "three-apps", "secret-env", "existing-namespace"],
)
def test_the_inventory_lists_exactly_the_objects_the_program_registers(program, overrides, secret):
    config = {k: engine_value(v) for k, v in {**dev_config(), **overrides}.items()}
    settings = parse_settings(config, secret=frozenset(secret))
    assert _planned(settings) == _kinds(program(overrides, secret=secret))


def _many(count: int) -> list[dict[str, object]]:
    return [{"name": f"app-{i}", "blueVersion": "1", "greenVersion": "2"} for i in range(count)]


def test_forty_apps_register_eighty_deployments_with_names_of_their_own(program):
    run = program({"apps": json.dumps(_many(40)), "frontend": '{"image": "nginx:1.27", "backend": "app-0"}'})
    names = _kinds(run)
    assert len(names) == len(set(names)) == 1 + 40 * 7 + 1 + 4
    assert sum(kind == "Deployment" for kind, _ in names) == 81


@pytest.mark.parametrize(
    ("change", "expected", "first"),
    [
        (
            {"apps": [*_many(40), {"name": "app-17-preview", "blueVersion": "1", "greenVersion": "2"}]},
            ("apps[40].name", "pulumi config set --path 'bluegreen:apps[40].name' app-17-preview-2"),
            "apps[17].name",
        ),
        (
            {"apps": _many(40), "frontend": {"image": "nginx:1.27", "backend": "app-0", "name": "app-33-green"}},
            ("frontend.name", "pulumi config set --path bluegreen:frontend.name app-33-green-2"),
            "apps[33].name",
        ),
        (
            {"apps": [*_many(40), {"name": "app-9", "blueVersion": "1", "greenVersion": "2"}]},
            ("apps[40].name", "pulumi config set --path 'bluegreen:apps[40].name' app-9-2"),
            "apps[9].name",
        ),
    ],
    ids=["app-and-its-preview", "frontend-and-a-deployment", "duplicate-app"],
)
def test_a_name_collision_anywhere_in_a_many_app_stack_names_both_keys(program, change, expected, first):
    overrides = {key: json.dumps(value) for key, value in change.items()}
    overrides.setdefault("frontend", json.dumps({"image": "nginx:1.27", "backend": "app-0"}))
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program(overrides).registrations
    assert [(p.key.removeprefix("bluegreen:"), p.fix) for p in error.value.problems] == [expected]
    assert [p.rule for p in error.value.problems] == ["name-clash"]
    assert f"(set by bluegreen:{first})" in error.value.problems[0].allowed
    assert registrations == []
