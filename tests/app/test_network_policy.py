"""The backend admits ingress from frontend pods only, selected by app so a cutover needs no policy change."""

from __future__ import annotations

import pytest

from bluegreen import naming
from bluegreen.config.stack import ConfigError
from tests.conftest import selects


def _pod_labels(run):
    return {
        r.name: r.inputs["spec"]["template"]["metadata"]["labels"]
        for r in run.kubernetes
        if r.type.endswith(":Deployment")
    }


def test_policy_selects_both_backend_colors_and_nothing_else(program):
    run = program()
    selector = run.get("NetworkPolicy", "backend").inputs["spec"]["podSelector"]["matchLabels"]
    assert selector == {"app": "backend"}
    assert {name for name, labels in _pod_labels(run).items() if selects(selector, labels)} == {
        "backend-blue",
        "backend-green",
    }


def test_policy_admits_only_frontend_pods_on_the_container_port(program):
    run = program()
    spec = run.get("NetworkPolicy", "backend").inputs["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}], "ports": [{"port": 5678, "protocol": "TCP"}]}
    ]
    client = spec["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert {name for name, labels in _pod_labels(run).items() if selects(client, labels)} == {"frontend"}


@pytest.mark.parametrize("active", naming.COLORS)
def test_policy_is_the_same_whichever_color_is_active(program, active):
    assert (
        program({"activeColor": active}).get("NetworkPolicy", "backend").inputs
        == program().get("NetworkPolicy", "backend").inputs
    )


def test_smoke_check_source_is_admitted_when_the_app_has_a_smoke_path(program):
    spec = (
        program({"smokePath": "/", "apiServerCidrs": '["172.18.0.0/16", "10.0.0.5/32"]'})
        .get("NetworkPolicy", "backend")
        .inputs["spec"]
    )
    assert spec["ingress"][1] == {
        "from": [{"ipBlock": {"cidr": "172.18.0.0/16"}}, {"ipBlock": {"cidr": "10.0.0.5/32"}}],
        "ports": [{"port": 5678, "protocol": "TCP"}],
    }


def test_api_server_cidrs_without_a_smoke_path_are_reported_as_having_no_effect(program):
    registrations = []
    with pytest.raises(ConfigError) as error:
        registrations = program({"apiServerCidrs": '["172.18.0.0/16"]'}).registrations
    assert [str(p) for p in error.value.problems] == [
        'bluegreen:apiServerCidrs = "[\\"172.18.0.0/16\\"]": has no effect: only an app with both a frontend and a '
        "smokePath or verifySeconds admits the API server. Fix: pulumi config rm bluegreen:apiServerCidrs"
    ]
    assert registrations == []


def test_the_verification_window_source_is_admitted_when_the_app_verifies_without_a_smoke_path(program):
    spec = (
        program({"verifySeconds": "30", "apiServerCidrs": '["172.18.0.0/16"]'})
        .get("NetworkPolicy", "backend")
        .inputs["spec"]
    )
    assert spec["ingress"][1] == {
        "from": [{"ipBlock": {"cidr": "172.18.0.0/16"}}],
        "ports": [{"port": 5678, "protocol": "TCP"}],
    }
