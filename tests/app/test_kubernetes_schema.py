"""Every object the program produces is valid Kubernetes, checked against the official OpenAPI schemas."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

# Pinned so a new release of the schema package cannot change what this test means: the oldest
# Kubernetes the README supports (an object must not use a field it lacks), and a newer one.
OLDEST_KUBERNETES = "1.30.0"
KUBERNETES_VERSION = "1.33.0"
KUBERNETES_VERSIONS = (OLDEST_KUBERNETES, KUBERNETES_VERSION)


def _as_manifest(value: Any) -> Any:
    """The engine sends every number as a float; the API server's schemas want integers."""
    if isinstance(value, dict):
        return {k: _as_manifest(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_manifest(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"activeColor": "green", "idleReplicas": 0},
        {"serviceType": "LoadBalancer", "env": '{"A":"1"}', "frontend": "{}"},
    ],
    ids=["dev", "green-active-idle-zero", "loadbalancer-with-env"],
)
@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(program, overrides, kubernetes):
    run = program(overrides)
    assert len(run.kubernetes) == (13 if "frontend" not in overrides else 8)
    for registration in run.kubernetes:
        manifest = _as_manifest(registration.inputs)
        kubernetes_validate.validate(manifest, kubernetes, strict=True)


def test_the_validator_rejects_an_unknown_field(program):
    manifest = _as_manifest(program().get("Deployment", "backend-blue").inputs)
    manifest["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
