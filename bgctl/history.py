"""Read cutovers out of stack history: pure functions over the SDK's own `UpdateSummary`.

Every update records the config it ran with, so the color an app served after an update is in
its `config`: `bluegreen:apps[i].activeColor` for a stack of several apps, else (and as the
fallback for an app that sets none) `bluegreen:activeColor`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pulumi.automation import UpdateSummary

from bgctl.errors import BgctlError
from components import naming
from components.naming import COLORS, Color

ACTIVE_COLOR_KEY: Final = f"{naming.PROJECT}:activeColor"
APPS_KEY: Final = f"{naming.PROJECT}:apps"
UPDATE: Final = "update"
SUCCEEDED: Final = "succeeded"


def config_values(summary: UpdateSummary) -> dict[str, str]:
    """An update's config as plain strings (structured values stay JSON text, as the CLI records them)."""
    return {key: value.value for key, value in summary.config.items()}


def _color(value: object) -> Color | None:
    return next((color for color in COLORS if value == color), None)


def _apps(config: Mapping[str, str]) -> list[Any] | None:
    raw = config.get(APPS_KEY)
    if raw is None:
        return None
    try:
        entries = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    # An empty list (Pulumi.yaml's default) means one app, described by the top-level keys.
    return entries if isinstance(entries, list) and entries else None


def app_index(config: Mapping[str, str], app: str) -> int | None:
    """The position of `app` in `bluegreen:apps`, or None when the stack has no such list."""
    entries = _apps(config)
    if entries is None:
        return None
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("name") == app:
            return index
    raise BgctlError(f"app {app!r} is not in the stack's {APPS_KEY} config")


def color_of(config: Mapping[str, str], app: str) -> Color | None:
    """The color `app` is configured to serve in `config`, or None when it does not say."""
    top = _color(config.get(ACTIVE_COLOR_KEY))
    entries = _apps(config)
    if entries is None:
        return top
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == app:
            return _color(entry["activeColor"]) if "activeColor" in entry else top
    return None


@dataclass(frozen=True)
class Cutover:
    """One update that moved (or tried to move) an app's traffic to another color."""

    version: int | None
    time: datetime
    from_color: Color | None
    to_color: Color
    result: str
    message: str


def cutovers(history: Sequence[UpdateSummary], app: str) -> list[Cutover]:
    """The updates that changed `app`'s color, newest first; failed attempts are kept and marked."""
    found: list[Cutover] = []
    serving: Color | None = None
    for summary in reversed(history):  # oldest first: "from" is what the last good update served
        if summary.kind != UPDATE:
            continue
        color = color_of(config_values(summary), app)
        if color is None or color == serving:
            continue
        found.append(Cutover(summary.version, summary.start_time, serving, color, summary.result, summary.message))
        if summary.result == SUCCEEDED:
            serving = color
    return found[::-1]


def rollback_target(
    history: Iterable[UpdateSummary], app: str, serving: Color, to_version: int | None = None
) -> tuple[UpdateSummary, Color]:
    """The update to return to and its color: the newest successful one whose color is not `serving`.

    With `to_version`, exactly that entry, which must be a successful update with another color.
    """
    for summary in history:
        if to_version is not None and summary.version != to_version:
            continue
        color = color_of(config_values(summary), app) if summary.kind == UPDATE else None
        if to_version is not None:
            if summary.kind != UPDATE or summary.result != SUCCEEDED:
                raise BgctlError(
                    f"history version {to_version} is a {summary.kind} that {summary.result}; "
                    "pick a succeeded update (see `python -m bgctl history`)"
                )
            if color is None or color == serving:
                raise BgctlError(
                    f"history version {to_version} ran {app} on {color or 'no known color'}, "
                    f"which is what serves now ({serving}); nothing to roll back to"
                )
            return summary, color
        if summary.result == SUCCEEDED and color is not None and color != serving:
            return summary, color
    if to_version is not None:
        raise BgctlError(f"stack history has no version {to_version}")
    raise BgctlError(
        f"stack history has no successful update where {app} served a color other than {serving}; "
        "nothing to roll back to"
    )
