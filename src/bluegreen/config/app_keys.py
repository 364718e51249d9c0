"""The per-app and frontend parts of the config: each color, args, env, the entries of `apps`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bluegreen import naming
from bluegreen.config import grammar, keys
from bluegreen.config.keys import BY_NAME, FRONTEND_KEYS, Key
from bluegreen.config.model import AppSettings, ColorSettings, FrontendSettings
from bluegreen.config.scope import EXAMPLES, Invalid, Scope, member, read, required, typed
from bluegreen.naming import Color


def color_settings(scope: Scope, color: Color, active: bool) -> ColorSettings:
    image = required(scope, f"{color}Image", "must be set to an image with a tag or digest", "<image>:<tag>")
    version = required(scope, f"{color}Version", "must be set to the version this color runs", "1.0.0")
    replicas = read(scope, f"{color}Replicas")
    if replicas is None:
        replicas = BY_NAME[f"{color}Replicas"].default
    elif active and replicas == 0:
        owner, _ = scope.lookup(f"{color}Replicas")
        owner.bad(
            f"{color}Replicas",
            owner.values[f"{color}Replicas"],
            f"must be 1 or more: {color} is the active color, and a Service with no pods drops all traffic",
            2,
            app=scope.app,
        )
    return ColorSettings(
        image=image if isinstance(image, str) else "",
        version=version if isinstance(version, str) else "",
        replicas=replicas if isinstance(replicas, int) else 0,
    )


def parse_args(scope: Scope) -> tuple[str, ...]:
    value = read(scope, "args")
    owner, _ = scope.lookup("args")
    args: list[str] = []
    for index, item in enumerate(value if isinstance(value, list) else ()):
        name = f"args[{index}]"
        text = typed(owner, Key(name, "string", ""), item)
        if not isinstance(text, str):
            continue
        if (why := grammar.free_text(text)) is not None:
            owner.bad(name, item, why, "-text={version}")
        elif unknown := grammar.unknown_placeholders(text):
            meant = difflib.get_close_matches(unknown[0], grammar.PLACEHOLDERS, n=1)
            fixed = text.replace("{" + unknown[0] + "}", "{" + meant[0] + "}" if meant else unknown[0])
            owner.bad(
                name,
                item,
                f"has the placeholder {{{unknown[0]}}}, but only {{color}}, {{version}} and {{port}} are filled "
                "(other text, braces included, is kept as it is)",
                fixed,
            )
        else:
            args.append(text)
    return tuple(args)


def parse_env(scope: Scope) -> tuple[tuple[tuple[str, str], ...], bool]:
    value = read(scope, "env")
    owner, _ = scope.lookup("env")
    env: list[tuple[str, str]] = []
    for name, item in (value if isinstance(value, dict) else {}).items():
        key = "env" + member(name)
        if (why := grammar.env_name(name)) is not None:
            owner.bad(key, item, f"has the name {name!r}, which {why}", fix=owner.rm_fix(key))
            continue
        text = typed(owner, Key(key, "string", ""), item)
        if not isinstance(text, str):
            continue
        if (why := grammar.free_text(text)) is not None:
            owner.bad(key, item, why, "<value>")
            continue
        env.append((name, text))
    return tuple(sorted(env)), "env" in owner.secret


def parse_app(scope: Scope, name: str) -> AppSettings:
    given = required(scope, "activeColor", 'must be set to "blue" or "green"', "blue")
    active: Color = "green" if given == "green" else "blue"
    blue = color_settings(scope, "blue", active == "blue")
    green = color_settings(scope, "green", active == "green")
    idle = naming.other_color(active)
    idle_full = (blue if idle == "blue" else green).replicas
    idle_spec = replace(BY_NAME["idleReplicas"], maximum=idle_full, note=f" ({idle}Replicas, the idle color's size)")
    idle_replicas = read(scope, "idleReplicas", idle_spec, for_app=True)
    env, env_secret = parse_env(scope)

    def value(key: str) -> Any:
        found = read(scope, key)
        return BY_NAME[key].default if found is None or isinstance(found, Invalid) else found

    smoke = read(scope, "smokePath")
    return AppSettings(
        name=name,
        active_color=active,
        blue=blue,
        green=green,
        container_port=value("containerPort"),
        service_port=value("servicePort"),
        service_type=value("serviceType"),
        readiness_path=value("readinessPath"),
        idle_replicas=idle_replicas if isinstance(idle_replicas, int) else None,
        smoke_path=smoke if isinstance(smoke, str) else None,
        args=parse_args(scope),
        env=env,
        env_secret=env_secret,
        run_as_user=value("runAsUser"),
        scale_down_delay_seconds=value("scaleDownDelaySeconds"),
    )


def unknown_keys(scope: Scope, entry: Mapping[str, Any], known: frozenset[str] | set[str]) -> None:
    for key in sorted(set(entry) - known):
        scope.bad(
            key,
            entry[key],
            f"is not a known key here; known keys: {', '.join(sorted(known))}",
            fix=scope.rm_fix(key),
        )


def parse_entries(top: Scope) -> list[tuple[Scope, str]] | None:
    """Each entry of `apps` as a scope, with the app's name; malformed entries are reported.

    None when `apps` is unset or empty: the stack's one app is described by the top-level keys.
    """
    entries = read(top, "apps")
    if entries is None:
        return None
    scopes: list[tuple[Scope, str]] = []
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        path = f"apps[{index}]."
        if not isinstance(entry, dict):
            top.bad(
                f"apps[{index}]",
                entry,
                "must be an object with at least name, images and versions",
                (".name", "backend"),
            )
            continue
        bare = Scope(entry, top.problems, path=path)
        name = read(bare, "name", keys.APP_ENTRY_NAME)
        if name is None:
            bare.bad("name", None, "must be set to the app's name", "backend")
        if not isinstance(name, str):
            continue
        scope = Scope(entry, top.problems, path=path, fallback=top, app=name)
        unknown_keys(scope, entry, {"name", *keys.APP_KEYS})
        scopes.append((scope, name))
    return scopes


def parse_frontend(top: Scope, apps: tuple[AppSettings, ...]) -> FrontendSettings | None:
    value = read(top, "frontend")
    if not isinstance(value, dict):
        return None
    scope = Scope(value, top.problems, path="frontend.")
    unknown_keys(scope, value, set(FRONTEND_KEYS))
    names = [a.name for a in apps]

    def field(key: str) -> Any:
        return read(scope, key, FRONTEND_KEYS[key])

    name = field("name") or FRONTEND_KEYS["name"].default
    image = field("image")
    if image is None:
        image = scope.bad("image", None, "must be set to an image with a tag or digest", "<image>:<tag>")
    backend = field("backend") or (names[0] if names else "")
    if isinstance(backend, str) and names and backend not in names:
        scope.bad("backend", backend, f"must name an app of this stack: {', '.join(names)}", names[0])
    replicas = field("replicas")
    return FrontendSettings(
        name=name if isinstance(name, str) else FRONTEND_KEYS["name"].default,
        image=image if isinstance(image, str) else "",
        backend=backend if isinstance(backend, str) else "",
        replicas=replicas if isinstance(replicas, int) else FRONTEND_KEYS["replicas"].default,
    )


def parse_cidrs(top: Scope) -> tuple[str, ...]:
    value = read(top, "apiServerCidrs")
    networks: list[str] = []
    for index, item in enumerate(value if isinstance(value, list) else ()):
        text = typed(top, Key(f"apiServerCidrs[{index}]", "string", ""), item)
        if not isinstance(text, str):
            continue
        canonical, why = grammar.cidr(text)
        if why is not None:
            top.bad(f"apiServerCidrs[{index}]", item, why, canonical or EXAMPLES["apiServerCidrs"][1])
        elif canonical is not None:
            networks.append(canonical)
    return tuple(networks)
