"""The real node's configuration applies each workaround only where the machine needs it, and the
machine comparison names exactly what changed."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from e2e import images, machine, node_files
from e2e.node_files import Layout
from tests.conftest import ROOT

LAYOUT = Layout(Path("/state/node"))


@pytest.mark.parametrize("v1", [True, False])
def test_kubelet_tolerates_cgroup_v1_only_on_a_machine_that_has_it(v1):
    config = json.loads(node_files.kubelet_config(LAYOUT, allow_cgroup_v1=v1))
    assert ("failCgroupV1" in config, config.get("failCgroupV1")) == ((True, False) if v1 else (False, None))


def test_kubelet_uses_the_node_dns_and_never_collects_imported_images():
    config = json.loads(node_files.kubelet_config(LAYOUT, allow_cgroup_v1=False))
    assert config["clusterDNS"] == [node_files.NODE_IP]
    assert config["clusterDomain"] == "cluster.local"
    assert config["imageGCHighThresholdPercent"] == 99
    assert config["containerRuntimeEndpoint"] == "unix:///state/node/run/containerd.sock"
    assert (config["address"], config["healthzBindAddress"]) == (node_files.NODE_IP, "127.0.0.1")


@pytest.mark.parametrize("restrict", [True, False])
def test_containerd_clamps_oom_scores_only_without_cap_sys_resource(restrict):
    text = node_files.containerd_config(
        LAYOUT, runc=Path("/c/runc"), cni_bin=Path("/c/cni"), restrict_oom_score_adj=restrict
    )
    plugins = tomllib.loads(text)["plugins"]
    runtime = plugins["io.containerd.cri.v1.runtime"]
    assert (runtime["restrict_oom_score_adj"], runtime["netns_mounts_under_state_dir"]) == (restrict, True)
    assert plugins["io.containerd.cri.v1.images"]["pinned_images"] == {"sandbox": node_files.SANDBOX_IMAGE}
    assert runtime["containerd"]["runtimes"]["runc"]["options"] == {"BinaryName": "/c/runc", "SystemdCgroup": False}


def test_kube_proxy_never_sets_the_machine_wide_conntrack_table_size():
    config = json.loads(node_files.kube_proxy_config(LAYOUT))
    assert config["conntrack"] == {
        "maxPerCore": 0,
        "min": 0,
        "tcpEstablishedTimeout": "0s",
        "tcpCloseWaitTimeout": "0s",
    }


def test_coredns_answers_only_inside_the_node_namespace_and_only_for_the_cluster_domain():
    lines = [line.strip() for line in node_files.corefile(LAYOUT).splitlines()]
    assert lines[0] == "cluster.local:53 in-addr.arpa:53 {"
    assert f"bind {node_files.NODE_IP} 127.0.0.1" in lines
    assert "kubeconfig /state/node/etc/coredns.kubeconfig bluegreen-e2e" in lines


def test_every_identity_kubeconfig_reaches_the_api_server_on_loopback_with_its_token():
    config = json.loads(node_files.kubeconfig(b"CA", "t0k", "kubelet"))
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert config["users"] == [{"name": "kubelet", "user": {"token": "t0k"}}]
    assert node_files.IDENTITIES["kubelet"] == ("system:node:bluegreen-node", "system:nodes")


def test_the_pod_network_is_the_bridge_range_the_controller_manager_hands_the_node():
    plugins = json.loads(node_files.cni_conflist(LAYOUT))["plugins"]
    assert [p["type"] for p in plugins] == ["bridge", "portmap"]
    assert plugins[0]["ipam"]["ranges"] == [[{"subnet": "10.244.0.0/24", "gateway": "10.244.0.1"}]]
    assert plugins[0]["ipMasq"] is False


def test_the_machine_comparison_names_what_was_added_and_what_changed():
    before = {"routes": ["default via 10.0.0.1"], "sysctls": {"kernel/panic": "0"}, "mounts": ["/ ext4"]}
    after = {
        "routes": ["default via 10.0.0.1", "10.244.0.0/24 dev cni0"],
        "sysctls": {"kernel/panic": "10"},
        "mounts": ["/ ext4"],
    }
    assert machine.differences(before, after) == [
        "routes: added ['10.244.0.0/24 dev cni0'] removed []",
        'sysctls: {"kernel/panic": "0"} -> {"kernel/panic": "10"}',
    ]
    assert machine.differences(before, before) == []


def test_the_suite_runs_the_dev_stack_on_the_projects_own_images():
    shipped = ROOT.joinpath("Pulumi.dev.yaml").read_text()
    config = yaml.safe_load(images.localize(shipped))["config"]
    assert (config["bluegreen:blueImage"], config["bluegreen:greenImage"]) == (images.ECHO, images.ECHO)
    assert config["bluegreen:frontend"]["image"] == images.RELAY


def test_a_real_node_is_refused_in_one_line_without_root(monkeypatch):
    monkeypatch.setattr(machine.platform, "system", lambda: "Linux")
    monkeypatch.setattr(machine.os, "geteuid", lambda: 1000)
    assert machine.refusal() == (
        "a real node needs root (network and mount namespaces, cgroups): run it as root, or use kwok"
    )


def test_a_real_node_is_refused_in_one_line_off_linux(monkeypatch):
    monkeypatch.setattr(machine.platform, "system", lambda: "Darwin")
    assert machine.refusal() == "a real node needs Linux (this is Darwin): use make cluster (kwok) instead"


def test_cgroup_hierarchies_are_read_with_their_controllers_for_remounting(monkeypatch, tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(
        "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
        "31 25 0:27 / /sys/fs/cgroup/systemd rw shared:10 - cgroup cgroup rw,xattr,name=systemd\n"
        "32 25 0:28 / /sys/fs/cgroup/unified rw shared:11 - cgroup2 cgroup2 rw,nsdelegate\n"
        "33 1 8:1 / / rw - ext4 /dev/vda rw\n"
    )
    monkeypatch.setattr(machine, "_MOUNTINFO", info)
    assert machine.cgroup_mounts() == [
        machine.Mount("/sys/fs/cgroup/cpu", "cgroup", "rw,cpu"),
        machine.Mount("/sys/fs/cgroup/systemd", "cgroup", "rw,xattr,name=systemd"),
        machine.Mount("/sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate"),
    ]
    assert machine.cgroup_v1() is True


def test_a_unified_cgroup2_host_needs_no_cgroup_v1_workaround(monkeypatch, tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(
        "30 25 0:26 / /sys/fs/cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
    )
    monkeypatch.setattr(machine, "_MOUNTINFO", info)
    # cgroup2's options belong to its one root: a mount without them would switch them off machine-wide.
    assert machine.cgroup_mounts() == [machine.Mount("/sys/fs/cgroup", "cgroup2", "rw,nsdelegate,memory_recursiveprot")]
    assert machine.cgroup_v1() is False


@pytest.mark.parametrize(
    ("fstype", "options", "kept"),
    [
        ("cgroup", "rw,cpu,cpuacct", ["cpu", "cpuacct"]),
        ("cgroup", "rw,xattr,release_agent=/x,name=systemd", ["xattr", "name=systemd"]),
        ("cgroup2", "rw,nsdelegate,memory_recursiveprot", ["nsdelegate", "memory_recursiveprot"]),
        ("cgroup2", "ro", []),
    ],
)
def test_a_hierarchy_is_mounted_again_with_exactly_the_options_that_name_it(fstype, options, kept):
    assert machine._mount_options(fstype, options) == kept


def _anchor(resolv_target):
    return node_files.anchor_script(
        resolv_conf=Path("/s/etc/resolv.conf"),
        resolv_target=resolv_target,
        cgroups=[("/sys/fs/cgroup/cpu", "cgroup", "rw,cpu")],
        sysctls=["kernel/panic"],
        shadow=Path("/s/var/sysctl-shadow"),
        ready=Path("/s/run/anchor-ready"),
    ).splitlines()


def test_the_anchor_makes_the_daemons_default_paths_private_before_anything_writes():
    lines = _anchor("/etc/resolv.conf")
    assert lines[:5] == [
        "set -e",
        "mount -t tmpfs -o mode=755 bluegreen-run /run",
        "if [ -d /var/lib ]; then mount -t tmpfs -o mode=755 bluegreen-private /var/lib; fi",
        "if [ -d /var/log ]; then mount -t tmpfs -o mode=755 bluegreen-private /var/log; fi",
        "if [ -d /opt ]; then mount -t tmpfs -o mode=755 bluegreen-private /opt; fi",
    ]
    assert lines[5:] == [
        "mount --bind /s/etc/resolv.conf /etc/resolv.conf",
        "mount -t tmpfs -o mode=755 bluegreen-cgroup /sys/fs/cgroup",
        "mkdir -p /sys/fs/cgroup/cpu",
        "mount -t cgroup -o rw,cpu cgroup /sys/fs/cgroup/cpu",
        "cp /proc/sys/kernel/panic /s/var/sysctl-shadow/kernel.panic",
        "mount --bind /s/var/sysctl-shadow/kernel.panic /proc/sys/kernel/panic",
        "touch /s/run/anchor-ready",
        "exec sleep infinity",
    ]


def test_a_resolv_conf_that_leads_into_run_is_made_again_in_the_private_run():
    lines = _anchor("/run/systemd/resolve/stub-resolv.conf")
    bind = lines.index("mount --bind /s/etc/resolv.conf /run/systemd/resolve/stub-resolv.conf")
    assert lines[bind - 2 : bind] == ["mkdir -p /run/systemd/resolve", ": > /run/systemd/resolve/stub-resolv.conf"]
    assert lines.index("mount -t tmpfs -o mode=755 bluegreen-run /run") < bind - 2
    assert not [line for line in _anchor(None) if "resolv" in line]


@pytest.mark.parametrize(
    ("line", "normal"),
    [
        ("2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic eth0 valid_lft 3599sec preferred_lft 3599sec",
         "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic eth0"),
        ("2001:db8::/64 dev eth0 proto ra metric 100 expires 86391sec pref medium",
         "2001:db8::/64 dev eth0 proto ra metric 100 pref medium"),
    ],
)  # fmt: skip
def test_address_and_route_lifetimes_that_count_down_are_not_differences(line, normal):
    assert machine._LIFETIMES.sub("", line) == normal


def test_a_second_mount_on_a_path_is_a_difference():
    line = "40 30 0:50 / /run rw - tmpfs bluegreen-run rw"
    assert machine._mount_line(line) == "/run tmpfs bluegreen-run"
    before = {"mounts": ["/run tmpfs tmpfs"]}
    after = {"mounts": ["/run tmpfs tmpfs", "/run tmpfs bluegreen-run"]}
    assert machine.differences(before, after) == ["mounts: added ['/run tmpfs bluegreen-run'] removed []"]


def test_an_identical_second_mount_is_a_difference():
    before = {"mounts": ["/sys/fs/cgroup tmpfs tmpfs"]}
    after = {"mounts": ["/sys/fs/cgroup tmpfs tmpfs", "/sys/fs/cgroup tmpfs tmpfs"]}
    assert machine.differences(before, after) == ["mounts: added ['/sys/fs/cgroup tmpfs tmpfs'] removed []"]
