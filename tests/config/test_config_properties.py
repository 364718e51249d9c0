"""Properties over arbitrary config: Settings or one ConfigError, never another exception; and every
accepted config registers only objects that Kubernetes and the program's own grammars accept.

Hypothesis runs derandomized with a fixed number of examples, so `make test` stays bounded and
every run tries the same inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluegreen import naming
from bluegreen.config import grammar, keys
from bluegreen.config.stack import ConfigError, Settings, parse_settings
from tests.app.test_kubernetes_schema import KUBERNETES_VERSIONS, _as_manifest
from tests.conftest import dev_config, engine_value, object_name, run_program

PROPERTY = settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROGRAM = settings(max_examples=50, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["blue", "green", "nginx:1.27", "/", "{color}", "{colour}", "0", "-1", "true", "backend"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
APP_FIELDS = ["name", *keys.APP_KEYS, "colour"]
app_entries = st.lists(
    st.dictionaries(st.sampled_from(APP_FIELDS), json_values, max_size=8).map(
        lambda d: {"name": "api", "blueVersion": "1", "greenVersion": "2", **d}
    ),
    max_size=3,
)
DEPTHS = [1, 10, 999, 1001, 5000, 30000]
pathological = st.one_of(
    st.sampled_from(DEPTHS).map(lambda n: "[" * n + "]" * n),
    st.sampled_from(DEPTHS).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.sampled_from([1, 10, 4300, 4301, 6000, 70000]).map(lambda n: "9" * n),
    st.sampled_from(["[", "{", "null", "NaN", "1e999", '{"a":1,"a":2}', "\x00", "\u202e", "{colour}"]),
)
# What the engine hands the program for one key: always a string; structured values as JSON text.
engine_strings = st.one_of(json_values.filter(lambda v: v is not None).map(engine_value), st.text(), pathological)
keys_to_set = st.sampled_from([*sorted(keys.KNOWN_KEYS), "activecolor", "name"])
overrides = st.dictionaries(keys_to_set, st.one_of(engine_strings, app_entries.map(json.dumps)), max_size=6)
stray_keys = st.dictionaries(
    st.sampled_from(["bluegren:activeColor", "blue-green:env", "kubernetes:context", "Bluegreen:x", "x:y"]),
    st.text(max_size=10),
    max_size=2,
)


def _dev() -> dict[str, str]:
    return {k: engine_value(v) for k, v in dev_config().items()}


@PROPERTY
@given(
    overrides=overrides,
    secret=st.frozensets(st.sampled_from(sorted(keys.KNOWN_KEYS)), max_size=2),
    secret_value=st.from_regex(r"zq[0-9a-f]{8}qz", fullmatch=True),
    stray=stray_keys,
    on_dev=st.booleans(),
)
def test_any_config_gives_settings_or_one_config_error(overrides, secret, secret_value, stray, on_dev):
    raw = {**(_dev() if on_dev else {}), **overrides, **dict.fromkeys(secret, secret_value)}
    try:
        result = parse_settings(raw, secret=secret, stray=stray)
    except ConfigError as error:
        text = str(error)
        assert error.problems and text.startswith(f"invalid stack config ({len(error.problems)} problem(s)):\n")
        for problem in error.problems:
            assert problem.key.split(":", 1)[0] in {naming.PROJECT, *(k.split(":", 1)[0] for k in stray)}
            assert " Fix: " in str(problem)
        # A secret never shows, whatever the key and whatever else is wrong.
        assert secret_value not in text
        return
    assert isinstance(result, Settings)
    assert not secret - {"env"}, "only env may be secret"


# Plausible values per key, valid ones and some just outside their rule, mixed freely.
PLAUSIBLE: dict[str, list[str]] = {
    "activeColor": ["blue", "green"],
    "appName": ["backend", "api", "a" * 55, "kubernetes", "default"],
    "namespace": ["bluegreen-dev", "team-a", "default", "kube-system"],
    "createNamespace": ["true", "false"],
    "blueImage": ["nginx:1.27", "localhost:5000/a/b:1.0", "nginx@sha256:" + "a" * 64, "r.io/x:y@sha256:" + "b" * 64],
    "greenImage": ["hashicorp/http-echo:1.0.0", "app:" + "t" * 128, "nginx:latest"],
    "blueVersion": ["1.1", "v" * 63, "2"],
    "greenVersion": ["1.2", "a_b-c.d"],
    "blueReplicas": ["0", "1", "3", str(keys.INT32_MAX)],
    "greenReplicas": ["0", "1", "2"],
    "idleReplicas": ["0", "1", "2"],
    "scaleDownDelaySeconds": ["0", "30", "3600"],
    "runAsUser": ["1", "65532", str(keys.INT32_MAX)],
    "containerPort": ["1", "8080", "65535"],
    "servicePort": ["1", "80", "65535"],
    "serviceType": ["ClusterIP", "NodePort", "LoadBalancer"],
    "readinessPath": ["/", "/healthz", "/a/b/", "/%20x"],
    "smokePath": ["", "/ready"],
    "preSwitchGate": ["true", "false"],
    "args": ["[]", '["-listen=:{port}", "-text={version} ({color})"]', '["{\\"a\\":1}", "{{x}}", "{", 8080]'],
    "env": ["{}", '{"A": "1", "b.c-d": "x"}', '{"PORT": 8080, "DEBUG": true}'],
    "frontend": ["{}", '{"image": "nginx:1.27"}', '{"image": "nginx:1.27", "name": "web", "replicas": 3}'],
    "apiServerCidrs": ["[]", '["172.18.0.0/16"]', '["fd00::/64", "10.0.0.5/32"]'],
    "apps": [
        "[]",
        json.dumps([{"name": "api", "blueVersion": "1", "greenVersion": "2"}]),
        json.dumps(
            [
                {"name": "api", "blueVersion": "1", "greenVersion": "2", "activeColor": "green", "idleReplicas": 0},
                {"name": "web", "blueVersion": "3", "greenVersion": 4, "containerPort": 9000},
            ]
        ),
    ],
}
plausible = st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in PLAUSIBLE.items()})


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def _grammar_problems(manifest: dict[str, Any]) -> list[str]:
    """What the program's own grammars say about an object it registered."""
    problems: list[str] = []
    meta = manifest.get("metadata", {})
    if (why := grammar.dns1123_label(meta.get("name", ""))) is not None:
        problems.append(f"name {meta.get('name')!r} {why}")
    for path, value in _strings(manifest):
        is_label = path.endswith(("labels.app", "labels.color", "labels.version")) or ".matchLabels." in path
        if is_label and (why := grammar.label_value(value)) is not None:
            problems.append(f"{path} {value!r} {why}")
        if path.endswith(".image") and (why := grammar.image_reference(value)) is not None:
            problems.append(f"{path} {value!r} {why}")
        if path.endswith("httpGet.path") and (why := grammar.http_path(value)) is not None:
            problems.append(f"{path} {value!r} {why}")
        if path.endswith("].name") and ".env[" in path and (why := grammar.env_name(value)) is not None:
            problems.append(f"{path} {value!r} {why}")
    return problems


@PROGRAM
@given(overrides=plausible, env_secret=st.booleans())
def test_every_accepted_config_registers_only_valid_objects(overrides, env_secret):
    config = {**dev_config(), **overrides}
    secret = ("env",) if env_secret else ()
    raw = {k: engine_value(v) for k, v in config.items()}
    try:
        parse_settings(raw, secret=frozenset(secret))
    except ConfigError:
        return
    run = run_program(config, secret=secret)
    seen: set[tuple[str, str]] = set()
    for registration in run.kubernetes:
        manifest = _as_manifest(_unwrap(registration.inputs))
        manifest["metadata"]["name"] = object_name(registration)
        for kubernetes in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(manifest, kubernetes, strict=True)
        assert _grammar_problems(manifest) == [], registration.name
        identity = (manifest["kind"], manifest["metadata"]["name"])
        assert identity not in seen, identity
        seen.add(identity)


def _unwrap(value: Any) -> Any:
    """Secret values as the mock monitor records them: the wire's secret wrapper around the value."""
    if isinstance(value, dict):
        if (
            "value" in value
            and len(value) == 2
            and any(k.startswith("4dabf18193072939515e22adb298388d") for k in value)
        ):
            return _unwrap(value["value"])
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value
