"""`make up` and `make preview` without a Pulumi CLI stop at once with one line that says how to install it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def _path_without_pulumi(tmp_path) -> str:
    """A PATH holding only make and a shell, so no `pulumi` can be found whatever is installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "bash", "sh"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize("target", ["up", "preview"])
def test_target_without_the_pulumi_cli_fails_with_one_line(tmp_path, target):
    env = {**os.environ, "PATH": _path_without_pulumi(tmp_path)}
    result = subprocess.run(
        ["make", "--no-print-directory", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "the Pulumi CLI is not on PATH" in lines[0]
    assert "curl -fsSL https://get.pulumi.com | sh" in lines[0]
    assert f"then run make {target} again" in lines[0]
