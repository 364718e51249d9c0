"""`make up` and `make preview` without a Pulumi CLI stop at once with one line that says how to install it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def _bare_path(tmp_path) -> str:
    """A PATH holding only make, a shell and date, so no `pulumi` or `kubectl` can be found whatever is installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "bash", "sh", "date"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize("target", ["up", "preview"])
def test_target_without_the_pulumi_cli_fails_with_one_line(tmp_path, target):
    result = _make(target, _bare_path(tmp_path))
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "the Pulumi CLI is not on PATH" in lines[0]
    assert "curl -fsSL https://get.pulumi.com | sh" in lines[0]
    assert f"then run make {target} again" in lines[0]


def _make(target: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        ["make", "--no-print-directory", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_smoke_without_kubectl_fails_with_one_line(tmp_path):
    result = _make("smoke", _bare_path(tmp_path))
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "kubectl is not on PATH" in result.stderr
    assert "then run make smoke again" in result.stderr


def test_smoke_without_a_reachable_cluster_fails_with_one_line(tmp_path):
    path = _bare_path(tmp_path)
    kubectl = tmp_path / "bin" / "kubectl"
    # A kubectl whose every call fails, as it does when no cluster answers.
    kubectl.write_text("#!/bin/sh\nexit 1\n")
    kubectl.chmod(0o755)
    result = _make("smoke", path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "no cluster answers at kubectl's current context (none)" in result.stderr
