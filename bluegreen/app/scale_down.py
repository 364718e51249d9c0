"""The wait before a color shrinks, so connections the old selector still routes keep an answer.

A selector change reaches every node's kube-proxy seconds later (over ten has been reported), and
existing connections stay on the old pods. With `idleReplicas` set, the old color's Deployment
shrinks right after the Service switched (it depends on the Service), so a `before_update` hook on
it waits `scaleDownDelaySeconds` first, as Argo Rollouts' `scaleDownDelaySeconds` does. A before
hook runs before its operation and blocks it, whatever else the engine runs in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pulumi

Sleep = Callable[[float], Awaitable[None]]


def hook_name(app: str) -> str:
    return f"{app}-scale-down-delay"


def _replicas(inputs: Mapping[str, Any] | None) -> float | None:
    spec = (inputs or {}).get("spec")
    replicas = spec.get("replicas") if isinstance(spec, Mapping) else None
    return replicas if isinstance(replicas, int | float) and not isinstance(replicas, bool) else None


def delay_before_shrinking(seconds: int, sleep: Sleep = asyncio.sleep) -> pulumi.ResourceHookFunction:
    """A hook body that waits `seconds` when a Deployment's replica count goes down, and not otherwise."""

    async def wait(args: pulumi.ResourceHookArgs) -> None:
        old, new = _replicas(args.old_inputs), _replicas(args.new_inputs)
        if old is not None and new is not None and new < old:
            pulumi.log.info(f"{args.name}: waiting {seconds}s before scaling {old:g} -> {new:g} replicas")
            await sleep(seconds)

    return wait


def scale_down_hook(app: str, seconds: int) -> pulumi.ResourceHook:
    return pulumi.ResourceHook(hook_name(app), delay_before_shrinking(seconds))
