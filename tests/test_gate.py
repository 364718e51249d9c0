"""The pre-switch gate against a stand-in API server: the real `kubernetes` client makes every call."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components import gate
from components.settings import AppSettings, ColorSettings
from tests import fake_kube_api as kube
from tests.conftest import ROOT

PREVIEW = "backend-preview"
BLUE_TO_GREEN = (
    {"spec": {"selector": {"app": "backend", "color": "blue"}}},
    {"spec": {"selector": {"app": "backend", "color": "green"}}},
)


def app(smoke_path: str | None = None) -> AppSettings:
    """The app as the program sees it during a cutover to green: green is already the active color."""
    return AppSettings(
        name="backend",
        active_color="green",
        blue=ColorSettings("hashicorp/http-echo:1.0.0", "1.1", 2),
        green=ColorSettings("hashicorp/http-echo:1.0.0", "1.2", 2),
        container_port=5678,
        service_port=80,
        service_type="ClusterIP",
        readiness_path="/",
        smoke_path=smoke_path,
    )


def ready_cluster() -> kube.Cluster:
    return kube.Cluster(
        deployments={"backend-green": kube.deployment("backend-green", "green")},
        services={PREVIEW: kube.service(PREVIEW, "green")},
        slices=[kube.endpoint_slice(PREVIEW, [kube.endpoint(1), kube.endpoint(2)])],
        proxy={f"{PREVIEW}:http/proxy/healthz": (200, "backend 1.2 (green)\n")},
    )


@pytest.fixture
def api() -> Iterator[kube.FakeKubeApi]:
    served = kube.serve(ready_cluster())
    yield next(served)
    served.close()


def run(api: kube.FakeKubeApi, smoke_path: str | None = None, **access: Any) -> list[str]:
    access.setdefault("kubeconfig", kube.kubeconfig(api.url))
    return gate.run_gate(app(smoke_path), kube.NAMESPACE, gate.KubeAccess(**access), *BLUE_TO_GREEN, environ={})


def failure(api: kube.FakeKubeApi, smoke_path: str | None = None, **access: Any) -> str:
    with pytest.raises(gate.GateError) as raised:
        run(api, smoke_path, **access)
    return str(raised.value)


PREFIX = "pre-switch gate: backend cannot switch from blue to green: "
SUFFIX = (
    ". Traffic stays on blue; fix green, or set bluegreen:preSwitchGate false if this runner cannot reach the cluster"
)


def test_a_ready_color_passes_every_check_through_the_real_client(api: kube.FakeKubeApi) -> None:
    passed = run(api, "/healthz")

    assert passed == [
        "Deployment bluegreen-dev/backend-green: 2/2 replicas updated and available",
        "Service bluegreen-dev/backend-preview: 2 ready endpoint(s) for green",
        "smoke check GET /healthz via Service bluegreen-dev/backend-preview:http: HTTP 200",
    ]
    assert api.cluster.requests == [
        "GET /apis/apps/v1/namespaces/bluegreen-dev/deployments/backend-green",
        "GET /api/v1/namespaces/bluegreen-dev/services/backend-preview",
        "GET /apis/discovery.k8s.io/v1/namespaces/bluegreen-dev/endpointslices"
        "?labelSelector=kubernetes.io/service-name=backend-preview",
        "GET /api/v1/namespaces/bluegreen-dev/services/backend-preview:http/proxy/healthz",
    ]


def test_without_smoke_path_no_http_check_is_made(api: kube.FakeKubeApi) -> None:
    run(api)

    assert not [r for r in api.cluster.requests if "/proxy" in r]


def test_a_nested_smoke_path_keeps_its_slashes(api: kube.FakeKubeApi) -> None:
    api.cluster.proxy[f"{PREVIEW}:http/proxy/api/v1/health"] = (204, "")

    assert run(api, "/api/v1/health")[-1] == (
        "smoke check GET /api/v1/health via Service bluegreen-dev/backend-preview:http: HTTP 204"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            {"spec": {"selector": {"app": "backend", "color": "blue"}}},
            {"spec": {"selector": {"app": "backend", "color": "blue"}}},
        ),
        (
            {"spec": {"selector": {"color": "green"}, "type": "ClusterIP"}},
            {"spec": {"selector": {"color": "green"}, "type": "NodePort"}},
        ),
    ],
)
def test_an_update_that_keeps_the_color_makes_no_request(api: kube.FakeKubeApi, old: Any, new: Any) -> None:
    access = gate.KubeAccess(kubeconfig=kube.kubeconfig(api.url))

    assert gate.run_gate(app(), kube.NAMESPACE, access, old, new, environ={}) == []
    assert api.cluster.requests == []


@pytest.mark.parametrize(
    ("deployment", "reason"),
    [
        (dict(available=1), "Deployment bluegreen-dev/backend-green has 1 of 2 replicas available (1 unavailable)"),
        (dict(updated=1, total=2), "Deployment bluegreen-dev/backend-green has 1 of 2 replicas updated"),
        (dict(total=3), "Deployment bluegreen-dev/backend-green still runs 1 old replica(s)"),
        (
            dict(observed=2),
            "Deployment bluegreen-dev/backend-green rollout not observed yet (generation 3, observed 2)",
        ),
        (
            dict(replicas=0, updated=0, available=0),
            "Deployment bluegreen-dev/backend-green has 0 replicas: no pod would serve",
        ),
    ],
)
def test_a_deployment_not_fully_rolled_out_fails(api: kube.FakeKubeApi, deployment: Any, reason: str) -> None:
    api.cluster.deployments["backend-green"] = kube.deployment("backend-green", "green", **deployment)

    assert failure(api) == PREFIX + reason + SUFFIX


def test_too_few_ready_endpoints_fail(api: kube.FakeKubeApi) -> None:
    api.cluster.slices = [kube.endpoint_slice(PREVIEW, [kube.endpoint(1), kube.endpoint(2, ready=False)])]

    assert (
        failure(api)
        == PREFIX
        + ("Service bluegreen-dev/backend-preview has 1 ready endpoint(s) for green on port http, needs 2")
        + SUFFIX
    )


def test_endpoints_without_the_http_port_do_not_count(api: kube.FakeKubeApi) -> None:
    api.cluster.slices = [kube.endpoint_slice(PREVIEW, [kube.endpoint(1), kube.endpoint(2)], port_name="metrics")]

    assert "has 0 ready endpoint(s) for green on port http, needs 2" in failure(api)


def test_an_endpoint_without_a_ready_condition_counts_as_ready(api: kube.FakeKubeApi) -> None:
    api.cluster.slices = [kube.endpoint_slice(PREVIEW, [kube.endpoint(1, ready=None), kube.endpoint(2)])]

    assert run(api)[1] == "Service bluegreen-dev/backend-preview: 2 ready endpoint(s) for green"


def test_a_preview_service_on_the_wrong_color_fails(api: kube.FakeKubeApi) -> None:
    api.cluster.services[PREVIEW] = kube.service(PREVIEW, "blue")

    assert (
        failure(api)
        == PREFIX
        + (
            "Service bluegreen-dev/backend-preview selects {'app': 'backend', 'color': 'blue'}, not "
            "{'app': 'backend', 'color': 'green'}: cannot see green's endpoints"
        )
        + SUFFIX
    )


def test_a_smoke_check_answering_500_fails(api: kube.FakeKubeApi) -> None:
    api.cluster.proxy[f"{PREVIEW}:http/proxy/healthz"] = (500, "database unreachable")

    assert (
        failure(api, "/healthz")
        == PREFIX
        + (
            "smoke check GET /healthz via Service bluegreen-dev/backend-preview:http answered HTTP 500 "
            "Internal Server Error: database unreachable"
        )
        + SUFFIX
    )


def test_a_smoke_path_with_a_query_is_refused(api: kube.FakeKubeApi) -> None:
    assert "smokePath '/healthz?full=1' must be a plain path, without a query or fragment" in failure(
        api, "/healthz?full=1"
    )


def test_a_missing_deployment_fails_with_the_api_servers_answer(api: kube.FakeKubeApi) -> None:
    del api.cluster.deployments["backend-green"]

    assert "GET Deployment bluegreen-dev/backend-green answered HTTP 404 Not Found" in failure(api)


def test_an_unreachable_api_server_fails(api: kube.FakeKubeApi) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"

    message = failure(api, kubeconfig=kube.kubeconfig(closed))

    assert message.startswith(
        PREFIX + "cannot reach the Kubernetes API server (GET Deployment bluegreen-dev/backend-green): "
    )
    assert message.endswith(SUFFIX)
    assert api.cluster.requests == []


def test_the_context_named_in_stack_config_is_used_not_the_current_one(api: kube.FakeKubeApi) -> None:
    config = kube.kubeconfig("http://127.0.0.1:9", current="other", extra_server="http://127.0.0.1:9")

    assert (
        len(
            run(
                api,
                kubeconfig=kube.kubeconfig(api.url, current="other", extra_server="http://127.0.0.1:9"),
                context="kind-bluegreen",
            )
        )
        == 2
    )
    assert "cannot reach the Kubernetes API server" in failure(api, kubeconfig=config)


def test_the_cluster_override_replaces_the_contexts_cluster(api: kube.FakeKubeApi) -> None:
    config = kube.kubeconfig("http://127.0.0.1:9", extra_server=api.url)

    assert len(run(api, kubeconfig=config, cluster="other")) == 2


def test_a_kubeconfig_path_and_the_kubeconfig_variable_are_read(api: kube.FakeKubeApi, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(kube.kubeconfig(api.url))

    assert len(run(api, kubeconfig=str(path))) == 2
    from_env = gate.run_gate(
        app(), kube.NAMESPACE, gate.KubeAccess(), *BLUE_TO_GREEN, environ={"KUBECONFIG": str(path)}
    )
    assert len(from_env) == 2


def test_no_kubeconfig_outside_a_pod_fails_clearly(tmp_path: Path) -> None:
    environ = {"KUBECONFIG": str(tmp_path / "missing")}

    with pytest.raises(gate.GateError) as raised:
        gate.run_gate(app(), kube.NAMESPACE, gate.KubeAccess(), *BLUE_TO_GREEN, environ=environ)

    assert (
        str(raised.value)
        == PREFIX
        + ("no kubeconfig found (kubernetes:kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a pod")
        + SUFFIX
    )


def test_selector_color_reads_the_hooks_inputs() -> None:
    assert gate.selector_color({"spec": {"selector": {"app": "backend", "color": "green"}}}) == "green"
    assert gate.selector_color({"spec": {}}) is None
    assert gate.selector_color(None) is None


def test_importing_the_gate_does_not_import_the_kubernetes_client() -> None:
    code = "import sys, components.gate; print('kubernetes' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"
