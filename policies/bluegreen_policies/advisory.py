"""Advisory rules: what makes a color survive load, restarts and node drains; warnings, not failures."""

from __future__ import annotations

from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from bluegreen_policies import config, naming
from bluegreen_policies.kube import (
    Stack,
    Workload,
    as_mapping,
    format_labels,
    is_service,
    report_each,
    selects,
    service,
    workload,
)

ADVISORY: Final = EnforcementLevel.ADVISORY
RESOURCE_KEYS: Final = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
SCALED_KINDS: Final = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})


def resource_problems(found: Workload) -> list[str]:
    problems: list[str] = []
    for container in found.containers():
        if container.list_key == "ephemeralContainers":
            continue  # Kubernetes forbids resources on ephemeral containers
        resources = as_mapping(container.get("resources"))
        missing = [
            key for key in RESOURCE_KEYS if key.split(".")[1] not in as_mapping(resources.get(key.split(".")[0]))
        ]
        if missing:
            problems.append(
                f'container "{container.name}" sets no resources.{", resources.".join(missing)}; set them so the '
                "scheduler reserves room for it and one pod cannot starve the node"
            )
    return problems


def liveness_problems(found: Workload) -> list[str]:
    problems: list[str] = []
    for container in found.app_containers():
        liveness, readiness = container.get("livenessProbe"), container.get("readinessProbe")
        if liveness is None:
            problems.append(
                f'container "{container.name}" has no livenessProbe; add one (a tcpSocket check, say) so a hung '
                "process is restarted"
            )
        elif liveness == readiness:
            problems.append(
                f'container "{container.name}": livenessProbe is identical to readinessProbe, so a slow dependency '
                "restarts every pod at once; make liveness a cheaper check (a tcpSocket, or a longer period)"
            )
    return problems


def _min_replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    found = workload(args.resource_type, args.props, args.urn, args.name)
    if found is None or found.resource.kind not in SCALED_KINDS:
        return
    minimum = config.read_count(args.get_config(), "minReplicas", config.DEFAULT_MIN_REPLICAS)
    replicas = found.effective_replicas
    # An idle color parked at 0 is a choice (idleReplicas); active-color-ready guards the color with traffic.
    if replicas >= minimum or (replicas == 0 and found.is_bluegreen):
        return
    report(
        f"{found.resource.label} runs {int(replicas)} replica(s); set spec.replicas to at least {minimum} so one "
        "pod's restart or eviction does not take the app down",
        None,
    )


def _disruption_budget_per_color(args: StackValidationArgs, report: ReportViolation) -> None:
    stack = Stack(args.resources)
    for app in stack.apps:
        for deployment in stack.bluegreen_deployments(app):
            covered = any(
                b.resource.namespace == deployment.resource.namespace
                and selects(b.match_labels, deployment.template_labels)
                for b in stack.budgets
            )
            if covered or deployment.color not in naming.COLORS:
                continue
            wanted = format_labels(naming.selector(app, deployment.color))
            report(
                f"{deployment.resource.label} has no PodDisruptionBudget; add one selecting {wanted} "
                "(maxUnavailable: 1) so a node drain cannot evict all of this color's pods at once",
                deployment.resource.urn,
            )


def _service_type_allowed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_service(args.resource_type):
        return
    svc = service(args.resource_type, args.props, args.urn, args.name)
    allowed = config.read_strings(args.get_config(), "allowedTypes")
    if svc.type not in config.EXPOSED_SERVICE_TYPES or svc.type in allowed:
        return
    report(
        f"{svc.resource.label} is of type {svc.type}, which exposes it outside the cluster; use ClusterIP behind an "
        f'Ingress, or allow it with {{"service-type-allowed": {{"allowedTypes": ["{svc.type}"]}}}} in the policy '
        "config",
        None,
    )


POLICIES: Final[list[Policy]] = [
    ResourceValidationPolicy(
        name="container-resources",
        description="Every container sets CPU and memory requests and limits.",
        validate=report_each(resource_problems),
        enforcement_level=ADVISORY,
    ),
    ResourceValidationPolicy(
        name="liveness-probe-distinct",
        description="Every container has a liveness probe that is not identical to its readiness probe.",
        validate=report_each(liveness_problems),
        enforcement_level=ADVISORY,
    ),
    ResourceValidationPolicy(
        name="min-replicas",
        description="Deployments, StatefulSets and ReplicaSets run at least minReplicas pods.",
        validate=_min_replicas,
        enforcement_level=ADVISORY,
        config_schema=config.count_schema(
            "minReplicas", config.DEFAULT_MIN_REPLICAS, "The fewest replicas a workload should run."
        ),
    ),
    StackValidationPolicy(
        name="pod-disruption-budget-per-color",
        description="Each color of a blue/green app has a PodDisruptionBudget.",
        validate=_disruption_budget_per_color,
        enforcement_level=ADVISORY,
    ),
    ResourceValidationPolicy(
        name="service-type-allowed",
        description="Services are not LoadBalancer or NodePort unless the policy config allows that type.",
        validate=_service_type_allowed,
        enforcement_level=ADVISORY,
        config_schema=config.allowed_types_schema(),
    ),
]
