"""Pod security: the restricted Pod Security Standard, and no host access or privileged containers.

A namespace that enforces the standard rejects Pods, not Deployments: a non-compliant Deployment is
accepted and its pods never appear. These rules catch that at preview time, one message per field.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ResourceValidationPolicy,
)

from bluegreen_policies.kube import Container, Workload, as_list, as_mapping, report_each

ALLOWED_VOLUME_TYPES: Final = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
ALLOWED_VOLUMES_TEXT: Final = ", ".join(sorted(ALLOWED_VOLUME_TYPES))
ALLOWED_SECCOMP_TYPES: Final = ("RuntimeDefault", "Localhost")
ALLOWED_ADDED_CAPABILITY: Final = "NET_BIND_SERVICE"
HOST_NAMESPACES: Final = ("hostNetwork", "hostPID", "hostIPC")
# The numeric non-root UID the program's own pods run as; any non-zero UID satisfies the standard.
EXAMPLE_UID: Final = 65532


def _security(container: Container) -> dict[str, Any]:
    return as_mapping(container.get("securityContext"))


def _container_problems(pod: dict[str, Any], container: Container) -> list[str]:
    sc = _security(container)
    where = f'container "{container.name}"'
    problems: list[str] = []
    escalation = sc.get("allowPrivilegeEscalation")
    if escalation is not False:
        state = "is not set" if escalation is None else f"is {json.dumps(escalation)}"
        problems.append(f"{where}: securityContext.allowPrivilegeEscalation {state}; set it to false")
    capabilities = as_mapping(sc.get("capabilities"))
    if "ALL" not in as_list(capabilities.get("drop")):
        problems.append(f'{where}: securityContext.capabilities.drop does not include "ALL"; add "ALL"')
    added = sorted(str(c) for c in as_list(capabilities.get("add")) if c != ALLOWED_ADDED_CAPABILITY)
    if added:
        problems.append(
            f"{where}: securityContext.capabilities.add has {', '.join(added)}, which the standard forbids; "
            f"add nothing but {ALLOWED_ADDED_CAPABILITY}"
        )
    non_root = sc.get("runAsNonRoot")
    if non_root is False:
        problems.append(f"{where}: securityContext.runAsNonRoot is false; set it to true")
    elif non_root is None and pod.get("runAsNonRoot") is not True:
        problems.append(
            f"{where}: runAsNonRoot is set neither here nor in the pod securityContext; "
            "set securityContext.runAsNonRoot to true"
        )
    if sc.get("runAsUser") == 0:
        problems.append(
            f"{where}: securityContext.runAsUser is 0 (root); set it to a non-zero UID such as {EXAMPLE_UID}"
        )
    seccomp = as_mapping(sc.get("seccompProfile")).get("type")
    if seccomp is not None and seccomp not in ALLOWED_SECCOMP_TYPES:
        problems.append(f'{where}: securityContext.seccompProfile.type is "{seccomp}"; set it to RuntimeDefault')
    elif seccomp is None and as_mapping(pod.get("seccompProfile")).get("type") not in ALLOWED_SECCOMP_TYPES:
        problems.append(
            f"{where}: seccompProfile.type is set neither here nor in the pod securityContext; "
            "set securityContext.seccompProfile.type to RuntimeDefault"
        )
    return problems


def _pod_problems(pod: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if pod.get("runAsNonRoot") is False:
        problems.append("pod securityContext.runAsNonRoot is false; set it to true")
    if pod.get("runAsUser") == 0:
        problems.append(f"pod securityContext.runAsUser is 0 (root); set it to a non-zero UID such as {EXAMPLE_UID}")
    seccomp = as_mapping(pod.get("seccompProfile")).get("type")
    if seccomp is not None and seccomp not in ALLOWED_SECCOMP_TYPES:
        problems.append(f'pod securityContext.seccompProfile.type is "{seccomp}"; set it to RuntimeDefault')
    return problems


def _volume_type(volume: dict[str, Any]) -> str:
    return next((key for key in sorted(volume) if key != "name"), "")


def restricted_problems(found: Workload) -> list[str]:
    """Every way the pod template misses the restricted standard, one line per field."""
    pod = as_mapping(found.pod_spec.get("securityContext"))
    problems = _pod_problems(pod)
    for container in found.containers():
        problems.extend(_container_problems(pod, container))
    for volume in as_list(found.pod_spec.get("volumes")):
        volume = as_mapping(volume)
        kind = _volume_type(volume)
        # hostPath is reported by pod-host-access-forbidden; one field, one message.
        if kind and kind != "hostPath" and kind not in ALLOWED_VOLUME_TYPES:
            problems.append(f'volume "{volume.get("name")}" is a {kind} volume; use one of {ALLOWED_VOLUMES_TEXT}')
    return problems


def host_access_problems(found: Workload) -> list[str]:
    """Host namespaces, host paths, host ports and privileged containers (the baseline standard)."""
    problems = [
        f"{key} is true; remove it (pods must not share the node's namespaces)"
        for key in HOST_NAMESPACES
        if found.pod_spec.get(key) is True
    ]
    for volume in as_list(found.pod_spec.get("volumes")):
        volume = as_mapping(volume)
        if "hostPath" in volume:
            path = as_mapping(volume["hostPath"]).get("path")
            problems.append(
                f'volume "{volume.get("name")}" mounts the node\'s path "{path}" (hostPath); '
                "use an emptyDir, configMap, secret or persistentVolumeClaim"
            )
    for container in found.containers():
        where = f'container "{container.name}"'
        if _security(container).get("privileged") is True:
            problems.append(f"{where}: securityContext.privileged is true; set it to false")
        for port in as_list(container.get("ports")):
            host_port = as_mapping(port).get("hostPort")
            if host_port:
                problems.append(f"{where}: port hostPort {int(host_port)} binds the node's port; remove hostPort")
    return problems


POLICIES: Final[list[Policy]] = [
    ResourceValidationPolicy(
        name="pod-security-restricted",
        description="Every pod template meets the restricted Pod Security Standard.",
        validate=report_each(restricted_problems),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="pod-host-access-forbidden",
        description="No pod uses hostNetwork, hostPID, hostIPC, hostPath, hostPort or a privileged container.",
        validate=report_each(host_access_problems),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
