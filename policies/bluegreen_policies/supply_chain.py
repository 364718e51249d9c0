"""Supply chain: every container image is pinned, so what preview shows is what runs."""

from __future__ import annotations

from typing import Final

from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy

from bluegreen_policies.grammar import image_reference
from bluegreen_policies.kube import Workload, report_each


def image_problems(found: Workload) -> list[str]:
    problems: list[str] = []
    for container in found.containers():
        image = container.get("image")
        problem = image_reference(image)
        if problem is None:
            continue
        shown = f'"{image}"' if isinstance(image, str) else "(not set)"
        problems.append(
            f'container "{container.name}": image {shown} {problem}; pin it as <repository>:<version> '
            "or <repository>@sha256:<digest>"
        )
    return problems


POLICIES: Final[list[Policy]] = [
    ResourceValidationPolicy(
        name="images-pinned",
        description="Every container image is pinned to a tag other than latest, or to a digest.",
        validate=report_each(image_problems),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
