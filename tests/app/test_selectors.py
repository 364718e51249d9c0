"""Each Deployment's selector is fixed to {app, color}; the Services pick a color by selector alone."""

from __future__ import annotations

import pytest

from bluegreen import naming
from tests.conftest import selects


def _pod_labels(run, color):
    return run.get("Deployment", f"backend-{color}").inputs["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("active", naming.COLORS)
def test_each_deployment_selects_exactly_app_and_its_color(program, active):
    run = program({"activeColor": active})
    for color in naming.COLORS:
        spec = run.get("Deployment", f"backend-{color}").inputs["spec"]
        assert spec["selector"] == {"matchLabels": {"app": "backend", "color": color}}
        assert selects(spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"])


@pytest.mark.parametrize("active", naming.COLORS)
def test_active_service_selects_the_active_pods_and_not_the_idle_ones(program, active):
    run = program({"activeColor": active})
    idle = naming.other_color(active)
    selector = run.get("Service", "backend").inputs["spec"]["selector"]
    assert selector == {"app": "backend", "color": active}
    assert selects(selector, _pod_labels(run, active))
    assert not selects(selector, _pod_labels(run, idle))


@pytest.mark.parametrize("active", naming.COLORS)
def test_preview_service_selects_the_idle_pods_and_not_the_active_ones(program, active):
    run = program({"activeColor": active})
    idle = naming.other_color(active)
    selector = run.get("Service", "backend-preview").inputs["spec"]["selector"]
    assert selector == {"app": "backend", "color": idle}
    assert selects(selector, _pod_labels(run, idle))
    assert not selects(selector, _pod_labels(run, active))


def test_version_is_a_pod_label_and_never_part_of_a_selector(program):
    run = program()
    assert _pod_labels(run, "blue")["version"] == "1.1"
    assert _pod_labels(run, "green")["version"] == "1.2"
    for r in run.kubernetes:
        spec = r.inputs.get("spec", {})
        selector = spec.get("selector", {})
        assert "version" not in selector.get("matchLabels", selector)


def test_services_route_by_port_name_to_the_container_port(program):
    run = program()
    container = run.get("Deployment", "backend-blue").inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 5678, "protocol": "TCP"}]
    for name in ("backend", "backend-preview"):
        ports = run.get("Service", name).inputs["spec"]["ports"]
        assert ports == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


def test_only_the_active_service_takes_the_configured_type(program):
    # Without the frontend: its NetworkPolicy would admit no LoadBalancer traffic.
    run = program({"serviceType": "LoadBalancer", "frontend": "{}"})
    assert run.get("Service", "backend").inputs["spec"]["type"] == "LoadBalancer"
    assert run.get("Service", "backend-preview").inputs["spec"]["type"] == "ClusterIP"
