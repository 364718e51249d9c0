"""On the real node: what the Service's clients see at every switch, measured by a probe pod in the cluster.

The probe (e2e/traffic.py) calls the backend by its DNS name through kube-proxy from a pod the
NetworkPolicy admits, with a new connection per request and with keep-alive, 20 requests a second
each. A watch stamps the moment the selector moved; every case reports requests sent and failed, when
the new color first answered and the old one last answered, relative to that moment. The cases, in
order on one stack: keep-alive clients without and with recycleOldPods, a cutover with `pulumi up`,
`make cutover`, `make rollback`, a cutover with `idleReplicas: 0`, one the gate refuses, and a
negative control (the serving color shrunk by hand before the switch) that must fail requests.
The table goes to .e2e/traffic.md, each case's picture to .e2e/traffic-<case>.png.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Final

import pytest

from e2e import cluster, traffic
from e2e.conftest import Done, Shell
from e2e.env import STATE_DIR
from e2e.project import Project, on_the_real_node, tear_down
from e2e.watch import Watch

pytestmark = pytest.mark.skipif(
    not cluster.is_real(), reason="needs the real node: make e2e (or make cluster NODE=real)"
)

NAMESPACE: Final = traffic.NAMESPACE
APP: Final = traffic.APP
DELAY_SECONDS: Final = 5
"""scaleDownDelaySeconds here: the wait before the old color's pods are replaced (or it shrinks)."""
BEFORE_SECONDS: Final = 2
AFTER_SECONDS: Final = 8
KEEPALIVE_BOUND_SECONDS: Final = 40
"""The documented bound for keep-alive clients to reach the new color, with 2 replicas and this delay:
scaleDownDelaySeconds + per pod (eviction, replacement Ready) + preStop 5 s + the server's shutdown."""
_rows: list[str] = []


@pytest.fixture(scope="module")
def project(shell: Shell) -> Iterator[Project]:
    work = on_the_real_node(shell, "traffic")
    work.pulumi("config", "set", "bluegreen:scaleDownDelaySeconds", str(DELAY_SECONDS))
    work.make("up", "YES=1")
    wait_available(shell, "blue")
    wait_available(shell, "green")
    yield work
    tear_down(work)
    (STATE_DIR / "traffic.md").write_text(traffic.TABLE_HEADER + "\n" + "\n".join(_rows) + "\n")


def deployment(shell: Shell, color: str) -> dict[str, object]:
    found: dict[str, object] = shell.kubectl_json("get", "deployment", f"{APP}-{color}", "--namespace", NAMESPACE)
    return found


def wait_available(shell: Shell, color: str, replicas: int = 2) -> None:
    shell.run(["kubectl", "rollout", "status", f"deployment/{APP}-{color}", "--namespace", NAMESPACE, "--timeout=120s"])
    status = deployment(shell, color)["status"]
    assert isinstance(status, dict) and status.get("availableReplicas") == replicas, status


selector_color = traffic.selector_color


def set_fault(shell: Shell, color: str, query: str | None) -> None:
    """Every pod of `color` answers with a fault (query like status=500), or normally again (None)."""
    pods = shell.kubectl_json("get", "pods", "--namespace", NAMESPACE, "-l", f"app={APP},color={color}")["items"]
    for item in pods:
        url = f"http://{item['status']['podIP']}:5678/fault" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, method="PUT" if query else "DELETE")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200


def measured(
    shell: Shell, case: str, old: str, new: str, action: Callable[[], Done | None], after: float = AFTER_SECONDS
) -> tuple[Done | None, dict[str, traffic.Outcome], float | None]:
    """Run `action` with the probe sending; return its result, each mode's outcome and the switch's Unix time."""
    with (
        Watch(cluster.KUBECONFIG, NAMESPACE) as watch,
        traffic.running(shell) as probe,
    ):
        time.sleep(BEFORE_SECONDS)
        started = time.monotonic()
        done = action()
        ended = time.monotonic()
        time.sleep(after)
    moved = watch.first(lambda e: e.kind == "Service" and e.name == APP and e.selector == new, after=started)
    switched = None if moved is None else traffic.unix(moved)
    outcomes = {mode: traffic.outcome(probe.stream(mode), switched, old, new) for mode in traffic.MODES}
    marks = {"command starts": traffic.unix(started), "command ends": traffic.unix(ended)}
    if switched is not None:
        marks["selector written"] = switched
    traffic.plot(
        [probe.stream(mode) for mode in traffic.MODES],
        marks,
        STATE_DIR / f"traffic-{case}.png",
        f"{case}: {old} -> {new}",
    )
    _rows.extend(outcome.row(case) for outcome in outcomes.values())
    print("\n" + "\n".join(outcome.row(case) for outcome in outcomes.values()), flush=True)
    return done, outcomes, switched


def test_without_recycling_a_keepalive_client_stays_on_the_old_color_after_a_pulumi_up_cutover(
    shell: Shell, project: Project
) -> None:
    project.pulumi("config", "set", "bluegreen:recycleOldPods", "false")

    def cut_over() -> Done:
        return project.pulumi("up", "--yes", "--skip-preview", "--config", "bluegreen:activeColor=green")

    done, seen, switched = measured(shell, "pulumi-up-no-recycle", "blue", "green", cut_over)
    assert done is not None and switched is not None
    fresh, keepalive = seen["fresh"], seen["keepalive"]
    assert (fresh.failed, keepalive.failed) == (0, 0), (fresh.failures, keepalive.failures)
    assert fresh.colors == ["blue", "green"]
    assert fresh.moved_s is not None and 0 <= fresh.moved_s < 1.0
    # The old color keeps running, so the open connection never moves: only blue answers it.
    assert keepalive.colors == ["blue"]
    assert keepalive.old_last_s is not None and keepalive.old_last_s > AFTER_SECONDS
    assert "after the switch: Service bluegreen-dev/backend sends traffic to 2 Ready green pod(s)" in done.output
    assert "replaced the" not in done.output
    project.pulumi("config", "rm", "bluegreen:recycleOldPods")


def test_with_recycling_keepalive_clients_follow_a_make_cutover_within_the_bound_and_none_fail(
    shell: Shell, project: Project
) -> None:
    done, seen, switched = measured(
        shell, "make-cutover", "green", "blue", lambda: project.make("cutover", "COLOR=blue", "YES=1")
    )
    assert done is not None and switched is not None
    fresh, keepalive = seen["fresh"], seen["keepalive"]
    assert (fresh.failed, keepalive.failed) == (0, 0), (fresh.failures, keepalive.failures)
    assert fresh.colors == ["green", "blue"]
    assert fresh.moved_s is not None and 0 <= fresh.moved_s < 1.0
    assert keepalive.colors[-1] == "blue"
    assert keepalive.old_last_s is not None and DELAY_SECONDS <= keepalive.old_last_s <= KEEPALIVE_BOUND_SECONDS
    assert "replaced the 2 pod(s) of green (bluegreen-dev/backend-green) one at a time" in done.output
    # The old color is back at full size and Available when the command ends: a rollback stays instant.
    status = deployment(shell, "green")["status"]
    assert isinstance(status, dict) and status.get("availableReplicas") == 2


def test_make_rollback_under_traffic_drops_nothing(shell: Shell, project: Project) -> None:
    _, seen, switched = measured(shell, "make-rollback", "blue", "green", lambda: project.make("rollback", "YES=1"))
    assert switched is not None and selector_color(shell) == "green"
    for outcome in seen.values():
        assert outcome.failed == 0, outcome.failures
        assert outcome.colors[-1] == "green"
    assert seen["fresh"].moved_s is not None and 0 <= seen["fresh"].moved_s < 1.0


def test_make_rollback_now_writes_the_selector_first_then_records_it_and_the_next_cutover_has_no_conflict(
    shell: Shell, project: Project
) -> None:
    history_before = len(project.history())
    done, seen, switched = measured(
        shell, "make-rollback-now", "green", "blue", lambda: project.make("rollback", "NOW=1", "YES=1")
    )
    assert done is not None and switched is not None
    for outcome in seen.values():
        assert outcome.failed == 0, outcome.failures
        assert outcome.colors[-1] == "blue"
    assert "traffic moved: Service bluegreen-dev/backend selects blue at " in done.output
    assert selector_color(shell) == "blue" == project.pulumi("config", "get", "bluegreen:activeColor").stdout.strip()
    newest = project.history()[0]
    assert len(project.history()) == history_before + 1 and newest["result"] == "succeeded"
    assert newest["message"].startswith("bgctl rollback --now to v")
    # The selector's field manager is now bgctl as well: the next cutover's apply must not conflict on it.
    back = project.make("cutover", "COLOR=green", "YES=1")
    assert "conflict" not in back.output.lower()
    assert selector_color(shell) == "green"


def test_a_cutover_with_idle_replicas_zero_scales_up_switches_and_shrinks_without_a_failed_request(
    shell: Shell, project: Project
) -> None:
    project.pulumi("config", "set", "bluegreen:idleReplicas", "0")
    project.make("up", "YES=1")  # blue, idle now, shrinks to 0
    _, seen, switched = measured(
        shell, "idle-replicas-0", "green", "blue", lambda: project.make("cutover", "COLOR=blue", "YES=1")
    )
    assert switched is not None
    for outcome in seen.values():
        assert outcome.failed == 0, outcome.failures
        assert outcome.colors == ["green", "blue"]
    spec = deployment(shell, "green")["spec"]
    assert isinstance(spec, dict) and spec["replicas"] == 0
    project.pulumi("config", "rm", "bluegreen:idleReplicas")
    project.make("up", "YES=1")
    wait_available(shell, "green")


def test_a_cutover_the_gate_refuses_leaves_every_request_on_the_serving_color(shell: Shell, project: Project) -> None:
    set_fault(shell, "green", "status=500")
    try:
        done, seen, switched = measured(
            shell,
            "gate-refuses",
            "blue",
            "green",
            lambda: project.make("cutover", "COLOR=green", "YES=1", check=False),
            after=2,
        )
    finally:
        set_fault(shell, "green", None)
    assert done is not None and done.returncode != 0
    assert "smoke check GET /" in done.output and "Traffic stays on blue" in done.output
    assert switched is None and selector_color(shell) == "blue"
    for outcome in seen.values():
        assert outcome.failed == 0, outcome.failures
        assert outcome.colors == ["blue"]


def test_negative_control_shrinking_the_serving_color_before_the_switch_fails_requests(
    shell: Shell, project: Project
) -> None:
    def wrong_order() -> None:
        scale = ["kubectl", "scale", "deployment", f"{APP}-blue", "--replicas=0", "--namespace", NAMESPACE]
        shell.run(scale)
        time.sleep(9)
        patch = '{"spec":{"selector":{"app":"backend","color":"green"}}}'
        shell.run(["kubectl", "patch", "service", APP, "--namespace", NAMESPACE, "-p", patch])

    _, seen, switched = measured(shell, "negative-control", "blue", "green", wrong_order, after=3)
    assert switched is not None
    # The probe can fail: with the serving color gone, requests are refused until the selector moves.
    assert seen["fresh"].failed >= 20, seen["fresh"]
    # Back to the declared state (blue serving, both colors at full size).
    project.pulumi("up", "--yes", "--skip-preview", "--refresh")
    wait_available(shell, "blue")
    assert selector_color(shell) == "blue"
