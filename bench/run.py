"""Time and memory of evaluating the program, whole process, against the floor of its imports and the SDK alone.

`python -m bench.run [--runs N] [--no-gc]` prints a Markdown table: median wall time and median peak
RSS of N runs for the floor, the dev stack and 1, 10, 50 and 200 apps; each row's ratio to the floor;
the marginal cost per app between app counts. Beside each of 10, 50 and 200 apps, two controls
register without the program: the program's own resource graph for as many apps (bench/shape.py),
and eight one-line ConfigMaps per app. The runs of those three are interleaved, so that a change of
load on the machine falls on all three alike. A second table splits the time per added app into the
SDK's part (the graph alone) and the program's part (the rest). `--no-gc` runs every case with
Python's cyclic garbage collector off. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 50, 200)
GROUPS: tuple[tuple[str, ...], ...] = (
    ("floor",),
    ("dev",),
    ("1",),
    *((f"{n}", f"shape-{n}", f"control-{n}") for n in SIZES),
)
"""The cases, in the order they run; the runs of a group's cases are interleaved."""


def _once(case: str, no_gc: bool = False) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one `bench.evaluate` process."""
    start = time.perf_counter()
    flags = ["--no-gc"] if no_gc else []
    process = subprocess.Popen([sys.executable, "-m", "bench.evaluate", *flags, case], cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench.evaluate {case} exited {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def _series(case: str) -> tuple[str, int | None]:
    """The series a case belongs to (its name without the app count), and its app count."""
    prefix, _, count = case.rpartition("-")
    if count.isdigit():
        return prefix, int(count)
    return ("", int(case)) if case.isdigit() else (case, None)


def _label(case: str) -> str:
    series, apps = _series(case)
    if series == "shape":
        return f"SDK alone: the program's graph of {apps} apps"
    if series == "control":
        return f"SDK alone: {apps} x 8 one-line ConfigMaps"
    if series == "":
        return f"{apps} app{'' if apps == 1 else 's'}"
    return {"floor": "floor (imports only)", "dev": "dev stack"}[case]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per case; medians are reported (default 7)")
    parser.add_argument("--no-gc", action="store_true", help="run every case with the cyclic garbage collector off")
    args = parser.parse_args(argv)
    runs = args.runs
    say = partial(print, flush=True)  # each group's rows as it finishes: a long run shows its progress
    gc_note = "; cyclic garbage collector off" if args.no_gc else ""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    say(f"machine: {machine}; {runs} runs{gc_note}")
    say()
    say("| case | wall ms (median) | x floor | peak RSS MiB | x floor | ms per added app | KiB per added app |")
    say("|---|---:|---:|---:|---:|---:|---:|")
    floor: tuple[float, float] | None = None
    previous: dict[str, tuple[int, float, float]] = {}
    per_app: dict[tuple[str, int], float] = {}  # (series, app count): ms per app added since the previous count
    for group in GROUPS:
        samples: dict[str, list[tuple[float, float]]] = {case: [] for case in group}
        for _ in range(runs):
            for case in group:
                samples[case].append(_once(case, args.no_gc))
        for case in group:
            wall = statistics.median(s[0] for s in samples[case])
            rss = statistics.median(s[1] for s in samples[case])
            floor = floor or (wall, rss)
            marginal = ("", "")
            series, apps = _series(case)
            if apps is not None:
                if series in previous:
                    last_apps, last_wall, last_rss = previous[series]
                    added = apps - last_apps
                    per_app[series, apps] = (wall - last_wall) * 1000 / added
                    marginal = (f"{per_app[series, apps]:.1f}", f"{(rss - last_rss) * 1024 / added:.0f}")
                previous[series] = (apps, wall, rss)
            say(
                f"| {_label(case)} | {wall * 1000:.0f} | {wall / floor[0]:.2f} | {rss:.1f} | {rss / floor[1]:.2f} "
                f"| {marginal[0]} | {marginal[1]} |"
            )
    say()
    say("| apps added | ms per added app | SDK alone: the program's graph | program's part | SDK alone: 8 ConfigMaps |")
    say("|---|---:|---:|---:|---:|")
    for before, after in itertools.pairwise(SIZES):
        program, graph, control = (per_app[series, after] for series in ("", "shape", "control"))
        say(f"| {before} -> {after} | {program:.1f} | {graph:.1f} | {program - graph:.1f} | {control:.1f} |")


if __name__ == "__main__":
    main()
