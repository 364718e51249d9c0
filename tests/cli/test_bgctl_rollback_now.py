"""`bgctl rollback --now`: the previous color, Ready in the cluster, gets the traffic through one write of the active
Service's selector; then the normal `pulumi up` brings the stack's config and state in line.

The official client talks to the stand-in API server (tests/fakes/kube_api.py) through a kubeconfig, and the
Automation API to the fake `pulumi`; both log to one timeline, so the order of what bgctl does is asserted whole.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from bluegreen.cli import commands
from bluegreen.cli.main import main
from tests.cli.test_bgctl import Result, command, cutover_config, dev_config, switched_to_green
from tests.conftest import run_program
from tests.fakes import kube_api as kube
from tests.fakes import world as fake_world
from tests.fakes.world import World, history_entry, qualified

MOVED = datetime(2025, 5, 1, 10, 0, 1, 234567, tzinfo=UTC)
SERVICE = "/api/v1/namespaces/bluegreen-dev/services/backend"
BLUE = "/apis/apps/v1/namespaces/bluegreen-dev/deployments/backend-blue"
READ_BLUE = f"GET {BLUE}"
WRITE = f"PATCH {SERVICE}?fieldManager=bgctl"
SET_BLUE = "pulumi config set bluegreen:activeColor --plaintext --stack dev -- blue"
TARGET = (
    'rollback target: update v1 of 2025-04-11 09:30:00 UTC (succeeded) "first deploy" ran backend on blue; green '
    "serves now"
)
ONLY_THE_COLOR = "only the color changes: images, versions and replicas stay as configured now"
MOVED_LINE = "traffic moved: Service bluegreen-dev/backend selects blue at 2025-05-01 10:00:01.234 UTC"
RECORDING = "setting bluegreen:activeColor = blue and running pulumi up, which finds the selector already written ..."
HALF_DONE = (
    "bgctl: error: rollback --now half done: traffic IS on blue (Service bluegreen-dev/backend selects it since "
    "10:00:01.234 UTC), but "
)


def ready_cluster(journal: Path) -> kube.Cluster:
    """Green serves (its Service says so); both colors are rolled out and Ready."""
    return kube.Cluster(
        deployments={
            "backend-blue": kube.deployment("backend-blue", "blue"),
            "backend-green": kube.deployment("backend-green", "green"),
        },
        services={
            "backend": kube.service("backend", "green"),
            "backend-preview": kube.service("backend-preview", "blue"),
        },
        journal=journal,
    )


@contextlib.contextmanager
def current_context(
    cluster: kube.Cluster, folder: Path, monkeypatch: pytest.MonkeyPatch, **kubeconfig: Any
) -> Iterator[kube.FakeKubeApi]:
    """Serve `cluster` and point $KUBECONFIG at it, as its current context (what the provider uses by default)."""
    served = kube.serve(cluster)
    api = next(served)
    path = folder / "kubeconfig"
    path.write_text(kube.kubeconfig(api.url, **kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # never the in-cluster config
    monkeypatch.setattr(commands, "utc_now", lambda: MOVED)
    try:
        yield api
    finally:
        served.close()


@pytest.fixture
def cluster(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[kube.Cluster]:
    """The stack after a cutover to green, and the cluster it runs on."""
    switched_to_green(world)
    state = ready_cluster(world.root / "calls.jsonl")
    with current_context(state, tmp_path, monkeypatch):
        yield state


def timeline(world: World) -> list[str]:
    """What bgctl did outside itself, in order: every API request, and the CLI calls that change the stack."""
    found = []
    for call in world.calls():
        if call[0] == "kube-api":
            found.append(call[1])
        elif command(call)[:2] == ["config", "set"]:
            found.append(" ".join(["pulumi", *command(call)]))
        elif command(call)[:1] == ["up"]:
            found.append("pulumi up")
    return found


def ups(world: World) -> list[list[str]]:
    return [command(c) for c in world.calls() if command(c)[:1] == ["up"]]


def reconcile(world: World, *first: str) -> str:
    """The command a half-done rollback names: what bgctl's own `up` ran, from the project's directory."""
    where = f"--stack dev --cwd {world.work_dir}"
    up = f"pulumi up {where} --policy-pack {world.work_dir / 'policies'}"
    return " && ".join([*(f"{step} {where}" for step in first), up])


def fail_up(world: World, message: str, *, switched: bool = False) -> None:
    state = world.load()
    service = next(s["urn"] for s in state["plans"]["blue"] if s["urn"].endswith("Service::backend"))
    state["upFailure"] = {"urn": service, "message": message, "switched": switched}
    world.save()


def test_rollback_now_moves_traffic_with_one_patch_then_records_it_with_pulumi_up(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    code, out, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (0, [])
    assert out == [
        TARGET,
        ONLY_THE_COLOR,
        MOVED_LINE,
        RECORDING,
        "  ... update   kubernetes:core/v1:Service backend",
        "  done update   kubernetes:core/v1:Service backend",
        "  ... update   kubernetes:core/v1:Service backend-preview",
        "  done update   kubernetes:core/v1:Service backend-preview",
        "done: backend serves blue (update 3, succeeded)",
    ]
    # One read of the target color, one write, then the config and the update: in that order, nothing else.
    assert timeline(world) == [READ_BLUE, WRITE, SET_BLUE, "pulumi up"]
    assert cluster.patches == [
        kube.Patch(
            SERVICE, kube.MERGE_PATCH, {"spec": {"selector": {"color": "blue"}}}, f"bgctl/{version('bluegreen')}"
        )
    ]
    written = cluster.services["backend"]
    assert written["spec"]["selector"] == {"app": "backend", "color": "blue"}
    assert (written["spec"]["clusterIP"], written["metadata"]["resourceVersion"]) == ("10.96.0.12", "816")
    assert cluster.services["backend-preview"]["spec"]["selector"]["color"] == "blue"  # the up moves it, not bgctl
    (up,) = ups(world)
    assert up[up.index("--message") + 1] == "bgctl rollback --now to v1 backend: green -> blue"
    assert up[up.index("--policy-pack") + 1] == str(world.work_dir / "policies")
    assert world.config()["bluegreen:activeColor"] == "blue"
    assert world.load()["history"][0]["config"]["bluegreen:activeColor"]["value"] == "blue"  # history records it


@pytest.mark.parametrize("number", ["1", "v1"])
def test_rollback_now_returns_to_the_color_of_the_update_named_by_to_version(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result], number: str
) -> None:
    state = world.load()
    green = qualified(cutover_config(dev_config(), "green"))
    state["history"].insert(0, history_entry(3, green, message="green again"))
    world.save()

    code, out, err = bgctl("rollback", "--now", "--to-version", number, "--yes")

    assert (code, err) == (0, [])
    assert out[0] == TARGET
    assert out[-1] == "done: backend serves blue (update 4, succeeded)"
    assert timeline(world) == [READ_BLUE, WRITE, SET_BLUE, "pulumi up"]
    (up,) = ups(world)
    assert up[up.index("--message") + 1] == "bgctl rollback --now to v1 backend: green -> blue"


def test_rollback_now_refuses_a_color_scaled_to_zero_and_points_to_plain_rollback(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    cluster.deployments["backend-blue"] = kube.deployment("backend-blue", "blue", replicas=0, updated=0, available=0)

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert (code, out) == (1, [TARGET, ONLY_THE_COLOR])
    assert err == [
        "bgctl: error: blue cannot take traffic at once: Deployment bluegreen-dev/backend-blue is scaled to 0 "
        "replicas; use `bgctl rollback` without --now, which scales it up first; nothing changed"
    ]
    assert timeline(world) == [READ_BLUE]
    assert cluster.services["backend"]["spec"]["selector"]["color"] == "green"
    assert world.config()["bluegreen:activeColor"] == "green"


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ({"generation": 4, "observed": 3}, "rollout not observed yet (generation 4, observed 3)"),
        ({"updated": 1, "total": 2}, "has 1 of 2 replicas updated"),
        ({"total": 3}, "still runs 1 old replica(s)"),
        ({"ready": 1, "available": 1}, "has 1 of 2 replicas ready"),
        ({"ready": 2, "available": 1}, "has 1 of 2 replicas available"),  # ready, but not for minReadySeconds yet
    ],
    ids=["spec-not-observed", "rollout-in-progress", "old-replica-left", "not-ready", "not-available"],
)
def test_rollback_now_refuses_a_color_that_is_not_ready_and_writes_nothing(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result], status: dict[str, int], why: str
) -> None:
    cluster.deployments["backend-blue"] = kube.deployment("backend-blue", "blue", **status)

    code, _, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (
        1,
        [
            "bgctl: error: blue cannot take traffic at once: Deployment bluegreen-dev/backend-blue "
            f"{why}; nothing changed"
        ],
    )
    assert timeline(world) == [READ_BLUE]
    assert cluster.patches == []


def test_rollback_now_to_a_color_smaller_than_configured_says_the_up_scales_it(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    # idleReplicas: 1 left blue one pod: it can serve now, at reduced size.
    cluster.deployments["backend-blue"] = kube.deployment("backend-blue", "blue", replicas=1, updated=1, available=1)

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (0, [])
    assert out[2:4] == [
        "note: blue runs 1 of its 2 configured replicas; it takes all traffic now, and the pulumi up that follows "
        "scales it to 2",
        MOVED_LINE,
    ]
    assert timeline(world) == [READ_BLUE, WRITE, SET_BLUE, "pulumi up"]


def test_a_failed_pulumi_up_after_the_switch_says_traffic_is_on_the_previous_color_and_how_to_reconcile(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    fail_up(world, "timed out waiting for the Service")

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert code == 1
    assert err == [
        f"{HALF_DONE}pulumi up failed: timed out waiting for the Service; the config says blue; to bring the stack in "
        f"line run: {reconcile(world)}"
    ]
    assert "  FAILED update kubernetes:core/v1:Service backend" in out
    # Traffic is on blue, so the config stays there: a later plain `pulumi up` must not move it back.
    assert world.config()["bluegreen:activeColor"] == "blue"
    assert cluster.services["backend"]["spec"]["selector"]["color"] == "blue"
    assert timeline(world) == [READ_BLUE, WRITE, SET_BLUE, "pulumi up"]


def test_a_policy_pack_that_refuses_the_recording_update_leaves_traffic_moved_and_says_so(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    # --now runs no preview: a mandatory violation is found by the update, after the switch.
    state = world.load()
    state["policyEvents"] = [
        {
            "resourceUrn": "urn:pulumi:dev::bluegreen::bluegreen:index:BlueGreenApp$kubernetes:apps/v1:Deployment"
            "::backend-blue",
            "message": "Deployment has no readiness probe",
            "color": "never",
            "policyName": "readiness-probe",
            "policyPackName": "bluegreen-guardrails",
            "policyPackVersion": "0.1.0",
            "enforcementLevel": "mandatory",
        }
    ]
    world.save()

    code, out, err = bgctl("rollback", "--now", "--yes")

    violation = "readiness-probe (mandatory) on backend-blue: Deployment has no readiness probe"
    assert code == 1
    assert err == [
        f"{HALF_DONE}pulumi up failed: REFUSED by the policy pack: {violation}; the config says blue; to bring the "
        f"stack in line run: {reconcile(world)}"
    ]
    assert out[2:5] == [MOVED_LINE, RECORDING, f"  policy {violation}"]
    assert world.config()["bluegreen:activeColor"] == "blue"


@pytest.mark.parametrize(
    ("moment", "what", "first"),
    [
        (
            True,
            "setting bluegreen:activeColor failed: interrupted; the config says green",
            ["pulumi config set bluegreen:activeColor blue"],
        ),
        ("written", "interrupted before pulumi up; the config says blue", []),
    ],
    ids=["before-it-is-written", "once-it-is-written"],
)
def test_an_interrupt_while_the_config_is_written_after_the_switch_starts_no_update_and_names_the_fix(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result], moment: object, what: str, first: list[str]
) -> None:
    state = world.load()
    state["interruptConfigSet"] = moment
    world.save()

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert code == 1
    assert err == [f"{HALF_DONE}{what}; to bring the stack in line run: {reconcile(world, *first)}"]
    assert (
        "SIGINT received: nothing new starts; pulumi ends its update if one runs, and the config is made to match "
        "where traffic is" in out
    )
    assert ups(world) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interrupt_during_the_recording_update_keeps_the_config_on_the_color_traffic_is_on(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    fail_up(world, "update canceled")
    state = world.load()
    state["interruptUp"] = True
    world.save()

    code, _, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (
        1,
        [
            f"{HALF_DONE}pulumi up failed: interrupted; the config says blue; to bring the stack in line run: "
            f"{reconcile(world)}"
        ],
    )
    assert world.config()["bluegreen:activeColor"] == "blue"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interrupt_after_the_recording_update_finished_says_it_is_all_done(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    state = world.load()
    state["interruptUp"] = True
    world.save()

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert (code, out[-1]) == (1, "done: backend serves blue (update 3, succeeded)")
    assert err == [
        "bgctl: error: interrupted, but the update had finished: backend serves blue and the config says so; to go "
        "back: bgctl rollback"
    ]


def test_an_interrupt_while_the_selector_is_written_still_brings_the_config_to_the_color_traffic_is_on(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    cluster.interrupt = f"PATCH {SERVICE}"  # the write is made; the Ctrl-C comes before its answer

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (
        1,
        [
            f"{HALF_DONE}interrupted before pulumi up; the config says blue; to bring the stack in line run: "
            f"{reconcile(world)}"
        ],
    )
    assert out[2:4] == [
        "SIGINT received: nothing new starts; pulumi ends its update if one runs, and the config is made to match "
        "where traffic is",
        MOVED_LINE,
    ]
    assert timeline(world) == [READ_BLUE, WRITE, SET_BLUE]


def test_an_interrupt_before_the_switch_changes_nothing(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    cluster.interrupt = f"GET {BLUE}"

    code, _, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (1, ["bgctl: error: interrupted"])
    assert timeline(world) == [READ_BLUE]
    assert cluster.services["backend"]["spec"]["selector"]["color"] == "green"


def test_a_write_the_api_server_refuses_changes_nothing(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    cluster.failures[f"PATCH {SERVICE}"] = kube.Failure(
        403,
        "Forbidden",
        'services "backend" is forbidden: User "ci" cannot patch resource "services" in API group "" in the '
        'namespace "bluegreen-dev"',
    )

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert (code, out) == (1, [TARGET, ONLY_THE_COLOR])
    assert err == [
        'bgctl: error: PATCH Service bluegreen-dev/backend answered HTTP 403 Forbidden: services "backend" is '
        'forbidden: User "ci" cannot patch resource "services" in API group "" in the namespace "bluegreen-dev"; '
        "nothing changed, green serves"
    ]
    assert timeline(world) == [READ_BLUE, WRITE]


TIMEOUT = "Timeout: request did not complete within requested timeout - context deadline exceeded"


@pytest.mark.parametrize("written", [True, False], ids=["made", "not-made"])
def test_a_write_whose_answer_is_a_server_error_is_settled_by_reading_the_service(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result], written: bool
) -> None:
    cluster.failures[f"PATCH {SERVICE}"] = kube.Failure(504, "Gateway Timeout", TIMEOUT, written=written)

    code, out, err = bgctl("rollback", "--now", "--yes")

    assert timeline(world)[:3] == [READ_BLUE, WRITE, f"GET {SERVICE}"]
    if written:  # it selects blue: traffic moved, and the stack is brought in line as usual
        assert (code, err) == (0, [])
        assert out[2] == MOVED_LINE
        assert timeline(world)[3:] == [SET_BLUE, "pulumi up"]
    else:
        assert (code, err) == (
            1,
            [
                f"bgctl: error: PATCH Service bluegreen-dev/backend answered HTTP 504 Gateway Timeout: {TIMEOUT}; "
                "Service bluegreen-dev/backend still selects green: nothing changed"
            ],
        )
        assert timeline(world)[3:] == []


def test_rollback_now_without_yes_and_without_a_terminal_changes_nothing(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    code, _, err = bgctl("rollback", "--now")

    assert (code, err) == (
        1,
        ["bgctl: error: not confirmed: stdin is not a terminal, pass --yes to switch without a prompt"],
    )
    assert timeline(world) == [READ_BLUE]


@pytest.mark.parametrize(("answer", "code"), [("y", 0), ("n", 1)])
def test_rollback_now_asks_once_the_color_is_ready_and_reads_it_again_after_the_answer(
    world: World,
    cluster: kube.Cluster,
    bgctl: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    code: int,
) -> None:
    asked: list[str] = []

    def operator(prompt: str) -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", operator)

    done, _, err = bgctl("rollback", "--now")

    assert asked == [
        "move backend's traffic on stack dev from green to blue now (Service bluegreen-dev/backend first, then "
        "pulumi up)? [y/N] "
    ]
    assert done == code
    if answer == "y":
        assert timeline(world) == [READ_BLUE, READ_BLUE, WRITE, SET_BLUE, "pulumi up"]
    else:
        assert err == ["bgctl: error: cancelled: nothing changed"]
        assert timeline(world) == [READ_BLUE]


def test_rollback_now_talks_to_the_context_the_stacks_kubernetes_provider_is_configured_with(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bgctl: Callable[..., Result]
) -> None:
    switched_to_green(world)
    state = ready_cluster(world.root / "calls.jsonl")
    # The kubeconfig's current context points at nothing; kubernetes:context names the cluster, as for the provider.
    with current_context(state, tmp_path, monkeypatch, current="other", extra_server="http://127.0.0.1:9"):
        world.stack_file.write_text(world.stack_file.read_text() + "  kubernetes:context: kind-bluegreen\n")

        code, _, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (0, [])
    assert state.services["backend"]["spec"]["selector"]["color"] == "blue"


def test_rollback_now_without_a_kubeconfig_is_one_line_and_changes_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bgctl: Callable[..., Result]
) -> None:
    switched_to_green(world)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    code, _, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (
        1,
        [
            "bgctl: error: cannot load the kubeconfig of the stack's Kubernetes provider: no kubeconfig found "
            "(kubernetes:kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a pod; nothing changed"
        ],
    )
    assert timeline(world) == []


def test_rollback_now_refuses_before_the_cluster_what_plain_rollback_refuses(
    world: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    # The update that follows would scale blue, which then has all the traffic, to 0.
    world.stack_file.write_text(world.stack_file.read_text() + "  bluegreen:blueReplicas: 0\n")

    code, _, err = bgctl("rollback", "--now", "--yes")

    assert (code, err) == (
        1,
        [
            "bgctl: error: blue is configured with 0 replicas (bluegreen:blueReplicas): a cutover would send "
            "backend's traffic to no pods; set blueReplicas first"
        ],
    )
    assert timeline(world) == []


def test_rollback_now_with_allow_changes_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["rollback", "--now", "--allow-changes"])

    assert (done.value.code, capsys.readouterr().err) == (
        2,
        "bgctl: error: --allow-changes checks a preview, and rollback --now runs none (see bgctl --help)\n",
    )


def test_rollback_now_of_one_app_of_several_writes_its_service_and_sets_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = dev_config()
    blue = {**base, "apps": [{"name": "backend", "activeColor": "blue"}, {"name": "api", "activeColor": "blue"}]}
    green = {**base, "apps": [{"name": "backend", "activeColor": "blue"}, {"name": "api", "activeColor": "green"}]}
    built = fake_world.build(tmp_path, green, app="api")  # deployed with api on green
    built.state["plans"] = {"blue": fake_world.steps(run_program(green), run_program(blue))}
    built.state["history"] = [
        history_entry(2, qualified(green), message="api to green"),
        history_entry(1, qualified(blue), message="first deploy"),
    ]
    built.save()
    monkeypatch.setenv("PATH", built.env()["PATH"])
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(built.state_path))
    state = kube.Cluster(
        deployments={"api-blue": kube.deployment("api-blue", "blue")},
        services={"api": kube.service("api", "green", app="api")},
    )
    with current_context(state, tmp_path, monkeypatch):
        code = main(["rollback", "--now", "--app", "api", "--yes", "--work-dir", str(built.work_dir)])

    assert (code, capsys.readouterr().err) == (0, "")
    assert state.requests == [
        "GET /apis/apps/v1/namespaces/bluegreen-dev/deployments/api-blue",
        "PATCH /api/v1/namespaces/bluegreen-dev/services/api?fieldManager=bgctl",
    ]
    assert state.services["api"]["spec"]["selector"] == {"app": "api", "color": "blue"}
    sets = [command(c) for c in built.calls() if command(c)[:2] == ["config", "set"]]
    assert sets == [
        ["config", "set", "--path", "bluegreen:apps[1].activeColor", "--plaintext", "--stack", "dev", "--", "blue"]
    ]
