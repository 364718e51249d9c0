"""`Frontend`: an nginx proxy that reaches a blue/green app only through its Service's stable DNS name.

It never learns a Pod IP or a color: a cutover changes which pods answer behind the name, and
nothing here changes with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from bluegreen import naming
from bluegreen.app import pod
from bluegreen.config.model import FrontendSettings

# nginxinc/nginx-unprivileged runs as UID 101, listens on 8080 and writes its pid and temp files
# under /tmp (an emptyDir here); its config directory is replaced by the ConfigMap below.
NGINX_UID: Final = 101
NGINX_PORT: Final = 8080
SERVICE_PORT: Final = 80
HEALTH_PATH: Final = "/healthz"
CONFIG_FILE: Final = "default.conf"
CONFIG_DIGEST_ANNOTATION: Final = "bluegreen/config-sha256"
# nginx needs little: the same requests, limits and /tmp size an app gets by default.
CPU: Final = ("50m", "250m")
MEMORY: Final = ("32Mi", "64Mi")
TMP_SIZE: Final = "64Mi"


def nginx_config(upstream: str) -> str:
    """The server block: its own health endpoint, everything else proxied to `upstream`."""
    return f"""server {{
    listen {NGINX_PORT};
    location = {HEALTH_PATH} {{
        access_log off;
        return 200 "ok\\n";
    }}
    location / {{
        proxy_pass {upstream};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_connect_timeout 2s;
    }}
}}
"""


@dataclass(frozen=True)
class FrontendArgs:
    frontend: FrontendSettings
    namespace: str
    backend_url: str
    """Where `/` is proxied: the backend Service's DNS name and port, never a Pod IP."""
    wait_for: Sequence[pulumi.Resource] = field(default=())
    """The backend (its Service must resolve before nginx starts) and the namespace."""


class Frontend(pulumi.ComponentResource):
    service_name: str

    def __init__(self, name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(naming.FRONTEND_COMPONENT_TYPE, name, None, opts)
        settings, namespace = args.frontend, args.namespace
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for))
        labels = naming.app_selector(settings.name)

        def metadata(resource_name: str) -> k8s.meta.v1.ObjectMetaArgsDict:
            return {"name": resource_name, "namespace": namespace, "labels": labels}

        rendered = nginx_config(args.backend_url)
        config_digest = hashlib.sha256(rendered.encode()).hexdigest()
        config = k8s.core.v1.ConfigMap(
            settings.name,
            metadata=metadata(settings.name),
            data={CONFIG_FILE: rendered},
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            settings.name, metadata=metadata(settings.name), automount_service_account_token=False, opts=child
        )
        (tmp,), (tmp_mount,) = pod.writable_volumes(TMP_SIZE)
        container: k8s.core.v1.ContainerArgsDict = {
            "name": "nginx",
            "image": settings.image,
            "ports": [{"name": pod.PORT_NAME, "container_port": NGINX_PORT, "protocol": "TCP"}],
            "readiness_probe": pod.readiness_probe(HEALTH_PATH),
            "liveness_probe": pod.liveness_probe(),
            "resources": pod.resources(CPU, MEMORY),
            "security_context": pod.container_security_context(NGINX_UID),
            "lifecycle": pod.lifecycle(),
            "volume_mounts": [tmp_mount, {"name": "config", "mount_path": "/etc/nginx/conf.d", "read_only": True}],
        }
        deployment = k8s.apps.v1.Deployment(
            settings.name,
            metadata=metadata(settings.name),
            spec=pod.rolling_deployment_spec(
                settings.replicas,
                labels,
                {
                    # nginx reads its config once: a digest of it in the template rolls the pods on any change.
                    "metadata": {"labels": labels, "annotations": {CONFIG_DIGEST_ANNOTATION: config_digest}},
                    "spec": {
                        "service_account_name": settings.name,
                        "automount_service_account_token": False,
                        "security_context": pod.pod_security_context(NGINX_UID),
                        "termination_grace_period_seconds": pod.TERMINATION_GRACE_SECONDS,
                        "containers": [container],
                        "volumes": [tmp, {"name": "config", "config_map": {"name": settings.name}}],
                    },
                },
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[config, account])),
        )
        k8s.core.v1.Service(
            settings.name,
            metadata=metadata(settings.name),
            spec={
                "selector": labels,
                "ports": [
                    {"name": pod.PORT_NAME, "port": SERVICE_PORT, "target_port": pod.PORT_NAME, "protocol": "TCP"}
                ],
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment])),
        )
        self.service_name = settings.name
        self.register_outputs({"serviceName": self.service_name, "upstream": args.backend_url})
