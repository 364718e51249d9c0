"""Reading one config key: its scope, its type and its rule from the key table, and its problem if bad.

A scope is the stack's top level, one entry of `apps`, or the frontend object. Every reader returns
the typed value, None when the key is unset, or INVALID once the problem is recorded, so the parse
goes on and one error lists every bad key.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bluegreen.config import grammar, keys
from bluegreen.config.keys import BY_NAME, Key
from bluegreen.config.problems import Literal, Problem, Secret, qualified, rm_command, set_command
from bluegreen.naming import COLORS

MAX_VALUE_LENGTH: Final = 65536
"""Characters of one config value; far above any real one, far below what slows the parse."""
MAX_DIGITS: Final = 12
"""Digits of a whole number; any more is refused before Python converts it (which fails past 4300)."""
# The CLI's own type check takes a sign and leading zeros (`+5`, `08`), so the program does too.
_INTEGER: Final = re.compile(rf"[-+]?[0-9]{{1,{MAX_DIGITS}}}")
# Fix-command examples for keys whose default cannot serve as one.
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


class Invalid:
    """A value already reported as bad: the parse goes on, so every problem is listed at once."""


INVALID: Final = Invalid()


def structured(path: str) -> bool:
    """Whether `path` names an element of a list or object, which `pulumi config set` needs `--path` for."""
    return "." in path or "[" in path


def member(name: str) -> str:
    """`name` as one step of a `--path` key: `.NAME`, or `["a b"]` when it is not a plain identifier."""
    return f".{name}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f"[{json.dumps(name)}]"


def add(problems: list[Problem], problem: Problem) -> None:
    """Add `problem` unless the same key already has the same complaint (a value many apps fall back to)."""
    if all((p.key, p.allowed, p.fix) != (problem.key, problem.allowed, problem.fix) for p in problems):
        problems.append(problem)


class Undecodable(ValueError):
    """Why a structured value could not be read: the text that goes in brackets after "must be a JSON ..."."""


def decode(text: str) -> Any:
    """JSON text as the CLI stores structured config, numbers kept as the text the user typed."""
    if len(text) > MAX_VALUE_LENGTH:
        raise Undecodable(f"of at most {MAX_VALUE_LENGTH} characters; this one has {len(text)}")
    try:
        return json.loads(text, parse_int=Literal, parse_float=Literal, parse_constant=Literal)
    except RecursionError:
        raise Undecodable("nested less deeply") from None
    except ValueError:
        raise Undecodable("in valid JSON syntax") from None


@dataclass
class Scope:
    """One scope of keys (the stack, one entry of `apps`, the frontend), collecting problems."""

    values: Mapping[str, Any]
    problems: list[Problem]
    path: str = ""
    """`apps[i].` or `frontend.` before a key of a list or object element; empty at the top level."""
    fallback: Scope | None = None
    app: str = ""
    """The app an entry of `apps` describes, named in each message about it."""
    secret: frozenset[str] = frozenset()
    """The keys stored with --secret (top level only: the CLI marks a whole key secret)."""

    def key(self, name: str) -> str:
        return qualified(self.path + name)

    def rm_fix(self, name: str) -> str:
        """How to remove `name`, an element of a list or object of this scope."""
        return rm_command(self.path + name, structured=True)

    def set_fix(self, name: str, example: Any) -> str:
        subpath, value = example if isinstance(example, tuple) else ("", example)
        text = value if isinstance(value, str) else json.dumps(value)
        path = self.path + name + subpath
        return set_command(path, text, structured=structured(path))

    def bad(self, name: str, value: Any, allowed: str, example: Any = "", *, fix: str = "", app: str = "") -> Invalid:
        app = app or self.app
        if app:
            allowed = f"{allowed} (app {app!r})"
        if re.split(r"[.\[]", name, maxsplit=1)[0] in self.secret:
            value = Secret()
        add(self.problems, Problem(self.key(name), value, allowed, fix or self.set_fix(name, example)))
        return INVALID

    def lookup(self, name: str) -> tuple[Scope, Any]:
        """The scope that holds `name` and its value, falling back to the top level; None if unset."""
        if name in self.values:
            return self, self.values[name]
        if self.fallback is not None:
            return self.fallback.lookup(name)
        return self, None


def example_for(spec: Key) -> Any:
    if spec.name in EXAMPLES:
        return EXAMPLES[spec.name]
    if spec.required or spec.default in ("", [], {}) or not spec.declared:
        return "<value>"
    return spec.default


def as_text(scope: Scope, spec: Key, value: Any) -> str | Invalid:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < 10**MAX_DIGITS:
        return str(value)
    if not isinstance(value, str):
        return scope.bad(spec.name, value, "must be a string", example_for(spec))
    if len(value) > MAX_VALUE_LENGTH:
        return scope.bad(spec.name, value, f"must be at most {MAX_VALUE_LENGTH} characters", example_for(spec))
    return value


def typed(scope: Scope, spec: Key, value: Any, app: str = "") -> Any:
    """`value` as `spec`'s type, checked against its rule; INVALID once reported, None for an empty default."""
    name = spec.name
    if isinstance(value, Invalid):
        return value
    if value is None:
        return scope.bad(name, value, "must not be null", fix=scope.rm_fix(name))
    if spec.type == "boolean":
        if isinstance(value, bool) or value in ("true", "false"):
            return value in (True, "true")
        return scope.bad(name, value, 'must be "true" or "false"', json.dumps(spec.default))
    if spec.type == "integer":
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            number = int(value)
        low = spec.minimum if spec.minimum is not None else 0
        high = spec.maximum if spec.maximum is not None else keys.INT32_MAX
        if number is None or not low <= number <= high:
            return scope.bad(
                name, value, f"must be a whole number from {low} to {high}{spec.note}", example_for(spec), app=app
            )
        return number
    if spec.type in ("array", "object"):
        kind: type = list if spec.type == "array" else dict
        if isinstance(value, str):
            try:
                value = decode(value)
            except Undecodable as error:
                return scope.bad(name, value, f"must be a JSON {spec.type} {error}", example_for(spec))
        if not isinstance(value, kind):
            return scope.bad(name, value, f"must be a JSON {spec.type}", example_for(spec))
        return value or None
    text = as_text(scope, spec, value)
    if isinstance(text, Invalid):
        return text
    if text == "" and spec.default == "":
        return None
    if spec.choices and text not in spec.choices:
        meant = text.strip().lower()
        example = meant if meant in spec.choices else example_for(spec)
        if spec.choices == COLORS:
            allowed = 'must be exactly "blue" or "green" (lower case, no spaces)'
        else:
            allowed = f"must be one of {', '.join(spec.choices)}"
        return scope.bad(name, value, allowed, example)
    if spec.grammar is not None and (why := spec.grammar(text)) is not None:
        example = image_example(text) if spec.grammar is grammar.image_reference else example_for(spec)
        return scope.bad(name, value, why, example)
    return text


def image_example(image: str) -> str:
    """`<repository>:<tag>`, with the repository the user gave when it (or its lower-case form) is valid."""
    repo = grammar.repository(image.strip())
    for candidate in (repo, repo.lower()):
        if candidate and grammar.image_reference(f"{candidate}:1") is None:
            return f"{candidate}:<tag>"
    return "<repository>:<tag>"


def secret_refused(scope: Scope, name: str) -> Invalid:
    """A key stored with --secret that is not `env`: refused, its value never shown."""
    key = scope.key(name)
    allowed = (
        "is stored as a secret, but it is not secret data: its value shows in plain text in resource names, labels "
        "or the plan; only bluegreen:env may hold secrets"
    )
    if BY_NAME[name].type in ("array", "object"):
        # The CLI marks a whole list or object secret when one element is: each element is set again.
        # (Setting the key itself to its JSON text would store a string, which the CLI's type check refuses.)
        example = EXAMPLES.get(name, ("", ""))[0]
        fix = (
            f"pulumi config rm {shlex.quote(key)}, then set each element again without --secret, such as "
            f"pulumi config set --path {shlex.quote(key + example)} <value>; secret values belong in "
            "bluegreen:env (pulumi config set --secret --path 'bluegreen:env.NAME' <value>)"
        )
        return scope.bad(name, Secret(), allowed, fix=fix)
    fix = f'pulumi config set --plaintext {shlex.quote(key)} "$(pulumi config get {shlex.quote(key)})"'
    return scope.bad(name, Secret(), allowed, fix=fix)


def read(scope: Scope, name: str, spec: Key | None = None, *, for_app: bool = False) -> Any:
    """The value of `name` for this scope (falling back to the top level): typed, or None when unset.

    `for_app`: the rule depends on the app (`spec` carries its bounds), so a value the app falls
    back to is reported for that app.
    """
    spec = spec or BY_NAME[name]
    owner, value = scope.lookup(name)
    if value is None and name not in owner.values:
        return None
    if name in owner.secret and name != "env":
        return secret_refused(owner, name)
    return typed(owner, spec, value, app=scope.app if for_app else "")


def required(scope: Scope, name: str, allowed: str, example: Any) -> Any:
    value = read(scope, name)
    if value is None:
        return scope.bad(name, None, allowed, example)
    return value
