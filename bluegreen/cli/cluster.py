"""The cluster side of `rollback --now`: read the previous color's Deployment, then write the active Service's
selector in one call.

Everything else bgctl does goes through the Pulumi CLI. This is the one place it talks to the API server itself,
with the official client and the kubeconfig and context of the stack's default Kubernetes provider (resolved by
the pre-switch gate's own `api_client`), so it writes to the cluster the next `pulumi up` updates.

The `kubernetes` package is imported only here, and this module only by `rollback --now`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Final

from bluegreen import naming
from bluegreen.app import gate
from bluegreen.cli.errors import BgctlError
from bluegreen.naming import Color

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, V1Deployment

FIELD_MANAGER: Final = "bgctl"
"""The field manager of the selector write: the Service's managedFields then name who moved its traffic.

A merge patch is an Update, so this manager takes `spec.selector.color` from the provider's server-side apply
manager (`pulumi-kubernetes-<suffix>`). The `pulumi up` that follows applies the same color: no conflict, the field
is shared. The next cutover changes the color, which would conflict with this claim, but the active Service carries
`pulumi.com/patchForce: "true"` (app/component.py): the provider's apply takes the field back, and the claim ends.
(Without that annotation, the one safe name would be `pulumi-kubernetes`, whose Update entries the provider
adopts on its next real update of the object.) The requests' User-Agent, `bgctl/<version>`, names bgctl in the
API server's audit log too.
"""
MERGE_PATCH: Final = "application/merge-patch+json"
USER_AGENT: Final = f"bgctl/{version('bluegreen')}"


def access(config: Mapping[str, str]) -> gate.KubeAccess:
    """Where the stack's default Kubernetes provider connects, from the stack's config (secrets shown)."""
    return gate.KubeAccess.of(config)


@contextlib.contextmanager
def connect(where: gate.KubeAccess, environ: Mapping[str, str] | None = None) -> Iterator[ApiClient]:
    """A client for the provider's cluster and context; a kubeconfig it cannot load is one line, nothing changed."""
    try:
        api = gate.api_client(where, environ)
    except Exception as error:  # no kubeconfig, a broken one, an unknown context, ...
        message = " ".join(str(error).split()) or type(error).__name__
        raise BgctlError(
            f"cannot load the kubeconfig of the stack's Kubernetes provider: {message}; nothing changed"
        ) from error
    api.user_agent = USER_AGENT
    with api:
        yield api


@dataclass(frozen=True)
class Rollout:
    """A color's Deployment as the API server reports it: what `rollback --now` needs to know it can serve."""

    name: str
    """`<namespace>/<name>`."""
    desired: int
    generation: int
    observed: int
    total: int
    updated: int
    ready: int
    available: int

    @classmethod
    def of(cls, deployment: V1Deployment, name: str) -> Rollout:
        spec, status, metadata = deployment.spec, deployment.status, deployment.metadata
        # An unset spec.replicas means 1, as the API server defaults it; zero counts are left out of a status.
        desired = 1 if spec is None or spec.replicas is None else spec.replicas
        return cls(
            name=name,
            desired=desired,
            generation=(metadata.generation if metadata else None) or 0,
            observed=(status.observed_generation if status else None) or 0,
            total=(status.replicas if status else None) or 0,
            updated=(status.updated_replicas if status else None) or 0,
            ready=(status.ready_replicas if status else None) or 0,
            available=(status.available_replicas if status else None) or 0,
        )

    @property
    def scaled_to_zero(self) -> bool:
        """No pod at all wanted (idleReplicas: 0 does this to the idle color): nothing could take traffic now."""
        return self.desired == 0

    def unready(self) -> str | None:
        """Why this color cannot take all traffic this instant, or None when it can.

        Every wanted replica is updated, ready and available, no old replica is left, and the controller has
        observed the latest spec: the gate's rollout check, with readyReplicas too.
        """
        label = f"Deployment {self.name}"
        if self.observed < self.generation:
            return f"{label} rollout not observed yet (generation {self.generation}, observed {self.observed})"
        if self.updated < self.desired:
            return f"{label} has {self.updated} of {self.desired} replicas updated"
        if self.total > self.updated:
            return f"{label} still runs {self.total - self.updated} old replica(s)"
        if self.ready < self.desired:
            return f"{label} has {self.ready} of {self.desired} replicas ready"
        if self.available < self.desired:
            return f"{label} has {self.available} of {self.desired} replicas available"
        return None


def _said(body: object) -> str:
    """What an error answer says: its Status's message, else its text."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        message = json.loads(text).get("message")
    except (ValueError, AttributeError):
        message = None
    return " ".join(str(message or text).split())[:300]


def _call_failed(what: str, error: Exception) -> str:
    """A failed API call as one line: the call, and the server's answer or why it never came."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(error, ApiException):
        said = _said(error.body)
        return f"{what} answered HTTP {error.status} {error.reason or ''}".rstrip() + (f": {said}" if said else "")
    return f"cannot reach the Kubernetes API server ({what}): {' '.join(str(error).split())}"


def read_rollout(api: ApiClient, namespace: str, app: str, color: Color) -> Rollout:
    """GET the color's Deployment (a read: a failure changes nothing)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    name = naming.deployment_name(app, color)
    what = f"GET Deployment {namespace}/{name}"
    try:
        deployment = client.AppsV1Api(api).read_namespaced_deployment(
            name, namespace, _request_timeout=gate.REQUEST_TIMEOUT
        )
    except (ApiException, HTTPError, OSError) as error:
        raise BgctlError(f"{_call_failed(what, error)}; nothing changed") from error
    return Rollout.of(deployment, f"{namespace}/{name}")


class SelectorNotWritten(BgctlError):
    """The API server refused the write: the selector is as it was."""


class SelectorUnknown(BgctlError):
    """The write's answer never came, or was a server error: whether the selector changed is not known."""


def select(api: ApiClient, namespace: str, app: str, color: Color) -> None:
    """Point the app's active Service at `color`: one JSON merge patch of `spec.selector.color`.

    Only that key is sent, so the rest of the selector, the ports and the ClusterIP stay as they are.
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    service = naming.service_name(app)
    what = f"PATCH Service {namespace}/{service}"
    patch: dict[str, Any] = {"spec": {"selector": {naming.COLOR_LABEL: color}}}
    try:
        client.CoreV1Api(api).patch_namespaced_service(
            service,
            namespace,
            patch,
            field_manager=FIELD_MANAGER,
            _content_type=MERGE_PATCH,
            _request_timeout=gate.REQUEST_TIMEOUT,
        )
    except ApiException as error:
        # A 4xx is a refusal; a 5xx (a timeout inside the API server, a proxy's 504) may come after the write.
        unknown = error.status is None or error.status >= 500
        raise (SelectorUnknown if unknown else SelectorNotWritten)(_call_failed(what, error)) from error
    except (HTTPError, OSError) as error:
        raise SelectorUnknown(_call_failed(what, error)) from error


def selected_color(api: ApiClient, namespace: str, app: str) -> str | None:
    """The color the active Service selects now, or None when the API server cannot tell (a read)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        service = client.CoreV1Api(api).read_namespaced_service(
            naming.service_name(app), namespace, _request_timeout=gate.REQUEST_TIMEOUT
        )
    except (ApiException, HTTPError, OSError):
        return None
    selector = service.spec.selector if service.spec is not None else None
    return (selector or {}).get(naming.COLOR_LABEL)
