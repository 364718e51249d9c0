# Copied from bluegreen/naming.py by `make policies-shared`: edit the original, then run it again.
"""The one source of truth for colors, resource names, labels and selectors.

The component, the policy pack, the operator tool and the tests all derive names and labels from
here, so a Service selector and the pod labels it must match can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, get_args

Color = Literal["blue", "green"]
COLORS: Final[tuple[Color, ...]] = get_args(Color)

APP_LABEL: Final = "app"
COLOR_LABEL: Final = "color"
VERSION_LABEL: Final = "version"
# The only keys a Deployment selector may hold: selectors are immutable, so nothing that changes
# between releases (a version) may ever be part of one.
SELECTOR_KEYS: Final[frozenset[str]] = frozenset({APP_LABEL, COLOR_LABEL})

COMPONENT_TYPE: Final = "bluegreen:index:BlueGreenApp"
FRONTEND_COMPONENT_TYPE: Final = "bluegreen:index:Frontend"
# The provider skips its readiness wait on a resource with this annotation: only the preview
# Service (no traffic depends on it) may carry it.
SKIP_AWAIT_ANNOTATION: Final = "pulumi.com/skipAwait"
# The provider applies with server-side apply; with this annotation its values win a field that another
# manager claimed (a `kubectl scale` during an incident), instead of failing the update on the conflict.
PATCH_FORCE_ANNOTATION: Final = "pulumi.com/patchForce"
# Namespace labels under which admission rejects any pod that breaks the restricted standard.
POD_SECURITY_LABELS: Final = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}
PROJECT: Final = "bluegreen"
PACKAGE_VERSION: Final = "1.0.0"
"""The version of the `bluegreen` component package (provider/), the schema's `version`."""

MAX_LABEL_LENGTH: Final = 63
# "-preview" is the longest suffix a child name gets, so an app name leaves room for it.
PREVIEW_SUFFIX: Final = "-preview"
MAX_APP_NAME_LENGTH: Final = MAX_LABEL_LENGTH - len(PREVIEW_SUFFIX)


def as_color(value: object) -> Color | None:
    """`value` when it is exactly one of COLORS, else None."""
    return next((color for color in COLORS if value == color), None)


def other_color(color: Color) -> Color:
    """The color that is not `color`."""
    return "green" if color == "blue" else "blue"


def deployment_name(app: str, color: Color) -> str:
    return f"{app}-{color}"


def pdb_name(app: str, color: Color) -> str:
    return f"{app}-{color}"


def service_name(app: str) -> str:
    """The active Service: its name is the app's stable DNS name."""
    return app


def preview_service_name(app: str) -> str:
    return f"{app}{PREVIEW_SUFFIX}"


def env_secret_name(app: str) -> str:
    """The Secret holding an app's env when it is stored with --secret; the provider adds a random suffix."""
    return f"{app}-env"


def service_account_name(app: str) -> str:
    return app


def service_dns_name(app: str, namespace: str) -> str:
    return f"{service_name(app)}.{namespace}.svc.cluster.local"


def selector(app: str, color: Color) -> dict[str, str]:
    """The selector of a color's Deployment, and of any Service that routes to that color."""
    return {APP_LABEL: app, COLOR_LABEL: color}


def pod_labels(app: str, color: Color, version: str) -> dict[str, str]:
    """The pod template labels: the selector plus labels that may change between releases."""
    return {
        **selector(app, color),
        VERSION_LABEL: version,
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def service_selector_color(properties: Mapping[str, Any] | None) -> str | None:
    """`spec.selector.color` of a Service's inputs or outputs, however the engine hands them over."""
    spec = (properties or {}).get("spec")
    selector = spec.get("selector") if isinstance(spec, Mapping) else None
    color = selector.get(COLOR_LABEL) if isinstance(selector, Mapping) else None
    return color if isinstance(color, str) else None


def network_policy_name(app: str) -> str:
    return app


def app_selector(app: str) -> dict[str, str]:
    """Every pod of an app, both colors: what a NetworkPolicy selects, so a cutover never touches it."""
    return {APP_LABEL: app}
