"""Time and memory of evaluating the program, whole process, against the floor of its imports.

`python -m bench.run [--runs N]` prints a Markdown table: median wall time and median peak RSS of
N runs for the floor, the dev stack and 1, 10, 50 and 200 apps; each row's ratio to the floor;
the marginal cost per app between app counts; and a control row, the SDK's own cost for as many
minimal registrations as 200 apps make. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ("floor", "dev", "1", "10", "50", "200", "control-200")


def _once(case: str) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one `bench.evaluate` process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bench.evaluate", case], cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench.evaluate {case} exited {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


LABELS = {
    "floor": "floor (imports only)",
    "dev": "dev stack",
    "control-200": "SDK control: 200 x 8 one-line ConfigMaps",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per case; medians are reported (default 7)")
    runs = parser.parse_args(argv).runs
    say = partial(print, flush=True)  # each row as its case finishes: a long run shows its progress
    say(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {runs} runs")
    say()
    say("| case | wall ms (median) | x floor | peak RSS MiB | x floor | ms per added app | KiB per added app |")
    say("|---|---:|---:|---:|---:|---:|---:|")
    floor: tuple[float, float] | None = None
    previous: tuple[int, float, float] | None = None
    for case in CASES:
        samples = [_once(case) for _ in range(runs)]
        wall, rss = statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)
        floor = floor or (wall, rss)
        marginal = ("", "")
        if case.isdigit():
            apps = int(case)
            if previous is not None:
                d_apps = apps - previous[0]
                marginal = (f"{(wall - previous[1]) * 1000 / d_apps:.1f}", f"{(rss - previous[2]) * 1024 / d_apps:.0f}")
            previous = (apps, wall, rss)
        label = LABELS.get(case, f"{case} app{'' if case == '1' else 's'}")
        say(
            f"| {label} | {wall * 1000:.0f} | {wall / floor[0]:.2f} | {rss:.1f} | {rss / floor[1]:.2f} "
            f"| {marginal[0]} | {marginal[1]} |"
        )


if __name__ == "__main__":
    main()
