"""Stack settings: a pure parse from raw config values to frozen dataclasses.

`parse_settings` takes the raw strings the Pulumi engine hands a program (structured values as
JSON text) and returns `Settings`, or raises one `ConfigError` that lists every bad key at once,
each with the value given, what is allowed and the `pulumi config set` command that fixes it.
Nothing here registers a resource, so a bad config never half-applies.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import pulumi

from components import naming
from components.naming import COLORS, Color

T = TypeVar("T")

# Defaults, owned here (Pulumi.yaml declares the same values; a test keeps the two equal).
DEFAULT_APP_NAME: Final = "backend"
DEFAULT_FRONTEND_NAME: Final = "frontend"
DEFAULT_NAMESPACE: Final = "bluegreen-dev"
DEFAULT_REPLICAS: Final = 2
DEFAULT_CONTAINER_PORT: Final = 8080
DEFAULT_SERVICE_PORT: Final = 80
DEFAULT_SERVICE_TYPE: Final = "ClusterIP"
DEFAULT_READINESS_PATH: Final = "/"
DEFAULT_CREATE_NAMESPACE: Final = True
DEFAULT_PRE_SWITCH_GATE: Final = True
DEFAULT_RUN_AS_USER: Final = 65532
"""The "nonroot" user of distroless images, which hashicorp/http-echo is built on."""
DEFAULT_SCALE_DOWN_DELAY_SECONDS: Final = 30
"""How long the old color keeps its pods after the selector moves, while kube-proxy catches up."""
MAX_SCALE_DOWN_DELAY_SECONDS: Final = 3600
SERVICE_TYPES: Final = ("ClusterIP", "NodePort", "LoadBalancer")

# Keys an app may set; at the top level they describe the stack's one app, or, when `apps` is
# set, the value every app falls back to.
APP_KEYS: Final = (
    "activeColor",
    "blueImage",
    "blueVersion",
    "blueReplicas",
    "greenImage",
    "greenVersion",
    "greenReplicas",
    "idleReplicas",
    "containerPort",
    "servicePort",
    "serviceType",
    "readinessPath",
    "smokePath",
    "args",
    "env",
    "runAsUser",
    "scaleDownDelaySeconds",
)
STACK_KEYS: Final = (
    "appName",
    "namespace",
    "createNamespace",
    "preSwitchGate",
    "apps",
    "frontend",
    "apiServerCidrs",
)
KNOWN_KEYS: Final = frozenset(APP_KEYS + STACK_KEYS)

ARGS_EXAMPLE: Final = ("[0]", "-text={version}")
ENV_EXAMPLE: Final = (".LOG_LEVEL", "info")
CIDRS_EXAMPLE: Final = ("[0]", "172.18.0.0/16")
_INTEGER: Final = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class ColorSettings:
    """What runs in one color."""

    image: str
    version: str
    replicas: int


@dataclass(frozen=True)
class AppSettings:
    """One blue/green app: two colors behind one active and one preview Service."""

    name: str
    active_color: Color
    blue: ColorSettings
    green: ColorSettings
    container_port: int
    service_port: int
    service_type: str
    readiness_path: str
    idle_replicas: int | None = None
    """Replicas of the idle color; None keeps it at full size so a rollback is instant."""
    smoke_path: str | None = None
    """Path the pre-switch gate GETs on the target color; None skips the HTTP check."""
    args: tuple[str, ...] = ()
    """Container args; `{color}`, `{version}` and `{port}` are filled in per color."""
    env: tuple[tuple[str, str], ...] = ()
    run_as_user: int = DEFAULT_RUN_AS_USER
    """The numeric user (and group) the containers run as: the image's own USER, as a number."""
    scale_down_delay_seconds: int = DEFAULT_SCALE_DOWN_DELAY_SECONDS
    """With idle_replicas set: the wait after a switch before the old color shrinks."""

    @property
    def idle_color(self) -> Color:
        return naming.other_color(self.active_color)

    def color(self, color: Color) -> ColorSettings:
        return self.blue if color == "blue" else self.green

    def replicas(self, color: Color) -> int:
        """The replica count a color's Deployment gets in this stack."""
        if color == self.idle_color and self.idle_replicas is not None:
            return self.idle_replicas
        return self.color(color).replicas


@dataclass(frozen=True)
class FrontendSettings:
    """The optional frontend that reaches an app only through its Service's DNS name."""

    name: str
    image: str
    backend: str
    """The app whose Service the frontend proxies to; only its pods accept the frontend's traffic."""
    replicas: int


@dataclass(frozen=True)
class Settings:
    namespace: str
    create_namespace: bool
    pre_switch_gate: bool
    apps: tuple[AppSettings, ...]
    frontend: FrontendSettings | None = None
    api_server_cidrs: tuple[str, ...] = ()
    """Where the API server's proxy connects from: the pre-switch smoke check's source."""

    def clients(self, app: str) -> tuple[str, ...]:
        """The `app` labels of the pods that may connect to `app`; empty means no NetworkPolicy."""
        return (self.frontend.name,) if self.frontend and self.frontend.backend == app else ()


@dataclass(frozen=True)
class Problem:
    key: str
    value: object
    allowed: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key} = {_show(self.value)}: {self.allowed}. Fix: {self.fix}"


class ConfigError(pulumi.RunError):
    """Every bad config key at once; the CLI prints it without a traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")


def _show(value: object) -> str:
    return "(not set)" if value is None else json.dumps(value)


@dataclass
class _Reader:
    """Reads one scope of keys (the stack, or one entry of `apps`), collecting problems."""

    values: Mapping[str, Any]
    problems: list[Problem]
    path: str = ""
    """The `apps[i].` prefix of a list entry's keys; empty at the top level."""
    fallback: _Reader | None = None
    label: str = ""
    """The app's name, added to each message about a list entry."""

    def key(self, name: str) -> str:
        return f"{naming.PROJECT}:{self.path}{name}"

    def fix(self, name: str, example: object) -> str:
        """The `pulumi config set` command that sets `name` to `example`, quoted for a POSIX shell.

        `example` is a value, or a `(subpath, value)` pair for a list or object key: the CLI sets
        structured values one element at a time with `--path` (it has no flag for JSON values).
        """
        subpath, value = example if isinstance(example, tuple) else ("", example)
        text = value if isinstance(value, str) else json.dumps(value)
        key = self.key(name) + subpath
        flags = "--path " if self.path or subpath else ""
        # `--` keeps a value such as `-text=hi` from being read as the CLI's own flags.
        end = "-- " if text.startswith("-") else ""
        return f"pulumi config set {flags}{shlex.quote(key)} {end}{shlex.quote(text)}"

    def bad(self, name: str, value: object, allowed: str, example: object, fix: str = "") -> None:
        allowed = f"{allowed} (app {self.label!r})" if self.label else allowed
        self.problems.append(Problem(self.key(name), value, allowed, fix or self.fix(name, example)))

    def raw(self, name: str) -> tuple[_Reader, Any]:
        """The value and the scope that holds it, falling back to the top level."""
        if name in self.values:
            return self, self.values[name]
        if self.fallback is not None:
            return self.fallback.raw(name)
        return self, None

    def read(self, name: str, check: Callable[[_Reader, str, Any], T], default: T) -> T:
        scope, value = self.raw(name)
        if value is None:
            return default
        return check(scope, name, value)


def _text(
    allowed: str, example: str, pattern: re.Pattern[str] | None = None, max_len: int = 0
) -> Callable[[_Reader, str, Any], str]:
    def check(scope: _Reader, name: str, value: Any) -> str:
        ok = isinstance(value, str) and value != ""
        if ok and pattern is not None:
            ok = bool(pattern.fullmatch(value))
        if ok and max_len:
            ok = len(value) <= max_len
        if not ok:
            scope.bad(name, value, allowed, example)
            return example
        return value

    return check


def _integer(
    minimum: int, example: int, maximum: int | None = None, allowed: str = ""
) -> Callable[[_Reader, str, Any], int]:
    def check(scope: _Reader, name: str, value: Any) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _INTEGER.fullmatch(value):
            number = int(value)
        if number is None or number < minimum or (maximum is not None and number > maximum):
            limits = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
            scope.bad(name, value, allowed or f"must be a whole number {limits}", example)
            return example
        return number

    return check


def _boolean(example: bool) -> Callable[[_Reader, str, Any], bool]:
    def check(scope: _Reader, name: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        scope.bad(name, value, 'must be "true" or "false"', json.dumps(example))
        return example

    return check


def _json(kind: type, example: tuple[str, str]) -> Callable[[_Reader, str, Any], Any]:
    def check(scope: _Reader, name: str, value: Any) -> Any:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if not isinstance(value, kind):
            scope.bad(name, value, f"must be a JSON {kind.__name__}", example)
            return kind()
        return value

    return check


def _active_color(scope: _Reader, name: str, value: Any) -> Color:
    for color in COLORS:
        if value == color:
            return color
    meant = value.strip().lower() if isinstance(value, str) else ""
    scope.bad(
        name, value, 'must be exactly "blue" or "green" (lower case, no spaces)', meant if meant in COLORS else "blue"
    )
    return "blue"


def _image(scope: _Reader, name: str, value: Any) -> str:
    problem = image_problem(value)
    if problem:
        repo = _repository(value.strip()) if isinstance(value, str) else ""
        scope.bad(name, value, problem, f"{repo or '<repository>'}:<tag>")
    return value if isinstance(value, str) else ""


def _repository(image: str) -> str:
    """The image reference without its tag or digest (a registry's port is not a tag)."""
    image = image.split("@", 1)[0]
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def image_problem(image: object) -> str | None:
    """Why `image` is not a pinned image reference, or None when it is."""
    if not isinstance(image, str) or not image.strip():
        return "must be an image reference with a tag or digest, not empty"
    if image != image.strip() or any(c.isspace() for c in image):
        return "must not contain spaces"
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "must be pinned with a tag or digest (no tag means latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return 'must be pinned to a tag or digest other than "latest"'
    return None


_COLOR_EXAMPLE_VERSION: Final = "1.0.0"


def _color_settings(scope: _Reader, color: Color, active: bool) -> ColorSettings:
    image = scope.read(f"{color}Image", _image, None)
    if image is None:
        scope.bad(f"{color}Image", None, "must be set to an image with a tag or digest", "<image>:<tag>")
        image = ""
    version = scope.read(
        f"{color}Version",
        _text(
            "must be a label value: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            _COLOR_EXAMPLE_VERSION,
            naming.LABEL_VALUE,
            naming.MAX_LABEL_LENGTH,
        ),
        None,
    )
    if version is None:
        scope.bad(f"{color}Version", None, "must be set to the version this color runs", "1.0.0")
        version = ""
    # The active color's Service waits for ready pods: with none, the switch would cut traffic and hang.
    replicas_check = (
        _integer(1, DEFAULT_REPLICAS, allowed=f"must be a whole number 1 or more: {color} is the active color")
        if active
        else _integer(0, DEFAULT_REPLICAS)
    )
    replicas = scope.read(f"{color}Replicas", replicas_check, DEFAULT_REPLICAS)
    return ColorSettings(image=image, version=version, replicas=replicas)


def _app_name_check() -> Callable[[_Reader, str, Any], str]:
    return _text(
        f"must be a DNS-1035 label of at most {naming.MAX_APP_NAME_LENGTH} characters: lower case "
        "letters, digits and '-', starting with a letter and ending with a letter or digit",
        DEFAULT_APP_NAME,
        naming.DNS1035_LABEL,
        naming.MAX_APP_NAME_LENGTH,
    )


def _app(scope: _Reader, name: str) -> AppSettings:
    active = scope.read("activeColor", _active_color, None)
    if active is None:
        scope.bad("activeColor", None, 'must be set to "blue" or "green"', "blue")
        active = "blue"
    blue = _color_settings(scope, "blue", active == "blue")
    green = _color_settings(scope, "green", active == "green")
    idle = naming.other_color(active)
    idle_full = (blue if idle == "blue" else green).replicas
    idle_replicas = scope.read(
        "idleReplicas",
        _integer(
            0,
            0,
            idle_full,
            f"must be a whole number from 0 to {idle_full} ({idle}Replicas, the idle color's size)",
        ),
        None,
    )
    port_check = _integer(1, DEFAULT_CONTAINER_PORT, 65535)
    path_check = _text(
        "must be an HTTP path starting with '/', without spaces, '?' or '#'", "/", re.compile(r"/[^\s?#]*")
    )
    args: list[Any] = scope.read("args", _json(list, ARGS_EXAMPLE), [])
    if not all(isinstance(a, str) for a in args):
        scope.bad("args", args, "must be a JSON list of strings", ARGS_EXAMPLE)
        args = []
    env: dict[Any, Any] = scope.read("env", _json(dict, ENV_EXAMPLE), {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        scope.bad("env", env, "must be a JSON object of string values", ENV_EXAMPLE)
        env = {}
    return AppSettings(
        name=name,
        active_color=active,
        blue=blue,
        green=green,
        container_port=scope.read("containerPort", port_check, DEFAULT_CONTAINER_PORT),
        service_port=scope.read("servicePort", _integer(1, DEFAULT_SERVICE_PORT, 65535), DEFAULT_SERVICE_PORT),
        service_type=scope.read(
            "serviceType",
            _text(
                f"must be one of {', '.join(SERVICE_TYPES)}",
                DEFAULT_SERVICE_TYPE,
                re.compile("|".join(SERVICE_TYPES)),
            ),
            DEFAULT_SERVICE_TYPE,
        ),
        readiness_path=scope.read("readinessPath", path_check, DEFAULT_READINESS_PATH),
        idle_replicas=idle_replicas,
        # Empty (the declared default) means no smoke check.
        smoke_path=scope.read("smokePath", path_check, None) if scope.raw("smokePath")[1] != "" else None,
        args=tuple(args),
        env=tuple(sorted(env.items())),
        run_as_user=scope.read(
            "runAsUser",
            _integer(1, DEFAULT_RUN_AS_USER, allowed="must be a whole number 1 or more (0 is root)"),
            DEFAULT_RUN_AS_USER,
        ),
        scale_down_delay_seconds=scope.read(
            "scaleDownDelaySeconds",
            _integer(0, DEFAULT_SCALE_DOWN_DELAY_SECONDS, MAX_SCALE_DOWN_DELAY_SECONDS),
            DEFAULT_SCALE_DOWN_DELAY_SECONDS,
        ),
    )


FRONTEND_KEYS: Final = ("name", "image", "backend", "replicas")


def _unknown_keys(scope: _Reader, entry: Mapping[str, Any], known: Sequence[str]) -> None:
    for key in sorted(set(entry) - set(known)):
        scope.bad(
            key, entry[key], f"is not a known key here; known keys: {', '.join(sorted(known))}", "", fix="remove it"
        )


def _frontend(top: _Reader, apps: tuple[AppSettings, ...]) -> FrontendSettings | None:
    value = top.read("frontend", _json(dict, (".image", "<image>:<tag>")), None)
    if not value:
        return None
    scope = _Reader(value, top.problems, path="frontend.")
    _unknown_keys(scope, value, FRONTEND_KEYS)
    names = [a.name for a in apps]
    name = scope.read("name", _app_name_check(), DEFAULT_FRONTEND_NAME)
    if name in names:
        scope.bad("name", name, f"must differ from every app's name ({', '.join(names)})", DEFAULT_FRONTEND_NAME)
    image = scope.read("image", _image, None)
    if image is None:
        scope.bad("image", None, "must be set to an image with a tag or digest", "<image>:<tag>")
        image = ""
    default_backend = names[0] if names else DEFAULT_APP_NAME
    backend = scope.read("backend", _text("must be an app name", default_backend), default_backend)
    if names and backend not in names:
        scope.bad("backend", backend, f"must name an app of this stack: {', '.join(names)}", default_backend)
    replicas = scope.read("replicas", _integer(1, DEFAULT_REPLICAS), DEFAULT_REPLICAS)
    return FrontendSettings(name=name, image=image, backend=backend, replicas=replicas)


def _cidrs(scope: _Reader, name: str, value: Any) -> tuple[str, ...]:
    example = CIDRS_EXAMPLE
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    try:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError
        return tuple(str(ipaddress.ip_network(v, strict=False)) for v in value)
    except ValueError:
        scope.bad(name, value, "must be a JSON list of CIDRs such as 10.0.0.0/24", example)
        return ()


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    """Parse unqualified `bluegreen:` config keys into `Settings`, or raise one `ConfigError`."""
    problems: list[Problem] = []
    top = _Reader(raw, problems)
    for key in sorted(set(raw) - KNOWN_KEYS):
        top.bad(
            key,
            raw[key],
            f"is not a known key; known keys: {', '.join(sorted(KNOWN_KEYS))}",
            "",
            fix=f"pulumi config rm {top.key(key)}",
        )
    namespace = top.read(
        "namespace",
        _text(
            "must be a DNS-1123 label of at most 63 characters: lower case letters, digits and '-', "
            "starting and ending with a letter or digit",
            DEFAULT_NAMESPACE,
            naming.DNS1123_LABEL,
            naming.MAX_LABEL_LENGTH,
        ),
        DEFAULT_NAMESPACE,
    )
    entries = top.read("apps", _json(list, ("[0].name", DEFAULT_APP_NAME)), None)
    apps: list[AppSettings] = []
    # An empty list (the declared default) means one app described by the top-level keys.
    if not entries:
        apps.append(_app(top, top.read("appName", _app_name_check(), DEFAULT_APP_NAME)))
    for index, entry in enumerate(entries or ()):
        if not isinstance(entry, dict):
            top.bad(
                f"apps[{index}]",
                entry,
                "must be an object with at least name, images and versions",
                (".name", DEFAULT_APP_NAME),
            )
            continue
        scope = _Reader(entry, problems, path=f"apps[{index}].", fallback=top)
        name = _Reader(entry, problems, path=f"apps[{index}].").read("name", _app_name_check(), None)
        if name is None:
            scope.bad("name", None, "must be set to the app's name", DEFAULT_APP_NAME)
            continue
        scope.label = name
        _unknown_keys(scope, entry, ("name", *APP_KEYS))
        if name in (a.name for a in apps):
            scope.bad("name", name, "must be unique among the stack's apps", f"{name}-2")
        apps.append(_app(scope, name))
    frontend = _frontend(top, tuple(apps))
    settings = Settings(
        namespace=namespace,
        create_namespace=top.read("createNamespace", _boolean(DEFAULT_CREATE_NAMESPACE), DEFAULT_CREATE_NAMESPACE),
        pre_switch_gate=top.read("preSwitchGate", _boolean(DEFAULT_PRE_SWITCH_GATE), DEFAULT_PRE_SWITCH_GATE),
        apps=tuple(apps),
        frontend=frontend,
        api_server_cidrs=top.read("apiServerCidrs", _cidrs, ()),
    )
    # Checks across keys run only once every key is valid on its own, so one mistake gives one message.
    for app in settings.apps if not problems else ():
        if app.smoke_path and settings.clients(app.name) and not settings.api_server_cidrs:
            top.bad(
                "apiServerCidrs",
                [],
                f"must list where the API server's proxy connects from: app {app.name!r} has a smokePath and a "
                "NetworkPolicy that admits only its clients, so the pre-switch smoke check needs this source admitted",
                CIDRS_EXAMPLE,
            )
    if problems:
        raise ConfigError(problems)
    return settings


def load_settings() -> Settings:
    """Read every `bluegreen:` key of the running stack and parse it."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{naming.PROJECT}:"
    keys = {k for k in (*runtime_config.CONFIG.get(), *runtime_config.get_config_env()) if k.startswith(prefix)}
    config = pulumi.Config(naming.PROJECT)
    raw = {key[len(prefix) :]: config.get(key[len(prefix) :]) for key in keys}
    return parse_settings({k: v for k, v in raw.items() if v is not None})
