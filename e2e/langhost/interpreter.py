"""Which Python runs a program or plugin: the virtualenv its project names, as Pulumi's own host decides."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

PYTHON_CMD_VAR: Final = "PULUMI_PYTHON_CMD"
DEFAULT_PYTHON_CMD: Final = "python3"
SUPPORTED_TOOLCHAINS: Final = ("pip",)


class HostError(Exception):
    """Something the user can fix, said in one line (the CLI shows it as the plugin's error)."""


@dataclass(frozen=True)
class Interpreter:
    python: Path
    virtualenv: Path | None
    """None: no `virtualenv` option, the interpreter found on PATH."""

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        return activated(base, self.virtualenv)


def activated(base: Mapping[str, str], virtualenv: Path | None) -> dict[str, str]:
    """`base` as an activated virtualenv sees it: VIRTUAL_ENV set, its bin first on PATH, no PYTHONHOME."""
    env = {k: v for k, v in base.items() if k != "PYTHONHOME"}
    if virtualenv is not None:
        env["VIRTUAL_ENV"] = str(virtualenv)
        env["PATH"] = os.pathsep.join([str(virtualenv / "bin"), *filter(None, [base.get("PATH")])])
    return env


def virtualenv_path(root: str, options: Mapping[str, Any]) -> Path | None:
    """The virtualenv the runtime options name, relative to the project root; None without one."""
    toolchain = str(options.get("toolchain") or "pip")
    if toolchain not in SUPPORTED_TOOLCHAINS:
        raise HostError(
            f"the runtime option toolchain: {toolchain} is not supported by this language host "
            f"(supported: {', '.join(SUPPORTED_TOOLCHAINS)}); set toolchain: pip and virtualenv: .venv in Pulumi.yaml"
        )
    venv = options.get("virtualenv")
    return (Path(root) / str(venv)).absolute() if venv else None


def find(root: str, options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Interpreter:
    """The interpreter for a project at `root` with these runtime options, or one HostError saying what to do."""
    venv = virtualenv_path(root, options)
    if venv is not None:
        python = venv / "bin" / "python"
        if not python.exists():
            raise HostError(
                f"the 'virtualenv' option is set to {venv}, but it has no bin/python: "
                f"create it with `pulumi install` (or `make venv`)"
            )
        return Interpreter(python, venv)
    environ = os.environ if env is None else env
    command = environ.get(PYTHON_CMD_VAR) or DEFAULT_PYTHON_CMD
    found = shutil.which(command, path=environ.get("PATH"))
    if found is None:
        raise HostError(f"no {command} on PATH: install Python 3.11 or newer, or set {PYTHON_CMD_VAR}")
    return Interpreter(Path(found), None)


def base_python(env: Mapping[str, str] | None = None) -> Path:
    """The Python that creates a missing virtualenv."""
    return find(".", {}, env).python
