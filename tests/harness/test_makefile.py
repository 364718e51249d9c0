"""Make targets that need a tool stop at once, before any recipe runs, with one line that says how to get it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

PULUMI_TARGETS = [
    "up",
    "preview",
    "status",
    "history",
    "rollback",
    "recover",
    "cutover COLOR=green",
    "preview COLOR=green",
    "destroy",
]


def _bare_path(tmp_path: Path) -> str:
    """A PATH holding only make, a shell and date, so no `pulumi` or `kubectl` can be found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "bash", "sh", "date"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def _make(command: str, tmp_path: Path, path: str) -> subprocess.CompletedProcess[str]:
    """Run make on a copy of the Makefile in an empty folder, so anything a recipe creates would show."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "Makefile", work / "Makefile")
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        ["make", "--no-print-directory", *command.split()],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_one_line_and_nothing_ran(result: subprocess.CompletedProcess[str], tmp_path: Path) -> str:
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["Makefile"]
    return result.stderr


@pytest.mark.parametrize("command", PULUMI_TARGETS)
def test_target_without_the_pulumi_cli_fails_with_one_line(tmp_path, command):
    line = _assert_one_line_and_nothing_ran(_make(command, tmp_path, _bare_path(tmp_path)), tmp_path)
    target = command.split()[0]
    assert line.startswith("Makefile:")
    assert line.split(": *** ", 1)[1] == (
        'the Pulumi CLI is not on PATH: install it with "curl -fsSL https://get.pulumi.com | sh" '
        f"(https://www.pulumi.com/docs/iac/download-install/), then run make {target} again.  Stop.\n"
    )


def test_smoke_without_kubectl_fails_with_one_line(tmp_path):
    line = _assert_one_line_and_nothing_ran(_make("smoke", tmp_path, _bare_path(tmp_path)), tmp_path)
    assert "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/)" in line
    assert line.endswith("then run make smoke again.  Stop.\n")


def test_smoke_without_a_reachable_cluster_fails_with_one_line(tmp_path):
    path = _bare_path(tmp_path)
    kubectl = tmp_path / "bin" / "kubectl"
    # A kubectl whose every call fails, as it does when no cluster answers.
    kubectl.write_text("#!/bin/sh\nexit 1\n")
    kubectl.chmod(0o755)
    line = _assert_one_line_and_nothing_ran(_make("smoke", tmp_path, path), tmp_path)
    assert "no cluster answers at kubectl's current context (none): start one" in line
    assert line.endswith("then run make smoke again.  Stop.\n")


@pytest.mark.parametrize(("yes", "flag"), [("YES=1", " --yes"), ("", "")])
def test_make_up_passes_yes_only_when_asked(tmp_path, yes, flag):
    path = _bare_path(tmp_path)
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    # -n prints the recipes without running them; `up` alone, so no venv is made.
    result = _make(f"-n --assume-old=venv up {yes}".strip(), tmp_path, path)
    assert result.returncode == 0, result.stderr
    up = [line for line in result.stdout.splitlines() if line.startswith("pulumi up")]
    assert up == [f"pulumi up --stack dev --refresh --diff --policy-pack policies{flag}"]


def _phony_targets() -> list[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith(".PHONY:"))
    return line.removeprefix(".PHONY:").split()


def test_make_help_lists_every_target(tmp_path):
    result = _make("help", tmp_path, _bare_path(tmp_path))
    mentioned = {target for target in _phony_targets() if f"make {target}" in result.stdout}
    assert result.returncode == 0
    assert sorted(set(_phony_targets()) - mentioned - {"help"}) == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("cutover COLOR=green", ".venv/bin/bgctl cutover green --stack dev --policy-pack policies"),
        ("cutover COLOR=green POLICY_PACK=", ".venv/bin/bgctl cutover green --stack dev --no-policy-pack"),
        ("preview COLOR=green POLICY_PACK=", ".venv/bin/bgctl preview green --stack dev --no-policy-pack"),
        ("rollback POLICY_PACK=", ".venv/bin/bgctl rollback --stack dev --no-policy-pack"),
        ("rollback NOW=1 YES=1", ".venv/bin/bgctl rollback --stack dev --policy-pack policies --now --yes"),
        ("recover YES=1", ".venv/bin/bgctl recover --stack dev --policy-pack policies --yes"),
        (
            "release IMAGE=app:1.3 VERSION=1.3",
            ".venv/bin/bgctl release --image app:1.3 --version 1.3 --stack dev --policy-pack policies",
        ),
        (
            "release IMAGE=app:1.3 VERSION=1.3 PROMOTE=1 NO_SWITCH_BACK=1 YES=1 APP=api",
            ".venv/bin/bgctl release --image app:1.3 --version 1.3 --stack dev --app api --policy-pack policies "
            "--promote --no-switch-back --yes",
        ),
        (
            "cutover COLOR=blue NO_SWITCH_BACK=1",
            ".venv/bin/bgctl cutover blue --stack dev --policy-pack policies --no-switch-back",
        ),
    ],
)
def test_make_runs_bgctl_with_the_flags_its_variables_ask_for(tmp_path, command, expected):
    path = _bare_path(tmp_path)
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    result = _make(f"-n --assume-old=venv {command}", tmp_path, path)
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith(".venv/bin/bgctl")] == [expected]


def test_make_release_without_image_or_version_says_what_it_needs(tmp_path):
    path = _bare_path(tmp_path)
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    result = _make("-n --assume-old=venv release VERSION=1.3", tmp_path, path)
    assert result.returncode == 2
    assert "IMAGE and VERSION are required: make release IMAGE=repo:tag VERSION=1.3" in result.stderr


def test_make_destroy_asks_first_and_destroys_nothing_without_a_yes(tmp_path):
    path = _bare_path(tmp_path)
    (tmp_path / "bin" / "pulumi").write_text('#!/bin/sh\necho "pulumi $*" >> calls\n')
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    for tool in ("read", "cat", "mkdir"):
        if found := shutil.which(tool):
            (tmp_path / "bin" / tool).symlink_to(found)
    declined = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "destroy"],
        cwd=tmp_path,
        env={**os.environ, "PATH": path},
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert declined.returncode != 0
    assert "nothing destroyed" in declined.stderr
    assert (tmp_path / "calls").read_text().splitlines() == ["pulumi stack select --create dev --non-interactive"]
    accepted = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "destroy", "YES=1"],
        cwd=tmp_path,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert accepted.returncode == 0, accepted.stderr
    assert (tmp_path / "calls").read_text().splitlines()[2:] == [
        "pulumi state unprotect --all --yes --stack dev",
        "pulumi destroy --yes --stack dev",
    ]
