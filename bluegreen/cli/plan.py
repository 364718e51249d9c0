"""Classify the steps of a cutover plan, as the engine reports them in its events.

A cutover may only move Service selectors and change Deployment replica counts of the app being
switched. Anything else is listed, and a replace or delete of a Deployment or Service is refused
outright: that is how a color, or the Service's stable ClusterIP, disappears.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from pulumi.automation import OpType, StepEventMetadata

from bluegreen import naming
from bluegreen.naming import COLORS, Color

SERVICE_TYPE: Final = "kubernetes:core/v1:Service"
DEPLOYMENT_TYPE: Final = "kubernetes:apps/v1:Deployment"
GUARDED_TYPES: Final = frozenset({SERVICE_TYPE, DEPLOYMENT_TYPE})
UNCHANGED_OPS: Final = frozenset({OpType.SAME, OpType.READ, OpType.REFRESH})
DESTRUCTIVE_OPS: Final = frozenset(
    {
        OpType.DELETE,
        OpType.REPLACE,
        OpType.CREATE_REPLACEMENT,
        OpType.DELETE_REPLACED,
        OpType.DISCARD,
        OpType.DISCARD_REPLACED,
        OpType.READ_REPLACEMENT,
        OpType.IMPORT_REPLACEMENT,
    }
)
SELECTOR_PATH: Final = "spec.selector"
REPLICAS_PATH: Final = "spec.replicas"


class Kind(StrEnum):
    UNCHANGED = "unchanged"
    SELECTOR = "selector"
    REPLICAS = "replicas"
    OTHER = "other"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class Step:
    op: OpType
    type: str
    name: str
    paths: tuple[str, ...]
    """Changed property paths: the engine's detailed diff, else its top-level `diffs` keys."""
    old: Mapping[str, Any]
    new: Mapping[str, Any]
    kind: Kind

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    def describe(self) -> str:
        label = f"{self.short_type} {self.name}"
        if self.kind is Kind.SELECTOR:
            return f"{label}: selector color {naming.service_selector_color(self.old)} -> " + str(
                naming.service_selector_color(self.new)
            )
        if self.kind is Kind.REPLICAS:
            return f"{label}: replicas {_get(self.old, 'spec', 'replicas')} -> {_get(self.new, 'spec', 'replicas')}"
        changed = f" ({', '.join(self.paths)})" if self.paths else ""
        return f"{self.op.value} {label}{changed}"


def _get(mapping: Mapping[str, Any] | None, *keys: str) -> Any:
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def step_from_event(meta: StepEventMetadata, app: str) -> Step:
    """Classify one engine step for a cutover of `app`."""
    paths = tuple(sorted(meta.detailed_diff)) if meta.detailed_diff else tuple(meta.diffs or ())
    old = (meta.old.inputs if meta.old else None) or {}
    new = (meta.new.inputs if meta.new else None) or {}
    name = meta.urn.rsplit("::", 1)[-1]
    services = {naming.service_name(app), naming.preview_service_name(app)}
    deployments = {naming.deployment_name(app, color) for color in COLORS}
    kind = Kind.OTHER
    if meta.op in UNCHANGED_OPS:
        kind = Kind.UNCHANGED
    elif meta.op in DESTRUCTIVE_OPS and meta.type in GUARDED_TYPES:
        kind = Kind.FORBIDDEN
    elif meta.op == OpType.UPDATE and paths:
        if meta.type == SERVICE_TYPE and name in services and all(_under(p, SELECTOR_PATH) for p in paths):
            kind = Kind.SELECTOR
        elif meta.type == DEPLOYMENT_TYPE and name in deployments and all(p == REPLICAS_PATH for p in paths):
            kind = Kind.REPLICAS
    return Step(meta.op, meta.type, name, paths, old, new, kind)


@dataclass(frozen=True)
class Plan:
    app: str
    from_color: Color
    to_color: Color
    steps: tuple[Step, ...]

    def of(self, *kinds: Kind) -> list[Step]:
        return [s for s in self.steps if s.kind in kinds]

    @property
    def switches(self) -> bool:
        """Whether the active Service's selector moves to the target color."""
        return any(
            s.kind is Kind.SELECTOR
            and s.name == naming.service_name(self.app)
            and naming.service_selector_color(s.new) == self.to_color
            for s in self.steps
        )

    def problems(self, allow_changes: bool) -> list[str]:
        """Why this plan is not a safe cutover; empty when it is."""
        found = [f"would {s.describe()}" for s in self.of(Kind.FORBIDDEN)]
        if not allow_changes:
            found += [f"would also {s.describe()}" for s in self.of(Kind.OTHER)]
        if not self.switches:
            found.append(f"does not move Service {naming.service_name(self.app)}'s selector to {self.to_color}")
        return found

    def summary(self, stack: str) -> list[str]:
        lines = [f"Cutover plan for {self.app} on stack {stack}: {self.from_color} -> {self.to_color}"]
        sections = (
            ("Service selectors", (Kind.SELECTOR,)),
            ("Replica counts", (Kind.REPLICAS,)),
            ("Other steps", (Kind.OTHER, Kind.FORBIDDEN)),
        )
        for title, kinds in sections:
            steps = self.of(*kinds)
            lines.append(f"  {title}:")
            lines += [f"    {'!' if s.kind is Kind.FORBIDDEN else '~'} {s.describe()}" for s in steps] or ["    (none)"]
        lines.append(f"  Unchanged: {len(self.of(Kind.UNCHANGED))} resource(s)")
        return lines


def build_plan(app: str, from_color: Color, to_color: Color, events: Iterable[StepEventMetadata]) -> Plan:
    """One step per (resource, op): the engine may report a step more than once (pre and outputs)."""
    seen: set[tuple[str, str]] = set()
    steps: list[Step] = []
    for meta in events:
        if (meta.urn, meta.op.value) in seen or meta.type == "pulumi:pulumi:Stack":
            continue
        seen.add((meta.urn, meta.op.value))
        steps.append(step_from_event(meta, app))
    return Plan(app, from_color, to_color, tuple(steps))


TEMPLATE_PATH: Final = "spec.template"


def release_problems(app: str, idle: Color, steps: Iterable[StepEventMetadata]) -> tuple[list[str], list[str]]:
    """A release's plan: it may change only the idle color's pod template. Returns its lines and its problems."""
    deployment = naming.deployment_name(app, idle)
    lines: list[str] = []
    problems: list[str] = []
    rolled = False
    for step in (step_from_event(meta, app) for meta in steps):
        if step.kind is Kind.UNCHANGED:
            continue
        template = (
            step.op == OpType.UPDATE
            and step.type == DEPLOYMENT_TYPE
            and step.name == deployment
            and bool(step.paths)
            and all(_under(path, TEMPLATE_PATH) for path in step.paths)
        )
        lines.append(
            f"    {'~' if template else '!'} {step.op.value} {step.short_type} {step.name} ({', '.join(step.paths)})"
        )
        if template:
            rolled = True
        else:
            described = step.describe()
            problems.append(
                f"would {described if described.startswith(step.op.value) else f'{step.op.value} {described}'}"
            )
    if not rolled:
        problems.append(f"does not change Deployment {deployment}'s pod template")
    return lines, problems
