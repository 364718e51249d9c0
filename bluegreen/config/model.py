"""The typed model of a stack and of one app: frozen dataclasses the Kubernetes builders take, made only by
the parsers (config/stack.py, config/arguments.py), so every value in them has passed its rule once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import pulumi

from bluegreen import naming
from bluegreen.config.keys import BY_NAME
from bluegreen.naming import Color


@dataclass(frozen=True)
class ColorSettings:
    """What runs in one color."""

    image: str
    version: str
    replicas: int


@dataclass(frozen=True)
class AppSettings:
    """One blue/green app: two colors behind one active and one preview Service."""

    name: str
    active_color: Color
    blue: ColorSettings
    green: ColorSettings
    container_port: int
    service_port: int
    service_type: str
    readiness_path: str
    idle_replicas: int | None = None
    """Replicas of the idle color; None keeps it at full size so a rollback is instant."""
    smoke_path: str | None = None
    """Path the pre-switch gate GETs on the target color; None skips the HTTP check."""
    args: tuple[str, ...] = ()
    """Container args; `{color}`, `{version}` and `{port}` are filled in per color."""
    env: tuple[tuple[str, str], ...] = ()
    env_secret: bool = False
    """`env` was stored with --secret: the values go to a Secret the pods read, never into a Deployment."""
    run_as_user: int = BY_NAME["runAsUser"].default
    """The numeric user (and group) the containers run as: the image's own USER, as a number."""
    scale_down_delay_seconds: int = BY_NAME["scaleDownDelaySeconds"].default
    """The wait after a switch before the old color shrinks (idle_replicas) or its pods are replaced."""
    recycle_old_pods: bool = BY_NAME["recycleOldPods"].default
    """After a switch, replace the old color's pods one at a time so keep-alive clients reconnect to the new one."""
    verify_seconds: int = BY_NAME["verifySeconds"].default
    """How long the new color is watched under traffic after a switch; 0: not at all."""
    verify_success_percent: int = BY_NAME["verifySuccessPercent"].default
    """The share of the window's requests that must answer 2xx."""
    cpu_request: str = BY_NAME["cpuRequest"].default
    cpu_limit: str = BY_NAME["cpuLimit"].default
    memory_request: str = BY_NAME["memoryRequest"].default
    memory_limit: str = BY_NAME["memoryLimit"].default
    tmp_size: str = BY_NAME["tmpSize"].default
    """The size of /tmp and of each writable path: every other path is read-only."""
    writable_paths: tuple[str, ...] = ()

    @property
    def idle_color(self) -> Color:
        return naming.other_color(self.active_color)

    @property
    def verify_path(self) -> str:
        """What the verification window GETs through the active Service: smokePath, else readinessPath."""
        return self.smoke_path or self.readiness_path

    def color(self, color: Color) -> ColorSettings:
        return self.blue if color == "blue" else self.green

    def replicas(self, color: Color) -> int:
        """The replica count a color's Deployment gets in this stack."""
        if color == self.idle_color and self.idle_replicas is not None:
            return self.idle_replicas
        return self.color(color).replicas


@dataclass(frozen=True)
class FrontendSettings:
    """The optional frontend that reaches an app only through its Service's DNS name."""

    name: str
    image: str
    backend: str
    """The app whose Service the frontend proxies to; only its pods accept the frontend's traffic."""
    replicas: int


KUBERNETES_KEYS: Final = ("kubernetes:kubeconfig", "kubernetes:context", "kubernetes:cluster")
"""The default Kubernetes provider's stack config that says which cluster and context it uses."""


@dataclass(frozen=True)
class KubeAccess:
    """Where the default Kubernetes provider connects: its `kubernetes:` stack config."""

    kubeconfig: str | None = None
    """`kubernetes:kubeconfig`: a path or the contents of a kubeconfig; unset means $KUBECONFIG or ~/.kube/config."""
    context: str | None = None
    """`kubernetes:context`: the kubeconfig context; unset means its current-context."""
    cluster: str | None = None
    """`kubernetes:cluster`: overrides the context's cluster."""

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> KubeAccess:
        """From a stack's whole config (every key qualified), as the stack loader and bgctl hold it."""
        kubeconfig, context, cluster = (config.get(key) or None for key in KUBERNETES_KEYS)
        return cls(kubeconfig, context, cluster)

    @classmethod
    def from_stack_config(cls) -> KubeAccess:
        """From the running program's config: for a component built outside the stack loader (its arguments)."""
        return cls.of({key: pulumi.Config(key.split(":")[0]).get(key.split(":")[1]) for key in KUBERNETES_KEYS})


@dataclass(frozen=True)
class Settings:
    namespace: str
    create_namespace: bool
    pre_switch_gate: bool
    apps: tuple[AppSettings, ...]
    frontend: FrontendSettings | None = None
    api_server_cidrs: tuple[str, ...] = ()
    """Where the API server's proxy connects from: the pre-switch smoke check's source."""
    kube_access: KubeAccess = field(default_factory=KubeAccess)
    """Where the hooks reach the cluster: read once for the stack, not once per app (docs/benchmark.md)."""

    def clients(self, app: str) -> tuple[str, ...]:
        """The `app` labels of the pods that may connect to `app`; empty means no NetworkPolicy."""
        return (self.frontend.name,) if self.frontend and self.frontend.backend == app else ()

    def spec(self, app: AppSettings) -> AppSpec:
        """What the component builds for `app`, already valid: nothing is parsed again.

        A secret env reaches the component as it would from any program: each value a secret Output,
        and the app's own copy of the values blank, so only the env Secret ever holds them.
        """
        env_values: dict[str, pulumi.Input[str]] = {
            name: pulumi.Output.secret(value) if app.env_secret else value for name, value in app.env
        }
        if app.env_secret:
            app = replace(app, env=tuple((name, "") for name, _ in app.env))
        return AppSpec(
            app=app,
            namespace=self.namespace,
            pre_switch_gate=self.pre_switch_gate,
            clients=self.clients(app.name),
            api_server_cidrs=self.api_server_cidrs,
            env_values=env_values,
            kube_access=self.kube_access,
        )


@dataclass(frozen=True)
class AppSpec:
    """What one BlueGreenApp builds from: the app, where it lives and who may reach it. Valid by construction:
    the stack's parser and the argument parser are the only makers, each at the boundary the values came by.
    """

    app: AppSettings
    namespace: str
    pre_switch_gate: bool = True
    clients: tuple[str, ...] = ()
    api_server_cidrs: tuple[str, ...] = ()
    env_values: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The env values the Secret receives when `app.env_secret`: the checked text, or each Output as given.

    Where a value was an Output, `app.env` holds an empty string: only the Secret ever holds the value.
    """
    kube_access: KubeAccess | None = None
    """Where the hooks reach the cluster; None: the component reads the running program's config itself."""
