"""The stand-in API server of the gate's tests answers as the real one did.

tests/fixtures/real_api/ holds what a real API server (Kubernetes 1.36.3) answered to the gate's two reads
in a run of e2e/test_python_program.py. The gate must pass on those very objects, served by the stand-in,
and the stand-in's own objects must carry every field the real ones carry where the gate reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bluegreen.app import gate
from tests.app.test_gate import BLUE_TO_GREEN, app
from tests.conftest import ROOT
from tests.fakes import kube_api as kube

REAL = ROOT / "tests" / "fixtures" / "real_api"


def real(name: str) -> Any:
    return json.loads((REAL / name).read_text())


@pytest.fixture
def real_api() -> Iterator[kube.FakeKubeApi]:
    served = kube.serve(
        kube.Cluster(deployments={"backend-green": real("deployment.json")}, pods=real("pods.json")["items"])
    )
    yield next(served)
    served.close()


def test_the_gate_passes_on_the_real_api_servers_answers(real_api: kube.FakeKubeApi) -> None:
    access = gate.KubeAccess(kubeconfig=kube.kubeconfig(real_api.url))
    passed = gate.run_gate(app(), kube.NAMESPACE, access, *BLUE_TO_GREEN, environ={})
    assert passed == [
        "Deployment bluegreen-dev/backend-green: 2/2 replicas updated and available",
        "green: 2 Ready pod(s) not terminating in bluegreen-dev (app=backend,color=green)",
    ]


def test_the_stand_ins_deployment_has_the_real_status_fields() -> None:
    got, want = kube.deployment("backend-green", "green"), real("deployment.json")
    assert sorted(got["status"]) == sorted(want["status"])
    assert set(got["metadata"]) <= set(want["metadata"])
    assert sorted(got) == sorted(want)


def test_the_stand_ins_pod_has_the_real_status_and_metadata_fields() -> None:
    got, want = kube.pod("green", 1), real("pods.json")["items"][0]
    assert sorted(got["status"]) == sorted(want["status"])
    assert sorted(got["metadata"]) == sorted(want["metadata"])
    # kwok's pods lack PodReadyToStartContainers, which a kubelet adds: the stand-in keeps the kubelet's.
    kinds = {c["type"] for c in got["status"]["conditions"]}
    assert {c["type"] for c in want["status"]["conditions"]} <= kinds


@pytest.fixture
def services() -> Iterator[tuple[kube.Cluster, Any]]:
    """The stand-in with the active Service, and the official client's CoreV1Api on it."""
    from kubernetes import client

    state = kube.Cluster(services={"backend": kube.service("backend", "green")})
    served = kube.serve(state)
    api = next(served)
    with gate.api_client(gate.KubeAccess(kubeconfig=kube.kubeconfig(api.url)), environ={}) as connected:
        yield state, client.CoreV1Api(connected)
    served.close()


def test_the_stand_in_merges_a_patch_into_a_service_as_the_api_server_does(
    services: tuple[kube.Cluster, Any],
) -> None:
    state, core = services

    same = core.patch_namespaced_service("backend", kube.NAMESPACE, {"spec": {"selector": {"color": "green"}}})
    moved = core.patch_namespaced_service(
        "backend", kube.NAMESPACE, {"spec": {"selector": {"color": "blue"}}}, _content_type=kube.MERGE_PATCH
    )
    dropped = core.patch_namespaced_service(
        "backend", kube.NAMESPACE, {"metadata": {"labels": None}}, _content_type=kube.MERGE_PATCH
    )

    # A patch that changes nothing is no write (same resourceVersion); a change is one; null removes a key (RFC 7386).
    assert [s.metadata.resource_version for s in (same, moved, dropped)] == ["815", "816", "817"]
    assert moved.spec.selector == {"app": "backend", "color": "blue"}
    assert (moved.spec.cluster_ip, [p.name for p in moved.spec.ports]) == ("10.96.0.12", ["http"])
    assert dropped.metadata.labels is None
    # The client's default for a dict body is a strategic merge patch.
    assert [p.content_type for p in state.patches] == [kube.STRATEGIC_MERGE_PATCH, kube.MERGE_PATCH, kube.MERGE_PATCH]


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        ({"_content_type": "application/json"}, 415, kube.UNSUPPORTED_PATCH),
        ({"_content_type": kube.MERGE_PATCH, "force": True}, 422, kube.FORCE_NOT_APPLY),
    ],
    ids=["plain-json", "force-without-apply"],
)
def test_the_stand_in_refuses_a_patch_the_api_server_refuses(
    services: tuple[kube.Cluster, Any], options: dict[str, Any], code: int, message: str
) -> None:
    from kubernetes.client.exceptions import ApiException

    state, core = services

    with pytest.raises(ApiException) as refused:
        core.patch_namespaced_service("backend", kube.NAMESPACE, {"spec": {"selector": {"color": "blue"}}}, **options)

    assert (refused.value.status, json.loads(refused.value.body or "{}").get("message")) == (code, message)
    assert state.services["backend"]["spec"]["selector"]["color"] == "green"
