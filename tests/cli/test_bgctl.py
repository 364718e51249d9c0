"""The operator tool end to end: `bgctl` drives the real Automation API, which runs a fake `pulumi`."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from bluegreen.cli import workspace
from bluegreen.cli.main import COMMANDS, main
from tests.conftest import ROOT, run_program
from tests.conftest import dev_config as _dev_config
from tests.fakes import world as fake_world
from tests.fakes.world import World, history_entry, qualified

Result = tuple[int, list[str], list[str]]

BGCTL = str(Path(sys.executable).parent / "bgctl")
"""The console script `make venv` installs."""


def dev_config() -> dict[str, Any]:
    """The dev stack's one app, without the optional frontend, so the plans below stay exact."""
    config = _dev_config()
    config.pop("frontend", None)
    return config


def cutover_config(base: dict[str, Any], color: str) -> dict[str, Any]:
    return {**base, "activeColor": color}


def command(call: list[str]) -> list[str]:
    """A logged CLI call without the `--non-interactive` flag the SDK adds."""
    return [arg for arg in call if arg != "--non-interactive"]


def switched_to_green(world: World, *, result: str = "succeeded", position: int = 2) -> None:
    """Make the fake stack look as if an earlier `up` moved traffic to green."""
    state = world.load()
    for resource in state["resources"]:
        if resource["urn"].endswith("Service::backend"):
            resource["outputs"]["spec"]["selector"]["color"] = "green"
    for outputs in (state["outputs"], state["outputs"]["apps"]["backend"]):
        outputs.update({"activeColor": "green", "idleColor": "blue"})
    config = qualified(cutover_config(dev_config(), "green"))
    state["history"].insert(0, history_entry(position, config, result, message="cut over to green"))
    world.save()
    world.stack_file.write_text(world.stack_file.read_text().replace("activeColor: blue", "activeColor: green"))


def test_status_shows_both_colors_and_the_last_cutovers(world: World, bgctl: Callable[..., Result]) -> None:
    switched_to_green(world)  # both entries say version 0, as on the file backend: numbered by position

    code, out, err = bgctl("status")

    assert (code, err) == (0, [])
    assert out == [
        "stack dev, app backend",
        "  active: green   idle: blue",
        "  color  version     replicas  image",
        "  blue   1.1         2         hashicorp/http-echo:1.0.0",
        "  green* 1.2         2         hashicorp/http-echo:1.0.0",
        "  service: backend.bluegreen-dev.svc.cluster.local (ClusterIP 10.96.0.11)",
        "  preview: backend-preview (selects blue)",
        "last cutovers:",
        "     v2  2025-04-12 09:30:00 UTC  blue -> green  succeeded",
        "     v1  2025-04-11 09:30:00 UTC  (first deploy) -> blue  succeeded",
    ]


def test_preview_prints_the_cutover_summary(world: World, bgctl: Callable[..., Result]) -> None:
    code, out, err = bgctl("preview", "green")

    assert (code, err) == (0, [])
    assert out == [
        "previewing backend: blue -> green on stack dev ...",
        "Cutover plan for backend on stack dev: blue -> green",
        "  Service selectors:",
        "    ~ Service backend: selector color blue -> green",
        "    ~ Service backend-preview: selector color green -> blue",
        "  Replica counts:",
        "    (none)",
        "  Other steps:",
        "    (none)",
        "  Unchanged: 6 resource(s)",
        "OK: the plan changes only selectors and replica counts",
    ]


def test_preview_leaves_the_stack_config_as_it_was(world: World, bgctl: Callable[..., Result]) -> None:
    before = world.stack_file.read_bytes()

    code, _, _ = bgctl("preview", "green")

    assert code == 0
    assert world.stack_file.read_bytes() == before
    assert [c for c in world.calls() if command(c)[:2] == ["config", "set"]] == []
    previews = [c for c in world.calls() if command(c)[:1] == ["preview"]]
    assert len(previews) == 1
    # The previewed color came from a copy of the stack file, which is gone afterwards.
    config_file = Path(previews[0][previews[0].index("--config-file") + 1])
    assert config_file.name.startswith("bgctl-dev-") and not config_file.exists()


def test_preview_with_idle_replicas_lists_the_replica_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {**dev_config(), "idleReplicas": 0}
    built = fake_world.build(tmp_path, base)
    built.state["plans"] = {"green": fake_world.steps(run_program(base), run_program(cutover_config(base, "green")))}
    built.save()
    monkeypatch.setenv("PATH", built.env()["PATH"])
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(built.state_path))

    code = main(["preview", "green", "--work-dir", str(built.work_dir)])
    out = capsys.readouterr().out.splitlines()

    assert code == 0
    assert (
        out[0] == "note: green runs 0 pods now; the update scales it to 2 and waits for its rollout before traffic "
        "moves, so this is not instant"
    )
    assert out[6:9] == [
        "  Replica counts:",
        "    ~ Deployment backend-green: replicas 0 -> 2",
        "    ~ Deployment backend-blue: replicas 2 -> 0",
    ]


def replace_green_deployment(world: World, op: str) -> None:
    state = world.load()
    for step in state["plans"]["green"]:
        if step["urn"].endswith("Deployment::backend-green"):
            step["op"] = op
            step["detailedDiff"] = {
                "spec.selector.matchLabels.version": {"diffKind": "update-replace", "inputDiff": True}
            }
    world.save()


@pytest.mark.parametrize(("op", "said"), [("replace", "replace"), ("delete", "delete")])
def test_preview_refuses_a_plan_that_replaces_or_deletes_a_deployment(
    world: World, bgctl: Callable[..., Result], op: str, said: str
) -> None:
    replace_green_deployment(world, op)

    code, out, err = bgctl("preview", "green", "--allow-changes")

    assert code == 1
    assert err == [
        f"bgctl: error: REFUSED: this plan would {said} Deployment backend-green (spec.selector.matchLabels.version)"
    ]
    assert f"    ! {said} Deployment backend-green (spec.selector.matchLabels.version)" in out


ACTIVE_COLOR_READY = {
    "resourceUrn": "urn:pulumi:dev::bluegreen::bluegreen:index:BlueGreenApp$kubernetes:apps/v1:Deployment"
    "::backend-green",
    "message": "The color the active Service selects has enough replicas and a readiness probe on every container.\n"
    'Deployment "backend-green" receives the traffic of Service "backend" (color green) but has 1 replicas; '
    "set spec.replicas to at least 2 before the Service selects it",
    "color": "never",
    "policyName": "active-color-ready",
    "policyPackName": "bluegreen-guardrails",
    "policyPackVersion": "0.1.0",
    "policyPackVersionTag": "0.1.0",
    "enforcementLevel": "mandatory",
}


def _packs(call: list[str]) -> list[str]:
    return [call[i + 1] for i, arg in enumerate(call) if arg == "--policy-pack"]


@pytest.mark.parametrize(
    ("args", "packs"),
    [
        ((), ["policies"]),
        (("--policy-pack", "/elsewhere/pack"), ["/elsewhere/pack"]),
        (("--no-policy-pack",), []),
    ],
    ids=["the-projects-own-by-default", "the-one-named", "none-when-asked"],
)
def test_checked_commands_run_the_projects_policy_pack_unless_told_otherwise(
    world: World, bgctl: Callable[..., Result], args: tuple[str, ...], packs: list[str]
) -> None:
    code, _, err = bgctl("preview", "green", *args)
    assert (code, err) == (0, [])
    (preview,) = [c for c in world.calls() if command(c)[:1] == ["preview"]]
    expected = [str(world.work_dir / p) if p == "policies" else p for p in packs]
    assert _packs(preview) == expected


def test_a_project_without_a_policy_pack_is_refused_unless_one_is_named_or_none_is_wanted(
    world: World, bgctl: Callable[..., Result]
) -> None:
    shutil.rmtree(world.work_dir / "policies")
    code, _, err = bgctl("cutover", "green", "--yes")
    assert (code, err) == (
        1,
        [
            f"bgctl: error: no policy pack at {world.work_dir / 'policies'}: pass --policy-pack DIR, "
            "or --no-policy-pack to run without one"
        ],
    )
    assert [c for c in world.calls() if command(c)[:1] in (["preview"], ["up"], ["config"])] == []


def test_version_and_every_commands_help_has_a_description_and_its_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert (done.value.code, capsys.readouterr().out) == (0, f"bgctl {version('bluegreen')}\n")
    for name, (_, description, examples) in COMMANDS.items():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        shown = "".join(out.split())  # as wrapped for the terminal, without the spaces
        assert "".join(description.split()) in shown, name
        assert examples, name
        ending = [f"example: {examples[0]}"] if len(examples) == 1 else ["examples:", *(f"  {e}" for e in examples)]
        assert out.splitlines()[-len(ending) :] == ending, name  # one per line, whole


def test_preview_names_the_policy_that_stops_the_plan(world: World, bgctl: Callable[..., Result]) -> None:
    advisory = {**ACTIVE_COLOR_READY, "policyName": "min-replicas", "enforcementLevel": "advisory", "message": "few"}
    world.state["policyEvents"] = [advisory, ACTIVE_COLOR_READY]
    world.save()
    code, out, err = bgctl("preview", "green", "--policy-pack", "policies")
    said = (
        "active-color-ready (mandatory) on backend-green: The color the active Service selects has enough replicas "
        'and a readiness probe on every container. Deployment "backend-green" receives the traffic of Service '
        '"backend" (color green) but has 1 replicas; set spec.replicas to at least 2 before the Service selects it'
    )
    assert code == 1
    assert out[1:] == ["  policy min-replicas (advisory) on backend-green: few", f"  policy {said}"]
    assert err == [f"bgctl: error: REFUSED by the policy pack: {said}"]


def test_preview_refuses_other_changes_unless_allowed(world: World, bgctl: Callable[..., Result]) -> None:
    state = world.load()
    for step in state["plans"]["green"]:
        if step["urn"].endswith("PodDisruptionBudget::backend-green"):
            step["op"] = "update"
            step["detailedDiff"] = {"spec.maxUnavailable": {"diffKind": "update", "inputDiff": True}}
    world.save()

    refused = bgctl("preview", "green")
    allowed = bgctl("preview", "green", "--allow-changes")

    assert refused[0] == 1
    assert refused[2] == [
        "bgctl: error: REFUSED: this plan would also update PodDisruptionBudget backend-green (spec.maxUnavailable) "
        "(pass --allow-changes to accept in-place changes)"
    ]
    assert allowed[0] == 0
    assert (
        allowed[1][-1] == "OK: the plan changes only selectors and replica counts and other in-place changes "
        "(--allow-changes)"
    )


def test_cutover_sets_the_color_runs_up_and_shows_progress(world: World, bgctl: Callable[..., Result]) -> None:
    code, out, err = bgctl("cutover", "green", "--yes")

    assert (code, err) == (0, [])
    assert world.config()["bluegreen:activeColor"] == "green"
    assert out[-6:] == [
        "setting bluegreen:activeColor = green and running pulumi up ...",
        "  ... update   kubernetes:core/v1:Service backend",
        "  done update   kubernetes:core/v1:Service backend",
        "  ... update   kubernetes:core/v1:Service backend-preview",
        "  done update   kubernetes:core/v1:Service backend-preview",
        "done: backend serves green (update 2, succeeded)",  # the backend said version 0
    ]
    assert [e["version"] for e in world.load()["history"]] == [0, 0]
    ups = [c for c in world.calls() if command(c)[:1] == ["up"]]
    assert ups[0][ups[0].index("--message") + 1] == "bgctl cutover backend: blue -> green"


def test_cutover_without_yes_and_without_a_terminal_changes_nothing(world: World, bgctl: Callable[..., Result]) -> None:
    code, _, err = bgctl("cutover", "green")

    assert code == 1
    assert err == ["bgctl: error: not confirmed: stdin is not a terminal, pass --yes to cut over without a prompt"]
    assert world.config()["bluegreen:activeColor"] == "blue"


GATE_FAILURE = (
    "pre-switch gate: backend cannot switch from blue to green: Deployment bluegreen-dev/backend-green has 1 of 2 "
    "replicas available (1 unavailable). Traffic stays on blue; fix green, or set bluegreen:preSwitchGate false if "
    "this runner cannot reach the cluster"
)
# How the engine reports a hook that raised: the hook's name, then the gate's own message.
HOOK_FAILURE = f'before hook "backend-pre-switch-gate" failed: {GATE_FAILURE}'


def test_a_failed_cutover_says_traffic_stayed_and_restores_the_config(
    world: World, bgctl: Callable[..., Result]
) -> None:
    state = world.load()
    service = next(s["urn"] for s in state["plans"]["green"] if s["urn"].endswith("Service::backend"))
    state["upFailure"] = {"urn": service, "message": HOOK_FAILURE, "switched": False}
    world.save()

    code, out, err = bgctl("cutover", "green", "--yes")

    assert code == 1
    assert err == [
        "bgctl: error: cutover to green failed: pre-switch gate: backend cannot switch from blue to green: "
        "Deployment bluegreen-dev/backend-green has 1 of 2 replicas available (1 unavailable). Traffic stays on "
        "blue; fix green, or set bluegreen:preSwitchGate false if this runner cannot reach the cluster; Service "
        "backend still selects blue; config restored to blue"
    ]
    assert "  FAILED update kubernetes:core/v1:Service backend" in out
    # The engine's shutdown line after the failed hook says nothing the operator can act on.
    assert [line for line in out if "Resource monitor" in line] == []
    assert world.config()["bluegreen:activeColor"] == "blue"


def test_a_failure_that_does_not_say_where_traffic_is_gets_it_from_the_stack_state(
    world: World, bgctl: Callable[..., Result]
) -> None:
    state = world.load()
    service = next(s["urn"] for s in state["plans"]["green"] if s["urn"].endswith("Service::backend"))
    state["upFailure"] = {"urn": service, "message": "timed out waiting for the Service", "switched": False}
    world.save()

    code, _, err = bgctl("cutover", "green", "--yes")

    assert code == 1
    assert err == [
        "bgctl: error: cutover to green failed: timed out waiting for the Service; traffic stays on blue (Service "
        "backend selects blue); config restored to blue"
    ]


def test_a_cutover_failing_after_the_switch_says_traffic_moved(world: World, bgctl: Callable[..., Result]) -> None:
    state = world.load()
    preview = next(s["urn"] for s in state["plans"]["green"] if s["urn"].endswith("Service::backend-preview"))
    state["upFailure"] = {"urn": preview, "message": "timed out waiting for the preview Service", "switched": True}
    world.save()

    code, _, err = bgctl("cutover", "green", "--yes")

    assert code == 1
    assert err == [
        "bgctl: error: cutover to green failed after the switch: timed out waiting for the preview Service; traffic "
        "is on green (Service backend selects green); rerun `cutover green` to finish, or `rollback`"
    ]
    assert world.config()["bluegreen:activeColor"] == "green"


@pytest.mark.parametrize(
    ("switched", "error", "config"),
    [
        (
            False,
            "bgctl: error: cutover to green failed: interrupted; traffic stays on blue (Service backend selects "
            "blue); config restored to blue",
            "blue",
        ),
        (
            True,
            "bgctl: error: cutover to green failed after the switch: interrupted; traffic is on green (Service "
            "backend selects green); rerun `cutover green` to finish, or `rollback`",
            "green",
        ),
    ],
    ids=["before-the-switch", "after-the-switch"],
)
def test_an_interrupt_during_the_update_leaves_the_config_where_traffic_is(
    world: World, bgctl: Callable[..., Result], switched: bool, error: str, config: str
) -> None:
    state = world.load()
    service = next(s["urn"] for s in state["plans"]["green"] if s["urn"].endswith("Service::backend"))
    state["interruptUp"] = True
    state["upFailure"] = {"urn": service, "message": "update canceled", "switched": switched}
    world.save()

    code, out, err = bgctl("cutover", "green", "--yes")

    assert (code, err) == (1, [error])
    assert (
        "SIGINT received: waiting for pulumi to end its update, then the config is made to match where traffic is"
        in out
    )
    assert world.config()["bluegreen:activeColor"] == config
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # bgctl's handler is gone again


@pytest.mark.parametrize("moment", [True, "written"], ids=["before-it-is-written", "once-it-is-written"])
def test_an_interrupt_while_the_config_is_written_changes_nothing(
    world: World, bgctl: Callable[..., Result], moment: object
) -> None:
    state = world.load()
    state["interruptConfigSet"] = moment
    world.save()

    code, _, err = bgctl("cutover", "green", "--yes")

    assert (code, err) == (
        1,
        [
            "bgctl: error: cutover to green failed: interrupted; traffic stays on blue (Service backend selects "
            "blue); config restored to blue"
        ],
    )
    assert world.config()["bluegreen:activeColor"] == "blue"
    assert [c for c in world.calls() if command(c)[:1] == ["up"]] == []


def test_an_interrupt_after_the_update_finished_says_the_switch_happened(
    world: World, bgctl: Callable[..., Result]
) -> None:
    state = world.load()
    state["interruptUp"] = True
    world.save()

    code, _, err = bgctl("cutover", "green", "--yes")

    assert (code, err) == (
        1,
        [
            "bgctl: error: interrupted, but the update had finished: backend serves green and the config says so; "
            "to go back: bgctl rollback"
        ],
    )
    assert world.config()["bluegreen:activeColor"] == "green"


def test_rollback_returns_to_the_newest_successful_other_color(world: World, bgctl: Callable[..., Result]) -> None:
    switched_to_green(world)
    state = world.load()
    blue, green = qualified(dev_config()), qualified(cutover_config(dev_config(), "green"))
    state["history"] = [
        history_entry(6, green, message="green 1.2 again"),
        history_entry(5, blue, result="failed", message="rollback that failed"),
        history_entry(4, blue, kind="refresh"),
        history_entry(3, green, message="cut over to green"),
        history_entry(2, blue, message="blue 1.1"),
        history_entry(1, blue, message="first deploy"),
    ]
    world.save()

    code, out, err = bgctl("rollback", "--yes")

    assert (code, err) == (0, [])
    assert out[:2] == [
        'rollback target: update v2 of 2025-04-12 09:30:00 UTC (succeeded) "blue 1.1" ran backend on blue; green '
        "serves now",
        "only the color changes: images, versions and replicas stay as configured now",
    ]
    assert out[-1] == "done: backend serves blue (update 7, succeeded)"
    ups = [c for c in world.calls() if command(c)[:1] == ["up"]]
    assert ups[0][ups[0].index("--message") + 1] == "bgctl rollback to v2 backend: green -> blue"
    assert world.config()["bluegreen:activeColor"] == "blue"
    assert world.config()["bluegreen:greenVersion"] == "1.2"


@pytest.mark.parametrize("number", ["1", "v1"])
def test_rollback_to_a_version_uses_the_update_numbered_as_history_shows_it(
    world: World, bgctl: Callable[..., Result], number: str
) -> None:
    switched_to_green(world)
    state = world.load()
    green = qualified(cutover_config(dev_config(), "green"))
    state["history"].insert(0, history_entry(3, green, message="green again"))
    world.save()

    code, out, err = bgctl("rollback", "--to-version", number, "--yes")

    assert (code, err) == (0, [])
    assert out[0] == (
        'rollback target: update v1 of 2025-04-11 09:30:00 UTC (succeeded) "first deploy" ran backend on blue; green '
        "serves now"
    )
    assert out[-1] == "done: backend serves blue (update 4, succeeded)"
    ups = [c for c in world.calls() if command(c)[:1] == ["up"]]
    assert ups[0][ups[0].index("--message") + 1] == "bgctl rollback to v1 backend: green -> blue"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (
            "3",
            "stack history has no update 3: --to-version takes the update number as `bgctl history` shows it "
            "(here 1 to 2)",
        ),
        ("2", "update 2 ran backend on green, which is what serves now (green); nothing to roll back to"),
    ],
)
def test_rollback_to_a_version_refuses_a_number_it_cannot_return_to(
    world: World, bgctl: Callable[..., Result], number: str, message: str
) -> None:
    switched_to_green(world)

    code, out, err = bgctl("rollback", "--to-version", number, "--yes")

    assert (code, out, err) == (1, [], [f"bgctl: error: {message}"])
    assert world.config()["bluegreen:activeColor"] == "green"


def test_a_history_longer_than_bgctl_reads_has_no_numbers(
    world: World, bgctl: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    switched_to_green(world)
    state = world.load()
    blue, green = qualified(dev_config()), qualified(cutover_config(dev_config(), "green"))
    state["history"] = [
        history_entry(5, green, message="cutover"),
        history_entry(4, blue, message="rollback"),
        history_entry(3, green, message="cutover"),
        history_entry(2, blue, message="image bump"),
        history_entry(1, blue, message="first deploy"),
    ]
    world.save()
    monkeypatch.setattr(workspace, "HISTORY_PAGE_SIZE", 2)
    monkeypatch.setattr(workspace, "HISTORY_MAX_PAGES", 2)

    shown = bgctl("history")
    refused = bgctl("rollback", "--to-version", "1", "--yes")
    rolled_back = bgctl("rollback", "--yes")

    assert shown == (
        0,
        [
            "cutovers of backend on stack dev, newest first:",
            "     v?  2025-04-15 09:30:00 UTC  blue -> green  succeeded  cutover",
            "     v?  2025-04-14 09:30:00 UTC  green -> blue  succeeded  rollback",
            "     v?  2025-04-13 09:30:00 UTC  blue -> green  succeeded  cutover",
            "     v?  2025-04-12 09:30:00 UTC  (first deploy) -> blue  succeeded  image bump",
            "  note: stack history is longer than the 4 entries bgctl reads, so it cannot number its updates "
            "(shown as v?)",
        ],
        [],
    )
    assert refused == (
        1,
        [],
        [
            "bgctl: error: cannot find update 1: stack history is longer than the 4 entries bgctl reads, so it "
            "cannot number its updates; run rollback without --to-version"
        ],
    )
    assert rolled_back[0] == 0
    assert rolled_back[1][0] == (
        'rollback target: update of 2025-04-14 09:30:00 UTC (succeeded) "rollback" ran backend on blue; green '
        "serves now"
    )
    assert rolled_back[1][-1] == "done: backend serves blue (the update of 2025-05-06 16:00:00 UTC, succeeded)"
    ups = [c for c in world.calls() if command(c)[:1] == ["up"]]
    assert ups[0][ups[0].index("--message") + 1] == (
        "bgctl rollback to the update of 2025-04-14 09:30:00 UTC backend: green -> blue"
    )


def test_rollback_refuses_when_history_has_no_other_color(world: World, bgctl: Callable[..., Result]) -> None:
    code, out, err = bgctl("rollback", "--yes")

    assert (code, out) == (1, [])
    assert err == [
        "bgctl: error: stack history has no successful update where backend served a color other than blue; "
        "nothing to roll back to"
    ]


def test_history_lists_cutovers_and_failed_attempts(world: World, bgctl: Callable[..., Result]) -> None:
    state = world.load()
    blue, green = qualified(dev_config()), qualified(cutover_config(dev_config(), "green"))
    state["history"] = [
        history_entry(4, green, message="cutover"),
        history_entry(3, green, result="failed", message="gate said no"),
        history_entry(2, blue, message="image bump"),
        history_entry(1, blue, message="first deploy"),
    ]
    world.save()

    code, out, _ = bgctl("history")

    assert code == 0
    assert out == [
        "cutovers of backend on stack dev, newest first:",
        "     v4  2025-04-14 09:30:00 UTC  blue -> green  succeeded  cutover",
        "     v3  2025-04-13 09:30:00 UTC  blue -> green  failed  gate said no",
        "     v1  2025-04-11 09:30:00 UTC  (first deploy) -> blue  succeeded  first deploy",
    ]


def test_several_apps_need_app_and_cut_over_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = dev_config()
    apps = [{"name": "backend", "activeColor": "blue"}, {"name": "api"}]
    config = {**base, "apps": apps}
    built = fake_world.build(tmp_path, config, app="api")
    green = {**base, "apps": [apps[0], {"name": "api", "activeColor": "green"}]}
    built.state["plans"] = {"green": fake_world.steps(run_program(config), run_program(green))}
    built.save()
    monkeypatch.setenv("PATH", built.env()["PATH"])
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(built.state_path))

    without_app = main(["status", "--work-dir", str(built.work_dir)])
    assert capsys.readouterr().err == "bgctl: error: stack dev has several apps (api, backend): pass --app NAME\n"
    code = main(["cutover", "green", "--app", "api", "--yes", "--work-dir", str(built.work_dir)])

    assert (without_app, code) == (1, 0)
    assert "    ~ Service api: selector color blue -> green" in capsys.readouterr().out
    sets = [command(c) for c in built.calls() if command(c)[:2] == ["config", "set"]]
    assert sets == [
        ["config", "set", "--path", "bluegreen:apps[1].activeColor", "--plaintext", "--stack", "dev", "--", "green"]
    ]
    assert built.config()["bluegreen:apps"] == [
        {"name": "backend", "activeColor": "blue"},
        {"name": "api", "activeColor": "green"},
    ]


# Every refusal is one line on stderr, with no traceback.
def locked(world: World) -> None:
    world.load()["locked"] = True
    world.save()


def green_at_zero(world: World) -> None:
    world.stack_file.write_text(world.stack_file.read_text() + "  bluegreen:greenReplicas: 0\n")


@pytest.mark.parametrize(
    ("args", "setup", "code", "message"),
    [
        (
            ["preview", "green", "--stack", "prod"],
            None,
            1,
            "no stack named 'prod': create it with `pulumi stack init prod` or pass --stack NAME",
        ),
        (
            ["cutover", "green", "--yes"],
            locked,
            1,
            "another update of stack dev is already running; nothing changed, config restored to blue",
        ),
        (
            ["cutover", "green", "--yes"],
            green_at_zero,
            1,
            "green is configured with 0 replicas (bluegreen:greenReplicas): a cutover would send backend's traffic "
            "to no pods; set greenReplicas first",
        ),
        (["cutover", "blue", "--yes"], None, 1, "backend already serves blue on stack dev; nothing to cut over"),
        (
            ["preview", "purple"],
            None,
            2,
            "argument color: color must be exactly blue or green, not 'purple' (see bgctl --help)",
        ),
        (["status", "--app", "frontend"], None, 1, "stack dev has no app 'frontend'; its apps: backend"),
    ],
)
def test_refusals_are_one_line(
    world: World, args: list[str], setup: Callable[[World], None] | None, code: int, message: str
) -> None:
    if setup is not None:
        setup(world)

    result = subprocess.run(
        [BGCTL, *args, "--work-dir", str(world.work_dir)],
        cwd=ROOT,
        env=world.env(),
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stderr, result.stdout.count("Traceback")) == (
        code,
        f"bgctl: error: {message}\n",
        0,
    )


def test_a_missing_pulumi_cli_is_one_line_with_the_install_command(world: World) -> None:
    env = {**world.env(), "PATH": str(Path(sys.executable).parent)}

    result = subprocess.run([BGCTL, "status"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)

    assert result.returncode == 1
    assert result.stderr == (
        'bgctl: error: the Pulumi CLI is not on PATH: install it with "curl -fsSL https://get.pulumi.com | sh" '
        "(https://www.pulumi.com/docs/iac/download-install/)\n"
    )


def test_a_key_under_a_near_miss_of_the_project_is_refused_before_anything_runs(
    world: World, bgctl: Callable[..., Result]
) -> None:
    world.stack_file.write_text(world.stack_file.read_text() + "  bluegren:greenReplicas: 3\n")
    code, _, err = bgctl("cutover", "green", "--yes")

    assert code == 1
    assert err == [
        "bgctl: error: the stack's config is invalid: bluegren:greenReplicas = \"3\": is under 'bluegren', not "
        "'bluegreen': the program never reads it. Fix: pulumi config set bluegreen:greenReplicas \"$(pulumi config "
        'get bluegren:greenReplicas)" && pulumi config rm bluegren:greenReplicas'
    ]
    assert [c for c in world.calls() if command(c)[:1] == ["up"]] == []


def test_preview_runs_while_an_update_holds_the_lock(world: World, bgctl: Callable[..., Result]) -> None:
    locked(world)  # the file backend: only `up` takes the stack's lock

    code, out, err = bgctl("preview", "green")

    assert (code, err) == (0, [])
    assert out[-1] == "OK: the plan changes only selectors and replica counts"


def test_a_cutover_while_the_backend_reports_an_update_running_is_refused_before_anything_runs(
    world: World, bgctl: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file backend never reports one (the fake neither); Pulumi Cloud does.
    monkeypatch.setattr(workspace.StackView, "update_running", lambda self: True)

    code, out, err = bgctl("cutover", "green", "--yes")

    assert (code, out) == (1, [])
    assert err == ["bgctl: error: another update of stack dev is already running; wait for it to finish"]
    assert [c for c in world.calls() if command(c)[:1] in (["preview"], ["up"])] == []
