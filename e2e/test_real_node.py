"""On the real node: the dev stack's containers really run, the gate's smoke check really answers, and
traffic really moves with the selector.

In order, on a temporary copy of this checkout whose dev stack uses the project's own images and sets
readinessPath /health and smokePath / (so a color can be made to answer 500 while its pods stay
Ready): `make up`, the containers as the kernel sees them, `make smoke` before and after a cutover,
a refusal by the smoke check, cluster DNS and the NetworkPolicy, and a cutover under traffic from a
bounded probe. Skipped on kwok, where no container runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e import cluster, images, node, node_files, toolchain
from e2e.conftest import Done, Shell
from e2e.env import STATE_DIR
from e2e.project import Project, on_the_real_node, tear_down
from e2e.test_python_program import lines

pytestmark = pytest.mark.skipif(
    not cluster.is_real(), reason="needs the real node: make e2e (or make cluster NODE=real)"
)

NAMESPACE = "bluegreen-dev"
APP = "backend"
FRONTEND = "frontend"
UID = 65532
BACKEND_URL = f"http://{APP}.{NAMESPACE}.svc.cluster.local/"
SMOKE = (
    f"SMOKE_IMAGE={images.PROBE}",
    f"SMOKE_UID={UID}",
    f"SMOKE_GID={UID}",
    'SMOKE_COMMAND=["/probe","-n","$(SMOKE_REQUESTS)","$(SMOKE_URL)"]',
)
PROBE_RATE = 20
PROBE_LIMIT = 1800  # 90 s at PROBE_RATE: the probe is stopped as soon as the cutover has been seen through
CSV_LINE = re.compile(r'^(\d+),([\d.]+),([\d.]+),(\d+),"(.*)"$')
_seen: dict[str, Any] = {}


@pytest.fixture(scope="module")
def project(shell: Shell) -> Iterator[Project]:
    work = on_the_real_node(shell, "node")
    yield work
    tear_down(work)
    (STATE_DIR / "findings-node.json").write_text(json.dumps(_seen, indent=2, default=str) + "\n")


def pods(shell: Shell, color: str) -> list[dict[str, Any]]:
    found = shell.kubectl_json("get", "pods", "--namespace", NAMESPACE, "--selector", f"app={APP},color={color}")
    return sorted(found["items"], key=lambda p: p["metadata"]["name"])


def selector(shell: Shell) -> dict[str, str]:
    return shell.kubectl_json("get", "service", APP, "--namespace", NAMESPACE)["spec"]["selector"]


def task_pids() -> dict[str, int]:
    """Container ID -> its process on this machine, as containerd reports its tasks."""
    ctr = toolchain.tool("ctr")
    listed = subprocess.run(
        [str(ctr), "--address", str(node.LAYOUT.containerd_socket), "--namespace", "k8s.io", "tasks", "ls"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return {fields[0]: int(fields[1]) for fields in (line.split() for line in listed.splitlines()[1:]) if fields}


def kernel_view(pid: int) -> dict[str, str]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    root = next(line for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines() if line.split()[4] == "/")
    return {
        "Uid": " ".join(status["Uid"].split()),
        "Gid": " ".join(status["Gid"].split()),
        "NoNewPrivs": status["NoNewPrivs"].strip(),
        "Seccomp": status["Seccomp"].strip(),
        "CapEff": status["CapEff"].strip(),
        "root": root.split()[5].split(",")[0],
        "cmdline": Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip(),
    }


def answers(done: Done) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith(f"{APP} ")]


def set_fault(shell: Shell, color: str, query: str | None) -> None:
    """Turn every pod of `color` to answer with a fault (query like status=500), or back (None)."""
    for pod in pods(shell, color):
        url = f"http://{pod['status']['podIP']}:5678/fault" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, method="PUT" if query else "DELETE")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200


def run_probe_pod(shell: Shell, name: str, label: str) -> list[tuple[int, str]]:
    """A one-off pod labelled app=<label> sends 20 requests to the backend's DNS name: (status, answer) each.

    Run, waited for, then read from its log (as make smoke does): `kubectl run -i` can print a quick pod's
    output twice.
    """
    overrides = {
        "metadata": {"labels": {"app": label}},
        "spec": {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": name,
                    "image": images.PROBE,
                    "args": ["-csv", "-n", "20", "-rate", "10", "-timeout", "1s", BACKEND_URL],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                    },
                }
            ],
        },
    }
    where = ["--namespace", NAMESPACE]
    shell.run(
        [
            "kubectl",
            "run",
            name,
            *where,
            "--restart=Never",
            f"--image={images.PROBE}",
            f"--overrides={json.dumps(overrides)}",
        ]
    )
    try:
        done = "jsonpath={.status.phase}=Succeeded"
        shell.run(["kubectl", "wait", f"pod/{name}", *where, f"--for={done}", "--timeout=60s"])
        log = shell.run(["kubectl", "logs", f"pod/{name}", *where])
    finally:
        shell.run(["kubectl", "delete", "pod", name, *where, "--wait=false"], check=False)
    rows = [m for m in map(CSV_LINE.match, log.stdout.splitlines()) if m]
    assert [int(m.group(1)) for m in rows] == list(range(1, 21))
    return [(int(m.group(4)), m.group(5).replace('""', '"')) for m in rows]


def test_a_plain_shell_reaches_the_node_through_the_env_file_and_nothing_listens_outside(shell: Shell) -> None:
    # From the machine's own network namespace, where a user's shell runs.
    outside = ["nsenter", f"--net={shell.machine_netns}", "--", "bash", "-c"]
    sourced = shell.run([*outside, f"source {cluster.ENV_FILE} && kubectl get nodes -o name && pulumi version"])
    assert sourced.stdout.splitlines() == [f"node/{node_files.NODE_NAME}", f"v{toolchain.pins()['pulumi']['version']}"]
    direct = f"{toolchain.tool('kubectl')} --kubeconfig {cluster.KUBECONFIG} --request-timeout=5s get --raw /readyz"
    refused = shell.run([*outside, direct], check=False)
    listening = shell.run([*outside, "ss -Hltunp"]).stdout
    ours = [line for line in listening.splitlines() if any(f"pid={pid}," in line for pid in node.daemon_pids())]
    assert ours == []
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"
    ]
    _seen["outside"] = refused.stderr.strip()


def test_a_second_start_is_refused_in_one_line_and_leaves_the_running_node_alone(shell: Shell) -> None:
    before = shell.kubectl_json("get", "node", node_files.NODE_NAME)["metadata"]["uid"]
    done = shell.run([sys.executable, "-m", "e2e.cluster", "up", "--node", "real"], check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f"e2e.cluster: a cluster is already up (state in {STATE_DIR}): stop it with `python -m e2e.cluster down`"
    ]
    assert shell.kubectl_json("get", "node", node_files.NODE_NAME)["metadata"]["uid"] == before


def test_make_up_runs_real_containers_of_both_colors_under_the_restricted_profile(
    shell: Shell, project: Project
) -> None:
    project.make("up", "YES=1")
    containers = task_pids()
    seen = {}
    for color, version in (("blue", "1.1"), ("green", "1.2")):
        found = pods(shell, color)
        assert len(found) == 2
        for pod in found:
            (status,) = pod["status"]["containerStatuses"]
            assert (pod["status"]["phase"], status["ready"], status["restartCount"]) == ("Running", True, 0)
            runtime, _, container_id = status["containerID"].partition("://")
            assert runtime == "containerd"
            view = kernel_view(containers[container_id])
            assert view == {
                "Uid": f"{UID} {UID} {UID} {UID}",
                "Gid": f"{UID} {UID} {UID} {UID}",
                "NoNewPrivs": "1",
                "Seccomp": "2",  # a seccomp filter: RuntimeDefault
                "CapEff": "0000000000000000",
                "root": "ro",
                "cmdline": f"/echo -listen=:5678 -text=backend {version} ({color})",
            }
            seen[pod["metadata"]["name"]] = {"container": container_id[:12], **view}
    _seen["containers"] = seen


def test_the_readmes_ship_a_version_puts_it_on_the_idle_color_behind_the_preview_service(
    shell: Shell, project: Project
) -> None:
    # The README's "Ship a version": make release (the node's own echo image stands in for "your new image"),
    # make status says it is ready to promote, then reach it through the preview Service with the README's own
    # port-forward while traffic stays on blue.
    try:
        release = project.make("release", f"IMAGE={images.ECHO}", "VERSION=1.3", "YES=1")
        assert lines(release, "OK: only green's pod template changes") == [
            "OK: only green's pod template changes; traffic stays on blue"
        ]
        status = project.make("status")
        rows = [line.split()[:3] for line in status.stdout.splitlines() if line.strip().startswith(("blue", "green"))]
        assert rows == [["blue*", "1.1", "2"], ["green", "1.3", "2"]]
        assert lines(status, "release:") == [
            "release: green runs 1.3, 2 of 2 pod(s) Available: ready to promote (make cutover COLOR=green)"
        ]
        assert selector(shell) == {"app": APP, "color": "blue"}
        # No wait of its own: make release returns once green has finished rolling out.
        answer = through_port_forward(shell, "service/backend-preview", "8080:80", "http://127.0.0.1:8080/")
        assert answer == "backend 1.3 (green)"
        _seen["ship"] = {"status": rows, "preview": answer}
    finally:
        project.pulumi("config", "set", "bluegreen:greenVersion", "1.2")
        project.make("up", "YES=1")
    # Pods of 1.3 still in their preStop sleep are on their way out: only the running ones count.
    running = [pod for pod in pods(shell, "green") if "deletionTimestamp" not in pod["metadata"]]
    assert [pod["metadata"]["labels"]["version"] for pod in running] == ["1.2", "1.2"]


def test_pod_resources_and_writable_paths_reach_the_running_containers(shell: Shell, project: Project) -> None:
    project.pulumi("config", "set", "bluegreen:memoryLimit", "128Mi")
    project.pulumi("config", "set", "--path", "bluegreen:writablePaths[0]", "/var/cache/app")
    project.make("up", "YES=1")
    # `make up` has been seen to return while the idle color's new pods were still rolling out (the gate
    # then refuses a cutover, as it should): the pods are read once both rollouts are complete.
    for color in ("blue", "green"):
        shell.run(
            ["kubectl", "rollout", "status", f"deployment/{APP}-{color}", "--namespace", NAMESPACE, "--timeout=120s"]
        )
    containers = task_pids()
    seen = {}
    for color in ("blue", "green"):
        running = [pod for pod in pods(shell, color) if "deletionTimestamp" not in pod["metadata"]]
        assert len(running) == 2
        for pod in running:
            (spec,) = pod["spec"]["containers"]
            assert spec["resources"] == {
                "requests": {"cpu": "50m", "memory": "32Mi"},
                "limits": {"cpu": "250m", "memory": "128Mi"},
            }
            (status,) = pod["status"]["containerStatuses"]
            assert status["ready"] is True
            pid = containers[status["containerID"].partition("://")[2]]
            mounts = {fields[4]: fields[5].split(",")[0] for fields in mountinfo(pid)}
            assert (mounts["/"], mounts["/tmp"], mounts["/var/cache/app"]) == ("ro", "rw", "rw")
            assert memory_limit(pid) == 128 * 1024 * 1024
            seen[pod["metadata"]["name"]] = {"memory_limit": memory_limit(pid), "writable": mounts["/var/cache/app"]}
    _seen["resources"] = seen


def mountinfo(pid: int) -> list[list[str]]:
    return [line.split() for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]


def memory_limit(pid: int) -> int:
    """The memory limit the kernel enforces on a process's cgroup (cgroup v2 or v1), in bytes."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            return int(Path(f"/sys/fs/cgroup{path}/memory.max").read_text())
        if "memory" in controllers.split(","):
            return int(Path(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes").read_text())
    raise AssertionError(f"no memory cgroup for process {pid}")


def through_port_forward(shell: Shell, target: str, ports: str, url: str) -> str:
    """One GET through `kubectl port-forward` (bounded: 30 s to forward, 10 s to answer, then stopped)."""
    command = ["kubectl", "--namespace", NAMESPACE, "port-forward", target, ports]
    forward = subprocess.Popen(command, env=shell.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        assert forward.stdout is not None
        while time.monotonic() < deadline:
            line = forward.stdout.readline()
            if not line or line.startswith("Forwarding from 127.0.0.1"):
                break
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode().strip())
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_make_smoke_prints_the_active_version_then_the_new_one_after_a_cutover(shell: Shell, project: Project) -> None:
    before = project.make("smoke", *SMOKE)
    assert answers(before) == ["backend 1.1 (blue)"] * 5
    cutover = project.make("cutover", "COLOR=green", "YES=1")
    smoke = [line.strip() for line in cutover.output.splitlines() if "pre-switch gate: smoke check" in line]
    assert len(smoke) == 1
    assert re.fullmatch(
        rf"pre-switch gate: smoke check GET / via Pod {NAMESPACE}/{APP}-green-\S+:5678: HTTP 200", smoke[0]
    )
    after = project.make("smoke", *SMOKE)
    assert answers(after) == ["backend 1.2 (green)"] * 5
    _seen["smoke"] = {"before": answers(before), "gate": smoke, "after": answers(after)}


def test_the_smoke_check_refuses_a_color_that_answers_500_and_traffic_stays(shell: Shell, project: Project) -> None:
    set_fault(shell, "blue", "status=500")
    try:
        done = project.make("cutover", "COLOR=blue", "YES=1", check=False)
    finally:
        set_fault(shell, "blue", None)
    assert done.returncode != 0
    assert "Traceback" not in done.output
    refusal = [line for line in done.stderr.splitlines() if line.startswith("bgctl: error:")]
    assert len(refusal) == 1
    assert re.search(
        rf"smoke check GET / via Pod {NAMESPACE}/{APP}-blue-\S+:5678 answered HTTP 500 Internal Server Error: "
        r"backend 1\.1 \(blue\)\. Traffic stays on green",
        refusal[0],
    ), refusal[0]
    assert selector(shell) == {"app": APP, "color": "green"}
    assert all(pod["status"]["containerStatuses"][0]["ready"] for pod in pods(shell, "blue"))
    _seen["smoke_refusal"] = refusal


def test_a_client_pod_reaches_the_backend_by_dns_name_and_a_stranger_is_refused(shell: Shell, project: Project) -> None:
    client = run_probe_pod(shell, "client", FRONTEND)
    stranger = run_probe_pod(shell, "stranger", "stranger")
    cluster_ip = shell.kubectl_json("get", "service", APP, "--namespace", NAMESPACE)["spec"]["clusterIP"]
    refused = f'Get "{BACKEND_URL}": dial tcp {cluster_ip}:80: connect: connection refused'
    # kube-router admits a new pod once its IP is in the policy's ipset: the first request or two may be refused.
    late = next(i for i, (status, _) in enumerate(client) if status == 200)
    assert late <= 3
    assert client[:late] == [(0, refused)] * late
    assert client[late:] == [(200, "backend 1.2 (green)")] * (20 - late)
    # Refused or dropped (kube-router does both); never a failed lookup: the policy, not DNS, turned it away.
    timed_out = f'Get "{BACKEND_URL}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    assert {answer for _, answer in stranger} <= {refused, timed_out}
    assert [status for status, _ in stranger] == [0] * 20
    _seen["network_policy"] = {"client": client, "stranger": stranger[:3]}


def test_a_cutover_under_traffic_moves_new_connections_once_and_drops_none(shell: Shell, project: Project) -> None:
    cluster_ip = shell.kubectl_json("get", "service", APP, "--namespace", NAMESPACE)["spec"]["clusterIP"]
    probe = [str(node.ROOT / "images" / "bin" / "probe"), "-csv", "-n", str(PROBE_LIMIT), "-rate", str(PROBE_RATE)]
    started = time.monotonic()
    target = [*probe, "-timeout", "2s", f"http://{cluster_ip}/"]
    with subprocess.Popen(target, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            time.sleep(2)
            switch = time.monotonic() - started
            done = project.make("cutover", "COLOR=blue", "YES=1")
            time.sleep(3)
        finally:
            proc.terminate()
        out, err = proc.communicate(timeout=30)
    rows = [m for m in map(CSV_LINE.match, out.splitlines()) if m]
    summary = re.fullmatch(r"probe: (\d+) requests, \d+ failed", err.strip().splitlines()[-1])
    assert summary, err
    sent = int(summary.group(1))
    assert [int(m.group(1)) for m in rows] == list(range(1, sent + 1))
    failed = [m.group(0) for m in rows if int(m.group(4)) != 200]
    colors = [re.sub(r"^backend [\d.]+ \((\w+)\)$", r"\1", m.group(5)) for m in rows if int(m.group(4)) == 200]
    runs = [c for i, c in enumerate(colors) if i == 0 or colors[i - 1] != c]
    assert done.returncode == 0
    assert failed == []
    assert runs == ["green", "blue"]
    # Sent at the rate from before the cutover's start to 3 s after its end.
    assert sent >= (2 + done.seconds + 3 - 1) * PROBE_RATE
    moved = next(float(m.group(2)) / 1000 for m in rows if m.group(5).endswith("(blue)"))
    _seen["traffic"] = {
        "requests": len(rows),
        "failed": len(failed),
        "green": colors.count("green"),
        "blue": colors.count("blue"),
        "cutover_started_s": round(switch, 1),
        "answers_moved_s": round(moved, 2),
        "cutover_seconds": round(done.seconds, 1),
    }
    assert selector(shell) == {"app": APP, "color": "blue"}
