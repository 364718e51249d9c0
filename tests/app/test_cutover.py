"""A cutover is one config change that moves the two Services' selectors and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

# Fields whose change makes pulumi-kubernetes replace a resource (delete and recreate).
REPLACEMENT_FIELDS = (("metadata", "name"), ("metadata", "namespace"), ("spec", "clusterIP"))


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Every leaf path whose value differs between two input trees."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in sorted(set(a) | set(b)) for p in _diff(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def _changes(overrides_a: dict[str, Any], overrides_b: dict[str, Any], program) -> dict[str, list[str]]:
    a = {(r.type, r.name): r.inputs for r in program(overrides_a).registrations}
    b = {(r.type, r.name): r.inputs for r in program(overrides_b).registrations}
    assert set(a) == set(b)
    changes = {f"{t.split(':')[-1]}/{n}": _diff(a[t, n], b[t, n]) for t, n in a}
    return {k: v for k, v in changes.items() if v}


def test_cutover_changes_only_the_two_service_selectors(program):
    assert _changes({"activeColor": "blue"}, {"activeColor": "green"}, program) == {
        "Service/backend": [".spec.selector.color"],
        "Service/backend-preview": [".spec.selector.color"],
    }


@pytest.mark.parametrize("idle", [0, 1])
def test_cutover_with_idle_replicas_also_swaps_the_replica_counts(program, idle):
    assert _changes(
        {"activeColor": "blue", "idleReplicas": idle}, {"activeColor": "green", "idleReplicas": idle}, program
    ) == {
        "Deployment/backend-blue": [".spec.replicas"],
        "Deployment/backend-green": [".spec.replicas"],
        "Service/backend": [".spec.selector.color"],
        "Service/backend-preview": [".spec.selector.color"],
    }


def test_cutover_touches_no_field_that_forces_a_replacement(program):
    for active in ("blue", "green"):
        for r in program({"activeColor": active}).kubernetes:
            assert "clusterIP" not in r.inputs.get("spec", {}), r.name
    changed = _changes({"activeColor": "blue", "idleReplicas": 0}, {"activeColor": "green", "idleReplicas": 0}, program)
    touched = {path for paths in changed.values() for path in paths}
    assert not any(p.startswith((".metadata", ".spec.selector.matchLabels", ".spec.clusterIP")) for p in touched)


def test_rollback_returns_both_selectors_to_where_they_were(program):
    def selectors(color):
        run = program({"activeColor": color})
        return {
            name: run.get("Service", name).inputs["spec"]["selector"]["color"]
            for name in ("backend", "backend-preview")
        }

    assert selectors("blue") == {"backend": "blue", "backend-preview": "green"}
    assert selectors("green") == {"backend": "green", "backend-preview": "blue"}
    # Back to blue: the very inputs of the first run, so the engine sees one in-place patch back.
    first = {(r.type, r.name): r.inputs for r in program({"activeColor": "blue"}).registrations}
    program({"activeColor": "green"})
    again = {(r.type, r.name): r.inputs for r in program({"activeColor": "blue"}).registrations}
    assert first == again
