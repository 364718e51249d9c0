"""Bad config stops the program with one error that names every bad key, before anything is registered."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.settings import ConfigError, parse_settings
from tests.conftest import dev_config, engine_value

COLOR = 'must be exactly "blue" or "green" (lower case, no spaces)'
APP_NAME = (
    "must be a DNS-1035 label of at most 55 characters: lower case letters, digits and '-', "
    "starting with a letter and ending with a letter or digit"
)
NAMESPACE = (
    "must be a DNS-1123 label of at most 63 characters: lower case letters, digits and '-', "
    "starting and ending with a letter or digit"
)
VERSION = "must be a label value: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
PORT = "must be a whole number from 1 to 65535"
REPLICAS = "must be a whole number 0 or more"
ACTIVE_REPLICAS = "must be a whole number 1 or more: blue is the active color"
UNPINNED = "must be pinned with a tag or digest (no tag means latest)"
LATEST = 'must be pinned to a tag or digest other than "latest"'
EMPTY_IMAGE = "must be an image reference with a tag or digest, not empty"
PATH = "must be an HTTP path starting with '/', without spaces, '?' or '#'"
IDLE = "must be a whole number from 0 to 2 (greenReplicas, the idle color's size)"

CASES = [
    ("activeColor", "purple", COLOR, "pulumi config set bluegreen:activeColor blue"),
    ("activeColor", "Blue", COLOR, "pulumi config set bluegreen:activeColor blue"),
    ("activeColor", "GREEN", COLOR, "pulumi config set bluegreen:activeColor green"),
    ("activeColor", "", COLOR, "pulumi config set bluegreen:activeColor blue"),
    ("activeColor", " blue", COLOR, "pulumi config set bluegreen:activeColor blue"),
    ("activeColor", "green ", COLOR, "pulumi config set bluegreen:activeColor green"),
    ("blueImage", "", EMPTY_IMAGE, "pulumi config set bluegreen:blueImage '<repository>:<tag>'"),
    ("blueImage", "   ", EMPTY_IMAGE, "pulumi config set bluegreen:blueImage '<repository>:<tag>'"),
    ("greenImage", "nginx:latest", LATEST, "pulumi config set bluegreen:greenImage 'nginx:<tag>'"),
    ("greenImage", "nginx", UNPINNED, "pulumi config set bluegreen:greenImage 'nginx:<tag>'"),
    ("blueImage", "localhost:5000/app", UNPINNED, "pulumi config set bluegreen:blueImage 'localhost:5000/app:<tag>'"),
    ("blueReplicas", "-1", ACTIVE_REPLICAS, "pulumi config set bluegreen:blueReplicas 2"),
    ("blueReplicas", "1.5", ACTIVE_REPLICAS, "pulumi config set bluegreen:blueReplicas 2"),
    ("blueReplicas", "0", ACTIVE_REPLICAS, "pulumi config set bluegreen:blueReplicas 2"),
    ("greenReplicas", "-1", REPLICAS, "pulumi config set bluegreen:greenReplicas 2"),
    ("greenReplicas", "two", REPLICAS, "pulumi config set bluegreen:greenReplicas 2"),
    ("appName", "Backend", APP_NAME, "pulumi config set bluegreen:appName backend"),
    ("appName", "back_end", APP_NAME, "pulumi config set bluegreen:appName backend"),
    ("appName", "-backend", APP_NAME, "pulumi config set bluegreen:appName backend"),
    ("appName", "1backend", APP_NAME, "pulumi config set bluegreen:appName backend"),
    ("appName", "a" * 56, APP_NAME, "pulumi config set bluegreen:appName backend"),
    ("appName", "backend\n", APP_NAME, "pulumi config set bluegreen:appName backend"),
    ("namespace", "Dev", NAMESPACE, "pulumi config set bluegreen:namespace bluegreen-dev"),
    ("namespace", "my_ns", NAMESPACE, "pulumi config set bluegreen:namespace bluegreen-dev"),
    ("namespace", "-ns", NAMESPACE, "pulumi config set bluegreen:namespace bluegreen-dev"),
    ("namespace", "n" * 64, NAMESPACE, "pulumi config set bluegreen:namespace bluegreen-dev"),
    ("containerPort", "0", PORT, "pulumi config set bluegreen:containerPort 8080"),
    ("containerPort", "65536", PORT, "pulumi config set bluegreen:containerPort 8080"),
    ("containerPort", "http", PORT, "pulumi config set bluegreen:containerPort 8080"),
    ("servicePort", "-1", PORT, "pulumi config set bluegreen:servicePort 80"),
    ("blueVersion", "1.1 beta", VERSION, "pulumi config set bluegreen:blueVersion 1.0.0"),
    ("blueVersion", "", VERSION, "pulumi config set bluegreen:blueVersion 1.0.0"),
    ("greenVersion", "-1.2", VERSION, "pulumi config set bluegreen:greenVersion 1.0.0"),
    ("greenVersion", "v" * 64, VERSION, "pulumi config set bluegreen:greenVersion 1.0.0"),
    ("idleReplicas", "-1", IDLE, "pulumi config set bluegreen:idleReplicas 0"),
    ("runAsUser", "0", "must be a whole number 1 or more (0 is root)", "pulumi config set bluegreen:runAsUser 65532"),
    (
        "scaleDownDelaySeconds",
        "-5",
        "must be a whole number from 0 to 3600",
        "pulumi config set bluegreen:scaleDownDelaySeconds 30",
    ),
    ("smokePath", "/health?full=1", PATH, "pulumi config set bluegreen:smokePath /"),
    ("readinessPath", "healthz", PATH, "pulumi config set bluegreen:readinessPath /"),
    ("idleReplicas", "3", IDLE, "pulumi config set bluegreen:idleReplicas 0"),
]


@pytest.mark.parametrize(("key", "value", "allowed", "fix"), CASES, ids=[f"{k}={v!r}"[:40] for k, v, *_ in CASES])
def test_bad_value_is_rejected_before_any_resource_is_registered(program, key, value, allowed, fix):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program({key: value}).registrations
    assert str(error.value) == (
        f"invalid stack config (1 problem(s)):\n  - bluegreen:{key} = {json.dumps(value)}: {allowed}. Fix: {fix}"
    )
    assert registrations == []


def test_config_error_is_a_run_error_so_the_cli_prints_one_clean_message():
    assert issubclass(ConfigError, pulumi.RunError)


def test_every_bad_key_is_reported_at_once():
    config = {**dev_config(), "activeColor": "purple", "blueImage": "nginx", "namespace": "Dev", "servicePort": "0"}
    with pytest.raises(ConfigError) as error:
        parse_settings({k: engine_value(v) for k, v in config.items()})
    assert [p.key for p in error.value.problems] == [
        "bluegreen:namespace",
        "bluegreen:activeColor",
        "bluegreen:blueImage",
        "bluegreen:servicePort",
    ]


def test_an_unknown_key_is_rejected_so_a_typo_never_goes_unnoticed():
    with pytest.raises(ConfigError) as error:
        parse_settings({**dev_config(), "activecolor": "green"})
    (problem,) = error.value.problems
    assert problem.key == "bluegreen:activecolor"
    assert problem.fix == "pulumi config rm bluegreen:activecolor"


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


@pytest.mark.parametrize(
    "image",
    [
        "hashicorp/http-echo:1.0.0",
        "localhost:5000/app:1.0",
        "nginx@sha256:" + "a" * 64,
        "ghcr.io/org/app:v2@sha256:" + "b" * 64,
    ],
)
def test_pinned_images_are_accepted(image):
    settings = parse_settings({**dev_config(), "blueImage": image})
    assert settings.apps[0].blue.image == image


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"frontend": '{"image": "nginx:latest"}'},
            'bluegreen:frontend.image = "nginx:latest": must be pinned to a tag or digest other than "latest". '
            "Fix: pulumi config set --path bluegreen:frontend.image 'nginx:<tag>'",
        ),
        (
            {"frontend": '{"image": "nginx:1.27", "backend": "api"}'},
            'bluegreen:frontend.backend = "api": must name an app of this stack: backend. '
            "Fix: pulumi config set --path bluegreen:frontend.backend backend",
        ),
        (
            {"frontend": '{"image": "nginx:1.27", "name": "backend"}'},
            'bluegreen:frontend.name = "backend": must differ from every app\'s name (backend). '
            "Fix: pulumi config set --path bluegreen:frontend.name frontend",
        ),
        (
            {"apiServerCidrs": '["10.0.0.0/33"]'},
            'bluegreen:apiServerCidrs = ["10.0.0.0/33"]: must be a JSON list of CIDRs such as 10.0.0.0/24. '
            "Fix: pulumi config set --path 'bluegreen:apiServerCidrs[0]' 172.18.0.0/16",
        ),
        (
            {"smokePath": "/"},
            "bluegreen:apiServerCidrs = []: must list where the API server's proxy connects from: app "
            "'backend' has a smokePath and a NetworkPolicy that admits only its clients, so the pre-switch smoke "
            "check needs this source admitted. Fix: pulumi config set --path 'bluegreen:apiServerCidrs[0]' "
            "172.18.0.0/16",
        ),
    ],
    ids=["frontend-latest", "frontend-unknown-backend", "frontend-name-clash", "bad-cidr", "smoke-without-cidrs"],
)
def test_bad_frontend_and_network_settings_are_rejected(program, overrides, expected):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program(overrides).registrations
    assert [str(p) for p in error.value.problems] == [expected]
    assert registrations == []


def test_the_idle_color_may_have_no_replicas():
    settings = parse_settings({**{k: engine_value(v) for k, v in dev_config().items()}, "greenReplicas": "0"})
    assert (settings.apps[0].replicas("blue"), settings.apps[0].replicas("green")) == (2, 0)


def test_a_fix_value_that_starts_with_a_dash_is_kept_from_the_clis_flags():
    with pytest.raises(ConfigError) as error:
        parse_settings({**{k: engine_value(v) for k, v in dev_config().items()}, "args": '["ok", 3]'})
    (problem,) = error.value.problems
    assert problem.fix == "pulumi config set --path 'bluegreen:args[0]' -- '-text={version}'"
