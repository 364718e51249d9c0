"""`bgctl render`: every Kubernetes object a stack would create, as YAML, with no Pulumi CLI and no cluster.

The project's own program runs under the Pulumi SDK's mock engine with the stack's config as the CLI
would pass it (Pulumi.yaml's defaults under Pulumi.<stack>.yaml), so a bad config is refused with the
same message `pulumi up` prints. Values stored with --secret cannot be read without the CLI: they, and
every secret the program passes on, are shown as [secret]. Names the provider generates are shown as
`<name>-<generated>`.
"""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from bluegreen import naming
from bluegreen.cli.errors import BgctlError
from bluegreen.config.problems import SECRET_SHOWN, ConfigError

KUBERNETES: Final = "kubernetes:"
KIND_ORDER: Final = (
    "Namespace",
    "NetworkPolicy",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Service",
    "PodDisruptionBudget",
    "Deployment",
)
"""The order objects are printed in, as `helm template` does: what others refer to first."""
GENERATED: Final = "<generated>"


@dataclass(frozen=True)
class Rendered:
    """One object: its Pulumi type and resource name, and its manifest."""

    type: str
    name: str
    manifest: dict[str, Any]


def stack_config(work_dir: Path, stack: str) -> tuple[dict[str, str], list[str]]:
    """The stack's config as the engine hands it to the program (qualified keys, text), and the secret keys."""
    project = yaml.safe_load((work_dir / "Pulumi.yaml").read_text()) or {}
    declared = project.get("config") or {}
    project_name = str(project.get("name") or naming.PROJECT)
    config: dict[str, Any] = {
        f"{project_name}:{key}": spec["default"]
        for key, spec in declared.items()
        if isinstance(spec, Mapping) and "default" in spec
    }
    stack_file = work_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise BgctlError(f"no {stack_file.name} in {work_dir}: create the stack with `pulumi stack init {stack}`")
    config |= (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    secret_keys = [key for key, value in config.items() if _has_secure(value)]
    shown = {key: _without_secure(value) for key, value in config.items()}
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in shown.items()}, secret_keys


def _is_secure(value: Any) -> bool:
    """A value the CLI stores encrypted (`{secure: v1:...}`): only the CLI, with the passphrase, reads it."""
    return isinstance(value, Mapping) and set(value) == {"secure"}


def _has_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, Mapping):
        return any(_has_secure(item) for item in value.values())
    return isinstance(value, list) and any(_has_secure(item) for item in value)


def _without_secure(value: Any) -> Any:
    if _is_secure(value):
        return SECRET_SHOWN
    if isinstance(value, Mapping):
        return {key: _without_secure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_secure(item) for item in value]
    return value


def _shown(value: Any) -> Any:
    """`value` with every secret replaced by [secret], and whole numbers as integers."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET_SHOWN
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the engine carries every number as a float
    return value


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        metadata = state.get("metadata")
        if isinstance(metadata, dict) and "name" not in metadata:
            state["metadata"] = {**metadata, "name": f"{args.name}-{GENERATED}"}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class _Recorder(MockMonitor):
    def __init__(self) -> None:
        super().__init__(_Mocks())
        self.objects: list[Rendered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type.startswith(KUBERNETES):
            inputs = _shown(json.loads(json.dumps(rpc.deserialize_properties(request.object))))
            self.objects.append(Rendered(request.type, request.name, _manifest(request.type, request.name, inputs)))
        return response


def _manifest(resource_type: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    group_version, kind = resource_type.removeprefix(KUBERNETES).rsplit(":", 1)
    group, version = group_version.split("/")
    metadata = dict(inputs.pop("metadata", {}))
    metadata.setdefault("name", f"{name}-{GENERATED}")
    inputs.pop("apiVersion", None)
    inputs.pop("kind", None)
    api_version = version if group == "core" else f"{group}/{version}"
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **inputs}


def render(work_dir: Path, stack: str) -> list[Rendered]:
    """Run the project's program on the stack's config under the mock engine; every object it registers."""
    config, secret_keys = stack_config(work_dir, stack)
    monitor = _Recorder()
    pulumi.runtime.set_mocks(_Mocks(), project=naming.PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys=secret_keys)

    @pulumi.runtime.test
    def evaluate() -> None:
        cwd = os.getcwd()
        os.chdir(work_dir)
        try:
            # As the engine runs a program: its directory first on the import path, as `__main__`.
            runpy.run_path(str(work_dir.resolve()), run_name="__main__")
        except SystemExit as stopped:
            if isinstance(stopped.__cause__, ConfigError):
                raise BgctlError(str(stopped.__cause__)) from None
            raise
        finally:
            os.chdir(cwd)

    evaluate()
    return sorted(monitor.objects, key=_print_order)


def _print_order(rendered: Rendered) -> tuple[int, str]:
    kind = rendered.manifest["kind"]
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), rendered.manifest["metadata"]["name"])


def as_yaml(objects: list[Rendered]) -> Iterator[str]:
    for rendered in objects:
        yield f"# {rendered.type} {rendered.name}\n"
        yield yaml.safe_dump(rendered.manifest, sort_keys=False, width=1000)
        yield "---\n"
