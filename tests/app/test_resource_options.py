"""Resource options, as the engine receives them: protection and the cutover's dependency edges."""

from __future__ import annotations

import pytest

from bluegreen import naming


@pytest.mark.parametrize("active", naming.COLORS)
def test_active_service_is_protected_and_waits_for_the_active_deployment(program, active):
    run = program({"activeColor": active})
    service = run.get("Service", "backend")
    assert service.protect is True
    assert run.get("Deployment", f"backend-{active}").urn in service.dependencies
    assert run.get("Deployment", f"backend-{naming.other_color(active)}").urn not in service.dependencies


@pytest.mark.parametrize("active", naming.COLORS)
def test_idle_deployment_waits_for_the_active_service(program, active):
    run = program({"activeColor": active})
    service = run.get("Service", "backend")
    assert service.urn in run.get("Deployment", f"backend-{naming.other_color(active)}").dependencies
    assert service.urn not in run.get("Deployment", f"backend-{active}").dependencies


@pytest.mark.parametrize("active", naming.COLORS)
def test_only_the_active_service_and_the_namespace_are_protected(program, active):
    run = program({"activeColor": active})
    assert sorted((r.type, r.name) for r in run.kubernetes if r.protect) == [
        ("kubernetes:core/v1:Namespace", "bluegreen-dev"),
        ("kubernetes:core/v1:Service", "backend"),
    ]


def test_every_app_resource_waits_for_the_namespace(program):
    run = program()
    namespace = run.get("Namespace", "bluegreen-dev").urn
    app_resources = [r for r in run.kubernetes if r.type != "kubernetes:core/v1:Namespace"]
    assert all(namespace in r.dependencies for r in app_resources)


def _skipping_await(run):
    return [r.name for r in run.kubernetes if "pulumi.com/skipAwait" in r.inputs["metadata"].get("annotations", {})]


def test_both_services_skip_the_providers_endpoint_await_when_the_after_switch_check_replaces_it(program):
    run = program({"idleReplicas": 0})
    assert _skipping_await(run) == ["backend", "backend-preview"]
    assert run.get("Service", "backend-preview").inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_without_the_gate_the_active_service_keeps_the_providers_await(program):
    run = program({"preSwitchGate": "false"})
    assert _skipping_await(run) == ["backend-preview"]


def test_the_color_deployments_and_the_active_service_force_their_fields_over_a_manual_change(program):
    # A `kubectl scale` claims spec.replicas; without the annotation the next cutover's apply fails on it
    # (measured on the real provider: "Server-Side Apply field conflict ... conflict with "kubectl"").
    run = program()
    annotated = {
        (r.type, r.name): r.inputs["metadata"]["annotations"]
        for r in run.kubernetes
        if "annotations" in r.inputs.get("metadata", {})
    }
    assert annotated == {
        ("kubernetes:apps/v1:Deployment", "backend-blue"): {"pulumi.com/patchForce": "true"},
        ("kubernetes:apps/v1:Deployment", "backend-green"): {"pulumi.com/patchForce": "true"},
        ("kubernetes:core/v1:Service", "backend"): {"pulumi.com/skipAwait": "true", "pulumi.com/patchForce": "true"},
        ("kubernetes:core/v1:Service", "backend-preview"): {"pulumi.com/skipAwait": "true"},
    }
