"""The resource graph the program registers for N apps, written out with none of the program's code.

Per app: the component, its seven Kubernetes objects with the inputs, parents, dependencies, `protect`
and hooks the program gives them, the component's twelve outputs, and the export of every app's
outputs. What the SDK costs for this graph is the SDK's part of an evaluation; the program's part is
the rest. A test keeps it equal to what the program registers (tests/harness/test_bench_shape.py).
"""

from __future__ import annotations

from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

NAMESPACE: Final = "bluegreen-dev"
IMAGE: Final = "hashicorp/http-echo:1.0.0"
VERSIONS: Final = {"blue": "1.1", "green": "1.2"}
UID: Final = 65532


def _metadata(name: str, app: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": NAMESPACE,
        "labels": {"app": app},
        **({"annotations": annotations} if annotations else {}),
    }


def _deployment_spec(app: str, color: str) -> dict[str, Any]:
    version = VERSIONS[color]
    restricted = {"run_as_non_root": True, "run_as_user": UID, "run_as_group": UID}
    return {
        "replicas": 2,
        "selector": {"match_labels": {"app": app, "color": color}},
        "min_ready_seconds": 10,
        "progress_deadline_seconds": 300,
        "strategy": {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": 1}},
        "template": {
            "metadata": {
                "labels": {
                    "app": app,
                    "color": color,
                    "version": version,
                    "app.kubernetes.io/name": app,
                    "app.kubernetes.io/version": version,
                    "app.kubernetes.io/managed-by": "pulumi",
                }
            },
            "spec": {
                "service_account_name": app,
                "automount_service_account_token": False,
                "security_context": {**restricted, "fs_group": UID, "seccomp_profile": {"type": "RuntimeDefault"}},
                "termination_grace_period_seconds": 30,
                "containers": [
                    {
                        "name": app,
                        "image": IMAGE,
                        "ports": [{"name": "http", "container_port": 8080, "protocol": "TCP"}],
                        "readiness_probe": {
                            "http_get": {"path": "/", "port": "http"},
                            "period_seconds": 5,
                            "failure_threshold": 3,
                        },
                        "liveness_probe": {
                            "tcp_socket": {"port": "http"},
                            "initial_delay_seconds": 10,
                            "period_seconds": 10,
                            "failure_threshold": 3,
                        },
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "32Mi"},
                            "limits": {"cpu": "250m", "memory": "64Mi"},
                        },
                        "security_context": {
                            **restricted,
                            "allow_privilege_escalation": False,
                            "capabilities": {"drop": ["ALL"]},
                            "privileged": False,
                            "read_only_root_filesystem": True,
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        "lifecycle": {"pre_stop": {"sleep": {"seconds": 5}}},
                        "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
                    }
                ],
                "volumes": [{"name": "tmp", "empty_dir": {"size_limit": "64Mi"}}],
            },
        },
    }


def _service_spec(app: str, color: str) -> dict[str, Any]:
    return {
        "type": "ClusterIP",
        "selector": {"app": app, "color": color},
        "ports": [{"name": "http", "port": 80, "target_port": "http", "protocol": "TCP"}],
    }


async def _no_op(args: pulumi.ResourceHookArgs) -> None:
    return None


def _app(app: str, namespace: k8s.core.v1.Namespace) -> dict[str, pulumi.Output[Any]]:
    """One app's component and children, in the program's order; returns the component's outputs."""
    component = pulumi.ComponentResource(
        "bluegreen:index:BlueGreenApp", app, None, pulumi.ResourceOptions(depends_on=[namespace])
    )
    child = pulumi.ResourceOptions(parent=component, depends_on=[namespace])

    def after(*resources: pulumi.Resource, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(resources), **options))

    account = k8s.core.v1.ServiceAccount(
        app, metadata=_metadata(app, app), automount_service_account_token=False, opts=child
    )
    force = {"pulumi.com/patchForce": "true"}
    blue = k8s.apps.v1.Deployment(
        f"{app}-blue",
        metadata=_metadata(f"{app}-blue", app, force),
        spec=_deployment_spec(app, "blue"),
        opts=after(account),
    )
    hooks = pulumi.ResourceHookBinding(
        before_update=[pulumi.ResourceHook(f"{app}-pre-switch-gate", _no_op)],
        after_update=[pulumi.ResourceHook(f"{app}-after-switch", _no_op)],
    )
    service = k8s.core.v1.Service(
        app,
        metadata=_metadata(app, app, {"pulumi.com/skipAwait": "true", **force}),
        spec=_service_spec(app, "blue"),
        opts=after(blue, protect=True, hooks=hooks),
    )
    green = k8s.apps.v1.Deployment(
        f"{app}-green",
        metadata=_metadata(f"{app}-green", app, force),
        spec=_deployment_spec(app, "green"),
        opts=after(account, service),
    )
    k8s.core.v1.Service(
        f"{app}-preview",
        metadata=_metadata(f"{app}-preview", app, {"pulumi.com/skipAwait": "true"}),
        spec=_service_spec(app, "green"),
        opts=after(green),
    )
    for color in VERSIONS:
        k8s.policy.v1.PodDisruptionBudget(
            f"{app}-{color}",
            metadata=_metadata(f"{app}-{color}", app),
            spec={"max_unavailable": 1, "selector": {"match_labels": {"app": app, "color": color}}},
            opts=child,
        )
    plain: dict[str, Any] = {
        "activeColor": "blue",
        "idleColor": "green",
        "serviceName": app,
        "serviceDns": f"{app}.{NAMESPACE}.svc.cluster.local",
        "previewServiceName": f"{app}-preview",
        "blueImage": IMAGE,
        "blueVersion": VERSIONS["blue"],
        "blueReplicas": 2,
        "greenImage": IMAGE,
        "greenVersion": VERSIONS["green"],
        "greenReplicas": 2,
    }
    outputs = {key: pulumi.Output.from_input(value) for key, value in plain.items()}
    outputs["clusterIp"] = service.spec.apply(lambda spec: spec.cluster_ip or "")
    component.register_outputs(outputs)
    return outputs


def register(apps: int) -> None:
    """Register `apps` apps' graph and export their outputs, as the program would (inside a Pulumi program)."""
    namespace = k8s.core.v1.Namespace(
        NAMESPACE,
        metadata={
            "name": NAMESPACE,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
        opts=pulumi.ResourceOptions(protect=True),
    )
    outputs = {f"app{i}": _app(f"app{i}", namespace) for i in range(apps)}
    pulumi.export("namespace", NAMESPACE)
    pulumi.export("apps", outputs)
    if apps == 1:
        for key, value in outputs["app0"].items():
            pulumi.export(key, value)
