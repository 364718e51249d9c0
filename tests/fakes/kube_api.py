"""A stand-in Kubernetes API server on 127.0.0.1: it answers the paths the official client calls for the
pre-switch gate and for `bgctl rollback --now` with JSON shaped like a real API server's, so the client's URLs,
auth and parsing all run.

Writes: a Service takes a JSON merge patch (RFC 7386) or a strategic merge patch without lists (for maps the
two are the same), and answers with the patched object; a patch that changes it bumps its resourceVersion,
one that changes nothing leaves it as it was, as on a real server. A content type the real server refuses gets
its 415; one it accepts but the stand-in does not model (JSON patch, apply) gets a 500 that says so.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "gate-test-token"
NAMESPACE = "bluegreen-dev"


def deployment(
    name: str,
    color: str,
    *,
    replicas: int = 2,
    updated: int = 2,
    available: int = 2,
    total: int | None = None,
    ready: int | None = None,
    generation: int = 3,
    observed: int = 3,
) -> dict[str, Any]:
    """A Deployment as the API server returns it; `ready` defaults to `available` (available pods are ready)."""
    labels = {"app": "backend", "color": color}
    counts = {
        "replicas": updated if total is None else total,
        "updatedReplicas": updated,
        "readyReplicas": available if ready is None else ready,
        "availableReplicas": available,
    }
    status: dict[str, Any] = {
        "observedGeneration": observed,
        # Counts of 0 are left out (omitempty), as a color scaled to 0 shows them.
        **{key: value for key, value in counts.items() if value},
        "terminatingReplicas": 0,  # reported since Kubernetes 1.33 (tests/fixtures/real_api/)
        "conditions": [
            {
                "type": "Available",
                "status": "True" if available >= replicas else "False",
                "reason": "MinimumReplicasAvailable",
                "lastUpdateTime": "2025-05-01T10:00:00Z",
                "lastTransitionTime": "2025-05-01T10:00:00Z",
                "message": "Deployment has minimum availability.",
            },
        ],
    }
    if available < replicas:
        status["unavailableReplicas"] = replicas - available
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "generation": generation,
            "resourceVersion": "4711",
            "uid": "0c5b8f4e-1f0e-4c49-9a53-6f3d2f1f0a01",
            "labels": {"app": "backend"},
            "creationTimestamp": "2025-05-01T09:00:00Z",
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "minReadySeconds": 10,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": {**labels, "version": "1.2"}},
                "spec": {
                    "containers": [
                        {
                            "name": "backend",
                            "image": "hashicorp/http-echo:1.0.0",
                            "ports": [{"name": "http", "containerPort": 5678, "protocol": "TCP"}],
                        }
                    ]
                },
            },
        },
        "status": status,
    }


def service(name: str, color: str, app: str = "backend") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "resourceVersion": "815",
            "labels": {"app": app},
            "uid": "6a1f2b7e-7a55-4c8e-8d0e-1b2c3d4e5f60",
            "creationTimestamp": "2025-05-01T09:00:00Z",
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.12",
            "clusterIPs": ["10.96.0.12"],
            "selector": {"app": app, "color": color},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    }


def pod(
    color: str,
    index: int,
    *,
    ready: bool = True,
    terminating: bool = False,
    app: str = "backend",
    port_name: str = "http",
) -> dict[str, Any]:
    """A pod of `app`'s `color` Deployment as the API server returns it: Running, with its conditions."""
    name = f"{app}-{color}-7d9f8c6b5-{index:05d}"
    ready_status = "True" if ready else "False"
    metadata: dict[str, Any] = {
        "name": name,
        "generateName": f"{app}-{color}-7d9f8c6b5-",
        "namespace": NAMESPACE,
        "uid": f"00000000-0000-4000-8000-{index:012d}",
        "resourceVersion": f"{5000 + index}",
        "generation": 1,
        "creationTimestamp": "2025-05-01T09:30:00Z",
        "labels": {
            "app": app,
            "color": color,
            "version": "1.2",
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/version": "1.2",
            "app.kubernetes.io/managed-by": "pulumi",
            "pod-template-hash": "7d9f8c6b5",
        },
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": f"{app}-{color}-7d9f8c6b5",
                "uid": "3e0a7c55-2b1d-4f0e-9c1a-5d6e7f8a9b0c",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if terminating:
        metadata["deletionTimestamp"] = "2025-05-01T10:05:00Z"
        metadata["deletionGracePeriodSeconds"] = 30
    pod_ip = f"10.244.0.{20 + index}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "containers": [
                {
                    "name": app,
                    "image": "hashicorp/http-echo:1.0.0",
                    "ports": [{"name": port_name, "containerPort": 5678, "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http", "scheme": "HTTP"}},
                }
            ],
            "nodeName": "kind-control-plane",
            "restartPolicy": "Always",
            "serviceAccountName": app,
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2025-05-01T09:30:02Z"},
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2025-05-01T09:30:00Z"},
                {"type": "Ready", "status": ready_status, "lastTransitionTime": "2025-05-01T09:30:12Z"},
                {"type": "ContainersReady", "status": ready_status, "lastTransitionTime": "2025-05-01T09:30:12Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-05-01T09:30:00Z"},
            ],
            "hostIP": "172.18.0.2",
            "hostIPs": [{"ip": "172.18.0.2"}],
            "qosClass": "Burstable",
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": "2025-05-01T09:30:00Z",
            "containerStatuses": [
                {
                    "name": app,
                    "ready": ready,
                    "started": True,
                    "restartCount": 0,
                    "image": "docker.io/hashicorp/http-echo:1.0.0",
                    "imageID": f"docker.io/hashicorp/http-echo@sha256:{'ab' * 32}",
                    "containerID": f"containerd://{index:064x}",
                    "state": {"running": {"startedAt": "2025-05-01T09:30:02Z"}},
                    "lastState": {},
                }
            ],
        },
    }


def _matches(labels: dict[str, str], selector: str) -> bool:
    """Equality-based label selector matching (`k=v,k2=v2`, also `k==v`); an empty selector matches all."""
    for requirement in filter(None, selector.split(",")):
        key, _, value = requirement.replace("==", "=").partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


@dataclass(frozen=True)
class Failure:
    """An error the API server answers a request with, as a Status; `written` when it comes after the write
    (a 504 from a proxy, or the API server's own timeout, once etcd has the change)."""

    code: int
    reason: str
    message: str
    written: bool = False


@dataclass(frozen=True)
class Patch:
    """A PATCH as the API server received it."""

    path: str
    content_type: str
    body: Any
    user_agent: str


@dataclass
class Cluster:
    """What the fake API server holds, and every request it answered."""

    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    proxy: dict[str, tuple[int, str] | tuple[int, bytes, str]] = field(default_factory=dict)
    """Decoded `<pod name>:<port>/proxy<path>` -> (status, body[, content type]) the proxied pod answers."""
    requests: list[str] = field(default_factory=list)
    """`METHOD /decoded/path?query` of every request, in order."""
    patches: list[Patch] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    """`METHOD /decoded/path` -> the error that request gets."""
    interrupt: str | None = None
    """`METHOD /decoded/path` during which the client's process gets a SIGINT, as from a Ctrl-C in its terminal
    (after a write is made, before it is answered)."""
    refuse_evictions: int = 0
    """How many evictions to answer 429 whatever the pods' state (a budget that allows none)."""
    warming: dict[str, int] = field(default_factory=dict)
    """Pod name -> requests left before it turns Ready: an evicted pod's replacement starting."""
    stale_endpoints: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    """Service -> (reads, pod names): its EndpointSlices list those pods for that many reads (the controller lags)."""
    proxied: int = 0
    """Requests the service proxy has passed on: it picks the Service's Ready pods in turn."""
    journal: Path | None = None
    """A JSON-lines file each request is also appended to, as `["kube-api", "METHOD /path?query"]`: the fake
    `pulumi` logs its calls to the same file, so one timeline holds both."""


MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = ("application/json-patch+json", MERGE_PATCH, STRATEGIC_MERGE_PATCH, "application/apply-patch+yaml")
"""What the API server accepts on a built-in type's PATCH, in its order (k8s.io/apiserver, endpoints/installer.go)."""
UNSUPPORTED_PATCH = (
    f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}"
)
FORCE_NOT_APPLY = 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch'


def merge_patch(target: Any, patch: Any, *, lists: bool = True) -> Any:
    """RFC 7386: a JSON merge patch applied to `target` (a copy); `null` removes a key.

    With `lists` False (a strategic merge patch) a list in the patch is refused: its merge keys are not modelled.
    """
    if not isinstance(patch, dict):
        if isinstance(patch, list) and not lists:
            raise NotImplementedError("the fake API server does not model strategic merge of lists")
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value, lists=lists)
    return json.loads(json.dumps(merged))


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    cluster: Cluster

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        if isinstance(body, bytes):
            data = body
        else:
            data = (json.dumps(body) if content_type == "application/json" else str(body)).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client went away first (interrupted): nobody to tell
            self.close_connection = True

    def _received(self, method: str) -> tuple[str, str] | None:
        """Log the request; answer 401 without the token, or its injected failure. Else (path, query)."""
        url = urlsplit(self.path)
        path = unquote(url.path)  # the API server routes on the decoded path, as Go's net/http hands it over
        line = f"{method} {path}" + (f"?{unquote(url.query)}" if url.query else "")
        self.cluster.requests.append(line)
        for name, left in list(self.cluster.warming.items()):
            if left > 1:
                self.cluster.warming[name] = left - 1
                continue
            del self.cluster.warming[name]
            for item in self.cluster.pods:
                if item["metadata"]["name"] == name:
                    item.update(
                        pod(
                            item["metadata"]["labels"]["color"],
                            int(name.rsplit("-", 1)[1]),
                            app=item["metadata"]["labels"]["app"],
                        )
                    )
        if self.cluster.journal is not None:
            with self.cluster.journal.open("a") as journal:
                journal.write(json.dumps(["kube-api", line]) + "\n")
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            return None
        failure = self.cluster.failures.get(f"{method} {path}")
        if failure is not None and not failure.written:
            self._send(failure.code, _status(failure.code, failure.reason, failure.message))
            return None
        return path, url.query

    def _interrupt_on(self, method: str, path: str) -> None:
        if self.cluster.interrupt == f"{method} {path}":
            os.kill(os.getpid(), signal.SIGINT)

    def do_PATCH(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received = self._received("PATCH")
        if received is None:
            return
        path, query = received
        content_type = self.headers.get("Content-Type", "")
        services = f"/api/v1/namespaces/{NAMESPACE}/services/"
        name = path[len(services) :] if path.startswith(services) else ""
        if not name or "/" in name:
            self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
            return
        if content_type not in PATCH_TYPES:
            self._send(415, _status(415, "UnsupportedMediaType", UNSUPPORTED_PATCH))
            return
        if content_type not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
            self._send(500, _status(500, "InternalError", f"the fake API server does not model {content_type}"))
            return
        if "force" in parse_qs(query):
            self._send(422, _status(422, "Invalid", FORCE_NOT_APPLY))
            return
        patch = json.loads(body)
        self.cluster.patches.append(Patch(path, content_type, patch, self.headers.get("User-Agent", "")))
        found = self.cluster.services.get(name)
        if found is None:
            self._send(404, _status(404, "NotFound", f'services "{name}" not found'))
            return
        try:
            patched = merge_patch(found, patch, lists=content_type == MERGE_PATCH)
        except NotImplementedError as error:
            self._send(500, _status(500, "InternalError", str(error)))
            return
        if patched != found:
            version = int(found["metadata"]["resourceVersion"]) + 1
            patched["metadata"]["resourceVersion"] = str(version)
            self.cluster.services[name] = patched
        self._interrupt_on("PATCH", path)
        failure = self.cluster.failures.get(f"PATCH {path}")
        if failure is not None:  # one that comes after the write
            self._send(failure.code, _status(failure.code, failure.reason, failure.message))
            return
        self._send(200, self.cluster.services[name])

    def do_POST(self) -> None:
        """An eviction: refused while the budget allows none; else the pod goes and its ReplicaSet replaces it."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received = self._received("POST")
        if received is None:
            return
        path, _ = received
        prefix, suffix = f"/api/v1/namespaces/{NAMESPACE}/pods/", "/eviction"
        if not (path.startswith(prefix) and path.endswith(suffix)):
            self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
            return
        name = path[len(prefix) : -len(suffix)]
        found = next((p for p in self.cluster.pods if p["metadata"]["name"] == name), None)
        if found is None:
            self._send(404, _status(404, "NotFound", f'pods "{name}" not found'))
            return
        labels = found["metadata"]["labels"]
        # The color's budget (maxUnavailable 1): no eviction while one of its pods is not Ready.
        starting = [p for p in self.cluster.pods if p["metadata"]["labels"] == labels and not _pod_ready(p)]
        if self.cluster.refuse_evictions > 0 or starting:
            self.cluster.refuse_evictions = max(self.cluster.refuse_evictions - 1, 0)
            self._send(429, _status(429, "TooManyRequests", DISRUPTION_BUDGET))
            return
        self.cluster.pods.remove(found)
        index = max(int(p["metadata"]["name"].rsplit("-", 1)[1]) for p in [found, *self.cluster.pods]) + 1
        replacement = pod(labels["color"], index, app=labels["app"], ready=False)
        self.cluster.pods.append(replacement)
        self.cluster.warming[replacement["metadata"]["name"]] = REPLACEMENT_READY_AFTER
        self._send(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})

    def do_GET(self) -> None:
        received = self._received("GET")
        if received is None:
            return
        path, query = received
        self._interrupt_on("GET", path)
        services = f"/api/v1/namespaces/{NAMESPACE}/services/"
        pods = f"/api/v1/namespaces/{NAMESPACE}/pods"
        if path.startswith(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/"):
            name = path.rsplit("/", 1)[1]
            found = self.cluster.deployments.get(name)
            if found is None:
                self._send(404, _status(404, "NotFound", f'deployments.apps "{name}" not found'))
            else:
                self._send(200, found)
        elif path.startswith(services) and "/proxy" in path:
            self._service_proxy(path[len(services) :])
        elif path.startswith(services):
            name = path[len(services) :]
            found = self.cluster.services.get(name)
            if found is None:
                self._send(404, _status(404, "NotFound", f'services "{name}" not found'))
            else:
                self._send(200, found)
        elif path == f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices":
            wanted = parse_qs(query).get("labelSelector", [""])[0]
            self._send(200, _endpoint_slices(self.cluster, wanted.partition("=")[2]))
        elif path == pods:
            wanted = parse_qs(query).get("labelSelector", [""])[0]
            items = [p for p in self.cluster.pods if _matches(p["metadata"]["labels"], wanted)]
            self._send(
                200, {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "9001"}, "items": items}
            )
        elif path.startswith(f"{pods}/") and "/proxy" in path:
            key = path[len(pods) + 1 :]
            name = key.partition("/")[0].partition(":")[0]
            answer = self.cluster.proxy.get(key)
            if not any(p["metadata"]["name"] == name for p in self.cluster.pods):
                self._send(404, _status(404, "NotFound", f'pods "{name}" not found'))
            elif answer is None:
                # What the API server answers when nothing listens on the pod's port.
                self._send(503, _status(503, "ServiceUnavailable", "error trying to reach service: connection refused"))
            else:
                self._send(answer[0], answer[1], answer[2] if len(answer) == 3 else "text/plain; charset=utf-8")
        else:
            self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))

    def _service_proxy(self, key: str) -> None:
        """`<service>:<port name>/proxy<path>`: one of the Service's Ready pods answers, in turn, as the API server's
        service proxy picks one of its ready endpoints; none is a 503, as there."""
        name, _, rest = key.partition("/proxy")
        service = self.cluster.services.get(name.partition(":")[0])
        selector = ",".join(f"{k}={v}" for k, v in ((service or {}).get("spec", {}).get("selector") or {}).items())
        ready = sorted(
            (
                p["metadata"]["name"]
                for p in self.cluster.pods
                if _matches(p["metadata"]["labels"], selector) and _pod_ready(p)
            ),
        )
        if service is None or not ready:
            message = f'no endpoints available for service "{name.partition(":")[0]}"'
            self._send(503, _status(503, "ServiceUnavailable", message))
            return
        chosen = ready[self.cluster.proxied % len(ready)]
        self.cluster.proxied += 1
        answer = self.cluster.proxy.get(f"{chosen}:5678/proxy{rest or '/'}")
        if answer is None:
            self._send(503, _status(503, "ServiceUnavailable", "error trying to reach service: connection refused"))
        else:
            self._send(answer[0], answer[1], answer[2] if len(answer) == 3 else "text/plain; charset=utf-8")


def _endpoint_slices(cluster: Cluster, service: str) -> dict[str, Any]:
    """The Service's EndpointSlices as the EndpointSlice controller writes them: one slice, one endpoint per pod
    its selector matches, `ready` from the pod's Ready condition (a terminating pod is never ready)."""
    found = cluster.services.get(service)
    selector = ",".join(f"{k}={v}" for k, v in ((found or {}).get("spec", {}).get("selector") or {}).items())
    stale = cluster.stale_endpoints.get(service)
    if stale is not None and stale[0] > 0:
        cluster.stale_endpoints[service] = (stale[0] - 1, stale[1])
        listed = [p for p in cluster.pods if p["metadata"]["name"] in stale[1]]
    else:
        listed = [p for p in cluster.pods if found is not None and _matches(p["metadata"]["labels"], selector)]
    endpoints = []
    for item in listed:
        ready = _pod_ready(item)
        endpoints.append(
            {
                "addresses": [item["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "targetRef": {
                    "kind": "Pod",
                    "namespace": NAMESPACE,
                    "name": item["metadata"]["name"],
                    "uid": item["metadata"]["uid"],
                },
                "nodeName": "kind-control-plane",
            }
        )
    slices = [
        {
            "metadata": {
                "name": f"{service}-x7k2p",
                "generateName": f"{service}-",
                "namespace": NAMESPACE,
                "labels": {
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
                "resourceVersion": "7001",
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": "http", "port": 5678, "protocol": "TCP"}],
        }
    ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSliceList",
        "metadata": {"resourceVersion": "7002"},
        "items": slices if found is not None else [],
    }


DISRUPTION_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget."
REPLACEMENT_READY_AFTER = 3
"""Requests to the fake after which an evicted pod's replacement is Ready."""


def _pod_ready(item: dict[str, Any]) -> bool:
    return "deletionTimestamp" not in item["metadata"] and any(
        c["type"] == "Ready" and c["status"] == "True" for c in item["status"]["conditions"]
    )


@dataclass
class FakeKubeApi:
    cluster: Cluster
    url: str


def serve(cluster: Cluster) -> Generator[FakeKubeApi, None, None]:
    """Serve `cluster` on 127.0.0.1 (a free port) until the generator is closed."""
    handler = type("Handler", (_Handler,), {"cluster": cluster})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FakeKubeApi(cluster, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def kubeconfig(
    server: str, *, context: str = "kind-bluegreen", current: str | None = None, extra_server: str | None = None
) -> str:
    """A kubeconfig with a token user; `extra_server` adds a second context ("other") that points elsewhere."""
    clusters = [{"name": context, "cluster": {"server": server}}]
    contexts = [{"name": context, "context": {"cluster": context, "user": "gate", "namespace": NAMESPACE}}]
    if extra_server is not None:
        clusters.append({"name": "other", "cluster": {"server": extra_server}})
        contexts.append({"name": "other", "context": {"cluster": "other", "user": "gate"}})
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "contexts": contexts,
        "users": [{"name": "gate", "user": {"token": TOKEN}}],
        "current-context": current or context,
        "preferences": {},
    }
    return json.dumps(document)
