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
    shipped = Path(__file__).resolve().parent.parent.joinpath("Pulumi.dev.yaml").read_text()
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
        machine.Mount("/sys/fs/cgroup/unified", "cgroup2", "rw"),
    ]
    assert machine.cgroup_v1() is True


def test_a_unified_cgroup2_host_needs_no_cgroup_v1_workaround(monkeypatch, tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text("30 25 0:26 / /sys/fs/cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n")
    monkeypatch.setattr(machine, "_MOUNTINFO", info)
    assert machine.cgroup_mounts() == [machine.Mount("/sys/fs/cgroup", "cgroup2", "rw")]
    assert machine.cgroup_v1() is False
