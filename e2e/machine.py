"""What this machine allows a real node to do, and a picture of the machine's own state to compare after it.

The real node lives in namespaces of its own; these checks decide which workarounds it needs (each
applied only where the machine needs it) and prove afterwards that nothing of it was left behind.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.env import E2EError, run

REQUIRED_COMMANDS = ("ip", "nsenter", "unshare", "mount", "ss", "iptables", "ipset", "conntrack", "openssl")
# The machine-wide values kubelet's kernel-tunables set-up writes, shadowed in the node's mount namespace.
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
_WATCHED_SYSCTLS = (*KUBELET_SYSCTLS, "net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables")
# Where a node's daemons write by default, outside the directories they are given.
WATCHED_PATHS = ("/var/lib/cni", "/var/lib/kubelet", "/var/lib/containerd", "/var/log/containers", "/var/log/pods",
                 "/opt/containerd", "/opt/cni", "/etc/cni", "/run/containerd", "/run/xtables.lock")  # fmt: skip
CGROUP_PATTERNS = ("kubepods*", "bluegreen-*")
_LIFETIMES = re.compile(r"\s+(valid_lft|preferred_lft|expires)\s+\S+")
_CAP_SYS_RESOURCE = 24
_MOUNTINFO = Path("/proc/1/mountinfo")


def refusal() -> str | None:
    """Why a real node cannot start here (one line), or None."""
    if platform.system() != "Linux":
        return f"a real node needs Linux (this is {platform.system()}): use make cluster (kwok) instead"
    if os.geteuid() != 0:
        return "a real node needs root (network and mount namespaces, cgroups): run it as root, or use kwok"
    if missing := [command for command in REQUIRED_COMMANDS if not shutil.which(command)]:
        return f"a real node needs {', '.join(missing)} on PATH: `make toolchain NODE=real` installs them (Debian)"
    return None


@dataclass(frozen=True)
class Mount:
    target: str
    fstype: str
    options: str


def cgroup_mounts() -> list[Mount]:
    """The machine's cgroup hierarchies, as process 1 sees them (re-mounted inside the node's namespace)."""
    found = []
    for line in _MOUNTINFO.read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype, super_options = fields[sep + 1], fields[sep + 3]
        if fstype in ("cgroup", "cgroup2"):
            found.append(Mount(fields[4], fstype, ",".join(["rw", *_mount_options(fstype, super_options)])))
    return found


def _mount_options(fstype: str, super_options: str) -> list[str]:
    """The options that mount the same hierarchy again without changing it.

    A v1 hierarchy is named by its controllers (and name=); cgroup2's options (nsdelegate,
    memory_recursiveprot, ...) belong to its one root, and a mount without them would switch them off
    for the whole machine, so they are kept exactly.
    """
    options = [o for o in super_options.split(",") if o not in ("rw", "ro")]
    if fstype == "cgroup2":
        return options
    return [o for o in options if "=" not in o or o.startswith("name=")]


def cgroup_v1() -> bool:
    """/sys/fs/cgroup is not the unified cgroup2 hierarchy, as kubelet decides (it then needs failCgroupV1: false)."""
    return not any(m.target == "/sys/fs/cgroup" and m.fstype == "cgroup2" for m in cgroup_mounts())


def can_raise_oom_protection() -> bool:
    """Root holds CAP_SYS_RESOURCE, which lowering a process's oom_score_adj needs (kubelet asks -998)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> _CAP_SYS_RESOURCE & 1)
    return False


def snapshot() -> dict[str, Any]:
    """The machine's own network, netfilter, mounts, cgroups and sysctls, normalised for comparison."""
    return {
        "links": sorted(re.sub(r"^\d+: ", "", line).split(":")[0] for line in _lines(["ip", "-o", "link"])),
        "addresses": sorted(_LIFETIMES.sub("", line) for line in _lines(["ip", "-o", "addr"])),
        "routes": sorted(_LIFETIMES.sub("", line) for line in _lines(["ip", "route"]) + _lines(["ip", "-6", "route"])),
        "netns": sorted(_lines(["ip", "netns", "list"])),
        "iptables": _rules(["iptables-save"]) + _rules(["ip6tables-save"]),
        "nftables": _lines(["nft", "--stateless", "list", "ruleset"]) if shutil.which("nft") else [],
        "mounts": sorted(_mount_line(line) for line in _mountinfo()),  # a list: a second mount on a path shows
        "cgroups": sorted(
            str(path) for m in cgroup_mounts() for pattern in CGROUP_PATTERNS for path in Path(m.target).glob(pattern)
        ),
        "paths": sorted(path for path in WATCHED_PATHS if Path(path).exists()),
        "sysctls": {key: _sysctl(key) for key in _WATCHED_SYSCTLS},
    }


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """One line per part of the machine that changed."""
    changed = []
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            # As multisets: a second, identical mount on a path is a difference too.
            added = sorted((Counter(new) - Counter(old)).elements())
            removed = sorted((Counter(old) - Counter(new)).elements())
            changed.append(f"{key}: added {added[:5]} removed {removed[:5]}")
        else:
            changed.append(f"{key}: {json.dumps(old)} -> {json.dumps(new)}")
    return changed


def _lines(cmd: list[str]) -> list[str]:
    if not shutil.which(cmd[0]):
        return []
    try:
        return [line.strip() for line in run(cmd, what=cmd[0]).splitlines() if line.strip()]
    except E2EError:
        return []


def _rules(cmd: list[str]) -> list[str]:
    """iptables-save without its comments and counters."""
    return [re.sub(r"\[\d+:\d+\]", "", line) for line in _lines(cmd) if not line.startswith("#")]


def _mount_line(line: str) -> str:
    """Mount point, type and source of one mountinfo line."""
    fields = line.split()
    sep = fields.index("-")
    return " ".join([fields[4], fields[sep + 1], fields[sep + 2]])


def _mountinfo() -> list[str]:
    return _MOUNTINFO.read_text().splitlines()


def _sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", key).read_text().strip()
    except OSError:
        return None
