"""Read-only views of the Kubernetes resources a policy sees, shared by every rule module.

At run time `props` is a read-only mapping whose numbers are floats, and during a preview any
value may be unknown. Views copy only the fields a rule decides on, so an unknown value elsewhere
(a Service's assigned clusterIP, a Deployment's status) never stops a rule; an unknown decisive
field raises the SDK's own error, which it reports as "can't run policy during preview".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs

from bluegreen_policies import naming

K8S_PREFIX: Final = "kubernetes:"
# Kind -> path from the resource's props to its pod spec.
POD_SPEC_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
    "Pod": ("spec",),
}
CONTAINER_LISTS: Final = ("initContainers", "containers", "ephemeralContainers")
# The provider marks a name it generated; such a name changes on every replacement.
AUTONAMED_ANNOTATION: Final = "pulumi.com/autonamed"
SKIP_AWAIT_ANNOTATION: Final = naming.SKIP_AWAIT_ANNOTATION


def plain(value: Any) -> Any:
    """A plain copy of a runtime value (read-only proxies become dicts and lists)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(key): plain(value[key]) for key in value}
    if isinstance(value, Sequence):
        return [plain(item) for item in value]
    return value


def value_at(props: Mapping[str, Any], *path: str) -> Any:
    """The plain value at `path`, or None when any step is missing or not an object."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return plain(value)


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def string_map(value: Any) -> dict[str, str]:
    return {k: v for k, v in as_mapping(value).items() if isinstance(v, str)}


def kind_of(resource_type: str) -> str:
    """`kubernetes:apps/v1:Deployment` -> `Deployment`; "" for anything not Kubernetes."""
    if not resource_type.startswith(K8S_PREFIX):
        return ""
    return resource_type.rsplit(":", 1)[-1]


def under_component(urn: str) -> bool:
    """Whether the resource is a child of a `BlueGreenApp` (its URN's type chain names it)."""
    parts = urn.split("::")
    return len(parts) >= 4 and naming.COMPONENT_TYPE in parts[2].split("$")[:-1]


def format_labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'"{k}": "{v}"' for k, v in sorted(labels.items())) + "}"


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether a non-empty equality selector matches `labels`."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@dataclass(frozen=True)
class Container:
    name: str
    spec: dict[str, Any]
    list_key: str
    """Which list of the pod spec holds it: `containers`, `initContainers` or `ephemeralContainers`."""

    def get(self, *path: str) -> Any:
        return value_at(self.spec, *path)


@dataclass(frozen=True)
class Resource:
    """What every rule needs of one resource: identity, labels and annotations."""

    type: str
    kind: str
    urn: str
    name: str
    """The Pulumi resource name."""
    k8s_name: str | None
    namespace: str
    annotations: dict[str, str]
    protect: bool = False

    @property
    def label(self) -> str:
        return f'{self.kind} "{self.k8s_name or self.name}"'

    @property
    def explicitly_named(self) -> bool:
        return bool(self.k8s_name) and self.annotations.get(AUTONAMED_ANNOTATION) != "true"


def _resource(resource_type: str, props: Mapping[str, Any], urn: str, name: str, protect: bool) -> Resource:
    k8s_name = value_at(props, "metadata", "name")
    return Resource(
        protect=protect,
        type=resource_type,
        kind=kind_of(resource_type),
        urn=urn,
        name=name,
        k8s_name=k8s_name if isinstance(k8s_name, str) and k8s_name else None,
        namespace=value_at(props, "metadata", "namespace") or "",
        annotations=string_map(value_at(props, "metadata", "annotations")),
    )


@dataclass(frozen=True)
class Workload:
    """A resource that runs pods: its pod template and, for controllers, its selector and size."""

    resource: Resource
    pod_spec: dict[str, Any]
    template_labels: dict[str, str]
    match_labels: dict[str, str]
    match_expressions: list[Any]
    replicas: float | None
    """`spec.replicas` as given (a float at run time); None when not set (Kubernetes then uses 1)."""

    @property
    def app(self) -> str | None:
        return self.match_labels.get(naming.APP_LABEL) or self.template_labels.get(naming.APP_LABEL)

    @property
    def color(self) -> str | None:
        return self.match_labels.get(naming.COLOR_LABEL) or self.template_labels.get(naming.COLOR_LABEL)

    @property
    def is_bluegreen(self) -> bool:
        """A color of a blue/green app: a component child, or labelled with a color."""
        return (
            under_component(self.resource.urn)
            or naming.COLOR_LABEL in self.match_labels
            or naming.COLOR_LABEL in self.template_labels
        )

    @property
    def effective_replicas(self) -> float:
        return 1.0 if self.replicas is None else self.replicas

    def containers(self) -> Iterator[Container]:
        for key in CONTAINER_LISTS:
            for index, spec in enumerate(as_list(self.pod_spec.get(key))):
                spec = as_mapping(spec)
                name = spec.get("name")
                yield Container(name if isinstance(name, str) and name else f"{key}[{index}]", spec, key)

    def app_containers(self) -> Iterator[Container]:
        """The long-running containers, the ones a Service sends traffic to (not init or ephemeral ones)."""
        return (c for c in self.containers() if c.list_key == "containers")


def workload(
    resource_type: str, props: Mapping[str, Any], urn: str, name: str, protect: bool = False
) -> Workload | None:
    """The pod-running view of a resource, or None when it runs no pods."""
    kind = kind_of(resource_type)
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return None
    template_path = path[:-1]
    return Workload(
        resource=_resource(resource_type, props, urn, name, protect),
        pod_spec=as_mapping(value_at(props, *path)),
        template_labels=string_map(value_at(props, *template_path, "metadata", "labels"))
        if kind != "Pod"
        else string_map(value_at(props, "metadata", "labels")),
        match_labels=string_map(value_at(props, "spec", "selector", "matchLabels")),
        match_expressions=as_list(value_at(props, "spec", "selector", "matchExpressions")),
        replicas=_number(value_at(props, "spec", "replicas")),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class Service:
    resource: Resource
    selector: dict[str, str]
    type: str
    cluster_ip: str | None
    publish_not_ready_addresses: bool

    @property
    def app(self) -> str | None:
        return self.selector.get(naming.APP_LABEL)

    @property
    def color(self) -> str | None:
        return self.selector.get(naming.COLOR_LABEL)

    def named(self, name: str) -> bool:
        """Whether this Service is called `name`, by Kubernetes name or, failing one, Pulumi name."""
        return (self.resource.k8s_name or self.resource.name) == name

    @property
    def is_active(self) -> bool:
        return self.app is not None and self.named(naming.service_name(self.app))

    @property
    def is_preview(self) -> bool:
        return self.app is not None and self.named(naming.preview_service_name(self.app))

    @property
    def is_bluegreen(self) -> bool:
        return under_component(self.resource.urn) or naming.COLOR_LABEL in self.selector


def service(
    resource_type: str, props: Mapping[str, Any], urn: str, name: str, protect: bool = False, *, with_ip: bool = False
) -> Service:
    """A Service's view; `with_ip` reads spec.clusterIP, which only inputs leave unset (outputs carry the cluster's)."""
    cluster_ip = value_at(props, "spec", "clusterIP") if with_ip else None
    if with_ip and not cluster_ip:
        cluster_ip = next(iter(as_list(value_at(props, "spec", "clusterIPs"))), None)
    service_type = value_at(props, "spec", "type")
    return Service(
        resource=_resource(resource_type, props, urn, name, protect),
        selector=string_map(value_at(props, "spec", "selector")),
        type=service_type if isinstance(service_type, str) and service_type else "ClusterIP",
        cluster_ip=cluster_ip if isinstance(cluster_ip, str) and cluster_ip else None,
        publish_not_ready_addresses=value_at(props, "spec", "publishNotReadyAddresses") is True,
    )


def is_service(resource_type: str) -> bool:
    return kind_of(resource_type) == "Service"


@dataclass(frozen=True)
class DisruptionBudget:
    resource: Resource
    match_labels: dict[str, str]


class Stack:
    """The Kubernetes resources of a whole stack, as stack policies see them (outputs, not inputs)."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.deployments: list[Workload] = []
        self.services: list[Service] = []
        self.budgets: list[DisruptionBudget] = []
        self.components: dict[str, str] = {}
        """App name -> URN of its `BlueGreenApp`."""
        for r in resources:
            kind = kind_of(r.resource_type)
            if r.resource_type == naming.COMPONENT_TYPE:
                self.components[r.name] = r.urn
            elif kind == "Deployment":
                found = workload(r.resource_type, r.props, r.urn, r.name, r.opts.protect)
                if found is not None:
                    self.deployments.append(found)
            elif kind == "Service":
                self.services.append(service(r.resource_type, r.props, r.urn, r.name, r.opts.protect))
            elif kind == "PodDisruptionBudget":
                self.budgets.append(
                    DisruptionBudget(
                        _resource(r.resource_type, r.props, r.urn, r.name, r.opts.protect),
                        string_map(value_at(r.props, "spec", "selector", "matchLabels")),
                    )
                )

    @property
    def apps(self) -> list[str]:
        """Every blue/green app: a `BlueGreenApp`, or an app whose Deployment or Service names a color."""
        apps = set(self.components)
        apps.update(d.app for d in self.deployments if d.is_bluegreen and d.app)
        apps.update(s.app for s in self.services if s.is_bluegreen and s.app)
        return sorted(apps)

    def bluegreen_deployments(self, app: str) -> list[Workload]:
        return [d for d in self.deployments if d.is_bluegreen and d.app == app]

    def bluegreen_services(self) -> list[Service]:
        apps = set(self.apps)
        return [s for s in self.services if s.is_bluegreen or s.app in apps]

    def active_service(self, app: str) -> Service | None:
        return next((s for s in self.bluegreen_services() if s.app == app and s.is_active), None)

    def preview_service(self, app: str) -> Service | None:
        return next((s for s in self.bluegreen_services() if s.app == app and s.is_preview), None)

    def selected_by(self, svc: Service) -> list[Workload]:
        """The Deployments in the Service's namespace whose pod template labels its selector matches."""
        return [
            d
            for d in self.deployments
            if d.resource.namespace == svc.resource.namespace and selects(svc.selector, d.template_labels)
        ]

    def anchor(self, app: str) -> str | None:
        """The URN an app-wide violation is reported on: its component, else its active Service."""
        if app in self.components:
            return self.components[app]
        active = self.active_service(app)
        return active.resource.urn if active else None


def report_each(check: Callable[[Workload], list[str]]) -> ResourceValidation:
    """A validation that reports each of `check`'s problems with a pod-running resource, naming it."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        found = workload(args.resource_type, args.props, args.urn, args.name)
        if found is None:
            return
        for problem in check(found):
            report(f"{found.resource.label}: {problem}", None)

    return validate
