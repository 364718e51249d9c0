"""Stack settings: a pure parse from raw config values to frozen dataclasses.

`parse_settings` takes the values the Pulumi engine hands a program (strings; structured values as
JSON text) and returns `Settings`, or raises one `ConfigError` that lists every bad key at once, each
with the value given, what is allowed and the `pulumi config set` command that fixes it. Each key's
rule is in the table of components/keys.py, read by components/config_scope.py; the per-app parts
are in components/app_keys.py and the rules across keys in components/rules.py. Nothing
here registers a resource, so a bad config never half-applies.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from bluegreen import naming
from bluegreen.config import app_keys, rules
from bluegreen.config.keys import BY_NAME, KNOWN_KEYS
from bluegreen.config.model import AppSettings, ColorSettings, FrontendSettings, Settings
from bluegreen.config.problems import ConfigError, Problem, Secret, rm_command
from bluegreen.config.scope import Scope, read

__all__ = [
    "AppSettings",
    "ColorSettings",
    "ConfigError",
    "FrontendSettings",
    "Problem",
    "Settings",
    "parse_settings",
    "parse_stack_config",
]


def parse_settings(
    raw: Mapping[str, Any],
    *,
    secret: frozenset[str] = frozenset(),
    stray: Mapping[str, Any] | None = None,
) -> Settings:
    """Parse unqualified `bluegreen:` config keys into `Settings`, or raise one `ConfigError`.

    `secret` names the keys stored with --secret; `stray` holds the stack's keys of other
    namespaces (qualified), so a near miss of `bluegreen:` is reported rather than ignored.
    """
    problems: list[Problem] = []
    top = Scope(raw, problems, secret=secret)
    rules.near_misses(problems, stray or {})
    for key in sorted(set(raw) - KNOWN_KEYS):
        top.bad(
            key,
            Secret() if key in secret else raw[key],
            f"is not a known key; known keys: {', '.join(sorted(KNOWN_KEYS))}",
            fix=rm_command(key, structured=False),
        )
    namespace = read(top, "namespace") or BY_NAME["namespace"].default
    create_namespace = read(top, "createNamespace")
    pre_switch_gate = read(top, "preSwitchGate")
    entries = app_keys.parse_entries(top)
    if entries is None:
        name = read(top, "appName") or BY_NAME["appName"].default
        scopes = [(top, name if isinstance(name, str) else BY_NAME["appName"].default)]
    else:
        scopes = entries
    apps = [(app_keys.parse_app(scope, name), scope) for scope, name in scopes]
    frontend = app_keys.parse_frontend(top, tuple(app for app, _ in apps))
    settings = Settings(
        namespace=namespace if isinstance(namespace, str) else "",
        create_namespace=create_namespace if isinstance(create_namespace, bool) else True,
        pre_switch_gate=pre_switch_gate if isinstance(pre_switch_gate, bool) else True,
        apps=tuple(app for app, _ in apps),
        frontend=frontend,
        api_server_cidrs=app_keys.parse_cidrs(top),
    )
    # Rules across keys run once every key is valid on its own, so one mistake gives one message.
    if not problems:
        rules.no_effect(top, raw, entries or [], settings)
        rules.combinations(top, apps, settings)
        rules.names(top, apps, settings)
    if problems:
        raise ConfigError(problems)
    return settings


def parse_stack_config(config: Mapping[str, Any], secret_keys: Collection[str] = ()) -> Settings:
    """Parse a stack's whole config (every key qualified, as the engine and `pulumi config` hold it).

    `secret_keys` names the qualified keys stored with --secret. Keys of other namespaces are
    passed on so a near miss of `bluegreen:` is reported; their secret values are never shown.
    """
    prefix = f"{naming.PROJECT}:"
    present = {k: v for k, v in config.items() if v is not None}
    return parse_settings(
        {k.removeprefix(prefix): v for k, v in present.items() if k.startswith(prefix)},
        secret=frozenset(k.removeprefix(prefix) for k in secret_keys if k.startswith(prefix)),
        stray={k: Secret() if k in secret_keys else v for k, v in present.items() if not k.startswith(prefix)},
    )


def load_settings() -> Settings:
    """Read every config key of the running stack and parse the `bluegreen:` ones."""
    from pulumi.runtime import config as runtime_config

    every = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    secret_keys = {k for k in every if runtime_config.is_config_secret(k)} | set(
        runtime_config.get_config_secret_keys_env()
    )
    # The raw value, never `Config.get`: a secret is read once here and handed on as a secret.
    return parse_stack_config({k: runtime_config.get_config(k) for k in every}, secret_keys)
