"""`BlueGreenApp`: one app as a blue and a green Deployment behind a Service that selects one color.

Cutover is one change, `active_color`, which moves both Services' selectors. Dependency edges make
its order safe whatever the engine runs in parallel:

    target Deployment rolled out and Available -> active Service selector -> idle Deployment scaled

so traffic never moves before the target color is ready, and the old color never shrinks before
traffic has left it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Self

import pulumi
import pulumi_kubernetes as k8s

from bluegreen import naming
from bluegreen.app import pod
from bluegreen.app.after_switch import after_switch_hook
from bluegreen.app.args import BlueGreenAppArgs
from bluegreen.app.gate import pre_switch_hook
from bluegreen.app.scale_down import scale_down_hook
from bluegreen.config import arguments
from bluegreen.config.model import AppSpec, KubeAccess
from bluegreen.naming import COLORS, Color

PDB_MAX_UNAVAILABLE: Final = 1
"""Voluntary disruptions (drains) take at most one pod of a color at a time."""


def _network_policy_spec(args: AppSpec) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """Ingress to both colors (selected by `app` alone) only from the clients, on the container port."""
    ports: list[k8s.networking.v1.NetworkPolicyPortArgsDict] = [{"port": args.app.container_port, "protocol": "TCP"}]
    rules: list[k8s.networking.v1.NetworkPolicyIngressRuleArgsDict] = [
        {"from_": [{"pod_selector": {"match_labels": naming.app_selector(c)}} for c in args.clients], "ports": ports}
    ]
    if (args.app.smoke_path or args.app.verify_seconds) and args.api_server_cidrs:
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
        self._build(name, arguments.parse(name, args), opts)

    @classmethod
    def from_spec(cls, name: str, spec: AppSpec, opts: pulumi.ResourceOptions | None = None) -> Self:
        """The app of an already valid spec (the stack's parsed config, the package's checked inputs)."""
        component = cls.__new__(cls)
        component._build(name, spec, opts)
        return component

    def _build(self, name: str, parsed: AppSpec, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(naming.COMPONENT_TYPE, name, None, opts)
        app = parsed.app
        build = _Builder(self, parsed, _depends_on(opts))
        # In the order of the safety argument (see the module docstring):
        identity = build.pod_identity()
        target = build.target_deployment(identity)  # 1. the target color, rolled out and Available,
        service = build.active_service(target)  # 2. then the selector (after the optional gate),
        old = build.idle_deployment(identity, service)  # 3. then the old color, shrunk once traffic left it.
        preview = build.preview_service(old)
        build.disruption_budgets()
        self.network_policy = build.network_policy()

        self.app = app
        self.deployments = {app.active_color: target, app.idle_color: old}
        self.service, self.preview_service = service, preview
        self.active_color = pulumi.Output.from_input(app.active_color)
        self.idle_color = pulumi.Output.from_input(app.idle_color)
        self.service_name = pulumi.Output.from_input(naming.service_name(app.name))
        self.service_dns = pulumi.Output.from_input(naming.service_dns_name(app.name, parsed.namespace))
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


@dataclass(frozen=True)
class _PodIdentity:
    """What both colors' pods run as and read: the ServiceAccount, and the Secret of secret env values."""

    account: k8s.core.v1.ServiceAccount
    env_secret: k8s.core.v1.Secret | None

    @property
    def resources(self) -> list[pulumi.Resource]:
        return [self.account, *([self.env_secret] if self.env_secret else [])]

    @property
    def secret_name(self) -> pulumi.Output[str] | None:
        return self.env_secret.metadata.apply(lambda m: m.name or "") if self.env_secret else None


class _Builder:
    """The component's children, one named step each; BlueGreenApp.__init__ calls them in the safe order."""

    def __init__(self, parent: pulumi.ComponentResource, parsed: AppSpec, depends_on: list[pulumi.Resource]):
        self.parsed, self.app, self.namespace = parsed, parsed.app, parsed.namespace
        self.child = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)

    def _opts(self, extra: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self.child, extra)

    def _metadata(self, name: str, annotations: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgsDict:
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": {naming.APP_LABEL: self.app.name},
            **({"annotations": annotations} if annotations else {}),
        }

    def pod_identity(self) -> _PodIdentity:
        app = self.app
        account = k8s.core.v1.ServiceAccount(
            naming.service_account_name(app.name),
            metadata=self._metadata(naming.service_account_name(app.name)),
            automount_service_account_token=False,
            opts=self.child,
        )
        # Secret env values live in a Secret the pods read, so no Deployment ever holds one. It is
        # auto-named: a changed value replaces it under a new name, which rolls both colors' pods.
        env_secret: k8s.core.v1.Secret | None = None
        if app.env and app.env_secret:
            env_secret = k8s.core.v1.Secret(
                naming.env_secret_name(app.name),
                metadata={"namespace": self.namespace, "labels": {naming.APP_LABEL: app.name}},
                type="Opaque",
                string_data=pulumi.Output.secret(dict(self.parsed.env_values)),
                opts=self.child,
            )
        return _PodIdentity(account, env_secret)

    def _deployment(
        self,
        color: Color,
        identity: _PodIdentity,
        after: Sequence[pulumi.Resource],
        hooks: pulumi.ResourceHookBinding | None = None,
    ) -> k8s.apps.v1.Deployment:
        app = self.app
        return k8s.apps.v1.Deployment(
            naming.deployment_name(app.name, color),
            # The stack owns each color's replica count: a manual scale must not fail the next cutover,
            # which may shrink the old color after traffic has already moved.
            metadata=self._metadata(naming.deployment_name(app.name, color), {naming.PATCH_FORCE_ANNOTATION: "true"}),
            spec=pod.deployment_spec(app, color, identity.secret_name),
            opts=self._opts(pulumi.ResourceOptions(depends_on=[*identity.resources, *after], hooks=hooks)),
        )

    def target_deployment(self, identity: _PodIdentity) -> k8s.apps.v1.Deployment:
        """The color the Service selects: the provider waits for its rollout to be Available."""
        return self._deployment(self.app.active_color, identity, [])

    def active_service(self, target: k8s.apps.v1.Deployment) -> k8s.core.v1.Service:
        """Explicit name, no clusterIP and `protect`: the DNS name and ClusterIP outlive every cutover.
        It waits for the target color's rollout, and the optional gate runs before its selector moves."""
        app = self.app
        # With API access (preSwitchGate): the gate checks the target color before the selector moves, and
        # after it the Service is confirmed to send traffic to the new color's Ready pods, which replaces
        # the provider's own await (10 s or more after the write, and it never needs a ready address);
        # then the old color's pods are replaced so keep-alive clients follow (after_switch.py).
        hooks: pulumi.ResourceHookBinding | None = None
        annotations: dict[str, str] = {}
        if self.parsed.pre_switch_gate:
            access = self.parsed.kube_access or KubeAccess.from_stack_config()
            hooks = pulumi.ResourceHookBinding(
                before_update=[pre_switch_hook(app, self.namespace, access)],
                after_update=[after_switch_hook(app, self.namespace, access)],
            )
            annotations = {naming.SKIP_AWAIT_ANNOTATION: "true"}
        # The stack owns the selector: a hand-made `kubectl patch` of it (or `bgctl rollback --now`) must not
        # fail the next update on a field conflict.
        annotations[naming.PATCH_FORCE_ANNOTATION] = "true"
        return k8s.core.v1.Service(
            naming.service_name(app.name),
            metadata=self._metadata(naming.service_name(app.name), annotations),
            spec=self._service_spec(app.active_color, app.service_type),
            opts=self._opts(pulumi.ResourceOptions(protect=True, depends_on=[target], hooks=hooks)),
        )

    def idle_deployment(self, identity: _PodIdentity, service: k8s.core.v1.Service) -> k8s.apps.v1.Deployment:
        """The old color, after the Service: with idleReplicas it shrinks only once traffic has left it.

        Only a cutover with idleReplicas shrinks a color right after traffic leaves it, and the color that
        shrinks is the idle one: the active color's own scale-downs never wait.
        """
        app = self.app
        delay = (
            pulumi.ResourceHookBinding(before_update=[scale_down_hook(app.name, app.scale_down_delay_seconds)])
            if app.idle_replicas is not None and app.scale_down_delay_seconds > 0
            else None
        )
        return self._deployment(app.idle_color, identity, [service], delay)

    def preview_service(self, idle: k8s.apps.v1.Deployment) -> k8s.core.v1.Service:
        """Selects the idle color, which may have no pods (idleReplicas: 0), and no traffic depends on it:
        it alone skips the engine's wait for ready endpoints."""
        name = naming.preview_service_name(self.app.name)
        return k8s.core.v1.Service(
            name,
            metadata=self._metadata(name, {naming.SKIP_AWAIT_ANNOTATION: "true"}),
            spec=self._service_spec(self.app.idle_color, "ClusterIP"),
            opts=self._opts(pulumi.ResourceOptions(depends_on=[idle])),
        )

    def disruption_budgets(self) -> None:
        for color in COLORS:
            k8s.policy.v1.PodDisruptionBudget(
                naming.pdb_name(self.app.name, color),
                metadata=self._metadata(naming.pdb_name(self.app.name, color)),
                spec={
                    "max_unavailable": PDB_MAX_UNAVAILABLE,
                    "selector": {"match_labels": naming.selector(self.app.name, color)},
                },
                opts=self.child,
            )

    def network_policy(self) -> k8s.networking.v1.NetworkPolicy | None:
        if not self.parsed.clients:
            return None
        return k8s.networking.v1.NetworkPolicy(
            naming.network_policy_name(self.app.name),
            metadata=self._metadata(naming.network_policy_name(self.app.name)),
            spec=_network_policy_spec(self.parsed),
            opts=self.child,
        )

    def _service_spec(self, color: Color, service_type: str) -> k8s.core.v1.ServiceSpecArgsDict:
        app = self.app
        return {
            "type": service_type,
            "selector": naming.selector(app.name, color),
            "ports": [
                {"name": pod.PORT_NAME, "port": app.service_port, "target_port": pod.PORT_NAME, "protocol": "TCP"}
            ],
        }
