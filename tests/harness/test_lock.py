"""The locks pin the whole environment pyproject.toml asks for: runtime and development apart."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {_name(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+)$", text, re.MULTILINE)}


def test_the_runtime_lock_pins_every_runtime_dependency_and_no_dev_tool() -> None:
    pins = _pins("requirements.txt")
    assert sorted(_name(r) for r in PROJECT["dependencies"] if _name(r) not in pins) == []
    assert sorted(_name(r) for r in PROJECT["optional-dependencies"]["dev"] if _name(r) in pins) == []


def test_the_development_lock_pins_the_runtime_ones_at_the_same_versions_and_every_dev_tool() -> None:
    runtime, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert sorted(_name(r) for r in PROJECT["optional-dependencies"]["dev"] if _name(r) not in dev) == []
    assert "-e ." in (ROOT / "requirements-dev.txt").read_text().splitlines()  # the package, for bgctl
