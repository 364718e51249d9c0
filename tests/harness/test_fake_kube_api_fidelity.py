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
