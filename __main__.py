"""Blue/green apps on Kubernetes: load the stack's settings, build one component per app, export."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.bluegreen import BlueGreenApp, BlueGreenAppArgs
from components.settings import load_settings

settings = load_settings()

wait_for: list[pulumi.Resource] = []
if settings.create_namespace:
    wait_for.append(
        k8s.core.v1.Namespace(
            settings.namespace,
            metadata={
                "name": settings.namespace,
                # Admission rejects any pod here that does not meet the restricted standard.
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
        )
    )

apps = {
    app.name: BlueGreenApp(app.name, BlueGreenAppArgs(app=app, namespace=settings.namespace, wait_for=wait_for))
    for app in settings.apps
}

pulumi.export("namespace", settings.namespace)
pulumi.export("apps", {name: component.outputs() for name, component in apps.items()})
if len(apps) == 1:
    for key, value in next(iter(apps.values())).outputs().items():
        pulumi.export(key, value)
