"""Every `bluegreen:` config key, in one table: its type, default, rule and meaning.

The one definition of each key: the pydantic layers that validate config and arguments are generated
from it (config/schema.py), and so are Pulumi.yaml's `config:` block, the key table of
docs/configuration.md and BlueGreenApp's typed arguments (config/reference.py; tests keep each equal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from bluegreen import naming
from bluegreen.config import grammar

KeyType = Literal["string", "integer", "boolean", "array", "object"]
INT32_MAX: Final = 2**31 - 1
MAX_APP_NAME_LENGTH: Final = naming.MAX_APP_NAME_LENGTH
MAX_SCALE_DOWN_DELAY_SECONDS: Final = 3600
MAX_VERIFY_SECONDS: Final = 3600
SERVICE_TYPES: Final = ("ClusterIP", "NodePort", "LoadBalancer")


class _Marker:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


REQUIRED: Final[Any] = _Marker("(required)")
"""Declared without a default: the CLI refuses a stack that leaves it unset."""
UNDECLARED: Final[Any] = _Marker("(not declared)")
"""Read by the program but not declared in Pulumi.yaml: its unset state has no value of its type."""


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType
    description: str
    """The key's meaning: Pulumi.yaml's description and the README's meaning column."""
    default: Any = REQUIRED
    """The declared default; an empty string, list or object means unset."""
    per_app: bool = False
    """An entry of `apps` may set it; the top-level value is what every app falls back to."""
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    grammar: Callable[[str], str | None] | None = None
    items: KeyType | None = None
    """The type of an array's elements."""
    rule: str = ""
    """The allowed values in words, for the README."""
    note: str = ""
    """Added to a bounds error: why the bound is there."""
    argument: str = ""
    """BlueGreenApp's description of the argument of this name, where it differs from the key's."""

    @property
    def declared(self) -> bool:
        return self.default is not UNDECLARED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def allowed(self) -> str:
        if self.rule:
            return self.rule
        if self.choices:
            return ", ".join(f"`{c}`" for c in self.choices)
        if self.minimum is not None:
            return f"{self.minimum} to {self.maximum}"
        return ""


def _app_name(text: str) -> str | None:
    return grammar.dns1035_label(text, MAX_APP_NAME_LENGTH)


def _namespace(text: str) -> str | None:
    return grammar.dns1123_label(text)


def _frontend_name(text: str) -> str | None:
    return grammar.dns1035_label(text)


_COLOR_KEYS: Final = tuple(
    key
    for color in ("blue", "green")
    for key in (
        Key(
            f"{color}Image",
            "string",
            f"The {color} color's image, pinned by tag or digest (never latest).",
            per_app=True,
            grammar=grammar.image_reference,
            rule="`repo:tag` or `repo@sha256:<64 hex>`; not `latest`, not untagged",
        ),
        Key(
            f"{color}Version",
            "string",
            f"The version {color} runs; a label value on its pods, never part of a selector.",
            per_app=True,
            grammar=grammar.label_value,
            rule="a label value: 1-63 of `A-Za-z0-9-_.`, alphanumeric at both ends",
        ),
        Key(
            f"{color}Replicas",
            "integer",
            f"{color.capitalize()}'s replica count when it is active (and when idle, unless idleReplicas is set).",
            default=2,
            per_app=True,
            minimum=0,
            maximum=INT32_MAX,
            rule=f"0 to {INT32_MAX}; at least 1 while active",
        ),
    )
)

KEYS: Final[tuple[Key, ...]] = (
    Key(
        "activeColor",
        "string",
        'The color the Service sends traffic to, exactly "blue" or "green". Changing it is the cutover.',
        per_app=True,
        choices=("blue", "green"),
    ),
    Key(
        "appName",
        "string",
        "The app's name; the Service is called this, so its DNS name is `<appName>.<namespace>.svc.cluster.local`.",
        default="backend",
        grammar=_app_name,
        argument="The app's name: its Services, Deployments and labels are named after it. Default: the resource name.",
        rule=f"a DNS-1035 label of at most {MAX_APP_NAME_LENGTH} characters; only without `apps`",
    ),
    Key(
        "namespace",
        "string",
        "The namespace every resource lives in.",
        default="bluegreen-dev",
        argument="The namespace the app's objects live in; it must exist, or be created before the app.",
        grammar=_namespace,
        rule="a DNS-1123 label; a built-in namespace only with `createNamespace: false`",
    ),
    Key(
        "createNamespace",
        "boolean",
        "Create the namespace (labelled to enforce the restricted Pod Security Standard); "
        "false to use an existing one.",
        default=True,
        rule="`true` or `false`",
    ),
    *_COLOR_KEYS,
    Key(
        "idleReplicas",
        "integer",
        "The idle color's size; unset keeps it at full size, so a rollback is instant.",
        default=UNDECLARED,
        per_app=True,
        minimum=0,
        maximum=INT32_MAX,
        rule="0 to the idle color's replicas",
    ),
    Key(
        "scaleDownDelaySeconds",
        "integer",
        "How long the old color's pods stay untouched after the selector moves (kube-proxy updates are "
        "asynchronous) before it scales down (idleReplicas) or its pods are replaced (recycleOldPods).",
        default=30,
        per_app=True,
        minimum=0,
        maximum=MAX_SCALE_DOWN_DELAY_SECONDS,
    ),
    Key(
        "recycleOldPods",
        "boolean",
        "After a cutover that leaves the old color its pods, replace them one at a time (the Eviction API, within "
        "their PodDisruptionBudget) once scaleDownDelaySeconds has passed, so clients on keep-alive connections "
        "reconnect to the new color; the old color keeps its size. Needs preSwitchGate.",
        default=True,
        per_app=True,
        rule="`true` or `false`",
    ),
    Key(
        "verifySeconds",
        "integer",
        "After a cutover, watch the new color under traffic for this many seconds before the update succeeds: "
        "smokePath (else readinessPath) through the active Service, 10 requests a second, above "
        "verifySuccessPercent; every pod of the new color stays Ready and no container restarts. A failed window "
        "fails the update (bgctl then switches back). 0 turns it off. Needs preSwitchGate.",
        default=0,
        per_app=True,
        minimum=0,
        maximum=MAX_VERIFY_SECONDS,
    ),
    Key(
        "verifySuccessPercent",
        "integer",
        "The share of the verification window's requests that must answer 2xx, in percent; the window fails as "
        "soon as more have failed than this allows over the whole window.",
        default=99,
        per_app=True,
        minimum=1,
        maximum=100,
    ),
    Key(
        "runAsUser",
        "integer",
        "The numeric user and group the containers run as; give the image's own USER as a number "
        "(the pods enforce runAsNonRoot).",
        default=65532,
        per_app=True,
        minimum=1,
        maximum=INT32_MAX,
        note=" (0 is root)",
    ),
    *(
        Key(
            name,
            "string",
            meaning,
            default=default,
            per_app=True,
            grammar=grammar.quantity,
            rule=f"a Kubernetes quantity above 0 ({examples}){bound}",
        )
        for name, meaning, default, examples, bound in (
            (
                "cpuRequest",
                "The CPU each container is guaranteed: the scheduler reserves it.",
                "50m",
                "`250m`, `0.5`",
                "; at most `cpuLimit`",
            ),
            (
                "cpuLimit",
                "The CPU each container may use; above it, the container is throttled.",
                "250m",
                "`250m`, `2`",
                "",
            ),
            (
                "memoryRequest",
                "The memory each container is guaranteed: the scheduler reserves it.",
                "32Mi",
                "`64Mi`, `1Gi`",
                "; at most `memoryLimit`",
            ),
            (
                "memoryLimit",
                "The memory each container may use; above it, the kernel kills the container "
                "(OOMKilled). A JVM, Node or Python web app usually needs 256Mi or more.",
                "64Mi",
                "`256Mi`, `1Gi`",
                "",
            ),
            (
                "tmpSize",
                "The size of the writable /tmp, and of each of writablePaths (the root filesystem is read-only).",
                "64Mi",
                "`64Mi`, `1Gi`",
                "",
            ),
        )
    ),
    Key(
        "writablePaths",
        "array",
        "More directories the container may write to, each an empty directory of tmpSize at every start (the "
        "root filesystem is read-only).",
        default=[],
        per_app=True,
        items="string",
        rule="absolute directory paths, each once, not /tmp or under it",
    ),
    Key(
        "containerPort",
        "integer",
        "The port the container listens on.",
        default=8080,
        per_app=True,
        minimum=1,
        maximum=65535,
    ),
    Key("servicePort", "integer", "The port the Services expose.", default=80, per_app=True, minimum=1, maximum=65535),
    Key(
        "serviceType",
        "string",
        "The active Service's type (the preview Service is always ClusterIP); NodePort and LoadBalancer "
        "cannot be used behind a frontend's NetworkPolicy.",
        default="ClusterIP",
        argument="The active Service's type (the preview Service is always ClusterIP); NodePort and LoadBalancer "
        "cannot be used behind the NetworkPolicy that clients sets up.",
        per_app=True,
        choices=SERVICE_TYPES,
    ),
    Key(
        "readinessPath",
        "string",
        "The HTTP path of the readiness probe.",
        default="/",
        per_app=True,
        grammar=grammar.http_path,
        rule="an absolute path: no query, no `.`/`..` segments, no placeholders",
    ),
    Key(
        "smokePath",
        "string",
        "When set, the pre-switch gate GETs this path on the target color and requires a 2xx before a "
        "cutover; empty means no smoke check.",
        default="",
        per_app=True,
        grammar=grammar.http_path,
        rule="empty, or a path as for `readinessPath`",
    ),
    Key(
        "preSwitchGate",
        "boolean",
        "Check the target color against the cluster before the Service selector moves; false for runners "
        "that cannot reach the cluster's API.",
        default=True,
        rule="`true` or `false`",
    ),
    Key(
        "args",
        "array",
        "Container args; {color}, {version} and {port} are filled in per color, all other text is kept as it is.",
        default=[],
        per_app=True,
        items="string",
        rule="strings; any other identifier in braces (`{colour}`) is refused",
    ),
    Key(
        "env",
        "object",
        "Environment variables for both colors, name to value. Stored with --secret, the values go to a "
        "Secret that the pods read, never into a Deployment.",
        default={},
        argument="Environment variables for both colors, name to value. When one value is secret, every value goes "
        "to a Secret that the pods read, never into a Deployment.",
        per_app=True,
        rule="names as in Kubernetes 1.30 (`[-._a-zA-Z][-._a-zA-Z0-9]*`); string values",
    ),
    Key(
        "apps",
        "array",
        "Several apps in one stack, each an object with name, images, versions and optionally any per-app "
        "key above; unset keys fall back to the top-level value. Empty means one app, described by the "
        "top-level keys.",
        default=[],
        items="object",
        rule="objects with `name` and per-app keys; names unique across every object of the stack",
    ),
    Key(
        "frontend",
        "object",
        "An optional frontend (name, image, backend, replicas) that reaches a backend app only through its "
        "Service's DNS name; that app then admits ingress from the frontend's pods alone. Empty means no "
        "frontend.",
        default={},
        rule="`name` a DNS-1035 label of at most 63; `image` pinned; `backend` an app; `replicas` >= 1",
    ),
    Key(
        "apiServerCidrs",
        "array",
        "Where the API server's service proxy connects from; admitted by the NetworkPolicy when an app with a "
        "frontend also sets smokePath or verifySeconds.",
        default=[],
        argument="Where the API server's service proxy connects from; admitted by the NetworkPolicy when clients "
        "and smokePath are both set.",
        items="string",
        rule="canonical CIDRs, none that admits every address",
    ),
)

BY_NAME: Final[Mapping[str, Key]] = {key.name: key for key in KEYS}
APP_KEYS: Final = tuple(key.name for key in KEYS if key.per_app)
STACK_KEYS: Final = tuple(key.name for key in KEYS if not key.per_app)
KNOWN_KEYS: Final = frozenset(BY_NAME)

FRONTEND_KEYS: Final[Mapping[str, Key]] = {
    key.name: key
    for key in (
        Key("name", "string", "The frontend's name.", default="frontend", grammar=_frontend_name),
        Key("image", "string", "The frontend's image.", grammar=grammar.image_reference),
        Key("backend", "string", "The app it proxies to.", default=""),
        Key("replicas", "integer", "Its replica count.", default=2, minimum=1, maximum=INT32_MAX),
    )
}
CLIENTS_ARGUMENT: Final = Key(
    "clients",
    "array",
    "The app labels of the pods allowed to connect; when set, a NetworkPolicy denies every other ingress.",
    default=[],
    items="string",
    grammar=grammar.label_value,
)
"""BlueGreenApp's argument with no key of its own: the program derives it from `frontend`."""

APP_ENTRY_NAME: Final = Key("name", "string", "The app's name.", grammar=_app_name)
