"""One bad config value, and the one error that lists every one of them."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Final, NoReturn

import pulumi

from bluegreen import naming

SECRET_SHOWN: Final = "[secret]"
EXIT_REPORTED: Final = 32
"""The exit status by which a Pulumi Python program tells the engine its error is already reported."""
MAX_SHOWN: Final = 120
"""A value longer than this is shown cut, with its length: an error stays one readable line."""


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
    """The key in full, as `pulumi config set` takes it: `bluegreen:apps[1].blueImage`."""
    value: object
    allowed: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key} = {show(self.value)}: {self.allowed}. Fix: {self.fix}"


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
