"""A temporary copy of this checkout, driven by the README's own commands (make, pulumi, bgctl).

The copy holds every file git tracks or would track (so uncommitted work is tested too), with the
checkout's `.venv` linked in. The README's backend settings apply as written: state under the copy's
`.pulumi/`, an empty passphrase. So a run never touches the checkout's own stack files or state.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e import images
from e2e.conftest import Done, Shell
from e2e.env import CHECKOUT, STATE_DIR, E2EError, backend_url
from e2e.traffic import NAMESPACE

WORK_DIR = STATE_DIR / "work" / "program"


def _files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=CHECKOUT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise E2EError(f"the e2e suite copies the program with git ls-files, which failed: {error}") from error
    return [name for name in listed.decode().split("\0") if name and (CHECKOUT / name).is_file()]


def copy_checkout(dest: Path = WORK_DIR) -> list[str]:
    """Copy the program to `dest` (times kept, so make sees the venv as up to date); return the files copied."""
    shutil.rmtree(dest, ignore_errors=True)
    names = _files()
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CHECKOUT / name, target)
    (dest / ".venv").symlink_to(CHECKOUT / ".venv")
    return names


@dataclass
class Project:
    shell: Shell
    root: Path = WORK_DIR
    files: list[str] = field(default_factory=list)
    passphrase: str = ""

    @property
    def env(self) -> dict[str, str]:
        """The README's `export PULUMI_BACKEND_URL="file://$PWD/.pulumi?metadata=skip" PULUMI_CONFIG_PASSPHRASE=""`."""
        return {"PULUMI_BACKEND_URL": backend_url(self.root / ".pulumi"), "PULUMI_CONFIG_PASSPHRASE": self.passphrase}

    def make(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> Done:
        return self.shell.run(["make", "--no-print-directory", *args], cwd=self.root, check=check, env=self._env(env))

    def pulumi(self, *args: str, stack: str = "dev", check: bool = True) -> Done:
        # Before any `--`: what follows it is a value, however it looks.
        head, sep, tail = (
            (args[: args.index("--")], ["--"], args[args.index("--") + 1 :]) if "--" in args else (args, [], [])
        )
        command = ["pulumi", *head, "--stack", stack, "--non-interactive", *sep, *tail]
        return self.shell.run(command, cwd=self.root, check=check, env=self.env)

    def bgctl(self, *args: str, check: bool = True) -> Done:
        bgctl = str(self.root / ".venv" / "bin" / "bgctl")
        return self.shell.run([bgctl, *args], cwd=self.root, check=check, env=self.env)

    def outputs(self, stack: str = "dev") -> dict[str, Any]:
        return json.loads(self.pulumi("stack", "output", "--json", stack=stack).stdout)

    def history(self, stack: str = "dev") -> list[dict[str, Any]]:
        return json.loads(self.pulumi("stack", "history", "--json", stack=stack).stdout)

    def digests(self) -> dict[str, str]:
        """Every copied file's SHA-256, by path (stack config files included)."""
        return {name: hashlib.sha256((self.root / name).read_bytes()).hexdigest() for name in self.files}

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        return {**self.env, **(extra or {})}


def on_the_real_node(shell: Shell, name: str) -> Project:
    """A copy of the checkout whose dev stack runs the project's own images on the real node, with
    readinessPath /health and smokePath / (so a color can answer 500 while its pods stay Ready)."""
    work = Project(shell, root=STATE_DIR / "work" / name)
    work.files = copy_checkout(work.root)
    work.make("stack")
    # The README's commands that put the dev stack on the project's own images.
    work.pulumi("config", "set", "bluegreen:blueImage", images.ECHO)
    work.pulumi("config", "set", "bluegreen:greenImage", images.ECHO)
    work.pulumi("config", "set", "--path", "bluegreen:frontend.image", images.RELAY)
    for key, value in (("readinessPath", "/health"), ("smokePath", "/")):
        work.pulumi("config", "set", f"bluegreen:{key}", value)
    # The config requires it with a frontend and smokePath. Here the API server's pod proxy connects from the
    # bridge's address, on the node itself, whose own traffic kube-router admits anyway (measured).
    work.pulumi("config", "set", "--path", "bluegreen:apiServerCidrs[0]", "10.244.0.1/32")
    return work


def tear_down(work: Project) -> None:
    """Whatever failed, leave nothing of the dev stack behind (its Service and namespace are protected)."""
    work.pulumi("state", "unprotect", "--all", "--yes", check=False)
    if work.pulumi("destroy", "--yes", "--remove", check=False).returncode != 0:
        # A state the CLI can no longer read must not leave this stack's objects to fail the next module's
        # `make up`: everything the dev stack makes lives in its namespace.
        command = ["kubectl", "delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=120s"]
        work.shell.run(command, check=False)
