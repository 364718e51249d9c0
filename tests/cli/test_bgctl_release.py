"""`bgctl release`: a new version on the idle color (traffic untouched), then with --promote the cutover; and the
switch back after a failed verification window. The fake `pulumi` answers the Automation API; the stand-in API
server (tests/fakes/kube_api.py) answers the switch back's reads and its one write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bluegreen.cli import commands
from bluegreen.cli import history as hist
from bluegreen.cli.main import main
from tests.cli.test_bgctl import Result, command, cutover_config, dev_config
from tests.cli.test_bgctl_rollback_now import WRITE, current_context, ready_cluster, timeline
from tests.conftest import run_program
from tests.fakes import kube_api as kube
from tests.fakes import world as fake_world
from tests.fakes.world import World

IMAGE = "hashicorp/http-echo:1.0.1"
VERIFICATION = (
    "verification of green (1.3) failed 0.4s after the switch: 4 of 4 requests to / through Service "
    "bluegreen-dev/backend failed (HTTP 500 x4): verifySuccessPercent 99 allows 3 of the window's 300"
)
HOOK_ERROR = (
    f'after hook "backend-after-switch" failed: {VERIFICATION}. Traffic IS on green (the selector is written) and '
    "blue still runs: switch back with: bgctl rollback --now --stack dev --app backend --yes"
)


def released(base: dict[str, Any], color: str = "green", version: str = "1.3") -> dict[str, Any]:
    return {**base, f"{color}Image": IMAGE, f"{color}Version": version}


@pytest.fixture
def plans(world: World) -> World:
    """Plans for releasing 1.3 to green while blue serves, and for promoting it."""
    base = dev_config()
    state = world.load()
    state["plans"]["blue 1.1 1.3"] = fake_world.steps(run_program(base), run_program(released(base)))
    state["plans"]["green 1.1 1.3"] = fake_world.steps(
        run_program(released(base)), run_program(cutover_config(released(base), "green"))
    )
    state["plans"]["blue 1.1 1.3"] = state["plans"]["blue 1.1 1.3"]
    world.save()
    return world


def stack_config(world: World) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(world.stack_file.read_text())["config"]
    return config


def ups(world: World) -> list[list[str]]:
    return [command(c) for c in world.calls() if command(c)[:1] == ["up"]]


def test_release_puts_the_version_on_the_idle_color_and_leaves_traffic_where_it_is(
    plans: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    code, out, err = bgctl("release", "--image", IMAGE, "--version", "1.3", "--yes")

    assert (code, err) == (0, [])
    assert out[0] == (
        f"previewing the release of backend to green (greenImage = {IMAGE}, greenVersion = 1.3) on stack dev ..."
    )
    assert out[1:4] == [
        "Release plan for backend on stack dev: green's pod template",
        "    ~ update Deployment backend-green (spec.template.metadata.labels.app.kubernetes.io/version, "
        "spec.template.metadata.labels.version, spec.template.spec.containers[0].args[1], "
        "spec.template.spec.containers[0].image)",
        "OK: only green's pod template changes; traffic stays on blue",
    ]
    assert out[-1] == "promote it with: bgctl cutover green --stack dev --app backend (make cutover COLOR=green)"
    assert out[-2] == (
        "green runs 1.3; traffic stays on blue (1.1). Reach 1.3 through the preview Service: "
        "http://backend-preview.bluegreen-dev.svc.cluster.local/ in the cluster, or `kubectl --namespace "
        "bluegreen-dev port-forward service/backend-preview 8080:80` and http://127.0.0.1:8080/"
    )
    config = stack_config(plans)
    assert (config["bluegreen:greenImage"], config["bluegreen:greenVersion"]) == (IMAGE, "1.3")
    assert config["bluegreen:activeColor"] == "blue"
    assert [c[c.index("--message") + 1] for c in ups(plans)] == ["bgctl release backend 1.3 to green"]
    assert plans.load()["outputs"]["apps"]["backend"]["activeColor"] == "blue"


@pytest.mark.parametrize(
    ("setup", "args", "error"),
    [
        (
            {},
            ["--version", "1.1"],
            "version 1.1 already serves: blue runs it (hashicorp/http-echo:1.0.0); release another version to green; "
            "nothing changed",
        ),
        (
            {"bluegreen:idleReplicas": 0},
            ["--version", "1.3"],
            "green runs no pods (idleReplicas is 0), so the release could not be checked before the switch; give it "
            "pods with `pulumi config set bluegreen:idleReplicas 1` (or remove the key), then release again; "
            "nothing changed",
        ),
        (
            {"bluegreen:activeColor": "green"},
            ["--version", "1.3"],
            "green is not idle: the config says backend serves green but blue serves (a cutover half done); finish "
            "it with `bgctl cutover green`, or put the config back with `pulumi config set bluegreen:activeColor "
            "blue`; nothing changed",
        ),
        (
            {},
            ["--version", "1.3", "--image", "hashicorp/http-echo:latest"],
            None,
        ),
    ],
    ids=["version already live", "idleReplicas 0", "cutover half done", "image latest"],
)
def test_release_refuses_with_one_line_and_changes_nothing(
    plans: World, bgctl: Callable[..., Result], setup: dict[str, Any], args: list[str], error: str | None
) -> None:
    document = yaml.safe_load(plans.stack_file.read_text())
    document["config"].update(setup)
    plans.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    before = plans.stack_file.read_bytes()
    image = [] if "--image" in args else ["--image", IMAGE]

    code, _, err = bgctl("release", *image, *args, "--yes")

    assert code == 1 and len(err) == 1
    if error is None:
        assert err[0].startswith("bgctl: error: --image 'hashicorp/http-echo:latest' ")
    else:
        assert err == [f"bgctl: error: {error}"]
    assert plans.stack_file.read_bytes() == before
    assert ups(plans) == []


def test_a_release_waits_for_the_idle_color_to_finish_rolling_out_and_says_when_it_did_not(
    plans: World, cluster: kube.Cluster, bgctl: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.deployments["backend-green"] = kube.deployment("backend-green", "green", updated=1, total=3)
    monkeypatch.setattr(commands, "ROLLOUT_WAIT_SECONDS", 0.0)

    code, out, err = bgctl("release", "--image", IMAGE, "--version", "1.3", "--yes")

    assert code == 1
    assert (
        "waiting for green to finish rolling out: Deployment bluegreen-dev/backend-green has 1 of 2 replicas updated"
        in out
    )
    assert err == [
        "bgctl: error: green did not finish rolling out within 0s: Deployment bluegreen-dev/backend-green has 1 of 2 "
        "replicas updated; traffic stays on blue; look with `kubectl --namespace bluegreen-dev rollout status "
        "deployment/backend-green`"
    ]


def test_a_release_whose_preview_changes_more_than_the_idle_template_is_refused_before_any_config_is_written(
    plans: World, bgctl: Callable[..., Result]
) -> None:
    state = plans.load()
    state["plans"]["blue 1.1 1.3"] = state["plans"]["green"]  # a plan that moves the selectors
    plans.save()
    before = plans.stack_file.read_bytes()

    code, _, err = bgctl("release", "--image", IMAGE, "--version", "1.3", "--yes")

    assert code == 1
    assert err == [
        "bgctl: error: REFUSED: this release would update Service backend: selector color blue -> green; would update "
        "Service backend-preview: selector color green -> blue; does not change Deployment backend-green's pod "
        "template; nothing changed"
    ]
    assert plans.stack_file.read_bytes() == before and ups(plans) == []


@pytest.fixture
def cluster(plans: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[kube.Cluster]:
    """The cluster the switch back reads and writes: blue rolled out and Ready, green selected (the failed switch)."""
    state = ready_cluster(plans.root / "calls.jsonl")
    with current_context(state, tmp_path, monkeypatch):
        yield state


def fail_verification(world: World) -> None:
    """The promote's `pulumi up` fails in the after_update hook, the selector written: once."""
    state = world.load()
    service = next(s["urn"] for s in state["plans"]["green"] if s["urn"].endswith("Service::backend"))
    state["upFailure"] = {"urn": service, "message": HOOK_ERROR, "switched": True, "once": True, "color": "green"}
    world.save()
    document = yaml.safe_load(world.stack_file.read_text())
    document["config"]["bluegreen:verifySeconds"] = 30
    world.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


def test_a_promoted_release_that_fails_its_window_switches_back_at_once_and_records_it(
    plans: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    fail_verification(plans)

    code, out, err = bgctl("release", "--image", IMAGE, "--version", "1.3", "--promote", "--yes")

    assert code == 1
    assert err == [
        f"bgctl: error: {VERIFICATION}; switched back: traffic is on blue since 10:00:01.234 UTC (0.00s after the "
        "failure reached bgctl) and the config says blue; green still runs 1.3 behind the preview Service, its pods "
        "replaced so that no client stays on it"
    ]
    assert f"  error: {HOOK_ERROR}" in out and "switching back to blue ..." in out
    assert (
        "switched back: Service bluegreen-dev/backend selects blue at 2025-05-01 10:00:01.234 UTC, 0.00s after the "
        "failure reached bgctl"
    ) in out
    # One read of blue (Ready), one write of the selector, then the config and the recorded update.
    steps = timeline(plans)
    assert steps[-6:] == [
        "pulumi config set bluegreen:activeColor --plaintext --stack dev -- green",
        "pulumi up",
        "GET /apis/apps/v1/namespaces/bluegreen-dev/deployments/backend-blue",
        WRITE,
        "pulumi config set bluegreen:activeColor --plaintext --stack dev -- blue",
        "pulumi up",
    ]
    assert cluster.services["backend"]["spec"]["selector"]["color"] == "blue"
    assert stack_config(plans)["bluegreen:activeColor"] == "blue"
    history = plans.load()["history"]
    assert [(h["result"], h["message"]) for h in history[:3]] == [
        ("succeeded", f"bgctl switch back backend: green -> blue ({VERIFICATION})"),
        ("failed", "bgctl release 1.3 backend: blue -> green"),
        ("succeeded", "bgctl release backend 1.3 to green"),
    ]

    code, out, _ = bgctl("history")

    assert code == 0
    assert (
        out[1].startswith("     v4  ")
        and "green -> blue  succeeded, switched back from green  bgctl switch back" in out[1]
    )
    assert out[2].startswith("     v3  ") and out[2].endswith(
        "blue -> green  failed, verification failed  bgctl release 1.3 backend: blue -> green"
    )


def test_with_no_switch_back_a_failed_window_is_only_reported_and_traffic_stays(
    plans: World, cluster: kube.Cluster, bgctl: Callable[..., Result]
) -> None:
    fail_verification(plans)

    code, _, err = bgctl("release", "--image", IMAGE, "--version", "1.3", "--promote", "--no-switch-back", "--yes")

    assert code == 1
    assert err == [
        f"bgctl: error: {VERIFICATION}; traffic is on green (Service backend selects it) and blue still runs: switch "
        "back with: bgctl rollback --now --stack dev --app backend --yes"
    ]
    assert not any(r.startswith("PATCH") for r in cluster.requests)
    assert stack_config(plans)["bluegreen:activeColor"] == "green"


def test_a_verified_cutover_shows_as_verified_in_history(plans: World, bgctl: Callable[..., Result]) -> None:
    document = yaml.safe_load(plans.stack_file.read_text())
    document["config"]["bluegreen:verifySeconds"] = 30
    plans.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    assert bgctl("cutover", "green", "--yes")[0] == 0
    code, out, _ = bgctl("history")

    assert code == 0
    assert out[1].endswith("blue -> green  succeeded, verified 30s  bgctl cutover backend: blue -> green")


def test_history_marks_no_window_on_a_first_deploy_even_with_verify_seconds_set() -> None:
    # The first deploy creates the Service, and the hook runs on updates only.
    first = hist.Cutover(1, datetime(2025, 5, 1, tzinfo=UTC), None, "blue", "succeeded", "", verify_seconds=30)
    later = hist.Cutover(2, datetime(2025, 5, 2, tzinfo=UTC), "blue", "green", "succeeded", "", verify_seconds=30)

    assert [c.verification(None) for c in (first, later)] == ["", "verified 30s"]


def test_release_with_no_switch_back_but_no_promote_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["release", "--image", IMAGE, "--version", "1.3", "--no-switch-back"])

    assert (done.value.code, capsys.readouterr().err) == (
        2,
        "bgctl: error: --no-switch-back acts on the cutover that --promote starts (see bgctl --help)\n",
    )
