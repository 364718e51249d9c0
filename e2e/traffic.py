"""Traffic as the app's clients see it: a probe pod inside the cluster, every request it sent, and a picture.

The pod is labelled as one of the app's clients (so the NetworkPolicy admits it) and runs the
project's probe twice, against the Service's DNS name through kube-proxy: `fresh` opens a new
connection per request, `keepalive` reuses its connections, as HTTP client pools, HTTP/2 and gRPC
do. Each sends at `rate` per second, at most `seconds` long (the probe itself refuses more than
120 s), and records every request: when it started, how long it took, the version that answered or
the error. Deleting the pod stops both (SIGTERM: the requests in flight finish and are reported).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from e2e import images
from e2e.conftest import Shell

NAMESPACE: Final = "bluegreen-dev"
APP: Final = "backend"
CLIENT: Final = "frontend"
"""The dev stack's namespace, app and the `app` label of its one client (the NetworkPolicy admits it)."""
URL: Final = f"http://{APP}.{NAMESPACE}.svc.cluster.local/"
MODES: Final = ("fresh", "keepalive")
UID: Final = 65532
READY_SECONDS: Final = 20
"""How long a probe may retry before its first answer (the NetworkPolicy agent admitting the pod's address)."""
STOP_SECONDS: Final = 30
BIN_SECONDS: Final = 0.1
ROW: Final = re.compile(r'^(\d+),([\d.]+),([\d.]+),(\d+),"(.*)"$')
BEGIN: Final = re.compile(r"^#begin,(\d+)$")
SUMMARY: Final = re.compile(r"^probe: (\d+) requests, (\d+) failed$")
ANSWER: Final = re.compile(r"^\S+ [\d.]+ \((blue|green)\)$")
CLOCK_OFFSET: Final = time.time() - time.monotonic()
"""Adds to a `time.monotonic()` reading (the watch's clock) to give Unix time (the probe's clock)."""


def unix(monotonic: float) -> float:
    return monotonic + CLOCK_OFFSET


@dataclass(frozen=True)
class Request:
    start: float
    """Unix seconds."""
    latency_ms: float
    status: int
    """0 for a transport error."""
    answer: str

    @property
    def color(self) -> str | None:
        """The color that answered (from the echo's `<app> <version> (<color>)`), None for a failure."""
        match = ANSWER.match(self.answer) if self.status == 200 else None
        return match.group(1) if match else None


@dataclass(frozen=True)
class Stream:
    mode: str
    requests: list[Request]

    @property
    def failed(self) -> list[Request]:
        return [r for r in self.requests if r.color is None]

    def count(self, color: str) -> int:
        return sum(1 for r in self.requests if r.color == color)

    def colors(self) -> list[str]:
        """The answering colors in order, each run of one color once: ["blue", "green"] for one clean switch."""
        seen = [r.color for r in self.requests if r.color]
        return [c for i, c in enumerate(seen) if i == 0 or seen[i - 1] != c]

    def last(self, color: str) -> float | None:
        return max((r.start for r in self.requests if r.color == color), default=None)

    def first(self, color: str, after: float = 0.0) -> float | None:
        return min((r.start for r in self.requests if r.color == color and r.start >= after), default=None)


@dataclass
class Probe:
    shell: Shell
    namespace: str
    pod: str
    streams: dict[str, Stream] = field(default_factory=dict)

    def stream(self, mode: str) -> Stream:
        return self.streams[mode]


def _pod(name: str, label: str, url: str, rate: int, seconds: int) -> dict[str, object]:
    def container(mode: str) -> dict[str, object]:
        args = ["-csv", "-n", str(rate * seconds), "-rate", str(rate), "-timeout", "1s", "-ready", f"{READY_SECONDS}s"]
        return {
            "name": mode,
            "image": images.PROBE,
            "args": [*args, *(["-keepalive"] if mode == "keepalive" else []), url],
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": True,
            },
        }

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": label}},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": STOP_SECONDS,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container(mode) for mode in MODES],
        },
    }


def _ready(shell: Shell, namespace: str, pod: str) -> bool:
    logs = [
        shell.run(["kubectl", "logs", pod, "-c", mode, "--namespace", namespace], check=False).output for mode in MODES
    ]
    return all("probe: ready after" in log for log in logs)


def parse(mode: str, log: str) -> Stream:
    """One container's log: the rows, checked complete (1..N with no gap) against its summary line."""
    lines = log.splitlines()
    begins = [int(m.group(1)) / 1000 for m in map(BEGIN.match, lines) if m]
    summaries = [m for m in map(SUMMARY.match, lines) if m]
    if len(begins) != 1 or len(summaries) != 1:
        raise AssertionError(f"probe {mode}: no #begin or summary line in its log:\n{log[-2000:]}")
    begin, sent = begins[0], int(summaries[0].group(1))
    rows = [m for m in map(ROW.match, lines) if m]
    if [int(m.group(1)) for m in rows] != list(range(1, sent + 1)):
        raise AssertionError(f"probe {mode}: {len(rows)} rows for {sent} requests sent")
    return Stream(
        mode,
        [
            Request(begin + float(m.group(2)) / 1000, float(m.group(3)), int(m.group(4)), m.group(5).replace('""', '"'))
            for m in rows
        ],
    )


@contextlib.contextmanager
def running(
    shell: Shell,
    namespace: str = NAMESPACE,
    url: str = URL,
    *,
    label: str = CLIENT,
    rate: int = 20,
    seconds: int = 110,
    name: str = "probe",
) -> Iterator[Probe]:
    """A probe pod sending to `url` for the block (both modes answering before it starts), read when it ends."""
    shell.run(
        ["kubectl", "create", "--namespace", namespace, "-f", "-", "-o", "name"],
        input=json.dumps(_pod(name, label, url, rate, seconds)),
    )
    probe = Probe(shell, namespace, name)
    followers: list[subprocess.Popen[str]] = []
    try:
        deadline = time.monotonic() + READY_SECONDS + 60
        while not _ready(shell, namespace, name):
            if time.monotonic() > deadline:
                raise AssertionError(f"probe pod {name} did not answer within {READY_SECONDS + 60}s")
            time.sleep(0.5)
        yield probe
        # Follow each container's log before the pod is deleted: the results are printed on SIGTERM.
        for mode in MODES:
            followers.append(
                subprocess.Popen(
                    ["kubectl", "logs", "--follow", name, "-c", mode, "--namespace", namespace],
                    env=shell.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        time.sleep(0.5)
    finally:
        shell.run(["kubectl", "delete", "pod", name, "--namespace", namespace, "--wait=false"], check=False)
    for mode, follower in zip(MODES, followers, strict=True):
        log, _ = follower.communicate(timeout=STOP_SECONDS + 15)
        probe.streams[mode] = parse(mode, log)
    shell.run(["kubectl", "wait", "--for=delete", f"pod/{name}", "--namespace", namespace, "--timeout=60s"])


def selector_color(shell: Shell, namespace: str = NAMESPACE, app: str = APP) -> str:
    """The color the app's Service selects in the cluster now."""
    service = shell.kubectl_json("get", "service", app, "--namespace", namespace)
    return str(service["spec"]["selector"]["color"])


@dataclass(frozen=True)
class Outcome:
    """One mode's traffic around one switch (times in seconds from the selector write, as the watch saw it)."""

    mode: str
    sent: int
    failed: int
    answers: dict[str, int]
    colors: list[str]
    moved_s: float | None
    """When the new color first answered."""
    old_last_s: float | None
    """When the old color last answered (negative: before the switch)."""
    both_s: float | None
    """How long both versions answered: from the new color's first answer to the old color's last."""
    failures: list[str]

    def row(self, case: str) -> str:
        def sec(value: float | None) -> str:
            return "-" if value is None else f"{value:+.2f}"

        both = "-" if self.both_s is None else f"{max(self.both_s, 0.0):.2f}"
        answers = " / ".join(f"{n} {c}" for c, n in self.answers.items())
        return (
            f"| {case} | {self.mode} | {self.sent} | {self.failed} | {answers} | {sec(self.moved_s)} | "
            f"{sec(self.old_last_s)} | {both} |"
        )


TABLE_HEADER: Final = (
    "| case | client | requests | failed | answers | new color's first answer (s after the write) | "
    "old color's last answer | both answered (s) |\n|---|---|---:|---:|---|---:|---:|---:|"
)


def outcome(stream: Stream, switched_at: float | None, old: str, new: str) -> Outcome:
    """`switched_at`: Unix time the selector moved to `new` (None: it never did)."""
    zero = switched_at if switched_at is not None else stream.requests[0].start
    first_new = stream.first(new, after=zero) if switched_at is not None else None
    last_old = stream.last(old)
    return Outcome(
        mode=stream.mode,
        sent=len(stream.requests),
        failed=len(stream.failed),
        answers={c: stream.count(c) for c in (old, new)},
        colors=stream.colors(),
        moved_s=None if first_new is None else round(first_new - zero, 2),
        old_last_s=None if last_old is None or switched_at is None else round(last_old - zero, 2),
        both_s=None if first_new is None or last_old is None else round(last_old - first_new, 2),
        failures=[f"{r.start - zero:+.2f}s {r.status} {r.answer}" for r in stream.failed][:10],
    )


def plot(streams: Sequence[Stream], marks: dict[str, float], path: Path, title: str) -> None:
    """Answers per color (and failures) per 100 ms, stacked, one panel per client mode, each mark a vertical line.

    Times are seconds from the first request; `marks` maps a label to its Unix time.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    zero = min(s.requests[0].start for s in streams)
    end = max(s.requests[-1].start for s in streams) - zero
    bins = int(end / BIN_SECONDS) + 1
    figure, axes = pyplot.subplots(len(streams), 1, figsize=(10, 2.6 * len(streams)), sharex=True, squeeze=False)
    styles = {"blue": "tab:blue", "green": "tab:green", None: "tab:red"}
    for axis, stream in zip(axes[:, 0], streams, strict=True):
        x = [i * BIN_SECONDS for i in range(bins)]
        bottom = [0] * bins
        for color, shade in styles.items():
            counts = [0] * bins
            for r in stream.requests:
                if r.color == color:
                    counts[min(int((r.start - zero) / BIN_SECONDS), bins - 1)] += 1
            label = color or "failed"
            axis.bar(x, counts, width=BIN_SECONDS, align="edge", bottom=bottom, color=shade, label=label)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        for text, at in marks.items():
            axis.axvline(at - zero, color="black", linestyle="--", linewidth=1)
            axis.text(at - zero, axis.get_ylim()[1] * 0.92, f" {text}", fontsize=8, va="top")
        axis.set_ylabel(f"{stream.mode}\nanswers / 100 ms")
        axis.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds from the probe's first request")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    pyplot.close(figure)
