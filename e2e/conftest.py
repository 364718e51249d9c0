"""The end-to-end suite's harness: the real CLI against the local cluster, a transcript and a report.

Run by `make e2e` after `make toolchain` and `make cluster`; without a running cluster every
scenario is skipped with the reason. Each command is printed with its time, and written with its
whole output to `.e2e/transcript.txt`; `.e2e/report.json` gets every scenario's outcome and
seconds, and the tools' versions.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e import cluster, node, toolchain
from e2e.env import CHECKOUT, STATE_DIR, backend_url

REPORT = STATE_DIR / "report.json"
TRANSCRIPT = STATE_DIR / "transcript.txt"
COMMAND_TIMEOUT_SECONDS = 600
REQUIRED = "BLUEGREEN_E2E_REQUIRED"
"""Set by make e2e: a missing cluster fails the run instead of skipping every scenario."""
_results: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Done:
    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Shell:
    """Runs the real tools with the cluster's environment, printing each command and its time."""

    def __init__(self, env: Mapping[str, str], machine_netns: str | None = None) -> None:
        self.env = dict(env)
        # With a real node, this process runs in its network namespace; this path names the machine's.
        self.machine_netns = machine_netns

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path = CHECKOUT,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> Done:
        command = shlex.join(args)
        start = time.monotonic()
        done = subprocess.run(
            list(args),
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            input=input,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        result = Done(command, done.returncode, done.stdout, done.stderr, time.monotonic() - start)
        where = os.path.relpath(cwd, CHECKOUT)
        header = f"$ {command}   [{where}, exit {done.returncode}, {result.seconds:.1f}s]"
        print(f"\n  {header}", flush=True)
        # Every command's whole output, for reading after a run; never what a read of Secrets printed.
        shown = "(output not kept: it holds Secrets)\n" if any("secret" in arg for arg in args) else result.output
        with TRANSCRIPT.open("a") as transcript:
            transcript.write(f"{header}\n{shown}\n")
        if check and done.returncode != 0:
            raise AssertionError(f"{command} exited {done.returncode}:\n{result.output[-4000:]}")
        return result

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.run(["kubectl", *args, "-o", "json"]).stdout)


@pytest.fixture(scope="session")
def shell() -> Shell:
    if not cluster.is_up():
        if os.environ.get(REQUIRED):
            pytest.fail("no local cluster, though make e2e started one", pytrace=False)
        pytest.skip("no local cluster: run make e2e (or make cluster first)")
    machine_netns = node.enter() if cluster.is_real() else None  # the watch and the probes run in this process
    env = {**os.environ, **cluster.environment()}
    env["PULUMI_BACKEND_URL"] = backend_url(STATE_DIR / "state")
    env["PULUMI_CONFIG_PASSPHRASE"] = "e2e"
    (STATE_DIR / "state").mkdir(parents=True, exist_ok=True)
    return Shell(env, machine_netns)


@pytest.fixture(scope="session", autouse=True)
def report() -> Iterator[None]:
    start = time.monotonic()
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    TRANSCRIPT.write_text("")
    yield
    versions = toolchain.versions() if cluster.is_up() else {}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps({"seconds": round(time.monotonic() - start, 1), "tools": versions, "scenarios": _results}, indent=2)
        + "\n"
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _results.append({"scenario": report.nodeid, "outcome": report.outcome, "seconds": round(report.duration, 1)})
        print(f"\n== {report.nodeid}: {report.outcome} in {report.duration:.1f}s", file=sys.stderr, flush=True)
