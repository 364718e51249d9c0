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

from bluegreen.config.problems import EXIT_REPORTED
from bluegreen.config.stack import ConfigError, parse_settings
from tests.conftest import AUTO_NAME_SUFFIX, dev_config, engine_value, run_program

COLOR = 'must be exactly "blue" or "green" (lower case, no spaces)'
APP_NAME = (
    "must be a DNS-1035 label of at most 55 characters: lower case letters, digits and '-', "
    "starting with a letter and ending with a letter or digit"
)
FRONTEND_NAME = APP_NAME.replace("55", "63")
NAMESPACE = (
    "must be a DNS-1123 label of at most 63 characters: lower case letters, digits and '-', "
    "starting and ending with a letter or digit"
)
VERSION = "must be a label value: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
INT32 = 2147483647
REPLICAS = f"must be a whole number from 0 to {INT32}"
PORT = "must be a whole number from 1 to 65535"
ACTIVE_ZERO = "must be 1 or more: blue is the active color, and a Service with no pods drops all traffic"
UNPINNED = "must be pinned with a tag or digest (no tag means latest)"
LATEST = 'must be pinned to a tag or digest other than "latest"'
EMPTY_IMAGE = "must be an image reference with a tag or digest, not empty"
IDLE = "must be a whole number from 0 to 2 (greenReplicas, the idle color's size)"
ENV_NAME = (
    "must be an environment variable name: letters, digits, '_', '-' and '.', not starting with a digit "
    "(the rule of Kubernetes 1.30), never empty and without '='"
)
PLACEHOLDER = (
    "has the placeholder {{{0}}}, but only {{color}}, {{version}} and {{port}} are filled (other text, braces "
    "included, is kept as it is)"
)
SET = "pulumi config set"


def _problem(key: str, shown: str, allowed: str, fix: str) -> str:
    return f"bluegreen:{key} = {shown}: {allowed}. Fix: {fix}"


def _one(key: str, value: Any, allowed: str, fix: str) -> tuple[dict[str, Any], list[str]]:
    return {key: value}, [_problem(key, json.dumps(value), allowed, fix)]


DIGITS = "9" * 5000
CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    # Colors.
    "color-purple": _one("activeColor", "purple", COLOR, f"{SET} bluegreen:activeColor blue"),
    "color-case": _one("activeColor", "Blue", COLOR, f"{SET} bluegreen:activeColor blue"),
    "color-upper": _one("activeColor", "GREEN", COLOR, f"{SET} bluegreen:activeColor green"),
    "color-empty": _one("activeColor", "", COLOR, f"{SET} bluegreen:activeColor blue"),
    "color-space": _one("activeColor", " blue", COLOR, f"{SET} bluegreen:activeColor blue"),
    "color-nbsp": _one("activeColor", "green\u00a0", COLOR, f"{SET} bluegreen:activeColor green"),
    "color-zero-width": _one("activeColor", "blue\u200b", COLOR, f"{SET} bluegreen:activeColor blue"),
    # 1. Image references.
    "image-empty": _one("blueImage", "", EMPTY_IMAGE, f"{SET} bluegreen:blueImage '<repository>:<tag>'"),
    "image-blank": _one("blueImage", "   ", EMPTY_IMAGE, f"{SET} bluegreen:blueImage '<repository>:<tag>'"),
    "image-latest": _one("greenImage", "nginx:latest", LATEST, f"{SET} bluegreen:greenImage 'nginx:<tag>'"),
    "image-untagged": _one("greenImage", "nginx", UNPINNED, f"{SET} bluegreen:greenImage 'nginx:<tag>'"),
    "image-port-untagged": _one(
        "blueImage", "localhost:5000/app", UNPINNED, f"{SET} bluegreen:blueImage 'localhost:5000/app:<tag>'"
    ),
    "image-upper-repo": _one(
        "blueImage",
        "Nginx:1.27",
        "must have a repository path of lower case letters and digits, its parts joined by '/' and separated "
        "inside by '.', '_', '__' or '-' (got 'Nginx')",
        f"{SET} bluegreen:blueImage 'nginx:<tag>'",
    ),
    "image-bad-tag": _one(
        "blueImage",
        "nginx:-1",
        "must have a tag of 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got '-1')",
        f"{SET} bluegreen:blueImage 'nginx:<tag>'",
    ),
    "image-short-digest": _one(
        "blueImage",
        "nginx@sha256:abc",
        "must have a digest of the form sha256:<64 lower-case hex digits>, sha384:<96 lower-case hex digits>, "
        "sha512:<128 lower-case hex digits>",
        f"{SET} bluegreen:blueImage 'nginx:<tag>'",
    ),
    "image-newline": _one(
        "blueImage",
        "nginx:1\n",
        "must not contain spaces, control or invisible characters (found U+000A)",
        f"{SET} bluegreen:blueImage 'nginx:<tag>'",
    ),
    "image-long-name": (
        {"greenImage": "a" * 256 + ":1"},
        [
            _problem(
                "greenImage",
                f'"{"a" * 119}... (260 characters)',
                "must have a name (registry and repository) of at most 255 characters",
                f"{SET} bluegreen:greenImage '<repository>:<tag>'",
            )
        ],
    ),
    # 2. Numbers.
    "replicas-negative": _one("blueReplicas", "-1", REPLICAS, f"{SET} bluegreen:blueReplicas 2"),
    "replicas-fraction": _one("blueReplicas", "1.5", REPLICAS, f"{SET} bluegreen:blueReplicas 2"),
    "replicas-active-zero": _one("blueReplicas", "0", ACTIVE_ZERO, f"{SET} bluegreen:blueReplicas 2"),
    "replicas-word": _one("greenReplicas", "two", REPLICAS, f"{SET} bluegreen:greenReplicas 2"),
    "replicas-above-int32": _one("greenReplicas", str(INT32 + 1), REPLICAS, f"{SET} bluegreen:greenReplicas 2"),
    "replicas-exponent": _one("greenReplicas", "1e3", REPLICAS, f"{SET} bluegreen:greenReplicas 2"),
    "replicas-spaces": _one("greenReplicas", " 2", REPLICAS, f"{SET} bluegreen:greenReplicas 2"),
    "replicas-thousands-of-digits": (
        {"greenReplicas": DIGITS},
        [_problem("greenReplicas", f'"{"9" * 119}... (5002 characters)', REPLICAS, f"{SET} bluegreen:greenReplicas 2")],
    ),
    "port-zero": _one("containerPort", "0", PORT, f"{SET} bluegreen:containerPort 8080"),
    "port-above": _one("containerPort", "65536", PORT, f"{SET} bluegreen:containerPort 8080"),
    "port-name": _one("containerPort", "http", PORT, f"{SET} bluegreen:containerPort 8080"),
    "service-port-negative": _one("servicePort", "-1", PORT, f"{SET} bluegreen:servicePort 80"),
    "uid-root": _one(
        "runAsUser", "0", f"must be a whole number from 1 to {INT32} (0 is root)", f"{SET} bluegreen:runAsUser 65532"
    ),
    "uid-above-int32": _one(
        "runAsUser",
        str(INT32 + 1),
        f"must be a whole number from 1 to {INT32} (0 is root)",
        f"{SET} bluegreen:runAsUser 65532",
    ),
    "delay-negative": _one(
        "scaleDownDelaySeconds",
        "-5",
        "must be a whole number from 0 to 3600",
        f"{SET} bluegreen:scaleDownDelaySeconds 30",
    ),
    "delay-above": _one(
        "scaleDownDelaySeconds",
        "3601",
        "must be a whole number from 0 to 3600",
        f"{SET} bluegreen:scaleDownDelaySeconds 30",
    ),
    "idle-negative": _one("idleReplicas", "-1", IDLE, f"{SET} bluegreen:idleReplicas 0"),
    "idle-above": _one("idleReplicas", "3", IDLE, f"{SET} bluegreen:idleReplicas 0"),
    "idle-above-an-empty-idle-color": (
        {"greenReplicas": "0", "idleReplicas": "1"},
        [
            _problem(
                "idleReplicas",
                '"1"',
                "must be a whole number from 0 to 0 (greenReplicas, the idle color's size)",
                f"{SET} bluegreen:idleReplicas 0",
            )
        ],
    ),
    "bool-word": _one("createNamespace", "yes", 'must be "true" or "false"', f"{SET} bluegreen:createNamespace true"),
    "gate-number": _one("preSwitchGate", "1", 'must be "true" or "false"', f"{SET} bluegreen:preSwitchGate true"),
    # Names and versions.
    "app-upper": _one("appName", "Backend", APP_NAME, f"{SET} bluegreen:appName backend"),
    "app-underscore": _one("appName", "back_end", APP_NAME, f"{SET} bluegreen:appName backend"),
    "app-dash": _one("appName", "-backend", APP_NAME, f"{SET} bluegreen:appName backend"),
    "app-digit": _one("appName", "1backend", APP_NAME, f"{SET} bluegreen:appName backend"),
    "app-long": _one("appName", "a" * 56, APP_NAME, f"{SET} bluegreen:appName backend"),
    "app-newline": _one("appName", "backend\n", APP_NAME, f"{SET} bluegreen:appName backend"),
    "namespace-upper": _one("namespace", "Dev", NAMESPACE, f"{SET} bluegreen:namespace bluegreen-dev"),
    "namespace-underscore": _one("namespace", "my_ns", NAMESPACE, f"{SET} bluegreen:namespace bluegreen-dev"),
    "namespace-long": _one("namespace", "n" * 64, NAMESPACE, f"{SET} bluegreen:namespace bluegreen-dev"),
    "version-space": _one("blueVersion", "1.1 beta", VERSION, f"{SET} bluegreen:blueVersion 1.0.0"),
    "version-empty": _one("blueVersion", "", VERSION, f"{SET} bluegreen:blueVersion 1.0.0"),
    "version-dash": _one("greenVersion", "-1.2", VERSION, f"{SET} bluegreen:greenVersion 1.0.0"),
    "version-long": _one("greenVersion", "v" * 64, VERSION, f"{SET} bluegreen:greenVersion 1.0.0"),
    "service-type": _one(
        "serviceType",
        "clusterip",
        "must be one of ClusterIP, NodePort, LoadBalancer",
        f"{SET} bluegreen:serviceType ClusterIP",
    ),
    # 3. Env.
    "env-digit-name": (
        {"env": '{"1X": "a"}'},
        [
            _problem(
                'env["1X"]',
                '"a"',
                f"has the name '1X', which {ENV_NAME}",
                "pulumi config rm --path 'bluegreen:env[\"1X\"]'",
            )
        ],
    ),
    "env-equals-name": (
        {"env": '{"A=B": "a"}'},
        [
            _problem(
                'env["A=B"]',
                '"a"',
                f"has the name 'A=B', which {ENV_NAME}",
                "pulumi config rm --path 'bluegreen:env[\"A=B\"]'",
            )
        ],
    ),
    "env-empty-name": (
        {"env": '{"": "a"}'},
        [
            _problem(
                'env[""]', '"a"', f"has the name '', which {ENV_NAME}", "pulumi config rm --path 'bluegreen:env[\"\"]'"
            )
        ],
    ),
    "env-list-value": (
        {"env": '{"A": ["x"]}'},
        [_problem("env.A", '["x"]', "must be a string", f"{SET} --path bluegreen:env.A '<value>'")],
    ),
    "env-null-value": (
        {"env": '{"A": null}'},
        [_problem("env.A", "(not set)", "must not be null", "pulumi config rm --path bluegreen:env.A")],
    ),
    "env-control-value": (
        {"env": '{"A": "x\\u0007"}'},
        [
            _problem(
                "env.A",
                '"x\\u0007"',
                "must not contain control or invisible characters (found U+0007)",
                f"{SET} --path bluegreen:env.A '<value>'",
            )
        ],
    ),
    "env-not-object": (
        {"env": '["A"]'},
        [_problem("env", '["A"]', "must be a JSON object", f"{SET} --path bluegreen:env.LOG_LEVEL info")],
    ),
    "env-deep": (
        {"env": "[" * 50000 + "]" * 50000},
        [
            _problem(
                "env",
                f'"{"[" * 119}... (100002 characters)',
                "must be a JSON object of at most 65536 characters; this one has 100000",
                f"{SET} --path bluegreen:env.LOG_LEVEL info",
            )
        ],
    ),
    "env-nested-too-deeply": (
        {"env": "[" * 30000 + "]" * 30000},
        [
            _problem(
                "env",
                f'"{"[" * 119}... (60002 characters)',
                "must be a JSON object nested less deeply",
                f"{SET} --path bluegreen:env.LOG_LEVEL info",
            )
        ],
    ),
    "args-invalid-json": (
        {"args": "[1,"},
        [
            _problem(
                "args",
                '"[1,"',
                "must be a JSON array in valid JSON syntax",
                f"{SET} --path 'bluegreen:args[0]' -- '-text={{version}}'",
            )
        ],
    ),
    # 4. Placeholders.
    "placeholder-colour": (
        {"args": '["-text={colour}"]'},
        [
            _problem(
                "args[0]",
                '"-text={colour}"',
                PLACEHOLDER.format("colour"),
                f"{SET} --path 'bluegreen:args[0]' -- '-text={{color}}'",
            )
        ],
    ),
    "placeholder-unknown": (
        {"args": '["{name}"]'},
        [_problem("args[0]", '"{name}"', PLACEHOLDER.format("name"), f"{SET} --path 'bluegreen:args[0]' name")],
    ),
    "args-nested-list": (
        {"args": '[["a"]]'},
        [_problem("args[0]", '["a"]', "must be a string", f"{SET} --path 'bluegreen:args[0]' '<value>'")],
    ),
    "args-null": (
        {"args": "[null]"},
        [_problem("args[0]", "(not set)", "must not be null", "pulumi config rm --path 'bluegreen:args[0]'")],
    ),
    # 5. Paths.
    "path-relative": _one(
        "readinessPath",
        "healthz",
        "must be an absolute HTTP path starting with '/'",
        f"{SET} bluegreen:readinessPath /",
    ),
    "path-query": _one(
        "smokePath",
        "/health?full=1",
        "must be a plain path, without a query ('?') or fragment ('#')",
        f"{SET} bluegreen:smokePath /",
    ),
    "path-dot-dot": _one(
        "smokePath",
        "/../../api/v1/secrets",
        "must not contain a '.' or '..' segment, escaped or not",
        f"{SET} bluegreen:smokePath /",
    ),
    "path-escaped-dot-dot": _one(
        "smokePath",
        "/%2e%2e/%2e%2e/api/v1/secrets",
        "must not contain a '.' or '..' segment, escaped or not",
        f"{SET} bluegreen:smokePath /",
    ),
    "path-escaped-slash": _one(
        "readinessPath",
        "/a%2F..%2Fb",
        "must not contain an escaped '/' or '\\' (%2F, %5C)",
        f"{SET} bluegreen:readinessPath /",
    ),
    "path-placeholder": _one(
        "readinessPath",
        "/{color}",
        "must be a literal path: placeholders such as {color} are filled only in args",
        f"{SET} bluegreen:readinessPath /",
    ),
    "path-bad-escape": _one(
        "readinessPath",
        "/%zz",
        'must hold only letters, digits, "-._~!$&\'()*+,;=:@/" and valid %XX escapes (no spaces, control or '
        "invisible characters)",
        f"{SET} bluegreen:readinessPath /",
    ),
    # 6. Names unique across the stack, and never a built-in object.
    "frontend-named-like-the-app": (
        {"frontend": '{"image": "nginx:1.27", "name": "backend"}'},
        [
            _problem(
                "frontend.name",
                '"backend"',
                "would name its ServiceAccount 'backend', already the ServiceAccount of app 'backend' (set by "
                "bluegreen:appName): objects of one kind need names of their own in a namespace",
                f"{SET} --path bluegreen:frontend.name backend-2",
            )
        ],
    ),
    "frontend-named-like-a-deployment": (
        {"frontend": '{"image": "nginx:1.27", "name": "backend-green"}'},
        [
            _problem(
                "frontend.name",
                '"backend-green"',
                "would name its Deployment 'backend-green', already the green Deployment of app 'backend' (set by "
                "bluegreen:appName): objects of one kind need names of their own in a namespace",
                f"{SET} --path bluegreen:frontend.name backend-green-2",
            )
        ],
    ),
    "frontend-named-like-the-preview": (
        {"frontend": '{"image": "nginx:1.27", "name": "backend-preview"}'},
        [
            _problem(
                "frontend.name",
                '"backend-preview"',
                "would name its Service 'backend-preview', already the preview Service of app 'backend' (set by "
                "bluegreen:appName): objects of one kind need names of their own in a namespace",
                f"{SET} --path bluegreen:frontend.name backend-preview-2",
            )
        ],
    ),
    "frontend-name-too-long": (
        {"frontend": json.dumps({"image": "nginx:1.27", "name": "f" * 64})},
        [
            _problem(
                "frontend.name", json.dumps("f" * 64), FRONTEND_NAME, f"{SET} --path bluegreen:frontend.name frontend"
            )
        ],
    ),
    "built-in-namespace": (
        {"namespace": "kube-system"},
        [
            _problem(
                "namespace",
                '"kube-system"',
                "must not be created: namespace 'kube-system' exists in every cluster",
                f"{SET} bluegreen:createNamespace false",
            )
        ],
    ),
    "default-service-account": (
        {"appName": "default", "frontend": '{"image": "nginx:1.27", "backend": "default"}'},
        [
            _problem(
                "appName",
                '"default"',
                "would name its ServiceAccount 'default', which every namespace of every cluster already has",
                f"{SET} bluegreen:appName default-2",
            )
        ],
    ),
    "kubernetes-service": (
        {"appName": "kubernetes", "namespace": "default", "createNamespace": "false", "frontend": "{}"},
        [
            _problem(
                "appName",
                '"kubernetes"',
                "would name its active Service 'kubernetes', which namespace 'default' of every cluster already has",
                f"{SET} bluegreen:appName kubernetes-2",
            )
        ],
    ),
    # 7. Combinations that can never work.
    "load-balancer-behind-network-policy": _one(
        "serviceType",
        "LoadBalancer",
        "must be ClusterIP: app 'backend' has a NetworkPolicy that admits only its clients' pods, so "
        "LoadBalancer traffic from outside the cluster would never reach it",
        f"{SET} bluegreen:serviceType ClusterIP",
    ),
    "node-port-behind-network-policy": _one(
        "serviceType",
        "NodePort",
        "must be ClusterIP: app 'backend' has a NetworkPolicy that admits only its clients' pods, so "
        "NodePort traffic from outside the cluster would never reach it",
        f"{SET} bluegreen:serviceType ClusterIP",
    ),
    "cidr-everything": (
        {"smokePath": "/", "apiServerCidrs": '["0.0.0.0/0"]'},
        [
            _problem(
                "apiServerCidrs[0]",
                '"0.0.0.0/0"',
                "must not admit every address: name the network the API server connects from",
                f"{SET} --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16",
            )
        ],
    ),
    "cidr-everything-v6": (
        {"smokePath": "/", "apiServerCidrs": '["172.18.0.0/16", "::/0"]'},
        [
            _problem(
                "apiServerCidrs[1]",
                '"::/0"',
                "must not admit every address: name the network the API server connects from",
                f"{SET} --path 'bluegreen:apiServerCidrs[1]' 172.18.0.0/16",
            )
        ],
    ),
    "cidr-host-bits": (
        {"smokePath": "/", "apiServerCidrs": '["172.18.0.1/16"]'},
        [
            _problem(
                "apiServerCidrs[0]",
                '"172.18.0.1/16"',
                "must be written in its canonical form 172.18.0.0/16 (no host bits set)",
                f"{SET} --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16",
            )
        ],
    ),
    "cidr-invalid": (
        {"smokePath": "/", "apiServerCidrs": '["10.0.0.0/33"]'},
        [
            _problem(
                "apiServerCidrs[0]",
                '"10.0.0.0/33"',
                "must be a CIDR such as 10.0.0.0/24 or fd00::/64",
                f"{SET} --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16",
            )
        ],
    ),
    "smoke-without-cidrs": (
        {"smokePath": "/"},
        [
            _problem(
                "apiServerCidrs",
                "[]",
                "must list where the API server's proxy connects from: app 'backend' has a smokePath and a "
                "NetworkPolicy that admits only its clients, so the pre-switch smoke check needs this source admitted",
                f"{SET} --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16",
            )
        ],
    ),
    "frontend-latest": (
        {"frontend": '{"image": "nginx:latest"}'},
        [_problem("frontend.image", '"nginx:latest"', LATEST, f"{SET} --path bluegreen:frontend.image 'nginx:<tag>'")],
    ),
    "frontend-unknown-backend": (
        {"frontend": '{"image": "nginx:1.27", "backend": "api"}'},
        [
            _problem(
                "frontend.backend",
                '"api"',
                "must name an app of this stack: backend",
                f"{SET} --path bluegreen:frontend.backend backend",
            )
        ],
    ),
    "frontend-null-image": (
        {"frontend": '{"image": null}'},
        [
            _problem(
                "frontend.image", "(not set)", "must not be null", "pulumi config rm --path bluegreen:frontend.image"
            )
        ],
    ),
    "frontend-zero-replicas": (
        {"frontend": '{"image": "nginx:1.27", "replicas": 0}'},
        [
            _problem(
                "frontend.replicas",
                "0",
                f"must be a whole number from 1 to {INT32}",
                f"{SET} --path bluegreen:frontend.replicas 2",
            )
        ],
    ),
    "unknown-key": (
        {"activecolor": "green"},
        [
            _problem(
                "activecolor",
                '"green"',
                "is not a known key; known keys: activeColor, apiServerCidrs, appName, apps, args, blueImage, "
                "blueReplicas, blueVersion, containerPort, createNamespace, env, frontend, greenImage, greenReplicas, "
                "greenVersion, idleReplicas, namespace, preSwitchGate, readinessPath, runAsUser, "
                "scaleDownDelaySeconds, servicePort, serviceType, smokePath",
                "pulumi config rm bluegreen:activecolor",
            )
        ],
    ),
}


@pytest.mark.parametrize(("overrides", "expected"), CASES.values(), ids=CASES.keys())
def test_bad_config_gives_exact_problems_before_any_resource_is_registered(program, overrides, expected):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program(overrides).registrations
    assert [str(p) for p in error.value.problems] == expected
    assert str(error.value) == f"invalid stack config ({len(expected)} problem(s)):\n" + "\n".join(
        f"  - {line}" for line in expected
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
    assert [str(p) for p in error.value.problems] == [
        f"{namespace}:activeColor = \"green\": is under {namespace!r}, not 'bluegreen': the program never reads it. "
        f'Fix: pulumi config set bluegreen:activeColor "$(pulumi config get {namespace}:activeColor)" && '
        f"pulumi config rm {namespace}:activeColor"
    ]
    assert registrations == []


@pytest.mark.parametrize("key", ["kubernetes:context", "kubernetes:kubeconfig", "pulumi:tags", "aws:region", "green:x"])
def test_keys_of_other_namespaces_are_left_alone(program, key):
    assert len(program(stray={key: "x"}).kubernetes) == 13


def test_a_near_miss_stored_as_a_secret_is_reported_without_its_value():
    from bluegreen.config.problems import Secret

    with pytest.raises(ConfigError) as error:
        _parse_with(stray={"bluegren:env": Secret()})
    assert str(error.value.problems[0]).startswith("bluegren:env = [secret]: is under 'bluegren'")


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
    assert [str(p) for p in error.value.problems] == [
        f"bluegreen:{key} = [secret]: is stored as a secret, but it is not secret data: its value shows in plain "
        f"text in resource names, labels or the plan; only bluegreen:env may hold secrets. Fix: {fix}"
    ]
    assert registrations == []


@pytest.mark.parametrize(
    ("key", "element"),
    [("apps", "'bluegreen:apps[0].name'"), ("args", "'bluegreen:args[0]'"), ("frontend", "bluegreen:frontend.image")],
)
def test_a_secret_list_or_object_is_refused_with_a_fix_the_cli_accepts(key, element):
    with pytest.raises(ConfigError) as error:
        _parse_with(secret=frozenset({key}))
    assert str(error.value.problems[0]) == (
        f"bluegreen:{key} = [secret]: is stored as a secret, but it is not secret data: its value shows in plain "
        "text in resource names, labels or the plan; only bluegreen:env may hold secrets. Fix: pulumi config rm "
        f"bluegreen:{key}, then set each element again without --secret, such as pulumi config set --path "
        f"{element} <value>; secret values belong in bluegreen:env (pulumi config set --secret "
        "--path 'bluegreen:env.NAME' <value>)"
    )


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
    assert str(error.value.problems[0]).startswith("bluegreen:env[\"1X\"] = [secret]: has the name '1X'")


# Keys that would silently do nothing in this stack's shape.
APPS = json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2"}])
APPS_WITH_PORT = json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2", "containerPort": 9000}])


def test_app_name_next_to_apps_is_reported(program):
    with pytest.raises(ConfigError) as error:
        program({"apps": APPS, "appName": "web", "frontend": "{}"})
    assert [str(p) for p in error.value.problems] == [
        'bluegreen:appName = "web": has no effect next to apps: each entry names its own app. '
        "Fix: pulumi config rm bluegreen:appName"
    ]


def test_a_top_level_value_every_app_overrides_is_reported(program):
    with pytest.raises(ConfigError) as error:
        program({"apps": APPS_WITH_PORT, "containerPort": "7000", "frontend": "{}"})
    assert [str(p) for p in error.value.problems] == [
        'bluegreen:containerPort = "7000": has no effect: every entry of apps sets its own value. '
        "Fix: pulumi config rm bluegreen:containerPort"
    ]


def test_declared_defaults_and_required_keys_are_never_reported_as_unused(program):
    # The dev stack's top-level images, versions and activeColor are required by the CLI, and
    # containerPort 8080 is what the CLI passes for an unset key: none of them is the user's mistake.
    run = program({"apps": APPS_WITH_PORT, "containerPort": "8080", "frontend": "{}"})
    assert [r.name for r in run.registrations if r.type.endswith("BlueGreenApp")] == ["api"]


def test_a_null_in_an_app_entry_is_reported_not_read_as_unset(program):
    apps = json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2", "greenImage": None}])
    with pytest.raises(ConfigError) as error:
        program({"apps": apps, "frontend": "{}"})
    assert [str(p) for p in error.value.problems] == [
        "bluegreen:apps[0].greenImage = (not set): must not be null (app 'api'). "
        "Fix: pulumi config rm --path 'bluegreen:apps[0].greenImage'"
    ]


def test_a_top_level_value_that_fails_for_one_app_names_that_app(program):
    apps = json.dumps(
        [
            {"name": "api", "blueVersion": "1", "greenVersion": "2", "greenReplicas": 1},
            {"name": "web", "blueVersion": "1", "greenVersion": "2"},
        ]
    )
    with pytest.raises(ConfigError) as error:
        program({"apps": apps, "idleReplicas": "2", "frontend": "{}"})
    assert [str(p) for p in error.value.problems] == [
        'bluegreen:idleReplicas = "2": must be a whole number from 0 to 1 (greenReplicas, the idle color\'s size) '
        "(app 'api'). Fix: pulumi config set bluegreen:idleReplicas 0"
    ]


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
