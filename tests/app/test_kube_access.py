"""The hooks' `kubernetes:` config is read once per stack by the stack loader, not once per app by each hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings

from bench import evaluate
from bluegreen.config.model import KubeAccess


def test_the_stack_loader_reads_where_the_hooks_reach_the_cluster_from_the_kubernetes_keys() -> None:
    config = {"bluegreen:activeColor": "blue", "kubernetes:context": "kind-bluegreen", "kubernetes:cluster": "c"}
    assert KubeAccess.of(config) == KubeAccess(context="kind-bluegreen", cluster="c")


def _parses_of_the_stack_config(apps: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """How often evaluating `apps` apps, config handed over as Pulumi's executor does, parses PULUMI_CONFIG."""
    parses: list[None] = []
    original: Callable[[], dict[str, Any]] = runtime_config.get_config_env

    def get_config_env() -> dict[str, Any]:
        parses.append(None)
        return original()

    monkeypatch.setattr(runtime_config, "get_config_env", get_config_env)
    monkeypatch.setenv("PULUMI_CONFIG", "{}")  # both restored afterwards: the evaluation sets the one, drops the other
    monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    runtime_settings.ROOT.set(None)
    evaluate.evaluate(evaluate.apps_config(apps))
    return len(parses)


def test_evaluating_three_apps_parses_the_stack_config_as_often_as_one_app(monkeypatch: pytest.MonkeyPatch) -> None:
    one = _parses_of_the_stack_config(1, monkeypatch)

    assert _parses_of_the_stack_config(3, monkeypatch) == one
