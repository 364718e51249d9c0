"""Advisory policies: they warn, naming the resource and the change; the dev stack raises none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from tests.fakes.policy_harness import Res, check, dev_stack, edited, find, remover, setter, violations, without

POD = "spec.template.spec"
CONTAINER = 'Deployment "backend-blue": container "backend"'
Change = Callable[[list[Res]], list[Res]]


def test_dev_stack_raises_no_advisory_warning() -> None:
    assert violations(dev_stack(), EnforcementLevel.ADVISORY) == []


def _blue(change: Callable[[dict[str, Any]], None]) -> Change:
    return lambda stack: edited(stack, "Deployment", "backend-blue", change)


CASES: list[tuple[str, str, Change, list[str]]] = [
    (
        "container-resources",
        "no limits",
        _blue(remover(f"{POD}.containers.0.resources.limits")),
        [
            f"{CONTAINER} sets no resources.limits.cpu, resources.limits.memory; set them so the scheduler reserves "
            "room for it and one pod cannot starve the node"
        ],
    ),
    (
        "container-resources",
        "no memory request",
        _blue(remover(f"{POD}.containers.0.resources.requests.memory")),
        [
            f"{CONTAINER} sets no resources.requests.memory; set them so the scheduler reserves room for it and "
            "one pod cannot starve the node"
        ],
    ),
    (
        "liveness-probe-distinct",
        "no liveness probe",
        _blue(remover(f"{POD}.containers.0.livenessProbe")),
        [
            f"{CONTAINER} has no livenessProbe; add one (a tcpSocket check, say) so a hung process is restarted",
        ],
    ),
    (
        "liveness-probe-distinct",
        "liveness identical to readiness",
        lambda stack: edited(
            stack,
            "Deployment",
            "backend-blue",
            lambda p: p["spec"]["template"]["spec"]["containers"][0].update(
                livenessProbe=p["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
            ),
        ),
        [
            f"{CONTAINER}: livenessProbe is identical to readinessProbe, so a slow dependency restarts every pod at "
            "once; make liveness a cheaper check (a tcpSocket, or a longer period)"
        ],
    ),
    (
        "min-replicas",
        "one replica",
        _blue(setter("spec.replicas", 1)),
        [
            'Deployment "backend-blue" runs 1 replica(s); set spec.replicas to at least 2 so one pod\'s restart or '
            "eviction does not take the app down"
        ],
    ),
    ("min-replicas", "an idle color parked at 0", _blue(setter("spec.replicas", 0)), []),
    (
        "pod-disruption-budget-per-color",
        "no budget for green",
        lambda stack: without(stack, "PodDisruptionBudget", "backend-green"),
        [
            'Deployment "backend-green" has no PodDisruptionBudget; add one selecting {"app": "backend", "color": '
            '"green"} (maxUnavailable: 1) so a node drain cannot evict all of this color\'s pods at once'
        ],
    ),
    (
        "service-type-allowed",
        "a LoadBalancer",
        lambda stack: edited(stack, "Service", "backend", setter("spec.type", "LoadBalancer")),
        [
            'Service "backend" is of type LoadBalancer, which exposes it outside the cluster; use ClusterIP behind an '
            'Ingress, or allow it with {"service-type-allowed": {"allowedTypes": ["LoadBalancer"]}} in the policy '
            "config"
        ],
    ),
]


@pytest.mark.parametrize(("policy", "case", "change", "expected"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_advisory_policy(policy: str, case: str, change: Change, expected: list[str]) -> None:
    assert check(policy, change(dev_stack())) == expected


def test_min_replicas_reads_its_minimum_from_config() -> None:
    messages = check("min-replicas", dev_stack(), {"minReplicas": 3.0})
    assert sorted(messages) == [
        f'Deployment "{name}" runs 2 replica(s); set spec.replicas to at least 3 so one pod\'s restart or '
        "eviction does not take the app down"
        for name in ("backend-blue", "backend-green", "frontend")
    ]


def test_service_type_allowed_accepts_a_type_the_config_allows() -> None:
    service = find(edited(dev_stack(), "Service", "backend", setter("spec.type", "NodePort")), "Service", "backend")
    assert check("service-type-allowed", [service], {"allowedTypes": ["NodePort"]}) == []
    assert len(check("service-type-allowed", [service], {"allowedTypes": ["LoadBalancer"]})) == 1
