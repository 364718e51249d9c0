"""The arguments of `BlueGreenApp`, typed for every Pulumi language.

Generated from the key table: `python -m bluegreen.config.reference component-args > bluegreen/app/args.py`.
The component provider infers the package schema from these annotations and the string under each
field (its description), so this module is read at run time: it must not postpone annotations, and
uses only types the schema can express (no `Literal`, no unions). Each field's camel-case name is the
config key of the same meaning, and its description is that key's. Every value that decides a name,
a label or the routing is plain: it must be known when the program is planned.
"""

from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi


class ActiveColor(StrEnum):
    """The color the Service sends traffic to."""

    BLUE = "blue"
    """Blue gets the traffic."""
    GREEN = "green"
    """Green gets the traffic."""


class ServiceType(StrEnum):
    """How the active Service is exposed."""

    CLUSTER_IP = "ClusterIP"
    """Inside the cluster only."""
    NODE_PORT = "NodePort"
    """Also on a port of every node."""
    LOAD_BALANCER = "LoadBalancer"
    """Also through the cloud's load balancer."""


class BlueGreenAppArgs(TypedDict):
    """The arguments of one blue/green app."""

    namespace: str
    """The namespace the app's objects live in; it must exist, or be created before the app."""
    active_color: ActiveColor
    """The color the Service sends traffic to, exactly "blue" or "green". Changing it is the cutover."""
    blue_image: str
    """The blue color's image, pinned by tag or digest (never latest)."""
    blue_version: str
    """The version blue runs; a label value on its pods, never part of a selector."""
    green_image: str
    """The green color's image, pinned by tag or digest (never latest)."""
    green_version: str
    """The version green runs; a label value on its pods, never part of a selector."""
    app_name: NotRequired[str]
    """The app's name: its Services, Deployments and labels are named after it. Default: the resource name."""
    blue_replicas: NotRequired[int]
    """Blue's replica count when it is active (and when idle, unless idleReplicas is set)."""
    green_replicas: NotRequired[int]
    """Green's replica count when it is active (and when idle, unless idleReplicas is set)."""
    idle_replicas: NotRequired[int]
    """The idle color's size; unset keeps it at full size, so a rollback is instant."""
    scale_down_delay_seconds: NotRequired[int]
    (
        "How long the old color's pods stay untouched after the selector moves (kube-proxy updates are "
        "asynchronous) before it scales down (idleReplicas) or its pods are replaced (recycleOldPods)."
    )
    recycle_old_pods: NotRequired[bool]
    (
        "After a cutover that leaves the old color its pods, replace them one at a time (the Eviction API, within "
        "their PodDisruptionBudget) once scaleDownDelaySeconds has passed, so clients on keep-alive connections "
        "reconnect to the new color; the old color keeps its size. Needs preSwitchGate."
    )
    verify_seconds: NotRequired[int]
    (
        "After a cutover, watch the new color under traffic for this many seconds before the update succeeds: "
        "smokePath (else readinessPath) through the active Service, 10 requests a second, above "
        "verifySuccessPercent; every pod of the new color stays Ready and no container restarts. A failed window "
        "fails the update (bgctl then switches back). 0 turns it off. Needs preSwitchGate."
    )
    verify_success_percent: NotRequired[int]
    (
        "The share of the verification window's requests that must answer 2xx, in percent; the window fails as soon"
        " as more have failed than this allows over the whole window."
    )
    run_as_user: NotRequired[int]
    (
        "The numeric user and group the containers run as; give the image's own USER as a number (the pods enforce "
        "runAsNonRoot)."
    )
    cpu_request: NotRequired[str]
    """The CPU each container is guaranteed: the scheduler reserves it."""
    cpu_limit: NotRequired[str]
    """The CPU each container may use; above it, the container is throttled."""
    memory_request: NotRequired[str]
    """The memory each container is guaranteed: the scheduler reserves it."""
    memory_limit: NotRequired[str]
    (
        "The memory each container may use; above it, the kernel kills the container (OOMKilled). A JVM, Node or "
        "Python web app usually needs 256Mi or more."
    )
    tmp_size: NotRequired[str]
    """The size of the writable /tmp, and of each of writablePaths (the root filesystem is read-only)."""
    writable_paths: NotRequired[list[str]]
    (
        "More directories the container may write to, each an empty directory of tmpSize at every start (the root "
        "filesystem is read-only)."
    )
    container_port: NotRequired[int]
    """The port the container listens on."""
    service_port: NotRequired[int]
    """The port the Services expose."""
    service_type: NotRequired[ServiceType]
    (
        "The active Service's type (the preview Service is always ClusterIP); NodePort and LoadBalancer cannot be "
        "used behind the NetworkPolicy that clients sets up."
    )
    readiness_path: NotRequired[str]
    """The HTTP path of the readiness probe."""
    smoke_path: NotRequired[str]
    (
        "When set, the pre-switch gate GETs this path on the target color and requires a 2xx before a cutover; "
        "empty means no smoke check."
    )
    args: NotRequired[list[str]]
    """Container args; {color}, {version} and {port} are filled in per color, all other text is kept as it is."""
    env: NotRequired[dict[str, pulumi.Input[str]]]
    (
        "Environment variables for both colors, name to value. When one value is secret, every value goes to a "
        "Secret that the pods read, never into a Deployment."
    )
    pre_switch_gate: NotRequired[bool]
    (
        "Check the target color against the cluster before the Service selector moves; false for runners that "
        "cannot reach the cluster's API."
    )
    clients: NotRequired[list[str]]
    """The app labels of the pods allowed to connect; when set, a NetworkPolicy denies every other ingress."""
    api_server_cidrs: NotRequired[list[str]]
    (
        "Where the API server's service proxy connects from; admitted by the NetworkPolicy when clients and "
        "smokePath are both set."
    )
