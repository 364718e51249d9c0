"""The stand-in `pulumi` answers as the real CLI did, shape for shape.

tests/fixtures/real_cli/ holds what the real CLI v3.274.1 printed on the local file backend for the dev
stack, right after a cutover to green, in a run of e2e/test_python_program.py. The stand-in is given the
same stack (the tracked Pulumi.dev.yaml, cut over to green) and must print the same JSON: the bgctl tests
that use it then test what bgctl meets on a real install.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.fakes import world as fake_world
from tests.fakes.pulumi_cli import main

REAL = ROOT / "tests" / "fixtures" / "real_cli"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")


def real(name: str) -> Any:
    return json.loads((REAL / name).read_text())


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the stand-in on the dev stack as shipped (no Pulumi.yaml defaults in it), cut over to green."""
    world = fake_world.build(tmp_path)
    shipped = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    shipped["config"]["bluegreen:activeColor"] = "green"
    world.stack_file.write_text(yaml.safe_dump(shipped, sort_keys=False))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(world.state_path))
    monkeypatch.chdir(world.work_dir)

    def run(*args: str) -> Any:
        main([*args, "--stack", "dev"])
        return json.loads(capsys.readouterr().out)

    return run


def test_config_json_equals_the_real_clis_with_pulumi_yaml_defaults_merged(fake: Any) -> None:
    assert fake("config", "--json") == real("config.json")


def test_stack_ls_has_the_real_keys_and_no_update_in_progress_on_the_file_backend(fake: Any) -> None:
    (got,), (want,) = fake("stack", "ls", "--json"), real("stack-ls.json")
    assert sorted(got) == sorted(want) == ["current", "lastUpdate", "name", "resourceCount"]


def test_stack_history_has_the_real_keys_and_version_zero(fake: Any) -> None:
    entries, printed = real("stack-history.json"), fake("stack", "history", "--json")
    assert {e["version"] for e in entries} == {e["version"] for e in printed} == {0}
    assert printed and entries
    for got in printed:
        for want in entries:
            assert sorted(got) == sorted(want)
            assert TIMESTAMP.match(got["startTime"]) and TIMESTAMP.match(want["startTime"])


def test_history_entries_carry_the_config_as_the_real_cli_records_it() -> None:
    entries = real("stack-history.json")
    newest = entries[0]["config"]
    plain = {key: value.get("objectValue", value["value"]) for key, value in newest.items()}
    assert fake_world.history_entry(2, plain)["config"] == newest
