"""The verification window after a switch: its logic against recorded answers and pod readings, then the hook
against the stand-in API server (every call made by the real `kubernetes` client)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import pytest

from bluegreen.app import after_switch, gate, verify
from bluegreen.app.verify import PodReading, Window
from tests.app.test_after_switch import switched_cluster
from tests.app.test_gate import BLUE_TO_GREEN, app
from tests.fakes import kube_api as kube

GREEN = [PodReading("backend-green-1", True, 0), PodReading("backend-green-2", True, 0)]
SERVICE = "bluegreen-dev/backend"


def window(seconds: int = 30, percent: int = 99) -> Window:
    return Window("green", seconds, percent, "/", SERVICE)


class Clock:
    """Time that moves only when the window sleeps: the window's pacing, without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def recorded(answers: Iterable[int | None], pods: Iterable[list[PodReading]] = (GREEN,)) -> verify.Cluster:
    """Answers and pod readings in the order given; the last of each again once they run out."""
    answer_list, pod_list = list(answers), list(pods)

    def ask() -> int | None:
        return answer_list.pop(0) if len(answer_list) > 1 else answer_list[0]

    def read_pods() -> tuple[list[PodReading], int]:
        return (pod_list.pop(0) if len(pod_list) > 1 else pod_list[0]), 2

    return verify.Cluster(ask, read_pods)


def run(seen: Window, cluster: verify.Cluster) -> tuple[float, list[str]]:
    clock, progress = Clock(), list[str]()
    elapsed = verify.watch(seen, cluster, clock, clock.sleep, progress.append)
    return elapsed, progress


def test_a_window_of_good_answers_passes_after_its_whole_length_at_ten_requests_a_second() -> None:
    seen = window(seconds=30)

    elapsed, progress = run(seen, recorded([200]))

    assert (seen.problem, seen.requests, seen.failed, elapsed) == (None, 300, 0, 30.0)
    assert progress == [
        "verification of green: 100 of 100 requests 2xx, 2 pod(s) Ready, 10s of 30s",
        "verification of green: 200 of 200 requests 2xx, 2 pod(s) Ready, 20s of 30s",
    ]
    assert seen.line("1.3", elapsed) == (
        "verification of green (1.3) passed: 300 of 300 requests to / through Service bluegreen-dev/backend answered "
        "2xx (at least 99% needed) in 30.0s; its 2 pod(s) stayed Ready with no restart"
    )


def test_failures_within_the_allowance_pass_and_the_first_one_beyond_it_fails_the_window_at_once() -> None:
    # 99% of 300 planned requests: 3 may fail.
    passing = window()
    run(passing, recorded([500, 200, 503, None, *[200] * 5]))
    assert (passing.problem, passing.failed, passing.allowed) == (None, 3, 3)

    failing = window()
    elapsed, _ = run(failing, recorded([200, 500, 500, 200, 500, 500, 200]))
    assert (failing.requests, failing.failed) == (6, 4)
    assert elapsed == pytest.approx(0.5)
    assert failing.line("1.3", elapsed) == (
        "verification of green (1.3) failed 0.5s after the switch: 4 of 6 requests to / through Service "
        "bluegreen-dev/backend failed (HTTP 500 x4): verifySuccessPercent 99 allows 3 of the window's 300"
    )


def test_a_version_that_answers_500_fails_on_the_first_request_when_the_window_allows_no_failure() -> None:
    seen = window(seconds=5, percent=99)  # 50 planned: 99% of them allows none

    elapsed, _ = run(seen, recorded([500]))

    assert (seen.allowed, seen.requests, seen.failed, elapsed) == (0, 1, 1, 0.0)
    assert seen.problem is not None and seen.problem.startswith("1 of 1 requests to / through Service")


def test_no_answer_counts_as_a_failure_and_says_so() -> None:
    seen = window(seconds=1, percent=90)  # 10 planned, 1 may fail

    run(seen, recorded([None, None]))

    assert seen.problem == (
        "2 of 2 requests to / through Service bluegreen-dev/backend failed (no answer x2): verifySuccessPercent 90 "
        "allows 1 of the window's 10"
    )


@pytest.mark.parametrize(
    ("later", "problem"),
    [
        (
            [PodReading("backend-green-1", False, 0), GREEN[1]],
            "pod backend-green-1 of green is not Ready",
        ),
        (
            [PodReading("backend-green-1", True, 1), GREEN[1]],
            "a container of pod backend-green-1 (green) restarted (0 -> 1)",
        ),
        ([GREEN[1]], "pod backend-green-1 of green is gone"),
        (
            [*GREEN, PodReading("backend-green-3", True, 0)],
            "pod backend-green-3 of green appeared during the window (a pod was replaced)",
        ),
    ],
    ids=["not Ready", "restarted", "gone", "replaced"],
)
def test_a_pod_that_stops_being_ready_restarts_or_is_replaced_fails_the_window_at_its_next_reading(
    later: list[PodReading], problem: str
) -> None:
    seen = window()

    elapsed, _ = run(seen, recorded([200], [GREEN, GREEN, later]))

    assert seen.problem == problem
    assert elapsed == pytest.approx(2.0)  # read at 0 s, 1 s, then the bad reading at 2 s
    assert seen.failed == 0


def test_fewer_ready_pods_than_the_deployment_wants_fails_the_window() -> None:
    seen = window()

    run(seen, recorded([200], [[GREEN[0]]]))

    assert seen.problem == "1 of 2 pod(s) of green are Ready"


def test_a_window_whose_requests_never_finished_fails_at_its_end() -> None:
    seen = Window("green", 0, 99, "/", SERVICE)

    run(seen, recorded([200]))

    assert seen.problem == "no request to / through Service bluegreen-dev/backend finished within the window"


# The hook, against the stand-in API server.


@pytest.fixture
def cluster() -> Iterator[tuple[kube.Cluster, str]]:
    state = switched_cluster()
    for index in (1, 2):
        state.proxy[f"backend-green-7d9f8c6b5-{index:05d}:5678/proxy/"] = (200, "backend 1.2 (green)\n")
    served = kube.serve(state)
    api = next(served)
    yield state, kube.kubeconfig(api.url)
    served.close()


def hook(cluster: tuple[kube.Cluster, str], **changes: object) -> tuple[list[str], list[float]]:
    info: list[str] = []
    waits: list[float] = []
    settings = replace(app(), **changes)  # type: ignore[arg-type]
    old, new = BLUE_TO_GREEN
    after_switch.after_switch(
        settings,
        kube.NAMESPACE,
        gate.KubeAccess(kubeconfig=cluster[1]),
        old,
        new,
        info.append,
        info.append,
        waits.append,
    )
    return info, waits


def test_the_hook_verifies_through_the_service_proxy_before_it_replaces_the_old_pods(
    cluster: tuple[kube.Cluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = cluster
    monkeypatch.setattr(after_switch, "EVICTION_RETRY_SECONDS", 0.05)

    info, waits = hook(cluster, verify_seconds=1, scale_down_delay_seconds=0)

    assert info[1] == (
        "verification of green (1.2): watching it for 1s: GET / through Service bluegreen-dev/backend, 10 a second, "
        "at least 99% 2xx; its pods Ready, no restart"
    )
    assert info[2].startswith(
        "verification of green (1.2) passed: 10 of 10 requests to / through Service bluegreen-dev/backend answered "
        "2xx (at least 99% needed) in 1."
    )
    proxied = [r for r in state.requests if "/services/backend:http/proxy/" in r]
    evictions = [i for i, r in enumerate(state.requests) if r.startswith("POST")]
    assert len(proxied) == 10
    # Both green pods answered (the proxy picks the Service's endpoints in turn), and no old pod was touched
    # before the window ended.
    assert state.proxied == 10
    assert evictions and min(evictions) > max(i for i, r in enumerate(state.requests) if "/proxy/" in r)
    assert waits == []


def test_a_failed_window_fails_the_hook_with_the_one_command_that_switches_back_and_touches_no_old_pod(
    cluster: tuple[kube.Cluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = cluster
    monkeypatch.setattr("pulumi.get_stack", lambda: "dev")
    for index in (1, 2):
        state.proxy[f"backend-green-7d9f8c6b5-{index:05d}:5678/proxy/"] = (500, "boom\n")

    with pytest.raises(after_switch.VerificationError) as raised:
        hook(cluster, verify_seconds=30)

    assert str(raised.value).startswith("verification of green (1.2) failed 0.") and str(raised.value).endswith(
        "s after the switch: 4 of 4 requests to / through Service bluegreen-dev/backend failed (HTTP 500 x4): "
        "verifySuccessPercent 99 allows 3 of the window's 300. Traffic IS on green (the selector is written) and "
        "blue still runs: switch back with: bgctl rollback --now --stack dev --app backend --yes"
    )
    assert not any(r.startswith("POST") for r in state.requests)


def test_without_verify_seconds_the_hook_sends_no_request_through_the_service(
    cluster: tuple[kube.Cluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = cluster
    monkeypatch.setattr(after_switch, "EVICTION_RETRY_SECONDS", 0.05)

    hook(cluster, scale_down_delay_seconds=0)

    assert not any("/proxy/" in r for r in state.requests)
