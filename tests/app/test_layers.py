"""The layout's promises: builders take the model, never the parser; the policy pack stands alone; no
module edits the import path."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PARSER = ("bluegreen.config.stack", "bluegreen.config.schema", "bluegreen.config.values", "bluegreen.config.resolve")
BUILDERS = ("bluegreen/app/pod.py", "bluegreen/app/gate.py", "bluegreen/app/scale_down.py", "demo/frontend.py")
PACK = ROOT / "policies"


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _sources() -> Iterator[Path]:
    for folder in ("bluegreen", "demo", "policies", "provider", "tests", "e2e", "bench"):
        yield from (ROOT / folder).rglob("*.py")
    yield ROOT / "__main__.py"


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_kubernetes_builder_imports_the_model_never_the_parser(builder: str) -> None:
    imported = set(_imports(ROOT / builder))
    assert "bluegreen.config.model" in imported or builder.endswith("scale_down.py")
    assert sorted(name for name in imported if name.startswith(PARSER)) == []


def test_the_policy_pack_imports_nothing_from_outside_its_folder() -> None:
    own = {path.stem for path in (PACK / "bluegreen_policies").glob("*.py")}
    outside = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in PACK.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ("bluegreen", "demo", "tests", "policies")
        or (name.startswith("bluegreen_policies.") and name.split(".")[1] not in own)
    }
    assert sorted(outside) == []


def _edits_import_path(path: Path) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr in ("insert", "append", "extend")
        and ast.unparse(node.value) == "sys.path"
        for node in ast.walk(ast.parse(path.read_text()))
    )


def test_no_module_edits_the_import_path() -> None:
    assert [str(path.relative_to(ROOT)) for path in _sources() if _edits_import_path(path)] == []
