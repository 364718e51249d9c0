"""BlueGreenApp in a program of one's own, with the rest of the pod template set by a transform.

The keys cover what a blue/green app needs; a transform sets what they do not (a node selector,
tolerations, image pull secrets, annotations). It runs on each Deployment the component creates, so
both colors get the same fields. The policy pack checks the result at preview, so a transform cannot
undo the restricted Pod Security Standard: with `privileged: true` the preview is refused.
"""

from __future__ import annotations

from typing import Any

import pulumi

from bluegreen import ActiveColor, BlueGreenApp, BlueGreenAppArgs

config = pulumi.Config()


def scheduling(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Both colors' pods: on Linux nodes of the pool `web`, with its taint tolerated, a pull secret and an
    annotation."""
    if args.type_ != "kubernetes:apps/v1:Deployment":
        return None
    props: dict[str, Any] = dict(args.props)
    spec = dict(props["spec"])
    template = dict(spec["template"])
    pod = dict(template["spec"])
    pod["nodeSelector"] = {"kubernetes.io/os": "linux", "pool": "web"}
    pod["tolerations"] = [{"key": "pool", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]
    pod["imagePullSecrets"] = [{"name": "registry-credentials"}]
    if config.get_bool("privileged"):  # what the policy pack must refuse
        pod["containers"] = [
            {**c, "securityContext": {**c["securityContext"], "privileged": True}} for c in pod["containers"]
        ]
    template["spec"] = pod
    template["metadata"] = {**template["metadata"], "annotations": {"example.com/team": "web"}}
    spec["template"] = template
    props["spec"] = spec
    return pulumi.ResourceTransformResult(props, args.opts)


BlueGreenApp(
    "scheduled",
    BlueGreenAppArgs(
        namespace="bluegreen-dev",
        active_color=ActiveColor.BLUE,
        blue_image="bluegreen.local/e2e/echo:1",
        blue_version="1.1",
        green_image="bluegreen.local/e2e/echo:1",
        green_version="1.2",
        container_port=5678,
        args=["-listen=:{port}", "-text=scheduled {version} ({color})"],
    ),
    opts=pulumi.ResourceOptions(transforms=[scheduling]),
)
