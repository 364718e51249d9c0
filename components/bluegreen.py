"""`BlueGreenApp`: one app as a blue and a green Deployment behind a Service that selects one color.

Cutover is one change, `active_color`, which moves both Services' selectors. Dependency edges make
its order safe whatever the engine runs in parallel:

    target Deployment rolled out and Available -> active Service selector -> idle Deployment scaled

so traffic never moves before the target color is ready, and the old color never shrinks before
traffic has left it.
"""

from collections.abc import Sequence
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from components import arguments, naming, pod
from components.component_args import BlueGreenAppArgs
from components.gate import pre_switch_hook
from components.naming import COLORS, Color
from components.scale_down import scale_down_hook

PDB_MAX_UNAVAILABLE: Final = 1
"""Voluntary disruptions (drains) take at most one pod of a color at a time."""


def _network_policy_spec(args: arguments.Parsed) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
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


def _depends_on(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """What the caller made the component depend on, such as the Namespace: every child waits for it too."""
    found = opts.depends_on if opts is not None else None
    if isinstance(found, pulumi.Resource):
        return [found]
    return [r for r in found if isinstance(r, pulumi.Resource)] if isinstance(found, Sequence) else []


class BlueGreenApp(pulumi.ComponentResource):
    """A blue and a green Deployment of one app behind a Service that selects one: activeColor is the cutover."""

    # The target color is rolled out and Available before the selector moves, an optional gate checks
    # it in the cluster first, and the old color shrinks (with idleReplicas) only after traffic left.
    # The class docstring and the annotated outputs below are the package schema's (provider/).

    active_color: pulumi.Output[str]
    """The color the Service sends traffic to."""
    idle_color: pulumi.Output[str]
    """The color that gets no traffic; the preview Service selects it."""
    service_name: pulumi.Output[str]
    """The active Service's name; its DNS name and ClusterIP outlive every cutover."""
    service_dns: pulumi.Output[str]
    """The active Service's DNS name inside the cluster."""
    cluster_ip: pulumi.Output[str]
    """The active Service's ClusterIP."""
    preview_service_name: pulumi.Output[str]
    """The preview Service's name: it selects the idle color, for checks before a cutover."""
    blue_image: pulumi.Output[str]
    """The image blue runs."""
    blue_version: pulumi.Output[str]
    """The version blue runs."""
    blue_replicas: pulumi.Output[int]
    """Blue's replica count in this stack."""
    green_image: pulumi.Output[str]
    """The image green runs."""
    green_version: pulumi.Output[str]
    """The version green runs."""
    green_replicas: pulumi.Output[int]
    """Green's replica count in this stack."""

    def __init__(self, name: str, args: BlueGreenAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        parsed = arguments.parse(name, args)
        super().__init__(naming.COMPONENT_TYPE, name, None, opts)
        app, namespace = parsed.app, parsed.namespace
        active, idle = app.active_color, app.idle_color
        child = pulumi.ResourceOptions(parent=self, depends_on=_depends_on(opts))
        # Checks the target color in the cluster before the selector moves; off for runners without API access.
        before_switch: list[pulumi.ResourceHook | pulumi.ResourceHookFunction] = (
            [pre_switch_hook(app, namespace)] if parsed.pre_switch_gate else []
        )

        def metadata(resource_name: str, annotations: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgsDict:
            return {
                "name": resource_name,
                "namespace": namespace,
                "labels": {naming.APP_LABEL: app.name},
                **({"annotations": annotations} if annotations else {}),
            }

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
                string_data=pulumi.Output.secret(dict(parsed.env_values)),
                opts=child,
            )
        secret_name = env_secret.metadata.apply(lambda m: m.name or "") if env_secret else None

        # Only a cutover with idleReplicas shrinks a color right after traffic leaves it, and the color
        # that shrinks is the idle one: the active color's own scale-downs never wait.
        delay = (
            pulumi.ResourceHookBinding(before_update=[scale_down_hook(app.name, app.scale_down_delay_seconds)])
            if app.idle_replicas is not None and app.scale_down_delay_seconds > 0
            else None
        )

        def deployment(color: Color, depends_on: Sequence[pulumi.Resource]) -> k8s.apps.v1.Deployment:
            return k8s.apps.v1.Deployment(
                naming.deployment_name(app.name, color),
                # The stack owns each color's replica count: a manual scale must not fail the next cutover,
                # which may shrink the old color after traffic has already moved.
                metadata=metadata(naming.deployment_name(app.name, color), {naming.PATCH_FORCE_ANNOTATION: "true"}),
                spec=pod.deployment_spec(app, color, secret_name),
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=[account, *([env_secret] if env_secret else []), *depends_on],
                        hooks=delay if color == idle else None,
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
                    hooks=pulumi.ResourceHookBinding(before_update=before_switch) if before_switch else None,
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

        if parsed.clients:
            self.network_policy: k8s.networking.v1.NetworkPolicy | None = k8s.networking.v1.NetworkPolicy(
                naming.network_policy_name(app.name),
                metadata=metadata(naming.network_policy_name(app.name)),
                spec=_network_policy_spec(parsed),
                opts=child,
            )
        else:
            self.network_policy = None

        self.app = app
        self.deployments = {active: active_deployment, idle: idle_deployment}
        self.service, self.preview_service = service, preview
        self.active_color = pulumi.Output.from_input(active)
        self.idle_color = pulumi.Output.from_input(idle)
        self.service_name = pulumi.Output.from_input(naming.service_name(app.name))
        self.service_dns = pulumi.Output.from_input(naming.service_dns_name(app.name, namespace))
        self.preview_service_name = pulumi.Output.from_input(naming.preview_service_name(app.name))
        self.cluster_ip = service.spec.apply(lambda spec: spec.cluster_ip or "")
        self.blue_image, self.green_image = (pulumi.Output.from_input(app.color(c).image) for c in COLORS)
        self.blue_version, self.green_version = (pulumi.Output.from_input(app.color(c).version) for c in COLORS)
        self.blue_replicas, self.green_replicas = (pulumi.Output.from_input(app.replicas(c)) for c in COLORS)
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output[object]]:
        """The component's outputs under their schema names: what the program exports for each app."""
        return {arguments.camel(name): getattr(self, name) for name in OUTPUTS}


OUTPUTS: Final = tuple(name for name in BlueGreenApp.__annotations__ if not name.startswith("_"))
"""The component's outputs, by attribute name: every annotation of the class is one."""
