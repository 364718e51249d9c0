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


def test_an_empty_cache_has_no_language_host_and_the_check_says_where_it_belongs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    home = tmp_path / "bluegreen" / "toolchain" / f"langhost-{toolchain.requirement('pulumi')}"
    assert toolchain._language_host(toolchain.pins(), fix=False) == f"the language host's virtualenv in {home}"


def test_the_launcher_runs_the_package_the_toolchain_installs():
    launcher = (toolchain.LANGHOST_SOURCE / toolchain.LANGHOST_LAUNCHER).read_text()
    assert launcher.splitlines()[-1] == f'exec "$here/venv/bin/python" -I -u -m {toolchain.LANGHOST_PACKAGE} "$@"'
