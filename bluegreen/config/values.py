"""One value checked against its key's spec (type, bounds, choices, grammar): the validators of the model.

A value arrives as the CLI stores it (text; structured values as JSON text, their numbers kept as the
text typed) or as a program passes it (a Python value). `typed` returns it as the key's type, None when
it means unset, or raises Bad with the rule it breaks, what is allowed and an example for the fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from bluegreen.config import grammar, keys
from bluegreen.config.keys import Key
from bluegreen.config.problems import EXAMPLES, REMOVE, Literal
from bluegreen.naming import COLORS

MAX_VALUE_LENGTH: Final = 65536
"""Characters of one config value; far above any real one, far below what slows the parse."""
MAX_DIGITS: Final = 12
"""Digits of a whole number; any more is refused before Python converts it (which fails past 4300)."""
# The CLI's own type check takes a sign and leading zeros (`+5`, `08`), so the program does too.
_INTEGER: Final = re.compile(rf"[-+]?[0-9]{{1,{MAX_DIGITS}}}")


@dataclass
class Bad(Exception):
    """Why a value breaks its key's rule."""

    rule: str
    allowed: str
    example: Any = ""
    """What the fix sets instead: a value, or (subpath, value); REMOVE to remove it."""
    at: str | None = None
    """The last step of the path when it is not the value's index (an env entry: `.NAME`)."""
    shown: tuple[Any] | None = None
    """(value,) to show when it is not the one checked: an env entry's value, for a bad name."""


def example_for(spec: Key) -> Any:
    if spec.name in EXAMPLES:
        return EXAMPLES[spec.name]
    if spec.required or spec.default in ("", [], {}) or not spec.declared:
        return "<value>"
    return spec.default


def image_example(image: str) -> str:
    """`<repository>:<tag>`, with the repository the user gave when it (or its lower-case form) is valid."""
    repo = grammar.repository(image.strip())
    for candidate in (repo, repo.lower()):
        if candidate and grammar.image_reference(f"{candidate}:1") is None:
            return f"{candidate}:<tag>"
    return "<repository>:<tag>"


class _Undecodable(ValueError):
    """Why a structured value could not be read: the text that goes after "must be a JSON ..."."""


def decode(text: str) -> Any:
    """JSON text as the CLI stores structured config, numbers kept as the text the user typed."""
    if len(text) > MAX_VALUE_LENGTH:
        raise _Undecodable(f"of at most {MAX_VALUE_LENGTH} characters; this one has {len(text)}")
    try:
        return json.loads(text, parse_int=Literal, parse_float=Literal, parse_constant=Literal)
    except RecursionError:
        raise _Undecodable("nested less deeply") from None
    except ValueError:
        raise _Undecodable("in valid JSON syntax") from None


def _text(spec: Key, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < 10**MAX_DIGITS:
        return str(value)
    if not isinstance(value, str):
        raise Bad("type", "must be a string", example_for(spec))
    if len(value) > MAX_VALUE_LENGTH:
        raise Bad("length", f"must be at most {MAX_VALUE_LENGTH} characters", example_for(spec))
    return value


def _integer(spec: Key, value: Any) -> int:
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    low = spec.minimum if spec.minimum is not None else 0
    high = spec.maximum if spec.maximum is not None else keys.INT32_MAX
    if number is None or not low <= number <= high:
        raise Bad("range", f"must be a whole number from {low} to {high}{spec.note}", example_for(spec))
    return number


def _structured(spec: Key, value: Any) -> Any:
    kind: type = list if spec.type == "array" else dict
    if isinstance(value, str):
        try:
            value = decode(value)
        except _Undecodable as error:
            raise Bad("json", f"must be a JSON {spec.type} {error}", example_for(spec)) from None
    if not isinstance(value, kind):
        raise Bad("json", f"must be a JSON {spec.type}", example_for(spec), shown=(value,))
    return value or None


def _string(spec: Key, value: Any) -> str | None:
    text = _text(spec, value)
    if text == "" and spec.default == "":
        return None
    if spec.choices and text not in spec.choices:
        meant = text.strip().lower()
        example = meant if meant in spec.choices else example_for(spec)
        if spec.choices == COLORS:
            raise Bad("choice", 'must be exactly "blue" or "green" (lower case, no spaces)', example)
        raise Bad("choice", f"must be one of {', '.join(spec.choices)}", example)
    if spec.grammar is not None and (why := spec.grammar(text)) is not None:
        example = image_example(text) if spec.grammar is grammar.image_reference else example_for(spec)
        raise Bad(spec.grammar.__name__.strip("_").replace("_", "-"), why, example)
    return text


def typed(spec: Key, value: Any) -> Any:
    """`value` as `spec`'s type, checked against its rule; None where an empty value means unset."""
    if value is None:
        raise Bad("null", "must not be null", REMOVE)
    if spec.type == "boolean":
        if isinstance(value, bool) or value in ("true", "false"):
            return value in (True, "true")
        raise Bad("boolean", 'must be "true" or "false"', json.dumps(spec.default))
    if spec.type == "integer":
        return _integer(spec, value)
    if spec.type in ("array", "object"):
        return _structured(spec, value)
    return _string(spec, value)
