"""Rollback and timeline logic over the SDK's own `UpdateSummary` entries, newest first."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pulumi.automation import UpdateSummary

from bluegreen.cli import history as hist
from bluegreen.cli.errors import BgctlError


def summary(
    day: int,
    color: str | None,
    result: str = "succeeded",
    kind: str = "update",
    apps: list[dict[str, str]] | None = None,
    version: int | None = 0,
) -> UpdateSummary:
    """An entry as the file backend gives it (`version` 0) unless `version` says otherwise."""
    config: dict[str, dict[str, object]] = {}
    if color is not None:
        config["bluegreen:activeColor"] = {"value": color, "secret": False}
    if apps is not None:
        config["bluegreen:apps"] = {"value": json.dumps(apps), "objectValue": apps, "secret": False}
    config["bluegreen:env"] = {"secret": True}  # a secret, shown without --show-secrets
    return UpdateSummary(
        kind=kind,
        start_time=datetime(2025, 5, day, 9, 0),
        message=f"day {day}",
        environment={},
        config=config,
        result=result,
        version=version,
    )


# The file backend's history, newest first: every version is 0, so the numbers are positions, 6 to 1.
HISTORY = hist.numbered(
    [
        summary(6, "green"),
        summary(5, "blue", result="failed"),
        summary(4, "blue", kind="refresh"),
        summary(3, "green"),
        summary(2, "blue"),
        summary(1, "blue"),
    ]
)


@pytest.mark.parametrize(
    ("versions", "complete", "numbers"),
    [
        ([0, 0, 0], True, [3, 2, 1]),  # the file backend: positions counted from the oldest entry
        ([None, None], True, [2, 1]),
        ([7, 6, 5], True, [7, 6, 5]),  # Pulumi Cloud: its own numbers are kept
        ([0, 0, 0], False, [None, None, None]),  # the oldest entries were not read: positions unknown
        ([42, 41], False, [42, 41]),
        ([], True, []),
    ],
)
def test_entries_are_numbered_by_backend_version_else_by_position_from_the_oldest(
    versions: list[int | None], complete: bool, numbers: list[int | None]
) -> None:
    history = [summary(index + 1, "blue", version=v) for index, v in enumerate(versions)]

    found = hist.numbered(history, complete)

    assert [e.number for e in found] == numbers
    assert [e.summary for e in found] == history


def test_numbers_never_change_as_history_grows() -> None:
    before = hist.numbered([summary(2, "green"), summary(1, "blue")])
    after = hist.numbered([summary(3, "blue"), *(e.summary for e in before)])

    assert [(e.number, e.summary.message) for e in after] == [(3, "day 3"), (2, "day 2"), (1, "day 1")]
    assert [(e.number, e.summary) for e in after[1:]] == [(e.number, e.summary) for e in before]


def test_a_history_too_long_to_number_says_so() -> None:
    partial = hist.numbered([summary(2, "green"), summary(1, "blue")], complete=False)

    assert (hist.too_long(partial), hist.too_long(HISTORY)) == (
        "stack history is longer than the 2 entries bgctl reads, so it cannot number its updates",
        None,
    )


def test_rollback_picks_the_newest_successful_update_with_the_other_color() -> None:
    target, color = hist.rollback_target(HISTORY, "backend", "green")

    assert (target.number, target.summary.message, color) == (2, "day 2", "blue")


def test_rollback_skips_failed_updates_and_other_kinds() -> None:
    history = hist.numbered(
        [*(e.summary for e in HISTORY[:4]), summary(2, "blue", result="failed"), summary(1, "blue")]
    )

    target, _ = hist.rollback_target(history, "backend", "green")

    assert target.number == 1


def test_rollback_refuses_when_no_update_ran_another_color() -> None:
    with pytest.raises(BgctlError) as raised:
        hist.rollback_target(
            hist.numbered([summary(2, "green"), summary(1, "blue", result="failed")]), "backend", "green"
        )

    assert str(raised.value) == (
        "stack history has no successful update where backend served a color other than green; nothing to roll back to"
    )


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (5, "update 5 is an update that failed; pick a succeeded update (see `bgctl history`)"),
        (4, "update 4 is a refresh that succeeded; pick a succeeded update (see `bgctl history`)"),
        (3, "update 3 ran backend on green, which is what serves now (green); nothing to roll back to"),
        (
            9,
            "stack history has no update 9: --to-version takes the update number as `bgctl history` shows it "
            "(here 1 to 6)",
        ),
        (
            0,
            "stack history has no update 0: --to-version takes the update number as `bgctl history` shows it "
            "(here 1 to 6)",
        ),
    ],
)
def test_rollback_to_a_number_refuses_entries_that_cannot_be_returned_to(number: int, message: str) -> None:
    with pytest.raises(BgctlError) as raised:
        hist.rollback_target(HISTORY, "backend", "green", to_number=number)

    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("number", "day", "color"),
    [(1, 1, "blue"), (2, 2, "blue")],
)
def test_rollback_to_a_number_returns_the_entry_at_that_position(number: int, day: int, color: str) -> None:
    target, found = hist.rollback_target(HISTORY, "backend", "green", to_number=number)

    assert (target.number, target.summary.message, found) == (number, f"day {day}", color)


def test_rollback_to_a_number_uses_the_backends_own_numbers() -> None:
    history = hist.numbered([summary(2, "green", version=12), summary(1, "blue", version=11)], complete=False)

    target, color = hist.rollback_target(history, "backend", "green", to_number=11)

    assert (target.summary.message, color) == ("day 1", "blue")


def test_rollback_to_a_number_in_a_history_too_long_to_number_says_why() -> None:
    history = hist.numbered([summary(2, "green"), summary(1, "blue")], complete=False)

    with pytest.raises(BgctlError) as raised:
        hist.rollback_target(history, "backend", "green", to_number=1)

    assert str(raised.value) == (
        "cannot find update 1: stack history is longer than the 2 entries bgctl reads, so it cannot number its "
        "updates; run rollback without --to-version"
    )


def test_cutovers_are_the_updates_that_changed_the_color() -> None:
    found = hist.cutovers(HISTORY, "backend")

    assert [(c.number, c.from_color, c.to_color, c.result, c.message) for c in found] == [
        (5, "green", "blue", "failed", "day 5"),
        (3, "blue", "green", "succeeded", "day 3"),
        (1, None, "blue", "succeeded", "day 1"),
    ]


def test_cutovers_keep_failed_attempts() -> None:
    history = hist.numbered([summary(3, "green"), summary(2, "green", result="failed"), summary(1, "blue")])

    found = hist.cutovers(history, "backend")

    assert [(c.number, c.from_color, c.to_color, c.result) for c in found] == [
        (3, "blue", "green", "succeeded"),
        (2, "blue", "green", "failed"),
        (1, None, "blue", "succeeded"),
    ]


def test_an_app_of_several_uses_its_own_color_else_the_top_level_one() -> None:
    apps = [{"name": "backend", "activeColor": "green"}, {"name": "api"}]
    config = hist.config_values(summary(1, "blue", apps=apps))

    assert (hist.color_of(config, "backend"), hist.color_of(config, "api"), hist.color_of(config, "web")) == (
        "green",
        "blue",
        None,
    )
    assert (hist.app_index(config, "api"), hist.app_index({}, "api")) == (1, None)


def test_an_entry_read_twice_across_pages_is_counted_once() -> None:
    # Page 1 held days 4 to 3; an update (day 5) ended before page 2 was read, which then began with day 3 again.
    pages = [summary(4, "green"), summary(3, "blue"), summary(3, "blue"), summary(2, "green"), summary(1, "blue")]
    numbered = hist.numbered(hist.unique(pages))
    assert [(e.number, e.summary.message) for e in numbered] == [
        (4, "day 4"),
        (3, "day 3"),
        (2, "day 2"),
        (1, "day 1"),
    ]
