"""The pre-switch gate against a stand-in API server: the real `kubernetes` client makes every call."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluegreen.app import gate
from bluegreen.config.stack import AppSettings, ColorSettings
from bluegreen.naming import Color
from tests.conftest import ROOT
from tests.fakes import kube_api as kube

PREVIEW = "backend-preview"
ACTIVE = "backend"
BLUE_TO_GREEN = (
    {"spec": {"selector": {"app": "backend", "color": "blue"}}},
    {"spec": {"selector": {"app": "backend", "color": "green"}}},
)
GREEN_TO_BLUE = (BLUE_TO_GREEN[1], BLUE_TO_GREEN[0])
GREEN_1 = "backend-green-7d9f8c6b5-00001"
GREEN_2 = "backend-green-7d9f8c6b5-00002"
GREEN_3 = "backend-green-7d9f8c6b5-00003"
BLUE_1 = "backend-blue-7d9f8c6b5-00001"


def app(smoke_path: str | None = None, active_color: Color = "green") -> AppSettings:
    """The app as the program sees it during a cutover: the target is already the active color."""
    return AppSettings(
        name="backend",
        active_color=active_color,
        blue=ColorSettings("hashicorp/http-echo:1.0.0", "1.1", 2),
        green=ColorSettings("hashicorp/http-echo:1.0.0", "1.2", 2),
        container_port=5678,
        service_port=80,
        service_type="ClusterIP",
        readiness_path="/",
        smoke_path=smoke_path,
    )


def ready_cluster() -> kube.Cluster:
    """Blue serves, green is rolled out and ready; the preview Service selects green, the target."""
    return kube.Cluster(
        deployments={
            "backend-blue": kube.deployment("backend-blue", "blue"),
            "backend-green": kube.deployment("backend-green", "green"),
        },
        services={ACTIVE: kube.service(ACTIVE, "blue"), PREVIEW: kube.service(PREVIEW, "green")},
        pods=[kube.pod("blue", 1), kube.pod("blue", 2), kube.pod("green", 1), kube.pod("green", 2)],
        proxy={
            f"{BLUE_1}:5678/proxy/healthz": (200, "backend 1.1 (blue)\n"),
            f"{GREEN_1}:5678/proxy/healthz": (200, "backend 1.2 (green)\n"),
        },
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
        "green: 2 Ready pod(s) not terminating in bluegreen-dev (app=backend,color=green)",
        f"smoke check GET /healthz via Pod bluegreen-dev/{GREEN_1}:5678: HTTP 200",
    ]
    assert api.cluster.requests == [
        "GET /apis/apps/v1/namespaces/bluegreen-dev/deployments/backend-green",
        "GET /api/v1/namespaces/bluegreen-dev/pods?labelSelector=app=backend,color=green",
        f"GET /api/v1/namespaces/bluegreen-dev/pods/{GREEN_1}:5678/proxy/healthz",
    ]


def test_without_smoke_path_no_http_check_is_made(api: kube.FakeKubeApi) -> None:
    run(api)

    assert not [r for r in api.cluster.requests if "/proxy" in r]


def test_a_nested_smoke_path_keeps_its_slashes(api: kube.FakeKubeApi) -> None:
    api.cluster.proxy[f"{GREEN_1}:5678/proxy/api/v1/health"] = (204, "")

    assert run(api, "/api/v1/health")[-1] == (
        f"smoke check GET /api/v1/health via Pod bluegreen-dev/{GREEN_1}:5678: HTTP 204"
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


TOO_FEW_READY = "green has 1 Ready pod(s) not terminating in bluegreen-dev (app=backend,color=green), needs 2"


def test_too_few_ready_pods_fail(api: kube.FakeKubeApi) -> None:
    api.cluster.pods[3] = kube.pod("green", 2, ready=False)

    assert failure(api) == PREFIX + TOO_FEW_READY + SUFFIX


def test_a_terminating_pod_does_not_count_even_while_still_ready(api: kube.FakeKubeApi) -> None:
    api.cluster.pods[3] = kube.pod("green", 2, terminating=True)

    assert failure(api) == PREFIX + TOO_FEW_READY + SUFFIX


def test_a_pod_without_conditions_does_not_count(api: kube.FakeKubeApi) -> None:
    pending = kube.pod("green", 2)
    pending["status"] = {"phase": "Pending"}
    api.cluster.pods[3] = pending

    assert failure(api) == PREFIX + TOO_FEW_READY + SUFFIX


def test_ready_pods_of_the_other_color_or_another_app_do_not_count(api: kube.FakeKubeApi) -> None:
    api.cluster.pods = [
        kube.pod("blue", 1),
        kube.pod("blue", 2),
        kube.pod("green", 1),
        kube.pod("green", 2, app="other"),
    ]

    assert failure(api) == PREFIX + TOO_FEW_READY + SUFFIX


def test_a_rollback_passes_while_the_preview_service_still_selects_the_new_color(api: kube.FakeKubeApi) -> None:
    # A cutover to green failed after the active Service moved: both Services select green. Rolling
    # back to a ready blue must pass, judged by blue's own pods and not by the stale preview Service.
    api.cluster.services = {ACTIVE: kube.service(ACTIVE, "green"), PREVIEW: kube.service(PREVIEW, "green")}
    access = gate.KubeAccess(kubeconfig=kube.kubeconfig(api.url))

    passed = gate.run_gate(app("/healthz", "blue"), kube.NAMESPACE, access, *GREEN_TO_BLUE, environ={})

    assert passed == [
        "Deployment bluegreen-dev/backend-blue: 2/2 replicas updated and available",
        "blue: 2 Ready pod(s) not terminating in bluegreen-dev (app=backend,color=blue)",
        f"smoke check GET /healthz via Pod bluegreen-dev/{BLUE_1}:5678: HTTP 200",
    ]
    assert api.cluster.requests == [
        "GET /apis/apps/v1/namespaces/bluegreen-dev/deployments/backend-blue",
        "GET /api/v1/namespaces/bluegreen-dev/pods?labelSelector=app=backend,color=blue",
        f"GET /api/v1/namespaces/bluegreen-dev/pods/{BLUE_1}:5678/proxy/healthz",
    ]


def test_the_smoke_check_goes_to_the_first_ready_pod_by_name(api: kube.FakeKubeApi) -> None:
    api.cluster.pods = [kube.pod("green", 3), kube.pod("green", 1, ready=False), kube.pod("green", 2)]
    api.cluster.proxy[f"{GREEN_2}:5678/proxy/healthz"] = (200, "ok")

    assert run(api, "/healthz")[-1] == f"smoke check GET /healthz via Pod bluegreen-dev/{GREEN_2}:5678: HTTP 200"
    assert api.cluster.requests[-1] == f"GET /api/v1/namespaces/bluegreen-dev/pods/{GREEN_2}:5678/proxy/healthz"
    assert GREEN_3 not in api.cluster.requests[-1]


def test_a_pod_without_a_port_named_http_fails_the_smoke_check(api: kube.FakeKubeApi) -> None:
    api.cluster.pods = [kube.pod("green", 1, port_name="web"), kube.pod("green", 2, port_name="web")]

    assert failure(api, "/healthz") == PREFIX + f"Pod bluegreen-dev/{GREEN_1} has no container port named http" + SUFFIX
    assert not [r for r in api.cluster.requests if "/proxy" in r]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "image/png"), (b"\xff\xfe\xfd", "application/octet-stream"), (b"", "")],
    ids=["image", "binary", "no-type"],
)
def test_any_2xx_passes_the_smoke_check_whatever_its_body(
    api: kube.FakeKubeApi, body: bytes, content_type: str
) -> None:
    api.cluster.proxy[f"{GREEN_1}:5678/proxy/healthz"] = (200, body, content_type)
    assert run(api, "/healthz")[-1] == f"smoke check GET /healthz via Pod bluegreen-dev/{GREEN_1}:5678: HTTP 200"


def test_a_smoke_check_answering_500_fails(api: kube.FakeKubeApi) -> None:
    api.cluster.proxy[f"{GREEN_1}:5678/proxy/healthz"] = (500, "database unreachable")

    assert (
        failure(api, "/healthz")
        == PREFIX
        + (
            f"smoke check GET /healthz via Pod bluegreen-dev/{GREEN_1}:5678 answered HTTP 500 "
            "Internal Server Error: database unreachable"
        )
        + SUFFIX
    )


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/healthz?full=1", "must be a plain path, without a query ('?') or fragment ('#')"),
        ("/../../../api/v1/secrets", "must not contain a '.' or '..' segment, escaped or not"),
    ],
)
def test_a_smoke_path_that_could_leave_the_pod_proxy_is_refused(api: kube.FakeKubeApi, path: str, why: str) -> None:
    assert f"smokePath {path!r} {why}" in failure(api, path)


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
    code = "import sys, bluegreen.app.gate; print('kubernetes' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"
