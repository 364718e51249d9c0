"""Blue/green apps on Kubernetes: load the stack's settings, build one component per app, export."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.bluegreen import BlueGreenApp, BlueGreenAppArgs
from components.frontend import Frontend, FrontendArgs
from components.gate import pre_switch_hook
from components.settings import load_settings

settings = load_settings()

wait_for: list[pulumi.Resource] = []
if settings.create_namespace:
    wait_for.append(
        k8s.core.v1.Namespace(
            settings.namespace,
            metadata={"name": settings.namespace, "labels": naming.POD_SECURITY_LABELS},
            # Deleting a namespace deletes everything in it, the protected Service included.
            opts=pulumi.ResourceOptions(protect=True),
        )
    )

apps = {
    app.name: BlueGreenApp(
        app.name,
        BlueGreenAppArgs(
            app=app,
            namespace=settings.namespace,
            wait_for=wait_for,
            # Checks the target color in the cluster before the selector moves; off for runners without API access.
            before_switch=[pre_switch_hook(app, settings.namespace)] if settings.pre_switch_gate else [],
            clients=settings.clients(app.name),
            api_server_cidrs=settings.api_server_cidrs,
        ),
    )
    for app in settings.apps
}

pulumi.export("namespace", settings.namespace)
pulumi.export("apps", {name: component.outputs() for name, component in apps.items()})
if len(apps) == 1:
    for key, value in next(iter(apps.values())).outputs().items():
        pulumi.export(key, value)

if settings.frontend is not None:
    backend = next(a for a in settings.apps if a.name == settings.frontend.backend)
    upstream = f"http://{naming.service_dns_name(backend.name, settings.namespace)}:{backend.service_port}"
    frontend = Frontend(
        settings.frontend.name,
        FrontendArgs(
            frontend=settings.frontend,
            namespace=settings.namespace,
            backend_url=upstream,
            wait_for=[*wait_for, apps[backend.name]],
        ),
    )
    pulumi.export("frontendService", frontend.service_name)
    pulumi.export("frontendUpstream", upstream)
