"""The benchmark's shape control registers exactly what the program registers for the same apps."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings

from bench import evaluate, shape
from bluegreen import naming
from tests.conftest import STACK, RecordingMonitor, Run, _Mocks, run_program


def _shape_run(apps: int) -> Run:
    runtime_settings.ROOT.set(None)
    monitor = RecordingMonitor(_Mocks())
    pulumi.runtime.set_mocks(_Mocks(), project=naming.PROJECT, stack=STACK, monitor=monitor)
    pulumi.runtime.set_all_config({})
    run = Run(monitor.registrations)

    @pulumi.runtime.test
    def program() -> pulumi.Output[None]:
        shape.register(apps)
        stack = runtime_settings.get_root_resource()
        assert stack is not None
        return pulumi.Output.from_input(stack.outputs).apply(run.outputs.update)  # type: ignore[attr-defined]

    program()
    return run


def _graph(run: Run) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Each registration with everything the SDK works on: parent, dependencies, options and inputs."""
    return {
        (r.type, r.name): (
            r.parent,
            sorted(r.dependencies),
            r.protect,
            r.before_update_hooks,
            r.after_update_hooks,
            r.inputs,
        )
        for r in run.registrations
    }


def _outputs(run: Run) -> tuple[dict[str, Any], list[str]]:
    """The exported outputs with each app's clusterIp taken out, and those addresses in order: the mock
    engine hands them out in the order the Services register, which the event loop decides."""
    apps = {name: {k: v for k, v in app.items() if k != "clusterIp"} for name, app in run.outputs["apps"].items()}
    ips = sorted(app["clusterIp"] for app in run.outputs["apps"].values())
    return {**{k: v for k, v in run.outputs.items() if k != "clusterIp"}, "apps": apps}, ips


def test_the_shape_control_registers_and_exports_what_the_program_does_for_the_benchmarks_apps() -> None:
    config = {key.removeprefix("bluegreen:"): value for key, value in evaluate.apps_config(2).items()}
    program = run_program(config)

    control = _shape_run(2)

    assert len(program.registrations) == 1 + 2 * 8
    assert _graph(control) == _graph(program)
    assert _outputs(control) == _outputs(program)


def test_the_shape_control_of_one_app_also_exports_its_outputs_at_the_top_as_the_program_does() -> None:
    config = {key.removeprefix("bluegreen:"): value for key, value in evaluate.apps_config(1).items()}

    assert _shape_run(1).outputs == run_program(config).outputs
