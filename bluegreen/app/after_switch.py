"""After the selector moved: traffic confirmed on the new color, then the old color's pods replaced so
that clients holding keep-alive connections follow the switch; in between, the optional verification window.

An `after_update` hook on the active Service, bound with the pre-switch gate (it needs the same API
access). It acts only when the selector color changed:

1. **Traffic confirmed.** The Service's EndpointSlices must list every Ready pod of the new color as a
   ready endpoint, and no pod of the old one. This replaces the Kubernetes provider's own Service await
   (the Service carries `pulumi.com/skipAwait`): that await waits at least 10 s after the write and
   never requires a ready address, while this check is usually met at once and fails only when the
   Service really sends traffic nowhere.
2. **The new color verified** (`verifySeconds`, off by default): the window of verify.py watches it under
   real traffic. A failed window fails the hook, and with it the update, with the one command that
   switches back (bgctl cutover and release run it themselves). The engine starts no step that depends
   on the Service (the old color's scale-down among them) before this hook returned, so with
   `idleReplicas` the old color keeps its size until the window has passed.
3. **Keep-alive clients moved** (`recycleOldPods`, on by default, when the old color keeps pods). A
   selector change does not touch an open connection: a client that reuses its connections (most HTTP
   pools, HTTP/2, gRPC) keeps talking to the old version for as long as the old pods run, which with
   a warm old color is forever. So once `scaleDownDelaySeconds` has passed (every node's kube-proxy has
   the new endpoints), the old color's pods are evicted one at a time through the Eviction API, within
   the color's PodDisruptionBudget (at most one pod unavailable), and its ReplicaSet replaces each. An
   evicted pod keeps serving through its preStop sleep, then its server closes idle keep-alive
   connections and its clients reconnect, through the Service, to the new color. The old color keeps its
   size and template (nothing for `pulumi preview` to see) and is Available again, ready for an instant
   rollback, before `pulumi up` ends. A pod that cannot be replaced in time is reported as a warning with
   the command that finishes the job: traffic itself has already moved.

The `kubernetes` package is imported only when the hook runs (see gate.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pulumi

from bluegreen import naming
from bluegreen.app import verify
from bluegreen.app.gate import (
    REQUEST_TIMEOUT,
    KubeAccess,
    api_client,
    is_ready,
    label_selector,
    pod_name,
    selector_color,
)
from bluegreen.config.model import AppSettings
from bluegreen.naming import Color

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

ENDPOINTS_TIMEOUT_SECONDS: Final = 30.0
"""How long the Service may take to list the new color's pods as its ready endpoints."""
POLL_SECONDS: Final = 0.1
EVICTION_RETRY_SECONDS: Final = 1.0
"""The wait before asking again when the PodDisruptionBudget allows no eviction yet (HTTP 429)."""
RECYCLE_SECONDS_PER_POD: Final = 120.0
"""Each old pod must be evicted and replaced, and the old color Available again, within this many seconds."""
SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class TrafficError(Exception):
    """The Service does not send traffic to the new color's pods."""


class VerificationError(Exception):
    """The new color failed its verification window: traffic is on it, and the old color still runs."""


@dataclass(frozen=True)
class Switch:
    """One app's switch: which Service moved, from which color to which, in which namespace."""

    app: str
    namespace: str
    old: Color
    new: Color

    @property
    def service(self) -> str:
        return naming.service_name(self.app)


def _ready_pod_names(api: ApiClient, switch: Switch, color: Color) -> set[str]:
    from kubernetes import client

    pods = client.CoreV1Api(api).list_namespaced_pod(
        switch.namespace,
        label_selector=label_selector(naming.selector(switch.app, color)),
        _request_timeout=REQUEST_TIMEOUT,
    )
    return {pod_name(item) for item in pods.items or [] if is_ready(item)}


def _endpoint_pods(api: ApiClient, switch: Switch) -> set[str]:
    """The pods the Service's EndpointSlices list as ready endpoints, by name."""
    from kubernetes import client

    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        switch.namespace,
        label_selector=f"{SERVICE_NAME_LABEL}={switch.service}",
        _request_timeout=REQUEST_TIMEOUT,
    )
    names: set[str] = set()
    for item in slices.items or []:
        for endpoint in item.endpoints or []:
            ready = endpoint.conditions is None or endpoint.conditions.ready is not False
            ref = endpoint.target_ref
            if ready and ref is not None and ref.kind == "Pod" and ref.name:
                names.add(ref.name)
    return names


def confirm_traffic(api: ApiClient, switch: Switch, clock: Clock = time.monotonic) -> str:
    """Wait until the Service's ready endpoints are exactly the new color's Ready pods (at least one)."""
    started = clock()
    deadline = started + ENDPOINTS_TIMEOUT_SECONDS
    while True:
        wanted = _ready_pod_names(api, switch, switch.new)
        listed = _endpoint_pods(api, switch)
        if wanted and listed == wanted:
            return (
                f"Service {switch.namespace}/{switch.service} sends traffic to {len(wanted)} Ready {switch.new} "
                f"pod(s), none of {switch.old}, {clock() - started:.1f}s after the write"
            )
        if clock() > deadline:
            old = sorted(listed - wanted)
            raise TrafficError(
                f"{switch.app}: {ENDPOINTS_TIMEOUT_SECONDS:.0f}s after the selector moved to {switch.new}, Service "
                f"{switch.namespace}/{switch.service} lists {len(listed & wanted)} of {len(wanted)} Ready {switch.new} "
                f"pod(s) as endpoints" + (f" and still {', '.join(old)}" if old else "")
            )
        time.sleep(POLL_SECONDS)


def _evict(api: ApiClient, switch: Switch, name: str, deadline: float, clock: Clock) -> bool:
    """Ask the Eviction API to evict `name` until its budget allows it; False when the deadline passed first."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=switch.namespace))
    while True:
        try:
            client.CoreV1Api(api).create_namespaced_pod_eviction(
                name, switch.namespace, body, _request_timeout=REQUEST_TIMEOUT
            )
            return True
        except ApiException as error:
            if error.status == 404:  # already gone
                return True
            if error.status != 429:  # 429: the budget allows no disruption yet
                raise
            if clock() > deadline:
                return False
        time.sleep(EVICTION_RETRY_SECONDS)


def _old_color_restored(api: ApiClient, switch: Switch, evicted: set[str]) -> bool:
    from kubernetes import client

    names = {
        pod_name(item)
        for item in client.CoreV1Api(api)
        .list_namespaced_pod(
            switch.namespace,
            label_selector=label_selector(naming.selector(switch.app, switch.old)),
            _request_timeout=REQUEST_TIMEOUT,
        )
        .items
        or []
    }
    deployment = client.AppsV1Api(api).read_namespaced_deployment(
        naming.deployment_name(switch.app, switch.old), switch.namespace, _request_timeout=REQUEST_TIMEOUT
    )
    want = deployment.spec.replicas if deployment.spec and deployment.spec.replicas is not None else 1
    available = (deployment.status.available_replicas if deployment.status else None) or 0
    return not (names & evicted) and available >= want


def recycle_old_pods(api: ApiClient, switch: Switch, clock: Clock = time.monotonic) -> tuple[str, str | None]:
    """Evict the old color's Ready pods one at a time and wait until they are gone and it is Available again.

    Returns the line that says what was done, and a warning when it could not finish in time.
    """
    started = clock()
    pods = sorted(_ready_pod_names(api, switch, switch.old))
    deadline = started + RECYCLE_SECONDS_PER_POD * max(len(pods), 1)
    label = f"{switch.old} ({switch.namespace}/{naming.deployment_name(switch.app, switch.old)})"
    evicted: set[str] = set()
    for name in pods:
        if not _evict(api, switch, name, deadline, clock):
            break
        evicted.add(name)
    while len(evicted) == len(pods) and not _old_color_restored(api, switch, evicted):
        if clock() > deadline:
            break
        time.sleep(POLL_SECONDS * 5)
    else:
        if len(evicted) == len(pods):
            return (
                f"replaced the {len(pods)} pod(s) of {label} one at a time in {clock() - started:.1f}s: "
                f"keep-alive clients reconnected to {switch.new}; {switch.old} is Available for a rollback",
                None,
            )
    left = sorted(set(pods) - evicted)
    return (
        f"replaced {len(evicted)} of {len(pods)} pod(s) of {label}",
        f"{switch.app}: {switch.old} was not replaced within {deadline - started:.0f}s; keep-alive clients of "
        f"{', '.join(left) or 'its old pods'} may still reach {switch.old}. Traffic has moved to {switch.new}. "
        f"Finish by hand: kubectl --namespace {switch.namespace} delete pod "
        + (" ".join(left) if left else f"-l {label_selector(naming.selector(switch.app, switch.old))}"),
    )


def recycles(app: AppSettings) -> bool:
    """The old color keeps pods after a cutover (no idleReplicas, or some), and the app asks for the move."""
    return app.recycle_old_pods and (app.idle_replicas is None or app.idle_replicas > 0)


def after_switch(
    app: AppSettings,
    namespace: str,
    access: KubeAccess,
    old_inputs: Mapping[str, Any] | None,
    new_inputs: Mapping[str, Any] | None,
    log: Callable[[str], None],
    warn: Callable[[str], None],
    wait: Callable[[float], None] = time.sleep,
    clock: Clock = time.monotonic,
) -> None:
    """The hook's body: nothing unless the selector color changed; then confirm, verify (verifySeconds), wait the
    rest of the delay and recycle."""
    before, after = naming.as_color(selector_color(old_inputs) or ""), naming.as_color(selector_color(new_inputs) or "")
    if before is None or after is None or before == after:
        return
    switch = Switch(app.name, namespace, before, after)
    written = clock()
    with api_client(access) as api:
        try:
            log(f"after the switch: {confirm_traffic(api, switch)}")
        except Exception as error:
            raise TrafficError(
                f"after the switch: {error}. Traffic has moved to {after} (the selector is written); "
                f"switch back with: {switch_back_command(app.name)}"
            ) from None
        if app.verify_seconds:
            log(verified(app, switch, verify.Cluster.of(api, namespace, app.name, after, app.verify_path), log))
        if not recycles(app):
            return
        # The window counts towards the delay: the old color has been untouched since the write.
        delay = app.scale_down_delay_seconds - (clock() - written)
        if delay > 0:
            log(
                f"after the switch: waiting scaleDownDelaySeconds ({app.scale_down_delay_seconds}s from the switch) "
                f"before replacing {before}'s pods, so every node routes to {after} first"
            )
            wait(delay)
        try:
            done, warning = recycle_old_pods(api, switch)
        except Exception as error:
            done, warning = "", f"{app.name}: replacing {before}'s pods failed: {' '.join(str(error).split())[:300]}"
        if done:
            log(f"after the switch: {done}")
        if warning:
            warn(warning)


def switch_back_command(app: str) -> str:
    """The one command that moves traffic back at once: the selector first, then the recorded `pulumi up`."""
    return f"bgctl rollback --now --stack {pulumi.get_stack()} --app {app} --yes"


def verified(
    app: AppSettings,
    switch: Switch,
    cluster: verify.Cluster,
    log: Callable[[str], None],
    clock: Clock = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run the verification window on the new color; its line when it passed, else `VerificationError`."""
    service = f"{switch.namespace}/{switch.service}"
    window = verify.Window(switch.new, app.verify_seconds, app.verify_success_percent, app.verify_path, service)
    version = app.color(switch.new).version
    log(
        f"verification of {switch.new} ({version}): watching it for {app.verify_seconds}s: GET {app.verify_path} "
        f"through Service {window.service}, {verify.REQUESTS_PER_SECOND} a second, at least "
        f"{app.verify_success_percent}% 2xx; its pods Ready, no restart"
    )
    elapsed = verify.watch(window, cluster, clock, sleep, log)
    line = window.line(version, elapsed)
    if window.problem is not None:
        raise VerificationError(
            f"{line}. Traffic IS on {switch.new} (the selector is written) and {switch.old} still runs: switch back "
            f"with: {switch_back_command(app.name)}"
        )
    return line


def hook_name(app: str) -> str:
    return f"{app}-after-switch"


def after_switch_hook(app: AppSettings, namespace: str, access: KubeAccess) -> pulumi.ResourceHook:
    """The `after_update` hook on `app`'s active Service, bound with the pre-switch gate."""

    async def after_switch_check(args: pulumi.ResourceHookArgs) -> None:
        # The client blocks; a worker thread keeps the program's event loop answering the engine.
        await asyncio.to_thread(
            after_switch, app, namespace, access, args.old_inputs, args.new_inputs, pulumi.log.info, pulumi.log.warn
        )

    return pulumi.ResourceHook(hook_name(app.name), after_switch_check)
