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
from bluegreen.config.problems import EXAMPLES, REMOVE, Problem, Reporter, qualified
from bluegreen.config.resolve import AppSource

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


def no_effect(reporter: Reporter, raw: Mapping[str, Any], entries: Sequence[AppSource], settings: Settings) -> None:
    """Keys that would silently do nothing in this stack's shape."""
    if entries and given(raw, "appName"):
        allowed = "has no effect next to apps: each entry names its own app"
        reporter.bad("appName", raw["appName"], allowed, fix=REMOVE, rule="no-effect")
    for name in keys.APP_KEYS:
        # A required key stays: the CLI refuses a stack without it, whatever the apps set.
        overridden = entries and all(name in source.layers[0].given for source in entries)
        if overridden and not BY_NAME[name].required and given(raw, name):
            allowed = "has no effect: every entry of apps sets its own value"
            reporter.bad(name, raw[name], allowed, fix=REMOVE, rule="no-effect")
    needs_cidrs = any((app.smoke_path or app.verify_seconds) and settings.clients(app.name) for app in settings.apps)
    if settings.api_server_cidrs and not needs_cidrs:
        allowed = (
            "has no effect: only an app with both a frontend and a smokePath or verifySeconds admits the API server"
        )
        reporter.bad("apiServerCidrs", raw["apiServerCidrs"], allowed, fix=REMOVE, rule="no-effect")


def combinations(reporter: Reporter, apps: Sequence[tuple[AppSettings, AppSource]], settings: Settings) -> None:
    """Values that are each fine alone but can never work together."""
    for app, source in apps:
        app_combinations(reporter, source, app, settings.clients(app.name), settings.api_server_cidrs)
        layer = source.owner("verifySeconds")
        if app.verify_seconds and not settings.pre_switch_gate and layer is not None:
            allowed = (
                "must be 0 while preSwitchGate is false: the verification window runs in the hooks that reach the "
                "cluster, which preSwitchGate false turns off"
            )
            value = layer.given["verifySeconds"]
            reporter.bad(layer.prefix + "verifySeconds", value, allowed, 0, app=source.app, rule="combination")


def app_combinations(
    reporter: Reporter, source: AppSource, app: AppSettings, clients: Sequence[str], api_server_cidrs: Sequence[str]
) -> None:
    """One app's values that are each fine alone but can never work together."""
    layer = source.owner("serviceType")
    if clients and app.service_type != "ClusterIP" and layer is not None:
        allowed = (
            f"must be ClusterIP: app {app.name!r} has a NetworkPolicy that admits only its clients' pods, so "
            f"{app.service_type} traffic from outside the cluster would never reach it"
        )
        value = layer.given["serviceType"]
        reporter.bad(layer.prefix + "serviceType", value, allowed, "ClusterIP", app=source.app, rule="combination")
    if (app.smoke_path or app.verify_seconds) and clients and not api_server_cidrs:
        check = "a smokePath" if app.smoke_path else "verifySeconds"
        allowed = (
            f"must list where the API server's proxy connects from: app {app.name!r} has {check} and a "
            "NetworkPolicy that admits only its clients, so the checks through the API server's proxy need this "
            "source admitted"
        )
        reporter.bad("apiServerCidrs", [], allowed, EXAMPLES["apiServerCidrs"], rule="combination")


def names(reporter: Reporter, apps: Sequence[tuple[AppSettings, AppSource]], settings: Settings) -> None:
    """Every object the stack creates has a name of its own, and none is an object every cluster has."""
    keyed = [qualified(source.layers[0].prefix + "name") if source.app else qualified("appName") for _, source in apps]
    planned = inventory.of(settings, keyed)
    for obj in planned:
        if (why := inventory.built_in_clash(obj)) is None:
            continue
        if obj.kind == "Namespace":
            fix = f"pulumi config set {qualified('createNamespace')} false"
            reporter.add(Problem(obj.key, obj.named, f"must not be created: {why}", fix, "built-in"))
        else:
            rename(reporter, obj, why, planned)
    reported: set[tuple[str, str]] = set()
    for first, second in inventory.collisions(planned):
        if (first.key, second.key) in reported:
            continue
        reported.add((first.key, second.key))
        why = (
            f"would name its {second.role} {second.name!r}, already the {first.role} of {first.owner} (set by "
            f"{first.key}): objects of one kind need names of their own in a namespace"
        )
        rename(reporter, second, why, planned)


def rename(reporter: Reporter, obj: inventory.Planned, why: str, planned: list[inventory.Planned]) -> None:
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
    reporter.add(Problem(obj.key, obj.named, why, reporter.set_fix(path, free), "name-clash"))


def near_misses(reporter: Reporter, stray: Mapping[str, Any]) -> None:
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
        reporter.add(Problem(key, stray[key], allowed, fix, "near-miss"))
