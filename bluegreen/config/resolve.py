"""One app from its layers of keys (an entry of `apps` over the stack's top level, or the arguments).

Each layer is already valid key by key (config/schema.py); here the app takes each key from the
innermost layer that sets it, and the rules that need the whole app are checked: the required keys,
the active color's size, the idle color's size (whose bound is the idle color's full size), each
resource request within its limit, and each writable path once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from bluegreen import naming
from bluegreen.config import grammar
from bluegreen.config.keys import BY_NAME
from bluegreen.config.model import AppSettings, ColorSettings
from bluegreen.config.problems import REMOVE, Reporter
from bluegreen.config.values import Bad, typed
from bluegreen.naming import COLORS, Color

MISSING: Final[Mapping[str, tuple[str, Any]]] = {
    "activeColor": ('must be set to "blue" or "green"', "blue"),
    **{f"{color}Image": ("must be set to an image with a tag or digest", "<image>:<tag>") for color in COLORS},
    **{f"{color}Version": ("must be set to the version this color runs", "1.0.0") for color in COLORS},
}
"""What a required key that no layer sets must be, and the example its fix sets."""


@dataclass(frozen=True)
class Layer:
    """One layer of keys: what was given, what is valid, and where it sits in the config."""

    given: Mapping[str, Any]
    """Every key as given (what the user set, valid or not)."""
    valid: Mapping[str, Any]
    """The keys whose values passed their rule, typed."""
    prefix: str = ""
    """Where its keys sit: `apps[0].`, or empty for the top level and for arguments."""
    app: str = ""
    """The app named in each problem about this layer's keys: the entry's name; empty at the top level."""
    secret_env: bool = False
    """`env` is secret here (stored with --secret, or an argument with a secret value)."""
    reported: frozenset[str] = frozenset()
    """Given keys whose problem is already reported (refused as secret, an output): the rules skip them."""


@dataclass(frozen=True)
class AppSource:
    """Where one app's keys come from: its layers, innermost first."""

    name: str
    layers: tuple[Layer, ...]
    app: str = ""
    """The app named in problems of rules that depend on the app: empty when the stack has one app."""

    def owner(self, key: str) -> Layer | None:
        """The innermost layer that sets `key`, or None."""
        return next((layer for layer in self.layers if key in layer.given), None)

    def value(self, key: str) -> Any:
        """The valid value of `key` this app takes; None when unset or bad."""
        layer = self.owner(key)
        return None if layer is None else layer.valid.get(key)


def _color(source: AppSource, reporter: Reporter, color: Color, active: bool) -> ColorSettings:
    inner = source.layers[0]
    for key in (f"{color}Image", f"{color}Version"):
        if source.owner(key) is None:
            allowed, example = MISSING[key]
            reporter.bad(inner.prefix + key, None, allowed, example, app=inner.app, rule="required")
    key = f"{color}Replicas"
    replicas = source.value(key)
    layer = source.owner(key)
    if layer is None:
        replicas = BY_NAME[key].default
    elif active and replicas == 0:
        allowed = f"must be 1 or more: {color} is the active color, and a Service with no pods drops all traffic"
        reporter.bad(layer.prefix + key, layer.given[key], allowed, 2, app=source.app, rule="active-replicas")
    return ColorSettings(
        image=source.value(f"{color}Image") or "",
        version=source.value(f"{color}Version") or "",
        replicas=replicas if isinstance(replicas, int) else 0,
    )


def _idle_replicas(source: AppSource, reporter: Reporter, idle: Color, idle_full: int) -> int | None:
    layer = source.owner("idleReplicas")
    if layer is None or "idleReplicas" in layer.reported:
        return None
    spec = replace(BY_NAME["idleReplicas"], maximum=idle_full, note=f" ({idle}Replicas, the idle color's size)")
    value = layer.given["idleReplicas"]
    try:
        return int(typed(spec, value))
    except Bad as bad:
        # The bound is the app's own, so the app is named even when the value is the stack's.
        app = source.app if bad.rule == "range" else layer.app
        fix = REMOVE if bad.example == REMOVE else ""
        reporter.bad(layer.prefix + "idleReplicas", value, bad.allowed, bad.example, fix=fix, app=app, rule=bad.rule)
        return None


def resolve(source: AppSource, reporter: Reporter) -> AppSettings:
    """The app `source` describes; every rule it breaks is reported (its values then stand in as defaults)."""
    inner = source.layers[0]
    if source.owner("activeColor") is None:
        allowed, example = MISSING["activeColor"]
        reporter.bad(inner.prefix + "activeColor", None, allowed, example, app=inner.app, rule="required")
    active: Color = "green" if source.value("activeColor") == "green" else "blue"
    blue = _color(source, reporter, "blue", active == "blue")
    green = _color(source, reporter, "green", active == "green")
    idle = naming.other_color(active)
    idle_replicas = _idle_replicas(source, reporter, idle, (blue if idle == "blue" else green).replicas)

    def value(key: str) -> Any:
        found = source.value(key)
        return BY_NAME[key].default if found is None else found

    _within_limits(source, reporter)
    _each_path_once(source, reporter)
    env_layer = source.owner("env")
    return AppSettings(
        name=source.name,
        active_color=active,
        blue=blue,
        green=green,
        container_port=value("containerPort"),
        service_port=value("servicePort"),
        service_type=value("serviceType"),
        readiness_path=value("readinessPath"),
        idle_replicas=idle_replicas,
        smoke_path=source.value("smokePath"),
        args=tuple(source.value("args") or ()),
        env=tuple(sorted(source.value("env") or ())),
        env_secret=env_layer is not None and env_layer.secret_env,
        run_as_user=value("runAsUser"),
        scale_down_delay_seconds=value("scaleDownDelaySeconds"),
        recycle_old_pods=value("recycleOldPods"),
        verify_seconds=value("verifySeconds"),
        verify_success_percent=value("verifySuccessPercent"),
        cpu_request=value("cpuRequest"),
        cpu_limit=value("cpuLimit"),
        memory_request=value("memoryRequest"),
        memory_limit=value("memoryLimit"),
        tmp_size=value("tmpSize"),
        writable_paths=tuple(source.value("writablePaths") or ()),
    )


def _within_limits(source: AppSource, reporter: Reporter) -> None:
    """A request above its limit: the API server would refuse the pods, and so the rollout, at `pulumi up`."""
    for request, limit in (("cpuRequest", "cpuLimit"), ("memoryRequest", "memoryLimit")):
        wanted = source.value(request) or BY_NAME[request].default
        most = source.value(limit) or BY_NAME[limit].default
        if (grammar.quantity_value(wanted) or 0) <= (grammar.quantity_value(most) or 0):
            continue
        refused = " the API server refuses a request above its limit"
        # The key changed from its default is the one to fix (the CLI passes every declared default).
        if (layer := source.owner(request)) is not None and wanted != BY_NAME[request].default:
            allowed, path, value, example = f"must be at most {limit} ({most}):{refused}", request, wanted, most
        else:
            layer = source.owner(limit) or source.layers[0]
            allowed, path, value, example = f"must be at least {request} ({wanted}):{refused}", limit, most, wanted
        reporter.bad(layer.prefix + path, value, allowed, example, app=source.app, rule="request-limit")


def _each_path_once(source: AppSource, reporter: Reporter) -> None:
    layer = source.owner("writablePaths")
    seen: set[str] = set()
    for index, path in enumerate(source.value("writablePaths") or ()):
        if path in seen:
            prefix, app = (layer.prefix, layer.app) if layer else ("", "")
            allowed = "must appear once: each path is one volume"
            reporter.bad(f"{prefix}writablePaths[{index}]", path, allowed, fix=REMOVE, app=app, rule="duplicate")
        seen.add(path)
