"""Bad config stops the program with one error that names every bad key, before anything is registered.

Each case is a config change on top of the dev stack and the exact problems it must give; the
accepted twins (values just inside each bound, each grammar's valid forms) are at the end.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pulumi
import pytest

from bluegreen.config.problems import EXIT_REPORTED, Secret, show
from bluegreen.config.stack import ConfigError, parse_settings
from tests.conftest import AUTO_NAME_SUFFIX, dev_config, engine_value, run_program

INT32 = 2147483647
Expected = tuple[str, str, str]
"""A problem as (key without the `bluegreen:` prefix, rule, fix): the wording is in the golden file."""


def _structured(error: ConfigError) -> list[Expected]:
    return [(p.key.removeprefix("bluegreen:"), p.rule, p.fix) for p in error.problems]


CASES: dict[str, tuple[dict[str, Any], list[Expected]]] = {
    "color-purple": (
        {"activeColor": "purple"},
        [("activeColor", "choice", "pulumi config set bluegreen:activeColor blue")],
    ),
    "color-case": (
        {"activeColor": "Blue"},
        [("activeColor", "choice", "pulumi config set bluegreen:activeColor blue")],
    ),
    "color-upper": (
        {"activeColor": "GREEN"},
        [("activeColor", "choice", "pulumi config set bluegreen:activeColor green")],
    ),
    "color-empty": ({"activeColor": ""}, [("activeColor", "choice", "pulumi config set bluegreen:activeColor blue")]),
    "color-space": (
        {"activeColor": " blue"},
        [("activeColor", "choice", "pulumi config set bluegreen:activeColor blue")],
    ),
    "color-nbsp": (
        {"activeColor": "green\xa0"},
        [("activeColor", "choice", "pulumi config set bluegreen:activeColor green")],
    ),
    "color-zero-width": (
        {"activeColor": "blue\u200b"},
        [("activeColor", "choice", "pulumi config set bluegreen:activeColor blue")],
    ),
    "image-empty": (
        {"blueImage": ""},
        [("blueImage", "image-reference", "pulumi config set bluegreen:blueImage '<repository>:<tag>'")],
    ),
    "image-blank": (
        {"blueImage": "   "},
        [("blueImage", "image-reference", "pulumi config set bluegreen:blueImage '<repository>:<tag>'")],
    ),
    "image-latest": (
        {"greenImage": "nginx:latest"},
        [("greenImage", "image-reference", "pulumi config set bluegreen:greenImage 'nginx:<tag>'")],
    ),
    "image-untagged": (
        {"greenImage": "nginx"},
        [("greenImage", "image-reference", "pulumi config set bluegreen:greenImage 'nginx:<tag>'")],
    ),
    "image-port-untagged": (
        {"blueImage": "localhost:5000/app"},
        [("blueImage", "image-reference", "pulumi config set bluegreen:blueImage 'localhost:5000/app:<tag>'")],
    ),
    "image-upper-repo": (
        {"blueImage": "Nginx:1.27"},
        [("blueImage", "image-reference", "pulumi config set bluegreen:blueImage 'nginx:<tag>'")],
    ),
    "image-bad-tag": (
        {"blueImage": "nginx:-1"},
        [("blueImage", "image-reference", "pulumi config set bluegreen:blueImage 'nginx:<tag>'")],
    ),
    "image-short-digest": (
        {"blueImage": "nginx@sha256:abc"},
        [("blueImage", "image-reference", "pulumi config set bluegreen:blueImage 'nginx:<tag>'")],
    ),
    "image-newline": (
        {"blueImage": "nginx:1\n"},
        [("blueImage", "image-reference", "pulumi config set bluegreen:blueImage 'nginx:<tag>'")],
    ),
    "image-long-name": (
        {"greenImage": "a" * 256 + ":1"},
        [("greenImage", "image-reference", "pulumi config set bluegreen:greenImage '<repository>:<tag>'")],
    ),
    "replicas-negative": (
        {"blueReplicas": "-1"},
        [("blueReplicas", "range", "pulumi config set bluegreen:blueReplicas 2")],
    ),
    "replicas-fraction": (
        {"blueReplicas": "1.5"},
        [("blueReplicas", "range", "pulumi config set bluegreen:blueReplicas 2")],
    ),
    "replicas-active-zero": (
        {"blueReplicas": "0"},
        [("blueReplicas", "active-replicas", "pulumi config set bluegreen:blueReplicas 2")],
    ),
    "replicas-word": (
        {"greenReplicas": "two"},
        [("greenReplicas", "range", "pulumi config set bluegreen:greenReplicas 2")],
    ),
    "replicas-above-int32": (
        {"greenReplicas": "2147483648"},
        [("greenReplicas", "range", "pulumi config set bluegreen:greenReplicas 2")],
    ),
    "replicas-exponent": (
        {"greenReplicas": "1e3"},
        [("greenReplicas", "range", "pulumi config set bluegreen:greenReplicas 2")],
    ),
    "replicas-spaces": (
        {"greenReplicas": " 2"},
        [("greenReplicas", "range", "pulumi config set bluegreen:greenReplicas 2")],
    ),
    "replicas-thousands-of-digits": (
        {"greenReplicas": "9" * 5000},
        [("greenReplicas", "range", "pulumi config set bluegreen:greenReplicas 2")],
    ),
    "port-zero": (
        {"containerPort": "0"},
        [("containerPort", "range", "pulumi config set bluegreen:containerPort 8080")],
    ),
    "port-above": (
        {"containerPort": "65536"},
        [("containerPort", "range", "pulumi config set bluegreen:containerPort 8080")],
    ),
    "port-name": (
        {"containerPort": "http"},
        [("containerPort", "range", "pulumi config set bluegreen:containerPort 8080")],
    ),
    "service-port-negative": (
        {"servicePort": "-1"},
        [("servicePort", "range", "pulumi config set bluegreen:servicePort 80")],
    ),
    "uid-root": ({"runAsUser": "0"}, [("runAsUser", "range", "pulumi config set bluegreen:runAsUser 65532")]),
    "uid-above-int32": (
        {"runAsUser": "2147483648"},
        [("runAsUser", "range", "pulumi config set bluegreen:runAsUser 65532")],
    ),
    "delay-negative": (
        {"scaleDownDelaySeconds": "-5"},
        [("scaleDownDelaySeconds", "range", "pulumi config set bluegreen:scaleDownDelaySeconds 30")],
    ),
    "delay-above": (
        {"scaleDownDelaySeconds": "3601"},
        [("scaleDownDelaySeconds", "range", "pulumi config set bluegreen:scaleDownDelaySeconds 30")],
    ),
    "idle-negative": (
        {"idleReplicas": "-1"},
        [("idleReplicas", "range", "pulumi config set bluegreen:idleReplicas 0")],
    ),
    "idle-above": ({"idleReplicas": "3"}, [("idleReplicas", "range", "pulumi config set bluegreen:idleReplicas 0")]),
    "idle-above-an-empty-idle-color": (
        {"greenReplicas": "0", "idleReplicas": "1"},
        [("idleReplicas", "range", "pulumi config set bluegreen:idleReplicas 0")],
    ),
    "bool-word": (
        {"createNamespace": "yes"},
        [("createNamespace", "boolean", "pulumi config set bluegreen:createNamespace true")],
    ),
    "gate-number": (
        {"preSwitchGate": "1"},
        [("preSwitchGate", "boolean", "pulumi config set bluegreen:preSwitchGate true")],
    ),
    "app-upper": ({"appName": "Backend"}, [("appName", "app-name", "pulumi config set bluegreen:appName backend")]),
    "app-underscore": (
        {"appName": "back_end"},
        [("appName", "app-name", "pulumi config set bluegreen:appName backend")],
    ),
    "app-dash": ({"appName": "-backend"}, [("appName", "app-name", "pulumi config set bluegreen:appName backend")]),
    "app-digit": ({"appName": "1backend"}, [("appName", "app-name", "pulumi config set bluegreen:appName backend")]),
    "app-long": (
        {"appName": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        [("appName", "app-name", "pulumi config set bluegreen:appName backend")],
    ),
    "app-newline": ({"appName": "backend\n"}, [("appName", "app-name", "pulumi config set bluegreen:appName backend")]),
    "namespace-upper": (
        {"namespace": "Dev"},
        [("namespace", "namespace", "pulumi config set bluegreen:namespace bluegreen-dev")],
    ),
    "namespace-underscore": (
        {"namespace": "my_ns"},
        [("namespace", "namespace", "pulumi config set bluegreen:namespace bluegreen-dev")],
    ),
    "namespace-long": (
        {"namespace": "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"},
        [("namespace", "namespace", "pulumi config set bluegreen:namespace bluegreen-dev")],
    ),
    "version-space": (
        {"blueVersion": "1.1 beta"},
        [("blueVersion", "label-value", "pulumi config set bluegreen:blueVersion 1.0.0")],
    ),
    "version-empty": (
        {"blueVersion": ""},
        [("blueVersion", "label-value", "pulumi config set bluegreen:blueVersion 1.0.0")],
    ),
    "version-dash": (
        {"greenVersion": "-1.2"},
        [("greenVersion", "label-value", "pulumi config set bluegreen:greenVersion 1.0.0")],
    ),
    "version-long": (
        {"greenVersion": "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"},
        [("greenVersion", "label-value", "pulumi config set bluegreen:greenVersion 1.0.0")],
    ),
    "service-type": (
        {"serviceType": "clusterip"},
        [("serviceType", "choice", "pulumi config set bluegreen:serviceType ClusterIP")],
    ),
    "env-digit-name": (
        {"env": '{"1X": "a"}'},
        [('env["1X"]', "env-name", "pulumi config rm --path 'bluegreen:env[\"1X\"]'")],
    ),
    "env-equals-name": (
        {"env": '{"A=B": "a"}'},
        [('env["A=B"]', "env-name", "pulumi config rm --path 'bluegreen:env[\"A=B\"]'")],
    ),
    "env-empty-name": (
        {"env": '{"": "a"}'},
        [('env[""]', "env-name", "pulumi config rm --path 'bluegreen:env[\"\"]'")],
    ),
    "env-list-value": (
        {"env": '{"A": ["x"]}'},
        [("env.A", "type", "pulumi config set --path bluegreen:env.A '<value>'")],
    ),
    "env-null-value": ({"env": '{"A": null}'}, [("env.A", "null", "pulumi config rm --path bluegreen:env.A")]),
    "env-control-value": (
        {"env": '{"A": "x\\u0007"}'},
        [("env.A", "free-text", "pulumi config set --path bluegreen:env.A '<value>'")],
    ),
    "env-not-object": ({"env": '["A"]'}, [("env", "json", "pulumi config set --path bluegreen:env.LOG_LEVEL info")]),
    "env-deep": (
        {"env": "[" * 50000 + "]" * 50000},
        [("env", "json", "pulumi config set --path bluegreen:env.LOG_LEVEL info")],
    ),
    "env-nested-too-deeply": (
        {"env": "[" * 30000 + "]" * 30000},
        [("env", "json", "pulumi config set --path bluegreen:env.LOG_LEVEL info")],
    ),
    "args-invalid-json": (
        {"args": "[1,"},
        [("args", "json", "pulumi config set --path 'bluegreen:args[0]' -- '-text={version}'")],
    ),
    "placeholder-colour": (
        {"args": '["-text={colour}"]'},
        [("args[0]", "placeholder", "pulumi config set --path 'bluegreen:args[0]' -- '-text={color}'")],
    ),
    "placeholder-unknown": (
        {"args": '["{name}"]'},
        [("args[0]", "placeholder", "pulumi config set --path 'bluegreen:args[0]' name")],
    ),
    "args-nested-list": (
        {"args": '[["a"]]'},
        [("args[0]", "type", "pulumi config set --path 'bluegreen:args[0]' '<value>'")],
    ),
    "args-null": ({"args": "[null]"}, [("args[0]", "null", "pulumi config rm --path 'bluegreen:args[0]'")]),
    "path-relative": (
        {"readinessPath": "healthz"},
        [("readinessPath", "http-path", "pulumi config set bluegreen:readinessPath /")],
    ),
    "path-query": (
        {"smokePath": "/health?full=1"},
        [("smokePath", "http-path", "pulumi config set bluegreen:smokePath /")],
    ),
    "path-dot-dot": (
        {"smokePath": "/../../api/v1/secrets"},
        [("smokePath", "http-path", "pulumi config set bluegreen:smokePath /")],
    ),
    "path-escaped-dot-dot": (
        {"smokePath": "/%2e%2e/%2e%2e/api/v1/secrets"},
        [("smokePath", "http-path", "pulumi config set bluegreen:smokePath /")],
    ),
    "path-escaped-slash": (
        {"readinessPath": "/a%2F..%2Fb"},
        [("readinessPath", "http-path", "pulumi config set bluegreen:readinessPath /")],
    ),
    "path-placeholder": (
        {"readinessPath": "/{color}"},
        [("readinessPath", "http-path", "pulumi config set bluegreen:readinessPath /")],
    ),
    "path-bad-escape": (
        {"readinessPath": "/%zz"},
        [("readinessPath", "http-path", "pulumi config set bluegreen:readinessPath /")],
    ),
    "frontend-named-like-the-app": (
        {"frontend": '{"image": "nginx:1.27", "name": "backend"}'},
        [("frontend.name", "name-clash", "pulumi config set --path bluegreen:frontend.name backend-2")],
    ),
    "frontend-named-like-a-deployment": (
        {"frontend": '{"image": "nginx:1.27", "name": "backend-green"}'},
        [("frontend.name", "name-clash", "pulumi config set --path bluegreen:frontend.name backend-green-2")],
    ),
    "frontend-named-like-the-preview": (
        {"frontend": '{"image": "nginx:1.27", "name": "backend-preview"}'},
        [("frontend.name", "name-clash", "pulumi config set --path bluegreen:frontend.name backend-preview-2")],
    ),
    "frontend-name-too-long": (
        {"frontend": json.dumps({"image": "nginx:1.27", "name": "f" * 64})},
        [("frontend.name", "frontend-name", "pulumi config set --path bluegreen:frontend.name frontend")],
    ),
    "built-in-namespace": (
        {"namespace": "kube-system"},
        [("namespace", "built-in", "pulumi config set bluegreen:createNamespace false")],
    ),
    "default-service-account": (
        {"appName": "default", "frontend": '{"image": "nginx:1.27", "backend": "default"}'},
        [("appName", "name-clash", "pulumi config set bluegreen:appName default-2")],
    ),
    "kubernetes-service": (
        {"appName": "kubernetes", "namespace": "default", "createNamespace": "false", "frontend": "{}"},
        [("appName", "name-clash", "pulumi config set bluegreen:appName kubernetes-2")],
    ),
    "load-balancer-behind-network-policy": (
        {"serviceType": "LoadBalancer"},
        [("serviceType", "combination", "pulumi config set bluegreen:serviceType ClusterIP")],
    ),
    "node-port-behind-network-policy": (
        {"serviceType": "NodePort"},
        [("serviceType", "combination", "pulumi config set bluegreen:serviceType ClusterIP")],
    ),
    "cidr-everything": (
        {"smokePath": "/", "apiServerCidrs": '["0.0.0.0/0"]'},
        [("apiServerCidrs[0]", "cidr", "pulumi config set --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16")],
    ),
    "cidr-everything-v6": (
        {"smokePath": "/", "apiServerCidrs": '["172.18.0.0/16", "::/0"]'},
        [("apiServerCidrs[1]", "cidr", "pulumi config set --path 'bluegreen:apiServerCidrs[1]' 172.18.0.0/16")],
    ),
    "cidr-host-bits": (
        {"smokePath": "/", "apiServerCidrs": '["172.18.0.1/16"]'},
        [("apiServerCidrs[0]", "cidr", "pulumi config set --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16")],
    ),
    "cidr-invalid": (
        {"smokePath": "/", "apiServerCidrs": '["10.0.0.0/33"]'},
        [("apiServerCidrs[0]", "cidr", "pulumi config set --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16")],
    ),
    "smoke-without-cidrs": (
        {"smokePath": "/"},
        [("apiServerCidrs", "combination", "pulumi config set --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16")],
    ),
    "frontend-latest": (
        {"frontend": '{"image": "nginx:latest"}'},
        [("frontend.image", "image-reference", "pulumi config set --path bluegreen:frontend.image 'nginx:<tag>'")],
    ),
    "frontend-unknown-backend": (
        {"frontend": '{"image": "nginx:1.27", "backend": "api"}'},
        [("frontend.backend", "backend", "pulumi config set --path bluegreen:frontend.backend backend")],
    ),
    "frontend-null-image": (
        {"frontend": '{"image": null}'},
        [("frontend.image", "null", "pulumi config rm --path bluegreen:frontend.image")],
    ),
    "frontend-zero-replicas": (
        {"frontend": '{"image": "nginx:1.27", "replicas": 0}'},
        [("frontend.replicas", "range", "pulumi config set --path bluegreen:frontend.replicas 2")],
    ),
    # Pod resources: Kubernetes quantities, each request within its limit; writable paths.
    "cpu-request-word": (
        {"cpuRequest": "fast"},
        [("cpuRequest", "quantity", "pulumi config set bluegreen:cpuRequest 50m")],
    ),
    "memory-limit-zero": (
        {"memoryLimit": "0"},
        [("memoryLimit", "quantity", "pulumi config set bluegreen:memoryLimit 64Mi")],
    ),
    "memory-limit-unit-typo": (
        {"memoryLimit": "128MB"},
        [("memoryLimit", "quantity", "pulumi config set bluegreen:memoryLimit 64Mi")],
    ),
    "cpu-request-above-its-limit": (
        {"cpuRequest": "500m"},
        [("cpuRequest", "request-limit", "pulumi config set bluegreen:cpuRequest 250m")],
    ),
    "memory-limit-below-the-default-request": (
        {"memoryLimit": "16Mi"},
        [("memoryLimit", "request-limit", "pulumi config set bluegreen:memoryLimit 32Mi")],
    ),
    "writable-path-under-tmp": (
        {"writablePaths": '["/tmp/cache"]'},
        [("writablePaths[0]", "writable-path", "pulumi config set --path 'bluegreen:writablePaths[0]' /var/cache")],
    ),
    "writable-path-relative": (
        {"writablePaths": '["cache"]'},
        [("writablePaths[0]", "writable-path", "pulumi config set --path 'bluegreen:writablePaths[0]' /var/cache")],
    ),
    "writable-path-twice": (
        {"writablePaths": '["/var/cache", "/data", "/var/cache"]'},
        [("writablePaths[2]", "duplicate", "pulumi config rm --path 'bluegreen:writablePaths[2]'")],
    ),
    "unknown-key": ({"colour": "green"}, [("colour", "unknown-key", "pulumi config rm bluegreen:colour")]),
    # A near miss of a known key: the fix moves the value to the key meant.
    "unknown-key-near-a-known-one": (
        {"activecolour": "green"},
        [
            (
                "activecolour",
                "unknown-key",
                'pulumi config set bluegreen:activeColor "$(pulumi config get bluegreen:activecolour)" && '
                "pulumi config rm bluegreen:activecolour",
            )
        ],
    ),
    "unknown-key-in-an-app-near-a-known-one": (
        {
            "apps": json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2", "containerport": 9000}]),
            "frontend": "{}",
        },
        [
            (
                "apps[0].containerport",
                "unknown-key",
                "pulumi config set --path 'bluegreen:apps[0].containerPort' \"$(pulumi config get --path "
                "'bluegreen:apps[0].containerport')\" && pulumi config rm --path 'bluegreen:apps[0].containerport'",
            )
        ],
    ),
}


@pytest.mark.parametrize(("overrides", "expected"), CASES.values(), ids=CASES.keys())
def test_bad_config_gives_exact_problems_before_any_resource_is_registered(program, overrides, expected):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program(overrides).registrations
    assert _structured(error.value) == expected
    assert str(error.value) == f"invalid stack config ({len(expected)} problem(s)):\n" + "\n".join(
        f"  - {problem}" for problem in error.value.problems
    )
    assert registrations == []


def test_config_error_is_a_run_error_so_the_cli_prints_one_clean_message():
    assert issubclass(ConfigError, pulumi.RunError)


def test_a_bad_config_is_reported_once_to_the_engine_then_the_program_exits_32(caplog):
    # Pulumi's Python host turns exit status 32 into "already reported": the CLI adds no generic second error.
    config = {**dev_config(), "activeColor": "Green"}
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as stopped:
        run_program(config, exit_as_is=True)
    expected = (
        "invalid stack config (1 problem(s)):\n"
        '  - bluegreen:activeColor = "Green": must be exactly "blue" or "green" (lower case, no spaces). '
        "Fix: pulumi config set bluegreen:activeColor green"
    )
    assert stopped.value.code == EXIT_REPORTED == 32
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.ERROR, expected)]


def _parse(**overrides: Any):
    return parse_settings({**{k: engine_value(v) for k, v in dev_config().items()}, **overrides})


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        _parse(activeColor="purple", blueImage="nginx", namespace="Dev", servicePort="0")
    assert [p.key for p in error.value.problems] == [
        "bluegreen:namespace",
        "bluegreen:activeColor",
        "bluegreen:blueImage",
        "bluegreen:servicePort",
    ]


def test_missing_required_keys_are_named():
    with pytest.raises(ConfigError) as error:
        parse_settings({})
    assert [(p.key, p.fix) for p in error.value.problems] == [
        ("bluegreen:activeColor", "pulumi config set bluegreen:activeColor blue"),
        ("bluegreen:blueImage", "pulumi config set bluegreen:blueImage '<image>:<tag>'"),
        ("bluegreen:blueVersion", "pulumi config set bluegreen:blueVersion 1.0.0"),
        ("bluegreen:greenImage", "pulumi config set bluegreen:greenImage '<image>:<tag>'"),
        ("bluegreen:greenVersion", "pulumi config set bluegreen:greenVersion 1.0.0"),
    ]


def test_a_fix_value_that_starts_with_a_dash_is_kept_from_the_clis_flags():
    with pytest.raises(ConfigError) as error:
        _parse(args='["ok", {"a": 1}]')
    (problem,) = error.value.problems
    assert problem.fix == "pulumi config set --path 'bluegreen:args[1]' '<value>'"
    with pytest.raises(ConfigError) as error:
        _parse(args='["-text={colour}"]')
    assert error.value.problems[0].fix == "pulumi config set --path 'bluegreen:args[0]' -- '-text={color}'"


# Near misses of the project's namespace would silently do nothing: a cutover that never happens.
@pytest.mark.parametrize("namespace", ["bluegren", "blue-green", "Bluegreen", "blue_green", "bluegreeen", "bleugreen"])
def test_a_key_under_a_near_miss_of_the_project_namespace_is_reported(program, namespace):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program(stray={f"{namespace}:activeColor": "green"}).registrations
    assert _structured(error.value) == [
        (
            f"{namespace}:activeColor",
            "near-miss",
            f'pulumi config set bluegreen:activeColor "$(pulumi config get {namespace}:activeColor)" && '
            f"pulumi config rm {namespace}:activeColor",
        )
    ]
    assert registrations == []


@pytest.mark.parametrize("key", ["kubernetes:context", "kubernetes:kubeconfig", "pulumi:tags", "aws:region", "green:x"])
def test_keys_of_other_namespaces_are_left_alone(program, key):
    assert len(program(stray={key: "x"}).kubernetes) == 13


def test_a_near_miss_stored_as_a_secret_is_reported_without_its_value():
    with pytest.raises(ConfigError) as error:
        _parse_with(stray={"bluegren:env": Secret()})
    (problem,) = error.value.problems
    assert (problem.key, problem.rule, show(problem.value)) == ("bluegren:env", "near-miss", "[secret]")


def _parse_with(**kwargs: Any):
    return parse_settings({k: engine_value(v) for k, v in dev_config().items()}, **kwargs)


# 9. Secrets: env stays secret all the way; every other key is refused, without showing its value.
@pytest.mark.parametrize(
    ("key", "fix"),
    [
        ("blueImage", 'pulumi config set --plaintext bluegreen:blueImage "$(pulumi config get bluegreen:blueImage)"'),
        (
            "activeColor",
            'pulumi config set --plaintext bluegreen:activeColor "$(pulumi config get bluegreen:activeColor)"',
        ),
    ],
)
def test_a_secret_outside_env_is_refused_and_never_shown(program, key, fix):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program(secret=(key,)).registrations
    assert _structured(error.value) == [(key, "secret", fix)]
    assert [show(p.value) for p in error.value.problems] == ["[secret]"]
    assert registrations == []


@pytest.mark.parametrize(
    ("key", "element"),
    [("apps", "'bluegreen:apps[0].name'"), ("args", "'bluegreen:args[0]'"), ("frontend", "bluegreen:frontend.image")],
)
def test_a_secret_list_or_object_is_refused_with_a_fix_the_cli_accepts(key, element):
    with pytest.raises(ConfigError) as error:
        _parse_with(secret=frozenset({key}))
    assert _structured(error.value) == [
        (
            key,
            "secret",
            f"pulumi config rm bluegreen:{key}, then set each element again without --secret, such as pulumi config "
            f"set --path {element} <value>; secret values belong in bluegreen:env (pulumi config set --secret "
            "--path 'bluegreen:env.NAME' <value>)",
        )
    ]


def test_a_secret_env_never_reaches_a_deployment_and_stays_secret(program):
    run = program({"env": '{"TOKEN": "hunter2", "PORT": 8080}'}, secret=("env",))
    holders = [r for r in run.registrations if "hunter2" in json.dumps(r.inputs)]
    assert [(r.type, r.name) for r in holders] == [("kubernetes:core/v1:Secret", "backend-env")]
    string_data = holders[0].inputs["stringData"]
    assert string_data == {
        pulumi.runtime.rpc._special_sig_key: pulumi.runtime.rpc._special_secret_sig,
        "value": {"TOKEN": "hunter2", "PORT": "8080"},
    }
    container = run.get("Deployment", "backend-blue").inputs["spec"]["template"]["spec"]["containers"][0]
    secret = f"backend-env-{AUTO_NAME_SUFFIX}"
    assert container["env"] == [
        {"name": "PORT", "valueFrom": {"secretKeyRef": {"name": secret, "key": "PORT"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": secret, "key": "TOKEN"}}},
    ]


def test_a_secret_env_with_a_bad_name_is_reported_without_its_value(program):
    with pytest.raises(ConfigError) as error:
        program({"env": '{"1X": "hunter2"}'}, secret=("env",))
    assert "hunter2" not in str(error.value)
    (problem,) = error.value.problems
    assert (problem.key, problem.rule, show(problem.value)) == ('bluegreen:env["1X"]', "env-name", "[secret]")


# Keys that would silently do nothing in this stack's shape.
APPS = json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2"}])
APPS_WITH_PORT = json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2", "containerPort": 9000}])


def test_app_name_next_to_apps_is_reported(program):
    with pytest.raises(ConfigError) as error:
        program({"apps": APPS, "appName": "web", "frontend": "{}"})
    assert _structured(error.value) == [("appName", "no-effect", "pulumi config rm bluegreen:appName")]


def test_a_top_level_value_every_app_overrides_is_reported(program):
    with pytest.raises(ConfigError) as error:
        program({"apps": APPS_WITH_PORT, "containerPort": "7000", "frontend": "{}"})
    assert _structured(error.value) == [("containerPort", "no-effect", "pulumi config rm bluegreen:containerPort")]


def test_declared_defaults_and_required_keys_are_never_reported_as_unused(program):
    # The dev stack's top-level images, versions and activeColor are required by the CLI, and
    # containerPort 8080 is what the CLI passes for an unset key: none of them is the user's mistake.
    run = program({"apps": APPS_WITH_PORT, "containerPort": "8080", "frontend": "{}"})
    assert [r.name for r in run.registrations if r.type.endswith("BlueGreenApp")] == ["api"]


def test_a_null_in_an_app_entry_is_reported_not_read_as_unset(program):
    apps = json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2", "greenImage": None}])
    with pytest.raises(ConfigError) as error:
        program({"apps": apps, "frontend": "{}"})
    assert _structured(error.value) == [
        ("apps[0].greenImage", "null", "pulumi config rm --path 'bluegreen:apps[0].greenImage'")
    ]
    assert error.value.problems[0].allowed.endswith("(app 'api')")


def test_a_top_level_value_that_fails_for_one_app_names_that_app(program):
    apps = json.dumps(
        [
            {"name": "api", "blueVersion": "1", "greenVersion": "2", "greenReplicas": 1},
            {"name": "web", "blueVersion": "1", "greenVersion": "2"},
        ]
    )
    with pytest.raises(ConfigError) as error:
        program({"apps": apps, "idleReplicas": "2", "frontend": "{}"})
    assert _structured(error.value) == [("idleReplicas", "range", "pulumi config set bluegreen:idleReplicas 0")]
    assert error.value.problems[0].allowed.endswith("from 0 to 1 (greenReplicas, the idle color's size) (app 'api')")


# Accepted twins: values just inside each bound, and each grammar's valid forms.
ACCEPTED: dict[str, dict[str, Any]] = {
    "replicas-int32-max": {"greenReplicas": str(INT32)},
    "idle-color-zero": {"greenReplicas": "0"},
    "port-bounds": {"containerPort": "1", "servicePort": "65535"},
    "uid-bounds": {"runAsUser": str(INT32)},
    "uid-one": {"runAsUser": "1"},
    "delay-bounds": {"scaleDownDelaySeconds": "3600", "idleReplicas": "0"},
    "delay-zero": {"scaleDownDelaySeconds": "0", "idleReplicas": "0"},
    "idle-full": {"idleReplicas": "2"},
    # The CLI's integer check accepts a sign and leading zeros, and passes the text on as it is.
    "integer-with-sign-and-zeros": {"blueReplicas": "+3", "greenReplicas": "03", "scaleDownDelaySeconds": "-0"},
    "digest-image": {"blueImage": "nginx@sha256:" + "a" * 64},
    "tag-and-digest": {"blueImage": "ghcr.io/org/app:v2@sha256:" + "b" * 64},
    "registry-port": {"blueImage": "localhost:5000/app:1.0"},
    "long-tag": {"greenImage": "app:" + "t" * 128},
    "version-63": {"blueVersion": "v" * 63},
    "version-number": {"apps": json.dumps([{"name": "api", "blueVersion": 2, "greenVersion": 2.10}]), "frontend": "{}"},
    "app-55": {"appName": "a" * 55, "frontend": "{}"},
    "frontend-63": {"frontend": json.dumps({"image": "nginx:1.27", "name": "f" * 63})},
    "env-number-and-bool": {"env": '{"PORT": 8080, "DEBUG": true, "a.b-c_d": "x", "MULTI": "a\\nb"}'},
    "args-braces-pass-through": {"args": '["{\\"status\\":\\"ok\\"}", "{", "}", "{}", "{{x}}", "-listen=:{port}"]'},
    "args-number": {"args": '["-n", 8080, true]'},
    "smoke-with-cidrs": {"smokePath": "/healthz", "apiServerCidrs": '["172.18.0.0/16", "fd00::/64"]'},
    "node-port-without-frontend": {"serviceType": "NodePort", "frontend": "{}"},
    "built-in-namespace-not-created": {"namespace": "default", "createNamespace": "false"},
    "resources-of-a-jvm": {"cpuRequest": "0.5", "cpuLimit": "2", "memoryRequest": "768Mi", "memoryLimit": "1Gi"},
    "request-equal-to-limit": {"cpuRequest": "250m", "memoryRequest": "64Mi"},
    "path-chars": {"readinessPath": "/a-b_c.d~e/%20/:@!$&'()*+,;=/.well-known/"},
}


@pytest.mark.parametrize("overrides", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_values_just_inside_each_rule_are_accepted(program, overrides):
    assert program(overrides).kubernetes


def test_numbers_and_booleans_from_config_set_path_are_taken_as_the_text_typed(program):
    run = program(
        {
            "env": '{"PORT": 8080, "DEBUG": true, "RATIO": 1.50}',
            "args": '["-n", 8080]',
            "apps": json.dumps([{"name": "api", "blueVersion": 2, "greenVersion": "2.1"}]),
            "frontend": "{}",
        }
    )
    container = run.get("Deployment", "api-blue").inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "DEBUG", "value": "true"},
        {"name": "PORT", "value": "8080"},
        {"name": "RATIO", "value": "1.50"},
    ]
    assert container["args"] == ["-n", "8080"]
    labels = run.get("Deployment", "api-blue").inputs["spec"]["template"]["metadata"]["labels"]
    assert labels["version"] == "2"


def test_args_keep_every_character_but_the_three_placeholders(program):
    args = ['{"status":"ok"}', "{", "}", "{}", "{{x}}", "-text={version} ({color}) :{port} {0} %s"]
    container = program({"args": json.dumps(args)}).get("Deployment", "backend-green").inputs["spec"]["template"]
    assert container["spec"]["containers"][0]["args"] == [*args[:5], "-text=1.2 (green) :5678 {0} %s"]
