"""Rules across keys: names unique across the stack, combinations that can never work, keys that do nothing.

They run once every key is valid on its own, so one mistake gives one message.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bluegreen import naming
from bluegreen.config import grammar, inventory, keys
from bluegreen.config.keys import BY_NAME
from bluegreen.config.model import AppSettings, Settings
from bluegreen.config.problems import Problem, qualified, rm_command, set_command
from bluegreen.config.scope import EXAMPLES, Scope, add, structured

NEAR_MISS_RATIO: Final = 0.8
"""How alike a namespace must be to `bluegreen` to be reported as a typo of it (difflib's ratio)."""


def given(raw: Mapping[str, Any], name: str) -> bool:
    """Whether the user set top-level `name` to something other than its declared default."""
    if name not in raw:
        return False
    spec, value = BY_NAME[name], raw[name]
    if not spec.declared:
        return True
    if isinstance(value, str) and not isinstance(spec.default, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return True
    return bool(value != spec.default)


def no_effect(top: Scope, raw: Mapping[str, Any], entries: list[tuple[Scope, str]], settings: Settings) -> None:
    """Keys that would silently do nothing in this stack's shape."""
    if entries and given(raw, "appName"):
        top.bad(
            "appName",
            raw["appName"],
            "has no effect next to apps: each entry names its own app",
            fix=rm_command("appName", structured=False),
        )
    for name in keys.APP_KEYS:
        # A required key stays: the CLI refuses a stack without it, whatever the apps set.
        overridden = entries and all(name in scope.values for scope, _ in entries)
        if overridden and not BY_NAME[name].required and given(raw, name):
            top.bad(
                name,
                raw[name],
                "has no effect: every entry of apps sets its own value",
                fix=rm_command(name, structured=False),
            )
    needs_cidrs = any(app.smoke_path and settings.clients(app.name) for app in settings.apps)
    if settings.api_server_cidrs and not needs_cidrs:
        top.bad(
            "apiServerCidrs",
            raw["apiServerCidrs"],
            "has no effect: only an app with both a frontend and a smokePath admits the API server",
            fix=rm_command("apiServerCidrs", structured=False),
        )


def combinations(top: Scope, apps: list[tuple[AppSettings, Scope]], settings: Settings) -> None:
    """Values that are each fine alone but can never work together."""
    for app, scope in apps:
        app_combinations(top, scope, app, settings.clients(app.name), settings.api_server_cidrs)


def app_combinations(
    top: Scope, scope: Scope, app: AppSettings, clients: Sequence[str], api_server_cidrs: Sequence[str]
) -> None:
    """One app's values that are each fine alone but can never work together (`scope` holds the app's keys)."""
    if clients and app.service_type != "ClusterIP":
        owner, raw = scope.lookup("serviceType")
        owner.bad(
            "serviceType",
            raw,
            f"must be ClusterIP: app {app.name!r} has a NetworkPolicy that admits only its clients' pods, so "
            f"{app.service_type} traffic from outside the cluster would never reach it",
            "ClusterIP",
            app=scope.app,
        )
    if app.smoke_path and clients and not api_server_cidrs:
        top.bad(
            "apiServerCidrs",
            [],
            f"must list where the API server's proxy connects from: app {app.name!r} has a smokePath and a "
            "NetworkPolicy that admits only its clients, so the pre-switch smoke check needs this source admitted",
            EXAMPLES["apiServerCidrs"],
        )


def names(top: Scope, apps: list[tuple[AppSettings, Scope]], settings: Settings) -> None:
    """Every object the stack creates has a name of its own, and none is an object every cluster has."""
    planned = inventory.of(settings, [scope.key("name" if scope.path else "appName") for _, scope in apps])
    for obj in planned:
        if (why := inventory.built_in_clash(obj)) is None:
            continue
        if obj.kind == "Namespace":
            fix = set_command("createNamespace", "false", structured=False)
            add(top.problems, Problem(obj.key, obj.named, f"must not be created: {why}", fix))
        else:
            rename(top.problems, obj, why, planned)
    reported: set[tuple[str, str]] = set()
    for first, second in inventory.collisions(planned):
        if (first.key, second.key) in reported:
            continue
        reported.add((first.key, second.key))
        why = (
            f"would name its {second.role} {second.name!r}, already the {first.role} of {first.owner} (set by "
            f"{first.key}): objects of one kind need names of their own in a namespace"
        )
        rename(top.problems, second, why, planned)


def rename(problems: list[Problem], obj: inventory.Planned, why: str, planned: list[inventory.Planned]) -> None:
    """Report the key that names `obj`, with a fix that sets a name no object of the stack has."""
    path = obj.key.removeprefix(qualified(""))
    limit = grammar.MAX_LABEL_LENGTH if path == "frontend.name" else keys.MAX_APP_NAME_LENGTH
    taken = {p.name for p in planned}
    free = next(
        candidate
        for n in range(2, len(planned) + 3)
        if (candidate := f"{obj.named[: limit - len(str(n)) - 1]}-{n}") not in taken
        and not any(t.startswith(f"{candidate}-") for t in taken)
    )
    add(problems, Problem(obj.key, obj.named, why, set_command(path, free, structured=structured(path))))


def near_misses(problems: list[Problem], stray: Mapping[str, Any]) -> None:
    """Keys under a namespace one typo away from the project's: they would silently do nothing."""
    for key in sorted(stray):
        namespace, _, rest = key.partition(":")
        plain = re.sub(r"[-_. ]", "", namespace.lower())
        near = difflib.SequenceMatcher(None, plain, naming.PROJECT).ratio() >= NEAR_MISS_RATIO
        if namespace == naming.PROJECT or not (plain == naming.PROJECT or near):
            continue
        target, source = shlex.quote(qualified(rest)), shlex.quote(key)
        allowed = f"is under {namespace!r}, not {naming.PROJECT!r}: the program never reads it"
        fix = f'pulumi config set {target} "$(pulumi config get {source})" && pulumi config rm {source}'
        add(problems, Problem(key, stray[key], allowed, fix))
