"""The frontend reaches the backend only through the backend Service's stable DNS name."""

from __future__ import annotations

import hashlib
import re

from bluegreen import naming


def test_frontend_proxies_to_the_backend_service_dns_name(program):
    run = program()
    config = run.get("ConfigMap", "frontend").inputs["data"]["default.conf"]
    assert "proxy_pass http://backend.bluegreen-dev.svc.cluster.local:80;" in config
    assert "listen 8080;" in config
    # Nothing in the frontend names a color or a pod: a cutover leaves it untouched.
    assert re.findall(r"\b(blue|green)\b", config) == []


def test_frontend_follows_the_backends_namespace_and_service_port(program):
    config = program({"namespace": "shop", "servicePort": 8081}).get("ConfigMap", "frontend").inputs["data"]
    assert "proxy_pass http://backend.shop.svc.cluster.local:8081;" in config["default.conf"]


def test_frontend_waits_for_the_backend_so_its_name_resolves_at_start(program):
    run = program()
    frontend = run.get("Deployment", "frontend")
    # Depending on the component means depending on each of its children, the Service among them.
    assert run.get("Service", "backend").urn in frontend.dependencies
    assert run.get("ConfigMap", "frontend").urn in frontend.dependencies


def test_frontend_pods_carry_the_label_the_backend_admits(program):
    run = program()
    spec = run.get("Deployment", "frontend").inputs["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "frontend"}}
    assert spec["template"]["metadata"]["labels"] == {"app": "frontend"}
    assert run.get("Service", "frontend").inputs["spec"]["selector"] == {"app": "frontend"}


def test_frontend_serves_its_own_health_endpoint_for_probes(program):
    container = program().get("Deployment", "frontend").inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginxinc/nginx-unprivileged:1.27.4-alpine"
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["volumeMounts"] == [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "config", "mountPath": "/etc/nginx/conf.d", "readOnly": True},
    ]


def test_a_stack_without_a_frontend_has_no_frontend_and_no_network_policy(program):
    run = program(without=("frontend",))
    assert [r.name for r in run.registrations if r.name == "frontend"] == []
    assert [r for r in run.registrations if r.type.endswith("NetworkPolicy")] == []
    assert "frontendService" not in run.outputs


def test_cutover_leaves_the_frontend_untouched(program):
    blue = {(r.type, r.name): r.inputs for r in program({"activeColor": "blue"}).registrations}
    green = {(r.type, r.name): r.inputs for r in program({"activeColor": "green"}).registrations}
    frontend = [key for key in blue if key[1] == "frontend"]
    assert len(frontend) == 5
    assert all(blue[key] == green[key] for key in frontend)
    assert (
        naming.service_dns_name("backend", "bluegreen-dev")
        in blue["kubernetes:core/v1:ConfigMap", "frontend"]["data"]["default.conf"]
    )


def test_a_change_to_the_nginx_config_rolls_the_frontend_pods(program):
    def digest(run):
        template = run.get("Deployment", "frontend").inputs["spec"]["template"]["metadata"]
        return template["annotations"]["bluegreen/config-sha256"]

    def config(run):
        return run.get("ConfigMap", "frontend").inputs["data"]["default.conf"]

    before, after = program(), program({"servicePort": 8081})
    assert digest(before) == hashlib.sha256(config(before).encode()).hexdigest()
    assert digest(after) == hashlib.sha256(config(after).encode()).hexdigest()
    assert digest(before) != digest(after)
