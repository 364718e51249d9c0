"""Cutover through the real engine, on the real node: how long until the selector moves, and until the command ends.

`python -m bench.engine [--runs N]` needs `make cluster NODE=real` first. On a copy of the checkout
(e2e.project.on_the_real_node, then `make up YES=1`) it cuts over N times per row, alternating the
color, and times each command from its start to the Service's selector write (as an API watch in this
process sees it) and to the command's end:

1. `pulumi up --yes --config bluegreen:activeColor=C` (preview, then update)
2. the same with `--skip-preview`
3. `make cutover COLOR=C YES=1` (bgctl: the policy-checked preview, then pulumi up)
4. the floor: one `kubectl patch` of the selector (the stack is put back in line afterwards, untimed)
5. `bgctl rollback --now --yes`, when the stack's bgctl has it

and rows 1 and 2 again with `bluegreen:recycleOldPods false`. Each run's numbers print as it ends, then
a Markdown table of medians (min-max) and their ratio to the floor's, written to .e2e/bench-engine.md,
and a bar chart to docs/images/bench-engine.png. Where a pulumi up's time goes is read from the
moments its output lines arrive. It measures; it asserts nothing. The stack is destroyed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bluegreen-dev"
SERVICE = "backend"
COMMAND_TIMEOUT_SECONDS = 600
"""Any one command is stopped after this long (a default cutover takes about a minute)."""
TABLE = ROOT / ".e2e" / "bench-engine.md"
LOG = ROOT / ".e2e" / "bench-engine.log"
SAMPLES = ROOT / ".e2e" / "bench-engine.json"
CHART = ROOT / "docs" / "images" / "bench-engine.png"
say = partial(print, flush=True)  # each run's numbers as it ends: a long bench shows its progress


def other(color: str) -> str:
    return "green" if color == "blue" else "blue"


@dataclass(frozen=True)
class Timed:
    """One command: exit code, seconds to its end, and each output line with the second it arrived."""

    command: str
    returncode: int
    seconds: float
    lines: list[tuple[float, str]]

    def first(self, pattern: str) -> tuple[float, str] | None:
        found = re.compile(pattern)
        return next(((at, line) for at, line in self.lines if found.search(line)), None)


def run_timed(args: Sequence[str], cwd: Path, env: dict[str, str], start: float | None = None) -> Timed:
    """Run `args`, stamping each output line (stdout and stderr merged) on arrival; stopped after the limit."""
    start = time.monotonic() if start is None else start
    process = subprocess.Popen(
        list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    killer = threading.Timer(COMMAND_TIMEOUT_SECONDS, process.kill)
    killer.start()
    lines: list[tuple[float, str]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))
        returncode = process.wait()
    finally:
        killer.cancel()
    return Timed(shlex.join(args), returncode, time.monotonic() - start, lines)


@dataclass
class Sample:
    color: str
    to_switch: float | None  # None: the watch never saw the selector move
    to_end: float
    returncode: int
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    key: str
    label: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    def values(self, what: Callable[[Sample], float | None]) -> list[float]:
        return [v for v in map(what, self.samples) if v is not None]


def _median_range(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _ratio(values: list[float], floor: list[float]) -> str:
    if not values or not floor or statistics.median(floor) <= 0:
        return "-"
    return f"{statistics.median(values) / statistics.median(floor):.0f}"


def table(rows: list[Row]) -> str:
    floor = next((row for row in rows if row.key == "floor"), None)
    to_switch_floor = floor.values(lambda s: s.to_switch) if floor else []
    to_end_floor = floor.values(lambda s: s.to_end) if floor else []
    out = [
        "| row | runs | to selector write, s: median (min-max) | x floor | to command end, s: median (min-max) "
        "| x floor | failed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.note and not row.samples:
            out.append(f"| {row.label} | 0 | {row.note} | | | | |")
            continue
        switch, end = row.values(lambda s: s.to_switch), row.values(lambda s: s.to_end)
        failed = sum(1 for s in row.samples if s.returncode != 0 or s.to_switch is None)
        out.append(
            f"| {row.label} | {len(row.samples)} | {_median_range(switch)} | {_ratio(switch, to_switch_floor)} "
            f"| {_median_range(end)} | {_ratio(end, to_end_floor)} | {failed} |"
        )
    return "\n".join(out)


PHASES = (
    ("start", "update", "start -> update begins (process start-up, preview)"),
    ("update", "service", "-> engine reaches the Service (program run)"),
    ("service", "switch", "-> selector write (pre-switch gate, the write)"),
    ("switch", "confirmed", "-> endpoints confirmed"),
    ("confirmed", "replacing", "-> old pods start being replaced (scaleDownDelaySeconds)"),
    ("replacing", "recycle", "-> old pods replaced, one at a time"),
    ("recycle", "end", "-> command end"),
)
MARKS = (
    # pulumi's own lines, or bgctl's (make cutover)
    ("update", r"^Updating \(|running pulumi up"),
    ("service", r"Service backend updating|update +kubernetes:core/v1:Service backend$"),
    ("confirmed", r"after the switch: Service .* sends traffic"),
    ("recycle", r"after the switch: replaced"),
)


def phase_table(rows: list[Row]) -> str:
    """Median seconds between the moments a pulumi up's output (and the watch) mark."""
    out = ["| row | " + " | ".join(label for _, _, label in PHASES) + " |", "|---|" + "---:|" * len(PHASES)]
    for row in rows:
        if not row.key.startswith(("up", "cutover")) or not row.samples:
            continue
        cells = []
        for begin, end, _ in PHASES:
            spans = [s.phases[end] - s.phases[begin] for s in row.samples if begin in s.phases and end in s.phases]
            cells.append(f"{statistics.median(spans):.1f}" if spans else "-")
        out.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _phases(lines: list[tuple[float, str]], seconds: float, to_switch: float | None) -> dict[str, float]:
    """The moments (seconds from the start) that output lines mark, each when its line arrived; the selector
    write comes from the watch."""
    marks = {"start": 0.0, "end": seconds}
    if to_switch is not None:
        marks["switch"] = to_switch
    for key, pattern in MARKS:
        found = re.compile(pattern)
        if hit := next((at for at, line in lines if found.search(line)), None):
            marks[key] = hit
    replaced = re.compile(r"after the switch: replaced .* one at a time in ([\d.]+)s")
    if took := next((float(m.group(1)) for _, line in lines if (m := replaced.search(line))), None):
        marks["replacing"] = marks["recycle"] - took  # the hook's own count of its replacing
    if "recycle" not in marks and "confirmed" in marks:
        marks["recycle"] = marks["replacing"] = marks["confirmed"]  # nothing recycled: those phases are empty
    return marks


def _logged() -> list[list[tuple[float, str]]]:
    """Each timed command's stamped lines from LOG, in the order they ran."""
    entries: list[list[tuple[float, str]]] = []
    for line in LOG.read_text().splitlines():
        if line.startswith("$ "):
            entries.append([])
        elif entries and line[:8].strip():
            entries[-1].append((float(line[:7]), line[8:]))
    return entries


class Bench:
    def __init__(self, runs: int) -> None:
        from e2e import cluster, node
        from e2e.conftest import Shell
        from e2e.env import STATE_DIR, backend_url

        self.runs = runs
        self.kubeconfig = cluster.KUBECONFIG
        machine_netns = node.enter()  # before any thread: the watch and kubectl reach the node from here
        env = {**os.environ, **cluster.environment()}
        env["PULUMI_BACKEND_URL"] = backend_url(STATE_DIR / "state")
        env["PULUMI_CONFIG_PASSPHRASE"] = "e2e"
        self.shell = Shell(env, machine_netns)
        self.color = "blue"  # the dev stack's activeColor after make up

    def setup(self) -> None:
        from e2e.conftest import TRANSCRIPT
        from e2e.project import on_the_real_node

        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        self.work = on_the_real_node(self.shell, "bench")
        self.work.make("up", "YES=1")
        self.env = {**self.shell.env, **self.work.env}
        self._rolled_out()

    def tear_down(self) -> None:
        from e2e.project import tear_down

        tear_down(self.work)

    def _rolled_out(self) -> None:
        for color in ("blue", "green"):
            self.shell.run(
                ["kubectl", "rollout", "status", f"deployment/{SERVICE}-{color}", "-n", NAMESPACE, "--timeout=180s"]
            )

    def pulumi(self, *args: str) -> list[str]:
        return ["pulumi", *args, "--stack", "dev", "--non-interactive"]

    def timed(self, args: Sequence[str], target: str) -> tuple[Timed, float | None]:
        """Run a cutover command under a watch; seconds from its start to the selector write seen for `target`."""
        from e2e.watch import Watch

        with Watch(self.kubeconfig, NAMESPACE) as events:
            start = time.monotonic()  # the watch stamps events with this same clock
            done = run_timed(args, self.work.root, self.env, start)
            written = events.first(
                lambda e: e.kind == "Service" and e.name == SERVICE and e.selector == target, after=start
            )
        return done, None if written is None else written - start

    def put_in_line(self, color: str) -> None:
        """The stack's config and state to `color`, whatever the cluster says now (untimed)."""
        self.shell.run(
            self.pulumi("up", "--yes", "--skip-preview", "--refresh", "--config", f"bluegreen:activeColor={color}"),
            cwd=self.work.root,
            env=self.work.env,
        )

    def command(self, key: str, target: str) -> list[str]:
        flag = f"bluegreen:activeColor={target}"
        bgctl = str(self.work.root / ".venv" / "bin" / "bgctl")
        return {
            "up": self.pulumi("up", "--yes", "--config", flag),
            "up-skip": self.pulumi("up", "--yes", "--skip-preview", "--config", flag),
            "up-norecycle": self.pulumi("up", "--yes", "--config", flag),
            "up-skip-norecycle": self.pulumi("up", "--yes", "--skip-preview", "--config", flag),
            "cutover": ["make", "--no-print-directory", "cutover", f"COLOR={target}", "YES=1"],
            "floor": [
                "kubectl",
                "patch",
                "service",
                SERVICE,
                "-n",
                NAMESPACE,
                "-p",
                f'{{"spec":{{"selector":{{"app":"{SERVICE}","color":"{target}"}}}}}}',
            ],
            "rollback-now": [bgctl, "rollback", "--now", "--yes"],
        }[key]

    def run_row(self, row: Row) -> None:
        for i in range(self.runs):
            target = other(self.color)
            done, to_switch = self.timed(self.command(row.key, target), target)
            phases = _phases(done.lines, done.seconds, to_switch)
            sample = Sample(target, to_switch, done.seconds, done.returncode, phases)
            row.samples.append(sample)
            with LOG.open("a") as out:  # every line with the second it arrived, for reading afterwards
                out.write(f"\n$ {done.command}\n" + "".join(f"{at:7.2f} {line}\n" for at, line in done.lines))
            seen = "not seen" if to_switch is None else f"{to_switch:.2f} s"
            say(
                f"  {row.label} #{i + 1} -> {target}: selector {seen}, end {done.seconds:.2f} s, exit {done.returncode}"
            )
            if done.returncode != 0:
                say("    " + "\n    ".join(line for _, line in done.lines[-15:]))
            if row.key == "floor" or done.returncode != 0:
                self.put_in_line(target if to_switch is not None else self.color)
            if to_switch is not None:
                self.color = target
        switch, end = row.values(lambda s: s.to_switch), row.values(lambda s: s.to_end)
        say(f"{row.label}: to selector {_median_range(switch)} s, to end {_median_range(end)} s")

    def recycle(self, on: bool) -> None:
        """Set bluegreen:recycleOldPods and settle the stack on it (untimed)."""
        if on:
            self.work.pulumi("config", "rm", "bluegreen:recycleOldPods")
        else:
            self.work.pulumi("config", "set", "bluegreen:recycleOldPods", "false")
        self.put_in_line(self.color)

    def overheads(self) -> dict[str, list[float]]:
        """Process start-up and a no-change preview: what every pulumi command pays before it does anything."""
        found: dict[str, list[float]] = {"pulumi version": [], "pulumi preview (no change)": []}
        for _ in range(self.runs):
            for label, args in (
                ("pulumi version", ["pulumi", "version"]),
                ("pulumi preview (no change)", self.pulumi("preview")),
            ):
                done = run_timed(args, self.work.root, self.env)
                found[label].append(done.seconds)
        return found


ROWS = (
    ("up", "pulumi up (preview, then update)"),
    ("up-skip", "pulumi up --skip-preview"),
    ("cutover", "make cutover (bgctl: policy-checked preview, then up)"),
    ("floor", "floor: kubectl patch of the selector"),
    ("rollback-now", "bgctl rollback --now --yes"),
    ("up-norecycle", "pulumi up, recycleOldPods false"),
    ("up-skip-norecycle", "pulumi up --skip-preview, recycleOldPods false"),
)


def chart(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [row for row in rows if row.samples]
    labels = [row.label.replace(" (", "\n(").replace(", ", ",\n") for row in shown]
    switch = [statistics.median(row.values(lambda s: s.to_switch) or [0.0]) for row in shown]
    end = [statistics.median(row.values(lambda s: s.to_end) or [0.0]) for row in shown]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    y = range(len(shown))
    ax.barh([i + 0.2 for i in y], end, height=0.4, label="to command end", color="#9bb7d4")
    ax.barh([i - 0.2 for i in y], switch, height=0.4, label="to selector write (traffic moves)", color="#1f5f99")
    for i, (s, e) in enumerate(zip(switch, end, strict=True)):
        ax.text(s, i - 0.2, f" {s:.2f}" if s < 1 else f" {s:.1f}", va="center", fontsize=8)
        ax.text(e, i + 0.2, f" {e:.2f}" if e < 1 else f" {e:.1f}", va="center", fontsize=8)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds from the command's start (median)")
    ax.set_title("Cutover through the real engine, on the real node")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(runs: int, seconds: float, rows: list[Row], overheads: dict[str, list[float]]) -> str:
    return "\n\n".join(
        [
            f"{runs} runs per row, alternating blue/green; seconds from each command's start. "
            f"The bench took {seconds / 60:.0f} min.",
            table(rows),
            "Where a cutover's time goes (medians, s; each mark is when its output line arrived):",
            phase_table(rows),
            "| process overhead | median s (min-max) |\n|---|---:|\n"
            + "\n".join(f"| {label} | {_median_range(values)} |" for label, values in overheads.items()),
        ]
    )


def _save(runs: int, seconds: float, rows: list[Row], overheads: dict[str, list[float]]) -> None:
    data = {"runs": runs, "seconds": seconds, "rows": [asdict(row) for row in rows], "overheads": overheads}
    SAMPLES.write_text(json.dumps(data, indent=1) + "\n")


def _load() -> tuple[int, float, list[Row], dict[str, list[float]]]:
    data = json.loads(SAMPLES.read_text())
    rows = [Row(r["key"], r["label"], [Sample(**sample) for sample in r["samples"]], r["note"]) for r in data["rows"]]
    return data["runs"], data["seconds"], rows, data["overheads"]


def _replayed() -> tuple[int, float, list[Row], dict[str, list[float]]]:
    """The saved samples, their marks read again from the log (as _phases reads them now)."""
    runs, seconds, rows, overheads = _load()
    if LOG.exists():
        samples = [sample for row in rows for sample in row.samples]
        for sample, lines in zip(samples, _logged(), strict=True):
            sample.phases = _phases(lines, sample.to_end, sample.to_switch)
    return runs, seconds, rows, overheads


def _publish(runs: int, seconds: float, rows: list[Row], overheads: dict[str, list[float]]) -> None:
    report = render(runs, seconds, rows, overheads)
    say("\n" + report)
    TABLE.write_text(report + "\n")
    chart(rows, CHART)
    say(f"\nwritten: {TABLE.relative_to(ROOT)}, {CHART.relative_to(ROOT)} (samples: {SAMPLES.relative_to(ROOT)})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per row, alternating the color (default 5)")
    parser.add_argument(
        "--rows", default=",".join(key for key, _ in ROWS), help="which rows, comma-separated (default: all)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help=f"render the table and chart again from {SAMPLES.name}, no runs"
    )
    options = parser.parse_args(argv)
    if options.report_only:
        _publish(*_replayed())
        return
    from e2e import cluster

    if not cluster.is_real():
        raise SystemExit("bench.engine: no real node is up: run `make cluster NODE=real` first")
    wanted = options.rows.split(",")
    rows = [Row(key, label) for key, label in ROWS if key in wanted]
    bench = Bench(options.runs)
    started = time.monotonic()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    say(f"bench.engine: {options.runs} runs per row on the real node; setting up the stack (make up)")
    overheads: dict[str, list[float]] = {}
    try:
        bench.setup()
        help_text = run_timed([str(bench.work.root / ".venv" / "bin" / "bgctl"), "rollback", "--help"], ROOT, bench.env)
        has_now = any("--now" in line for _, line in help_text.lines)
        recycling_off = False
        for row in rows:
            if row.key == "rollback-now" and not has_now:
                row.note = "skipped: this bgctl has no rollback --now"
                say(f"{row.label}: {row.note}")
                continue
            if row.key.endswith("norecycle") and not recycling_off:
                bench.recycle(False)
                recycling_off = True
            row_started = time.monotonic()
            bench.run_row(row)
            say(f"  ({time.monotonic() - row_started:.0f} s for the row)")
            _save(options.runs, time.monotonic() - started, rows, overheads)
        if recycling_off:
            bench.recycle(True)
        overheads = bench.overheads()
    finally:
        if hasattr(bench, "work"):
            bench.tear_down()
    _save(options.runs, time.monotonic() - started, rows, overheads)
    _publish(options.runs, time.monotonic() - started, rows, overheads)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
