"""Every pod meets the restricted Pod Security Standard and runs with a read-only root filesystem."""

from __future__ import annotations

import pytest

from bluegreen import naming

ALLOWED_VOLUME_KINDS = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def _pods(run):
    return {r.name: r.inputs["spec"]["template"]["spec"] for r in run.kubernetes if r.type.endswith(":Deployment")}


# Each image's own user, given as a number: http-echo (distroless nonroot) 65532, nginx-unprivileged 101.
UIDS = {"backend-blue": 65532, "backend-green": 65532, "frontend": 101}


@pytest.mark.parametrize("active", naming.COLORS)
def test_every_container_meets_the_restricted_standard(program, active):
    pods = _pods(program({"activeColor": active}))
    assert sorted(pods) == sorted(UIDS)
    for name, pod in pods.items():
        uid = UIDS[name]
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        for container in pod["containers"]:
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": uid,
                "runAsGroup": uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            }


def test_pods_use_no_host_namespaces_ports_or_paths(program):
    for pod in _pods(program()).values():
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
        for volume in pod["volumes"]:
            assert set(volume) - {"name"} <= ALLOWED_VOLUME_KINDS
        for container in pod["containers"]:
            assert all("hostPort" not in port for port in container["ports"])


def test_the_read_only_root_filesystem_gets_a_writable_tmp(program):
    for pod in _pods(program()).values():
        assert pod["volumes"][0] == {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
        assert pod["containers"][0]["volumeMounts"][0] == {"name": "tmp", "mountPath": "/tmp"}


def test_no_service_account_token_is_mounted(program):
    run = program()
    for name, pod in _pods(run).items():
        account = name.split("-")[0]
        assert run.get("ServiceAccount", account).inputs["automountServiceAccountToken"] is False
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == account


def test_each_color_rolls_out_without_losing_capacity(program):
    run = program()
    for color in naming.COLORS:
        spec = run.get("Deployment", f"backend-{color}").inputs["spec"]
        pod = spec["template"]["spec"]
        container = pod["containers"][0]
        assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        assert spec["minReadySeconds"] == 10
        assert pod["terminationGracePeriodSeconds"] == 30
        assert container["readinessProbe"] == {
            "httpGet": {"path": "/", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 3,
        }
        assert container["livenessProbe"] == {
            "tcpSocket": {"port": "http"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "failureThreshold": 3,
        }
        assert container["livenessProbe"] != container["readinessProbe"]
        assert container["resources"] == {
            "requests": {"cpu": "50m", "memory": "32Mi"},
            "limits": {"cpu": "250m", "memory": "64Mi"},
        }
        assert run.get("PodDisruptionBudget", f"backend-{color}").inputs["spec"] == {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app": "backend", "color": color}},
        }


def test_readiness_path_is_configurable(program):
    container = _pods(program({"readinessPath": "/healthz"}))["backend-green"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_run_as_user_gives_the_images_own_user(program):
    pods = _pods(program({"runAsUser": 1000}))
    for name in ("backend-blue", "backend-green"):
        assert pods[name]["securityContext"]["runAsUser"] == 1000
        assert pods[name]["containers"][0]["securityContext"]["runAsGroup"] == 1000
    assert pods["frontend"]["securityContext"]["runAsUser"] == 101


def test_a_stopping_pod_keeps_serving_while_endpoints_are_withdrawn(program):
    for pod in _pods(program()).values():
        assert pod["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
        assert pod["terminationGracePeriodSeconds"] == 30
