"""One bad value, how it is shown and fixed at the boundary it came in by, and the one error listing them all.

A value comes in by the stack's config (fixed with `pulumi config set`) or by BlueGreenApp's arguments
(fixed in the program that passes them); a Reporter words a problem for its boundary.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import pulumi

from bluegreen import naming

SECRET_SHOWN: Final = "[secret]"
EXIT_REPORTED: Final = 32
"""The exit status by which a Pulumi Python program tells the engine its error is already reported."""
MAX_SHOWN: Final = 120
"""A value longer than this is shown cut, with its length: an error stays one readable line."""
# Fix-command examples for keys whose default cannot serve as one: a value, or (subpath, value).
EXAMPLES: Final[Mapping[str, Any]] = {
    "activeColor": "blue",
    "blueVersion": "1.0.0",
    "greenVersion": "1.0.0",
    "idleReplicas": 0,
    "smokePath": "/",
    "args": ("[0]", "-text={version}"),
    "env": (".LOG_LEVEL", "info"),
    "apps": ("[0].name", "backend"),
    "frontend": (".image", "<image>:<tag>"),
    "apiServerCidrs": ("[0]", "172.18.0.0/16"),
}


class Literal(str):
    """A number or constant in structured config, kept as the text the user typed (`8080`, `1.10`)."""


class Secret:
    """A value stored with --secret: shown as [secret], never in plain text."""

    def __repr__(self) -> str:
        return SECRET_SHOWN


def show(value: object) -> str:
    """A value as the error shows it: JSON, cut to MAX_SHOWN characters, secrets hidden."""
    if value is None:
        return "(not set)"
    if isinstance(value, Secret):
        return SECRET_SHOWN
    if isinstance(value, Literal):
        return str(value)[:MAX_SHOWN]
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError, TypeError):
        text = json.dumps(str(value)[:MAX_SHOWN])
    if len(text) > MAX_SHOWN:
        return f"{text[:MAX_SHOWN]}... ({len(text)} characters)"
    return text


def qualified(path: str) -> str:
    return f"{naming.PROJECT}:{path}"


def structured(path: str) -> bool:
    """Whether `path` names an element of a list or object, which `pulumi config set` needs `--path` for."""
    return "." in path or "[" in path


def member(name: str) -> str:
    """`name` as one step of a `--path` key: `.NAME`, or `["a b"]` when it is not a plain identifier."""
    return f".{name}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f"[{json.dumps(name)}]"


def set_command(path: str, value: str, *, structured: bool) -> str:
    """`pulumi config set` of `bluegreen:<path>` to `value`, quoted for a POSIX shell.

    Structured keys are set one element at a time with `--path` (the CLI has no flag for JSON
    values); `--` keeps a value such as `-text=hi` from being read as the CLI's own flags.
    """
    flags = "--path " if structured else ""
    end = "-- " if value.startswith("-") else ""
    return f"pulumi config set {flags}{shlex.quote(qualified(path))} {end}{shlex.quote(value)}"


def rm_command(path: str, *, structured: bool) -> str:
    flags = "--path " if structured else ""
    return f"pulumi config rm {flags}{shlex.quote(qualified(path))}"


@dataclass(frozen=True)
class Problem:
    key: str
    """The key in full, as `pulumi config set` takes it (`bluegreen:apps[1].blueImage`), or the argument."""
    value: object
    allowed: str
    fix: str
    rule: str = ""
    """Which rule the value breaks (`image`, `range`, `required`, ...): what tests and tools match on."""

    def __str__(self) -> str:
        return f"{self.key} = {show(self.value)}: {self.allowed}. Fix: {self.fix}"


REMOVE: Final = "remove"
"""A fix that removes the value (an example of this is never shown)."""


@dataclass
class Reporter:
    """Collects the problems of one boundary, each worded with the key and fix of that boundary."""

    secret: frozenset[str] = frozenset()
    """Top-level keys stored with --secret: their values (and their elements') are never shown."""
    problems: list[Problem] = field(default_factory=list)

    def key(self, path: str) -> str:
        return qualified(path)

    def rm_fix(self, path: str) -> str:
        return rm_command(path, structured=structured(path))

    def set_fix(self, path: str, example: Any) -> str:
        subpath, value = example if isinstance(example, tuple) else ("", example)
        text = value if isinstance(value, str) else json.dumps(value)
        return set_command(path + subpath, text, structured=structured(path + subpath))

    def rename_fix(self, path: str, meant: str) -> str:
        """How to move the value at `path` to `meant`, without showing it (it may be secret)."""
        flags = "--path " if structured(path) or structured(meant) else ""
        # A secret value stays secret where secrets belong (env); any other key refuses a secret.
        root = re.split(r"[.\[]", path, maxsplit=1)[0]
        secret = "--secret " if root in self.secret and meant.startswith("env") else ""
        old, new = shlex.quote(qualified(path)), shlex.quote(qualified(meant))
        return (
            f'pulumi config set {secret}{flags}{new} "$(pulumi config get {flags}{old})" && '
            f"pulumi config rm {flags}{old}"
        )

    def bad(
        self, path: str, value: Any, allowed: str, example: Any = "", *, fix: str = "", app: str = "", rule: str = ""
    ) -> None:
        """Report `path`'s `value`; the fix sets `example` there unless `fix` says otherwise."""
        if app:
            allowed = f"{allowed} (app {app!r})"
        if re.split(r"[.\[]", path, maxsplit=1)[0] in self.secret:
            value = Secret()
        if fix == REMOVE:
            fix = self.rm_fix(path)
        self.add(Problem(self.key(path), value, allowed, fix or self.set_fix(path, example), rule))

    def add(self, problem: Problem) -> None:
        """Add `problem` unless the same key has the same complaint (a value many apps fall back to)."""
        if all((p.key, p.allowed, p.fix) != (problem.key, problem.allowed, problem.fix) for p in self.problems):
            self.problems.append(problem)


class ArgumentReporter(Reporter):
    """Problems of BlueGreenApp's arguments: keyed by argument name, fixed in the calling program."""

    def key(self, path: str) -> str:
        return path

    def rm_fix(self, path: str) -> str:
        return f"remove {path} from the arguments"

    def set_fix(self, path: str, example: Any) -> str:
        subpath, value = example if isinstance(example, tuple) else ("", example)
        return f"set the argument {path}{subpath} to {json.dumps(value)}"

    def rename_fix(self, path: str, meant: str) -> str:
        return f"pass {meant} instead of {path}"


class ConfigError(pulumi.RunError):
    """Every bad config key at once; the CLI prints it without a traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")


def stop(error: ConfigError) -> NoReturn:
    """Report `error` once, through the engine, and end the program with EXIT_REPORTED.

    Raised as it is, a `RunError` makes Pulumi's Python host log it and exit 1, and the CLI then adds a
    second, generic "program exited with non-zero exit code: 1" error. Exiting with 32 after logging is
    the host's own contract for "already reported": the CLI prints the message and nothing else.
    """
    pulumi.log.error(str(error))
    raise SystemExit(EXIT_REPORTED) from error
