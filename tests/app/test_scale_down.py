"""After a switch with idleReplicas, the old color waits scaleDownDelaySeconds before it shrinks."""

from __future__ import annotations

import asyncio

import pulumi
import pytest

from bluegreen import naming
from bluegreen.app import scale_down


def _args(old: float | None, new: float | None) -> pulumi.ResourceHookArgs:
    return pulumi.ResourceHookArgs(
        urn="urn:pulumi:dev::bluegreen::kubernetes:apps/v1:Deployment::backend-blue",
        id="bluegreen-dev/backend-blue",
        name="backend-blue",
        type="kubernetes:apps/v1:Deployment",
        old_inputs={"spec": {"replicas": old}},
        new_inputs={"spec": {"replicas": new}},
    )


@pytest.mark.parametrize(
    ("old", "new", "waits"),
    [(2.0, 0.0, [30]), (3.0, 1.0, [30]), (0.0, 2.0, []), (2.0, 2.0, []), (None, 2.0, [])],
    ids=["shrink-to-zero", "shrink", "grow", "same", "unknown"],
)
def test_the_hook_waits_only_when_a_color_shrinks(old, new, waits):
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    # A private loop: asyncio.run would leave the thread without the loop the SDK's other tests use.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(scale_down.delay_before_shrinking(30, record)(_args(old, new)))  # type: ignore[arg-type]
    finally:
        loop.close()
    assert slept == waits


@pytest.mark.parametrize("active", naming.COLORS)
def test_only_the_idle_colors_deployment_carries_the_delay_when_idle_replicas_is_set(program, active):
    # The idle color is the one that shrinks after a switch; the active color's own scale-downs do not wait.
    run = program({"activeColor": active, "idleReplicas": 0, "scaleDownDelaySeconds": 45})
    hooked = {r.name: r.before_update_hooks for r in run.kubernetes if r.type.endswith(":Deployment")}
    idle = naming.other_color(active)
    assert hooked == {
        f"backend-{active}": [],
        f"backend-{idle}": ["backend-scale-down-delay"],
        "frontend": [],
    }


@pytest.mark.parametrize(
    "overrides", [{}, {"idleReplicas": 0, "scaleDownDelaySeconds": 0}], ids=["full-idle", "no-delay"]
)
def test_no_delay_when_no_color_shrinks_on_a_switch_or_it_is_turned_off(program, overrides):
    run = program(overrides)
    assert [r.name for r in run.kubernetes if r.type.endswith(":Deployment") and r.before_update_hooks] == []
