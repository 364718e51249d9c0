# One command per job; `make help` lists them. Nothing here needs an account: state lives in
# a local file backend under .pulumi/ unless PULUMI_BACKEND_URL says otherwise.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi
# The dev stack keeps no secrets; set your own passphrase for a stack that does.
export PULUMI_CONFIG_PASSPHRASE ?=

# Expanded as a recipe's first line, so a missing CLI stops make with exactly one line.
require_pulumi = $(if $(shell command -v pulumi),,$(error the Pulumi CLI is not on PATH: install it with "curl -fsSL https://get.pulumi.com | sh" (https://www.pulumi.com/docs/iac/download-install/), then run make $(or $(MAKECMDGOALS),$@) again))

require_kubectl = $(if $(shell command -v kubectl),,$(error kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/) and point it at the cluster the stack runs on, then run make $(or $(MAKECMDGOALS),$@) again))

require_cluster = $(if $(shell kubectl get --raw /readyz --request-timeout=5s 2>/dev/null),,$(error no cluster answers at kubectl's current context ($(shell kubectl config current-context 2>/dev/null || echo none)): start one (for example "kind create cluster") or select one with "kubectl config use-context NAME", then run make $(or $(MAKECMDGOALS),$@) again))

NAMESPACE ?= bluegreen-dev
FRONTEND ?= frontend
SMOKE_REQUESTS ?= 5
SMOKE_POD := smoke-$(shell date +%s)
# curlimages/curl runs as user name curl_user (UID 100): the pod gives the number, as the
# namespace's restricted Pod Security admission requires.
SMOKE_OVERRIDES = {"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":100,"runAsGroup":100,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"$(SMOKE_POD)","image":"curlimages/curl:8.11.1","command":["sh","-c","for i in $$(seq $(SMOKE_REQUESTS)); do curl -fsS --max-time 5 http://$(FRONTEND).$(NAMESPACE).svc.cluster.local/ || exit 1; done"],"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true}}]}}

.PHONY: help venv test lint typecheck unit up preview stack bench smoke
help:
	@echo "make up        create the venv and the $(STACK) stack if missing, then pulumi up (current kube context)"
	@echo "make preview   pulumi preview --diff of the $(STACK) stack"
	@echo "make test      lint, type check and tests (no Pulumi CLI or cluster needed)"
	@echo "make smoke     a one-off pod calls the frontend $(SMOKE_REQUESTS) times and prints which backend version answered"
	@echo "make bench     time and memory of evaluating the program, 1 to 200 apps"

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest -q

test: lint typecheck unit

stack:
	$(call require_pulumi)
	@mkdir -p .pulumi
	pulumi stack select --create $(STACK) --non-interactive

up: stack venv
	pulumi up --stack $(STACK) --diff

preview: stack venv
	pulumi preview --stack $(STACK) --diff

bench: venv
	$(PY) -m bench.run

smoke:
	$(call require_kubectl)
	$(call require_cluster)
	kubectl run $(SMOKE_POD) --namespace $(NAMESPACE) --rm -i --quiet --restart=Never \
		--image=curlimages/curl:8.11.1 --overrides='$(SMOKE_OVERRIDES)'
