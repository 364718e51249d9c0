"""One evaluation of the program under the SDK's mock engine, as one process: `python -m bench.evaluate N|dev|floor`.

`floor` imports exactly the modules an evaluation imports and stops there: the cost no program
can go below. `dev` evaluates the dev stack; a number N evaluates a stack of N apps; `control-N`
registers N times eight one-line ConfigMaps (what the SDK itself costs per eight registrations,
the number an app registers), for comparison.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi.runtime import settings as runtime_settings

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


def control(apps: int) -> None:
    pulumi.runtime.set_mocks(_Mocks(), project="bluegreen", stack="bench", preview=False)

    @pulumi.runtime.test
    def run() -> None:
        for i in range(apps * 8):
            k8s.core.v1.ConfigMap(f"control-{i}", metadata={"name": f"control-{i}"}, data={"key": "value"})

    run()


def evaluate(config: dict[str, Any]) -> None:
    os.environ.pop("PULUMI_CONFIG", None)
    pulumi.runtime.set_mocks(_Mocks(), project="bluegreen", stack="bench", preview=False)
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})

    @pulumi.runtime.test
    def run() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    run()
    assert runtime_settings.get_root_resource() is not None


def main(argv: list[str]) -> None:
    (what,) = argv
    if what == "floor":
        return
    if what.startswith("control-"):
        return control(int(what.removeprefix("control-")))
    evaluate(dev_config() if what == "dev" else apps_config(int(what)))


if __name__ == "__main__":
    main(sys.argv[1:])
    # Every case ends here alike, without interpreter teardown: it measures nothing of the program,
    # and the SDK's event loop can complain while being collected at that point.
    sys.stdout.flush()
    os._exit(0)
