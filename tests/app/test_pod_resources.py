"""What each pod gets: requests and limits, the size of /tmp and the writable paths, by default and as set."""

from __future__ import annotations

import pytest


def _pod(run, name: str = "backend-blue") -> dict:
    return run.get("Deployment", name).inputs["spec"]["template"]["spec"]


def test_by_default_each_container_gets_modest_resources_and_a_64mi_tmp(program) -> None:
    pod = _pod(program())
    (container,) = pod["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "50m", "memory": "32Mi"},
        "limits": {"cpu": "250m", "memory": "64Mi"},
    }
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("deployment", ["backend-blue", "backend-green"])
def test_set_resources_tmp_size_and_writable_paths_reach_both_colors(program, deployment: str) -> None:
    run = program(
        {
            "cpuRequest": "0.5",
            "cpuLimit": "2",
            "memoryRequest": "768Mi",
            "memoryLimit": "1Gi",
            "tmpSize": "256Mi",
            "writablePaths": '["/var/cache/app", "/data"]',
        }
    )
    pod = _pod(run, deployment)
    (container,) = pod["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "0.5", "memory": "768Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    assert pod["volumes"] == [
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "writable-0", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "writable-1", "emptyDir": {"sizeLimit": "256Mi"}},
    ]
    assert container["volumeMounts"] == [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "writable-0", "mountPath": "/var/cache/app"},
        {"name": "writable-1", "mountPath": "/data"},
    ]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_each_app_of_a_stack_takes_its_own_resources(program) -> None:
    apps = '[{"name": "api", "blueVersion": "1", "greenVersion": "2", "memoryLimit": "512Mi"}, ' + (
        '{"name": "web", "blueVersion": "1", "greenVersion": "2"}]'
    )
    run = program({"apps": apps, "frontend": "{}", "memoryRequest": "64Mi"})
    limits = {name: _pod(run, f"{name}-blue")["containers"][0]["resources"] for name in ("api", "web")}
    assert limits == {
        "api": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "512Mi"}},
        "web": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "64Mi"}},
    }
