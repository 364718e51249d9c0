"""Pod security and supply chain policies: one exact message per field that is missing or wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.policy_harness import Res, check, check_resource, dev_stack, edited, find, remover, setter

POD = "spec.template.spec"
SC = f"{POD}.containers.0.securityContext"
BLUE = 'Deployment "backend-blue"'
CONTAINER = f'{BLUE}: container "backend"'
Change = Callable[[dict[str, Any]], None]


def _blue(change: Change) -> Res:
    return find(edited(dev_stack(), "Deployment", "backend-blue", change), "Deployment", "backend-blue")


def _both(*changes: Change) -> Change:
    def change(props: dict[str, Any]) -> None:
        for one in changes:
            one(props)

    return change


def _add_volume(volume: dict[str, Any]) -> Change:
    return lambda props: props["spec"]["template"]["spec"]["volumes"].append(volume)


def test_dev_stack_passes_the_pod_and_image_policies() -> None:
    for name in ("pod-security-restricted", "pod-host-access-forbidden", "images-pinned"):
        assert check(name, dev_stack()) == [], name


RESTRICTED: list[tuple[str, Change, list[str]]] = [
    (
        "allowPrivilegeEscalation unset",
        remover(f"{SC}.allowPrivilegeEscalation"),
        [f"{CONTAINER}: securityContext.allowPrivilegeEscalation is not set; set it to false"],
    ),
    (
        "allowPrivilegeEscalation true",
        setter(f"{SC}.allowPrivilegeEscalation", True),
        [f"{CONTAINER}: securityContext.allowPrivilegeEscalation is true; set it to false"],
    ),
    (
        "capabilities not dropped",
        setter(f"{SC}.capabilities.drop", ["NET_RAW"]),
        [f'{CONTAINER}: securityContext.capabilities.drop does not include "ALL"; add "ALL"'],
    ),
    (
        "a capability added",
        setter(f"{SC}.capabilities.add", ["NET_BIND_SERVICE", "NET_ADMIN"]),
        [
            f"{CONTAINER}: securityContext.capabilities.add has NET_ADMIN, which the standard forbids; "
            "add nothing but NET_BIND_SERVICE"
        ],
    ),
    (
        "runAsNonRoot false in the container",
        setter(f"{SC}.runAsNonRoot", False),
        [f"{CONTAINER}: securityContext.runAsNonRoot is false; set it to true"],
    ),
    (
        "runAsNonRoot set nowhere",
        _both(remover(f"{SC}.runAsNonRoot"), remover(f"{POD}.securityContext.runAsNonRoot")),
        [
            f"{CONTAINER}: runAsNonRoot is set neither here nor in the pod securityContext; "
            "set securityContext.runAsNonRoot to true"
        ],
    ),
    ("runAsNonRoot inherited from the pod", remover(f"{SC}.runAsNonRoot"), []),
    (
        "runAsNonRoot false in the pod",
        setter(f"{POD}.securityContext.runAsNonRoot", False),
        [f"{BLUE}: pod securityContext.runAsNonRoot is false; set it to true"],
    ),
    (
        "a container running as root",
        setter(f"{SC}.runAsUser", 0),
        [f"{CONTAINER}: securityContext.runAsUser is 0 (root); set it to a non-zero UID such as 65532"],
    ),
    (
        "a pod running as root",
        setter(f"{POD}.securityContext.runAsUser", 0),
        [f"{BLUE}: pod securityContext.runAsUser is 0 (root); set it to a non-zero UID such as 65532"],
    ),
    (
        "seccomp Unconfined in the container",
        setter(f"{SC}.seccompProfile.type", "Unconfined"),
        [f'{CONTAINER}: securityContext.seccompProfile.type is "Unconfined"; set it to RuntimeDefault'],
    ),
    (
        "seccomp set nowhere",
        _both(remover(f"{SC}.seccompProfile"), remover(f"{POD}.securityContext.seccompProfile")),
        [
            f"{CONTAINER}: seccompProfile.type is set neither here nor in the pod securityContext; "
            "set securityContext.seccompProfile.type to RuntimeDefault"
        ],
    ),
    (
        "seccomp Unconfined in the pod",
        setter(f"{POD}.securityContext.seccompProfile.type", "Unconfined"),
        [f'{BLUE}: pod securityContext.seccompProfile.type is "Unconfined"; set it to RuntimeDefault'],
    ),
    (
        "a volume type the standard refuses",
        _add_volume({"name": "shared", "nfs": {"server": "nfs.local", "path": "/srv"}}),
        [
            f'{BLUE}: volume "shared" is a nfs volume; use one of configMap, csi, downwardAPI, emptyDir, ephemeral, '
            "persistentVolumeClaim, projected, secret"
        ],
    ),
    (
        "an init container with no securityContext",
        setter(f"{POD}.initContainers", [{"name": "migrate", "image": "busybox:1.36"}]),
        [
            f'{BLUE}: container "migrate": securityContext.allowPrivilegeEscalation is not set; set it to false',
            f'{BLUE}: container "migrate": securityContext.capabilities.drop does not include "ALL"; add "ALL"',
        ],
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), RESTRICTED, ids=[c[0] for c in RESTRICTED])
def test_pod_security_restricted(case: str, change: Change, expected: list[str]) -> None:
    assert check_resource("pod-security-restricted", _blue(change)) == expected


HOST_ACCESS: list[tuple[str, Change, list[str]]] = [
    *[
        (
            key,
            setter(f"{POD}.{key}", True),
            [f"{BLUE}: {key} is true; remove it (pods must not share the node's namespaces)"],
        )
        for key in ("hostNetwork", "hostPID", "hostIPC")
    ],
    (
        "hostPath",
        _add_volume({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}),
        [
            f'{BLUE}: volume "docker" mounts the node\'s path "/var/run/docker.sock" (hostPath); use an emptyDir, '
            "configMap, secret or persistentVolumeClaim"
        ],
    ),
    (
        "hostPort",
        setter(f"{POD}.containers.0.ports.0.hostPort", 8080),
        [f"{CONTAINER}: port hostPort 8080 binds the node's port; remove hostPort"],
    ),
    (
        "privileged",
        setter(f"{SC}.privileged", True),
        [f"{CONTAINER}: securityContext.privileged is true; set it to false"],
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), HOST_ACCESS, ids=[c[0] for c in HOST_ACCESS])
def test_pod_host_access_forbidden(case: str, change: Change, expected: list[str]) -> None:
    assert check_resource("pod-host-access-forbidden", _blue(change)) == expected


IMAGES: list[tuple[str, Change, list[str]]] = [
    (
        "latest",
        setter(f"{POD}.containers.0.image", "hashicorp/http-echo:latest"),
        [
            f'{CONTAINER}: image "hashicorp/http-echo:latest" must be pinned to a tag or digest other than "latest"; '
            "pin it as <repository>:<version> or <repository>@sha256:<digest>"
        ],
    ),
    (
        "no tag",
        setter(f"{POD}.containers.0.image", "registry.local:5000/http-echo"),
        [
            f'{CONTAINER}: image "registry.local:5000/http-echo" must be pinned with a tag or digest (no tag means '
            "latest); pin it as <repository>:<version> or <repository>@sha256:<digest>"
        ],
    ),
    ("a digest", setter(f"{POD}.containers.0.image", "hashicorp/http-echo@sha256:" + "a" * 64), []),
    (
        "no image",
        remover(f"{POD}.containers.0.image"),
        [
            f"{CONTAINER}: image (not set) must be an image reference with a tag or digest, not empty; pin it as "
            "<repository>:<version> or <repository>@sha256:<digest>"
        ],
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), IMAGES, ids=[c[0] for c in IMAGES])
def test_images_pinned(case: str, change: Change, expected: list[str]) -> None:
    assert check_resource("images-pinned", _blue(change)) == expected


def test_every_kind_of_pod_template_is_checked() -> None:
    cron = Res(
        "kubernetes:batch/v1:CronJob",
        "cleanup",
        "urn:pulumi:dev::bluegreen::kubernetes:batch/v1:CronJob::cleanup",
        {
            "metadata": {"name": "cleanup"},
            "spec": {
                "schedule": "@daily",
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "busybox"}]}}}},
            },
        },
    )
    assert check_resource("pod-security-restricted", cron) == [
        'CronJob "cleanup": container "job": securityContext.allowPrivilegeEscalation is not set; set it to false',
        'CronJob "cleanup": container "job": securityContext.capabilities.drop does not include "ALL"; add "ALL"',
        'CronJob "cleanup": container "job": runAsNonRoot is set neither here nor in the pod securityContext; '
        "set securityContext.runAsNonRoot to true",
        'CronJob "cleanup": container "job": seccompProfile.type is set neither here nor in the pod '
        "securityContext; set securityContext.seccompProfile.type to RuntimeDefault",
    ]
    assert check_resource("images-pinned", cron) == [
        'CronJob "cleanup": container "job": image "busybox" must be pinned with a tag or digest (no tag means '
        "latest); pin it as <repository>:<version> or <repository>@sha256:<digest>"
    ]


def test_resources_that_run_no_pods_are_not_checked() -> None:
    service = find(dev_stack(), "Service", "backend")
    assert check_resource("pod-security-restricted", service) == []
    assert check_resource("images-pinned", service) == []
