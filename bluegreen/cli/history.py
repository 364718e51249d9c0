"""Read cutovers out of stack history: pure functions over the SDK's own `UpdateSummary`.

Every update records the config it ran with, so the color an app served after an update is in
its `config`: `bluegreen:apps[i].activeColor` for a stack of several apps, else (and as the
fallback for an app that sets none) `bluegreen:activeColor`.

Every entry also gets an update number that does not depend on the backend (see `Entry`): the
file backend reports `version` 0 for every entry, Pulumi Cloud numbers them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pulumi.automation import UpdateSummary

from bluegreen import naming
from bluegreen.cli.errors import BgctlError
from bluegreen.naming import Color

ACTIVE_COLOR_KEY: Final = f"{naming.PROJECT}:activeColor"
APPS_KEY: Final = f"{naming.PROJECT}:apps"
UPDATE: Final = "update"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
SWITCH_BACK: Final = "switch back"
"""What bgctl calls the update that moves traffic back after a failed verification window (`bgctl switch back ...`)."""
VERIFY_SECONDS_KEY: Final = f"{naming.PROJECT}:verifySeconds"


def config_values(summary: UpdateSummary) -> dict[str, str]:
    """An update's config as plain strings (structured values stay JSON text, as the CLI records them)."""
    return {key: value.value for key, value in summary.config.items()}


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


def app_setting(config: Mapping[str, str], app: str, name: str) -> Any:
    """`app`'s value of the per-app key `name` in `config`: its entry of `apps`, else the top-level key."""
    top = config.get(f"{naming.PROJECT}:{name}")
    entries = _apps(config)
    if entries is None:
        return top
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == app:
            return entry.get(name, top)
    return None


def color_of(config: Mapping[str, str], app: str) -> Color | None:
    """The color `app` is configured to serve in `config`, or None when it does not say."""
    return naming.as_color(app_setting(config, app, "activeColor"))


def verify_seconds(config: Mapping[str, str], app: str) -> int:
    """`app`'s verification window in `config`, in seconds; 0 when it has none."""
    value = app_setting(config, app, "verifySeconds")
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else 0


@dataclass(frozen=True)
class Entry:
    """One history entry and its update number, which `bgctl history` shows as `v<number>`.

    The number is the backend's `version` when it gives one (Pulumi Cloud numbers updates 1, 2, 3, ...),
    else the entry's position counted from the oldest entry: the file backend says 0 for every entry.
    History is append-only, so an entry's number never changes and is what Pulumi Cloud would show.
    None when bgctl could not read back to the oldest entry, so the position is unknown.
    """

    number: int | None
    summary: UpdateSummary


def unique(history: Sequence[UpdateSummary]) -> list[UpdateSummary]:
    """`history` read page by page, without the entries read twice.

    Each page is its own CLI call: an update that ends between two reads shifts every entry down by one,
    so the next page starts with the last entry of the one before. Numbering counts from the oldest, so
    an entry read twice would shift every newer number.
    """
    seen: set[tuple[object, ...]] = set()
    kept: list[UpdateSummary] = []
    for summary in history:
        key = (summary.version, summary.kind, summary.start_time, summary.end_time, summary.result, summary.message)
        if key not in seen:
            seen.add(key)
            kept.append(summary)
    return kept


def numbered(history: Sequence[UpdateSummary], complete: bool = True) -> list[Entry]:
    """Number `history` (newest first); `complete` says whether it reaches back to the first update ever."""
    total = len(history)
    return [
        Entry(summary.version or (total - index if complete else None), summary)
        for index, summary in enumerate(history)
    ]


def too_long(entries: Sequence[Entry]) -> str | None:
    """Why some entries have no number (the history is longer than what was read), or None when all have one."""
    if all(entry.number is not None for entry in entries):
        return None
    return f"stack history is longer than the {len(entries)} entries bgctl reads, so it cannot number its updates"


@dataclass(frozen=True)
class Cutover:
    """One update that moved (or tried to move) an app's traffic to another color."""

    number: int | None
    time: datetime
    from_color: Color | None
    to_color: Color
    result: str
    message: str
    verify_seconds: int = 0
    """The verification window the update ran with; 0: none."""
    switch_back: bool = False
    """bgctl's update that moved traffic back after the cutover before it failed its verification window."""

    def verification(self, newer: Cutover | None) -> str:
        """What became of the new color's verification window, as far as history tells; empty when it had none.

        A failed window fails its update, so a cutover that succeeded with a window passed it; a failed one
        that bgctl switched back from failed its window (bgctl switches back for nothing else).
        """
        if self.switch_back:
            return f"switched back from {self.from_color}"
        if not self.verify_seconds or self.from_color is None:
            return ""  # no window: none configured, or the first deploy (the hook runs on updates only)
        if self.result == SUCCEEDED:
            return f"verified {self.verify_seconds}s"
        if self.result == FAILED and newer is not None and newer.switch_back:
            return "verification failed"
        return ""


def is_switch_back(message: str) -> bool:
    return message.startswith(f"bgctl {SWITCH_BACK} ")


def cutovers(entries: Sequence[Entry], app: str) -> list[Cutover]:
    """The updates that changed `app`'s color, newest first; failed attempts and switches back are kept and marked."""
    found: list[Cutover] = []
    serving: Color | None = None
    tried: Color | None = None
    """The color of the newest update, whatever its result: a failed verification window leaves traffic on it."""
    for entry in reversed(entries):  # oldest first: "from" is what the last good update served
        summary = entry.summary
        if summary.kind != UPDATE:
            continue
        config = config_values(summary)
        color = color_of(config, app)
        if color is None:
            continue
        back = is_switch_back(summary.message) and tried not in (None, color)
        if color != serving or back:
            found.append(
                Cutover(
                    entry.number,
                    summary.start_time,
                    tried if back else serving,
                    color,
                    summary.result,
                    summary.message,
                    verify_seconds(config, app),
                    back,
                )
            )
        if summary.result == SUCCEEDED:
            serving = color
        tried = color
    return found[::-1]


def served(entries: Sequence[Entry], app: str, color: Color, version: str) -> bool:
    """Whether `color` ever served `app` at `version` after a successful update: a version it never served is a
    release waiting for its cutover, one it served is where a rollback goes."""
    for entry in entries:
        summary = entry.summary
        if summary.kind != UPDATE or summary.result != SUCCEEDED:
            continue
        config = config_values(summary)
        if color_of(config, app) == color and str(app_setting(config, app, f"{color}Version")) == version:
            return True
    return False


def with_verification(found: Sequence[Cutover]) -> list[tuple[Cutover, str]]:
    """Each cutover (newest first) with what became of its verification window."""
    return [(cutover, cutover.verification(found[index - 1] if index else None)) for index, cutover in enumerate(found)]


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _no_such_number(entries: Sequence[Entry], number: int) -> BgctlError:
    reason = too_long(entries)
    if reason is not None:
        return BgctlError(f"cannot find update {number}: {reason}; run rollback without --to-version")
    known = [entry.number for entry in entries if entry.number is not None]
    span = f" (here {min(known)} to {max(known)})" if known else ""
    return BgctlError(
        f"stack history has no update {number}: --to-version takes the update number as `bgctl history` shows it{span}"
    )


def rollback_target(
    entries: Sequence[Entry], app: str, serving: Color, to_number: int | None = None
) -> tuple[Entry, Color]:
    """The update to return to and its color: the newest successful one whose color is not `serving`.

    With `to_number`, exactly the entry with that update number, which must be a successful update with
    another color.
    """
    for entry in entries:
        summary = entry.summary
        if to_number is not None and entry.number != to_number:
            continue
        color = color_of(config_values(summary), app) if summary.kind == UPDATE else None
        if to_number is not None:
            if summary.kind != UPDATE or summary.result != SUCCEEDED:
                raise BgctlError(
                    f"update {to_number} is {_article(summary.kind)} {summary.kind} that {summary.result}; "
                    "pick a succeeded update (see `bgctl history`)"
                )
            if color is None or color == serving:
                raise BgctlError(
                    f"update {to_number} ran {app} on {color or 'no known color'}, "
                    f"which is what serves now ({serving}); nothing to roll back to"
                )
            return entry, color
        if summary.result == SUCCEEDED and color is not None and color != serving:
            return entry, color
    if to_number is not None:
        raise _no_such_number(entries, to_number)
    raise BgctlError(
        f"stack history has no successful update where {app} served a color other than {serving}; "
        "nothing to roll back to"
    )
