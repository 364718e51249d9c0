"""A local cluster: `python -m e2e.cluster up [--node kwok|real] | down | env`.

kwok (the default): kwokctl's binary runtime, simulated nodes, no root, every listener on 127.0.0.1.
real: the same control plane plus one real node in namespaces of its own (e2e/node.py; Linux, root).
Everything lives under <checkout>/.e2e/: the cluster's state, the kubeconfig and an env file a shell
can source. The user's ~/.kube/config and ~/.pulumi are never read or written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

from e2e import node
from e2e.env import STATE_DIR, E2EError, run, say
from e2e.toolchain import PULUMI_HOME, tool, toolchain_bin_dirs

NAME = "bluegreen-e2e"
NODES = 2
KWOK_WORKDIR = STATE_DIR / "kwok"
CLUSTER_DIR = KWOK_WORKDIR / "clusters" / NAME
KUBECONFIG = STATE_DIR / "kubeconfig"
ENV_FILE = STATE_DIR / "env"
KUBE_CACHE = STATE_DIR / "kube-cache"  # kubectl's discovery cache, else written under ~/.kube/cache
READY_TIMEOUT_SECONDS = 120
_KWOKCTL_TIMEOUT_SECONDS = 180
_STOP_TIMEOUT_SECONDS = 10
_DOWN_HINT = "python -m e2e.cluster down"
# kwok's pod IPs come from 10.0.0.0/24, the API server's default Service range: move Services out of the way.
_KWOKCTL_CONFIG = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - key: service-cluster-ip-range
    value: 10.96.0.0/16
"""
_COMPONENT_FLAGS = {
    "--kube-apiserver-binary": "kube-apiserver",
    "--kube-controller-manager-binary": "kube-controller-manager",
    "--kube-scheduler-binary": "kube-scheduler",
    "--kwok-controller-binary": "kwok",
    "--etcd-binary": "etcd",
}
_LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")


def environment() -> dict[str, str]:
    """The variables the env file exports, for a harness's subprocesses (PATH from this process's PATH)."""
    path = os.pathsep.join([*map(str, _bin_dirs()), os.environ.get("PATH", "")])
    return {
        "PATH": path,
        "PULUMI_HOME": str(PULUMI_HOME),
        "KUBECONFIG": str(KUBECONFIG),
        "KUBECACHEDIR": str(KUBE_CACHE),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }


def _bin_dirs() -> list[Path]:
    """The toolchain's; with a real node, its kubectl and pulumi wrappers first (they enter its network)."""
    return [node.WRAPPERS, *toolchain_bin_dirs()] if node.is_up() else toolchain_bin_dirs()


def _kwok_env() -> dict[str, str]:
    # kwokctl runs kubectl, which must find the toolchain's and only ever write our kubeconfig.
    return {**os.environ, **environment(), "KWOK_WORKDIR": str(KWOK_WORKDIR)}


def _state() -> list[Path]:
    return [path for path in (KWOK_WORKDIR, KUBECONFIG, ENV_FILE, KUBE_CACHE, node.ROOT) if path.exists()]


def is_up() -> bool:
    return ENV_FILE.exists() and (CLUSTER_DIR.exists() or node.is_up())


def is_real() -> bool:
    """The cluster up is the real node (containers run, Services answer)."""
    return ENV_FILE.exists() and node.is_up()


def up(kind: str = "kwok") -> None:
    """Start the cluster and wait until it serves and its nodes are Ready; on any failure leave nothing behind."""
    started = time.monotonic()
    if _state():
        raise E2EError(f"a cluster is already up (state in {STATE_DIR}): stop it with `{_DOWN_HINT}`")
    if kind == "real":
        try:
            node.up(KUBECONFIG)
            _write_env_file()
        except BaseException:
            KUBECONFIG.unlink(missing_ok=True)
            ENV_FILE.unlink(missing_ok=True)
            raise
        say(f"cluster up (real node) in {time.monotonic() - started:.1f} s: source {ENV_FILE}")
        return
    binaries = [tool(name) for name in (*_COMPONENT_FLAGS.values(), "kwokctl", "kubectl")]
    if missing := [str(path) for path in binaries if not path.is_file()]:
        raise E2EError(f"the toolchain is not built ({', '.join(missing)} missing): run `python -m e2e.toolchain`")
    try:
        _start()
    except BaseException:
        _stop(quiet=True)
        raise
    say(f"cluster {NAME} up in {time.monotonic() - started:.1f} s: source {ENV_FILE}")


def _start() -> None:
    env = _kwok_env()
    KWOK_WORKDIR.mkdir(parents=True)
    config = KWOK_WORKDIR / "kwokctl-config.yaml"
    config.write_text(_KWOKCTL_CONFIG)
    say(f"starting {NAME} (kwokctl, binary runtime) in {KWOK_WORKDIR}")
    create: list[str | Path] = [tool("kwokctl"), "create", "cluster", "--name", NAME, "--runtime", "binary"]
    create += ["--config", config]
    for flag, binary in _COMPONENT_FLAGS.items():
        create += [flag, tool(binary)]
    create += ["--kubeconfig", KUBECONFIG, "--wait", f"{READY_TIMEOUT_SECONDS}s"]
    run(create, what="kwokctl create cluster", env=env, timeout=_KWOKCTL_TIMEOUT_SECONDS)
    scale: list[str | Path] = [tool("kwokctl"), "scale", "node", "--name", NAME, "--replicas", str(NODES)]
    run(scale, what="kwokctl scale node", env=env, timeout=_KWOKCTL_TIMEOUT_SECONDS)
    _wait_ready(env, deadline=time.monotonic() + READY_TIMEOUT_SECONDS)
    _check_loopback_only()
    _write_env_file()


def _write_env_file() -> None:
    ENV_FILE.write_text(
        "# Written by `python -m e2e.cluster up`; removed by `python -m e2e.cluster down`.\n"
        + "".join(
            f"export {key}={shlex.quote(value) if key != 'PATH' else _shell_path()}\n"
            for key, value in environment().items()
        )
    )


def _shell_path() -> str:
    return shlex.quote(os.pathsep.join(map(str, _bin_dirs()))) + ':"$PATH"'


def _wait_ready(env: dict[str, str], *, deadline: float) -> None:
    kubectl = [str(tool("kubectl")), "--kubeconfig", str(KUBECONFIG), "--request-timeout=5s"]
    last = "no answer yet"
    while True:
        try:
            readyz = run([*kubectl, "get", "--raw", "/readyz"], what="kubectl get --raw /readyz", env=env).strip()
            nodes = run([*kubectl, "get", "nodes", "-o", "name"], what="kubectl get nodes", env=env).split()
            if readyz == "ok" and len(nodes) >= NODES:
                break
            last = f"/readyz says {readyz!r}, {len(nodes)} of {NODES} nodes registered"
        except E2EError as err:
            last = str(err)
        if time.monotonic() > deadline:
            raise E2EError(f"the cluster was not ready within {READY_TIMEOUT_SECONDS} s: {last}")
        time.sleep(1)
    left = max(1, int(deadline - time.monotonic()))
    wait = [*kubectl, "wait", "--for=condition=Ready", "node", "--all", f"--timeout={left}s"]
    run(wait, what=f"{NODES} nodes Ready", env=env, timeout=left + 10)
    say(f"API server ready, {NODES} nodes Ready")


def _check_loopback_only() -> None:
    """Fail unless the cluster's processes listen, and listen on loopback only."""
    pids = set(_cluster_pids())
    listeners = []
    for line in run(["ss", "-Hltnp"], what="ss -ltnp").splitlines():
        fields = line.split()
        if len(fields) >= 4 and pids & {int(pid) for pid in re.findall(r"pid=(\d+)", line)}:
            listeners.append(fields[3])
    if not listeners:
        raise E2EError(f"ss -ltnp shows no listener of the cluster's processes {sorted(pids)}")
    if wide := [address for address in listeners if address.rsplit(":", 1)[0] not in _LOOPBACK_HOSTS]:
        raise E2EError(f"cluster listeners bind other addresses than 127.0.0.1: {', '.join(wide)}")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ours(pid: int) -> bool:
    """The process runs one of the toolchain's binaries (so a user's `tail -f` of a log is never touched)."""
    try:
        exe = Path(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return False
    return any(exe.parent == directory.resolve() for directory in toolchain_bin_dirs())


def _cluster_pids() -> dict[int, str]:
    """Live processes of this cluster -> command name: kwokctl's pid files, and any stray naming its work dir.

    A pid counts only while it runs a toolchain binary and its command line names the work dir, so a
    recycled pid, or another program that mentions the directory, is never touched.
    """
    candidates: set[int] = set()
    for pid_file in (CLUSTER_DIR / "pids").glob("*.pid"):
        if pid_file.read_text().strip().isdigit():
            candidates.add(int(pid_file.read_text()))
    candidates |= {int(proc.name) for proc in Path("/proc").iterdir() if proc.name.isdigit()}
    candidates.discard(os.getpid())
    found = {pid: _cmdline(pid) for pid in candidates}
    return {
        pid: Path(line.split()[0]).name
        for pid, line in found.items()
        if line and str(CLUSTER_DIR) in line and _ours(pid)
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return str(CLUSTER_DIR) in _cmdline(pid) and _ours(pid)  # a zombie's cmdline is empty: gone for our purposes


def _stop(*, quiet: bool) -> None:
    """kwokctl delete cluster, then end what is left of its processes by pid, then remove the state."""
    pids = _cluster_pids()
    if CLUSTER_DIR.exists() and tool("kwokctl").is_file():
        delete: list[str | Path] = [tool("kwokctl"), "delete", "cluster", "--name", NAME, "--kubeconfig", KUBECONFIG]
        try:
            run(delete, what="kwokctl delete cluster", env=_kwok_env(), timeout=_KWOKCTL_TIMEOUT_SECONDS)
        except E2EError as err:
            print(f"e2e.cluster: {err}; stopping its processes by pid", file=sys.stderr, flush=True)
    pids.update(_cluster_pids())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [pid for pid in pids if _alive(pid)]
        if not left:
            break
        say(f"sending {sig.name} to {', '.join(f'{pids[pid]} ({pid})' for pid in left)}")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + _STOP_TIMEOUT_SECONDS
        while any(_alive(pid) for pid in left) and time.monotonic() < deadline:
            time.sleep(0.2)
    if survivors := [pid for pid in pids if _alive(pid)]:
        raise E2EError(f"processes {survivors} of cluster {NAME} survived SIGKILL; state kept in {KWOK_WORKDIR}")
    shutil.rmtree(KWOK_WORKDIR, ignore_errors=True)
    shutil.rmtree(KUBE_CACHE, ignore_errors=True)
    KUBECONFIG.unlink(missing_ok=True)
    ENV_FILE.unlink(missing_ok=True)
    if not quiet:
        say(f"cluster {NAME} is down; removed {KWOK_WORKDIR}, {KUBECONFIG} and {ENV_FILE}")


def down() -> None:
    """Stop the cluster (either kind) and remove its state; nothing up is not an error."""
    real = node.ROOT.exists() or node.NETNS_PATH.exists()
    if not _state() and not _cluster_pids() and not real:
        say(f"no cluster is up (nothing in {STATE_DIR})")
        return
    if real:
        node.down()
    if KWOK_WORKDIR.exists() or _cluster_pids():
        _stop(quiet=False)
        return
    shutil.rmtree(KUBE_CACHE, ignore_errors=True)
    KUBECONFIG.unlink(missing_ok=True)
    ENV_FILE.unlink(missing_ok=True)
    say(f"cluster is down; removed {node.ROOT}, {KUBECONFIG} and {ENV_FILE}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "env"))
    parser.add_argument("--node", choices=("kwok", "real"), default="kwok", help="simulated nodes, or one real node")
    args = parser.parse_args(argv)
    command = args.command
    try:
        if command == "up":
            up(args.node)
        elif command == "down":
            down()
        elif is_up():
            print(ENV_FILE)
        else:
            raise E2EError("no cluster is up: `make cluster` starts one")
    except E2EError as err:
        print(f"e2e.cluster: {err}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
