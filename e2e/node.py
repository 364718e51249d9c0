"""A real node: the toolchain's control plane plus containerd, runc, CNI, kubelet, kube-proxy, kube-router
and CoreDNS, every one inside a network namespace and one private mount namespace of the harness's own.

Nothing is added to the machine's own namespaces: no address, route, rule or mount (the `ip netns`
pin aside, removed by `down`). Every listener is inside the network namespace, and nothing connects
it to the machine, so no packet of the node can leave it. Machine-wide sysctls kubelet would write are
shadowed in the private mount namespace, where /run, /var/lib, /var/log and /opt are empty tmpfs too.
Processes are tracked by PID and start time; `down` stops them, the containers (found in the node's
own cgroup, CGROUP_ROOT) and the shims and probes (found in its network namespace by their binaries),
removes its cgroups and namespaces, and compares the machine with a picture taken before `up`: a
difference fails `down`.

Workarounds are applied only where the machine needs them (see e2e/machine.py): cgroup v1
(failCgroupV1: false) and no CAP_SYS_RESOURCE (containerd's restrict_oom_score_adj). The node IP sits
on a veth pair with both ends inside, everywhere: loading a dummy-link module would add dummy0 to the
machine's own namespace, and some kernels have no such driver.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from e2e import images, machine
from e2e.env import STATE_DIR, E2EError, cache_root, run, say
from e2e.node_files import (
    API_PORT,
    CGROUP_ROOT,
    CLUSTER_CIDR,
    DNS_READY_PORT,
    NODE_IP,
    NODE_NAME,
    NODE_PREFIX,
    PRIVATE_DIRS,
    SERVICE_CIDR,
    Layout,
    anchor_script,
    cni_conflist,
    containerd_config,
    corefile,
    kube_proxy_config,
    kubelet_config,
    resolv_conf,
    write_identities,
    write_pki,
)
from e2e.toolchain import COMPONENTS, tool

NETNS: Final = "bluegreen-e2e"
NETNS_PATH: Final = Path("/run/netns") / NETNS
ROOT: Final = STATE_DIR / "node"
LAYOUT: Final = Layout(ROOT)
WRAPPERS: Final = STATE_DIR / "node-bin"
"""kubectl and pulumi that run in the node's network namespace, first on the env file's PATH."""
_PROCESSES: Final = ROOT / "processes.json"
LOGS_KEPT: Final = STATE_DIR / "node-logs"
"""The last node's daemon logs, kept after `down` for reading."""
_BEFORE: Final = STATE_DIR / "machine-before.json"
READY_TIMEOUT_SECONDS: Final = 180
"""From the first daemon to a Ready node with cluster DNS (about 7 s here; Go may compile the images first)."""
_STOP_GRACE_SECONDS: Final = 10
_ANCHOR_WAIT_SECONDS: Final = 10
# Stopped first to last: the node's agents, then (after the containers) the runtime, then the control plane.
_AGENTS: Final = ("kube-router", "kube-proxy", "kubelet")
_CONTROL_PLANE: Final = ("coredns", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")
_WRAPPED: Final = ("kubectl", "pulumi")
_CLONE_NEWNET: Final = 0x40000000


@dataclass(frozen=True)
class Tracked:
    name: str
    pid: int
    start: str  # /proc/<pid>/stat field 22: a recycled PID never matches


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]  # a zombie is gone for our purposes


def _alive(entry: Tracked) -> bool:
    return _start_time(entry.pid) == entry.start


def _load() -> list[Tracked]:
    if not _PROCESSES.exists():
        return []
    return [Tracked(**entry) for entry in json.loads(_PROCESSES.read_text())]


def daemon_pids() -> set[int]:
    """The PIDs of the processes the node started (the anchor and every daemon)."""
    return {entry.pid for entry in _load()}


def _track(entry: Tracked) -> None:
    _PROCESSES.write_text(json.dumps([asdict(e) for e in [*_load(), entry]], indent=2) + "\n")


def inside(cmd: Sequence[str | Path]) -> list[str]:
    """cmd in the node's network namespace (paths stay the machine's)."""
    return ["nsenter", f"--net={NETNS_PATH}", "--", *map(str, cmd)]


def _anchor() -> Tracked:
    found = [entry for entry in _load() if entry.name == "anchor"]
    if not found or not _alive(found[0]):
        raise E2EError("the node's mount namespace is gone")
    return found[0]


def _in_anchor(cmd: Sequence[str | Path]) -> list[str]:
    return ["nsenter", "-t", str(_anchor().pid), "-m", "-n", "--", *map(str, cmd)]


def is_up() -> bool:
    return _PROCESSES.exists()


def enter() -> str:
    """Move this process into the node's network namespace (before it starts threads): its own API and
    traffic calls then reach the node, as the wrappers' subprocesses do.

    Returns a path to the namespace it left (the machine's), for `nsenter --net=` while this process runs.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    left = os.open("/proc/self/ns/net", os.O_RDONLY)  # kept open: it names the machine's namespace
    with NETNS_PATH.open("rb") as netns:
        if libc.setns(netns.fileno(), _CLONE_NEWNET) != 0:
            raise E2EError(f"cannot enter {NETNS_PATH}: {os.strerror(ctypes.get_errno())}")
    return f"/proc/{os.getpid()}/fd/{left}"


def kubectl(*args: str, timeout: float = 30) -> str:
    admin = LAYOUT.kubeconfig("admin")
    cmd = inside([tool("kubectl"), "--kubeconfig", admin, "--request-timeout=10s", *args])
    return run(cmd, what=f"kubectl {' '.join(args[:2])}", timeout=timeout)


def up(kubeconfig: Path) -> None:
    """Start the node and wait until it is Ready and cluster DNS answers; on any failure leave nothing behind."""
    if why := machine.refusal():
        raise E2EError(why)
    if ROOT.exists() or NETNS_PATH.exists() or _node_cgroups():
        raise E2EError(f"a real node is already up (state in {ROOT}): stop it with `make cluster-down`")
    for path in (STATE_DIR, cache_root()):
        if hidden := [d for d in PRIVATE_DIRS if path.resolve().is_relative_to(d)]:
            raise E2EError(f"{path} is under {hidden[0]}, which the node's daemons see as an empty tmpfs: move it")
    if missing := [str(path) for path in _binaries() if not path.is_file()]:
        raise E2EError(f"the node's parts are not built ({', '.join(missing)}): run `make toolchain NODE=real`")
    started = time.monotonic()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    _BEFORE.write_text(json.dumps(machine.snapshot(), indent=2) + "\n")
    try:
        _start(kubeconfig, started)
    except BaseException:
        say("the real node did not start: stopping what did")
        try:
            _stop()
        except E2EError as err:
            say(f"e2e.node: {err}")
        raise
    say(f"real node {NODE_NAME} Ready in {time.monotonic() - started:.1f} s")


def _binaries() -> list[Path]:
    needed = [c for c in COMPONENTS if c.node or c.name in ("kubernetes", "etcd")]
    return [tool(binary) for c in needed for binary in c.probes]


def _step(started: float, what: str) -> None:
    say(f"  {time.monotonic() - started:5.1f} s  {what}")


def _start(kubeconfig: Path, started: float) -> None:
    for directory in (LAYOUT.logs, LAYOUT.var, LAYOUT.etc, LAYOUT.cni_conf_dir, ROOT / "run"):
        directory.mkdir(parents=True, exist_ok=True)
    _PROCESSES.write_text("[]\n")
    write_pki(LAYOUT)
    write_identities(LAYOUT)
    shutil.copyfile(LAYOUT.kubeconfig("admin"), kubeconfig)
    kubeconfig.chmod(0o600)
    _write_configs()
    _step(started, "keys, identities and configuration written")
    _network()
    _step(started, f"network namespace {NETNS}, node IP {NODE_IP} on a veth pair inside it")
    _start_anchor()
    _step(started, "private mount namespace (cgroups re-mounted, sysctls shadowed, resolv.conf)")
    deadline = started + READY_TIMEOUT_SECONDS
    _start_control_plane(deadline)
    _step(started, "etcd and kube-apiserver ready; controller-manager and scheduler started")
    _start_runtime(deadline)
    _step(started, "containerd serving")
    _images()
    _step(started, "the project's images built and imported")
    _make_cgroup_roots()
    _start_node_agents()
    _wait(lambda: bool(kubectl("get", "nodes", "-o", "name").strip()), "the node to register", deadline)
    left = max(1, int(deadline - time.monotonic()))
    kubectl("wait", "--for=condition=Ready", f"node/{NODE_NAME}", f"--timeout={left}s", timeout=left + 10)
    _step(started, f"node {NODE_NAME} Ready")
    _start_network_policy(deadline)
    _step(started, "NetworkPolicy enforced (kube-router)")
    dns = inside([_probe(), "-n", "1", "-timeout", "2s", f"http://127.0.0.1:{DNS_READY_PORT}/ready"])
    _wait(lambda: bool(run(dns, what="CoreDNS ready", timeout=10)), "CoreDNS", deadline)
    _step(started, "cluster DNS answering")
    _check_listeners()
    _write_wrappers()


def _write_configs() -> None:
    runc, cni = tool("runc"), tool("bridge").parent
    oom = not machine.can_raise_oom_protection()
    etc = LAYOUT.etc
    (etc / "containerd.toml").write_text(containerd_config(LAYOUT, runc=runc, cni_bin=cni, restrict_oom_score_adj=oom))
    (LAYOUT.cni_conf_dir / "10-bluegreen.conflist").write_text(cni_conflist(LAYOUT))
    (etc / "kubelet.json").write_text(kubelet_config(LAYOUT, allow_cgroup_v1=machine.cgroup_v1()))
    (etc / "kube-proxy.json").write_text(kube_proxy_config(LAYOUT))
    (etc / "Corefile").write_text(corefile(LAYOUT))
    LAYOUT.resolv_conf.write_text(resolv_conf())
    if oom:
        say("  no CAP_SYS_RESOURCE here: containerd clamps the oom_score_adj kubelet asks (restrict_oom_score_adj)")
    if machine.cgroup_v1():
        say("  cgroup v1 hierarchies here: kubelet runs with failCgroupV1: false")


def _network() -> None:
    """The namespace, and the node IP on a veth pair with both ends inside it.

    Not a dummy link: where the dummy driver is a module, loading it adds dummy0 to the machine's own
    namespace (and some kernels have no such driver at all).
    """
    run(["ip", "netns", "add", NETNS], what="ip netns add")
    ip = ["ip", "-n", NETNS]
    run([*ip, "link", "set", "lo", "up"], what="ip link set lo up")
    run([*ip, "link", "add", "node0", "type", "veth", "peer", "name", "node0-peer"], what="ip link add veth")
    run([*ip, "link", "set", "node0-peer", "up"], what="ip link set up")
    run([*ip, "addr", "add", f"{NODE_IP}/{NODE_PREFIX}", "dev", "node0"], what="ip addr add")
    run([*ip, "link", "set", "node0", "up"], what="ip link set up")
    # ClusterIPs must be routable before kube-proxy's DNAT rewrites them; nothing lies behind node0.
    run([*ip, "route", "add", "default", "dev", "node0"], what="ip route add")


def _start_anchor() -> None:
    """One process holding the private mount namespace every daemon shares (kubelet's mounts must reach runc)."""
    shadow = LAYOUT.var / "sysctl-shadow"
    shadow.mkdir(parents=True, exist_ok=True)
    ready = ROOT / "run" / "anchor-ready"
    resolv = Path("/etc/resolv.conf")
    script = anchor_script(
        resolv_conf=LAYOUT.resolv_conf,
        resolv_target=os.path.realpath(resolv) if resolv.exists() or resolv.is_symlink() else None,
        cgroups=[(m.target, m.fstype, m.options) for m in machine.cgroup_mounts()],
        sysctls=[key for key in machine.KUBELET_SYSCTLS if Path("/proc/sys", key).exists()],
        shadow=shadow,
        ready=ready,
    )
    cmd = ["ip", "netns", "exec", NETNS, "unshare", "-m", "--propagation", "private", "--", "sh", "-c", script]
    _spawn("anchor", cmd)
    deadline = time.monotonic() + _ANCHOR_WAIT_SECONDS
    while not ready.exists():
        if time.monotonic() > deadline or not _alive(_anchor()):
            raise E2EError(f"the node's mount namespace was not set up (log: {LAYOUT.logs / 'anchor.log'})")
        time.sleep(0.1)


def _spawn(name: str, cmd: Sequence[str | Path], env: dict[str, str] | None = None) -> None:
    with (LAYOUT.logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
        )
    start = _start_time(proc.pid)
    if start is None:
        raise E2EError(f"{name} exited at once (log: {LAYOUT.logs / f'{name}.log'})")
    _track(Tracked(name, proc.pid, start))


def _daemon(name: str, binary: Path, *args: str | Path) -> None:
    system = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
    path = os.pathsep.join([str(tool("ctr").parent), str(tool("runc").parent), *system])
    _spawn(name, _in_anchor([binary, *args]), env={"PATH": path, "HOME": str(ROOT)})


def _start_control_plane(deadline: float) -> None:
    pki, etc = LAYOUT.pki, LAYOUT.etc
    _daemon(
        "etcd",
        tool("etcd"),
        f"--data-dir={LAYOUT.var / 'etcd'}",
        "--listen-client-urls=http://127.0.0.1:2379",
        "--advertise-client-urls=http://127.0.0.1:2379",
        "--listen-peer-urls=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
        "--initial-cluster=default=http://127.0.0.1:2380",
        "--listen-metrics-urls=http://127.0.0.1:2381",
    )
    _start_api_server()
    _wait(lambda: kubectl("get", "--raw", "/readyz").strip() == "ok", "the API server's /readyz", deadline)
    # After /readyz: the bootstrap RBAC roles they read at start exist by then.
    kubeconfig = etc / "controller-manager.kubeconfig"
    _daemon(
        "kube-controller-manager",
        tool("kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--use-service-account-credentials",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        "--allocate-node-cidrs",
        f"--cluster-cidr={CLUSTER_CIDR}",
        "--node-cidr-mask-size=24",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
    )
    kubeconfig = etc / "scheduler.kubeconfig"
    _daemon(
        "kube-scheduler",
        tool("kube-scheduler"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
    )


def _start_api_server() -> None:
    pki = LAYOUT.pki
    _daemon(
        "kube-apiserver",
        tool("kube-apiserver"),
        "--etcd-servers=http://127.0.0.1:2379",
        "--bind-address=127.0.0.1",
        f"--advertise-address={NODE_IP}",
        f"--secure-port={API_PORT}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--token-auth-file={pki / 'tokens.csv'}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-client-certificate={pki / 'kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'kubelet-client.key'}",
    )


def stop_api_server() -> None:
    """Stop the API server (SIGTERM, as a control-plane restart does) and wait until it has exited."""
    tracked = _load()
    stopped = [entry for entry in tracked if entry.name == "kube-apiserver"]
    _signal_and_wait(stopped)
    _PROCESSES.write_text(json.dumps([asdict(e) for e in tracked if e not in stopped], indent=2) + "\n")


def start_api_server(timeout: float = 60) -> None:
    """Start the API server again, with the same flags, and wait until it answers /readyz."""
    _start_api_server()
    ready = lambda: kubectl("get", "--raw", "/readyz").strip() == "ok"  # noqa: E731
    _wait(ready, "the API server's /readyz", time.monotonic() + timeout)


def _ctr(*args: str | Path) -> list[str | Path]:
    return [tool("ctr"), "--address", LAYOUT.containerd_socket, *args]


def _start_runtime(deadline: float) -> None:
    _daemon("containerd", tool("containerd"), f"--config={LAYOUT.etc / 'containerd.toml'}")
    _wait(lambda: bool(run(_ctr("version"), what="ctr version", timeout=10)), "containerd", deadline)


def _probe() -> Path:
    return ROOT / "images" / "bin" / "probe"


def _images() -> None:
    log = LAYOUT.logs / "images.log"
    images.build_programs(ROOT / "images" / "bin", log)
    tarballs = images.build_images(tool("crane"), ROOT / "images" / "bin", ROOT / "images", inside, log)
    images.import_images(tool("ctr"), LAYOUT.containerd_socket, tarballs)


def _start_node_agents() -> None:
    etc = LAYOUT.etc
    _daemon("coredns", tool("coredns"), "-conf", etc / "Corefile")
    _daemon(
        "kubelet",
        tool("kubelet"),
        f"--config={etc / 'kubelet.json'}",
        f"--kubeconfig={LAYOUT.kubeconfig('kubelet')}",
        f"--root-dir={LAYOUT.var / 'kubelet'}",
        f"--cert-dir={LAYOUT.var / 'kubelet' / 'pki'}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={NODE_IP}",
    )
    _daemon("kube-proxy", tool("kube-proxy"), f"--config={etc / 'kube-proxy.json'}")


def _start_network_policy(deadline: float) -> None:
    """kube-router enforces NetworkPolicy (iptables + ipset); it needs the Node object to exist."""
    _daemon(
        "kube-router",
        tool("kube-router"),
        f"--kubeconfig={LAYOUT.kubeconfig('kube-router')}",
        f"--hostname-override={NODE_NAME}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        "--enable-cni=false",
        "--health-port=0",
        "--metrics-port=0",
    )
    chains = _in_anchor(["iptables", "-S", "KUBE-ROUTER-INPUT"])  # its own /run: the xtables lock stays inside
    _wait(lambda: bool(run(chains, what="iptables -S", timeout=10)), "kube-router's chains", deadline)


def _wait(ready: Callable[[], bool], what: str, deadline: float) -> None:
    """Poll `ready` until it holds; fail at the start's deadline, or at once when a daemon has exited."""
    last = "no answer yet"
    while True:
        dead = [entry.name for entry in _load() if not _alive(entry)]
        if dead:
            raise E2EError(f"{', '.join(dead)} exited while waiting for {what} (logs in {LAYOUT.logs})")
        try:
            if ready():
                return
        except E2EError as err:
            last = str(err)
        if time.monotonic() > deadline:
            raise E2EError(f"{what} not ready within the start's {READY_TIMEOUT_SECONDS} s: {last}")
        time.sleep(0.3)


def _check_listeners() -> None:
    """Every listener of the node is inside its network namespace: the machine's own shows none of them."""
    pids = {str(entry.pid) for entry in _load()}
    listing = run(["ss", "-Hltunp"], what="ss").splitlines()
    ours = [" ".join(line.split()[:5]) for line in listing if any(f"pid={pid}," in line for pid in pids)]
    if ours:
        raise E2EError(f"the node listens in the machine's own namespace: {', '.join(ours)}")


def _write_wrappers() -> None:
    WRAPPERS.mkdir(parents=True, exist_ok=True)
    for name in _WRAPPED:
        wrapper = WRAPPERS / name
        target = tool(name)
        wrapper.write_text(
            "#!/bin/sh\n# Runs in the real node's network namespace (written by make cluster NODE=real).\n"
            f'exec nsenter --net={NETNS_PATH} -- {shlex.quote(str(target))} "$@"\n'
        )
        wrapper.chmod(0o755)


# -- stopping ---------------------------------------------------------------------------------------------------------


def _signal_and_wait(entries: Iterable[Tracked], *, grace: float = _STOP_GRACE_SECONDS) -> None:
    entries = [entry for entry in entries if _alive(entry)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [entry for entry in entries if _alive(entry)]
        if not left:
            return
        for entry in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(entry.pid, sig)
        deadline = time.monotonic() + grace
        while any(_alive(entry) for entry in left) and time.monotonic() < deadline:
            time.sleep(0.1)
    if survivors := [f"{entry.name} ({entry.pid})" for entry in entries if _alive(entry)]:
        raise E2EError(f"{', '.join(survivors)} survived SIGKILL; state kept in {ROOT}")


def _cgroup_roots() -> list[Path]:
    """CGROUP_ROOT in every hierarchy of the machine."""
    return [Path(m.target) / CGROUP_ROOT for m in machine.cgroup_mounts()]


def _make_cgroup_roots() -> None:
    """kubelet's cgroupRoot must exist; a new v1 cpuset starts empty, so it gets its parent's CPUs and memory nodes."""
    for root in _cgroup_roots():
        root.mkdir()
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (root / name).exists():
                (root / name).write_text((root.parent / name).read_text())


def _node_cgroups() -> list[Path]:
    """The node's cgroup directories (CGROUP_ROOT and everything under it) in every hierarchy, deepest first."""
    found = [root for root in _cgroup_roots() if root.is_dir()]
    found += [sub for root in list(found) for sub in root.rglob("*") if sub.is_dir()]
    return sorted(found, key=lambda path: len(path.parts), reverse=True)


def _container_processes() -> list[Tracked]:
    found = []
    for directory in _node_cgroups():
        with contextlib.suppress(OSError):
            for pid in (directory / "cgroup.procs").read_text().split():
                if start := _start_time(int(pid)):
                    found.append(Tracked("container", int(pid), start))
    return found


def _lineage() -> set[int]:
    """This process and its ancestors: never signalled, even when they run in the node's namespace."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _namespace_processes(known: set[int]) -> tuple[list[Tracked], list[str]]:
    """Processes in the node's network namespace not started by name: those running the node's own
    binaries (containerd's shims, crane, a probe), to stop; and the others (say a shell or a `pulumi up`
    entered through the wrappers), described, to leave alone."""
    if not NETNS_PATH.exists():
        return [], []
    ours = {tool(name).resolve() for name in ("containerd-shim-runc-v2", "crane")}
    ours |= {path.resolve() for path in (ROOT / "images" / "bin").glob("*")}
    stop, others = [], []
    for pid in map(int, run(["ip", "netns", "pids", NETNS], what="ip netns pids", timeout=30).split()):
        start = _start_time(pid)
        if pid in known or pid in _lineage() or start is None:
            continue
        try:
            exe = Path(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            continue
        if exe in ours:
            stop.append(Tracked(exe.name, pid, start))
        else:
            others.append(f"{pid} ({exe.name})")
    return stop, others


def _unpin_netns_dir() -> None:
    """`ip netns add` makes /run/netns a mount point when it is not one: undo that when it was not before."""
    runs = NETNS_PATH.parent
    if not _BEFORE.exists() or any(Path(runs).iterdir() if runs.is_dir() else []):
        return
    before = json.loads(_BEFORE.read_text())["mounts"]
    if f"{runs} " in "\n".join(before) or not any(line.startswith(f"{runs} ") for line in machine.snapshot()["mounts"]):
        return
    run(["umount", runs], what=f"umount {runs}")
    with contextlib.suppress(OSError):
        runs.rmdir()


def _stop() -> None:
    started = time.monotonic()
    tracked = _load()
    by_name = {entry.name: entry for entry in tracked}
    _signal_and_wait(by_name[name] for name in _AGENTS if name in by_name)
    _signal_and_wait(_container_processes(), grace=1)
    _signal_and_wait([by_name[name] for name in ("containerd",) if name in by_name])
    _signal_and_wait(_namespace_processes({entry.pid for entry in tracked})[0], grace=1)
    _signal_and_wait(by_name[name] for name in _CONTROL_PLANE if name in by_name)
    _signal_and_wait(tracked, grace=2)  # the anchor, and anything a failed start left
    stray, others = _namespace_processes(set())
    _signal_and_wait(stray, grace=1)
    if others:
        say(f"left alone in the node's network namespace (not started by it): {', '.join(others)}")
    for directory in _node_cgroups():
        with contextlib.suppress(OSError):
            directory.rmdir()
    if left := _node_cgroups():
        raise E2EError(f"cgroups of the node could not be removed: {', '.join(map(str, left[:5]))}")
    if NETNS_PATH.exists():
        run(["ip", "netns", "del", NETNS], what="ip netns del")
    _unpin_netns_dir()
    shutil.rmtree(LOGS_KEPT, ignore_errors=True)
    if LAYOUT.logs.is_dir():
        shutil.copytree(LAYOUT.logs, LOGS_KEPT)
    shutil.rmtree(ROOT, ignore_errors=True)
    shutil.rmtree(WRAPPERS, ignore_errors=True)
    say(f"real node stopped in {time.monotonic() - started:.1f} s")
    if _BEFORE.exists():
        changed = machine.differences(json.loads(_BEFORE.read_text()), machine.snapshot())
        if changed:
            raise E2EError(f"the machine differs from before the node started: {'; '.join(changed)} (see {_BEFORE})")
        _BEFORE.unlink()
        say("the machine is as before the node started: links, addresses, routes, netns, iptables, nftables, "
            "mounts, cgroups, the daemons' default paths and sysctls compared")  # fmt: skip


def down() -> None:
    """Stop the node, whatever state a failed start left; nothing up is not an error."""
    if not ROOT.exists() and not NETNS_PATH.exists() and not _node_cgroups():
        return
    _stop()
