"""The real node's keys, identities and configuration files, written under its state directory.

Pure renderers plus one openssl-driven key step; the lifecycle in e2e/node.py decides where and when.
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from e2e.env import run

NODE_NAME: Final = "bluegreen-node"
NODE_IP: Final = "10.200.0.2"
NODE_PREFIX: Final = 24
CLUSTER_CIDR: Final = "10.244.0.0/16"
POD_CIDR: Final = "10.244.0.0/24"
POD_GATEWAY: Final = "10.244.0.1"
SERVICE_CIDR: Final = "10.96.0.0/16"
API_SERVICE_IP: Final = "10.96.0.1"
API_PORT: Final = 6443
CLUSTER_DOMAIN: Final = "cluster.local"
DNS_READY_PORT: Final = 8181
SANDBOX_IMAGE: Final = "bluegreen.local/e2e/pause:1"
CGROUP_ROOT: Final = "bluegreen-e2e"
"""The node's own cgroup in every hierarchy (kubelet's cgroupRoot): teardown touches nothing outside it."""
PRIVATE_DIRS: Final = ("/var/lib", "/var/log", "/opt")
"""Where the daemons write whatever their flags say (libcni's cache, kubelet's /var/log/containers and device
plugins, containerd's /opt/containerd): each gets an empty tmpfs in the node's mount namespace."""
_CERT_DAYS: Final = 30

# Each component's identity, as kubeadm gives it, so the bootstrap RBAC roles and the Node authorizer apply.
IDENTITIES: Final = {
    "admin": ("bluegreen-e2e-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", ""),
    "scheduler": ("system:kube-scheduler", ""),
    "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
    "kube-proxy": ("system:kube-proxy", ""),
    "kube-router": ("bluegreen-e2e-kube-router", "system:masters"),
    "coredns": ("bluegreen-e2e-coredns", "system:masters"),
}


@dataclass(frozen=True)
class Layout:
    """Where everything of one node lives: `root` is the state directory."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "run" / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.etc / "cni"

    @property
    def resolv_conf(self) -> Path:
        return self.etc / "resolv.conf"

    def kubeconfig(self, who: str) -> Path:
        return self.etc / f"{who}.kubeconfig"


def write_pki(layout: Layout) -> None:
    """A CA, the API server's serving certificate (every name it is reached by), its client certificate
    towards the kubelet (exec, logs, port-forward), and the service-account key pair."""
    pki = layout.pki
    pki.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str | Path) -> None:
        run(["openssl", *args], what="openssl", cwd=pki)

    def signed(name: str, subject: str, extensions: str) -> None:
        (pki / f"{name}.ext").write_text(f"keyUsage=critical,digitalSignature,keyEncipherment\n{extensions}\n")
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", str(_CERT_DAYS), "-extfile", f"{name}.ext", "-out", f"{name}.crt")  # fmt: skip

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days",
            str(_CERT_DAYS), "-subj", "/CN=bluegreen-e2e-ca")  # fmt: skip
    names = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{CLUSTER_DOMAIN}"]
    ips = [f"IP:{ip}" for ip in ("127.0.0.1", NODE_IP, API_SERVICE_IP)]
    sans = ",".join([*ips, *(f"DNS:{name}" for name in ["localhost", *names])])
    signed("apiserver", "/CN=kube-apiserver", f"extendedKeyUsage=serverAuth\nsubjectAltName={sans}")
    signed("kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "extendedKeyUsage=clientAuth")
    openssl("genrsa", "-out", "sa.key", "2048")
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")


def write_identities(layout: Layout) -> None:
    """A static token per component (--token-auth-file) and one kubeconfig each, the CA inline."""
    ca = (layout.pki / "ca.crt").read_bytes()
    lines = []
    layout.etc.mkdir(parents=True, exist_ok=True)
    for who, (user, groups) in IDENTITIES.items():
        token = secrets.token_hex(16)
        lines.append(f'{token},{user},{user},"{groups}"' if groups else f"{token},{user},{user}")
        layout.kubeconfig(who).write_text(kubeconfig(ca, token, who))
        layout.kubeconfig(who).chmod(0o600)
    (layout.pki / "tokens.csv").write_text("\n".join(lines) + "\n")
    (layout.pki / "tokens.csv").chmod(0o600)


def kubeconfig(ca: bytes, token: str, who: str) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "bluegreen-e2e",
                "cluster": {
                    "server": f"https://127.0.0.1:{API_PORT}",
                    "certificate-authority-data": base64.b64encode(ca).decode(),
                },
            }
        ],
        "users": [{"name": who, "user": {"token": token}}],
        "contexts": [{"name": "bluegreen-e2e", "context": {"cluster": "bluegreen-e2e", "user": who}}],
        "current-context": "bluegreen-e2e",
    }
    return json.dumps(config, indent=2) + "\n"


def containerd_config(layout: Layout, *, runc: Path, cni_bin: Path, restrict_oom_score_adj: bool) -> str:
    """containerd's CRI plugin: state in the private /run, pod netns pins under it, runc with cgroupfs."""
    return f"""version = 3
root = '{layout.var / "containerd"}'
state = '/run/containerd'

[grpc]
  address = '{layout.containerd_socket}'

[ttrpc]
  address = '{layout.containerd_socket}.ttrpc'

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = '{SANDBOX_IMAGE}'

[plugins.'io.containerd.cri.v1.runtime']
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = {str(restrict_oom_score_adj).lower()}

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  BinaryName = '{runc}'
  SystemdCgroup = false

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ['{cni_bin}']
  conf_dir = '{layout.cni_conf_dir}'

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
"""


def cni_conflist(layout: Layout) -> str:
    config = {
        "cniVersion": "1.0.0",
        "name": "bluegreen-e2e",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.var / "cni"),
                    "ranges": [[{"subnet": POD_CIDR, "gateway": POD_GATEWAY}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def kubelet_config(layout: Layout, *, allow_cgroup_v1: bool) -> str:
    config: dict[str, object] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "address": NODE_IP,
        "healthzBindAddress": "127.0.0.1",
        "readOnlyPort": 0,
        "podLogsDir": str(layout.var / "pod-logs"),
        # Pods reach the node IP (their DNS server): only the API server's certificate, and callers the
        # API server authorizes, may use the kubelet's API; it serves no machine logs.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(layout.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "enableSystemLogHandler": False,
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "failSwapOn": False,
        "resolvConf": str(layout.resolv_conf),
        "clusterDNS": [NODE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "5%", "imagefs.available": "5%"},
        # Images are imported, never pulled: collecting one would lose it for good.
        "imageGCHighThresholdPercent": 99,
    }
    if allow_cgroup_v1:
        config["failCgroupV1"] = False
    return json.dumps(config, indent=2) + "\n"


def kube_proxy_config(layout: Layout) -> str:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig("kube-proxy"))},
        # nf_conntrack_max is machine-wide: kube-proxy must not set it.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }
    return json.dumps(config, indent=2) + "\n"


def corefile(layout: Layout) -> str:
    """Cluster DNS for pods (on the node IP) and the node itself (loopback); other names are refused at once."""
    return f"""{CLUSTER_DOMAIN}:53 in-addr.arpa:53 {{
    bind {NODE_IP} 127.0.0.1
    errors
    ready 127.0.0.1:{DNS_READY_PORT}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa {{
        kubeconfig {layout.kubeconfig("coredns")} bluegreen-e2e
        pods insecure
    }}
    cache 5
}}
"""


def anchor_script(
    *,
    resolv_conf: Path,
    resolv_target: str | None,
    cgroups: Sequence[tuple[str, str, str]],
    sysctls: Sequence[str],
    shadow: Path,
    ready: Path,
) -> str:
    """The shell the mount-namespace anchor runs (in the node's network namespace, a private mount
    namespace): private /run and PRIVATE_DIRS, the cgroup hierarchies back (`ip netns exec` hid them),
    resolv.conf pointing at cluster DNS, machine-wide sysctls shadowed; then it holds the namespace.

    resolv_target: what /etc/resolv.conf resolves to (it may lead into /run), None when there is none.
    cgroups: (mount point, type, options) of each hierarchy; sysctls: keys under /proc/sys to shadow.
    """
    q = shlex.quote
    lines = ["set -e", "mount -t tmpfs -o mode=755 bluegreen-run /run"]
    lines += [f"if [ -d {d} ]; then mount -t tmpfs -o mode=755 bluegreen-private {d}; fi" for d in PRIVATE_DIRS]
    if resolv_target:
        if resolv_target.startswith("/run/"):  # systemd-resolved's stub: it lives in the new, empty /run
            lines += [f"mkdir -p {q(str(Path(resolv_target).parent))}", f": > {q(resolv_target)}"]
        lines += [f"mount --bind {q(str(resolv_conf))} {q(resolv_target)}"]
    lines += ["mount -t tmpfs -o mode=755 bluegreen-cgroup /sys/fs/cgroup"]
    for target, fstype, options in cgroups:
        lines += [f"mkdir -p {q(target)}", f"mount -t {fstype} -o {q(options)} {fstype} {q(target)}"]
    for key in sysctls:
        copy = q(str(shadow / key.replace("/", ".")))
        lines += [f"cp /proc/sys/{key} {copy}", f"mount --bind {copy} /proc/sys/{key}"]
    return "\n".join([*lines, f"touch {q(str(ready))}", "exec sleep infinity"]) + "\n"


def resolv_conf() -> str:
    return f"nameserver {NODE_IP}\nsearch svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}\n"
