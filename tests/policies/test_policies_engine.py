"""The pack run as the engine runs it, over gRPC: listed policies, config, Analyze and AnalyzeStack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from bluegreen_policies.catalog import PACK_NAME
from pulumi.runtime.proto import analyzer_pb2

from tests.fakes.policy_engine import Analyzer, running_pack
from tests.fakes.policy_harness import dev_stack, edited, find, remover, setter

MANDATORY = analyzer_pb2.MANDATORY
ADVISORY = analyzer_pb2.ADVISORY
# The engine's sentinels for values a preview cannot know (pulumi_policy.proxy).
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"
EXPECTED_LEVELS = {
    "service-selects-one-color": MANDATORY,
    "active-color-ready": MANDATORY,
    "both-colors-exist": MANDATORY,
    "deployment-selector-stable": MANDATORY,
    "active-service-stable": MANDATORY,
    "no-skip-await": MANDATORY,
    "preview-selects-idle-color": MANDATORY,
    "pod-security-restricted": MANDATORY,
    "pod-host-access-forbidden": MANDATORY,
    "images-pinned": MANDATORY,
    "container-resources": ADVISORY,
    "liveness-probe-distinct": ADVISORY,
    "min-replicas": ADVISORY,
    "pod-disruption-budget-per-color": ADVISORY,
    "service-type-allowed": ADVISORY,
}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Analyzer]:
    with running_pack() as running:
        yield running


@pytest.fixture
def configured(analyzer: Analyzer) -> Analyzer:
    analyzer.configure()
    return analyzer


def _summary(diagnostics: list[analyzer_pb2.AnalyzeDiagnostic]) -> list[tuple[str, int, str, str]]:
    return [(d.policyName, d.enforcementLevel, d.urn, d.message) for d in diagnostics]


def test_the_pack_lists_every_policy_with_its_level(analyzer: Analyzer) -> None:
    info = analyzer.info()
    assert info.name == PACK_NAME
    assert info.supportsConfig
    assert {p.name: p.enforcementLevel for p in info.policies} == EXPECTED_LEVELS


def test_the_pack_publishes_its_config_schemas(analyzer: Analyzer) -> None:
    schemas = {p.name: dict(p.configSchema.properties) for p in analyzer.info().policies if p.configSchema.properties}
    assert sorted(schemas) == ["active-color-ready", "min-replicas", "service-type-allowed"]
    assert schemas["active-color-ready"]["minActiveReplicas"]["default"] == 2.0


def test_the_dev_stack_passes_analyze_and_analyze_stack(configured: Analyzer) -> None:
    stack = dev_stack()
    assert _summary(configured.analyze_each(stack)) == []
    assert _summary(configured.analyze_stack(stack)) == []


def test_analyze_reports_a_latest_image_as_mandatory(configured: Analyzer) -> None:
    stack = edited(
        dev_stack(), "Deployment", "backend-blue", setter("spec.template.spec.containers.0.image", "nginx:latest")
    )
    blue = find(stack, "Deployment", "backend-blue")
    # A resource policy's diagnostic carries no URN: the engine files it under the resource it asked about.
    assert _summary(configured.analyze(blue)) == [
        (
            "images-pinned",
            MANDATORY,
            "",
            "Every container image is pinned to a tag other than latest, or to a digest.\n"
            'Deployment "backend-blue": container "backend": image "nginx:latest" must be pinned to a tag or digest '
            'other than "latest"; pin it as <repository>:<version> or <repository>@sha256:<digest>',
        )
    ]


def test_analyze_sees_the_protect_option(configured: Analyzer) -> None:
    service = replace(find(dev_stack(), "Service", "backend"), protect=False)
    assert [(d.policyName, d.enforcementLevel) for d in configured.analyze(service)] == [
        ("active-service-stable", MANDATORY)
    ]


def test_analyze_stack_reports_an_empty_active_color_on_its_deployment(configured: Analyzer) -> None:
    stack = edited(dev_stack(), "Deployment", "backend-blue", setter("spec.replicas", 0))
    assert _summary(configured.analyze_stack(stack)) == [
        (
            "active-color-ready",
            MANDATORY,
            find(stack, "Deployment", "backend-blue").urn,
            "The color the active Service selects has enough replicas and a readiness probe on every container.\n"
            'Deployment "backend-blue" receives the traffic of Service "backend" (color blue) but has 0 replicas; '
            "set spec.replicas to at least 2 before the Service selects it",
        )
    ]


def test_configured_properties_reach_the_policy(analyzer: Analyzer) -> None:
    analyzer.configure({"active-color-ready": {"minActiveReplicas": 3}})
    assert [d.message.splitlines()[1] for d in analyzer.analyze_stack(dev_stack())] == [
        'Deployment "backend-blue" receives the traffic of Service "backend" (color blue) but has 2 replicas; '
        "set spec.replicas to at least 3 before the Service selects it"
    ]


def test_configured_levels_override_the_defaults(analyzer: Analyzer) -> None:
    stack = edited(
        dev_stack(), "Deployment", "backend-blue", remover("spec.template.spec.containers.0.resources.limits")
    )
    blue = find(stack, "Deployment", "backend-blue")
    analyzer.configure({"container-resources": {"enforcementLevel": "mandatory"}})
    assert [(d.policyName, d.enforcementLevel) for d in analyzer.analyze(blue)] == [("container-resources", MANDATORY)]
    analyzer.configure({"container-resources": {"enforcementLevel": "disabled"}})
    assert analyzer.analyze(blue) == []


def test_values_unknown_during_preview_do_not_stop_the_stack_policies(configured: Analyzer) -> None:
    # In a preview a new Service's clusterIP and a Deployment's status are unknown; no rule decides on them.
    unknowns: dict[str, dict[str, Any]] = {
        "kubernetes:core/v1:Service": {"spec": {"clusterIP": UNKNOWN_STRING}},
        "kubernetes:apps/v1:Deployment": {"status": UNKNOWN_STRING},
    }
    stack = [replace(r, extra_outputs=unknowns.get(r.type, {})) for r in dev_stack()]
    assert find(stack, "Service", "backend").outputs["spec"]["clusterIP"] == UNKNOWN_STRING
    assert _summary(configured.analyze_stack(stack)) == []
    stack = edited(stack, "Deployment", "backend-blue", setter("spec.replicas", 0))
    assert [d.policyName for d in configured.analyze_stack(stack)] == ["active-color-ready"]


def test_an_unknown_decisive_value_is_reported_as_not_checkable_in_preview(configured: Analyzer) -> None:
    stack = edited(dev_stack(), "Service", "backend", setter("spec.selector", UNKNOWN_OBJECT))
    diagnostics = [d for d in configured.analyze_stack(stack) if d.policyName == "service-selects-one-color"]
    assert [(d.enforcementLevel, d.message) for d in diagnostics] == [
        (
            ADVISORY,
            "can't run policy 'service-selects-one-color' from policy pack 'bluegreen-guardrails@v0.0.1' during "
            "preview: Object value at .spec.selector can't be known during preview",
        )
    ]
