"""A no-change `pulumi preview` and `pulumi up` through the real engine, with N apps in one stack, per added app.

`python -m bench.engine_scale [--scale 1,10,50] [--runs 3]` needs `make cluster NODE=real` first. On a
copy of the checkout it grows one stack, `scale` in namespace bluegreen-scale, through each N in turn:
apps app01..appN from `bluegreen:apps`, blueReplicas and greenReplicas 1, idleReplicas 0, cpuRequest
10m, the e2e's echo image, no frontend, preSwitchGate at its default. One `pulumi up --yes
--skip-preview` reaches N (its seconds reported, not in the medians), then R no-change `pulumi preview`
and R no-change `pulumi up --yes --skip-preview` run, each timed from start to end. Each run prints as
it ends; the table of medians and the per-added-app cost between consecutive N go to
.e2e/bench-engine-scale.md. The stack is destroyed at the end (unprotected first, as
e2e.project.tear_down does). It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.engine import ROOT, Timed, run_timed, say

STACK = "scale"
NAMESPACE = "bluegreen-scale"
TABLE = ROOT / ".e2e" / "bench-engine-scale.md"
SAMPLES = ROOT / ".e2e" / "bench-engine-scale.json"
LOG = ROOT / ".e2e" / "bench-engine-scale.log"


def app_name(i: int) -> str:
    return f"app{i:02d}"


def stack_config(apps: int, image: str) -> dict[str, Any]:
    """The `scale` stack's config for `apps` apps: small, alike, each its own name."""
    return {
        "bluegreen:namespace": NAMESPACE,
        "bluegreen:containerPort": "5678",
        "bluegreen:args": ["-listen=:{port}", "-text={version} ({color})"],
        "bluegreen:blueReplicas": "1",
        "bluegreen:greenReplicas": "1",
        "bluegreen:idleReplicas": "0",
        # 50 apps at the default 50m would ask for more CPU than the 2-core node has: pods stay Pending.
        "bluegreen:cpuRequest": "10m",
        # Pulumi.yaml requires these at the top level; every entry falls back to them.
        "bluegreen:activeColor": "blue",
        "bluegreen:blueImage": image,
        "bluegreen:greenImage": image,
        "bluegreen:blueVersion": "1.1",
        "bluegreen:greenVersion": "1.2",
        "bluegreen:apps": [{"name": app_name(i)} for i in range(1, apps + 1)],
    }


@dataclass
class Step:
    apps: int
    create_seconds: float = 0.0
    create_returncode: int = 0
    preview: list[float] = field(default_factory=list)
    up: list[float] = field(default_factory=list)
    failed: int = 0


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def per_app(steps: list[Step]) -> list[tuple[str, float | None, float | None]]:
    """Seconds per added app between consecutive N: (span, preview, up), from the medians."""
    out = []
    for low, high in itertools.pairwise(steps):
        added = high.apps - low.apps
        costs = []
        for what in ("preview", "up"):
            a, b = _median(getattr(low, what)), _median(getattr(high, what))
            costs.append(None if a is None or b is None or added <= 0 else (b - a) / added)
        out.append((f"{low.apps} -> {high.apps} ({added} added)", costs[0], costs[1]))
    return out


def table(steps: list[Step], runs: int, seconds: float) -> str:
    rows = [
        f"{runs} runs each; one stack grown through each N in turn; seconds from each command's "
        f"start to its end. The bench took {seconds / 60:.0f} min.",
        "",
        "| apps | create/grow up, s | pulumi preview (no change), s: median (min-max) "
        "| pulumi up --skip-preview (no change), s: median (min-max) | failed |",
        "|---:|---:|---:|---:|---:|",
    ]
    for step in steps:
        grown = f"{step.create_seconds:.0f}" + ("" if step.create_returncode == 0 else " (failed)")
        rows.append(f"| {step.apps} | {grown} | {_cell(step.preview)} | {_cell(step.up)} | {step.failed} |")
    rows += ["", "| per added app | preview, s/app | up, s/app |", "|---|---:|---:|"]
    for span, preview, up in per_app(steps):
        cells = ["-" if v is None else f"{v:.3f}" for v in (preview, up)]
        rows.append(f"| {span} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


class ScaleBench:
    def __init__(self, runs: int) -> None:
        from e2e import cluster, node
        from e2e.conftest import Shell
        from e2e.env import STATE_DIR, backend_url

        self.runs = runs
        machine_netns = node.enter()
        env = {**os.environ, **cluster.environment()}
        env["PULUMI_BACKEND_URL"] = backend_url(STATE_DIR / "state")
        env["PULUMI_CONFIG_PASSPHRASE"] = "e2e"
        self.shell = Shell(env, machine_netns)

    def setup(self) -> None:
        from e2e.conftest import TRANSCRIPT
        from e2e.env import STATE_DIR
        from e2e.project import Project, copy_checkout

        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        self.work = Project(self.shell, root=STATE_DIR / "work" / "bench-scale")
        self.work.files = copy_checkout(self.work.root)
        self.work.make("stack", f"STACK={STACK}")
        self.env = {**self.shell.env, **self.work.env}

    def configure(self, apps: int) -> None:
        """Write the stack file for `apps` apps, keeping what `pulumi stack init` wrote (its salt)."""
        from e2e import images

        path = self.work.root / f"Pulumi.{STACK}.yaml"
        kept = [line for line in path.read_text().splitlines() if line.startswith("encryptionsalt:")]
        # JSON is YAML: the config block as one flow mapping, exact whatever the values hold.
        path.write_text("\n".join([*kept, "config: " + json.dumps(stack_config(apps, images.ECHO))]) + "\n")

    def pulumi(self, *args: str) -> list[str]:
        return ["pulumi", *args, "--stack", STACK, "--non-interactive"]

    def run(self, args: list[str]) -> Timed:
        done = run_timed(args, self.work.root, self.env)
        with LOG.open("a") as out:
            out.write(f"\n$ {done.command}\n" + "".join(f"{at:7.2f} {line}\n" for at, line in done.lines))
        if done.returncode != 0:
            say("    " + "\n    ".join(line for _, line in done.lines[-15:]))
        return done

    def step(self, apps: int) -> Step:
        step = Step(apps)
        self.configure(apps)
        grown = self.run(self.pulumi("up", "--yes", "--skip-preview"))
        step.create_seconds, step.create_returncode = grown.seconds, grown.returncode
        say(f"{apps} apps: up to {apps} apps took {grown.seconds:.1f} s, exit {grown.returncode}")
        if grown.returncode != 0:
            return step
        for label, what, args in (
            ("pulumi preview", step.preview, self.pulumi("preview")),
            ("pulumi up --skip-preview", step.up, self.pulumi("up", "--yes", "--skip-preview")),
        ):
            for i in range(self.runs):
                done = self.run(args)
                if done.returncode == 0:
                    what.append(done.seconds)
                else:
                    step.failed += 1
                say(f"  {apps} apps, {label} (no change) #{i + 1}: {done.seconds:.2f} s, exit {done.returncode}")
        say(f"{apps} apps: preview {_cell(step.preview)} s, up {_cell(step.up)} s")
        return step

    def tear_down(self) -> None:
        self.work.pulumi("state", "unprotect", "--all", "--yes", stack=STACK, check=False)
        self.work.pulumi("destroy", "--yes", "--remove", stack=STACK, check=False)


def _save(steps: list[Step], runs: int, seconds: float) -> None:
    data = {"runs": runs, "seconds": seconds, "steps": [vars(step) for step in steps]}
    SAMPLES.write_text(json.dumps(data, indent=1) + "\n")


def _publish(steps: list[Step], runs: int, seconds: float) -> None:
    report = table(steps, runs, seconds)
    say("\n" + report)
    TABLE.write_text(report + "\n")
    say(f"\nwritten: {TABLE.relative_to(ROOT)} (samples: {SAMPLES.relative_to(ROOT)})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1,10,50", help="app counts, ascending, comma-separated (default 1,10,50)")
    parser.add_argument("--runs", type=int, default=3, help="no-change runs per command per N (default 3)")
    parser.add_argument("--report-only", action="store_true", help=f"render the table again from {SAMPLES.name}")
    options = parser.parse_args(argv)
    if options.report_only:
        data = json.loads(SAMPLES.read_text())
        _publish([Step(**step) for step in data["steps"]], data["runs"], data["seconds"])
        return
    counts = [int(n) for n in options.scale.split(",")]
    if counts != sorted(set(counts)) or counts[0] < 1:
        raise SystemExit(f"bench.engine_scale: --scale {options.scale}: give ascending app counts >= 1, e.g. 1,10,50")
    from e2e import cluster

    if not cluster.is_real():
        raise SystemExit("bench.engine_scale: no real node is up: run `make cluster NODE=real` first")
    bench = ScaleBench(options.runs)
    started = time.monotonic()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    say(f"bench.engine_scale: apps {counts}, {options.runs} runs each, one stack `{STACK}` in {NAMESPACE}")
    steps: list[Step] = []
    try:
        bench.setup()
        for apps in counts:
            steps.append(bench.step(apps))
            _save(steps, options.runs, time.monotonic() - started)
            if steps[-1].create_returncode != 0:
                break
    finally:
        if hasattr(bench, "work"):
            destroy_started = time.monotonic()
            bench.tear_down()
            say(f"destroyed the stack in {time.monotonic() - destroy_started:.0f} s")
    _save(steps, options.runs, time.monotonic() - started)
    _publish(steps, options.runs, time.monotonic() - started)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
