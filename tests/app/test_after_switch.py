"""After the selector moved: the Service's endpoints confirmed, then the old color's pods replaced one at a time.

Against the stand-in API server (tests/fakes/kube_api.py): the real `kubernetes` client makes every call. The
same hook ran on the real node (e2e/test_traffic.py), where a keep-alive client moved to the new color 6.9 s
after the switch with 0 failed requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bluegreen.app import after_switch, gate
from tests.app.test_gate import BLUE_TO_GREEN, app
from tests.fakes import kube_api as kube

BLUE_PODS = ["backend-blue-7d9f8c6b5-00001", "backend-blue-7d9f8c6b5-00002"]
EVICT = "POST /api/v1/namespaces/bluegreen-dev/pods/{}/eviction"
SLICES = (
    "GET /apis/discovery.k8s.io/v1/namespaces/bluegreen-dev/endpointslices"
    "?labelSelector=kubernetes.io/service-name=backend"
)


def switched_cluster() -> kube.Cluster:
    """The selector was just written to green; both colors run two Ready pods."""
    return kube.Cluster(
        deployments={
            "backend-blue": kube.deployment("backend-blue", "blue"),
            "backend-green": kube.deployment("backend-green", "green"),
        },
        services={
            "backend": kube.service("backend", "green"),
            "backend-preview": kube.service("backend-preview", "blue"),
        },
        pods=[kube.pod("blue", 1), kube.pod("blue", 2), kube.pod("green", 1), kube.pod("green", 2)],
    )


@pytest.fixture
def cluster() -> Iterator[tuple[kube.Cluster, str]]:
    state = switched_cluster()
    served = kube.serve(state)
    api = next(served)
    yield state, kube.kubeconfig(api.url)
    served.close()


class Seen:
    def __init__(self) -> None:
        self.info: list[str] = []
        self.warnings: list[str] = []
        self.waits: list[float] = []


def run(cluster: tuple[kube.Cluster, str], *inputs: object, **changes: object) -> Seen:
    """The hook's body for `app()` with `changes`, on a switch from blue to green unless `inputs` (old, new) say."""
    seen = Seen()
    old, new = inputs or BLUE_TO_GREEN
    settings = replace(app(), **changes)  # type: ignore[arg-type]
    after_switch.after_switch(
        settings,
        kube.NAMESPACE,
        gate.KubeAccess(kubeconfig=cluster[1]),
        old,  # type: ignore[arg-type]
        new,  # type: ignore[arg-type]
        seen.info.append,
        seen.warnings.append,
        seen.waits.append,
        clock=lambda: 100.0,  # no time passes: the whole delay is still to wait
    )
    return seen


def test_a_switch_is_confirmed_then_the_old_colors_pods_are_evicted_one_at_a_time_after_the_delay(
    cluster: tuple[kube.Cluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = cluster
    monkeypatch.setattr(after_switch, "EVICTION_RETRY_SECONDS", 0.05)
    seen = run(cluster, scale_down_delay_seconds=7)

    assert re.fullmatch(
        r"after the switch: Service bluegreen-dev/backend sends traffic to 2 Ready green pod\(s\), none of blue, "
        r"\d+\.\ds after the write",
        seen.info[0],
    )
    assert seen.info[1] == (
        "after the switch: waiting scaleDownDelaySeconds (7s from the switch) before replacing blue's pods, so every "
        "node routes to green first"
    )
    assert re.fullmatch(
        r"after the switch: replaced the 2 pod\(s\) of blue \(bluegreen-dev/backend-blue\) one at a time in "
        r"\d+\.\ds: keep-alive clients reconnected to green; blue is Available for a rollback",
        seen.info[2],
    )
    assert (seen.waits, seen.warnings) == ([7], [])
    evictions = [r for r in state.requests if r.startswith("POST")]
    # The first pod at once; the second refused (429) while the first one's replacement starts, then evicted.
    assert evictions[0] == EVICT.format(BLUE_PODS[0])
    assert evictions[1:] == [EVICT.format(BLUE_PODS[1])] * (len(evictions) - 1) and len(evictions) >= 3
    blue = sorted(p["metadata"]["name"] for p in state.pods if p["metadata"]["labels"]["color"] == "blue")
    assert blue == ["backend-blue-7d9f8c6b5-00003", "backend-blue-7d9f8c6b5-00004"]


def test_the_check_waits_for_the_endpoint_controller_to_catch_up(cluster: tuple[kube.Cluster, str]) -> None:
    state, _ = cluster
    state.stale_endpoints["backend"] = (3, BLUE_PODS)  # three reads still list blue

    seen = run(cluster, recycle_old_pods=False)

    assert seen.info[0].startswith("after the switch: Service bluegreen-dev/backend sends traffic to 2 Ready green")
    assert state.requests.count(SLICES) == 4


def test_a_service_that_sends_traffic_nowhere_fails_the_update_with_the_command_that_switches_back(
    cluster: tuple[kube.Cluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = cluster
    monkeypatch.setattr(after_switch, "ENDPOINTS_TIMEOUT_SECONDS", 0.3)
    state.pods = [p for p in state.pods if p["metadata"]["labels"]["color"] == "blue"] + [
        kube.pod("green", 1, ready=False),
        kube.pod("green", 2, ready=False),
    ]

    with pytest.raises(after_switch.TrafficError) as raised:
        run(cluster)

    assert str(raised.value).startswith(
        "after the switch: backend: 0s after the selector moved to green, Service bluegreen-dev/backend lists 0 of "
        "0 Ready green pod(s) as endpoints. Traffic has moved to green (the selector is written); switch back with: "
        "bgctl rollback --now --stack "
    )
    assert not any(r.startswith("POST") for r in state.requests)


@pytest.mark.parametrize(
    "changes",
    [{"recycle_old_pods": False}, {"idle_replicas": 0}],
    ids=["recycleOldPods false", "idleReplicas 0 (the old color shrinks instead)"],
)
def test_no_pod_is_replaced_when_the_app_does_not_ask_or_the_old_color_shrinks(
    cluster: tuple[kube.Cluster, str], changes: dict[str, object]
) -> None:
    state, _ = cluster
    seen = run(cluster, **changes)
    assert len(seen.info) == 1 and seen.waits == []
    assert not any(r.startswith("POST") for r in state.requests)


def test_an_update_that_keeps_the_selector_asks_the_cluster_nothing(cluster: tuple[kube.Cluster, str]) -> None:
    state, _ = cluster
    seen = run(cluster, BLUE_TO_GREEN[1], BLUE_TO_GREEN[1])
    assert (seen.info, state.requests) == ([], [])


def test_pods_that_cannot_be_replaced_in_time_are_a_warning_with_the_command_to_finish(
    cluster: tuple[kube.Cluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = cluster
    state.refuse_evictions = 10_000
    monkeypatch.setattr(after_switch, "RECYCLE_SECONDS_PER_POD", 0.2)
    monkeypatch.setattr(after_switch, "EVICTION_RETRY_SECONDS", 0.05)

    seen = run(cluster, scale_down_delay_seconds=0)

    assert seen.info[-1] == "after the switch: replaced 0 of 2 pod(s) of blue (bluegreen-dev/backend-blue)"
    assert seen.warnings == [
        "backend: blue was not replaced within 0s; keep-alive clients of "
        f"{', '.join(BLUE_PODS)} may still reach blue. Traffic has moved to green. Finish by hand: kubectl "
        f"--namespace bluegreen-dev delete pod {' '.join(BLUE_PODS)}"
    ]
