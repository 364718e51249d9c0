"""On the real node: a cutover that is killed, an API server that goes away, two cutovers at once, and drift.

Each case runs with the in-cluster probe sending (e2e/traffic.py) and asserts on the cluster, the stack
and the traffic afterwards, then follows the README's runbook step for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import pytest

from e2e import cluster, node, traffic
from e2e.conftest import Shell
from e2e.env import STATE_DIR
from e2e.project import Project, on_the_real_node, tear_down
from e2e.watch import Seen, Watch

pytestmark = pytest.mark.skipif(
    not cluster.is_real(), reason="needs the real node: make e2e (or make cluster NODE=real)"
)

NAMESPACE: Final = traffic.NAMESPACE
APP: Final = traffic.APP
DELAY_SECONDS: Final = 6
KILL_LIMIT_SECONDS: Final = 120
API_STOP_AFTER_SECONDS: Final = 3
API_DOWN_SECONDS: Final = 10


@pytest.fixture(scope="module")
def project(shell: Shell) -> Iterator[Project]:
    work = on_the_real_node(shell, "faults")
    work.pulumi("config", "set", "bluegreen:scaleDownDelaySeconds", str(DELAY_SECONDS))
    work.make("up", "YES=1")
    yield work
    tear_down(work)
    (STATE_DIR / "faults.md").write_text(FAULTS_HEADER + "\n" + "\n".join(_rows) + "\n")


selector_color = traffic.selector_color


def _descendants(root: int) -> list[int]:
    """Every process below `root` now (children, their children, ...), by PID."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [root]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def killed_when(
    shell: Shell, project: Project, args: list[str], moment: Callable[[Seen], bool]
) -> tuple[subprocess.Popen[str], list[Seen]]:
    """Start `make ARGS` in its own process group and SIGKILL the whole group at the first event `moment` matches."""
    with Watch(cluster.KUBECONFIG, NAMESPACE) as watch:
        started = time.monotonic()
        proc = subprocess.Popen(
            ["make", "--no-print-directory", *args],
            cwd=project.root,
            env={**shell.env, **project.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            while watch.first(moment, after=started) is None:
                if proc.poll() is not None or time.monotonic() - started > KILL_LIMIT_SECONDS:
                    raise AssertionError(f"the moment never came: {list(watch)}")
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                descendants = _descendants(proc.pid)
                os.killpg(proc.pid, signal.SIGKILL)
                # Pulumi starts its plugins in process groups of their own: they outlive the group as orphans.
                for pid in descendants:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return proc, list(watch)


def serving(shell: Shell) -> str:
    """The color the Service selects, checked to have Ready pods (the probe shows they answer)."""
    color = selector_color(shell)
    status = shell.kubectl_json("get", "deployment", f"{APP}-{color}", "--namespace", NAMESPACE)["status"]
    assert (status.get("readyReplicas") or 0) >= 1, status
    return color


def config_color(project: Project) -> str:
    return project.pulumi("config", "get", "bluegreen:activeColor").stdout.strip()


def other(color: str) -> str:
    return "green" if color == "blue" else "blue"


_rows: list[str] = []


def record(case: str, probe: traffic.Probe, after: str, recovery: str) -> None:
    """One row of .e2e/faults.md: the case, the traffic through it, where traffic was after it, the recovery."""
    sent = sum(len(probe.stream(mode).requests) for mode in traffic.MODES)
    failed = sum(len(probe.stream(mode).failed) for mode in traffic.MODES)
    _rows.append(f"| {case} | {sent} | {failed} | {after} | {recovery} |")
    print(_rows[-1], flush=True)


FAULTS_HEADER: Final = (
    "| case | requests (both clients) | failed | traffic after the fault | recovery |\n|---|---:|---:|---|---|"
)


def no_failures(probe: traffic.Probe) -> None:
    for mode in traffic.MODES:
        stream = probe.stream(mode)
        assert stream.failed == [], (mode, stream.failed[:5])


MOMENTS: Final[dict[str, Callable[[str, str], Callable[[Seen], bool]]]] = {
    # The target color scaling up from 0 (idleReplicas: 0), before it is Available.
    "target-rolling-out": lambda old, new: (
        lambda e: e.kind == "Deployment" and e.name == f"{APP}-{new}" and e.replicas == 2 and (e.available or 0) < 2
    ),
    # The gate passed and the selector was written.
    "gate-passed": lambda old, new: lambda e: e.kind == "Service" and e.name == APP and e.selector == new,
    # The old color's replicas set to 0, its pods stopping.
    "old-shrinking": lambda old, new: lambda e: e.kind == "Deployment" and e.name == f"{APP}-{old}" and e.replicas == 0,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_cutover_killed_at_any_moment_keeps_traffic_on_a_ready_color_and_make_recover_finishes_it(
    shell: Shell, project: Project, moment: str
) -> None:
    project.pulumi("config", "set", "bluegreen:idleReplicas", "0")
    project.make("up", "YES=1")
    old = serving(shell)
    new = other(old)
    with traffic.running(shell) as probe:
        time.sleep(2)
        proc, _ = killed_when(shell, project, ["cutover", f"COLOR={new}", "YES=1"], MOMENTS[moment](old, new))
        assert proc.returncode == -signal.SIGKILL or proc.returncode != 0
        time.sleep(2)
        now = serving(shell)
        status = project.make("status")
        recovered = project.make("recover", "YES=1")
        time.sleep(2)
    record(
        f"`pulumi up` of a cutover SIGKILLed: {moment}",
        probe,
        f"on {now}, Ready; `make status` says the update did not finish",
        f"`make recover`: {serving(shell)}, as configured, in {recovered.seconds:.0f} s",
    )
    no_failures(probe)
    assert now in (old, new)
    assert "the last update of stack dev did not finish" in status.stdout, status.stdout
    assert "recover with: make recover" in status.stdout, status.stdout
    assert f"traffic is on {now}" in status.stdout, status.stdout
    assert serving(shell) == config_color(project) == new, recovered.output
    # Afterwards the stack works as before: a cutover and a rollback.
    project.make("cutover", f"COLOR={old}", "YES=1")
    assert serving(shell) == old
    project.make("rollback", "YES=1")
    assert serving(shell) == config_color(project) == new
    project.pulumi("config", "rm", "bluegreen:idleReplicas")
    project.make("up", "YES=1")


def test_a_metadata_file_a_killed_pulumi_left_empty_stops_each_command_in_one_line_and_make_recover_repairs_it(
    shell: Shell, project: Project
) -> None:
    served = serving(shell)
    # Without `metadata=skip` in its URL the file backend writes `<file>.attrs` in place, beside each of its files
    # (gocloud's fileblob: create, then write): a pulumi SIGKILLed between the two leaves it empty. make e2e saw
    # that after killing a cutover at old-shrinking. This is that file, beside the stack's state file, then beside
    # the newest history file (the CLI reads the stack then, and only `stack history` fails).
    state = project.root / ".pulumi"
    cut = state / ".pulumi" / "stacks" / "bluegreen" / "dev.json.attrs"
    newest = max((state / ".pulumi" / "history" / "bluegreen" / "dev").glob("*.history.json"))
    cut_history = newest.with_name(newest.name + ".attrs")
    with traffic.running(shell) as probe:
        time.sleep(2)
        cut.write_bytes(b"")
        bare = project.pulumi("stack", "export", check=False)
        status = project.make("status", check=False)
        recovered = project.make("recover", "YES=1")
        after = project.make("status")
        cut_history.write_bytes(b"")
        bare_history = project.pulumi("stack", "history", check=False)
        status_history = project.make("status", check=False)
        project.make("recover", "YES=1")
        time.sleep(2)
    record(
        "a metadata file of the file backend left empty by a killed pulumi",
        probe,
        f"on {serving(shell)}; each command stops in one line that names the file and `make recover`",
        f"`make recover`: removed it, {serving(shell)}, as configured, in {recovered.seconds:.0f} s",
    )
    no_failures(probe)
    assert (bare.returncode, bare.stderr.strip()) == (1, "error: failed to load checkpoint: EOF")
    assert status.returncode == 2
    assert [line for line in status.output.splitlines() if line.startswith("bgctl:")] == [
        "bgctl: error: the state of stack dev cannot be read (pulumi failed: stderr: error: failed to load "
        f"checkpoint: EOF): a pulumi killed while writing it left 1 empty metadata file(s) in the file backend at "
        f"{state} (.pulumi/stacks/bluegreen/dev.json.attrs); nothing changed: run make recover (or: bgctl recover "
        "--stack dev), which removes them, refreshes the state from the cluster and brings the stack to its config"
    ]
    assert (
        "removed 1 empty metadata file(s) a killed pulumi left in the file backend: "
        ".pulumi/stacks/bluegreen/dev.json.attrs"
    ) in recovered.stdout.splitlines()
    assert not cut.exists()
    assert f"active: {served}" in after.stdout, after.stdout
    history_file = newest.relative_to(state)
    assert (bare_history.returncode, bare_history.stderr.strip()) == (
        1,
        f"error: getting history: reading history file {history_file}: EOF",
    )
    assert [line for line in status_history.output.splitlines() if line.startswith("bgctl:")] == [
        f"bgctl: error: pulumi failed: stderr: error: getting history: reading history file {history_file}: EOF; "
        f"the file backend at {state} holds 1 empty metadata file(s) a killed pulumi left ({history_file}.attrs): "
        "run make recover (or: bgctl recover --stack dev), which removes them, refreshes the state from the cluster "
        "and brings the stack to its config"
    ]
    assert not cut_history.exists()
    assert serving(shell) == config_color(project) == served


def resources(project: Project) -> list[str]:
    state = json.loads(project.pulumi("stack", "export").stdout)
    return sorted(r["urn"] for r in state["deployment"]["resources"])


def test_the_api_server_stopped_mid_cutover_loses_no_state_and_make_recover_converges(
    shell: Shell, project: Project
) -> None:
    old = serving(shell)
    new = other(old)
    before = resources(project)
    # No API watch here: it ends with the API server.
    with traffic.running(shell) as probe:
        time.sleep(2)
        started = time.time()
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "cutover", f"COLOR={new}", "YES=1"],
            cwd=project.root,
            env={**shell.env, **project.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(API_STOP_AFTER_SECONDS)
        stopping = time.time()
        node.stop_api_server()
        time.sleep(API_DOWN_SECONDS)
        starting = time.time()
        node.start_api_server()
        back = time.time()
        out, _ = proc.communicate(timeout=300)
        ended = time.time()
        time.sleep(2)
    marks = {"API server stopped": stopping, "started": starting, "answers": back, "cutover ends": ended}
    traffic.plot(
        [probe.stream(m) for m in traffic.MODES],
        marks,
        STATE_DIR / "traffic-api-server-restart.png",
        "API server stopped mid-cutover",
    )
    errors = [line for line in out.splitlines() if line.startswith("bgctl: error:")]
    # With the API server away for about 20 s, the node lifecycle controller can find the only node's lease
    # stale when it comes back, mark the node NotReady and every pod unready (measured here: "Controller
    # detected that all Nodes are not-Ready"), which empties every Service's endpoints whatever color it
    # selects. So requests may fail only from the stop until the node is Ready again; never before the stop.
    shell.run(["kubectl", "wait", "--for=condition=Ready", "node", "--all", "--timeout=120s"])
    early = [r for mode in traffic.MODES for r in probe.stream(mode).failed if r.start < stopping]
    failed = sum(len(probe.stream(mode).failed) for mode in traffic.MODES)
    record(
        f"API server stopped {API_STOP_AFTER_SECONDS} s into `make cutover`, back {back - started:.0f} s in",
        probe,
        "the cutover " + ("completed" if proc.returncode == 0 else "stopped with one line") + f"; {failed} failed, "
        "all after the stop (the node marked NotReady on the API server's return)" * bool(failed),
        "state kept (the same resources); `make recover` converged",
    )
    assert early == []
    assert resources(project) == before
    if proc.returncode != 0:
        assert len(errors) == 1, out[-3000:]
    # The color the Service selects has Ready pods again, and answers.
    with traffic.running(shell, seconds=5, name="probe-after") as after:
        time.sleep(3)
    no_failures(after)
    project.make("recover", "YES=1")
    assert serving(shell) == config_color(project)


def test_two_cutovers_at_once_one_wins_the_other_stops_in_one_line_and_the_config_agrees(
    shell: Shell, project: Project
) -> None:
    new = other(serving(shell))
    command = ["make", "--no-print-directory", "cutover", f"COLOR={new}", "YES=1"]
    env = {**shell.env, **project.env}
    with traffic.running(shell) as probe:
        procs = [
            subprocess.Popen(
                command, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(2)
        ]
        outs = [proc.communicate(timeout=300)[0] for proc in procs]
    record(
        "two `make cutover` at once in one directory",
        probe,
        f"one cut over to {serving(shell)}; the other stopped at once",
        "none needed: the config says what the cluster serves",
    )
    no_failures(probe)
    codes = sorted(proc.returncode for proc in procs)
    assert codes[0] == 0 and codes[1] != 0, outs
    loser = outs[[proc.returncode for proc in procs].index(codes[1])]
    errors = [line for line in loser.splitlines() if line.startswith("bgctl: error:")]
    assert len(errors) == 1 and "another cutover of stack dev is running" in errors[0], loser
    assert serving(shell) == config_color(project) == new


def test_drift_by_hand_is_shown_by_make_preview_and_undone_by_make_up_and_the_next_cutover_works(
    shell: Shell, project: Project
) -> None:
    old = serving(shell)
    new = other(old)
    with traffic.running(shell) as probe:
        time.sleep(2)
        shell.run(["kubectl", "scale", "deployment", f"{APP}-{old}", "--replicas=3", "--namespace", NAMESPACE])
        patch = json.dumps({"spec": {"selector": {"app": APP, "color": new}}})
        shell.run(["kubectl", "patch", "service", APP, "--namespace", NAMESPACE, "-p", patch])
        preview = project.make("preview")
        restored = project.make("up", "YES=1")
        back = serving(shell)
        replicas = shell.kubectl_json("get", "deployment", f"{APP}-{old}", "--namespace", NAMESPACE)["spec"]["replicas"]
        done = project.make("cutover", f"COLOR={new}", "YES=1")
    record(
        "drift: `kubectl patch` of the selector and `kubectl scale` by hand",
        probe,
        f"on {new} (by hand); `make preview` shows both changes",
        f"`make up` put back {old} and 2 replicas in {restored.seconds:.0f} s; the next cutover passed",
    )
    no_failures(probe)
    # The plan after the refresh: exactly the two changes made by hand, put back.
    plan = preview.stdout[preview.stdout.rindex("pulumi:pulumi:Stack: (same)") :]
    assert [line.strip() for line in plan.splitlines() if "=>" in line or "to update" in line] == [
        "~ replicas: 3 => 2",
        f'~ color: "{new}" => "{old}"',
        "~ 2 to update",
    ], plan
    assert f"[id={NAMESPACE}/{APP}-{old}]" in plan and f"[id={NAMESPACE}/{APP}]" in plan
    assert (back, replicas) == (old, 2)
    assert "conflict" not in done.output.lower()
    assert serving(shell) == config_color(project) == new
