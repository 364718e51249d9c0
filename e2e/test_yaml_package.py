"""BlueGreenApp from Pulumi YAML through the real CLI, the real provider and a real API server.

The scenarios run in order on one stack of e2e/yaml-app: the package's schema, the first `up`, a
cutover preview, the cutover (only the selector moves; ClusterIP, UID and both Deployments are
kept), the hooks created inside the component (the pre-switch gate, the scale-down delay), a bad
argument, an output where a plain value is needed, and the tear-down.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bluegreen import naming
from bluegreen.provider import BlueGreenProvider
from e2e import toolchain
from e2e.conftest import Done, Shell
from e2e.env import CHECKOUT

APP_DIR = CHECKOUT / "e2e" / "yaml-app"
UNKNOWN_DIR = CHECKOUT / "e2e" / "yaml-unknown"
PLUGIN = CHECKOUT / "provider" / "pulumi-resource-bluegreen"
STACK = "e2e"
NAMESPACE = "yaml-apps"
APP = "backend"
DELAY_SECONDS = 4
TOKEN = "e2e-token-7f3a"
WATCH_LIMIT_SECONDS = 300
_seen: dict[str, Any] = {}


def pulumi(shell: Shell, *args: str, cwd: Path = APP_DIR, check: bool = True) -> Done:
    return shell.run(["pulumi", *args, "--stack", STACK, "--non-interactive"], cwd=cwd, check=check)


def service(shell: Shell, name: str) -> dict[str, Any]:
    return shell.kubectl_json("get", "service", name, "--namespace", NAMESPACE)


def deployments(shell: Shell) -> dict[str, dict[str, Any]]:
    found = shell.kubectl_json("get", "deployments", "--namespace", NAMESPACE)["items"]
    return {d["metadata"]["name"]: d for d in found}


def identity(deployment: dict[str, Any]) -> tuple[str, int]:
    """The Deployment itself (its UID) and its spec's version (generation): a status change, such as the old
    color's pods being replaced after a switch, changes neither."""
    return deployment["metadata"]["uid"], deployment["metadata"]["generation"]


@pytest.fixture(scope="module", autouse=True)
def stack(shell: Shell) -> Iterator[None]:
    pulumi(shell, "stack", "init", cwd=APP_DIR, check=False)
    pulumi(shell, "config", "set", "--secret", "apiToken", TOKEN)
    yield
    # Whatever failed, leave nothing behind: the Service is protected, so unprotect first.
    pulumi(shell, "state", "unprotect", "--all", "--yes", check=False)
    pulumi(shell, "destroy", "--yes", "--remove", check=False)
    (APP_DIR / f"Pulumi.{STACK}.yaml").unlink(missing_ok=True)


def _normalized(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema as the CLI hands it on: empty config and dependencies dropped, no descriptions on list items."""
    out = {k: v for k, v in schema.items() if v not in ({}, [])}
    for resource in out["resources"].values():
        for prop in resource["inputProperties"].values():
            for part in ("items", "additionalProperties"):
                if part in prop:
                    prop[part] = {k: v for k, v in prop[part].items() if k != "description"}
    return out


def test_the_package_schema_from_the_cli_is_the_components_and_valid(shell: Shell) -> None:
    # A path without ./ would be taken for a registry package name.
    got = json.loads(shell.run(["pulumi", "package", "get-schema", f"./{PLUGIN.relative_to(CHECKOUT)}"]).stdout)
    provider = BlueGreenProvider()
    assert provider.schema is not None
    assert _normalized(got) == _normalized(json.loads(provider.schema))
    # The metaschema's patterns are Go's: `(?<name>...)` is Python's `(?P<name>...)`.
    metaschema = json.loads(toolchain.package_metaschema().read_text().replace("(?<", "(?P<"))
    jsonschema.validate(got, metaschema)
    path = CHECKOUT / ".e2e" / "schema.json"
    path.write_text(json.dumps(got, indent=2) + "\n")
    checked = shell.run(["pulumi", "schema", "check", str(path)])
    assert checked.output.strip() == ""
    _seen["component"] = got["resources"][naming.COMPONENT_TYPE]


def test_up_creates_both_colors_behind_a_service_that_selects_blue(shell: Shell) -> None:
    done = pulumi(shell, "up", "--yes", "--skip-preview")
    assert "Traceback" not in done.output
    found = deployments(shell)
    assert sorted(found) == [f"{APP}-blue", f"{APP}-green"]
    for d in found.values():
        available = {c["type"]: c["status"] for c in d["status"]["conditions"]}["Available"]
        assert (available, d["status"]["readyReplicas"]) == ("True", 2)
    active, preview = service(shell, APP), service(shell, f"{APP}-preview")
    assert active["spec"]["selector"] == {"app": APP, "color": "blue"}
    assert preview["spec"]["selector"] == {"app": APP, "color": "green"}
    outputs = json.loads(pulumi(shell, "stack", "output", "--json").stdout)
    assert outputs == {
        "activeColor": "blue",
        "serviceName": APP,
        "serviceDns": f"{APP}.{NAMESPACE}.svc.cluster.local",
        "clusterIp": active["spec"]["clusterIP"],
        "previewServiceName": f"{APP}-preview",
    }
    _seen["service"] = (active["metadata"]["uid"], active["spec"]["clusterIP"])
    _seen["deployments"] = {name: identity(d) for name, d in found.items()}


def test_a_secret_env_value_reaches_the_pods_only_through_a_secret(shell: Shell) -> None:
    secrets = shell.kubectl_json("get", "secrets", "--namespace", NAMESPACE, "--selector", f"app={APP}")["items"]
    assert [s["metadata"]["name"].startswith(f"{APP}-env-") for s in secrets] == [True]
    stored = {k: base64.b64decode(v).decode() for k, v in secrets[0]["data"].items()}
    assert stored == {"API_TOKEN": TOKEN, "LOG_LEVEL": "info"}
    name = secrets[0]["metadata"]["name"]
    for d in deployments(shell).values():
        env = d["spec"]["template"]["spec"]["containers"][0]["env"]
        assert env == [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
            for key in ("API_TOKEN", "LOG_LEVEL")
        ]
    state = pulumi(shell, "stack", "export").stdout
    assert TOKEN not in state and TOKEN not in json.dumps(deployments(shell))


def test_a_cutover_preview_plans_only_the_two_selector_changes(shell: Shell) -> None:
    pulumi(shell, "config", "set", "activeColor", "green")
    plan = json.loads(pulumi(shell, "preview", "--json").stdout)
    changed = {
        s["urn"].rsplit("::", 1)[1]: (s["op"], s.get("detailedDiff")) for s in plan["steps"] if s["op"] != "same"
    }
    selector = {"spec.selector.color": {"kind": "update", "inputDiff": False}}
    assert changed == {APP: ("update", selector), f"{APP}-preview": ("update", selector)}


def test_the_cutover_moves_only_the_selector_after_the_gate_passed(shell: Shell) -> None:
    done = pulumi(shell, "up", "--yes", "--skip-preview")
    assert "pre-switch gate: " in done.output
    active, preview = service(shell, APP), service(shell, f"{APP}-preview")
    assert active["spec"]["selector"] == {"app": APP, "color": "green"}
    assert preview["spec"]["selector"] == {"app": APP, "color": "blue"}
    assert (active["metadata"]["uid"], active["spec"]["clusterIP"]) == _seen["service"]
    assert {name: identity(d) for name, d in deployments(shell).items()} == _seen["deployments"]
    _seen["gate"] = [line.strip() for line in done.output.splitlines() if "pre-switch gate: " in line]


def _watch(shell: Shell, stop: threading.Event, seen: dict[str, float]) -> None:
    """Record when the selector first selects blue and when green first shrinks (bounded in time)."""
    deadline = time.monotonic() + WATCH_LIMIT_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        now = time.monotonic()
        selector = service(shell, APP)["spec"]["selector"]["color"]
        green = deployments(shell)[f"{APP}-green"]["spec"]["replicas"]
        if selector == "blue":
            seen.setdefault("selector_moved", now)
        if green < 2:
            seen.setdefault("green_shrunk", now)
        stop.wait(0.2)


def test_the_old_color_shrinks_only_after_the_selector_moved_and_the_delay(shell: Shell) -> None:
    pulumi(shell, "config", "set", "idleReplicas", "0")
    pulumi(shell, "config", "set", "scaleDownDelaySeconds", str(DELAY_SECONDS))
    pulumi(shell, "up", "--yes", "--skip-preview")  # blue shrinks to 0 while idle; green stays active
    pulumi(shell, "config", "set", "activeColor", "blue")
    seen: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(shell, stop, seen), daemon=True)
    watcher.start()
    done = pulumi(shell, "up", "--yes", "--skip-preview")
    stop.set()
    watcher.join(timeout=30)
    assert f"waiting {DELAY_SECONDS}s before scaling 2 -> 0 replicas" in done.output
    assert set(seen) == {"selector_moved", "green_shrunk"}, seen
    assert seen["green_shrunk"] - seen["selector_moved"] >= DELAY_SECONDS - 0.5
    assert deployments(shell)[f"{APP}-green"]["spec"]["replicas"] == 0
    _seen["delay"] = round(seen["green_shrunk"] - seen["selector_moved"], 1)


def test_a_bad_argument_is_one_clear_error_and_changes_nothing(shell: Shell) -> None:
    before = {name: identity(d) for name, d in deployments(shell).items()}
    done = pulumi(shell, "up", "--yes", "--skip-preview", "--config", "blueImage=nginx:latest", check=False)
    pulumi(shell, "config", "rm", "blueImage")
    assert done.returncode != 0
    assert "Traceback" not in done.output
    assert 'BlueGreenApp "backend": 1 invalid argument(s), nothing was created' in done.output
    assert (
        '- property blueImage with value "nginx:latest" has a problem: must be pinned to a tag or digest other '
        'than "latest". Fix: set the argument blueImage to "nginx:<tag>"'
    ) in done.output
    assert {name: identity(d) for name, d in deployments(shell).items()} == before
    assert json.loads(pulumi(shell, "stack", "output", "--json").stdout)["activeColor"] == "blue"
    _seen["bad_argument"] = [line.strip() for line in done.output.splitlines() if "blueImage" in line]


def test_an_output_where_a_plain_value_is_needed_is_refused_at_preview(shell: Shell) -> None:
    pulumi(shell, "stack", "init", cwd=UNKNOWN_DIR, check=False)
    try:
        done = pulumi(shell, "preview", cwd=UNKNOWN_DIR, check=False)
    finally:
        pulumi(shell, "stack", "rm", "--yes", "--force", cwd=UNKNOWN_DIR, check=False)
        (UNKNOWN_DIR / f"Pulumi.{STACK}.yaml").unlink(missing_ok=True)
    assert done.returncode != 0
    assert "Traceback" not in done.output
    assert (
        "has a problem: must be a plain value, known when the program is planned: it decides names, labels or "
        "routing, so it cannot wait for another resource's output (or be secret). Fix: pass namespace a literal or "
        "config value"
    ) in done.output
    _seen["unknown"] = [line.strip() for line in done.output.splitlines() if "plain value" in line]


def test_tear_down_leaves_nothing_of_the_stack_in_the_cluster(shell: Shell) -> None:
    pulumi(shell, "state", "unprotect", "--all", "--yes")
    pulumi(shell, "destroy", "--yes")
    left = shell.run(["kubectl", "get", "namespace", NAMESPACE], check=False)
    assert left.returncode != 0 and "NotFound" in left.output
    findings = CHECKOUT / ".e2e" / "findings.json"
    findings.write_text(json.dumps(_seen, indent=2) + "\n")
