"""The gate reads $KUBECONFIG as the Kubernetes provider does: client-go's loading rules, not the Python client's.

client-go (`ClientConfigLoadingRules.Load` in tools/clientcmd/loader.go) skips a missing file, reads an empty one
as an empty config, lets the first file that names a cluster, context or user win it whole, and takes
current-context from the first file that sets a non-empty one. The Python client's KubeConfigMerger lets the
last file's current-context win and refuses an empty file, so the gate could check another cluster than the one
the provider deploys to. Every case writes real files and reads the server the resulting client would call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.config.config_exception import ConfigException

from bluegreen.app import gate

A = "http://a.example:6443"
B = "http://b.example:6443"
A_AGAIN = "http://a-again.example:6443"
EMPTY = ""
"""A file of zero bytes: client-go reads it as an empty config."""
ABSENT = None
"""A file listed in $KUBECONFIG that does not exist."""


def kubeconfig(name: str, server: str, current: str | None = None, **extra: Any) -> str:
    """A kubeconfig with one cluster, context and token user all called `name`; `current=None` leaves it unset."""
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"token": f"token-{name}"}}],
        **extra,
    }
    if current is not None:
        document["current-context"] = current
    return yaml.safe_dump(document)


def write(tmp_path: Path, files: dict[str, str | None]) -> dict[str, str]:
    """Write `files` (None: leave absent) under `tmp_path`; the environment listing them all, in order."""
    for name, text in files.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    return {"KUBECONFIG": os.pathsep.join(str(tmp_path / name) for name in files)}


def host(access: gate.KubeAccess, environ: dict[str, str]) -> str:
    with gate.api_client(access, environ) as api:
        return str(api.configuration.host)


@pytest.mark.parametrize(
    ("files", "context", "expected"),
    [
        pytest.param({"config": kubeconfig("a", A, current="a")}, None, A, id="a-single-file-is-read-as-before"),
        pytest.param(
            {"first": kubeconfig("a", A), "second": kubeconfig("b", B, current="b")},
            None,
            B,
            id="only-the-second-file-sets-current-context-so-it-is-used",
        ),
        pytest.param(
            {"first": kubeconfig("a", A, current="a"), "second": kubeconfig("b", B, current="b")},
            None,
            A,
            id="both-files-set-current-context-the-first-wins",
        ),
        pytest.param(
            {"first": kubeconfig("a", A, current="a"), "second": kubeconfig("b", B, current="")},
            None,
            A,
            id="an-empty-current-context-in-a-later-file-does-not-unset-the-first",
        ),
        pytest.param(
            {"first": kubeconfig("a", A, current="a"), "second": kubeconfig("a", A_AGAIN, current="a")},
            None,
            A,
            id="the-same-context-and-cluster-name-in-both-files-the-first-wins",
        ),
        pytest.param(
            {"first": kubeconfig("a", A, current="a"), "second": kubeconfig("b", B, current="b")},
            "b",
            B,
            id="kubernetes-context-selects-a-context-of-the-second-file",
        ),
        pytest.param(
            {"missing": ABSENT, "config": kubeconfig("a", A, current="a")},
            None,
            A,
            id="a-missing-file-in-the-list-is-skipped",
        ),
        pytest.param(
            {"empty": EMPTY, "config": kubeconfig("a", A, current="a")},
            None,
            A,
            id="an-empty-file-in-the-list-is-skipped",
        ),
        pytest.param(
            {"comments": "# nothing here yet\n", "config": kubeconfig("a", A, current="a")},
            None,
            A,
            id="a-file-of-comments-only-is-skipped",
        ),
    ],
)
def test_kubeconfig_list_resolves_to_the_providers_server(
    tmp_path: Path, files: dict[str, str | None], context: str | None, expected: str
) -> None:
    assert host(gate.KubeAccess(context=context), write(tmp_path, files)) == expected


def test_a_tilde_in_the_kubeconfig_list_is_not_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # client-go takes "~/first" literally (a directory named "~"), so that file is missing and context "a" is
    # the second file's; expanded, the first file would win the name.
    home = tmp_path / "home"
    home.mkdir()
    (home / "first").write_text(kubeconfig("a", A_AGAIN, current="a"))
    (tmp_path / "second").write_text(kubeconfig("a", A, current="a"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)

    assert host(gate.KubeAccess(), {"KUBECONFIG": f"~/first{os.pathsep}{tmp_path / 'second'}"}) == A


def test_relative_file_references_resolve_against_the_file_of_their_entry(tmp_path: Path) -> None:
    # The user comes from a file in another directory than its cluster: client-go joins the user's paths to the
    # user's own file, the Python client's merger to the cluster's.
    clusters, users = tmp_path / "clusters", tmp_path / "users"
    clusters.mkdir()
    (users / "certs").mkdir(parents=True)
    (clusters / "ca.crt").write_text("ca")
    (users / "certs" / "client.crt").write_text("cert")
    (users / "certs" / "client.key").write_text("key")
    cluster_file = {
        "clusters": [{"name": "a", "cluster": {"server": "https://a.example:6443", "certificate-authority": "ca.crt"}}],
        "contexts": [{"name": "a", "context": {"cluster": "a", "user": "u"}}],
        "current-context": "a",
    }
    user_file = {
        "users": [{"name": "u", "user": {"client-certificate": "certs/client.crt", "client-key": "certs/client.key"}}]
    }
    (clusters / "config").write_text(yaml.safe_dump(cluster_file))
    (users / "config").write_text(yaml.safe_dump(user_file))
    environ = {"KUBECONFIG": f"{clusters / 'config'}{os.pathsep}{users / 'config'}"}

    with gate.api_client(gate.KubeAccess(), environ) as api:
        assert (api.configuration.ssl_ca_cert, api.configuration.cert_file, api.configuration.key_file) == (
            str(clusters / "ca.crt"),
            str(users / "certs" / "client.crt"),
            str(users / "certs" / "client.key"),
        )


def test_a_name_twice_in_one_file_is_refused(tmp_path: Path) -> None:
    # client-go refuses such a file (its conversion of the named list fails), so the provider could not connect.
    text = kubeconfig("a", A, current="a", clusters=[{"name": "a", "cluster": {"server": s}} for s in (A, B)])
    environ = write(tmp_path, {"config": text})

    with pytest.raises(ConfigException) as raised:
        gate.api_client(gate.KubeAccess(), environ)

    assert str(raised.value) == f"Invalid kube-config file {tmp_path / 'config'}: duplicate name 'a' in clusters"


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({"missing": ABSENT}, id="only-a-missing-file"),
        pytest.param({"empty": EMPTY, "missing": ABSENT}, id="only-an-empty-file-and-a-missing-one"),
    ],
)
def test_no_configuration_in_the_list_outside_a_pod_fails_clearly(tmp_path: Path, files: dict[str, str | None]) -> None:
    with pytest.raises(gate.GateError) as raised:
        gate.api_client(gate.KubeAccess(), write(tmp_path, files))

    assert str(raised.value) == (
        "no kubeconfig found (kubernetes:kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a pod"
    )


@pytest.mark.parametrize(
    ("kubeconfig_variable", "expected"),
    [
        pytest.param(None, [os.path.expanduser("~/.kube/config")], id="unset-means-the-home-file"),
        pytest.param("", [os.path.expanduser("~/.kube/config")], id="empty-means-the-home-file"),
        pytest.param(
            os.pathsep.join(["/k/a", "", "/k/b", "/k/a"]),
            ["/k/a", "/k/b"],
            id="empty-entries-skipped-and-a-repeat-read-once",
        ),
        pytest.param(os.pathsep, [], id="only-separators-means-no-file-not-the-home-file"),
    ],
)
def test_kubeconfig_paths_follow_client_gos_default_loading_rules(
    kubeconfig_variable: str | None, expected: list[str]
) -> None:
    environ = {} if kubeconfig_variable is None else {"KUBECONFIG": kubeconfig_variable}

    assert gate.kubeconfig_paths(environ) == expected
