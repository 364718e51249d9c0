"""The pre-switch gate: a `before_update` hook on the active Service that refuses to move traffic to
a color that is not ready.

It acts only when the Service's selector color changes. It then asks the cluster, through the
official `kubernetes` client and the same kubeconfig and context the stack's default Kubernetes
provider uses, whether the target color:

1. has its Deployment fully rolled out: every replica updated and available, no old pod left;
2. has at least that many Ready pods that are not terminating, among the pods its own selector
   `app=<app>,color=<color>` matches;
3. answers `smokePath` (when set) with a 2xx through the API server's pod proxy, from one of those
   Ready pods (the first by name), on the container port named `http`. The pod proxy does not
   resolve port names, so the gate reads that port's number from the pod's own spec.

The gate judges the target color by its own labels, never by the preview Service. The preview
Service is updated last in a cutover, so it can lag: when an update fails after the active Service
moved (its endpoint await timed out, say), the preview Service still selects the new color. A gate
that read the target's endpoints through it would refuse the rollback to the old color, the very
switch that must stay possible. The pods, the Deployment and the pod proxy depend on the target
color alone, whatever state the Services were left in.

A failing check raises, the engine fails the hook and the update stops before the selector moves:
traffic stays where it was.

The `kubernetes` package is imported only when the hook runs, so an ordinary evaluation of the
program (preview, a run without a cutover) costs nothing and needs no cluster access.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pulumi

from bluegreen import naming
from bluegreen.app import pod
from bluegreen.config import grammar
from bluegreen.config.model import AppSettings, KubeAccess
from bluegreen.naming import Color

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, V1Pod

REQUEST_TIMEOUT: Final = (5.0, 15.0)
"""Seconds to connect to the API server, and to wait for an answer (the smoke check's included)."""
REQUEST_RETRIES: Final = 2
IN_CLUSTER_HOST_VAR: Final = "KUBERNETES_SERVICE_HOST"
DEFAULT_KUBECONFIG: Final = "~/.kube/config"


class GateError(Exception):
    """The target color is not ready, or the gate could not tell; the switch must not happen."""


@dataclass(frozen=True)
class Target:
    """What to check: one app's color in one namespace."""

    app: str
    namespace: str
    color: Color
    smoke_path: str | None = None


selector_color = naming.service_selector_color


def api_client(access: KubeAccess, environ: Mapping[str, str] | None = None) -> ApiClient:
    """A client for the cluster and context the provider uses, resolved the way it resolves them."""
    from kubernetes import client, config
    from kubernetes.config.kube_config import KubeConfigMerger

    env = os.environ if environ is None else environ
    configuration = client.Configuration()
    source: Any = None
    if access.kubeconfig:
        # Like the provider: an existing path (with `~` expanded) is read, anything else is the contents.
        path = os.path.expanduser(access.kubeconfig)
        if os.path.isfile(path):
            source = KubeConfigMerger(path).config
        else:
            import yaml

            source = yaml.safe_load(access.kubeconfig)
            if not isinstance(source, dict):
                raise GateError("kubernetes:kubeconfig is neither a file nor a kubeconfig document")
    else:
        # The provider merges these files with client-go's loading rules, not the Python client's
        # KubeConfigMerger (which lets the last file's current-context win and refuses an empty file).
        source = merge_kubeconfigs([loaded for path in kubeconfig_paths(env) if (loaded := _read_kubeconfig(path))])
        if not any(source.get(key) for key in ("current-context", *KUBECONFIG_SECTIONS)):
            # Only missing or empty files: client-go has "no configuration" and falls back to the in-cluster one.
            if not env.get(IN_CLUSTER_HOST_VAR):
                raise GateError(
                    "no kubeconfig found (kubernetes:kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a pod"
                )
            config.load_incluster_config(client_configuration=configuration)
            source = None
    if source is not None:
        if access.cluster:
            _override_cluster(source, access.context, access.cluster)
        config.load_kube_config_from_dict(
            source, context=access.context, client_configuration=configuration, persist_config=False
        )
    configuration.retries = REQUEST_RETRIES
    # Keep `/` in proxy paths as it is: a smokePath such as /api/health stays two segments.
    configuration.safe_chars_for_path_param = "/"
    return client.ApiClient(configuration)


KUBECONFIG_SECTIONS: Final = {
    "clusters": ("cluster", ("certificate-authority",)),
    "contexts": ("context", ()),
    "users": ("user", ("client-certificate", "client-key", "tokenFile")),
}
"""Each named list of a kubeconfig: the key of an entry's body, and the body's file references that client-go
resolves against the directory of the file the entry comes from (`ResolveLocalPaths`)."""


def kubeconfig_paths(environ: Mapping[str, str]) -> list[str]:
    """The files client-go's default loading rules read, in order (`NewDefaultClientConfigLoadingRules`).

    A non-empty $KUBECONFIG is a list: its entries are taken as written (client-go expands no `~`), empty ones
    are skipped and a repeated one is read once. Otherwise it is ~/.kube/config alone.
    """
    listed = environ.get("KUBECONFIG") or ""
    if not listed:
        return [os.path.expanduser(DEFAULT_KUBECONFIG)]
    return list(dict.fromkeys(path for path in listed.split(os.pathsep) if path))


def _read_kubeconfig(path: str) -> tuple[str, Mapping[str, Any]] | None:
    """A file's absolute path and parsed document; None when it does not exist, which client-go skips."""
    import yaml
    from kubernetes.config.config_exception import ConfigException

    try:
        with open(path, encoding="utf-8") as file:
            document = yaml.safe_load(file)
    except FileNotFoundError:
        return None
    # Any other read or parse error fails, as in client-go. An empty file (or one of comments only) is an
    # empty config there, where the Python client would refuse the whole list.
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigException(f"Invalid kube-config file {path}: not a mapping")
    return os.path.abspath(path), document


def merge_kubeconfigs(loaded: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One kubeconfig from several, merged as client-go's `ClientConfigLoadingRules.Load` merges them.

    `loaded` holds each existing file's absolute path and parsed document, in $KUBECONFIG order. The first file
    to name a cluster, context or user wins that name whole (a later entry of the same name is dropped, even
    its fields the first one lacks); current-context comes from the first file that sets a non-empty one. A
    name twice in one file is an error, and relative file references are resolved against the directory of
    the file the entry comes from.
    """
    from kubernetes.config.config_exception import ConfigException

    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    current = next((document["current-context"] for _, document in loaded if document.get("current-context")), None)
    if current is not None:
        merged["current-context"] = current
    for section, (body_key, references) in KUBECONFIG_SECTIONS.items():
        winners: dict[Any, dict[str, Any]] = {}
        for path, document in loaded:
            seen: set[Any] = set()
            for entry in document.get(section) or []:
                if not isinstance(entry, dict):
                    raise ConfigException(f"Invalid kube-config file {path}: an entry of {section} is not a mapping")
                name = entry.get("name")
                if name in seen:
                    raise ConfigException(f"Invalid kube-config file {path}: duplicate name {name!r} in {section}")
                seen.add(name)
                if name not in winners:
                    winners[name] = _resolve_references(entry, body_key, references, os.path.dirname(path))
        merged[section] = list(winners.values())
    return merged


def _resolve_references(
    entry: Mapping[str, Any], body_key: str, references: Sequence[str], base: str
) -> dict[str, Any]:
    """A copy of `entry` whose relative file references are joined to `base`, as client-go's `ResolvePaths` does.

    The merged kubeconfig no longer says which file an entry came from, so a relative path is made absolute
    here: the Python client would otherwise take it relative to the working directory.
    """
    resolved = copy.deepcopy(dict(entry))
    body = resolved.get(body_key)
    if not isinstance(body, dict):
        return resolved
    for key in references:
        if _is_relative_path(body.get(key)):
            body[key] = os.path.normpath(os.path.join(base, body[key]))
    plugin = body.get("exec")
    # An exec command is resolved only when it is a path: a bare name is looked up on $PATH.
    if isinstance(plugin, dict) and _is_relative_path(plugin.get("command")) and os.sep in plugin["command"]:
        plugin["command"] = os.path.normpath(os.path.join(base, plugin["command"]))
    return resolved


def _is_relative_path(value: object) -> bool:
    return isinstance(value, str) and value != "" and not os.path.isabs(value)


def _override_cluster(source: Any, context: str | None, cluster: str) -> None:
    from kubernetes.config.kube_config import ConfigNode

    node = source if isinstance(source, ConfigNode) else ConfigNode("kubeconfig", source)
    name = context or node["current-context"]
    entry = node["contexts"].get_with_name(name)
    entry.value["context"]["cluster"] = cluster


def label_selector(labels: Mapping[str, str]) -> str:
    """`labels` as an equality-based label selector: `app=backend,color=green`."""
    return ",".join(f"{key}={value}" for key, value in labels.items())


def pod_name(item: V1Pod) -> str:
    return (item.metadata.name if item.metadata is not None else None) or ""


def is_ready(item: V1Pod) -> bool:
    """A pod that is Ready (its `Ready` condition is "True") and not terminating (no deletionTimestamp)."""
    if item.metadata is not None and item.metadata.deletion_timestamp is not None:
        return False
    conditions = (item.status.conditions if item.status is not None else None) or []
    return any(condition.type == "Ready" and condition.status == "True" for condition in conditions)


def _named_port(item: V1Pod) -> int | None:
    """The number of the container port named `http` in the pod's own spec.

    The pod proxy takes a port number: unlike a Service, it does not resolve a port name.
    """
    for container in (item.spec.containers if item.spec is not None else None) or []:
        for port in container.ports or []:
            if port.name == pod.PORT_NAME:
                return port.container_port
    return None


class _Doing:
    """What the gate is asking the API server now: named in the error when the call fails."""

    def __init__(self) -> None:
        self.what = ""


def check(target: Target, api: ApiClient) -> list[str]:
    """Run the three checks against the cluster, in order; return what passed, or raise `GateError` with the
    first failure."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    doing = _Doing()
    passed: list[str] = []
    try:
        want, line = _deployment_rolled_out(target, api, doing)
        passed.append(line)
        ready, line = _ready_pods(target, api, want, doing)
        passed.append(line)
        if target.smoke_path:
            passed.append(_smoke_check(target.namespace, target.smoke_path, api, ready[0], doing))
    except ApiException as error:
        body = " ".join(str(error.body or "").split())[:200]
        raise GateError(
            f"{doing.what} answered HTTP {error.status} {error.reason or ''}".rstrip() + (f": {body}" if body else "")
        ) from error
    except (HTTPError, OSError) as error:
        raise GateError(
            f"cannot reach the Kubernetes API server ({doing.what}): {' '.join(str(error).split())}"
        ) from error
    return passed


def _deployment_rolled_out(target: Target, api: ApiClient, doing: _Doing) -> tuple[int, str]:
    """1. The target color's Deployment: every replica updated and available, no old pod left.

    Returns the replica count it wants, and the line that says so.
    """
    from kubernetes import client

    ns, name = target.namespace, naming.deployment_name(target.app, target.color)
    doing.what = f"GET Deployment {ns}/{name}"
    deployment = client.AppsV1Api(api).read_namespaced_deployment(name, ns, _request_timeout=REQUEST_TIMEOUT)
    status = deployment.status or client.V1DeploymentStatus()
    # An unset spec.replicas means 1, as the API server defaults it.
    want = 1 if deployment.spec is None or deployment.spec.replicas is None else deployment.spec.replicas
    generation = deployment.metadata.generation if deployment.metadata else None
    generation, observed = generation or 0, status.observed_generation or 0
    updated, available = status.updated_replicas or 0, status.available_replicas or 0
    total = status.replicas or 0
    label = f"Deployment {ns}/{name}"
    if want < 1:
        raise GateError(f"{label} has 0 replicas: no pod would serve")
    if observed < generation:
        raise GateError(f"{label} rollout not observed yet (generation {generation}, observed {observed})")
    if updated < want:
        raise GateError(f"{label} has {updated} of {want} replicas updated")
    if total > updated:
        raise GateError(f"{label} still runs {total - updated} old replica(s)")
    if available < want:
        raise GateError(
            f"{label} has {available} of {want} replicas available ({status.unavailable_replicas or 0} unavailable)"
        )
    return want, f"{label}: {want}/{want} replicas updated and available"


def _ready_pods(target: Target, api: ApiClient, want: int, doing: _Doing) -> tuple[list[V1Pod], str]:
    """2. At least `want` Ready pods not terminating, among those the color's own selector matches (by name)."""
    from kubernetes import client

    ns, color = target.namespace, target.color
    selector = label_selector(naming.selector(target.app, color))
    doing.what = f"LIST Pods in {ns} with {selector}"
    pods = client.CoreV1Api(api).list_namespaced_pod(ns, label_selector=selector, _request_timeout=REQUEST_TIMEOUT)
    ready = sorted((item for item in pods.items or [] if is_ready(item)), key=pod_name)
    if len(ready) < want:
        raise GateError(f"{color} has {len(ready)} Ready pod(s) not terminating in {ns} ({selector}), needs {want}")
    return ready, f"{color}: {len(ready)} Ready pod(s) not terminating in {ns} ({selector})"


def _smoke_check(ns: str, path: str, api: ApiClient, first: V1Pod, doing: _Doing) -> str:
    """3. `smokePath` answers a 2xx through the API server's pod proxy, from the first Ready pod."""
    from kubernetes import client

    # The parser refuses such a path already; the gate checks again, as it may be handed any AppSettings.
    if (why := grammar.http_path(path)) is not None:
        raise GateError(f"smokePath {path!r} {why}")
    port = _named_port(first)
    if port is None:
        raise GateError(f"Pod {ns}/{pod_name(first)} has no container port named {pod.PORT_NAME}")
    proxied = f"{pod_name(first)}:{port}"
    doing.what = f"smoke check GET {path} via Pod {ns}/{proxied}"
    # Only the status counts: the raw response, so a body that is neither text nor JSON (an image, no
    # Content-Type) is never decoded, which the client would refuse.
    response: Any = client.CoreV1Api(api).connect_get_namespaced_pod_proxy_with_path(
        proxied, ns, path.lstrip("/"), _request_timeout=REQUEST_TIMEOUT, _preload_content=False
    )  # typed as str, but a raw urllib3 response without preloading
    code = response.status
    response.close()
    return f"{doing.what}: HTTP {code}"


def run_gate(
    app: AppSettings,
    namespace: str,
    access: KubeAccess,
    old_inputs: Mapping[str, Any] | None,
    new_inputs: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The hook's body: nothing unless the selector color changes, then every check, or `GateError`."""
    before, after = selector_color(old_inputs), selector_color(new_inputs)
    if before == after or after is None:
        return []
    color = naming.as_color(after)
    if color is None:
        raise GateError(f"pre-switch gate: {app.name}: unknown target color {after!r}")
    target = Target(app.name, namespace, color, app.smoke_path)
    try:
        with api_client(access, environ) as api:
            return check(target, api)
    except GateError as error:
        raise GateError(
            f"pre-switch gate: {app.name} cannot switch from {before} to {after}: {error}. Traffic stays on {before}; "
            f"fix {after}, or set bluegreen:preSwitchGate false if this runner cannot reach the cluster"
        ) from None
    except Exception as error:  # a kubeconfig the client cannot load, a bad certificate, ...
        message = " ".join(str(error).split()) or type(error).__name__
        raise GateError(
            f"pre-switch gate: {app.name} cannot switch from {before} to {after}: cannot check the cluster: "
            f"{type(error).__name__}: {message}. Traffic stays on {before}"
        ) from None


def hook_name(app: str) -> str:
    return f"{app}-pre-switch-gate"


def pre_switch_hook(app: AppSettings, namespace: str, access: KubeAccess) -> pulumi.ResourceHook:
    """The `before_update` hook on `app`'s active Service, which BlueGreenApp binds when preSwitchGate is on."""

    async def pre_switch_gate(args: pulumi.ResourceHookArgs) -> None:
        # The client blocks; a worker thread keeps the program's event loop answering the engine.
        passed = await asyncio.to_thread(run_gate, app, namespace, access, args.old_inputs, args.new_inputs)
        for line in passed:
            pulumi.log.info(f"pre-switch gate: {line}")

    return pulumi.ResourceHook(hook_name(app.name), pre_switch_gate)
