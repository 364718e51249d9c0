"""A stand-in Kubernetes API server on 127.0.0.1: it answers the paths the official client calls for the
pre-switch gate with JSON shaped like a real API server's, so the client's URLs, auth and parsing all run."""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    generation: int = 3,
    observed: int = 3,
) -> dict[str, Any]:
    labels = {"app": "backend", "color": color}
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "replicas": updated if total is None else total,
        "updatedReplicas": updated,
        "readyReplicas": available,
        "availableReplicas": available,
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


def service(name: str, color: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "resourceVersion": "815",
            "labels": {"app": "backend"},
            "uid": "6a1f2b7e-7a55-4c8e-8d0e-1b2c3d4e5f60",
            "creationTimestamp": "2025-05-01T09:00:00Z",
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.12",
            "clusterIPs": ["10.96.0.12"],
            "selector": {"app": "backend", "color": color},
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
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)  # the API server routes on the decoded path, as Go's net/http hands it over
        self.cluster.requests.append(f"GET {path}" + (f"?{unquote(url.query)}" if url.query else ""))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        services = f"/api/v1/namespaces/{NAMESPACE}/services/"
        pods = f"/api/v1/namespaces/{NAMESPACE}/pods"
        if path.startswith(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/"):
            name = path.rsplit("/", 1)[1]
            found = self.cluster.deployments.get(name)
            if found is None:
                self._send(404, _status(404, "NotFound", f'deployments.apps "{name}" not found'))
            else:
                self._send(200, found)
        elif path.startswith(services):
            name = path[len(services) :]
            found = self.cluster.services.get(name)
            if found is None:
                self._send(404, _status(404, "NotFound", f'services "{name}" not found'))
            else:
                self._send(200, found)
        elif path == pods:
            wanted = parse_qs(url.query).get("labelSelector", [""])[0]
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
