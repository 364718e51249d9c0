"""The blue/green policies: the dev stack passes each; changing one field gives the exact message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from tests.fakes.policy_harness import Res, check, check_stack, dev_stack, edited, find, remover, setter, without

BLUE = '{"app": "backend", "color": "blue"}'
GREEN = '{"app": "backend", "color": "green"}'
ACTIVE = 'Service "backend" (the active Service of app "backend")'
Case = tuple[str, Callable[[list[Res]], list[Res]], list[str]]


def test_dev_stack_passes_every_blue_green_policy() -> None:
    stack = dev_stack()
    for name in (
        "service-selects-one-color",
        "active-color-ready",
        "both-colors-exist",
        "deployment-selector-stable",
        "active-service-stable",
        "no-skip-await",
        "preview-selects-idle-color",
    ):
        assert check(name, stack) == [], name


SERVICE_SELECTS_ONE_COLOR: list[Case] = [
    (
        "no app label",
        lambda s: edited(s, "Service", "backend", remover("spec.selector.app")),
        [
            'Service "backend": spec.selector {"color": "blue"} has no "app" label; '
            'add "app": "<app name>" so it selects one app'
        ],
    ),
    (
        "no color label",
        lambda s: edited(s, "Service", "backend", remover("spec.selector.color")),
        [
            'Service "backend": spec.selector {"app": "backend"} has no "color" label, so it selects both colors; '
            'add "color": "blue" or "green"'
        ],
    ),
    (
        "a color that is not a color",
        lambda s: edited(s, "Service", "backend-preview", setter("spec.selector.color", "purple")),
        [
            'Service "backend-preview": spec.selector {"app": "backend", "color": "purple"} names color "purple", '
            'which is not a color; set it to "blue" or "green"'
        ],
    ),
    (
        "a color with no Deployment",
        lambda s: without(s, "Deployment", "backend-green"),
        [
            f'Service "backend-preview": spec.selector {GREEN} matches the pod template labels of no Deployment in '
            'namespace "bluegreen-dev", so it would route to no pods; select a color whose Deployment exists, or '
            "create that Deployment first"
        ],
    ),
    (
        "a color whose Deployment lives in another namespace",
        lambda s: edited(s, "Deployment", "backend-blue", setter("metadata.namespace", "other")),
        [
            f'Service "backend": spec.selector {BLUE} matches the pod template labels of no Deployment in '
            'namespace "bluegreen-dev", so it would route to no pods; select a color whose Deployment exists, or '
            "create that Deployment first"
        ],
    ),
    (
        "two Deployments with the same pod labels",
        lambda s: edited(s, "Deployment", "backend-green", setter("spec.template.metadata.labels.color", "blue")),
        [
            f'Service "backend": spec.selector {BLUE} matches the pod template labels of 2 Deployments '
            "(backend-blue, backend-green); make each color's pod labels unique so it selects one",
            f'Service "backend-preview": spec.selector {GREEN} matches the pod template labels of no Deployment in '
            'namespace "bluegreen-dev", so it would route to no pods; select a color whose Deployment exists, or '
            "create that Deployment first",
        ],
    ),
    (
        "a Service of the app outside the component without a color",
        lambda s: [
            *s,
            Res(
                "kubernetes:core/v1:Service",
                "backend-extra",
                "urn:pulumi:dev::bluegreen::kubernetes:core/v1:Service::backend-extra",
                {
                    "metadata": {"name": "backend-extra", "namespace": "bluegreen-dev"},
                    "spec": {"selector": {"app": "backend"}},
                },
            ),
        ],
        [
            'Service "backend-extra": spec.selector {"app": "backend"} has no "color" label, so it selects both '
            'colors; add "color": "blue" or "green"'
        ],
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "expected"), SERVICE_SELECTS_ONE_COLOR, ids=[c[0] for c in SERVICE_SELECTS_ONE_COLOR]
)
def test_service_selects_one_color(case: str, change: Callable[[list[Res]], list[Res]], expected: list[str]) -> None:
    assert check("service-selects-one-color", change(dev_stack())) == expected


def test_a_plain_app_service_without_color_is_not_a_blue_green_service() -> None:
    frontend = Res(
        "kubernetes:core/v1:Service",
        "frontend",
        "urn:pulumi:dev::bluegreen::kubernetes:core/v1:Service::frontend",
        {"metadata": {"name": "frontend", "namespace": "bluegreen-dev"}, "spec": {"selector": {"app": "frontend"}}},
    )
    assert check("service-selects-one-color", [*dev_stack(), frontend]) == []


ACTIVE_COLOR_READY: list[Case] = [
    (
        "active color scaled to 0",
        lambda s: edited(s, "Deployment", "backend-blue", setter("spec.replicas", 0)),
        [
            'Deployment "backend-blue" receives the traffic of Service "backend" (color blue) but has 0 replicas; '
            "set spec.replicas to at least 2 before the Service selects it"
        ],
    ),
    (
        "active color with replicas unset (1)",
        lambda s: edited(s, "Deployment", "backend-blue", remover("spec.replicas")),
        [
            'Deployment "backend-blue" receives the traffic of Service "backend" (color blue) but has 1 replicas; '
            "set spec.replicas to at least 2 before the Service selects it"
        ],
    ),
    (
        "active color without a readiness probe",
        lambda s: edited(s, "Deployment", "backend-blue", remover("spec.template.spec.containers.0.readinessProbe")),
        [
            'Deployment "backend-blue": container "backend" has no readinessProbe, so Service "backend" would send '
            "it traffic before it is ready; add a readinessProbe"
        ],
    ),
    (
        "the idle color scaled to 0 is fine",
        lambda s: edited(s, "Deployment", "backend-green", setter("spec.replicas", 0)),
        [],
    ),
    (
        "the active Service moved to a color scaled to 0",
        lambda s: edited(
            edited(s, "Deployment", "backend-green", setter("spec.replicas", 0)),
            "Service",
            "backend",
            setter("spec.selector.color", "green"),
        ),
        [
            'Deployment "backend-green" receives the traffic of Service "backend" (color green) but has 0 replicas; '
            "set spec.replicas to at least 2 before the Service selects it"
        ],
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), ACTIVE_COLOR_READY, ids=[c[0] for c in ACTIVE_COLOR_READY])
def test_active_color_ready(case: str, change: Callable[[list[Res]], list[Res]], expected: list[str]) -> None:
    assert check("active-color-ready", change(dev_stack())) == expected


def test_active_color_ready_reads_min_active_replicas_from_config() -> None:
    assert check("active-color-ready", dev_stack(), {"minActiveReplicas": 3.0}) == [
        'Deployment "backend-blue" receives the traffic of Service "backend" (color blue) but has 2 replicas; '
        "set spec.replicas to at least 3 before the Service selects it"
    ]


def test_both_colors_exist_reports_the_missing_color_on_the_component() -> None:
    stack = without(dev_stack(), "Deployment", "backend-green")
    component = find(stack, "BlueGreenApp", "backend")
    assert check_stack("both-colors-exist", stack) == [
        (
            f'app "backend" has no green Deployment (expected "backend-green" selecting {GREEN}); it is the '
            "rollback target: keep it, scaled down if need be, never delete it",
            component.urn,
        )
    ]


def test_both_colors_exist_finds_an_app_without_its_component() -> None:
    stack = [r for r in without(dev_stack(), "Deployment", "backend-blue") if not r.type.endswith("BlueGreenApp")]
    assert check("both-colors-exist", stack) == [
        f'app "backend" has no blue Deployment (expected "backend-blue" selecting {BLUE}); it is the rollback '
        "target: keep it, scaled down if need be, never delete it"
    ]


SELECTOR_STABLE: list[Case] = [
    (
        "a version label in the selector",
        lambda s: edited(s, "Deployment", "backend-blue", setter("spec.selector.matchLabels.version", "1.1")),
        [
            'Deployment "backend-blue": spec.selector.matchLabels has "version", and a selector is immutable, so '
            "changing it forces a replacement that takes this color down; remove it (keep it on the pod template "
            "labels only)"
        ],
    ),
    (
        "no color in the selector",
        lambda s: edited(s, "Deployment", "backend-blue", remover("spec.selector.matchLabels.color")),
        ['Deployment "backend-blue": spec.selector.matchLabels has no "color"; select exactly {"app", "color"}'],
    ),
    (
        "matchExpressions",
        lambda s: edited(
            s,
            "Deployment",
            "backend-green",
            setter("spec.selector.matchExpressions", [{"key": "tier", "operator": "Exists"}]),
        ),
        [
            'Deployment "backend-green": spec.selector.matchExpressions is set; remove it and select with '
            'matchLabels {"app", "color"} only'
        ],
    ),
    (
        "a color that is not a color",
        lambda s: edited(s, "Deployment", "backend-green", setter("spec.selector.matchLabels.color", "teal")),
        ['Deployment "backend-green": spec.selector.matchLabels names color "teal"; set it to "blue" or "green"'],
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), SELECTOR_STABLE, ids=[c[0] for c in SELECTOR_STABLE])
def test_deployment_selector_stable(case: str, change: Callable[[list[Res]], list[Res]], expected: list[str]) -> None:
    assert check("deployment-selector-stable", change(dev_stack())) == expected


ACTIVE_SERVICE_STABLE: list[Case] = [
    (
        "no explicit name",
        lambda s: edited(s, "Service", "backend", remover("metadata.name")),
        [
            'Service "backend" (the active Service of app "backend") has no explicit metadata.name; set it to '
            '"backend" so its DNS name survives every update'
        ],
    ),
    (
        "a name the provider generated",
        lambda s: edited(s, "Service", "backend", setter("metadata.annotations", {"pulumi.com/autonamed": "true"})),
        [
            'Service "backend" (the active Service of app "backend") has no explicit metadata.name; set it to '
            '"backend" so its DNS name survives every update'
        ],
    ),
    (
        "a clusterIP",
        lambda s: edited(s, "Service", "backend", setter("spec.clusterIP", "10.96.0.50")),
        [
            f'{ACTIVE} sets spec.clusterIP to "10.96.0.50"; remove it: a clusterIP change replaces the Service, and '
            "the ClusterIP the cluster assigns lasts as long as the Service does"
        ],
    ),
    (
        "not protected",
        lambda s: [replace(r, protect=False) if r.name == "backend" else r for r in s],
        [
            f"{ACTIVE} is not protected; register it with protect=True so the engine refuses any replace or delete "
            "that would change its ClusterIP and DNS name"
        ],
    ),
    (
        "publishNotReadyAddresses",
        lambda s: edited(s, "Service", "backend", setter("spec.publishNotReadyAddresses", True)),
        [
            f"{ACTIVE} sets spec.publishNotReadyAddresses to true, which sends traffic to pods that are not ready; "
            "remove it"
        ],
    ),
    (
        "the preview Service may be unprotected",
        lambda s: [replace(r, protect=False) if r.name == "backend-preview" else r for r in s],
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "expected"), ACTIVE_SERVICE_STABLE, ids=[c[0] for c in ACTIVE_SERVICE_STABLE]
)
def test_active_service_stable(case: str, change: Callable[[list[Res]], list[Res]], expected: list[str]) -> None:
    assert check("active-service-stable", change(dev_stack())) == expected


def _skip_await(props: dict[str, Any]) -> None:
    props["metadata"].setdefault("annotations", {})["pulumi.com/skipAwait"] = "true"


NO_SKIP_AWAIT: list[Case] = [
    (
        "on a Deployment",
        lambda s: edited(s, "Deployment", "backend-green", _skip_await),
        [
            'Deployment "backend-green" has the annotation pulumi.com/skipAwait: "true", so the engine would not '
            "wait for its rollout before the Service moves traffic to it; remove the annotation"
        ],
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), NO_SKIP_AWAIT, ids=[c[0] for c in NO_SKIP_AWAIT])
def test_no_skip_await(case: str, change: Callable[[list[Res]], list[Res]], expected: list[str]) -> None:
    assert check("no-skip-await", change(dev_stack())) == expected


def test_both_services_may_skip_the_providers_endpoint_await() -> None:
    # The active Service's await is replaced by the component's after-switch check (with the gate).
    services = [find(dev_stack(), "Service", name) for name in ("backend", "backend-preview")]
    assert [s.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] for s in services] == ["true", "true"]
    assert check("no-skip-await", services) == []


def test_preview_selects_idle_color_reports_a_preview_of_the_active_color() -> None:
    stack = edited(dev_stack(), "Service", "backend-preview", setter("spec.selector.color", "blue"))
    assert check("preview-selects-idle-color", stack) == [
        'Service "backend-preview" selects color "blue", the color Service "backend" sends traffic to; set its '
        'selector\'s color to "green", the idle color, so it previews the next release'
    ]


def test_preview_selects_idle_color_is_quiet_without_a_preview_service() -> None:
    assert check("preview-selects-idle-color", without(dev_stack(), "Service", "backend-preview")) == []
