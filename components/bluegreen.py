"""`BlueGreenApp`: one app as a blue and a green Deployment behind a Service that selects one color.

Cutover is one change, `active_color`, which moves both Services' selectors. Dependency edges make
its order safe whatever the engine runs in parallel:

    target Deployment rolled out and Available -> active Service selector -> idle Deployment scaled

so traffic never moves before the target color is ready, and the old color never shrinks before
traffic has left it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from components import grammar, naming, pod
from components.naming import COLORS, Color
from components.scale_down import scale_down_hook
from components.settings import AppSettings

PDB_MAX_UNAVAILABLE: Final = 1
"""Voluntary disruptions (drains) take at most one pod of a color at a time."""


@dataclass(frozen=True)
class BlueGreenAppArgs:
    app: AppSettings
    """The app: its name, both colors and the active color."""
    namespace: str
    """The namespace every child lives in; it must exist, or be created by `wait_for`."""
    wait_for: Sequence[pulumi.Resource] = field(default=())
    """Resources every child depends on, such as the Namespace the program creates."""
    before_switch: Sequence[pulumi.ResourceHook] = field(default=())
    """`before_update` hooks on the active Service: a failing one stops a cutover before it moves traffic."""
    clients: Sequence[str] = field(default=())
    """`app` labels of the pods allowed to connect; when set, a NetworkPolicy denies every other ingress."""
    api_server_cidrs: Sequence[str] = field(default=())
    """Also admitted when the app has a smoke path: the API server's proxy, which runs the pre-switch check."""


def _check(args: BlueGreenAppArgs) -> None:
    """Reject arguments that would create a broken or unroutable app, naming the argument."""
    app = args.app
    problems = []
    if (why := grammar.dns1035_label(app.name, naming.MAX_APP_NAME_LENGTH)) is not None:
        problems.append(f"app.name {app.name!r} {why}")
    if (why := grammar.dns1123_label(args.namespace)) is not None:
        problems.append(f"namespace {args.namespace!r} {why}")
    if app.active_color not in COLORS:
        problems.append(f"app.active_color {app.active_color!r} is not 'blue' or 'green'")
    for color in COLORS:
        spec = app.color(color)
        if (why := grammar.image_reference(spec.image)) is not None:
            problems.append(f"app.{color}.image {spec.image!r} {why}")
        if (why := grammar.label_value(spec.version)) is not None:
            problems.append(f"app.{color}.version {spec.version!r} {why}")
        if spec.replicas < 0:
            problems.append(f"app.{color}.replicas {spec.replicas} is negative")
    for name, port in (("container_port", app.container_port), ("service_port", app.service_port)):
        if not 1 <= port <= 65535:
            problems.append(f"app.{name} {port} is outside 1..65535")
    if app.idle_replicas is not None and not 0 <= app.idle_replicas <= app.color(app.idle_color).replicas:
        problems.append(f"app.idle_replicas {app.idle_replicas} is outside 0..{app.color(app.idle_color).replicas}")
    if problems:
        raise ValueError("BlueGreenApp: " + "; ".join(problems))


def _network_policy_spec(args: BlueGreenAppArgs) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """Ingress to both colors (selected by `app` alone) only from the clients, on the container port."""
    ports: list[k8s.networking.v1.NetworkPolicyPortArgsDict] = [{"port": args.app.container_port, "protocol": "TCP"}]
    rules: list[k8s.networking.v1.NetworkPolicyIngressRuleArgsDict] = [
        {"from_": [{"pod_selector": {"match_labels": naming.app_selector(c)}} for c in args.clients], "ports": ports}
    ]
    if args.app.smoke_path and args.api_server_cidrs:
        rules.append({"from_": [{"ip_block": {"cidr": cidr}} for cidr in args.api_server_cidrs], "ports": ports})
    return {
        "pod_selector": {"match_labels": naming.app_selector(args.app.name)},
        "policy_types": ["Ingress"],
        "ingress": rules,
    }


class BlueGreenApp(pulumi.ComponentResource):
    active_color: Color
    idle_color: Color
    service_name: str
    service_dns: str
    preview_service_name: str
    cluster_ip: pulumi.Output[str]
    deployments: dict[Color, k8s.apps.v1.Deployment]
    service: k8s.core.v1.Service
    preview_service: k8s.core.v1.Service

    def __init__(self, name: str, args: BlueGreenAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(args)
        super().__init__(naming.COMPONENT_TYPE, name, None, opts)
        app, namespace = args.app, args.namespace
        active, idle = app.active_color, app.idle_color
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for))

        def metadata(resource_name: str, annotations: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgsDict:
            meta: k8s.meta.v1.ObjectMetaArgsDict = {
                "name": resource_name,
                "namespace": namespace,
                "labels": {naming.APP_LABEL: app.name},
            }
            if annotations:
                meta["annotations"] = annotations
            return meta

        account = k8s.core.v1.ServiceAccount(
            naming.service_account_name(app.name),
            metadata=metadata(naming.service_account_name(app.name)),
            automount_service_account_token=False,
            opts=child,
        )

        # Secret env values live in a Secret the pods read, so no Deployment ever holds one. It is
        # auto-named: a changed value replaces it under a new name, which rolls both colors' pods.
        env_secret: k8s.core.v1.Secret | None = None
        if app.env and app.env_secret:
            env_secret = k8s.core.v1.Secret(
                naming.env_secret_name(app.name),
                metadata={"namespace": namespace, "labels": {naming.APP_LABEL: app.name}},
                type="Opaque",
                string_data=pulumi.Output.secret(dict(app.env)),
                opts=child,
            )
        secret_name = env_secret.metadata.apply(lambda m: m.name or "") if env_secret else None

        # Only a cutover with idleReplicas shrinks a color right after traffic leaves it.
        delay = (
            pulumi.ResourceHookBinding(before_update=[scale_down_hook(app.name, app.scale_down_delay_seconds)])
            if app.idle_replicas is not None and app.scale_down_delay_seconds > 0
            else None
        )

        def deployment(color: Color, depends_on: Sequence[pulumi.Resource]) -> k8s.apps.v1.Deployment:
            return k8s.apps.v1.Deployment(
                naming.deployment_name(app.name, color),
                metadata=metadata(naming.deployment_name(app.name, color)),
                spec=pod.deployment_spec(app, color, secret_name),
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=[account, *([env_secret] if env_secret else []), *depends_on], hooks=delay
                    ),
                ),
            )

        def service_spec(color: Color, service_type: str) -> k8s.core.v1.ServiceSpecArgsDict:
            return {
                "type": service_type,
                "selector": naming.selector(app.name, color),
                "ports": [
                    {"name": pod.PORT_NAME, "port": app.service_port, "target_port": pod.PORT_NAME, "protocol": "TCP"}
                ],
            }

        active_deployment = deployment(active, [])
        # Explicit name, no clusterIP and `protect`: the DNS name and ClusterIP outlive every cutover.
        # It waits for the target color's rollout, and the optional gate runs before its selector moves.
        service = k8s.core.v1.Service(
            naming.service_name(app.name),
            metadata=metadata(naming.service_name(app.name)),
            spec=service_spec(active, app.service_type),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    protect=True,
                    depends_on=[active_deployment],
                    hooks=pulumi.ResourceHookBinding(before_update=list(args.before_switch))
                    if args.before_switch
                    else None,
                ),
            ),
        )
        # The old color shrinks (to idleReplicas) only after traffic has left it.
        idle_deployment = deployment(idle, [service])
        # The preview Service selects the idle color, which may have no pods (idleReplicas: 0), and
        # no traffic depends on it: it alone skips the engine's wait for ready endpoints.
        preview = k8s.core.v1.Service(
            naming.preview_service_name(app.name),
            metadata=metadata(naming.preview_service_name(app.name), {naming.SKIP_AWAIT_ANNOTATION: "true"}),
            spec=service_spec(idle, "ClusterIP"),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[idle_deployment])),
        )
        for color in COLORS:
            k8s.policy.v1.PodDisruptionBudget(
                naming.pdb_name(app.name, color),
                metadata=metadata(naming.pdb_name(app.name, color)),
                spec={
                    "max_unavailable": PDB_MAX_UNAVAILABLE,
                    "selector": {"match_labels": naming.selector(app.name, color)},
                },
                opts=child,
            )

        if args.clients:
            self.network_policy: k8s.networking.v1.NetworkPolicy | None = k8s.networking.v1.NetworkPolicy(
                naming.network_policy_name(app.name),
                metadata=metadata(naming.network_policy_name(app.name)),
                spec=_network_policy_spec(args),
                opts=child,
            )
        else:
            self.network_policy = None

        self._app = app
        self.active_color, self.idle_color = active, idle
        self.deployments = {active: active_deployment, idle: idle_deployment}
        self.service, self.preview_service = service, preview
        self.service_name = naming.service_name(app.name)
        self.service_dns = naming.service_dns_name(app.name, namespace)
        self.preview_service_name = naming.preview_service_name(app.name)
        self.cluster_ip = service.spec.apply(lambda spec: spec.cluster_ip or "")
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, object]:
        """The component's outputs under the names the program exports."""
        app_outputs: dict[str, object] = {
            "activeColor": self.active_color,
            "idleColor": self.idle_color,
            "serviceName": self.service_name,
            "serviceDns": self.service_dns,
            "clusterIp": self.cluster_ip,
            "previewServiceName": self.preview_service_name,
        }
        for color in COLORS:
            app_outputs[f"{color}Image"] = self._app.color(color).image
            app_outputs[f"{color}Version"] = self._app.color(color).version
            app_outputs[f"{color}Replicas"] = self._app.replicas(color)
        return app_outputs
