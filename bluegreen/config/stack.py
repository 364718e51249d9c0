"""Stack settings: the stack's config, validated once into the typed model (config/model.py).

`parse_settings` takes the values the Pulumi engine hands a program (strings; structured values as
JSON text) and returns `Settings`, or raises one `ConfigError` that lists every bad key at once, each
with the value given, what is allowed and the `pulumi config set` command that fixes it. The key
table is config/keys.py; pydantic validates each layer of keys by it (config/schema.py); the rules of
one whole app are in config/resolve.py and the rules across keys in config/rules.py. Nothing here
registers a resource, so a bad config never half-applies.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from bluegreen import naming
from bluegreen.config import keys, rules, schema
from bluegreen.config.keys import BY_NAME, KNOWN_KEYS
from bluegreen.config.model import AppSettings, ColorSettings, FrontendSettings, KubeAccess, Settings
from bluegreen.config.problems import EXAMPLES, ConfigError, Problem, Reporter, Secret, qualified
from bluegreen.config.resolve import AppSource, Layer, resolve
from bluegreen.config.values import Bad, typed

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


def _refuse_secret(reporter: Reporter, name: str) -> None:
    """A key stored with --secret that is not `env`: refused, its value never shown."""
    key = qualified(name)
    allowed = (
        "is stored as a secret, but it is not secret data: its value shows in plain text in resource names, labels "
        "or the plan; only bluegreen:env may hold secrets"
    )
    if BY_NAME[name].type in ("array", "object"):
        # The CLI marks a whole list or object secret when one element is: each element is set again.
        # (Setting the key itself to its JSON text would store a string, which the CLI's type check refuses.)
        example = EXAMPLES.get(name, ("", ""))[0]
        fix = (
            f"pulumi config rm {shlex.quote(key)}, then set each element again without --secret, such as "
            f"pulumi config set --path {shlex.quote(key + example)} <value>; secret values belong in "
            "bluegreen:env (pulumi config set --secret --path 'bluegreen:env.NAME' <value>)"
        )
    else:
        fix = f'pulumi config set --plaintext {shlex.quote(key)} "$(pulumi config get {shlex.quote(key)})"'
    reporter.bad(name, Secret(), allowed, fix=fix, rule="secret")


def _entry_name(entry: Mapping[str, Any]) -> str:
    """The name an entry of `apps` gives its app, when it is valid; else empty."""
    try:
        return str(typed(keys.APP_ENTRY_NAME, entry["name"]))
    except (Bad, KeyError):
        return ""


def _sources(top: Layer, apps: Any, reporter: Reporter) -> tuple[list[AppSource], bool]:
    """Each app's layers, and whether the stack describes its apps in `apps`."""
    if apps is None:
        name = top.valid.get("appName") or BY_NAME["appName"].default
        return [AppSource(name, (top,))], False
    sources: list[AppSource] = []
    for index, entry in enumerate(apps):
        prefix = f"apps[{index}]."
        if not isinstance(entry, dict):
            allowed = "must be an object with at least name, images and versions"
            reporter.bad(f"apps[{index}]", entry, allowed, (".name", "backend"), rule="entry")
            continue
        name = _entry_name(entry)
        valid, _ = schema.check(schema.AppEntry, entry, reporter, prefix=prefix, app=name)
        if "name" not in entry:
            reporter.bad(prefix + "name", None, "must be set to the app's name", "backend", rule="required")
        if name:
            sources.append(AppSource(name, (Layer(entry, valid, prefix, app=name), top), app=name))
    return sources, True


def _frontend(value: Any, apps: tuple[AppSettings, ...], reporter: Reporter) -> FrontendSettings | None:
    if value is None:
        return None
    valid, failed = schema.check(schema.FrontendLayer, value, reporter, prefix="frontend.")
    defaults = {key: spec.default for key, spec in keys.FRONTEND_KEYS.items()}
    if "image" not in value:
        reporter.bad(
            "frontend.image", None, "must be set to an image with a tag or digest", "<image>:<tag>", rule="required"
        )
    names = [app.name for app in apps]
    backend = valid.get("backend") or (names[0] if names else "")
    if "backend" not in failed and names and backend not in names:
        allowed = f"must name an app of this stack: {', '.join(names)}"
        reporter.bad("frontend.backend", backend, allowed, names[0], rule="backend")
    return FrontendSettings(
        name=valid.get("name") or defaults["name"],
        image=valid.get("image") or "",
        backend=backend,
        replicas=valid.get("replicas") or defaults["replicas"],
    )


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
    reporter = Reporter(secret=secret)
    rules.near_misses(reporter, stray or {})
    refused = {name for name in secret if name in KNOWN_KEYS and name != "env" and name in raw}
    for name in (key.name for key in keys.KEYS if key.name in refused):
        _refuse_secret(reporter, name)
    valid, failed = schema.check(
        schema.StackLayer, {k: v for k, v in raw.items() if k not in refused}, reporter, here=False
    )
    top = Layer(raw, valid, secret_env="env" in secret, reported=frozenset(failed | refused))
    sources, from_entries = _sources(top, valid.get("apps"), reporter)
    apps = tuple(resolve(source, reporter) for source in sources)
    settings = Settings(
        namespace=valid.get("namespace") or BY_NAME["namespace"].default,
        create_namespace=valid.get("createNamespace", True),
        pre_switch_gate=valid.get("preSwitchGate", True),
        apps=apps,
        frontend=_frontend(valid.get("frontend"), apps, reporter),
        api_server_cidrs=tuple(valid.get("apiServerCidrs") or ()),
    )
    # Rules across keys run once every key is valid on its own, so one mistake gives one message.
    if not reporter.problems:
        rules.no_effect(reporter, raw, sources if from_entries else [], settings)
        rules.combinations(reporter, list(zip(apps, sources, strict=True)), settings)
        rules.names(reporter, list(zip(apps, sources, strict=True)), settings)
    if reporter.problems:
        raise ConfigError(reporter.problems)
    return settings


def parse_stack_config(config: Mapping[str, Any], secret_keys: Collection[str] = ()) -> Settings:
    """Parse a stack's whole config (every key qualified, as the engine and `pulumi config` hold it).

    `secret_keys` names the qualified keys stored with --secret. Keys of other namespaces are
    passed on so a near miss of `bluegreen:` is reported; their secret values are never shown.
    """
    prefix = f"{naming.PROJECT}:"
    present = {k: v for k, v in config.items() if v is not None}
    settings = parse_settings(
        {k.removeprefix(prefix): v for k, v in present.items() if k.startswith(prefix)},
        secret=frozenset(k.removeprefix(prefix) for k in secret_keys if k.startswith(prefix)),
        stray={k: Secret() if k in secret_keys else v for k, v in present.items() if not k.startswith(prefix)},
    )
    return replace(settings, kube_access=KubeAccess.of(present))


def load_settings() -> Settings:
    """Read every config key of the running stack and parse the `bluegreen:` ones."""
    from pulumi.runtime import config as runtime_config

    every = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    secret_keys = {k for k in every if runtime_config.is_config_secret(k)} | set(
        runtime_config.get_config_secret_keys_env()
    )
    # The raw value, never `Config.get`: a secret is read once here and handed on as a secret.
    return parse_stack_config({k: runtime_config.get_config(k) for k in every}, secret_keys)
