"""The dev stack registers exactly these resources, with these names, parents and outputs."""

from __future__ import annotations

from bluegreen import naming


def _short(urn: str) -> str:
    """`type::name` of a URN, without stack, project or parent types."""
    parts = urn.split("::")
    return f"{parts[2].split('$')[-1]}::{parts[3]}"


def test_dev_stack_registers_exactly_the_blue_green_resources(program):
    run = program()
    assert sorted((r.type, r.name) for r in run.registrations) == sorted(
        [
            ("kubernetes:core/v1:Namespace", "bluegreen-dev"),
            (naming.COMPONENT_TYPE, "backend"),
            ("kubernetes:core/v1:ServiceAccount", "backend"),
            ("kubernetes:apps/v1:Deployment", "backend-blue"),
            ("kubernetes:apps/v1:Deployment", "backend-green"),
            ("kubernetes:core/v1:Service", "backend"),
            ("kubernetes:core/v1:Service", "backend-preview"),
            ("kubernetes:policy/v1:PodDisruptionBudget", "backend-blue"),
            ("kubernetes:policy/v1:PodDisruptionBudget", "backend-green"),
            ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "backend"),
            ("bluegreen:index:Frontend", "frontend"),
            ("kubernetes:core/v1:ConfigMap", "frontend"),
            ("kubernetes:core/v1:ServiceAccount", "frontend"),
            ("kubernetes:apps/v1:Deployment", "frontend"),
            ("kubernetes:core/v1:Service", "frontend"),
        ]
    )


def test_every_app_resource_is_a_child_of_the_component(program):
    run = program()
    for component, count in ((run.get("BlueGreenApp", "backend"), 8), (run.get("Frontend", "frontend"), 4)):
        children = [r for r in run.registrations if r.parent == component.urn]
        assert len(children) == count
        assert all(r.is_kubernetes for r in children)
    assert {r.parent for r in run.kubernetes} == {
        run.get("Namespace", "bluegreen-dev").parent,
        run.get("BlueGreenApp", "backend").urn,
        run.get("Frontend", "frontend").urn,
    }
    assert _short(run.get("Namespace", "bluegreen-dev").parent) == "pulumi:pulumi:Stack::bluegreen-dev"


def test_kubernetes_names_equal_the_logical_names_in_the_stack_namespace(program):
    run = program()
    for r in run.kubernetes:
        if r.type == "kubernetes:core/v1:Namespace":
            assert r.inputs["metadata"]["name"] == "bluegreen-dev"
            continue
        assert r.inputs["metadata"]["name"] == r.name
        assert r.inputs["metadata"]["namespace"] == "bluegreen-dev"


def test_namespace_enforces_the_restricted_pod_security_standard(program):
    labels = program().get("Namespace", "bluegreen-dev").inputs["metadata"]["labels"]
    assert labels == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def test_an_existing_namespace_is_used_when_create_namespace_is_false(program):
    run = program({"createNamespace": "false", "namespace": "team-a"})
    assert [r for r in run.registrations if r.type.endswith("Namespace")] == []
    assert run.get("Deployment", "backend-blue").inputs["metadata"]["namespace"] == "team-a"
    assert run.get("Deployment", "backend-blue").dependencies == [run.get("ServiceAccount", "backend").urn]


def test_dev_stack_exports_the_documented_outputs(program):
    outputs = program().outputs
    app = {
        "activeColor": "blue",
        "idleColor": "green",
        "serviceName": "backend",
        "serviceDns": "backend.bluegreen-dev.svc.cluster.local",
        "clusterIp": "10.96.0.11",
        "previewServiceName": "backend-preview",
        "blueImage": "hashicorp/http-echo:1.0.0",
        "blueVersion": "1.1",
        "blueReplicas": 2,
        "greenImage": "hashicorp/http-echo:1.0.0",
        "greenVersion": "1.2",
        "greenReplicas": 2,
    }
    assert outputs == {
        "namespace": "bluegreen-dev",
        "apps": {"backend": app},
        **app,
        "frontendService": "frontend",
        "frontendUpstream": "http://backend.bluegreen-dev.svc.cluster.local:80",
    }


def test_idle_replicas_sets_only_the_idle_colors_size(program):
    outputs = program({"idleReplicas": 0}).outputs
    assert (outputs["blueReplicas"], outputs["greenReplicas"]) == (2, 0)
    outputs = program({"idleReplicas": 1, "activeColor": "green"}).outputs
    assert (outputs["blueReplicas"], outputs["greenReplicas"]) == (1, 2)


def test_container_args_are_filled_in_per_color(program):
    run = program()
    args = {
        color: run.get("Deployment", f"backend-{color}").inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        for color in naming.COLORS
    }
    assert args == {
        "blue": ["-listen=:5678", "-text=backend 1.1 (blue)"],
        "green": ["-listen=:5678", "-text=backend 1.2 (green)"],
    }
