"""The Python program, its policy pack and bgctl through the real CLI, as the README's runbook runs them.

In order, on the dev stack of a temporary copy of this checkout (e2e/project.py), with the README's
commands: `make up YES=1`, a cutover preview, the cutover and its gate, status and history, rollbacks
from real history, a refusal by the gate, the scale-down after the switch, bad config, the policy
pack, three apps in one stack with a secret, and the tear-down. Every claim is checked on the API
server and in the stack's state and history, not only in the CLI's output.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e import cluster, images, toolchain
from e2e.conftest import Done, Shell
from e2e.env import CHECKOUT
from e2e.project import Project, copy_checkout
from e2e.watch import Watch

NAMESPACE = "bluegreen-dev"
APP = "backend"
FRONTEND = "frontend"
DELAY_SECONDS = 4
APPS_STACK = "apps3"
APPS_NAMESPACE = "bluegreen-apps"
APPS_PASSPHRASE = "e2e-apps"
TOKEN = "e2e-secret-5c1d"
READY_LIMIT_SECONDS = 120
LOCK_HOLD_SECONDS = 25
RECORDED = cluster.STATE_DIR / "recorded"
_seen: dict[str, Any] = {}


@pytest.fixture(scope="module")
def project(shell: Shell) -> Iterator[Project]:
    work = Project(shell)
    work.files = copy_checkout(work.root)
    # The dev stack as shipped, but on the project's own images (the real node never pulls).
    stack_file = work.root / "Pulumi.dev.yaml"
    stack_file.write_text(images.localize(stack_file.read_text()))
    _seen["copied_files"] = len(work.files)
    yield work
    # Whatever failed, leave nothing behind (the Services and the namespace are protected).
    for stack, passphrase in (("dev", ""), (APPS_STACK, APPS_PASSPHRASE)):
        work.passphrase = passphrase
        work.pulumi("state", "unprotect", "--all", "--yes", stack=stack, check=False)
        work.pulumi("destroy", "--yes", "--remove", stack=stack, check=False)
    (cluster.STATE_DIR / "findings-python.json").write_text(json.dumps(_seen, indent=2, default=str) + "\n")


def kubectl(shell: Shell, *args: str, namespace: str = NAMESPACE) -> Any:
    return shell.kubectl_json(*args, "--namespace", namespace)


def services(shell: Shell, namespace: str = NAMESPACE) -> dict[str, dict[str, Any]]:
    return {s["metadata"]["name"]: s for s in kubectl(shell, "get", "services", namespace=namespace)["items"]}


def deployments(shell: Shell, namespace: str = NAMESPACE) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in kubectl(shell, "get", "deployments", namespace=namespace)["items"]}


def selector(shell: Shell, name: str, namespace: str = NAMESPACE) -> dict[str, str]:
    return services(shell, namespace)[name]["spec"]["selector"]


def identity(obj: dict[str, Any]) -> tuple[str, int]:
    """The object itself (its UID) and its spec's version (generation): a status change, such as the old color's
    pods being replaced after a switch, changes neither."""
    return obj["metadata"]["uid"], obj["metadata"].get("generation", 0)


def endpoint_count(shell: Shell, name: str, namespace: str = NAMESPACE) -> int:
    found = kubectl(shell, "get", "endpoints", name, namespace=namespace)
    return sum(len(subset.get("addresses") or []) for subset in found.get("subsets") or [])


def lines(done: Done, needle: str) -> list[str]:
    return [line.strip() for line in done.output.splitlines() if needle in line]


def wait_available(shell: Shell, name: str, replicas: int, namespace: str = NAMESPACE) -> None:
    deadline = time.monotonic() + READY_LIMIT_SECONDS
    while time.monotonic() < deadline:
        status = deployments(shell, namespace)[name]["status"]
        if status.get("availableReplicas") == replicas and status.get("updatedReplicas") == replicas:
            return
        time.sleep(1)
    raise AssertionError(f"{name} did not become available with {replicas} replicas in {READY_LIMIT_SECONDS}s")


def test_make_up_creates_every_object_available_with_the_readme_outputs(shell: Shell, project: Project) -> None:
    done = project.make("up", "YES=1")
    assert "Traceback" not in done.output
    assert "error:" not in done.output
    found = deployments(shell)
    assert sorted(found) == [f"{APP}-blue", f"{APP}-green", FRONTEND]
    for d in found.values():
        conditions = {c["type"]: c["status"] for c in d["status"]["conditions"]}
        assert (conditions["Available"], d["status"]["readyReplicas"]) == ("True", 2)
    svc = services(shell)
    assert sorted(svc) == [APP, f"{APP}-preview", FRONTEND]
    assert svc[APP]["spec"]["selector"] == {"app": APP, "color": "blue"}
    assert svc[f"{APP}-preview"]["spec"]["selector"] == {"app": APP, "color": "green"}
    assert {name: endpoint_count(shell, name) for name in svc} == {APP: 2, f"{APP}-preview": 2, FRONTEND: 2}
    cluster_ip = svc[APP]["spec"]["clusterIP"]
    app_outputs = {
        "activeColor": "blue",
        "idleColor": "green",
        "serviceName": APP,
        "serviceDns": f"{APP}.{NAMESPACE}.svc.cluster.local",
        "clusterIp": cluster_ip,
        "previewServiceName": f"{APP}-preview",
        "blueImage": images.ECHO,
        "blueVersion": "1.1",
        "blueReplicas": 2,
        "greenImage": images.ECHO,
        "greenVersion": "1.2",
        "greenReplicas": 2,
    }
    assert project.outputs() == {
        **app_outputs,
        "apps": {APP: app_outputs},
        "namespace": NAMESPACE,
        "frontendService": FRONTEND,
        "frontendUpstream": f"http://{APP}.{NAMESPACE}.svc.cluster.local:80",
    }
    _seen["service"] = (svc[APP]["metadata"]["uid"], cluster_ip)
    _seen["deployments"] = {name: identity(d) for name, d in found.items()}
    _seen["up_seconds"] = round(done.seconds, 1)


def test_make_render_shows_exactly_the_objects_make_up_created(shell: Shell, project: Project) -> None:
    rendered = [doc for doc in yaml.safe_load_all(project.make("render").stdout) if isinstance(doc, dict)]
    kinds = sorted({doc["kind"] for doc in rendered})
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    in_cluster = {
        (item["kind"], item["metadata"]["name"])
        for kind in kinds
        for item in shell.kubectl_json("get", kind.lower(), "--namespace", NAMESPACE)["items"]
        if kind != "Namespace" and item["metadata"]["name"] not in ("default", "kube-root-ca.crt")
    } | {("Namespace", NAMESPACE)}
    assert sorted((doc["kind"], doc["metadata"]["name"]) for doc in rendered) == sorted(in_cluster)
    deployment = next(
        doc for doc in rendered if (doc["kind"], doc["metadata"]["name"]) == ("Deployment", f"{APP}-blue")
    )
    live = deployments(shell)[f"{APP}-blue"]
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
        == (live["spec"]["template"]["spec"]["containers"][0]["resources"])
    )


def test_a_transform_sets_what_no_key_covers_and_the_policy_pack_still_checks_it(
    shell: Shell, project: Project
) -> None:
    # The documented escape hatch, docs/configuration.md: a program of one's own passes BlueGreenApp a transform.
    app_dir = project.root / "e2e" / "python_transform"
    pack = str(project.root / "policies")

    def pulumi(*args: str, check: bool = True) -> Done:
        command = ["pulumi", *args, "--stack", "transform", "--non-interactive", "--cwd", str(app_dir)]
        return shell.run(command, cwd=app_dir, env=project.env, check=check)

    shell.run(["pulumi", "stack", "init", "transform", "--cwd", str(app_dir)], cwd=app_dir, env=project.env)
    try:
        planned = json.loads(pulumi("preview", "--json", "--policy-pack", pack).stdout)
        pods = {
            step["urn"].rsplit("::", 1)[1]: step["newState"]["inputs"]["spec"]["template"]
            for step in planned["steps"]
            if step["newState"]["type"] == "kubernetes:apps/v1:Deployment"
        }
        assert sorted(pods) == ["scheduled-blue", "scheduled-green"]
        for template in pods.values():
            assert template["metadata"]["annotations"] == {"example.com/team": "web"}
            assert template["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux", "pool": "web"}
            assert template["spec"]["tolerations"] == [
                {"key": "pool", "operator": "Equal", "value": "web", "effect": "NoSchedule"}
            ]
            assert template["spec"]["imagePullSecrets"] == [{"name": "registry-credentials"}]
            assert template["spec"]["securityContext"]["runAsNonRoot"] is True
        pulumi("config", "set", "privileged", "true")
        refused = pulumi("preview", "--policy-pack", pack, check=False)
        assert refused.returncode != 0
        assert [line.strip() for line in refused.output.splitlines() if "[mandatory]" in line] == [
            "- [mandatory]  pod-host-access-forbidden  (kubernetes:apps/v1:Deployment: scheduled-blue)"
        ]
        assert 'Deployment "scheduled-blue": container "scheduled": securityContext.privileged is true' in (
            refused.output
        )
        _seen["transform"] = {"fields": sorted(pods["scheduled-blue"]["spec"]), "privileged": "refused"}
    finally:
        pulumi("stack", "rm", "--yes", "--force", check=False)


def test_the_first_run_changes_only_the_stack_files_salt(project: Project) -> None:
    # The CLI writes an encryptionsalt into Pulumi.dev.yaml when it creates the stack; nothing else changes.
    written = (project.root / "Pulumi.dev.yaml").read_text().splitlines()
    shipped = images.localize((CHECKOUT / "Pulumi.dev.yaml").read_text()).splitlines()
    added = [line for line in written if line not in shipped]
    assert [line.split(":", 1)[0] for line in added] == ["encryptionsalt"]
    assert [line for line in written if not line.startswith("encryptionsalt:")] == shipped
    _seen["first_run_adds"] = added


def test_the_language_host_serves_about_install_and_a_provider_directory(shell: Shell, project: Project) -> None:
    about = project.pulumi("about")
    sdk = toolchain.requirement("pulumi")
    assert re.search(rf"^language\s+python\s+{re.escape(str(sdk))}$", about.stdout, re.MULTILINE)
    python = project.root / ".venv" / "bin" / "python"
    assert f"This project is written in python: executable='{python}'" in about.stdout
    assert "warning" not in about.output.lower()
    installed = shell.run(["pulumi", "install", "--non-interactive"], cwd=project.root, env=project.env)
    assert f"Requirement already satisfied: pulumi=={sdk} " in installed.output
    # The directory form runs provider/ through the language host (RunPlugin); it must equal the executable's.
    by_directory = json.loads(shell.run(["pulumi", "package", "get-schema", "./provider"], cwd=project.root).stdout)
    executable = "./provider/pulumi-resource-bluegreen"
    by_executable = json.loads(shell.run(["pulumi", "package", "get-schema", executable], cwd=project.root).stdout)
    assert by_directory == by_executable
    assert by_directory["name"] == "bluegreen"


def test_make_preview_color_green_plans_only_the_two_selector_changes_and_writes_nothing(
    shell: Shell, project: Project
) -> None:
    before = project.digests()
    done = project.make("preview", "COLOR=green")
    assert project.digests() == before
    assert lines(done, "Service backend") == [
        "~ Service backend: selector color blue -> green",
        "~ Service backend-preview: selector color green -> blue",
    ]
    assert "OK: the plan changes only selectors and replica counts" in done.output
    assert selector(shell, APP) == {"app": APP, "color": "blue"}


def test_make_cutover_passes_the_gate_and_moves_only_the_selector(shell: Shell, project: Project) -> None:
    done = project.make("cutover", "COLOR=green", "YES=1")
    gate = lines(done, "pre-switch gate: ")
    assert gate == [
        f"pre-switch gate: Deployment {NAMESPACE}/{APP}-green: 2/2 replicas updated and available",
        f"pre-switch gate: green: 2 Ready pod(s) not terminating in {NAMESPACE} (app={APP},color=green)",
    ]
    svc = services(shell)
    assert svc[APP]["spec"]["selector"] == {"app": APP, "color": "green"}
    assert svc[f"{APP}-preview"]["spec"]["selector"] == {"app": APP, "color": "blue"}
    assert (svc[APP]["metadata"]["uid"], svc[APP]["spec"]["clusterIP"]) == _seen["service"]
    assert {name: identity(d) for name, d in deployments(shell).items()} == _seen["deployments"]
    entries = project.history()
    assert [(e["kind"], e["result"], e["version"]) for e in entries] == [
        ("update", "succeeded", 0),
        ("update", "succeeded", 0),
    ]
    assert lines(done, "done: ") == ["done: backend serves green (update 2, succeeded)"]
    _seen["gate"] = gate
    _seen["cutover_seconds"] = round(done.seconds, 1)
    # What the API server answered to the gate's two reads, for the fast suite's stand-in (tests/fixtures/real_api/).
    RECORDED.mkdir(parents=True, exist_ok=True)
    for name, path in (
        ("api-deployment.json", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{APP}-green"),
        ("api-pods.json", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app%3D{APP}%2Ccolor%3Dgreen"),
    ):
        (RECORDED / name).write_text(shell.run(["kubectl", "get", "--raw", path]).stdout)


def test_make_status_and_history_tell_the_truth_from_real_history(shell: Shell, project: Project) -> None:
    status = project.make("status")
    cluster_ip = _seen["service"][1]
    assert lines(status, "active:") == ["active: green   idle: blue"]
    assert lines(status, "service:") == [f"service: {APP}.{NAMESPACE}.svc.cluster.local (ClusterIP {cluster_ip})"]
    assert lines(status, "preview:") == [f"preview: {APP}-preview (selects blue)"]
    cutovers = [line for line in status.output.splitlines() if re.match(r"^\s+v\d+ ", line)]
    assert [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "TIME", c.strip()) for c in cutovers] == [
        "v2  TIME  blue -> green  succeeded",
        "v1  TIME  (first deploy) -> blue  succeeded",
    ]
    history = project.make("history")
    timeline = [line.strip() for line in history.output.splitlines() if re.match(r"^\s+v\d+ ", line)]
    assert [t.split("  ")[0] for t in timeline] == ["v2", "v1"]
    assert "bgctl cutover backend: blue -> green" in timeline[0]
    # What the real CLI printed, for the fast suite's stand-in (tests/fixtures/real_cli/ keeps a copy).
    RECORDED.mkdir(parents=True, exist_ok=True)
    for name, args in (
        ("stack-history.json", ("stack", "history", "--json")),
        ("stack-ls.json", ("stack", "ls", "--json")),
        ("config.json", ("config", "--json")),
    ):
        (RECORDED / name).write_text(project.pulumi(*args).stdout)


def test_make_rollback_returns_to_blue_then_to_an_older_entry_chosen_from_history(
    shell: Shell, project: Project
) -> None:
    done = project.make("rollback", "YES=1")
    assert lines(done, "rollback target:")[0].startswith("rollback target: update v1 of ")
    assert selector(shell, APP) == {"app": APP, "color": "blue"}
    assert lines(done, "done: ") == ["done: backend serves blue (update 3, succeeded)"]
    # The README: pick the number from `make history`, then `make rollback TO_VERSION=N`.
    history = project.make("history")
    green = [line.strip() for line in history.output.splitlines() if "-> green  succeeded" in line]
    number = green[0].split()[0].removeprefix("v")
    assert number == "2"
    again = project.make("rollback", f"TO_VERSION={number}", "YES=1")
    assert lines(again, "rollback target:")[0].startswith("rollback target: update v2 of ")
    assert selector(shell, APP) == {"app": APP, "color": "green"}
    assert lines(again, "done: ") == ["done: backend serves green (update 4, succeeded)"]
    assert [e["message"].split(":")[0] for e in project.history()[:2]] == [
        "bgctl rollback to v2 backend",
        "bgctl rollback to v1 backend",
    ]


def test_the_gate_refuses_a_color_whose_pods_are_not_ready_and_traffic_stays(shell: Shell, project: Project) -> None:
    nodes = [n["metadata"]["name"] for n in shell.kubectl_json("get", "nodes")["items"]]
    before = services(shell)[APP]
    try:
        for node in nodes:
            shell.run(["kubectl", "cordon", node])
        shell.run(["kubectl", "delete", "pods", "--namespace", NAMESPACE, "--selector", f"app={APP},color=blue"])
        done = project.make("cutover", "COLOR=blue", "YES=1", check=False)
        # The runbook's plain `pulumi up` meets the same gate: its lines, and no traceback.
        project.pulumi("config", "set", "bluegreen:activeColor", "blue")
        plain = project.pulumi("up", "--yes", "--skip-preview", check=False)
        project.pulumi("config", "set", "bluegreen:activeColor", "green")
    finally:
        for node in nodes:
            shell.run(["kubectl", "uncordon", node])
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    refusal = [line for line in done.stderr.splitlines() if line.startswith("bgctl: error:")]
    assert refusal == [
        "bgctl: error: cutover to blue failed: pre-switch gate: backend cannot switch from green to blue: "
        f"Deployment {NAMESPACE}/{APP}-blue has 0 of 2 replicas available (2 unavailable). Traffic stays on green; "
        "fix blue, or set bluegreen:preSwitchGate false if this runner cannot reach the cluster; "
        "Service backend still selects green; config restored to green"
    ]
    assert plain.returncode != 0
    assert "Traceback" not in plain.output
    diagnostics = plain.stdout.split("Diagnostics:", 1)[1].split("Outputs:", 1)[0]
    # The engine lists the Service's and the stack's diagnostics in either order.
    assert sorted(line.strip() for line in diagnostics.splitlines() if line.strip().startswith("error:")) == sorted(
        [
            'error: before hook "backend-pre-switch-gate" failed: '
            + refusal[0].split("failed: ", 1)[1].split("; Service")[0],
            "error: update failed",
            "error: Resource monitor has terminated, shutting down",
        ]
    )
    after = services(shell)[APP]
    assert after["spec"]["selector"] == {"app": APP, "color": "green"}
    assert identity(after) == identity(before)
    assert "bluegreen:activeColor: green" in (project.root / "Pulumi.dev.yaml").read_text()
    wait_available(shell, f"{APP}-blue", 2)
    _seen["gate_refusal"] = refusal


def _lock_files(project: Project) -> list[Path]:
    return [p for p in (project.root / ".pulumi").rglob("*") if p.is_file() and "locks" in p.parts]


def test_a_running_update_holds_the_lock_that_stops_a_second_cutover(shell: Shell, project: Project) -> None:
    # An update that stays in progress for a while: blue, idle, shrinks to 0 after a 25-second delay.
    project.pulumi("config", "set", "bluegreen:idleReplicas", "0")
    project.pulumi("config", "set", "bluegreen:scaleDownDelaySeconds", str(LOCK_HOLD_SECONDS))
    running = subprocess.Popen(
        ["make", "--no-print-directory", "up", "YES=1"],
        cwd=project.root,
        env={**shell.env, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + READY_LIMIT_SECONDS
        while not _lock_files(project) and time.monotonic() < deadline and running.poll() is None:
            time.sleep(0.2)
        assert _lock_files(project), "pulumi up took no lock"
        # The file backend does not report the update: bgctl's own check cannot see it.
        (listed,) = json.loads(project.pulumi("stack", "ls", "--json").stdout)
        assert "updateInProgress" not in listed
        # A preview takes no lock; the cutover's `up` meets the lock, and the config is put back.
        assert project.bgctl("preview", "blue").returncode == 0
        refused = project.bgctl("cutover", "blue", "--yes", check=False)
        still_running = running.poll() is None
    finally:
        try:
            out, _ = running.communicate(timeout=READY_LIMIT_SECONDS * 2)
        except subprocess.TimeoutExpired:
            running.kill()  # never leave an update holding the stack's lock for the scenarios after this one
            out, _ = running.communicate()
    assert still_running
    assert refused.stderr.splitlines() == [
        "bgctl: error: another update of stack dev is already running; nothing changed, config restored to green"
    ]
    assert running.returncode == 0, out
    assert "bluegreen:activeColor: green" in (project.root / "Pulumi.dev.yaml").read_text()
    assert selector(shell, APP) == {"app": APP, "color": "green"}
    assert deployments(shell)[f"{APP}-blue"]["spec"]["replicas"] == 0
    assert _lock_files(project) == []


def test_idle_replicas_zero_scales_up_first_and_shrinks_the_old_color_after_the_delay(
    shell: Shell, project: Project
) -> None:
    project.pulumi("config", "set", "bluegreen:idleReplicas", "0")
    project.pulumi("config", "set", "bluegreen:scaleDownDelaySeconds", str(DELAY_SECONDS))
    project.make("up", "YES=1")  # blue, idle now, shrinks to 0
    assert deployments(shell)[f"{APP}-blue"]["spec"]["replicas"] == 0
    with Watch(cluster.KUBECONFIG, NAMESPACE) as watch:
        start = time.monotonic()
        done = project.make("cutover", "COLOR=blue", "YES=1")
    blue_ready = watch.first(lambda e: e.name == f"{APP}-blue" and e.available == 2, after=start)
    moved = watch.first(lambda e: e.kind == "Service" and e.name == APP and e.selector == "blue", after=start)
    green_shrunk = watch.first(lambda e: e.name == f"{APP}-green" and (e.replicas or 0) < 2, after=start)
    assert blue_ready is not None and moved is not None and green_shrunk is not None, list(watch)
    assert blue_ready <= moved < green_shrunk
    assert green_shrunk - moved >= DELAY_SECONDS - 0.5
    assert f"{APP}-green: waiting {DELAY_SECONDS}s before scaling 2 -> 0 replicas" in done.output
    assert deployments(shell)[f"{APP}-green"]["spec"]["replicas"] == 0
    _seen["scale_down"] = {
        "blue_ready_before_switch_s": round(moved - blue_ready, 1),
        "old_color_shrank_after_switch_s": round(green_shrunk - moved, 1),
    }
    # Back to both colors at full size, for what follows.
    project.pulumi("config", "rm", "bluegreen:idleReplicas")
    project.pulumi("config", "rm", "bluegreen:scaleDownDelaySeconds")
    project.make("up", "YES=1")
    wait_available(shell, f"{APP}-green", 2)


def test_a_manual_kubectl_scale_does_not_fail_the_next_shrink_of_the_old_color(shell: Shell, project: Project) -> None:
    # `kubectl scale` claims spec.replicas; the provider's server-side apply then conflicted with it, so a
    # cutover with idleReplicas failed after the switch. The Deployments force the stack's values back.
    shell.run(["kubectl", "scale", "deployment", f"{APP}-green", "--replicas=3", "--namespace", NAMESPACE])
    project.pulumi("config", "set", "bluegreen:idleReplicas", "0")
    project.pulumi("config", "set", "bluegreen:scaleDownDelaySeconds", "0")
    done = project.make("up", "YES=1")
    assert "conflict" not in done.output.lower()
    assert deployments(shell)[f"{APP}-green"]["spec"]["replicas"] == 0
    project.pulumi("config", "rm", "bluegreen:idleReplicas")
    project.pulumi("config", "rm", "bluegreen:scaleDownDelaySeconds")
    project.make("up", "YES=1")
    wait_available(shell, f"{APP}-green", 2)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "bluegreen:activeColor",
            "Green",
            [
                "error: invalid stack config (1 problem(s)):",
                '- bluegreen:activeColor = "Green": must be exactly "blue" or "green" (lower case, no spaces). '
                "Fix: pulumi config set bluegreen:activeColor green",
            ],
        ),
        (
            "bluegreen:blueImage",
            "nginx",
            [
                "error: invalid stack config (1 problem(s)):",
                '- bluegreen:blueImage = "nginx": must be pinned with a tag or digest (no tag means latest). '
                "Fix: pulumi config set bluegreen:blueImage 'nginx:<tag>'",
            ],
        ),
        (
            "bluegreen:containerPort",
            "http",
            [
                "error: validating stack config: Stack 'dev' with configuration key 'containerPort' "
                "must be of type 'integer'"
            ],
        ),
        (
            "bluegreen:activecolour",
            "green",
            [
                "error: invalid stack config (1 problem(s)):",
                '- bluegreen:activecolour = "green": is not a known key: did you mean activeColor? Known keys: '
                "activeColor, apiServerCidrs, appName, apps, args, blueImage, blueReplicas, blueVersion, "
                "containerPort, cpuLimit, cpuRequest, createNamespace, env, frontend, greenImage, greenReplicas, "
                "greenVersion, idleReplicas, memoryLimit, memoryRequest, namespace, preSwitchGate, readinessPath, "
                "recycleOldPods, runAsUser, scaleDownDelaySeconds, servicePort, serviceType, smokePath, tmpSize, "
                "verifySeconds, verifySuccessPercent, writablePaths. "
                'Fix: pulumi config set bluegreen:activeColor "$(pulumi config get bluegreen:activecolour)" && '
                "pulumi config rm bluegreen:activecolour",
            ],
        ),
        (
            "bluegreen:memoryLimit",
            "128MB",
            [
                "error: invalid stack config (1 problem(s)):",
                '- bluegreen:memoryLimit = "128MB": must be a Kubernetes quantity: a number and an optional suffix, '
                "such as 250m or 0.5 (CPU), 64Mi or 1Gi (memory). Fix: pulumi config set bluegreen:memoryLimit 64Mi",
            ],
        ),
    ],
    ids=["activeColor", "image", "type", "did-you-mean", "quantity"],
)
def test_bad_config_through_the_real_cli_is_one_clean_error_and_changes_nothing(
    shell: Shell, project: Project, key: str, value: str, expected: list[str]
) -> None:
    stack_file = project.root / "Pulumi.dev.yaml"
    shipped = stack_file.read_bytes()
    before = {name: identity(d) for name, d in deployments(shell).items()}
    service_before = identity(services(shell)[APP])
    project.pulumi("config", "set", key, value)
    try:
        done = project.pulumi("up", "--yes", "--skip-preview", check=False)
    finally:
        stack_file.write_bytes(shipped)
    assert done.returncode != 0
    assert "Traceback" not in done.output
    errors = [line.strip() for line in done.output.splitlines() if line.strip().startswith(("error:", "- bluegreen"))]
    assert errors == expected
    assert {name: identity(d) for name, d in deployments(shell).items()} == before
    assert identity(services(shell)[APP]) == service_before
    _seen.setdefault("bad_config", {})[key] = errors


def test_make_preview_runs_the_policy_pack_clean_on_the_dev_stack(project: Project) -> None:
    done = project.make("preview")
    # With --diff the CLI lists the packs it ran in a table; a violation would add a `[mandatory]` or `[advisory]` line.
    assert lines(done, "bluegreen-guardrails") == ["bluegreen-guardrails|local|policies  0.1.0"]


def test_the_policy_pack_stops_an_unsafe_cutover_through_pulumi_and_through_bgctl(
    shell: Shell, project: Project
) -> None:
    # The variant: green, the cutover target, configured with one replica (active-color-ready wants 2).
    stack_file = project.root / "Pulumi.dev.yaml"
    shipped = stack_file.read_bytes()
    try:
        project.pulumi("config", "set", "bluegreen:greenReplicas", "1")
        project.pulumi("config", "set", "bluegreen:activeColor", "green")
        plain = project.pulumi("preview", "--policy-pack", "policies", check=False)
        project.pulumi("config", "set", "bluegreen:activeColor", "blue")
        direct = project.bgctl("preview", "green", "--policy-pack", "policies", check=False)
    finally:
        stack_file.write_bytes(shipped)
    message = (
        'Deployment "backend-green" receives the traffic of Service "backend" (color green) but has 1 replicas; '
        "set spec.replicas to at least 2 before the Service selects it"
    )
    assert plain.returncode != 0
    assert lines(plain, "[mandatory]") == [
        "- [mandatory]  active-color-ready  (kubernetes:apps/v1:Deployment: backend-green)"
    ]
    assert message in plain.output
    assert direct.returncode != 0
    assert direct.stderr.splitlines() == [
        "bgctl: error: REFUSED by the policy pack: active-color-ready (mandatory) on backend-green: The color the "
        "active Service selects has enough replicas and a readiness probe on every container. " + message
    ]
    assert selector(shell, APP) == {"app": APP, "color": "blue"}
    _seen["policy"] = {"pulumi": lines(plain, "active-color-ready"), "bgctl": lines(direct, "bgctl: error")}


def _apps_config(project: Project) -> None:
    stack = APPS_STACK
    run = project.pulumi
    run("stack", "init", stack=stack, check=False)
    for key, value in (
        ("namespace", APPS_NAMESPACE),
        ("activeColor", "blue"),
        ("blueImage", images.ECHO),
        ("blueVersion", "1.1"),
        ("greenImage", images.ECHO),
        ("greenVersion", "1.2"),
        ("containerPort", "5678"),
    ):
        run("config", "set", f"bluegreen:{key}", value, stack=stack)
    run("config", "set", "--path", "bluegreen:args[0]", "--", "-listen=:{port}", stack=stack)
    run("config", "set", "--path", "bluegreen:args[1]", "--", "-text={version} ({color})", stack=stack)
    for index, name in enumerate(("backend", "api", "search")):
        run("config", "set", "--path", f"bluegreen:apps[{index}].name", name, stack=stack)
    run("config", "set", "--secret", "--path", "bluegreen:env.API_TOKEN", TOKEN, stack=stack)


def test_three_apps_in_one_stack_cut_over_one_and_leave_the_others(shell: Shell, project: Project) -> None:
    project.passphrase = APPS_PASSPHRASE
    try:
        _apps_config(project)
        project.make("up", f"STACK={APPS_STACK}", "YES=1")
        before = services(shell, APPS_NAMESPACE)
        assert {n: s["spec"]["selector"]["color"] for n, s in before.items() if "preview" not in n} == {
            "backend": "blue",
            "api": "blue",
            "search": "blue",
        }
        done = project.make("cutover", "COLOR=green", f"STACK={APPS_STACK}", "APP=api", "YES=1")
        assert lines(done, "done: ") == ["done: api serves green (update 2, succeeded)"]
        after = services(shell, APPS_NAMESPACE)
        assert after["api"]["spec"]["selector"]["color"] == "green"
        assert after["api-preview"]["spec"]["selector"]["color"] == "blue"
        untouched = ("backend", "backend-preview", "search", "search-preview")
        assert {n: identity(after[n]) for n in untouched} == {n: identity(before[n]) for n in untouched}
        # The secret env value reaches the pods only through the env Secret.
        secrets = kubectl(shell, "get", "secrets", namespace=APPS_NAMESPACE)["items"]
        env_secrets = [s for s in secrets if s["metadata"]["name"].startswith("api-env-")]
        assert [base64.b64decode(s["data"]["API_TOKEN"]).decode() for s in env_secrets] == [TOKEN]
        for d in deployments(shell, APPS_NAMESPACE).values():
            assert TOKEN not in json.dumps(d)
            env = d["spec"]["template"]["spec"]["containers"][0]["env"]
            assert [e["valueFrom"]["secretKeyRef"]["key"] for e in env] == ["API_TOKEN"]
        state = project.pulumi("stack", "export", stack=APPS_STACK).stdout
        assert TOKEN not in state and TOKEN not in project.pulumi("stack", "output", "--json", stack=APPS_STACK).stdout
        project.pulumi("state", "unprotect", "--all", "--yes", stack=APPS_STACK)
        project.pulumi("destroy", "--yes", "--remove", stack=APPS_STACK)
    finally:
        project.passphrase = ""


def test_the_readmes_passphrase_advice_holds_for_an_existing_stack(shell: Shell, project: Project) -> None:
    # A stack made with the empty passphrase (as make up makes dev) refuses another; the README's rotation works.
    def pulumi(passphrase: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**shell.env, **project.env, "PULUMI_CONFIG_PASSPHRASE": passphrase}
        command = ["pulumi", *args, "--stack", "passphrase"]
        return subprocess.run(
            command, cwd=project.root, env=env, input=stdin, capture_output=True, text=True, timeout=120
        )

    assert pulumi("", "stack", "init").returncode == 0
    try:
        secret = ("config", "set", "--secret", "--path", "bluegreen:env.TOKEN", "s3cret", "--non-interactive")
        wrong = pulumi("new-phrase", *secret)
        assert (wrong.returncode, wrong.stderr.strip()) == (1, "error: incorrect passphrase")
        # The README: echo "$NEW" | PULUMI_CONFIG_PASSPHRASE= pulumi stack change-secrets-provider passphrase
        rotated = pulumi("", "stack", "change-secrets-provider", "passphrase", stdin="new-phrase\n")
        assert rotated.returncode == 0, rotated.stderr
        assert pulumi("new-phrase", *secret).returncode == 0
        assert pulumi("new-phrase", "config", "get", "bluegreen:env").stdout.strip() == '{"TOKEN":"s3cret"}'
        assert pulumi("", "config", "get", "bluegreen:env").stderr.strip() == "error: incorrect passphrase"
    finally:
        pulumi("", "stack", "rm", "--yes", "--force")
        (project.root / "Pulumi.passphrase.yaml").unlink(missing_ok=True)


INTERRUPT_LIMIT_SECONDS = 180
"""The most an interrupted cutover may take to end (the CLI cancels its update first)."""


def _interrupted_cutover(shell: Shell, project: Project, target: str, when: str) -> tuple[int, str, str]:
    """`bgctl cutover TARGET --yes` as a terminal runs it, interrupted (SIGINT to its whole process group, as
    Ctrl-C is) as soon as it prints the line `when` (or one that starts with it and a space); its exit code,
    output and error."""
    cutover = subprocess.Popen(
        [str(project.root / ".venv" / "bin" / "bgctl"), "cutover", target, "--yes"],
        cwd=project.root,
        env={**shell.env, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    out: list[str] = []
    try:
        assert cutover.stdout is not None
        deadline = time.monotonic() + INTERRUPT_LIMIT_SECONDS
        for line in cutover.stdout:
            out.append(line)
            if line.strip() == when or line.strip().startswith(f"{when} "):
                os.killpg(cutover.pid, signal.SIGINT)
                break
            assert time.monotonic() < deadline, "the moment to interrupt never came"
        rest, err = cutover.communicate(timeout=INTERRUPT_LIMIT_SECONDS)
    finally:
        if cutover.poll() is None:
            os.killpg(cutover.pid, signal.SIGKILL)  # never leave an update running for the scenarios after this
            cutover.communicate()
    return cutover.returncode, "".join(out) + rest, err


@pytest.mark.parametrize(
    ("when", "moved"),
    [("setting bluegreen:activeColor", False), ("done update   kubernetes:core/v1:Service backend", True)],
    ids=["as-the-update-starts", "right-after-the-switch"],
)
def test_an_interrupted_cutover_leaves_the_config_where_traffic_is(
    shell: Shell, project: Project, when: str, moved: bool
) -> None:
    serving = selector(shell, APP)["color"]
    target = "green" if serving == "blue" else "blue"
    code, out, err = _interrupted_cutover(shell, project, target, when)
    now = selector(shell, APP)["color"]
    configured = project.pulumi("config", "get", "bluegreen:activeColor").stdout.strip()
    assert (code, len(err.splitlines())) == (1, 1), out + err
    assert err.startswith("bgctl: error: ")
    assert "SIGINT received" in out
    assert configured == now == (target if moved else serving), out + err
    # The next plain `pulumi up` (a CI job) performs no cutover nobody confirmed.
    project.pulumi("up", "--yes", "--skip-preview")
    assert selector(shell, APP)["color"] == now
    _seen.setdefault("interrupted", {})[when] = {"exit": code, "error": err.strip(), "serving": now}


def test_tear_down_as_the_readme_says_leaves_nothing_of_the_stack(shell: Shell, project: Project) -> None:
    declined = project.make("destroy", check=False)  # no terminal to answer: nothing is destroyed
    assert declined.returncode != 0
    assert "nothing destroyed" in declined.stderr
    assert shell.run(["kubectl", "get", "namespace", NAMESPACE]).returncode == 0
    project.make("destroy", "YES=1")
    left = shell.run(["kubectl", "get", "namespace", NAMESPACE], check=False)
    assert left.returncode != 0 and "NotFound" in left.output
