"""`bench.engine_scale` builds a valid stack of N small apps and turns medians into seconds per added app."""

from __future__ import annotations

import pytest

from bench import engine_scale
from bench.engine_scale import Step, per_app, stack_config, table
from bluegreen.config.stack import parse_stack_config

IMAGE = "bluegreen.local/e2e/echo:1"


@pytest.mark.parametrize("apps", [1, 10, 50])
def test_the_stack_config_parses_to_that_many_small_apps_with_no_frontend(apps: int) -> None:
    settings = parse_stack_config(stack_config(apps, IMAGE))

    assert [app.name for app in settings.apps] == [f"app{i:02d}" for i in range(1, apps + 1)]
    assert settings.namespace == "bluegreen-scale"
    assert settings.frontend is None
    assert settings.pre_switch_gate is True
    assert {(app.blue.replicas, app.green.replicas, app.idle_replicas) for app in settings.apps} == {(1, 1, 0)}
    assert {(app.blue.image, app.green.image) for app in settings.apps} == {(IMAGE, IMAGE)}


def test_seconds_per_added_app_come_from_the_medians_of_consecutive_counts() -> None:
    steps = [
        Step(1, preview=[1.0, 1.3, 5.0], up=[2.1, 2.1, 2.1]),
        Step(10, preview=[2.2, 2.0, 2.2], up=[2.9, 3.0, 3.1]),
        Step(50, preview=[6.2], up=[7.0, 7.0]),
    ]

    assert per_app(steps) == [
        ("1 -> 10 (9 added)", pytest.approx(0.1), pytest.approx(0.1)),
        ("10 -> 50 (40 added)", pytest.approx(0.1), pytest.approx(0.1)),
    ]


def test_a_count_whose_creation_failed_shows_as_failed_with_no_per_app_cost() -> None:
    steps = [Step(1, 12.0, 0, [1.7], [1.7]), Step(10, 30.0, 1)]

    rendered = table(steps, runs=1, seconds=60.0)

    assert "| 10 | 30 (failed) | - | - | 0 |" in rendered
    assert "| 1 -> 10 (9 added) | - | - |" in rendered


@pytest.mark.parametrize("scale", ["10,1", "1,1,10", "0,10"])
def test_app_counts_must_ascend_from_one(scale: str) -> None:
    with pytest.raises(SystemExit, match="give ascending app counts >= 1"):
        engine_scale.main(["--scale", scale])
