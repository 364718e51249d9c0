"""A stand-in `pulumi` executable for the Automation API: it answers the CLI calls the SDK makes
(`version`, `stack select/ls/output/history/export`, `config`, `config set`, `preview`, `up`) with
output shaped as the SDK parses it, and streams engine events to the SDK's gRPC event server
(`--event-log tcp://...`, the CLI's transport after 3.205).

Its world is a JSON file (`$FAKE_PULUMI_STATE`); stack config lives in `Pulumi.<stack>.yaml` in the
working directory, as the real CLI keeps it. Every call is appended to `calls.jsonl` beside the state.

It answers as the real CLI does on the file backend (`PULUMI_BACKEND_URL=file://...`): every history
entry has `"version": 0`, `stack ls` never reports an update in progress, and only `up` takes the
stack's lock (`"locked": true` in the state makes `up` fail as a locked stack does; `preview` runs).
`"interruptConfigSet": true` makes the next `config set` interrupt its caller and fail unwritten;
`"interruptUp": true` makes `up` interrupt its caller first, as a Ctrl-C in a terminal does (with
`upFailure`, the update it then cancels). `upFailure` may name the `color` whose update it fails and be
`once`; `plans` may hold a plan for a color and both versions (`"green 1.1 1.3"`), a release's.
An empty `<stack>.json.attrs` beside the stack's state file in the backend folder (what a pulumi killed
while writing it leaves) fails every call that reads the stack as v3.274.1 does; `version` and `whoami`
still answer. An empty one beside a history file fails `stack history` only, as there.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

VERSION = "3.210.0"
LOCKED = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete "
    "the lock file with `pulumi cancel`."
)
MONITOR_GONE = "Resource monitor has terminated, shutting down"
_INDEX = re.compile(r"^(?P<key>[^\[]+)\[(?P<index>\d+)\]\.(?P<field>\w+)$")


def _state_path() -> Path:
    return Path(os.environ["FAKE_PULUMI_STATE"])


def _load() -> dict[str, Any]:
    return json.loads(_state_path().read_text())


def _save(state: dict[str, Any]) -> None:
    _state_path().write_text(json.dumps(state, indent=2))


def _lock_dir(stack: str) -> Path:
    """Where the file backend keeps the stack's locks: <backend>/.pulumi/locks/organization/<project>/<stack>."""
    return _backend_dir() / ".pulumi" / "locks" / "organization" / "bluegreen" / stack


def _backend_dir() -> Path:
    """The file backend's folder, as `whoami` names it."""
    return _state_path().parent / "backend"


def _metadata_cut(stack: str) -> bool:
    """The stack file's metadata file is there and empty: the real CLI then cannot load the stack."""
    path = _backend_dir() / ".pulumi" / "stacks" / "bluegreen" / f"{stack}.json.attrs"
    return path.is_file() and not path.stat().st_size


def _fail(message: str, code: int = 255) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(code)


def _flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def _stack_file(stack: str, override: str | None = None) -> Path:
    return Path(override) if override else Path.cwd() / f"Pulumi.{stack}.yaml"


def config_json(config: dict[str, Any]) -> dict[str, Any]:
    """`pulumi config --json` and history shape, as the real CLI prints it (tests/fixtures/real_cli/).

    Every value is text (`2`, `true`); a structured one is also given as `objectValue`, and its text is
    compact JSON with sorted keys, as Go marshals it.
    """
    shaped = {}
    for key, value in sorted(config.items()):
        if isinstance(value, (dict, list)):
            text = json.dumps(value, separators=(",", ":"), sort_keys=True)
            shaped[key] = {"value": text, "objectValue": value, "secret": False}
        else:
            shaped[key] = {"value": json.dumps(value) if isinstance(value, bool) else str(value), "secret": False}
    return shaped


def _read_config(stack: str, override: str | None = None) -> dict[str, Any]:
    """The stack's config as the CLI hands it on: Pulumi.yaml's declared defaults, then the stack file's values."""
    project = yaml.safe_load((Path.cwd() / "Pulumi.yaml").read_text()) or {}
    name = project.get("name", "")
    declared = project.get("config") or {}
    config = {
        f"{name}:{k}": spec["default"] for k, spec in declared.items() if isinstance(spec, dict) and "default" in spec
    }
    document = yaml.safe_load(_stack_file(stack, override).read_text()) or {}
    config.update(document.get("config") or {})
    return config


def _color(config: dict[str, Any], app: str) -> str:
    apps = config.get("bluegreen:apps")
    if isinstance(apps, list):
        for entry in apps:
            if entry.get("name") == app:
                return str(entry.get("activeColor", config.get("bluegreen:activeColor")))
    return str(config["bluegreen:activeColor"])


def _send_events(address: str, events: list[dict[str, Any]]) -> None:
    import grpc
    from pulumi.runtime.proto import events_pb2, events_pb2_grpc

    with grpc.insecure_channel(address.removeprefix("tcp://")) as channel:
        stub = events_pb2_grpc.EventsStub(channel)
        stub.StreamEvents(iter([events_pb2.EventRequest(event=json.dumps(e)) for e in events]))


def _events(
    steps: list[dict[str, Any]],
    planning: bool,
    failure: dict[str, Any] | None,
    policies: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"preludeEvent": {"config": {}}}]
    events += [{"policyEvent": policy} for policy in policies or []]
    counts: dict[str, int] = {}
    for step in steps:
        pre: dict[str, Any] = {"metadata": step}
        if planning:
            pre["planning"] = True
        events.append({"resourcePreEvent": pre})
        if failure is not None and step["urn"] == failure["urn"]:
            events.append(
                {
                    "diagnosticEvent": {
                        "message": failure["message"] + "\n",
                        "color": "never",
                        "severity": "error",
                        "urn": step["urn"],
                    }
                }
            )
            events.append({"resOpFailedEvent": {"metadata": step, "status": 1, "steps": 1}})
            # As seen from the real engine after a failed hook: the program, still registering, is cut off.
            events.append({"diagnosticEvent": {"message": MONITOR_GONE + "\n", "color": "never", "severity": "error"}})
            break
        events.append({"resOutputsEvent": {"metadata": step, **({"planning": True} if planning else {})}})
        counts[step["op"]] = counts.get(step["op"], 0) + 1
    events.append(
        {"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 3, "resourceChanges": counts, "PolicyPacks": {}}}
    )
    events.append({"cancelEvent": {}})
    return [{"sequence": i, "timestamp": 1746093600 + i, **e} for i, e in enumerate(events)]


def _history_entry(state: dict[str, Any], config: dict[str, Any], result: str, message: str) -> dict[str, Any]:
    position = len(state["history"]) + 1
    stamp = f"2025-05-0{min(position, 9)}T1{position % 10}:00:00.000Z"
    return {
        "version": 0,  # the file backend does not number updates
        "kind": "update",
        "startTime": stamp,
        "endTime": stamp,
        "message": message,
        "environment": {"exec.kind": "auto.local"},
        "config": config_json(config),
        "result": result,
        "resourceChanges": {"same": 9, "update": 2},
    }


def _deploy(state: dict[str, Any], app: str, color: str) -> None:
    """What a successful switch leaves in the state: the Service's selector and the outputs."""
    other = "green" if color == "blue" else "blue"
    for resource in state["resources"]:
        if resource["type"] == "kubernetes:core/v1:Service" and resource["urn"].endswith(f"::{app}"):
            resource["outputs"]["spec"]["selector"]["color"] = color
    outputs = state["outputs"]["apps"][app]
    outputs.update({"activeColor": color, "idleColor": other})
    if len(state["outputs"]["apps"]) == 1:
        state["outputs"].update({"activeColor": color, "idleColor": other})


def _plan_key(config: dict[str, Any], app: str, color: str) -> str:
    """A plan for a color and both colors' versions (a release's), else the one for the color."""
    return f"{color} {config.get('bluegreen:blueVersion')} {config.get('bluegreen:greenVersion')}"


def _record_colors(state: dict[str, Any], app: str, config: dict[str, Any]) -> None:
    """What an update leaves in the outputs: each color's image and version as configured."""
    outputs = state["outputs"]["apps"][app]
    for color in ("blue", "green"):
        for name in ("Image", "Version"):
            if f"bluegreen:{color}{name}" in config:
                outputs[f"{color}{name}"] = config[f"bluegreen:{color}{name}"]


def main(argv: list[str]) -> None:
    with open(_state_path().parent / "calls.jsonl", "a") as log:
        log.write(json.dumps(argv) + "\n")
    args = [a for a in argv if a != "--non-interactive"]
    state = _load()
    stack = _flag(args, "--stack") or "dev"
    if args[:1] == ["version"]:
        print(f"v{VERSION}")
        return
    if args[:1] == ["whoami"]:
        # The file backend, as `pulumi whoami --json` prints it (v3.274.1): no organizations key.
        print(json.dumps({"user": "root", "url": f"file://{_backend_dir()}?metadata=skip"}, indent=2))
        return
    if _metadata_cut(stack):
        _fail("error: failed to load checkpoint: EOF", 1)  # v3.274.1, measured: `select` fails too
    if stack not in state["stacks"]:
        _fail(f"error: no stack named '{stack}' found")
    if args[:2] == ["stack", "select"]:
        return
    if args[:2] == ["stack", "ls"]:
        # The file backend has no updateInProgress key at all: it never knows of a running update.
        print(
            json.dumps(
                [
                    {
                        "name": stack,
                        "current": True,
                        "lastUpdate": "2025-05-01T10:00:00.000Z",
                        "resourceCount": 14,
                    }
                ]
            )
        )
        return
    if args[:2] == ["stack", "output"]:
        print(json.dumps(state["outputs"]))
        return
    if args[:2] == ["stack", "export"]:
        print(
            json.dumps(
                {
                    "version": 3,
                    "deployment": {
                        "manifest": {"time": "2025-05-01T10:00:00Z"},
                        "resources": state["resources"],
                        # What a killed update leaves (the real CLI omits the key when there is none).
                        **({"pending_operations": state["pending"]} if state.get("pending") else {}),
                    },
                }
            )
        )
        return
    history_dir = _backend_dir() / ".pulumi" / "history" / "bluegreen" / stack
    cut = sorted(path for path in history_dir.glob("*.attrs") if not path.stat().st_size)
    if args[:2] == ["stack", "history"] and cut:
        name = cut[0].relative_to(_backend_dir()).with_suffix("")
        _fail(f"error: getting history: reading history file {name}: EOF", 1)  # v3.274.1, measured
    if args[:2] == ["stack", "history"]:
        size, page = int(_flag(args, "--page-size") or 10), int(_flag(args, "--page") or 1)
        print(json.dumps(state["history"][(page - 1) * size : page * size]))
        return
    if args[:2] == ["config", "set"] and (moment := state.get("interruptConfigSet")):
        # Ctrl-C while the CLI writes the config: bgctl is interrupted too; "written" means the CLI had
        # already written the value, anything else that it had not.
        state["interruptConfigSet"] = False
        _save(state)
        os.kill(os.getppid(), signal.SIGINT)
        if moment != "written":
            sys.exit(1)
    if args[:2] == ["config", "set"]:
        key, value = args[args.index("--path") + 1 if "--path" in args else 2], args[args.index("--") + 1]
        path = _stack_file(stack)
        document = yaml.safe_load(path.read_text())
        indexed = _INDEX.match(key) if "--path" in args else None
        if indexed:
            document["config"][indexed["key"]][int(indexed["index"])][indexed["field"]] = value
        else:
            document["config"][key] = value
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return
    if args[:1] == ["config"]:
        print(json.dumps(config_json(_read_config(stack))))
        return
    locks = sorted(_lock_dir(stack).glob("*.json"))
    if args[:1] == ["cancel"]:
        # The file backend's `pulumi cancel --yes` (v3.274.1) deletes the stack's lock files.
        for lock in locks:
            lock.unlink()
        print(f"The currently running update for '{stack}' has been canceled!")
        return
    if args[:1] == ["refresh"]:
        if locks:
            _fail(LOCKED)
        state.pop("pending", None)  # refresh clears pending operations (creates only with --clear-pending-creates)
        entry = _history_entry(state, _read_config(stack), "succeeded", _flag(args, "--message") or "")
        state["history"].insert(0, {**entry, "kind": "refresh", "resourceChanges": {"same": 11}})
        _save(state)
        print(f"Refreshing ({stack}):")
        return
    if args[:1] in (["preview"], ["up"]):
        if args[0] == "up" and (state.get("locked") or locks):
            _fail(LOCKED)
        if args[0] == "up" and state.get("interruptUp"):
            # A Ctrl-C in the terminal reaches bgctl as well as the CLI, which then cancels its update.
            os.kill(os.getppid(), signal.SIGINT)
        config = _read_config(stack, _flag(args, "--config-file"))
        app = state["app"]
        color = _color(config, app)
        planning = args[0] == "preview"
        failure = None if planning else state.get("upFailure")
        if failure is not None and failure.get("color", color) != color:
            failure = None  # it fails only the update that switches to its color
        if failure is not None and failure.get("once"):
            state.pop("upFailure")
        steps = state["plans"].get(_plan_key(config, app, color)) or state["plans"][color]
        policies = state.get("policyEvents") if "--policy-pack" in args else None
        _send_events(_flag(args, "--event-log") or "", _events(steps, planning, failure, policies))
        if any(p["enforcementLevel"] == "mandatory" for p in policies or []):
            _fail("error: preview failed" if planning else "error: update failed")
        if planning:
            return
        if failure is None or failure.get("switched"):
            _deploy(state, app, color)
        if failure is None:
            _record_colors(state, app, config)
        entry = _history_entry(state, config, "failed" if failure else "succeeded", _flag(args, "--message") or "")
        state["history"].insert(0, entry)
        _save(state)
        if failure is not None:
            _fail("error: update failed")
        return
    _fail(f"error: fake pulumi does not know {' '.join(args)!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
