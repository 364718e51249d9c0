"""Rollback and timeline logic over the SDK's own `UpdateSummary` entries, newest first."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pulumi.automation import UpdateSummary

from bgctl import history as hist
from bgctl.errors import BgctlError


def entry(
    version: int,
    color: str | None,
    result: str = "succeeded",
    kind: str = "update",
    apps: list[dict[str, str]] | None = None,
) -> UpdateSummary:
    config: dict[str, dict[str, object]] = {}
    if color is not None:
        config["bluegreen:activeColor"] = {"value": color, "secret": False}
    if apps is not None:
        config["bluegreen:apps"] = {"value": json.dumps(apps), "objectValue": apps, "secret": False}
    config["bluegreen:env"] = {"secret": True}  # a secret, shown without --show-secrets
    return UpdateSummary(
        kind=kind,
        start_time=datetime(2025, 5, version, 9, 0),
        message=f"v{version}",
        environment={},
        config=config,
        result=result,
        version=version,
    )


HISTORY = [
    entry(6, "green"),
    entry(5, "blue", result="failed"),
    entry(4, "blue", kind="refresh"),
    entry(3, "green"),
    entry(2, "blue"),
    entry(1, "blue"),
]


def test_rollback_picks_the_newest_successful_update_with_the_other_color() -> None:
    summary, color = hist.rollback_target(HISTORY, "backend", "green")

    assert (summary.version, color) == (2, "blue")


def test_rollback_skips_failed_updates_and_other_kinds() -> None:
    summary, _ = hist.rollback_target(
        [*HISTORY[:4], entry(2, "blue", result="failed"), entry(1, "blue")], "backend", "green"
    )

    assert summary.version == 1


def test_rollback_refuses_when_no_update_ran_another_color() -> None:
    with pytest.raises(
        BgctlError,
        match=r"^stack history has no successful update where backend served a color "
        r"other than green; nothing to roll back to$",
    ):
        hist.rollback_target([entry(2, "green"), entry(1, "blue", result="failed")], "backend", "green")


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (5, "history version 5 is a update that failed; pick a succeeded update (see `python -m bgctl history`)"),
        (3, "history version 3 ran backend on green, which is what serves now (green); nothing to roll back to"),
        (9, "stack history has no version 9"),
    ],
)
def test_rollback_to_a_version_refuses_entries_that_cannot_be_returned_to(version: int, message: str) -> None:
    with pytest.raises(BgctlError) as raised:
        hist.rollback_target(HISTORY, "backend", "green", to_version=version)

    assert str(raised.value) == message


def test_rollback_to_a_version_returns_that_entry() -> None:
    summary, color = hist.rollback_target(HISTORY, "backend", "green", to_version=1)

    assert (summary.version, color) == (1, "blue")


def test_cutovers_are_the_updates_that_changed_the_color() -> None:
    found = hist.cutovers(HISTORY, "backend")

    assert [(c.version, c.from_color, c.to_color, c.result) for c in found] == [
        (5, "green", "blue", "failed"),
        (3, "blue", "green", "succeeded"),
        (1, None, "blue", "succeeded"),
    ]


def test_cutovers_keep_failed_attempts() -> None:
    found = hist.cutovers([entry(3, "green"), entry(2, "green", result="failed"), entry(1, "blue")], "backend")

    assert [(c.version, c.from_color, c.to_color, c.result) for c in found] == [
        (3, "blue", "green", "succeeded"),
        (2, "blue", "green", "failed"),
        (1, None, "blue", "succeeded"),
    ]


def test_an_app_of_several_uses_its_own_color_else_the_top_level_one() -> None:
    apps = [{"name": "backend", "activeColor": "green"}, {"name": "api"}]
    config = hist.config_values(entry(1, "blue", apps=apps))

    assert (hist.color_of(config, "backend"), hist.color_of(config, "api"), hist.color_of(config, "web")) == (
        "green",
        "blue",
        None,
    )
    assert (hist.app_index(config, "api"), hist.app_index({}, "api")) == (1, None)
