"""Build the end-to-end toolchain from Go modules, cached by version: `python -m e2e.toolchain [--check] [--only NAME]`.

Each component lands in <cache>/toolchain/<name>-<version>/bin/ and is reused while its binaries report the pinned
version (the provider and the YAML host have no version flag: a `.version` file written after the build stands in).
Then the provider plugin is installed into the project's own PULUMI_HOME, never ~/.pulumi.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import stat
import sys
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.env import CHECKOUT, STATE_DIR, E2EError, cache_root, run, say

VERSIONS_FILE = Path(__file__).with_name("versions.toml")
PULUMI_HOME = STATE_DIR / "pulumi-home"
# Kubernetes' own default when unstamped; fixed so rebuilds are reproducible.
_K8S_BUILD_DATE = "1970-01-01T00:00:00Z"
_PROBE_TIMEOUT_SECONDS = 60
_PLUGIN_TIMEOUT_SECONDS = 300
_APT_TIMEOUT_SECONDS = 600

Pins = dict[str, dict[str, str]]


def pins() -> Pins:
    """versions.toml as {component table: {key: value}}."""
    with VERSIONS_FILE.open("rb") as f:
        return tomllib.load(f)


def pulumi_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """base (default os.environ) with the CLI kept offline and on the project's PULUMI_HOME."""
    env = dict(os.environ if base is None else base)
    env.update(
        PULUMI_HOME=str(PULUMI_HOME),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
    )
    return env


class _Go:
    """Runs go for one component's build, its output in that build's log."""

    def __init__(self, component: str, src: Path, log: Path) -> None:
        self.component, self.src, self.log = component, src, log
        # -buildvcs=false: the cache may sit inside someone's repository; -mod=mod lets go fill go.mod/go.sum.
        self.env = dict(os.environ, GOFLAGS="-mod=mod -buildvcs=false", CGO_ENABLED="0")

    def __call__(self, *args: str | Path, cwd: Path | None = None, **extra_env: str) -> str:
        return run(
            ["go", *args],
            what=f"{self.component} build",
            env={**self.env, **extra_env},
            cwd=cwd or self.src,
            log=self.log,
        )

    def json(self, *args: str | Path) -> Any:
        return json.loads(
            run(["go", *args], what=f"{self.component} build", env=self.env, cwd=self.src, log=self.log, capture=True)
        )

    def init(self) -> None:
        self("mod", "init", f"bluegreen.build/{self.component}")

    def gomod(self, module: str) -> Any:
        """The parsed go.mod of module@version, as `go mod edit -json` reads it."""
        return self.json("mod", "edit", "-json", self.json("mod", "download", "-json", module)["GoMod"])


def _version_replaces(gomod: Any) -> list[str]:
    """-replace flags carrying over a go.mod's replaces to other modules (local-path ones cannot be)."""
    return [
        f"-replace={r['Old']['Path']}={r['New']['Path']}@{r['New']['Version']}"
        for r in gomod.get("Replace") or []
        if r["New"].get("Version")
    ]


def _build_pulumi(v: str, pin: Pins, go: _Go, out: Path) -> None:
    go.init()
    go("mod", "edit", *_version_replaces(go.gomod(f"github.com/pulumi/pulumi/pkg/v3@v{v}")))
    cli = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
    go("get", f"{cli}@v{v}", f"github.com/pulumi/pulumi/sdk/v3@v{v}")
    stamp = f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v{v}"
    go("build", "-trimpath", "-tags", "osusergo,grpcnotrace", "-ldflags", stamp, "-o", out / "pulumi", cli)


def _build_yaml(v: str, pin: Pins, go: _Go, out: Path) -> None:
    pv = pin["pulumi"]["version"]
    go.init()
    # pulumi/pkg is a dependency here, so its replaces (the clipboard fork) must be repeated.
    go("mod", "edit", *_version_replaces(go.gomod(f"github.com/pulumi/pulumi/pkg/v3@v{pv}")))
    host = "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
    go("get", f"{host}@v{v}", f"github.com/pulumi/pulumi/pkg/v3@v{pv}", f"github.com/pulumi/pulumi/sdk/v3@v{pv}")
    stamp = f"-X github.com/pulumi/pulumi-yaml/pkg/version.Version=v{v}"
    go("build", "-trimpath", "-ldflags", stamp, "-o", out / "pulumi-language-yaml", host)


def _build_provider(v: str, pin: Pins, go: _Go, out: Path) -> None:
    module = f"github.com/pulumi/pulumi-kubernetes/provider/v4@{pin['kubernetes-provider']['module']}"
    cached = go.json("mod", "download", "-json", module)["Dir"]
    go.src.rmdir()
    shutil.copytree(cached, go.src)
    for path in [go.src, *go.src.rglob("*")]:  # the module cache is read-only
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    upstream = go.json("mod", "edit", "-json", "go.mod")
    local = [r["Old"]["Path"] for r in upstream.get("Replace") or [] if r["New"]["Path"].startswith(".")]
    if local:  # sdk/v4 => ../sdk: the sdk is not in the module zip
        go("mod", "edit", *(f"-dropreplace={path}" for path in local))
    # main.go embeds schema-embed.json and terraform-mapping-embed.json, which are generated, not shipped.
    go("run", "./generate.go", cwd=go.src / "cmd" / "pulumi-resource-kubernetes", VERSION=v)
    stamp = f"-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=v{v}"
    binary = "pulumi-resource-kubernetes"
    go("build", "-trimpath", "-ldflags", stamp, "-o", out / binary, f"./cmd/{binary}")


def _build_kubernetes(v: str, pin: Pins, go: _Go, out: Path) -> None:
    _build_k8s_commands(v, go, out, _K8S_BINARIES)


def _build_node_kubernetes(v: str, pin: Pins, go: _Go, out: Path) -> None:
    # The same module, flags and stamps as the control plane's build, so Go's cache serves what they share.
    _build_k8s_commands(v, go, out, _NODE_K8S_BINARIES)


def _build_k8s_commands(v: str, go: _Go, out: Path, binaries: tuple[str, ...]) -> None:
    major, minor, patch = v.split(".")
    go.init()
    upstream = go.gomod(f"k8s.io/kubernetes@v{v}")
    edits = [f"-go={upstream['Go']}", f"-require=k8s.io/kubernetes@v{v}"]
    edits += [f"-godebug={d['Key']}={d['Value']}" for d in upstream.get("GoDebug") or []]
    # Staging modules are replaced by ./staging/src/... upstream; here by their published v0.<minor>.<patch>.
    edits += [
        f"-replace={r['Old']['Path']}={r['Old']['Path']}@v0.{minor}.{patch}"
        for r in upstream.get("Replace") or []
        if r["New"]["Path"].startswith("./staging/")
    ]
    go("mod", "edit", *edits)
    cmds = [f"k8s.io/kubernetes/cmd/{name}" for name in binaries]
    go("get", *(f"{cmd}@v{v}" for cmd in cmds))
    fields = {"gitVersion": f"v{v}", "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean"}
    fields["buildDate"] = _K8S_BUILD_DATE
    # Unstamped binaries report v0.0 and the provider refuses the cluster.
    stamps = " ".join(
        f"-X {pkg}.{key}={value}"
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for key, value in fields.items()
    )
    go("build", "-trimpath", "-ldflags", stamps, "-o", f"{out}/", *cmds)  # one build: shared packages compile once


def _build_etcd(v: str, pin: Pins, go: _Go, out: Path) -> None:
    (go.src / "main.go").write_text(
        'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
        "func main() { etcdmain.Main(os.Args) }\n"
    )
    go.init()
    # etcd's server replaces its sibling modules by ../ paths; require them at the same version instead.
    go("get", *(f"go.etcd.io/etcd/{m}@v{v}" for m in ("server/v3", "api/v3", "client/pkg/v3", "client/v3", "pkg/v3")))
    go("mod", "tidy")
    go("build", "-trimpath", "-o", out / "etcd", ".")


def _build_kwok(v: str, pin: Pins, go: _Go, out: Path) -> None:
    # kwok's go.mod has no replaces, so a plain install works.
    go("install", "-trimpath", f"sigs.k8s.io/kwok/cmd/kwok@v{v}", f"sigs.k8s.io/kwok/cmd/kwokctl@v{v}", GOBIN=str(out))


def _build_containerd(v: str, pin: Pins, go: _Go, out: Path) -> None:
    cmds = (f"github.com/containerd/containerd/v2/cmd/{name}@v{v}" for name in _CONTAINERD_BINARIES)
    go("install", "-trimpath", *cmds, GOBIN=str(out))


def _build_runc(v: str, pin: Pins, go: _Go, out: Path) -> None:
    # seccomp needs cgo and libseccomp's headers (Debian libseccomp-dev, see NODE_PACKAGES).
    go(
        "install",
        "-trimpath",
        "-tags",
        "seccomp",
        f"github.com/opencontainers/runc@v{v}",
        GOBIN=str(out),
        CGO_ENABLED="1",
    )


def _build_cni(v: str, pin: Pins, go: _Go, out: Path) -> None:
    cmds = (f"github.com/containernetworking/plugins/plugins/{path}@v{v}" for path in _CNI_PLUGINS.values())
    go("install", "-trimpath", *cmds, GOBIN=str(out))


def _build_crane(v: str, pin: Pins, go: _Go, out: Path) -> None:
    go("install", "-trimpath", f"github.com/google/go-containerregistry/cmd/crane@v{v}", GOBIN=str(out))


def _build_kube_router(v: str, pin: Pins, go: _Go, out: Path) -> None:
    go("install", "-trimpath", f"github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v{v}", GOBIN=str(out))


def _build_coredns(v: str, pin: Pins, go: _Go, out: Path) -> None:
    go("install", "-trimpath", f"github.com/coredns/coredns@v{v}", GOBIN=str(out))


_K8S_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
_NODE_K8S_BINARIES = ("kubelet", "kube-proxy")
_CONTAINERD_BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr")
_CNI_PLUGINS = {
    "bridge": "main/bridge",
    "host-local": "ipam/host-local",
    "loopback": "main/loopback",
    "portmap": "meta/portmap",
}
NODE_PACKAGES = (
    *("iproute2", "util-linux", "mount", "openssl"),
    *("iptables", "nftables", "conntrack", "ipset"),
    *("gcc", "libc6-dev", "libseccomp-dev", "pkg-config"),
)
"""Debian packages the real node needs: namespaces and keys, kube-proxy's and kube-router's tools, runc's cgo build."""


@dataclass(frozen=True)
class Component:
    name: str  # directory prefix and --only name
    pin: str  # table in versions.toml
    # binary -> arguments that print its version; None: no version flag, the .version file the build writes stands in
    probes: Mapping[str, tuple[str, ...] | None]
    prefix: str  # what precedes the version in that output
    build: Callable[[str, Pins, _Go, Path], None]
    node: bool = False  # a part of the real node only: built with --node

    def home(self, pin: Pins) -> Path:
        return cache_root() / "toolchain" / f"{self.name}-{pin[self.pin]['version']}"


COMPONENTS = (
    Component("pulumi", "pulumi", {"pulumi": ("version",)}, "v", _build_pulumi),
    Component("yaml", "pulumi-yaml", {"pulumi-language-yaml": None}, "", _build_yaml),
    Component("provider", "kubernetes-provider", {"pulumi-resource-kubernetes": None}, "", _build_provider),
    Component(
        "kubernetes",
        "kubernetes",
        {name: ("version", "--client") if name == "kubectl" else ("--version",) for name in _K8S_BINARIES},
        "v",
        _build_kubernetes,
    ),
    Component("etcd", "etcd", {"etcd": ("--version",)}, "", _build_etcd),
    Component("kwok", "kwok", {"kwok": ("--version",), "kwokctl": ("--version",)}, "v", _build_kwok),
    Component(
        "kubelet",
        "kubernetes",
        {name: ("--version",) for name in _NODE_K8S_BINARIES},
        "v",
        _build_node_kubernetes,
        node=True,
    ),
    Component("containerd", "containerd", dict.fromkeys(_CONTAINERD_BINARIES), "", _build_containerd, node=True),
    Component("runc", "runc", {"runc": None}, "", _build_runc, node=True),
    Component("cni", "cni-plugins", dict.fromkeys(_CNI_PLUGINS), "", _build_cni, node=True),
    Component("crane", "crane", {"crane": None}, "", _build_crane, node=True),
    Component("kube-router", "kube-router", {"kube-router": None}, "", _build_kube_router, node=True),
    Component("coredns", "coredns", {"coredns": None}, "", _build_coredns, node=True),
)
_BY_NAME = {c.name: c for c in COMPONENTS}


def toolchain_bin_dirs() -> list[Path]:
    """Directories for PATH, pulumi's first. The provider stays off PATH: a plugin found there wins unversioned."""
    pin = pins()
    return [_BY_NAME[name].home(pin) / "bin" for name in ("pulumi", "kubernetes", "etcd", "kwok")]


def tool(binary: str) -> Path:
    """The cached path of one binary, e.g. tool("kwokctl")."""
    pin = pins()
    for c in COMPONENTS:
        if binary in c.probes:
            return c.home(pin) / "bin" / binary
    raise KeyError(binary)


class _Stale(Exception):
    pass


def _verify(c: Component, pin: Pins, *, adopt: bool) -> dict[str, str]:
    """Each binary's version line; raises _Stale naming the first missing or wrongly versioned one."""
    version, home = pin[c.pin]["version"], c.home(pin)
    lines = {}
    for binary, args in c.probes.items():
        path = home / "bin" / binary
        if not path.is_file():
            raise _Stale(f"{path} is missing")
        if args is None:
            stamp = home / ".version"
            if adopt and not stamp.exists():
                stamp.write_text(f"{version}\n")  # built before stamps existed, with the right ldflags
            if not stamp.exists():
                raise _Stale(f"{stamp} is missing")
            found = stamp.read_text().strip()
            line = f"{found} (from {stamp.name})"
        else:
            try:
                output = run([path, *args], what=binary, env=pulumi_env(), timeout=_PROBE_TIMEOUT_SECONDS)
            except E2EError as err:
                raise _Stale(str(err)) from err
            found = output.strip()
            line = found.splitlines()[0] if found else ""
        if not re.search(rf"(?<![\w.]){re.escape(c.prefix + version)}(?![\w.])", found):
            raise _Stale(f"{path} reports {line!r}, not {c.prefix}{version}")
        lines[binary] = line
    return lines


def _ensure(c: Component, pin: Pins) -> dict[str, str]:
    version, home = pin[c.pin]["version"], c.home(pin)
    started = time.monotonic()
    try:
        lines = _verify(c, pin, adopt=True)
        say(f"{c.name} {version}: cached in {home} ({time.monotonic() - started:.1f} s)")
        return lines
    except _Stale as why:
        say(f"{c.name} {version}: building ({why}); a cold build takes minutes")
    work = cache_root() / "build" / c.name
    shutil.rmtree(work, ignore_errors=True)
    src, out = work / "src", work / "bin"
    src.mkdir(parents=True)
    out.mkdir()
    c.build(version, pin, _Go(c.name, src, work / "build.log"), out)
    # Move in only finished binaries, stamp last: an interrupted build never looks cached.
    (home / "bin").mkdir(parents=True, exist_ok=True)
    (home / ".version").unlink(missing_ok=True)
    for binary in c.probes:
        os.replace(out / binary, home / "bin" / binary)
    (home / ".version").write_text(f"{version}\n")
    try:
        lines = _verify(c, pin, adopt=False)
    except _Stale as why:
        raise E2EError(f"{c.name}: built, but {why}") from why
    shutil.rmtree(work)
    say(f"{c.name} {version}: built in {time.monotonic() - started:.0f} s")
    return lines


def _yaml_host_link(pin: Pins, *, fix: bool) -> str | None:
    """The CLI looks for bundled language hosts next to its own executable; link the YAML host there."""
    link = _BY_NAME["pulumi"].home(pin) / "bin" / "pulumi-language-yaml"
    target = Path("..", "..", _BY_NAME["yaml"].home(pin).name, "bin", "pulumi-language-yaml")
    if link.is_symlink() and Path(os.readlink(link)) == target and link.exists():
        return None
    if not fix:
        return f"{link} -> {target}"
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    return None


LANGHOST_SOURCE = CHECKOUT / "e2e" / "langhost"
LANGHOST_PACKAGE = "bluegreen_langhost"
LANGHOST_LAUNCHER = "pulumi-language-python"


def language_host_home() -> Path:
    """The Python language host's own virtualenv and launcher, by the Pulumi SDK version it is built on."""
    return cache_root() / "toolchain" / f"langhost-{requirement('pulumi')}"


def _langhost_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(LANGHOST_SOURCE.glob("*.py"))}


def _langhost_package(python: Path) -> Path:
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], what="language host")
    return Path(purelib.strip()) / LANGHOST_PACKAGE


def _language_host_venv(home: Path, sdk: str | None, *, fix: bool) -> str | None:
    """The host's own virtualenv with the SDK pin (which brings grpcio and protobuf); None when it is there."""
    python, installed = home / "venv" / "bin" / "python", home / ".version"
    if python.exists() and installed.exists() and installed.read_text().strip() == sdk:
        return None
    if not fix:
        return f"the language host's virtualenv in {home}"
    started = time.monotonic()
    say(f"language host: creating its virtualenv with pulumi=={sdk} in {home}")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    log = home / "install.log"
    run([sys.executable, "-m", "venv", str(home / "venv")], what="language host venv", log=log)
    pip: list[str | Path] = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"pulumi=={sdk}"], what="language host install", log=log)
    installed.write_text(f"{sdk}\n")
    say(f"language host: virtualenv ready in {time.monotonic() - started:.0f} s")
    return None


def _language_host_files(pin: Pins, home: Path, *, fix: bool) -> str | None:
    """This checkout's e2e/langhost copied into the venv, its launcher beside it and linked next to `pulumi`.

    Copied, not linked, so the cached host never depends on where this checkout lives.
    """
    package, files = _langhost_package(home / "venv" / "bin" / "python"), _langhost_files()
    current = {path.name: path.read_bytes() for path in sorted(package.glob("*.py"))} if package.is_dir() else {}
    launcher, wanted = home / LANGHOST_LAUNCHER, (LANGHOST_SOURCE / LANGHOST_LAUNCHER).read_bytes()
    link = _BY_NAME["pulumi"].home(pin) / "bin" / LANGHOST_LAUNCHER
    target = Path("..", "..", home.name, LANGHOST_LAUNCHER)
    linked = link.is_symlink() and Path(os.readlink(link)) == target
    if current == files and launcher.exists() and launcher.read_bytes() == wanted and linked:
        return None
    if not fix:
        return f"{link} -> {target} (with this checkout's e2e/langhost)"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for name, data in files.items():
        (package / name).write_bytes(data)
    launcher.write_bytes(wanted)
    launcher.chmod(0o755)
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    say(f"language host: {LANGHOST_LAUNCHER} linked next to pulumi ({home})")
    return None


def _language_host(pin: Pins, *, fix: bool) -> str | None:
    """pulumi-language-python next to the CLI, so the CLI takes it as its bundled Python host."""
    home = language_host_home()
    return _language_host_venv(home, requirement("pulumi"), fix=fix) or _language_host_files(pin, home, fix=fix)


def _provider_plugin(pin: Pins, *, install: bool) -> str | None:
    """Install the provider into PULUMI_HOME from the built file (never downloaded); None when it is there."""
    version = pin["kubernetes-provider"]["version"]
    if not install and not PULUMI_HOME.is_dir():
        return f"{PULUMI_HOME}"
    pulumi = tool("pulumi")
    ls: list[str | Path] = [pulumi, "plugin", "ls", "--json"]
    listed = json.loads(run(ls, what="pulumi plugin ls", env=pulumi_env(), timeout=_PROBE_TIMEOUT_SECONDS) or "[]")
    if any((p.get("kind"), p.get("name"), p.get("version")) == ("resource", "kubernetes", version) for p in listed):
        return None
    if not install:
        return f"plugin resource kubernetes {version} in {PULUMI_HOME}"
    PULUMI_HOME.mkdir(parents=True, exist_ok=True)
    binary = tool("pulumi-resource-kubernetes")
    cmd: list[str | Path] = [pulumi, "plugin", "install", "resource", "kubernetes", f"v{version}", "--file", binary]
    run(cmd, what="provider plugin install", env=pulumi_env(), timeout=_PLUGIN_TIMEOUT_SECONDS)
    say(f"provider plugin kubernetes {version}: installed into {PULUMI_HOME}")
    return None


def _installed(package: str) -> bool:
    try:
        status = run(["dpkg-query", "-W", "-f=${Status}", package], what="dpkg-query")
    except E2EError:
        return False
    return status.strip() == "install ok installed"


def _node_packages(*, install: bool) -> str | None:
    """NODE_PACKAGES installed with apt-get when missing (as root); None when all are there."""
    missing = [package for package in NODE_PACKAGES if not _installed(package)]
    if not missing:
        return None
    command = f"apt-get install -y {' '.join(missing)}"
    if not install:
        return f"Debian packages {', '.join(missing)} ({command})"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise E2EError(f"the real node needs the Debian packages {', '.join(missing)}: run `{command}` as root")
    started = time.monotonic()
    say(f"installing Debian packages for the real node: {', '.join(missing)}")
    log = cache_root() / "build" / "apt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], what="apt-get update", env=env, log=log, timeout=_APT_TIMEOUT_SECONDS)
    install_cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    run(install_cmd, what="apt-get install", env=env, log=log, timeout=_APT_TIMEOUT_SECONDS)
    say(f"Debian packages installed in {time.monotonic() - started:.0f} s")
    return None


def requirement(package: str) -> str | None:
    """The version requirements.txt pins `package` to, if it does."""
    requirements = (CHECKOUT / "requirements.txt").read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)$", requirements, re.MULTILINE)
    return match.group(1) if match else None


def _sdk_pin_warning(pin: Pins) -> None:
    """The Python SDK asks the engine for `kubernetes <its version>`: the plugin must be that version."""
    provider = pin["kubernetes-provider"]["version"]
    pinned = requirement("pulumi-kubernetes")
    if pinned and pinned != provider:
        say(
            f"warning: requirements.txt pins pulumi-kubernetes=={pinned} but versions.toml builds provider "
            f"{provider}: the SDK will ask for a plugin that is not installed; make the two equal"
        )


def versions() -> dict[str, str]:
    """Every binary's version line as it reports it now, for a test report; no build is started."""
    pin, found = pins(), dict[str, str]()
    for c in COMPONENTS:
        try:
            found |= _verify(c, pin, adopt=False)
        except _Stale as why:
            found[c.name] = f"not usable: {why}"
    problem = _language_host(pin, fix=False)
    found[LANGHOST_LAUNCHER] = f"not usable: {problem}" if problem else f"{requirement('pulumi')} (e2e/langhost)"
    return found


def package_metaschema() -> Path:
    """Pulumi's package-schema metaschema, pkg/codegen/schema/pulumi.json of the pinned CLI's Go module."""
    module = f"github.com/pulumi/pulumi/pkg/v3@v{pins()['pulumi']['version']}"
    download = ["go", "mod", "download", "-json", module]
    # From the module cache the CLI's build filled: no network.
    offline = {**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=mod"}
    info = json.loads(run(download, what="pulumi package metaschema", env=offline, timeout=_PROBE_TIMEOUT_SECONDS))
    return Path(info["Dir"]) / "codegen" / "schema" / "pulumi.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.toolchain", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify; exit 1 naming what is missing")
    parser.add_argument("--only", choices=sorted(_BY_NAME), help="build or check just this component")
    parser.add_argument("--node", action="store_true", help="the real node's parts too (Linux, root for apt-get)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    pin = pins()
    selected = [_BY_NAME[args.only]] if args.only else [c for c in COMPONENTS if args.node or not c.node]
    found: dict[str, str] = {}
    missing: list[str] = []
    try:
        wants_node = args.node or (args.only and _BY_NAME[args.only].node)
        if wants_node and (problem := _node_packages(install=not args.check)):
            missing.append(problem)
        for c in selected:
            if args.check:
                try:
                    found |= _verify(c, pin, adopt=False)
                except _Stale as why:
                    missing.append(f"{c.name}: {why}")
            else:
                found |= _ensure(c, pin)
        if not args.only and not missing:
            fix = not args.check
            for problem in (
                _yaml_host_link(pin, fix=fix),
                _language_host(pin, fix=fix),
                _provider_plugin(pin, install=fix),
            ):
                if problem:
                    missing.append(problem)
            _sdk_pin_warning(pin)
    except E2EError as err:
        print(f"e2e.toolchain: {err}", file=sys.stderr, flush=True)
        return 1
    if missing:
        print(f"e2e.toolchain: missing: {'; '.join(missing)} (run python -m e2e.toolchain)", file=sys.stderr)
        return 1
    if not args.only and not missing:
        found[LANGHOST_LAUNCHER] = f"{requirement('pulumi')} (e2e/langhost, on the Pulumi SDK's protos)"
    for binary, line in found.items():
        say(f"  {binary:28} {line}")
    say(f"toolchain {'checked' if args.check else 'ready'} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
