"""The verification window: after a switch, the new color is watched under real traffic before the update
succeeds (`verifySeconds`, off by default).

For `verifySeconds`, at 10 requests a second, it GETs `smokePath` (else `readinessPath`) through the
API server's proxy of the active Service, which picks one of the Service's ready endpoints as kube-proxy
would, and once a second it reads the new color's pods. It fails as soon as the window can no longer
pass, never later:

- more requests have failed (not 2xx, or no answer) than `verifySuccessPercent` allows over the whole
  window (at 99% and 30 s, the 4th failure of 300 planned requests);
- a pod of the new color is not Ready, is gone or replaced, or fewer pods are Ready than its Deployment
  wants;
- a container of the new color restarted.

The window's logic (`Window`) is pure: it takes answers and pod readings and says whether the window
still holds, so it is tested against recorded answers. `watch` runs it against the cluster.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from bluegreen import naming
from bluegreen.app import pod
from bluegreen.app.gate import REQUEST_TIMEOUT, label_selector, pod_name
from bluegreen.naming import Color

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, V1Pod

REQUESTS_PER_SECOND: Final = 10
"""How often the window asks the new color through the active Service."""
POD_READ_SECONDS: Final = 1.0
"""How often the window reads the new color's pods."""
PROGRESS_SECONDS: Final = 10.0
"""How often a long window says how it is going."""
VERIFY_REQUEST_TIMEOUT: Final = (2.0, 2.0)
"""Seconds to connect and to wait for one answer: a request without an answer in time has failed."""
FAILED: Final = "failed"
PASSED: Final = "passed"
"""The window's outcome in its line, `verification of green (1.3) passed: ...`: bgctl reads it there."""

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class PodReading:
    """One pod of the new color as the window reads it."""

    name: str
    ready: bool
    restarts: int
    """The sum of its containers' restart counts."""


@dataclass
class Window:
    """What the window has seen so far, and whether it still holds. Pure: the caller feeds it."""

    color: Color
    seconds: int
    success_percent: int
    path: str
    service: str
    """`namespace/name` of the active Service, for the lines it writes."""
    requests: int = 0
    failed: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    """Each kind of failed answer (`HTTP 500`, `no answer`) and how often it came."""
    baseline: dict[str, int] | None = None
    """Each pod's restarts at the first reading: the window's pods."""
    pods_ready: int = 0
    problem: str | None = None
    """Why the window failed; None while it holds."""

    @property
    def planned(self) -> int:
        """The requests a whole window sends."""
        return max(1, math.ceil(self.seconds * REQUESTS_PER_SECOND))

    @property
    def allowed(self) -> int:
        """How many requests of a whole window may fail."""
        return self.planned * (100 - self.success_percent) // 100

    def answer(self, status: int | None) -> None:
        """One request's answer: its HTTP status, or None when none came."""
        if self.problem is not None:
            return
        self.requests += 1
        if status is not None and 200 <= status < 300:
            return
        self.failed += 1
        self.answers["no answer" if status is None else f"HTTP {status}"] += 1
        if self.failed > self.allowed:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(self.answers.items()))
            self.problem = (
                f"{self.failed} of {self.requests} requests to {self.path} through Service {self.service} failed "
                f"({kinds}): verifySuccessPercent {self.success_percent} allows {self.allowed} of the window's "
                f"{self.planned}"
            )

    def pods(self, readings: Sequence[PodReading], want: int) -> None:
        """One reading of the new color's pods; `want` is how many its Deployment runs."""
        if self.problem is not None:
            return
        now = {reading.name: reading for reading in readings}
        self.pods_ready = sum(reading.ready for reading in readings)
        if self.baseline is None:
            self.baseline = {name: reading.restarts for name, reading in now.items()}
        for name, restarts in self.baseline.items():
            seen = now.get(name)
            if seen is None:
                self.problem = f"pod {name} of {self.color} is gone"
            elif seen.restarts > restarts:
                self.problem = f"a container of pod {name} ({self.color}) restarted ({restarts} -> {seen.restarts})"
            elif not seen.ready:
                self.problem = f"pod {name} of {self.color} is not Ready"
            if self.problem is not None:
                return
        added = sorted(set(now) - set(self.baseline))
        if added:
            self.problem = f"pod {added[0]} of {self.color} appeared during the window (a pod was replaced)"
        elif self.pods_ready < want:
            self.problem = f"{self.pods_ready} of {want} pod(s) of {self.color} are Ready"

    def holds_at_end(self) -> None:
        """At the window's end: enough requests answered 2xx (a slow API server may have sent fewer)."""
        if self.problem is not None:
            return
        if self.requests == 0:
            self.problem = f"no request to {self.path} through Service {self.service} finished within the window"
        elif (self.requests - self.failed) * 100 < self.success_percent * self.requests:
            self.problem = (
                f"{self.requests - self.failed} of {self.requests} requests to {self.path} through Service "
                f"{self.service} answered 2xx, below verifySuccessPercent {self.success_percent}"
            )

    def so_far(self, elapsed: float) -> str:
        return (
            f"verification of {self.color}: {self.requests - self.failed} of {self.requests} requests 2xx, "
            f"{self.pods_ready} pod(s) Ready, {elapsed:.0f}s of {self.seconds}s"
        )

    def line(self, version: str, elapsed: float) -> str:
        """The window's outcome in one line."""
        label = f"verification of {self.color} ({version})"
        if self.problem is not None:
            return f"{label} {FAILED} {elapsed:.1f}s after the switch: {self.problem}"
        return (
            f"{label} {PASSED}: {self.requests - self.failed} of {self.requests} requests to {self.path} through "
            f"Service {self.service} answered 2xx (at least {self.success_percent}% needed) in {elapsed:.1f}s; its "
            f"{self.pods_ready} pod(s) stayed Ready with no restart"
        )


def reading(item: V1Pod) -> PodReading:
    from bluegreen.app.gate import is_ready

    statuses = (item.status.container_statuses if item.status is not None else None) or []
    return PodReading(pod_name(item), is_ready(item), sum(status.restart_count or 0 for status in statuses))


def _read_pods(api: ApiClient, namespace: str, app: str, color: Color) -> tuple[list[PodReading], int]:
    from kubernetes import client

    items = client.CoreV1Api(api).list_namespaced_pod(
        namespace, label_selector=label_selector(naming.selector(app, color)), _request_timeout=REQUEST_TIMEOUT
    )
    deployment = client.AppsV1Api(api).read_namespaced_deployment(
        naming.deployment_name(app, color), namespace, _request_timeout=REQUEST_TIMEOUT
    )
    want = deployment.spec.replicas if deployment.spec and deployment.spec.replicas is not None else 1
    return [reading(item) for item in items.items or []], want


def _ask(api: ApiClient, namespace: str, app: str, path: str) -> int | None:
    """One GET of `path` through the API server's proxy of the active Service: the status, None for no answer."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        response: Any = client.CoreV1Api(api).connect_get_namespaced_service_proxy_with_path(
            f"{naming.service_name(app)}:{pod.PORT_NAME}",
            namespace,
            path.lstrip("/"),
            _request_timeout=VERIFY_REQUEST_TIMEOUT,
            _preload_content=False,
        )  # typed as str, but a raw urllib3 response without preloading
    except ApiException as error:
        return error.status or None
    except (HTTPError, OSError):
        return None
    status: int = response.status
    response.close()
    return status


@dataclass(frozen=True)
class Cluster:
    """How the window reads the cluster: its two questions, so tests can answer them from a recording."""

    ask: Callable[[], int | None]
    read_pods: Callable[[], tuple[list[PodReading], int]]

    @classmethod
    def of(cls, api: ApiClient, namespace: str, app: str, color: Color, path: str) -> Cluster:
        return cls(lambda: _ask(api, namespace, app, path), lambda: _read_pods(api, namespace, app, color))


def watch(
    window: Window,
    cluster: Cluster,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> float:
    """Run the window until it ends or fails; return how long it ran. `progress` hears how it goes, now and then."""
    started = clock()
    deadline = started + window.seconds
    next_reading, next_progress = started, started + PROGRESS_SECONDS
    while True:
        now = clock()
        if now >= next_reading:
            window.pods(*cluster.read_pods())
            next_reading += POD_READ_SECONDS
        if progress is not None and now >= next_progress and now < deadline:
            progress(window.so_far(now - started))
            next_progress += PROGRESS_SECONDS
        if window.problem is not None or now >= deadline:
            break
        window.answer(cluster.ask())
        if window.problem is not None:
            break
        pause = started + window.requests / REQUESTS_PER_SECOND - clock()
        if pause > 0:
            sleep(min(pause, max(deadline - clock(), 0.0)))
    window.holds_at_end()
    return clock() - started
