"""The fake stack every bgctl test starts from, and bgctl run in-process against it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bluegreen.cli.main import main
from tests.cli.test_bgctl import Result, cutover_config, dev_config
from tests.conftest import run_program
from tests.fakes import world as fake_world
from tests.fakes.world import World


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    base = dev_config()
    built = fake_world.build(tmp_path, base)
    built.state["plans"] = {
        "green": fake_world.steps(run_program(base), run_program(cutover_config(base, "green"))),
        "blue": fake_world.steps(run_program(cutover_config(base, "green")), run_program(base)),
    }
    built.save()
    monkeypatch.setenv("PATH", built.env()["PATH"])
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(built.state_path))
    return built


@pytest.fixture
def bgctl(world: World, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*args: str) -> Result:
        code = main([*args, "--work-dir", str(world.work_dir)])
        captured = capsys.readouterr()
        return code, captured.out.splitlines(), captured.err.splitlines()

    return run
