"""After an update that died: `bgctl status` says so and where traffic really is, `bgctl recover` finishes it,
and two traffic-changing commands never run at once in one project directory.

A killed `pulumi up` leaves the stack's lock (a file of the file backend naming its pid and host) and pending
operations; the stack's state may say the old color while the cluster's Service already selects the new one
(both measured with the real CLI on the real node: e2e/test_faults.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import pytest
import yaml

from bluegreen.cli import recovery
from tests.cli.test_bgctl import Result, command, switched_to_green
from tests.cli.test_bgctl_rollback_now import current_context, ready_cluster
from tests.fakes import kube_api as kube
from tests.fakes.world import World

PENDING = {
    "resource": {
        "urn": "urn:pulumi:dev::bluegreen::bluegreen:index:BlueGreenApp$kubernetes:core/v1:Service::backend",
        "type": "kubernetes:core/v1:Service",
    },
    "type": "updating",
}


def backend_folder(world: World, *parts: str) -> Path:
    """A folder of the fake's file backend (`whoami` names `<root>/backend`), under its `.pulumi/`."""
    folder = world.root.joinpath("backend", ".pulumi", *parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def lock_file(world: World, pid: int, host: str | None = None) -> Path:
    """The lock a `pulumi up` takes on the file backend, as v3.274.1 writes it."""
    folder = backend_folder(world, "locks", "organization", "bluegreen", "dev")
    path = folder / "181eafd9-aca7-4dc0-a6cf-2bac766aadaf.json"
    content = {
        "pid": pid,
        "username": "root",
        "hostname": host or socket.gethostname(),
        "timestamp": "2025-05-01T10:00:00Z",
    }
    path.write_text(json.dumps(content))
    return path


def killed_mid_switch(world: World) -> int:
    """A cutover to green whose `pulumi up` died after it wrote the selector, before the state recorded it."""
    state = world.load()
    state["pending"] = [PENDING]
    world.save()
    document = yaml.safe_load(world.stack_file.read_text())
    document["config"]["bluegreen:activeColor"] = "green"
    world.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    pid = dead_pid()
    lock_file(world, pid)
    return pid


@pytest.fixture
def cluster(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[kube.Cluster]:
    """The cluster already serves green (the selector was written); both colors are Ready."""
    state = ready_cluster(world.root / "calls.jsonl")
    with current_context(state, tmp_path, monkeypatch):
        yield state


def test_status_after_a_killed_update_says_it_and_where_traffic_is_in_the_cluster(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    pid = killed_mid_switch(world)

    code, out, err = bgctl("status")

    assert (code, err) == (0, [])
    host = socket.gethostname()
    assert out[1] == "  active: blue   idle: green"  # what the stack's state recorded
    assert out[7:11] == [
        # Green's 1.2 never served: a release waiting for its cutover, Available in the cluster.
        "  release: green runs 1.2, 2 of 2 pod(s) Available: ready to promote (make cutover COLOR=green)",
        f"  interrupted: the last update of stack dev did not finish: pulumi (pid {pid} on {host}, since "
        "2025-05-01T10:00:00Z) is gone; it was updating Service backend",
        "  traffic is on green: Service bluegreen-dev/backend selects it in the cluster, 2 of 2 pod(s) ready (the "
        "stack's state says blue; the config says green)",
        "  recover with: make recover (or: bgctl recover --stack dev --yes)",
    ]


def test_status_of_a_healthy_stack_reads_no_cluster(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    switched_to_green(world)

    code, out, _ = bgctl("status")

    assert code == 0
    assert not any("interrupted" in line or "recover" in line for line in out)
    assert cluster.requests == []


def test_recover_clears_the_dead_lock_refreshes_then_runs_the_checked_up_to_the_config(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    killed_mid_switch(world)

    code, out, err = bgctl("recover", "--yes")

    assert (code, err) == (0, []), err
    changing = [command(c)[0] for c in world.calls() if command(c)[:1] in (["cancel"], ["refresh"], ["up"])]
    assert changing == ["cancel", "refresh", "up"]
    up = next(command(c) for c in world.calls() if command(c)[:1] == ["up"])
    assert "--policy-pack" in up
    assert out[-1].startswith("done: backend serves green as the config says (update 3, succeeded)")
    assert "pending" not in world.load()


def test_recover_refuses_while_the_locks_process_still_runs(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    killed_mid_switch(world)
    lock_file(world, os.getpid())  # this very process: alive

    code, _, err = bgctl("recover", "--yes")

    assert code == 1
    assert err == [
        f"bgctl: error: an update of stack dev is running: pulumi (pid {os.getpid()} on {socket.gethostname()}, "
        "since 2025-05-01T10:00:00Z); nothing changed"
    ]
    assert [command(c)[0] for c in world.calls() if command(c)[:1] in (["cancel"], ["refresh"], ["up"])] == []


def test_recover_leaves_another_machines_lock_alone_and_names_the_command(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    killed_mid_switch(world)
    lock_file(world, 4242, host="ci-runner-7")

    code, _, err = bgctl("recover", "--yes")

    assert code == 1
    assert err == [
        "bgctl: error: an update of stack dev is running: pulumi (pid 4242 on ci-runner-7, since "
        "2025-05-01T10:00:00Z); if it is gone from ci-runner-7, run: pulumi cancel --stack dev; nothing changed"
    ]


def test_a_second_cutover_in_the_same_directory_stops_at_once_and_writes_no_config(
    world: World, bgctl: Callable[..., Result]
) -> None:
    before = world.stack_file.read_text()
    holder = os.open(world.work_dir / ".bgctl-dev.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    os.write(holder, b"bgctl cutover, pid 777")
    try:
        code, _, err = bgctl("cutover", "green", "--yes")
    finally:
        os.close(holder)

    assert code == 1
    assert err == [
        "bgctl: error: another cutover of stack dev is running (bgctl cutover, pid 777); nothing changed: wait for "
        "it to end, then check with: bgctl status"
    ]
    assert world.stack_file.read_text() == before
    assert [c for c in world.calls() if command(c)[:1] in (["up"], ["preview"])] == []


def cut_metadata_file(world: World) -> Path:
    """What a pulumi killed while writing the stack's metadata file leaves (v3.274.1's file backend without
    `metadata=skip` creates `<file>.attrs` in place, then writes it)."""
    folder = backend_folder(world, "stacks", "bluegreen")
    (folder / "dev.json").write_text("{}")
    path = folder / "dev.json.attrs"
    path.write_bytes(b"")
    return path


CUT_LINE: Final = (
    "bgctl: error: the state of stack dev cannot be read (pulumi failed: stderr: error: failed to load checkpoint: "
    "EOF): a pulumi killed while writing it left 1 empty metadata file(s) in the file backend at {root} "
    "(.pulumi/stacks/bluegreen/dev.json.attrs); nothing changed: run make recover (or: bgctl recover --stack dev), "
    "which removes them, refreshes the state from the cluster and brings the stack to its config"
)


@pytest.mark.parametrize("args", [("status",), ("history",), ("cutover", "green", "--yes")])
def test_a_metadata_file_a_killed_pulumi_left_empty_is_named_with_make_recover_and_nothing_changes(
    world: World, bgctl: Callable[..., Result], args: tuple[str, ...]
) -> None:
    cut_metadata_file(world)
    before = world.stack_file.read_text()

    code, out, err = bgctl(*args)

    assert (code, out) == (1, [])
    assert err == [CUT_LINE.format(root=world.root / "backend")]
    assert world.stack_file.read_text() == before
    assert [c for c in world.calls() if command(c)[:1] in (["config"], ["up"], ["refresh"], ["cancel"])] == []


def test_a_history_file_whose_metadata_a_killed_pulumi_cut_stops_status_with_the_cli_error_and_make_recover(
    world: World, bgctl: Callable[..., Result]
) -> None:
    switched_to_green(world)
    folder = backend_folder(world, "history", "bluegreen", "dev")
    (folder / "dev-1796471981164490265.history.json.attrs").write_bytes(b"")

    code, _, err = bgctl("status")

    assert code == 1
    assert err == [
        "bgctl: error: pulumi failed: stderr: error: getting history: reading history file "
        ".pulumi/history/bluegreen/dev/dev-1796471981164490265.history.json: EOF; the file backend at "
        f"{world.root / 'backend'} holds 1 empty metadata file(s) a killed pulumi left "
        "(.pulumi/history/bluegreen/dev/dev-1796471981164490265.history.json.attrs): run make recover (or: bgctl "
        "recover --stack dev), which removes them, refreshes the state from the cluster and brings the stack to its "
        "config"
    ]


def test_recover_removes_only_the_empty_metadata_file_then_refreshes_and_runs_the_checked_up(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    killed_mid_switch(world)
    cut = cut_metadata_file(world)
    kept = cut.with_name("dev.json.bak.attrs")
    kept.write_text('{"user.content_type":"application/json"}\n')

    code, out, err = bgctl("recover", "--yes")

    assert (code, err) == (0, []), err
    assert out[0] == (
        "removed 1 empty metadata file(s) a killed pulumi left in the file backend: "
        ".pulumi/stacks/bluegreen/dev.json.attrs"
    )
    assert not cut.exists()
    assert kept.read_text() == '{"user.content_type":"application/json"}\n'
    changing = [command(c)[0] for c in world.calls() if command(c)[:1] in (["cancel"], ["refresh"], ["up"])]
    assert changing == ["cancel", "refresh", "up"]
    assert out[-1].startswith("done: backend serves green as the config says (update 3, succeeded)")


def test_an_error_of_the_cli_with_no_cut_metadata_is_reported_as_it_was(
    world: World, bgctl: Callable[..., Result]
) -> None:
    folder = backend_folder(world, "stacks", "bluegreen")
    (folder / "dev.json.attrs").write_text('{"md5":null}\n')  # whole: the stack reads as before

    code, out, err = bgctl("status", "--stack", "prod")

    assert (code, out) == (1, [])
    assert err == ["bgctl: error: no stack named 'prod': create it with `pulumi stack init prod` or pass --stack NAME"]


def test_only_empty_files_of_a_file_backend_count_as_cut_metadata(tmp_path: Path) -> None:
    stacks = tmp_path / ".pulumi" / "stacks" / "bluegreen"
    stacks.mkdir(parents=True)
    (stacks / "dev.json.attrs").write_text('{"md5":null}\n')
    (stacks / "prod.json.attrs").write_bytes(b"")
    (stacks / "empty.json").write_bytes(b"")  # not a metadata file
    (tmp_path / ".pulumi" / "history.attrs").mkdir()  # a folder, whatever its name

    assert recovery.cut_metadata(tmp_path) == [stacks / "prod.json.attrs"]
    assert recovery.cut_metadata(None) == []  # another backend
    assert recovery.cut_metadata(tmp_path / "missing") == []
