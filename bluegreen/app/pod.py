"""The pod template one color runs: probes, resources and the restricted Pod Security Standard."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from bluegreen import naming
from bluegreen.config import grammar
from bluegreen.config.model import AppSettings
from bluegreen.naming import Color

# Pods are given numeric user IDs (AppSettings.run_as_user), because the kubelet checks
# `runAsNonRoot` against the image's USER, and an image that runs as root, or as a user *name*,
# never starts without one.
PRE_STOP_SLEEP_SECONDS: Final = 5
"""A stopping pod keeps serving this long, while endpoint removal reaches every node's kube-proxy."""
MIN_READY_SECONDS: Final = 10
"""A new pod must stay ready this long before it counts as available."""
TERMINATION_GRACE_SECONDS: Final = 30
PROGRESS_DEADLINE_SECONDS: Final = 300
READINESS_PERIOD_SECONDS: Final = 5
LIVENESS_PERIOD_SECONDS: Final = 10
LIVENESS_INITIAL_DELAY_SECONDS: Final = 10
TMP_VOLUME: Final = "tmp"
WRITABLE_VOLUME: Final = "writable-{index}"
PORT_NAME: Final = "http"


def pod_security_context(uid: int) -> k8s.core.v1.PodSecurityContextArgsDict:
    return {
        "run_as_non_root": True,
        "run_as_user": uid,
        "run_as_group": uid,
        "fs_group": uid,
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int) -> k8s.core.v1.SecurityContextArgsDict:
    return {
        "allow_privilege_escalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "read_only_root_filesystem": True,
        "run_as_non_root": True,
        "run_as_user": uid,
        "run_as_group": uid,
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def readiness_probe(path: str) -> k8s.core.v1.ProbeArgsDict:
    return {
        "http_get": {"path": path, "port": PORT_NAME},
        "period_seconds": READINESS_PERIOD_SECONDS,
        "failure_threshold": 3,
    }


def liveness_probe() -> k8s.core.v1.ProbeArgsDict:
    # Readiness decides traffic, so it asks the app over HTTP; liveness only restarts a pod that
    # stopped accepting connections, so a slow dependency never restarts every pod at once.
    return {
        "tcp_socket": {"port": PORT_NAME},
        "initial_delay_seconds": LIVENESS_INITIAL_DELAY_SECONDS,
        "period_seconds": LIVENESS_PERIOD_SECONDS,
        "failure_threshold": 3,
    }


def lifecycle() -> k8s.core.v1.LifecycleArgsDict:
    return {"pre_stop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}}


def resources(cpu: tuple[str, str], memory: tuple[str, str]) -> k8s.core.v1.ResourceRequirementsArgsDict:
    """Requests and limits of one container, from (request, limit) pairs."""
    return {"requests": {"cpu": cpu[0], "memory": memory[0]}, "limits": {"cpu": cpu[1], "memory": memory[1]}}


def writable_volumes(
    size: str, paths: tuple[str, ...] = ()
) -> tuple[list[k8s.core.v1.VolumeArgsDict], list[k8s.core.v1.VolumeMountArgsDict]]:
    """/tmp and each of `paths`, an empty directory of `size`: the only places a container may write, as its
    root filesystem is read-only."""
    named = [(TMP_VOLUME, "/tmp"), *((WRITABLE_VOLUME.format(index=i), path) for i, path in enumerate(paths))]
    volumes: list[k8s.core.v1.VolumeArgsDict] = [{"name": name, "empty_dir": {"size_limit": size}} for name, _ in named]
    mounts: list[k8s.core.v1.VolumeMountArgsDict] = [{"name": name, "mount_path": path} for name, path in named]
    return volumes, mounts


def _args(app: AppSettings, color: Color) -> list[str]:
    values = {"color": color, "version": app.color(color).version, "port": str(app.container_port)}
    return [grammar.fill_placeholders(arg, values) for arg in app.args]


def env(app: AppSettings, secret_name: pulumi.Input[str] | None) -> list[k8s.core.v1.EnvVarArgsDict]:
    """Plain values, or, when `env` is secret, references to the Secret that holds them."""
    if secret_name is None:
        return [{"name": k, "value": v} for k, v in app.env]
    return [{"name": k, "value_from": {"secret_key_ref": {"name": secret_name, "key": k}}} for k, _ in app.env]


def container(
    app: AppSettings, color: Color, env_secret: pulumi.Input[str] | None = None
) -> k8s.core.v1.ContainerArgsDict:
    return {
        "name": app.name,
        "image": app.color(color).image,
        "ports": [{"name": PORT_NAME, "container_port": app.container_port, "protocol": "TCP"}],
        "readiness_probe": readiness_probe(app.readiness_path),
        "liveness_probe": liveness_probe(),
        "resources": resources((app.cpu_request, app.cpu_limit), (app.memory_request, app.memory_limit)),
        "security_context": container_security_context(app.run_as_user),
        # Needs Kubernetes 1.30+; the image needs no `sleep` binary (http-echo has none).
        "lifecycle": lifecycle(),
        "volume_mounts": writable_volumes(app.tmp_size, app.writable_paths)[1],
        **({"args": _args(app, color)} if app.args else {}),
        **({"env": env(app, env_secret)} if app.env else {}),
    }


def pod_template(
    app: AppSettings, color: Color, env_secret: pulumi.Input[str] | None = None
) -> k8s.core.v1.PodTemplateSpecArgsDict:
    return {
        "metadata": {"labels": naming.pod_labels(app.name, color, app.color(color).version)},
        "spec": {
            "service_account_name": naming.service_account_name(app.name),
            "automount_service_account_token": False,
            "security_context": pod_security_context(app.run_as_user),
            "termination_grace_period_seconds": TERMINATION_GRACE_SECONDS,
            "containers": [container(app, color, env_secret)],
            "volumes": writable_volumes(app.tmp_size, app.writable_paths)[0],
        },
    }


def rolling_deployment_spec(
    replicas: int,
    labels: Mapping[str, str],
    template: k8s.core.v1.PodTemplateSpecArgsDict,
    progress_deadline_seconds: int | None = None,
) -> k8s.apps.v1.DeploymentSpecArgsDict:
    """A Deployment of `replicas` pods selected by `labels`, rolled out without ever going below that count."""
    deadline: k8s.apps.v1.DeploymentSpecArgsDict = (
        {"progress_deadline_seconds": progress_deadline_seconds} if progress_deadline_seconds is not None else {}
    )
    return {
        "replicas": replicas,
        "selector": {"match_labels": dict(labels)},
        "min_ready_seconds": MIN_READY_SECONDS,
        **deadline,
        # Never below the desired count during a rollout: a new pod is ready before an old one goes.
        "strategy": {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": 1}},
        "template": template,
    }


def deployment_spec(
    app: AppSettings, color: Color, env_secret: pulumi.Input[str] | None = None
) -> k8s.apps.v1.DeploymentSpecArgsDict:
    """One color's Deployment. `env_secret`: the name of the Secret holding the env values, when they are secret."""
    return rolling_deployment_spec(
        app.replicas(color),
        naming.selector(app.name, color),
        pod_template(app, color, env_secret),
        PROGRESS_DEADLINE_SECONDS,
    )
