"""One evaluation of the program under the SDK's mock engine, as one process: `python -m bench.evaluate [--no-gc] CASE`.

`floor` imports exactly the modules an evaluation imports and stops there: the cost no program
can go below. `dev` evaluates the dev stack; a number N evaluates a stack of N apps, its config
handed over as Pulumi's executor hands it (JSON in PULUMI_CONFIG, copied into the SDK's config).
Two controls register without the program: `shape-N` the program's own resource graph for N apps
(bench/shape.py), the SDK's part of evaluating N apps; `control-N` N times eight one-line
ConfigMaps, the SDK's cost per eight registrations (the number an app registers) at its smallest.
`--no-gc` turns Python's cyclic garbage collector off once the imports are done: a diagnosis, to
see what the collections cost.
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings

from bench import shape

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "hashicorp/http-echo:1.0.0"
# pulumi_kubernetes loads a module on first use: naming every resource class the program creates
# makes the floor pay for exactly the imports an evaluation pays for.
RESOURCE_CLASSES = (
    k8s.apps.v1.Deployment,
    k8s.core.v1.ConfigMap,
    k8s.core.v1.Namespace,
    k8s.core.v1.Service,
    k8s.core.v1.ServiceAccount,
    k8s.networking.v1.NetworkPolicy,
    k8s.policy.v1.PodDisruptionBudget,
)


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def dev_config() -> dict[str, Any]:
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {key: value for key, value in stack.items()}


def apps_config(count: int) -> dict[str, Any]:
    apps = [
        {"name": f"app{i}", "blueImage": IMAGE, "blueVersion": "1.1", "greenImage": IMAGE, "greenVersion": "1.2"}
        for i in range(count)
    ]
    return {"bluegreen:activeColor": "blue", "bluegreen:apps": apps}


def _registers(program: Callable[[], None]) -> None:
    """Run `program` as a Pulumi program under the mock engine, without any stack config."""
    os.environ.pop("PULUMI_CONFIG", None)
    pulumi.runtime.set_mocks(_Mocks(), project="bluegreen", stack="bench", preview=False)
    pulumi.runtime.set_all_config({})
    pulumi.runtime.test(program)()


def control(apps: int) -> None:
    def run() -> None:
        for i in range(apps * 8):
            k8s.core.v1.ConfigMap(f"control-{i}", metadata={"name": f"control-{i}"}, data={"key": "value"})

    _registers(run)


def evaluate(config: dict[str, Any]) -> None:
    # As Pulumi's executor does: the engine's config as JSON in PULUMI_CONFIG, copied into the SDK's.
    os.environ["PULUMI_CONFIG"] = json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    os.environ.pop("PULUMI_CONFIG_SECRET_KEYS", None)
    pulumi.runtime.set_mocks(_Mocks(), project="bluegreen", stack="bench", preview=False)
    pulumi.runtime.set_all_config(runtime_config.get_config_env(), runtime_config.get_config_secret_keys_env())

    @pulumi.runtime.test
    def run() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    run()
    assert runtime_settings.get_root_resource() is not None


def main(argv: list[str]) -> None:
    if "--no-gc" in argv:
        gc.disable()
    (what,) = [arg for arg in argv if arg != "--no-gc"]
    if what == "floor":
        return
    if what.startswith("control-"):
        return control(int(what.removeprefix("control-")))
    if what.startswith("shape-"):
        apps = int(what.removeprefix("shape-"))
        return _registers(lambda: shape.register(apps))
    evaluate(dev_config() if what == "dev" else apps_config(int(what)))


if __name__ == "__main__":
    main(sys.argv[1:])
    # Every case ends here alike, without interpreter teardown: it measures nothing of the program,
    # and the SDK's event loop can complain while being collected at that point.
    sys.stdout.flush()
    os._exit(0)
