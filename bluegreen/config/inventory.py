"""Every Kubernetes object the program will create, listed before any is registered.

Kubernetes names are unique per kind and namespace, so two apps, or an app and the frontend, whose
objects share a kind and name would fail halfway through `pulumi up` (AlreadyExists), or worse,
one would adopt the other's object. The parser lists them all here first and refuses a collision,
and a clash with an object every cluster already has.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from bluegreen import naming
from bluegreen.config.model import Settings
from bluegreen.config.problems import qualified
from bluegreen.naming import COLORS

BUILT_IN_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# (kind, namespace or None for every namespace, name) of objects every cluster already has.
BUILT_IN_OBJECTS: Final = (
    ("ServiceAccount", None, "default"),
    ("Service", "default", "kubernetes"),
    ("ConfigMap", None, "kube-root-ca.crt"),
)


@dataclass(frozen=True)
class Planned:
    """One object the program creates, and the config key whose value names it."""

    kind: str
    namespace: str | None
    """None for a cluster-scoped object (the Namespace)."""
    name: str
    key: str
    named: str
    """The value of `key`: the app's, the frontend's or the namespace's name."""
    owner: str
    """Who it belongs to, in words: `app "backend"`, `the frontend`, `the stack`."""
    role: str
    """What it is to its owner: `blue Deployment`, `preview Service`."""


@dataclass(frozen=True)
class AppNames:
    """What names an app's objects: its name, the key that sets it, and whether it has a NetworkPolicy."""

    name: str
    key: str
    network_policy: bool
    env_secret: bool = False


def app_objects(app: AppNames, namespace: str) -> Iterator[Planned]:
    by = (app.key, app.name, f"app {app.name!r}")
    for color in COLORS:
        yield Planned("Deployment", namespace, naming.deployment_name(app.name, color), *by, f"{color} Deployment")
        yield Planned("PodDisruptionBudget", namespace, naming.pdb_name(app.name, color), *by, f"{color} PDB")
    yield Planned("Service", namespace, naming.service_name(app.name), *by, "active Service")
    yield Planned("Service", namespace, naming.preview_service_name(app.name), *by, "preview Service")
    yield Planned("ServiceAccount", namespace, naming.service_account_name(app.name), *by, "ServiceAccount")
    if app.env_secret:
        # Auto-named (`<app>-env-<random>`), so it never collides; listed so the inventory is complete.
        yield Planned("Secret", namespace, f"{naming.env_secret_name(app.name)}-*", *by, "env Secret")
    if app.network_policy:
        yield Planned("NetworkPolicy", namespace, naming.network_policy_name(app.name), *by, "NetworkPolicy")


def frontend_objects(name: str, key: str, namespace: str) -> Iterator[Planned]:
    for kind in ("ConfigMap", "ServiceAccount", "Deployment", "Service"):
        yield Planned(kind, namespace, name, key, name, "the frontend", kind)


def plan(
    namespace: str,
    namespace_key: str,
    create_namespace: bool,
    apps: Iterable[AppNames],
    frontend: tuple[str, str] | None,
) -> list[Planned]:
    """Every object of the stack, in registration order."""
    objects: list[Planned] = []
    if create_namespace:
        objects.append(Planned("Namespace", None, namespace, namespace_key, namespace, "the stack", "Namespace"))
    for app in apps:
        objects.extend(app_objects(app, namespace))
    if frontend is not None:
        objects.extend(frontend_objects(*frontend, namespace))
    return objects


def of(settings: Settings, app_keys: Sequence[str] | None = None) -> list[Planned]:
    """Every object `settings` makes the program create; `app_keys` are the keys that name each app."""
    apps = [
        AppNames(
            app.name,
            app_keys[index] if app_keys else "",
            network_policy=bool(settings.clients(app.name)),
            env_secret=bool(app.env and app.env_secret),
        )
        for index, app in enumerate(settings.apps)
    ]
    frontend = (settings.frontend.name, qualified("frontend.name")) if settings.frontend else None
    return plan(settings.namespace, qualified("namespace"), settings.create_namespace, apps, frontend)


def collisions(objects: Iterable[Planned]) -> list[tuple[Planned, Planned]]:
    """Each later object whose kind, namespace and name an earlier one already has, with that one."""
    seen: dict[tuple[str, str | None, str], Planned] = {}
    found = []
    for obj in objects:
        if obj.name.endswith("*"):
            continue
        first = seen.setdefault((obj.kind, obj.namespace, obj.name), obj)
        if first is not obj:
            found.append((first, obj))
    return found


def built_in_clash(obj: Planned) -> str | None:
    """Why `obj` would take over an object every cluster already has, or None."""
    if obj.kind == "Namespace" and obj.name in BUILT_IN_NAMESPACES:
        return f"namespace {obj.name!r} exists in every cluster"
    for kind, namespace, name in BUILT_IN_OBJECTS:
        if obj.kind == kind and obj.name == name and namespace in (None, obj.namespace):
            where = "every namespace" if namespace is None else f"namespace {namespace!r}"
            return f"would name its {obj.role} {name!r}, which {where} of every cluster already has"
    return None
