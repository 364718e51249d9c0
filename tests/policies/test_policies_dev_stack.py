"""The real program's resources: the dev stack passes every mandatory policy; each unsafe variant fails one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from tests.fakes.policy_harness import Res, dev_stack, edited, program_stack, setter, violations, without

MANDATORY = EnforcementLevel.MANDATORY
POD = "spec.template.spec"
SC = f"{POD}.containers.0.securityContext"
ACTIVE = 'Service "backend" (the active Service of app "backend")'
GREEN = '{"app": "backend", "color": "green"}'
Change = Callable[[list[Res]], list[Res]]


def test_dev_stack_has_no_mandatory_violation() -> None:
    stack = dev_stack()
    assert {r.type for r in stack} >= {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:Service",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "bluegreen:index:BlueGreenApp",
    }
    assert violations(stack, MANDATORY) == []


@pytest.mark.parametrize(
    "overrides",
    [{"activeColor": "green"}, {"idleReplicas": 0}, {"activeColor": "green", "idleReplicas": 0}],
    ids=["green active", "idle color parked at 0", "green active, blue parked"],
)
def test_every_supported_config_has_no_mandatory_violation(overrides: dict[str, Any]) -> None:
    assert violations(program_stack(overrides), MANDATORY) == []


def _blue(change: Callable[[dict[str, Any]], None]) -> Change:
    return lambda stack: edited(stack, "Deployment", "backend-blue", change)


BROKEN: list[tuple[str, Change, list[tuple[str, str]]]] = [
    (
        "active color scaled to 0",
        _blue(setter("spec.replicas", 0)),
        [
            (
                "active-color-ready",
                'Deployment "backend-blue" receives the traffic of Service "backend" (color blue) but has 0 replicas; '
                "set spec.replicas to at least 2 before the Service selects it",
            )
        ],
    ),
    (
        "a version label in a Deployment selector",
        _blue(setter("spec.selector.matchLabels.version", "1.1")),
        [
            (
                "deployment-selector-stable",
                'Deployment "backend-blue": spec.selector.matchLabels has "version", and a selector is immutable, so '
                "changing it forces a replacement that takes this color down; remove it (keep it on the pod template "
                "labels only)",
            )
        ],
    ),
    (
        "a latest image",
        _blue(setter(f"{POD}.containers.0.image", "hashicorp/http-echo:latest")),
        [
            (
                "images-pinned",
                'Deployment "backend-blue": container "backend": image "hashicorp/http-echo:latest" must be pinned to '
                'a tag or digest other than "latest"; pin it as <repository>:<version> or '
                "<repository>@sha256:<digest>",
            )
        ],
    ),
    (
        "a privileged container",
        _blue(setter(f"{SC}.privileged", True)),
        [
            (
                "pod-host-access-forbidden",
                'Deployment "backend-blue": container "backend": securityContext.privileged is true; set it to false',
            )
        ],
    ),
    (
        "a container running as root",
        _blue(setter(f"{SC}.runAsUser", 0)),
        [
            (
                "pod-security-restricted",
                'Deployment "backend-blue": container "backend": securityContext.runAsUser is 0 (root); set it to a '
                "non-zero UID such as 65532",
            )
        ],
    ),
    (
        "hostNetwork",
        _blue(setter(f"{POD}.hostNetwork", True)),
        [
            (
                "pod-host-access-forbidden",
                'Deployment "backend-blue": hostNetwork is true; remove it (pods must not share the node\'s '
                "namespaces)",
            )
        ],
    ),
    (
        "a Service with a clusterIP",
        lambda stack: edited(stack, "Service", "backend", setter("spec.clusterIP", "10.96.0.50")),
        [
            (
                "active-service-stable",
                f'{ACTIVE} sets spec.clusterIP to "10.96.0.50"; remove it: a clusterIP change replaces the Service, '
                "and the ClusterIP the cluster assigns lasts as long as the Service does",
            )
        ],
    ),
    (
        "the Service not protected",
        lambda stack: [replace(r, protect=False) if r.type.endswith(":Service") else r for r in stack],
        [
            (
                "active-service-stable",
                f"{ACTIVE} is not protected; register it with protect=True so the engine refuses any replace or "
                "delete that would change its ClusterIP and DNS name",
            )
        ],
    ),
    (
        "the idle color's Deployment missing",
        lambda stack: without(stack, "Deployment", "backend-green"),
        [
            (
                "service-selects-one-color",
                f'Service "backend-preview": spec.selector {GREEN} matches the pod template labels of no Deployment '
                'in namespace "bluegreen-dev", so it would route to no pods; select a color whose Deployment exists, '
                "or create that Deployment first",
            ),
            (
                "both-colors-exist",
                f'app "backend" has no green Deployment (expected "backend-green" selecting {GREEN}); it is the '
                "rollback target: keep it, scaled down if need be, never delete it",
            ),
        ],
    ),
    (
        "a selector naming a color that does not exist",
        lambda stack: edited(stack, "Service", "backend", setter("spec.selector.color", "red")),
        [
            (
                "service-selects-one-color",
                'Service "backend": spec.selector {"app": "backend", "color": "red"} names color "red", which is not '
                'a color; set it to "blue" or "green"',
            )
        ],
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), BROKEN, ids=[c[0] for c in BROKEN])
def test_an_unsafe_variant_of_the_dev_stack_fails_its_mandatory_policy(
    case: str, change: Change, expected: list[tuple[str, str]]
) -> None:
    assert violations(change(dev_stack()), MANDATORY) == expected
