"""On the real node: a version shipped end to end with `make release`, verified after the switch, switched
back.

The dev stack verifies every switch (`verifySeconds` 10): after the selector moved, the active Service's
after_update hook sends requests to the new color through the API server's service proxy for that long,
and fails the update as soon as the window can no longer pass. A version that answers 500 only under
real traffic (the echo's ECHO_FAIL_AFTER, image `bluegreen.local/e2e/echo:broken`: 2 good answers per
pod, so the pre-switch gate's one smoke GET passes) is switched to and back again. The in-cluster probe
(e2e/traffic.py) sends the whole time; an API watch stamps each selector write and each Deployment
change. The cases, in order on one stack: a good release with promote; a bad one, which bgctl switches
back on its own; a plain `pulumi up` of the same bad switch, which stops with the one command that
switches back, run next; with `idleReplicas` the old color shrinking only after the window passed; and
with `idleReplicas` a bad release whose old color never shrinks at all. The tables go to
.e2e/release.md, each case's picture to .e2e/release-<case>.png.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import pytest

from e2e import cluster, images, traffic
from e2e.conftest import Done, Shell
from e2e.env import STATE_DIR
from e2e.project import Project, on_the_real_node, tear_down
from e2e.test_python_program import lines
from e2e.test_traffic import deployment, wait_available
from e2e.watch import Seen, Watch

pytestmark = pytest.mark.skipif(
    not cluster.is_real(), reason="needs the real node: make e2e (or make cluster NODE=real)"
)

NAMESPACE: Final = traffic.NAMESPACE
APP: Final = traffic.APP
VERIFY_SECONDS: Final = 10
DELAY_SECONDS: Final = 5
"""scaleDownDelaySeconds: the old color is left alone this long after the window passed."""
SETTLE_SECONDS: Final = 2.0
"""After the switch back, how long a new connection may still reach the bad version: kube-proxy applies a
change at most once per its minSyncPeriod (1 s), so a switch back soon after the switch waits for that."""
BEFORE_SECONDS: Final = 2
AFTER_SECONDS: Final = 3
PROBE_SECONDS: Final = 120
"""The probe's longest run (it refuses more): each case's command must end within it."""
SWITCH_BACK: Final = f"bgctl rollback --now --stack dev --app {APP} --yes"
"""The one command a failed verification names, to switch back."""
_rows: list[str] = []
_measures: list[str] = []
MEASURES_HEADER: Final = "| case | measure | value |\n|---|---|---:|"


@pytest.fixture(scope="module")
def project(shell: Shell) -> Iterator[Project]:
    work = on_the_real_node(shell, "release")
    work.pulumi("config", "set", "bluegreen:verifySeconds", str(VERIFY_SECONDS))
    work.pulumi("config", "set", "bluegreen:scaleDownDelaySeconds", str(DELAY_SECONDS))
    work.make("up", "YES=1")
    wait_available(shell, "blue")
    wait_available(shell, "green")
    yield work
    tear_down(work)
    (STATE_DIR / "release.md").write_text(
        traffic.TABLE_HEADER + "\n" + "\n".join(_rows) + "\n\n" + MEASURES_HEADER + "\n" + "\n".join(_measures) + "\n"
    )


@dataclass(frozen=True)
class Observed:
    """One command run with the probe sending and the watch recording; times are `time.monotonic()` (the watch's)."""

    done: Done
    probe: traffic.Probe
    events: list[Seen]
    started: float
    ended: float

    def selectors(self) -> list[str]:
        """The colors the active Service selected from the command's start on, each run of one color once."""
        seen = [e.selector for e in self.events if e.kind == "Service" and e.name == APP and e.at >= self.started]
        return [str(c) for i, c in enumerate(seen) if i == 0 or seen[i - 1] != c]

    def selector_before(self) -> str | None:
        before = [e.selector for e in self.events if e.kind == "Service" and e.name == APP and e.at < self.started]
        return before[-1] if before else None

    def first(self, what: Callable[[Seen], bool], after: float | None = None) -> float | None:
        start = self.started if after is None else after
        return next((e.at for e in self.events if e.at >= start and what(e)), None)

    def written(self, color: str, after: float | None = None) -> float | None:
        """When the watch first saw the active Service select `color`."""
        return self.first(lambda e: e.kind == "Service" and e.name == APP and e.selector == color, after)

    def deployment(self, color: str) -> list[Seen]:
        return [e for e in self.events if e.kind == "Deployment" and e.name == f"{APP}-{color}"]


def observed(shell: Shell, action: Callable[[], Done]) -> Observed:
    with Watch(cluster.KUBECONFIG, NAMESPACE) as watch, traffic.running(shell, seconds=PROBE_SECONDS) as probe:
        time.sleep(BEFORE_SECONDS)
        started = time.monotonic()
        done = action()
        ended = time.monotonic()
        time.sleep(AFTER_SECONDS)
    seen = Observed(done, probe, list(watch), started, ended)
    for mode in traffic.MODES:
        last = seen.probe.stream(mode).requests[-1].start
        assert last >= traffic.unix(ended), (
            f"the probe ({mode}) stopped {traffic.unix(ended) - last:.1f}s before {done.command} ended"
        )
    return seen


def released(shell: Shell, project: Project, image: str, version: str) -> Observed:
    """`make release ... PROMOTE=1 YES=1` of `image` as `version`, observed."""
    return observed(
        shell,
        lambda: project.make("release", f"IMAGE={image}", f"VERSION={version}", "PROMOTE=1", "YES=1", check=False),
    )


def record(case: str, seen: Observed, old: str, new: str, marks: dict[str, float | None]) -> dict[str, traffic.Outcome]:
    """Each mode's outcome around the first write of `new` (a row of the table), and the case's picture."""
    switched = seen.written(new)
    at = None if switched is None else traffic.unix(switched)
    outcomes = {mode: traffic.outcome(seen.probe.stream(mode), at, old, new) for mode in traffic.MODES}
    shown = {"command starts": seen.started, "command ends": seen.ended, **marks}
    traffic.plot(
        [seen.probe.stream(mode) for mode in traffic.MODES],
        {label: traffic.unix(t) for label, t in shown.items() if t is not None},
        STATE_DIR / f"release-{case}.png",
        f"{case}: {old} -> {new}",
    )
    _rows.extend(outcome.row(case) for outcome in outcomes.values())
    print("\n" + "\n".join(outcome.row(case) for outcome in outcomes.values()), flush=True)
    return outcomes


def measure(case: str, what: str, value: str) -> None:
    _measures.append(f"| {case} | {what} | {value} |")
    print(f"{case}: {what}: {value}", flush=True)


def verdict(done: Done, color: str, version: str, outcome: str) -> list[str]:
    """The lines that say how `color`'s verification window at `version` ended (`passed` or `failed`)."""
    said = re.compile(rf"verification of {color} \({re.escape(version)}\) {outcome}")
    return [line.strip() for line in done.output.splitlines() if said.search(line)]


def config(project: Project, key: str) -> str:
    return project.pulumi("config", "get", f"bluegreen:{key}").stdout.strip()


def answers(stream: traffic.Stream) -> set[str]:
    return {r.answer for r in stream.requests if r.color is not None}


def switched_and_back(case: str, seen: Observed, bad: str, good: str) -> tuple[float, float]:
    """The watch's two writes (to `bad`, then back to `good`); the probe's failures only between them, and after
    them every request answered by `good`. Prints and records the numbers; returns both times (monotonic)."""
    assert seen.selector_before() == good and seen.selectors() == [bad, good], seen.selectors()
    to_bad = seen.written(bad)
    back = seen.written(good, after=to_bad)
    assert to_bad is not None and back is not None
    start, end = traffic.unix(to_bad), traffic.unix(back)
    measure(case, f"seconds from the write of {bad} to the switch back to {good}", f"{back - to_bad:.2f}")
    for mode in traffic.MODES:
        stream = seen.probe.stream(mode)
        failed = stream.failed
        between = [r for r in failed if start <= r.start <= end]
        measure(case, f"{mode}: failed requests between the two writes", str(len(between)))
        late = [r for r in failed if end < r.start]
        measure(
            case,
            f"{mode}: failed requests after the switch back (the last at s after it)",
            (f"{len(late)}" + (f" ({max(r.start for r in late) - end:+.2f})" if late else "")),
        )
        episode = [r.start for r in failed if start <= r.start <= end + SETTLE_SECONDS]
        measure(
            case,
            f"{mode}: failed requests in all, from the switch until clients left {bad}",
            f"{len(episode)}" + (f" over {max(episode) - min(episode):.2f}s" if episode else ""),
        )
        outside = [
            f"{r.start - start:+.2f}s {r.status} {r.answer}"
            for r in failed
            if not start <= r.start <= end + SETTLE_SECONDS
        ]
        assert outside == [], (mode, outside[:10])
        after = [r for r in stream.requests if r.start > end + SETTLE_SECONDS]
        assert after and {r.color for r in after} == {good}, (mode, [r.answer for r in after if r.color != good][:10])
    return to_bad, back


@contextlib.contextmanager
def one_idle_replica(shell: Shell, project: Project, idle: str) -> Iterator[None]:
    """`idleReplicas: 1` while `idle` is the idle color (it shrinks first); afterwards unset, both colors full."""
    project.pulumi("config", "set", "bluegreen:idleReplicas", "1")
    project.make("up", "YES=1")
    wait_available(shell, idle, replicas=1)
    yield
    project.pulumi("config", "rm", "bluegreen:idleReplicas")
    project.make("up", "YES=1")
    wait_available(shell, "blue")
    wait_available(shell, "green")


def test_a_good_release_with_promote_rolls_the_idle_color_first_then_switches_and_verifies_without_a_failed_request(
    shell: Shell, project: Project
) -> None:
    seen = released(shell, project, images.ECHO, "1.3")
    done = seen.done
    assert done.returncode == 0, done.output[-4000:]
    template = seen.first(lambda e: e.kind == "Deployment" and e.name == f"{APP}-green" and e.version == "1.3")
    rolled = seen.first(
        lambda e: e.kind == "Deployment" and e.name == f"{APP}-green" and e.version == "1.3" and bool(e.rolled_out),
        after=template,
    )
    switched = seen.written("green")
    outcomes = record("good-release", seen, "blue", "green", {"green rolled out": rolled, "selector written": switched})
    # The selector stayed on blue while green rolled out 1.3, and moved once, after.
    assert template is not None and rolled is not None and switched is not None
    assert seen.selector_before() == "blue" and seen.selectors() == ["green"]
    assert template < rolled < switched
    measure("good-release", "green rolled out, s before the selector write", f"{switched - rolled:.2f}")
    assert [line for line in lines(done, f"{APP}-preview") if "1.3" in line], done.output[-4000:]
    assert verdict(done, "green", "1.3", "passed"), done.output[-4000:]
    assert not verdict(done, "green", "1.3", "failed") and "switched back" not in done.output
    for outcome in outcomes.values():
        assert outcome.failed == 0, outcome.failures
        assert outcome.colors == ["blue", "green"], outcome
    assert outcomes["fresh"].moved_s is not None and 0 <= outcomes["fresh"].moved_s < 1.0
    for mode in traffic.MODES:
        stream = seen.probe.stream(mode)
        assert answers(stream) == {"backend 1.1 (blue)", "backend 1.3 (green)"}, (mode, answers(stream))
        assert stream.requests[-1].answer == "backend 1.3 (green)"
    assert traffic.selector_color(shell) == "green"
    assert [config(project, k) for k in ("activeColor", "greenVersion", "greenImage")] == ["green", "1.3", images.ECHO]
    newest = project.history()[0]
    assert newest["result"] == "succeeded" and newest["config"]["bluegreen:activeColor"]["value"] == "green"
    cutover = [line for line in lines(project.make("history"), "blue -> green") if re.match(r"^v\d+ ", line)]
    assert cutover and "verified" in cutover[0] and "verification failed" not in cutover[0], cutover


def test_a_release_that_fails_its_verification_is_switched_back_by_bgctl_and_fails_requests_only_in_between(
    shell: Shell, project: Project
) -> None:
    seen = released(shell, project, images.ECHO_BROKEN, "1.4")
    done = seen.done
    assert done.returncode != 0, done.output[-4000:]
    to_blue, back = switched_and_back("bad-release", seen, "blue", "green")
    template = seen.first(lambda e: e.kind == "Deployment" and e.name == f"{APP}-blue" and e.version == "1.4")
    rolled = seen.first(
        lambda e: e.kind == "Deployment" and e.name == f"{APP}-blue" and e.version == "1.4" and bool(e.rolled_out),
        after=template,
    )
    outcomes = record(
        "bad-release",
        seen,
        "green",
        "blue",
        {"blue rolled out": rolled, "selector written": to_blue, "switched back": back},
    )
    assert template is not None and rolled is not None and rolled < to_blue
    assert verdict(done, "blue", "1.4", "failed"), done.output[-4000:]
    assert lines(done, "switched back"), done.output[-4000:]
    # The bad version really served between the writes: new connections reached it and failed.
    assert outcomes["fresh"].failed > 0, outcomes["fresh"]
    assert traffic.selector_color(shell) == "green" == config(project, "activeColor")
    assert [config(project, k) for k in ("blueVersion", "blueImage")] == ["1.4", images.ECHO_BROKEN]
    for mode in traffic.MODES:
        assert seen.probe.stream(mode).requests[-1].answer == "backend 1.3 (green)"
    newest, failed = project.history()[:2]
    assert newest["message"].startswith("bgctl switch back"), newest["message"]
    assert newest["result"] == "succeeded" and newest["config"]["bluegreen:activeColor"]["value"] == "green"
    assert failed["result"] == "failed" and failed["config"]["bluegreen:activeColor"]["value"] == "blue", failed
    history = project.make("history")
    assert [line for line in lines(history, "verification failed") if "-> blue" in line], history.output
    assert lines(history, "switch back"), history.output
    # Green, idle for those seconds, was never scaled and never stopped being Available.
    green = seen.deployment("green")
    assert green and {(e.replicas, e.available) for e in green} == {(2, 2)}, green


def test_a_plain_pulumi_up_that_fails_its_verification_names_the_one_command_that_switches_back(
    shell: Shell, project: Project
) -> None:
    # Fresh pods of the bad version: each answers its first 2 requests, so the gate's smoke GET passes again.
    blue = ["--namespace", NAMESPACE, "--selector", f"app={APP},color=blue"]
    shell.run(["kubectl", "delete", "pods", *blue])
    shell.run(["kubectl", "wait", "--for=condition=Ready", "pods", *blue, "--timeout=120s"])
    wait_available(shell, "blue")
    steps: dict[str, object] = {}

    def switch_then_back() -> Done:
        up = project.pulumi("up", "--yes", "--skip-preview", "--config", "bluegreen:activeColor=blue", check=False)
        steps["up"], steps["selector after up"] = up, traffic.selector_color(shell)
        named = next((line for line in up.output.splitlines() if SWITCH_BACK in line), None)
        if up.returncode == 0 or named is None:
            return up
        return project.bgctl(*SWITCH_BACK.split()[1:], check=False)

    seen = observed(shell, switch_then_back)
    up = steps["up"]
    assert isinstance(up, Done)
    assert up.returncode != 0, up.output[-4000:]
    assert verdict(up, "blue", "1.4", "failed") and SWITCH_BACK in up.output, up.output[-4000:]
    assert steps["selector after up"] == "blue"
    assert seen.done is not up and seen.done.returncode == 0, seen.done.output[-4000:]
    to_blue, back = switched_and_back("pulumi-up-then-rollback-now", seen, "blue", "green")
    record("pulumi-up-then-rollback-now", seen, "green", "blue", {"selector written": to_blue, "switched back": back})
    assert traffic.selector_color(shell) == "green" == config(project, "activeColor")
    green = seen.deployment("green")
    assert green and {(e.replicas, e.available) for e in green} == {(2, 2)}, green


def test_with_idle_replicas_the_old_color_shrinks_only_after_the_window_passed_and_the_delay(
    shell: Shell, project: Project
) -> None:
    with one_idle_replica(shell, project, "blue"):
        seen = released(shell, project, images.ECHO, "1.5")
        check_the_shrink_came_after_the_window(shell, seen)


def check_the_shrink_came_after_the_window(shell: Shell, seen: Observed) -> None:
    done = seen.done
    assert done.returncode == 0, done.output[-4000:]
    assert verdict(done, "blue", "1.5", "passed"), done.output[-4000:]
    switched = seen.written("blue")
    ready = seen.first(
        lambda e: (
            e.kind == "Deployment"
            and e.name == f"{APP}-blue"
            and (e.version, e.replicas) == ("1.5", 2)
            and bool(e.rolled_out)
        )
    )
    shrunk = seen.first(lambda e: e.kind == "Deployment" and e.name == f"{APP}-green" and e.replicas != 2)
    outcomes = record(
        "idle-replicas-1", seen, "green", "blue", {"selector written": switched, "green's replicas change": shrunk}
    )
    assert switched is not None and ready is not None and shrunk is not None
    assert seen.selector_before() == "green" and seen.selectors() == ["blue"]
    assert ready < switched
    green = seen.deployment("green")
    assert [e.replicas for e in green if e.at >= shrunk][-1] == 1
    measure("idle-replicas-1", "selector written, s after the command started", f"{switched - seen.started:.2f}")
    measure(
        "idle-replicas-1", "window passed at the earliest, s after", f"{switched - seen.started + VERIFY_SECONDS:.2f}"
    )
    measure("idle-replicas-1", "green's first replicas change, s after", f"{shrunk - seen.started:.2f}")
    measure("idle-replicas-1", "green's first replicas change, s after the selector write", f"{shrunk - switched:.2f}")
    assert shrunk - switched >= VERIFY_SECONDS + DELAY_SECONDS
    for outcome in outcomes.values():
        assert outcome.failed == 0, outcome.failures
        assert outcome.colors == ["green", "blue"], outcome
    for mode in traffic.MODES:
        assert answers(seen.probe.stream(mode)) == {"backend 1.3 (green)", "backend 1.5 (blue)"}
    spec = deployment(shell, "green")["spec"]
    assert isinstance(spec, dict) and spec["replicas"] == 1


def test_with_idle_replicas_a_release_that_fails_its_window_never_shrinks_the_old_color(
    shell: Shell, project: Project
) -> None:
    with one_idle_replica(shell, project, "green"):
        seen = released(shell, project, images.ECHO_BROKEN, "1.6")
        check_the_old_color_kept_its_pods(shell, project, seen)


def check_the_old_color_kept_its_pods(shell: Shell, project: Project, seen: Observed) -> None:
    done = seen.done
    assert done.returncode != 0, done.output[-4000:]
    assert verdict(done, "green", "1.6", "failed") and lines(done, "switched back"), done.output[-4000:]
    to_green, back = switched_and_back("idle-replicas-1-bad", seen, "green", "blue")
    record("idle-replicas-1-bad", seen, "blue", "green", {"selector written": to_green, "switched back": back})
    # Blue, the old color, kept both its pods through the failed window and the switch back.
    blue = seen.deployment("blue")
    assert blue and {e.replicas for e in blue} == {2}, [(e.at - seen.started, e.replicas) for e in blue]
    assert traffic.selector_color(shell) == "blue" == config(project, "activeColor")
