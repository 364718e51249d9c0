"""Blue/green guard rails: traffic never moves to an empty or unprobed color, never loses its target.

Resource policies judge what the program asks for (the inputs, before anything is applied); stack
policies relate resources to each other (the outputs, at the end of a preview or update).
"""

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
    SKIP_AWAIT_ANNOTATION,
    Service,
    Stack,
    format_labels,
    is_service,
    kind_of,
    service,
    workload,
)

MANDATORY: Final = EnforcementLevel.MANDATORY
COLOR_CHOICE: Final = " or ".join(f'"{c}"' for c in naming.COLORS)


def _count(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _selector_label_problem(svc: Service) -> str | None:
    selector = format_labels(svc.selector)
    if svc.app is None:
        return (
            f'{svc.resource.label}: spec.selector {selector} has no "{naming.APP_LABEL}" label; '
            f'add "{naming.APP_LABEL}": "<app name>" so it selects one app'
        )
    if svc.color is None:
        return (
            f'{svc.resource.label}: spec.selector {selector} has no "{naming.COLOR_LABEL}" label, so it selects '
            f'both colors; add "{naming.COLOR_LABEL}": {COLOR_CHOICE}'
        )
    if svc.color not in naming.COLORS:
        return (
            f'{svc.resource.label}: spec.selector {selector} names color "{svc.color}", which is not a color; '
            f"set it to {COLOR_CHOICE}"
        )
    return None


def _service_selects_one_color(args: StackValidationArgs, report: ReportViolation) -> None:
    stack = Stack(args.resources)
    for svc in stack.bluegreen_services():
        problem = _selector_label_problem(svc)
        if problem is not None:
            report(problem, svc.resource.urn)
            continue
        matches = stack.selected_by(svc)
        selector = format_labels(svc.selector)
        if not matches:
            report(
                f"{svc.resource.label}: spec.selector {selector} matches the pod template labels of no Deployment "
                f'in namespace "{svc.resource.namespace}", so it would route to no pods; select a color whose '
                "Deployment exists, or create that Deployment first",
                svc.resource.urn,
            )
        elif len(matches) > 1:
            names = ", ".join(sorted(d.resource.k8s_name or d.resource.name for d in matches))
            report(
                f"{svc.resource.label}: spec.selector {selector} matches the pod template labels of "
                f"{len(matches)} Deployments ({names}); make each color's pod labels unique so it selects one",
                svc.resource.urn,
            )


def _active_color_ready(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = config.read_count(args.get_config(), "minActiveReplicas", config.DEFAULT_MIN_ACTIVE_REPLICAS)
    stack = Stack(args.resources)
    for app in stack.apps:
        active = stack.active_service(app)
        if active is None:
            continue
        matches = stack.selected_by(active)
        if len(matches) != 1:
            continue  # service-selects-one-color reports it
        target = matches[0]
        if target.effective_replicas < minimum:
            report(
                f"{target.resource.label} receives the traffic of {active.resource.label} (color {active.color}) "
                f"but has {_count(target.effective_replicas)} replicas; set spec.replicas to at least {minimum} "
                "before the Service selects it",
                target.resource.urn,
            )
        for container in target.app_containers():
            if container.get("readinessProbe") is None:
                report(
                    f'{target.resource.label}: container "{container.name}" has no readinessProbe, so '
                    f"{active.resource.label} would send it traffic before it is ready; add a readinessProbe",
                    target.resource.urn,
                )


def _both_colors_exist(args: StackValidationArgs, report: ReportViolation) -> None:
    stack = Stack(args.resources)
    for app in stack.apps:
        present = {d.color for d in stack.bluegreen_deployments(app)}
        for color in naming.COLORS:
            if color in present:
                continue
            report(
                f'app "{app}" has no {color} Deployment (expected "{naming.deployment_name(app, color)}" selecting '
                f"{format_labels(naming.selector(app, color))}); it is the rollback target: keep it, scaled down "
                "if need be, never delete it",
                stack.anchor(app),
            )


def _deployment_selector_stable(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if kind_of(args.resource_type) != "Deployment":
        return
    found = workload(args.resource_type, args.props, args.urn, args.name)
    if found is None or not found.is_bluegreen:
        return
    label = found.resource.label
    wanted = f'{{"{naming.APP_LABEL}", "{naming.COLOR_LABEL}"}}'
    for key in sorted(set(found.match_labels) - naming.SELECTOR_KEYS):
        report(
            f'{label}: spec.selector.matchLabels has "{key}", and a selector is immutable, so changing it forces a '
            f"replacement that takes this color down; remove it (keep it on the pod template labels only)",
            None,
        )
    for key in sorted(naming.SELECTOR_KEYS - set(found.match_labels)):
        report(f'{label}: spec.selector.matchLabels has no "{key}"; select exactly {wanted}', None)
    if found.match_expressions:
        report(
            f"{label}: spec.selector.matchExpressions is set; remove it and select with matchLabels {wanted} only", None
        )
    color = found.match_labels.get(naming.COLOR_LABEL)
    if color is not None and color not in naming.COLORS:
        report(f'{label}: spec.selector.matchLabels names color "{color}"; set it to {COLOR_CHOICE}', None)


def _active_service_stable(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_service(args.resource_type):
        return
    svc = service(args.resource_type, args.props, args.urn, args.name, args.opts.protect, with_ip=True)
    if not (svc.is_bluegreen and svc.is_active and svc.app):
        return
    label = f'{svc.resource.label} (the active Service of app "{svc.app}")'
    if not svc.resource.explicitly_named:
        report(
            f'{label} has no explicit metadata.name; set it to "{naming.service_name(svc.app)}" so its DNS name '
            "survives every update",
            None,
        )
    if svc.cluster_ip is not None:
        report(
            f'{label} sets spec.clusterIP to "{svc.cluster_ip}"; remove it: a clusterIP change replaces the Service, '
            "and the ClusterIP the cluster assigns lasts as long as the Service does",
            None,
        )
    if not svc.resource.protect:
        report(
            f"{label} is not protected; register it with protect=True so the engine refuses any replace or delete "
            "that would change its ClusterIP and DNS name",
            None,
        )
    if svc.publish_not_ready_addresses:
        report(
            f"{label} sets spec.publishNotReadyAddresses to true, which sends traffic to pods that are not ready; "
            "remove it",
            None,
        )


def _no_skip_await(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Only the Deployments: the active Service may skip the provider's endpoint await, which BlueGreenApp
    # replaces with its own after-switch check (every Ready pod of the new color listed, none of the old).
    if kind_of(args.resource_type) != "Deployment":
        return
    found = workload(args.resource_type, args.props, args.urn, args.name)
    if found is None or not found.is_bluegreen:
        return
    resource, waits_for = found.resource, "its rollout before the Service moves traffic to it"
    value = resource.annotations.get(SKIP_AWAIT_ANNOTATION)
    if value is None:
        return
    report(
        f'{resource.label} has the annotation {SKIP_AWAIT_ANNOTATION}: "{value}", so the engine would not wait for '
        f"{waits_for}; remove the annotation",
        None,
    )


def _preview_selects_idle_color(args: StackValidationArgs, report: ReportViolation) -> None:
    stack = Stack(args.resources)
    for app in stack.apps:
        active, preview = stack.active_service(app), stack.preview_service(app)
        if active is None or preview is None or active.color not in naming.COLORS:
            continue
        if preview.color != active.color:
            continue
        idle = next(c for c in naming.COLORS if c != active.color)
        report(
            f'{preview.resource.label} selects color "{preview.color}", the color {active.resource.label} sends '
            f'traffic to; set its selector\'s color to "{idle}", the idle color, so it previews the next release',
            preview.resource.urn,
        )


POLICIES: Final[list[Policy]] = [
    StackValidationPolicy(
        name="service-selects-one-color",
        description="Every Service of a blue/green app selects app and one color, matching exactly one Deployment.",
        validate=_service_selects_one_color,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="active-color-ready",
        description="The color the active Service selects has enough replicas and a readiness probe on every "
        "container.",
        validate=_active_color_ready,
        enforcement_level=MANDATORY,
        config_schema=config.count_schema(
            "minActiveReplicas",
            config.DEFAULT_MIN_ACTIVE_REPLICAS,
            "The fewest replicas the color that gets traffic may have.",
        ),
    ),
    StackValidationPolicy(
        name="both-colors-exist",
        description="Both colors' Deployments of every blue/green app exist: the rollback target is never deleted.",
        validate=_both_colors_exist,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="deployment-selector-stable",
        description="A blue/green Deployment's selector is exactly app and color, so it never has to change.",
        validate=_deployment_selector_stable,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="active-service-stable",
        description="The active Service keeps its name and ClusterIP for ever: explicit name, no clusterIP, "
        "protected, no publishNotReadyAddresses.",
        validate=_active_service_stable,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="no-skip-await",
        description="Blue/green Deployments are awaited: no pulumi.com/skipAwait.",
        validate=_no_skip_await,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="preview-selects-idle-color",
        description="A preview Service selects the color the active Service does not.",
        validate=_preview_selects_idle_color,
        enforcement_level=MANDATORY,
    ),
]
