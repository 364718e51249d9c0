"""Blue/green apps on Kubernetes: load the stack's settings, build one component per app, export."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from bluegreen import naming
from bluegreen.app.component import BlueGreenApp
from bluegreen.config import problems
from bluegreen.config.stack import ConfigError, load_settings
from demo.frontend import Frontend, FrontendArgs

try:
    settings = load_settings()
except ConfigError as error:
    problems.stop(error)  # one clean error from the CLI, before any resource is registered

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

# Every app is the same component another language gets from the package (provider/), built from
# the app's settings as parsed above: nothing is checked twice.
apps = {
    app.name: BlueGreenApp.from_spec(app.name, settings.spec(app), pulumi.ResourceOptions(depends_on=wait_for))
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
