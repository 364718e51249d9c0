"""A watch on the API server: every change to a namespace's Deployments and Services, with when it was seen.

Ordering claims (the new color is Available before the selector moves; the old color shrinks only
after the delay) are proved from these events, not from the CLI's output.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from kubernetes import client, config, watch

WATCH_LIMIT_SECONDS: Final = 300
"""A watch ends by itself after this long, whatever happens to the test."""


@dataclass(frozen=True)
class Seen:
    at: float
    kind: str
    name: str
    replicas: int | None = None
    """A Deployment's spec.replicas."""
    available: int | None = None
    selector: str | None = None
    version: str | None = None
    """A Deployment's pod template `version` label: what its new pods run."""
    rolled_out: bool | None = None
    """A Deployment's rollout is complete: its controller saw the spec, and every pod is of it and available."""


def _seen(kind: str, obj: Any) -> Seen:
    name = obj.metadata.name
    if kind == "Deployment":
        status, replicas = obj.status, obj.spec.replicas
        available = status.available_replicas or 0
        rolled_out = (status.observed_generation or 0) >= obj.metadata.generation and (
            (status.updated_replicas or 0) == (status.replicas or 0) == available == replicas
        )
        version = (obj.spec.template.metadata.labels or {}).get("version")
        return Seen(time.monotonic(), kind, name, replicas, available, version=version, rolled_out=rolled_out)
    return Seen(time.monotonic(), kind, name, selector=(obj.spec.selector or {}).get("color"))


class Watch:
    """`with Watch(kubeconfig, namespace) as events:` records until the block ends (bounded in time)."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        self.api = config.new_client_from_config(config_file=str(kubeconfig))
        self.namespace = namespace
        self.events: list[Seen] = []
        self._lock = threading.Lock()
        self._watches: list[watch.Watch] = []
        self._stopping = threading.Event()
        self.failures: list[str] = []
        self._threads: list[threading.Thread] = []

    def _follow(self, kind: str, lister: Callable[..., Any], listed_event: threading.Event) -> None:
        try:
            listed = lister(self.namespace)
            with self._lock:
                self.events.extend(_seen(kind, item) for item in listed.items)
        except Exception as error:
            self.failures.append(f"listing {kind}s failed: {error!r}")
            return
        finally:
            listed_event.set()
        stream = watch.Watch()
        self._watches.append(stream)
        try:
            for event in stream.stream(
                lister,
                self.namespace,
                resource_version=listed.metadata.resource_version,
                timeout_seconds=WATCH_LIMIT_SECONDS,
            ):
                with self._lock:
                    self.events.append(_seen(kind, event["object"]))
        except Exception as error:  # closing the client at the end cuts the stream: only an earlier end counts
            if not self._stopping.is_set():
                self.failures.append(f"the watch of {kind}s ended early: {error!r}")
            return
        if not self._stopping.is_set():  # the server's timeout_seconds passed before the block ended
            self.failures.append(f"the watch of {kind}s ended after {WATCH_LIMIT_SECONDS}s, before the test did")

    def __enter__(self) -> Watch:
        apps, core = client.AppsV1Api(self.api), client.CoreV1Api(self.api)
        for kind, lister in (
            ("Deployment", apps.list_namespaced_deployment),
            ("Service", core.list_namespaced_service),
        ):
            listed = threading.Event()
            thread = threading.Thread(target=self._follow, args=(kind, lister, listed), daemon=True)
            thread.start()
            self._threads.append(thread)
            listed.wait(
                timeout=WATCH_LIMIT_SECONDS
            )  # its list is done (the watch starts from it) before the caller acts
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        time.sleep(1)  # the last events reach us
        self._stopping.set()
        for stream in self._watches:
            stream.stop()
        self.api.close()
        if kind is None and self.failures:
            raise AssertionError("; ".join(self.failures))

    def __iter__(self) -> Iterator[Seen]:
        with self._lock:
            return iter(list(self.events))

    def first(self, what: Callable[[Seen], bool], after: float = 0.0) -> float | None:
        """When the first event matching `what` (at or after `after`) was seen."""
        return next((e.at for e in self if e.at >= after and what(e)), None)
