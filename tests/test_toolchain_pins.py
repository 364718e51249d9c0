"""The end-to-end toolchain's pins agree with the Python packages the program runs on."""

from __future__ import annotations

import re

from e2e import toolchain


def _pinned(package: str) -> tuple[int, ...]:
    found = toolchain.requirement(package)
    assert found is not None, package
    return tuple(int(part) for part in found.split("."))


def _version(component: str) -> tuple[int, ...]:
    return tuple(int(part) for part in toolchain.pins()[component]["version"].split("."))


def test_the_provider_plugin_is_exactly_the_version_the_kubernetes_sdk_asks_for():
    assert _version("kubernetes-provider") == _pinned("pulumi-kubernetes")


def test_the_cli_is_at_least_the_python_sdk_and_new_enough_for_resource_hooks():
    assert _version("pulumi") >= _pinned("pulumi")
    assert _version("pulumi") >= (3, 182, 0)


def test_the_provider_module_is_a_pseudo_version_of_its_release_commit():
    module = toolchain.pins()["kubernetes-provider"]["module"]
    assert re.fullmatch(r"v4\.0\.0-\d{14}-[0-9a-f]{12}", module)
