"""Run the pack's policies in-process on resources shaped exactly as the engine sends them.

Props go through the SDK's own decoding (a protobuf Struct, then the read-only proxy), so numbers
are floats and mappings are read-only, as at run time. Resource policies see inputs; stack
policies see outputs, which for a Service include the ClusterIP the cluster assigned.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bluegreen_policies.catalog import POLICIES
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from tests.conftest import Run, dev_config, run_program

ASSIGNED_CLUSTER_IP = "10.96.0.10"


@dataclass(frozen=True)
class Res:
    """One resource as the engine knows it."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    protect: bool = False
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    extra_outputs: dict[str, Any] = field(default_factory=dict)
    """Merged over the inputs to make the outputs: what the cluster (or a preview's unknowns) adds."""

    @property
    def outputs(self) -> dict[str, Any]:
        """What the provider reports after applying: the inputs plus what the cluster assigns."""
        outputs = copy.deepcopy(self.inputs)
        if self.type == "kubernetes:core/v1:Service":
            outputs.setdefault("spec", {}).setdefault("clusterIP", ASSIGNED_CLUSTER_IP)
        _merge(outputs, copy.deepcopy(self.extra_outputs))
        return outputs


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(props)
    return message


def runtime_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """`props` decoded the way the analyzer decodes a request: floats, read-only proxies."""
    decoded: Mapping[str, Any] = unknown_checking_proxy(
        deserialize_properties(json_format.MessageToDict(struct(props)))
    )
    return decoded


def _options(res: Res) -> PolicyResourceOptions:
    return PolicyResourceOptions(res.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], res.parent or None)


def from_run(run: Run) -> tuple[Res, ...]:
    return tuple(
        Res(r.type, r.name, r.urn, r.inputs, r.protect, r.parent, tuple(r.dependencies)) for r in run.registrations
    )


@functools.cache
def _dev_stack() -> tuple[Res, ...]:
    return from_run(run_program(dev_config()))


def dev_stack() -> list[Res]:
    """The dev stack's resources, captured once from the real program under the mock engine; a fresh copy."""
    return copy.deepcopy(list(_dev_stack()))


def program_stack(overrides: Mapping[str, Any]) -> list[Res]:
    config = dev_config()
    config.update(overrides)
    return list(from_run(run_program(config)))


def policy(name: str) -> Policy:
    return next(p for p in POLICIES if p.name == name)


def check_resource(policy_name: str, res: Res, config: Mapping[str, Any] | None = None) -> list[str]:
    found = policy(policy_name)
    assert isinstance(found, ResourceValidationPolicy)
    messages: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    args = ResourceValidationArgs(res.type, runtime_props(res.inputs), res.urn, res.name, _options(res), None, config)
    found.validate(args, report)
    return messages


def check_stack(
    policy_name: str, resources: Sequence[Res], config: Mapping[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    found = policy(policy_name)
    assert isinstance(found, StackValidationPolicy)
    by_urn = {
        r.urn: PolicyResource(r.type, runtime_props(r.outputs), r.urn, r.name, _options(r), None, None, [], {})
        for r in resources
    }
    for r in resources:
        by_urn[r.urn].parent = by_urn.get(r.parent)
        by_urn[r.urn].dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
    reported: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append((message, urn))

    found.validate(StackValidationArgs(list(by_urn.values()), config), report)
    return reported


def check(policy_name: str, resources: Sequence[Res], config: Mapping[str, Any] | None = None) -> list[str]:
    """Every message `policy_name` reports on the stack, whichever kind of policy it is."""
    if isinstance(policy(policy_name), StackValidationPolicy):
        return [message for message, _ in check_stack(policy_name, resources, config)]
    return [message for res in resources for message in check_resource(policy_name, res, config)]


def violations(resources: Sequence[Res], level: EnforcementLevel) -> list[tuple[str, str]]:
    """(policy, message) for every policy of the pack at `level`."""
    return [(p.name, message) for p in POLICIES if p.enforcement_level == level for message in check(p.name, resources)]


def find(resources: Iterable[Res], kind: str, name: str) -> Res:
    matches = [r for r in resources if r.type.endswith(f":{kind}") and r.name == name]
    assert len(matches) == 1, f"expected one {kind} {name}, got {len(matches)}"
    return matches[0]


def edited(resources: Sequence[Res], kind: str, name: str, change: Callable[[dict[str, Any]], object]) -> list[Res]:
    """A copy of the stack in which `change` has edited one resource's inputs in place."""
    target = find(resources, kind, name)
    inputs = copy.deepcopy(target.inputs)
    change(inputs)
    return [replace(r, inputs=inputs) if r is target else r for r in resources]


def without(resources: Sequence[Res], kind: str, name: str) -> list[Res]:
    target = find(resources, kind, name)
    return [r for r in resources if r is not target]


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Sets the value at a dotted path (list indexes as numbers), creating objects on the way."""

    def change(props: dict[str, Any]) -> None:
        *parents, last = _keys(path)
        node: Any = props
        for key in parents:
            node = node[key] if isinstance(key, int) else node.setdefault(key, {})
        node[last] = value

    return change


def remover(path: str) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        *parents, last = _keys(path)
        node: Any = props
        for key in parents:
            node = node[key]
        del node[last]

    return change


def _keys(path: str) -> list[str | int]:
    return [int(k) if k.isdigit() else k for k in path.split(".")]
