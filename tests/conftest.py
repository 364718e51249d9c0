"""Run the real program under the Pulumi SDK's mock engine and record every registration."""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockMonitor

from bluegreen import naming
from bluegreen.config.problems import ConfigError

ROOT = Path(__file__).resolve().parent.parent

STACK = "dev"
AUTO_NAME_SUFFIX = "x7k2m9qa"
K8S_PREFIX = "kubernetes:"


@dataclass
class Registration:
    """One `RegisterResource` request as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    protect: bool
    dependencies: list[str]
    before_update_hooks: list[str]
    after_update_hooks: list[str]

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith(K8S_PREFIX)


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.next_ip = 10

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        metadata = state.get("metadata")
        if isinstance(metadata, dict) and "name" not in metadata:
            # The provider auto-names an object without metadata.name: its resource name and a random suffix.
            state["metadata"] = {**metadata, "name": f"{args.name}-{AUTO_NAME_SUFFIX}"}
        if args.typ == "kubernetes:core/v1:Service":
            self.next_ip += 1
            state["spec"] = {**state.get("spec", {}), "clusterIP": f"10.96.0.{self.next_ip}"}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """A mock monitor that also keeps the raw requests, so resource options can be asserted."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    inputs=json.loads(json.dumps(inputs)),
                    protect=request.protect,
                    dependencies=list(request.dependencies),
                    before_update_hooks=list(request.hooks.before_update),
                    after_update_hooks=list(request.hooks.after_update),
                )
            )
        return response


@dataclass
class Run:
    """What one evaluation of the program registered and exported."""

    registrations: list[Registration]
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def kubernetes(self) -> list[Registration]:
        return [r for r in self.registrations if r.is_kubernetes]

    def get(self, type_suffix: str, name: str) -> Registration:
        found = [r for r in self.registrations if r.type.endswith(type_suffix) and r.name == name]
        assert len(found) == 1, f"expected one {type_suffix} named {name}, got {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)


def object_name(registration: Registration) -> str:
    """`metadata.name`, or the name the provider gives an object without one: resource name and a suffix."""
    return registration.inputs["metadata"].get("name", f"{registration.name}-{AUTO_NAME_SUFFIX}")


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether a label selector matches a pod's labels, as Kubernetes decides it."""
    return all(labels.get(k) == v for k, v in selector.items())


def dev_config() -> dict[str, Any]:
    """The dev stack's config as the engine passes it: Pulumi.yaml defaults merged with Pulumi.dev.yaml."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {key: spec["default"] for key, spec in project["config"].items() if "default" in spec}
    stack = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())
    for key, value in stack["config"].items():
        config[key.split(":", 1)[1]] = value
    return config


def engine_value(value: Any) -> str:
    """The engine hands a program every config value as a string, structured ones as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def run_program(
    config: Mapping[str, Any],
    *,
    preview: bool = False,
    secret: tuple[str, ...] = (),
    stray: Mapping[str, str] | None = None,
    exit_as_is: bool = False,
) -> Run:
    """Evaluate `__main__.py` with `config` (unqualified keys) under the mock engine.

    `secret` names the keys stored with --secret; `stray` holds qualified keys of other namespaces.
    The program ends a bad config with SystemExit(32) after reporting it; that is turned back into the
    ConfigError for the tests to read, unless `exit_as_is`.
    """
    os.environ.pop("PULUMI_CONFIG", None)
    runtime_settings.ROOT.set(None)
    monitor = RecordingMonitor(_Mocks())
    pulumi.runtime.set_mocks(_Mocks(), project=naming.PROJECT, stack=STACK, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(
        {**{f"{naming.PROJECT}:{k}": engine_value(v) for k, v in config.items()}, **(stray or {})},
        secret_keys=[f"{naming.PROJECT}:{k}" for k in secret],
    )
    run = Run(monitor.registrations)

    @pulumi.runtime.test
    def evaluate() -> pulumi.Output[None]:
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        except SystemExit as stopped:
            if isinstance(stopped.__cause__, ConfigError) and not exit_as_is:
                raise stopped.__cause__ from None
            raise
        finally:
            os.chdir(cwd)
        stack = runtime_settings.get_root_resource()
        assert stack is not None
        exported = stack.outputs  # type: ignore[attr-defined]
        return pulumi.Output.from_input(exported).apply(run.outputs.update)

    evaluate()
    return run


@pytest.fixture
def program() -> Iterator[Callable[..., Run]]:
    """Run the program; keyword overrides are applied on top of the dev stack's config."""

    def run(overrides: Mapping[str, Any] | None = None, *, without: tuple[str, ...] = (), **kw: Any) -> Run:
        config = dev_config()
        for key in without:
            config.pop(key, None)
        config.update(overrides or {})
        return run_program(config, **kw)

    yield run
