"""An update that died, and the one command that recovers: what `status` says and what `recover` does.

A `pulumi up` killed outright (SIGKILL, a lost machine or CI runner) leaves two things behind: the
stack's lock, which stops every later update ("the stack is currently locked"), and pending
operations, the resources it was changing when it died. Its view of the cluster is then stale: the
selector may have moved after the state last recorded it. So `status` reads what the Service selects
in the cluster itself, and `recover` clears only a lock whose process is gone from this machine,
refreshes the state from the cluster (clearing the pending operations), then runs the normal checked
`pulumi up` to the stack's config, gate included.

A kill can also cut the file backend itself. Unless its URL says `metadata=skip` (the Makefile's does),
the backend keeps a metadata file (`<file>.attrs`) beside each state file and writes it in place: a
`pulumi` killed between opening it and writing it leaves it empty, and every later command that reads
the stack fails with `failed to load checkpoint: EOF`. An empty one holds nothing (a missing one reads
as the defaults), so `recover` removes it; every other command names it and says to run `recover`.

Two bgctl commands that change traffic (cutover, rollback, recover) never run at once in one project
directory: each holds an exclusive lock on `.bgctl-<stack>.lock` beside Pulumi.yaml, so the second
stops at once, before it writes any config.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import yaml
from pulumi import automation as auto

from bluegreen.cli.errors import BgctlError
from bluegreen.cli.workspace import StackView, pulumi_errors

BOOKKEEPING_DIR: Final = ".pulumi"
"""The file backend keeps its state, history and locks under this folder of its URL's path."""
LOCK_DIR: Final = ("locks", "organization")
METADATA_SUFFIX: Final = ".attrs"
"""The file backend's metadata file beside each of its files, unless the URL says `metadata=skip`."""
COMMAND_LOCK: Final = ".bgctl-{stack}.lock"


@dataclass(frozen=True)
class StackLock:
    """One lock of the stack on the file backend: who took it."""

    path: Path
    pid: int
    user: str
    host: str
    timestamp: str

    @property
    def here(self) -> bool:
        return self.host == socket.gethostname()

    @property
    def alive(self) -> bool:
        """Its process still runs (only knowable on this machine; another host's lock counts as alive)."""
        if not self.here:
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        return f"pulumi (pid {self.pid} on {self.host}, since {self.timestamp})"


def _project_name(work_dir: Path) -> str:
    project = yaml.safe_load((work_dir / "Pulumi.yaml").read_text()) or {}
    return str(project.get("name") or "")


def file_backend(workspace: auto.Workspace, stack: str) -> Path | None:
    """The folder of the file backend the workspace logs in to (`file:///p/.pulumi?metadata=skip` gives
    /p/.pulumi), or None for any other backend."""
    with pulumi_errors(stack):
        parts = urlsplit(workspace.who_am_i().url or "")
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def cut_metadata(root: Path | None) -> list[Path]:
    """The file backend's empty metadata files: each one a `pulumi` killed while it wrote it."""
    folder = root / BOOKKEEPING_DIR if root else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob(f"*{METADATA_SUFFIX}") if path.is_file() and not path.stat().st_size)


def _named(root: Path, cut: list[Path]) -> str:
    return ", ".join(str(path.relative_to(root)) for path in cut)


def cut_metadata_error(root: Path | None, stack: str, cause: BgctlError, *, loaded: bool) -> BgctlError | None:
    """The one line for a Pulumi CLI failure while the file backend holds empty metadata files, or None when
    it holds none. Before the stack `loaded`, nothing can have changed, and the line says so."""
    cut = cut_metadata(root)
    if root is None or not cut:
        return None
    recover = (
        f"run make recover (or: bgctl recover --stack {stack}), which removes them, refreshes the state from the "
        "cluster and brings the stack to its config"
    )
    if loaded:
        return BgctlError(
            f"{cause}; the file backend at {root} holds {len(cut)} empty metadata file(s) a killed pulumi left "
            f"({_named(root, cut)}): {recover}"
        )
    return BgctlError(
        f"the state of stack {stack} cannot be read ({cause}): a pulumi killed while writing it left {len(cut)} "
        f"empty metadata file(s) in the file backend at {root} ({_named(root, cut)}); nothing changed: {recover}"
    )


def remove_cut_metadata(root: Path | None, say: Callable[[str], None]) -> None:
    """Remove the file backend's empty metadata files, saying which. Lossless: an empty one holds nothing,
    and the backend reads a missing one as the defaults."""
    cut = cut_metadata(root)
    for path in cut:
        path.unlink(missing_ok=True)
    if root is not None and cut:
        say(f"removed {len(cut)} empty metadata file(s) a killed pulumi left in the file backend: {_named(root, cut)}")


def stack_locks(view: StackView) -> list[StackLock]:
    """The stack's locks, read from the file backend (other backends report a running update themselves)."""
    root = file_backend(view.stack.workspace, view.name)
    if root is None:
        return []
    folder = root.joinpath(BOOKKEEPING_DIR, *LOCK_DIR, _project_name(view.work_dir), view.name.split("/")[-1])
    found: list[StackLock] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            content: dict[str, Any] = json.loads(path.read_text())
            found.append(
                StackLock(
                    path,
                    int(content.get("pid", 0)),
                    str(content.get("username", "")),
                    str(content.get("hostname", "")),
                    str(content.get("timestamp", "")),
                )
            )
        except (OSError, ValueError):
            continue  # written or removed under our feet: the CLI's own check decides
    return found


def pending_operations(view: StackView) -> list[str]:
    """What the last update was doing when it died: `updating Service backend`, one line each."""
    with pulumi_errors(view.name):
        state = view.stack.export_stack().deployment or {}
    lines = []
    for operation in state.get("pending_operations") or []:
        resource = operation.get("resource") or {}
        urn = str(resource.get("urn", ""))
        kind = str(resource.get("type", "")).rsplit(":", 1)[-1]
        lines.append(f"{operation.get('type', 'changing')} {kind} {urn.rsplit('::', 1)[-1]}")
    return lines


@dataclass(frozen=True)
class Interruption:
    """An update that did not finish: its stale locks (process gone) and what it was changing."""

    locks: list[StackLock]
    pending: list[str]

    def line(self, stack: str) -> str:
        who = "; ".join(f"{lock.describe()} is gone" for lock in self.locks) or "pulumi stopped"
        doing = f"; it was {', '.join(self.pending)}" if self.pending else ""
        return f"the last update of stack {stack} did not finish: {who}{doing}"


def running_update(view: StackView) -> StackLock | None:
    """A lock whose process still runs (on this machine, or anywhere else)."""
    return next((lock for lock in stack_locks(view) if lock.alive), None)


def interruption(view: StackView) -> Interruption | None:
    """The stack's dead update, if any: a lock of a process gone from this machine, or pending operations."""
    locks = stack_locks(view)
    if any(lock.alive for lock in locks):
        return None  # an update runs now: its pending operations are its own
    pending = pending_operations(view)
    stale = [lock for lock in locks if not lock.alive]
    return Interruption(stale, pending) if stale or pending else None


@contextlib.contextmanager
def exclusive(work_dir: Path, stack: str, command: str) -> Iterator[None]:
    """Hold the project's bgctl lock for `stack` while `command` runs; refuse at once if another holds it."""
    path = work_dir / COMMAND_LOCK.format(stack=stack.split("/")[-1])
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 200, 0).decode(errors="replace").strip() or "another bgctl"
            raise BgctlError(
                f"another cutover of stack {stack} is running ({holder}); nothing changed: wait for it to end, "
                "then check with: bgctl status"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"bgctl {command}, pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(handle)  # closing releases the lock
