"""Paths and process helpers shared by the toolchain and the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
STATE_DIR = CHECKOUT / ".e2e"  # git-ignored: kubeconfig, env file, PULUMI_HOME, kwok's work dir
HEARTBEAT_SECONDS = 60


def backend_url(folder: Path) -> str:
    """The README's file backend URL for state under `folder` (`metadata=skip`: no metadata file a kill can cut)."""
    return f"file://{folder}?metadata=skip"


BUILD_TIMEOUT_SECONDS = 3600
"""A logged command (a build) still running after this long is stopped: one cold build takes minutes."""
_LOG_TAIL_LINES = 30


class E2EError(Exception):
    """A failure worth one line to the user; the modules' entry points print it and exit 1."""


def cache_root() -> Path:
    """The per-user cache (read at call time so a scratch XDG_CACHE_HOME takes effect)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bluegreen"


def say(message: str) -> None:
    print(message, flush=True)


def run(
    cmd: Sequence[str | Path],
    *,
    what: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
    timeout: float | None = None,
    capture: bool = False,
) -> str:
    """Run cmd and return its stdout.

    With log, output goes to that file (appended, stdout only without capture) and a heartbeat line is printed every
    HEARTBEAT_SECONDS, so a slow build shows progress; on failure the log's tail is printed. Either way a failure
    raises one E2EError naming `what` and the command.
    """
    argv = [str(arg) for arg in cmd]
    shown = " ".join(argv)
    if log is None:
        try:
            done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise E2EError(f"{what}: `{shown}` failed: {err}") from err
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise E2EError(f"{what}: `{shown}` exited {done.returncode}: {detail[-1] if detail else 'no output'}")
        return done.stdout

    started = time.monotonic()
    with log.open("a") as out, tempfile.TemporaryFile("w+") as captured:
        out.write(f"$ {shown}\n")
        out.flush()
        try:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=captured if capture else out, stderr=out)
        except OSError as err:
            raise E2EError(f"{what}: `{shown}` failed: {err}") from err
        limit = timeout or BUILD_TIMEOUT_SECONDS
        while True:
            try:
                code = proc.wait(timeout=HEARTBEAT_SECONDS)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed > limit:
                    proc.kill()
                    proc.wait()
                    why = f"still running after {limit:.0f} s: stopped (log: {log})"
                    raise E2EError(f"{what}: `{shown}` {why}") from None
                say(f"  {what}: still running after {elapsed:.0f} s: {' '.join(argv[:3])}")
        captured.seek(0)
        stdout = captured.read()
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        print("\n".join(f"  | {line}" for line in tail), file=sys.stderr, flush=True)
        raise E2EError(f"{what}: `{shown}` exited {code} (full log: {log})")
    return stdout
