"""The gate as the program attaches it: a named `before_update` hook on each app's active Service only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from bluegreen import naming
from bluegreen.app import gate
from tests.app.test_gate import BLUE_TO_GREEN, app, ready_cluster
from tests.conftest import RecordingMonitor, Run, _Mocks
from tests.fakes import kube_api as kube

SERVICE = "kubernetes:core/v1:Service"


def test_the_gate_is_attached_to_the_active_service_only(program: Callable[..., Run]) -> None:
    run = program({"preSwitchGate": True})

    hooked = {(r.type, r.name): r.before_update_hooks for r in run.registrations if r.before_update_hooks}
    assert hooked == {(SERVICE, naming.service_name("backend")): [gate.hook_name("backend")]}


def test_no_gate_is_attached_when_pre_switch_gate_is_false(program: Callable[..., Run]) -> None:
    run = program({"preSwitchGate": False})

    assert [r.name for r in run.registrations if r.before_update_hooks] == []


@pytest.fixture
def api() -> Iterator[kube.FakeKubeApi]:
    served = kube.serve(ready_cluster())
    yield next(served)
    served.close()


def build_hook(config: dict[str, str]) -> pulumi.ResourceHook:
    """Build the hook inside a mock-engine program, with `config` as the stack's config."""
    runtime_settings.ROOT.set(None)
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project=naming.PROJECT, stack="dev", monitor=RecordingMonitor(mocks))
    pulumi.runtime.set_all_config(config)
    built: list[pulumi.ResourceHook] = []

    @pulumi.runtime.test
    def program() -> None:
        built.append(gate.pre_switch_hook(app(), kube.NAMESPACE, gate.KubeAccess.from_stack_config()))

    program()
    return built[0]


def call(hook: pulumi.ResourceHook, old: Any, new: Any) -> None:
    args = pulumi.ResourceHookArgs(
        urn="urn:pulumi:dev::bluegreen::bluegreen:index:BlueGreenApp$kubernetes:core/v1:Service::backend",
        id="bluegreen-dev/backend",
        name="backend",
        type=SERVICE,
        old_inputs=old,
        new_inputs=new,
    )
    result = hook.callback(args)
    assert result is not None
    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the loop the mock engine runs on
    try:
        loop.run_until_complete(result)
    finally:
        loop.close()


def test_the_hook_is_named_per_app_and_uses_the_kubernetes_stack_config(api: kube.FakeKubeApi) -> None:
    config = kube.kubeconfig(api.url, current="other", extra_server="http://127.0.0.1:9")
    hook = build_hook({"kubernetes:kubeconfig": config, "kubernetes:context": "kind-bluegreen"})

    call(hook, *BLUE_TO_GREEN)

    assert hook.name == "backend-pre-switch-gate"
    assert api.cluster.requests == [
        "GET /apis/apps/v1/namespaces/bluegreen-dev/deployments/backend-green",
        "GET /api/v1/namespaces/bluegreen-dev/pods?labelSelector=app=backend,color=green",
    ]


def test_the_hook_fails_the_switch_when_the_target_is_not_ready(api: kube.FakeKubeApi) -> None:
    api.cluster.pods = []
    hook = build_hook({"kubernetes:kubeconfig": kube.kubeconfig(api.url)})

    with pytest.raises(gate.GateError, match="green has 0 Ready pod\\(s\\) not terminating in bluegreen-dev"):
        call(hook, *BLUE_TO_GREEN)
