# One command per job; `make help` lists them. Nothing here needs an account: state lives in
# a local file backend under .pulumi/ unless PULUMI_BACKEND_URL says otherwise.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# metadata=skip: no .attrs file beside each state file, which a killed pulumi can leave empty (README).
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi?metadata=skip
# The dev stack keeps no secrets; set your own passphrase for a stack that does.
export PULUMI_CONFIG_PASSPHRASE ?=

# Targets that need a tool are refused when make reads this file, before any recipe (the venv
# included) runs, with exactly one line that says how to get the tool.
NEEDS_PULUMI := up preview stack status history release cutover rollback recover destroy
NEEDS_CLUSTER := smoke
again = then run make $(MAKECMDGOALS) again
ifneq ($(filter $(NEEDS_PULUMI),$(MAKECMDGOALS)),)
  ifeq ($(shell command -v pulumi),)
    $(error the Pulumi CLI is not on PATH: install it with "curl -fsSL https://get.pulumi.com | sh" (https://www.pulumi.com/docs/iac/download-install/), $(again))
  endif
endif
ifneq ($(filter $(NEEDS_CLUSTER),$(MAKECMDGOALS)),)
  ifeq ($(shell command -v kubectl),)
    $(error kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/) and point it at the cluster the stack runs on, $(again))
  endif
  ifeq ($(shell kubectl get --raw /readyz --request-timeout=5s 2>/dev/null),)
    $(error no cluster answers at kubectl's current context ($(or $(shell kubectl config current-context 2>/dev/null),none)): start one (for example "kind create cluster") or select one with "kubectl config use-context NAME", $(again))
  endif
endif

NAMESPACE ?= bluegreen-dev
FRONTEND ?= frontend
SMOKE_REQUESTS ?= 5
SMOKE_TIMEOUT ?= 60
SMOKE_POD := smoke-$(shell date +%s%N)
SMOKE_URL = http://$(FRONTEND).$(NAMESPACE).svc.cluster.local/
# The client pod: its image, the UID and GID it runs as, and its command as a JSON array.
# curlimages/curl runs as the user name curl_user (UID 100, group curl_group, GID 101): the pod
# gives the numbers, as runAsNonRoot under the namespace's restricted admission requires.
SMOKE_IMAGE ?= curlimages/curl:8.11.1
SMOKE_UID ?= 100
SMOKE_GID ?= 101
SMOKE_COMMAND ?= ["sh","-c","for i in $$(seq $(SMOKE_REQUESTS)); do curl -fsS --max-time 5 $(SMOKE_URL) || exit 1; done"]
SMOKE_OVERRIDES = {"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":$(SMOKE_UID),"runAsGroup":$(SMOKE_GID),"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"$(SMOKE_POD)","image":"$(SMOKE_IMAGE)","command":$(SMOKE_COMMAND),"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true}}]}}

# Every plan goes through the policy pack unless POLICY_PACK is set empty.
POLICY_PACK ?= policies
POLICY_FLAGS = $(if $(POLICY_PACK),--policy-pack $(POLICY_PACK))
BGCTL_POLICY = $(if $(POLICY_PACK),--policy-pack $(POLICY_PACK),--no-policy-pack)
BGCTL_OPTS = --stack $(STACK)$(if $(APP), --app $(APP))

.PHONY: help venv lock policies-shared test lint typecheck unit up preview stack bench smoke status history release cutover \
	rollback recover render destroy toolchain cluster cluster-down e2e
help:
	@echo "make up [YES=1] create the venv and the $(STACK) stack if missing, then pulumi up --refresh (current kube context)"
	@echo "make preview   pulumi preview --refresh --diff of the $(STACK) stack; with COLOR=green, a checked cutover preview"
	@echo "make render    the Kubernetes objects the $(STACK) stack would create, as YAML (no Pulumi CLI, no cluster)"
	@echo "make status    active and idle color, versions, replicas and the last cutovers (APP=name for one of several)"
	@echo "make history   the cutover timeline from stack history"
	@echo "make release IMAGE=repo:tag VERSION=v [PROMOTE=1] [YES=1]  the new version on the idle color; PROMOTE=1 then cuts over"
	@echo "make cutover COLOR=green [YES=1]     preview, check, confirm, then pulumi up (NO_SWITCH_BACK=1: only report a failed verification)"
	@echo "make rollback [TO_VERSION=N] [NOW=1] [YES=1] switch back to the color of the newest successful earlier update"
	@echo "               (NOW=1: the Service's selector is written first, in one API call, then pulumi up records it)"
	@echo "make recover [YES=1] after an update that died (killed, machine lost): clear its lock, then pulumi up to the config"
	@echo "make destroy [YES=1] confirm, lift the protection of the Service and namespace, then destroy the $(STACK) stack"
	@echo "make smoke     a one-off pod calls the frontend $(SMOKE_REQUESTS) times and prints which backend version answered"
	@echo "make stack     create (or select) the $(STACK) stack on the local state backend"
	@echo "make venv      create .venv from the locked requirements-dev.txt"
	@echo "make lock      pin the runtime (requirements.txt) and development (requirements-dev.txt) environments again"
	@echo "make test      lint, type check and tests (no Pulumi CLI or cluster needed): make lint, make typecheck, make unit"
	@echo "make bench     time and memory of evaluating the program, 1 to 200 apps"
	@echo "make bench-engine [RUNS=5]  cutover times through pulumi, bgctl and kubectl on the real node (make cluster NODE=real first)"
	@echo "               SCALE=1,10,50: instead, no-change pulumi preview and up with that many apps [RUNS=3], per added app"
	@echo "make policies-shared  copy the names and image grammar the policy pack checks against into it"
	@echo "make toolchain build (or reuse) the Pulumi CLI, YAML host, Kubernetes provider and control plane from Go modules"
	@echo "               NODE=real: and the real node's parts (containerd, runc, CNI, kubelet, kube-proxy, kube-router, CoreDNS)"
	@echo "make cluster   start a local cluster (kwok, 2 simulated nodes, 127.0.0.1 only); make cluster-down stops it"
	@echo "               NODE=real: one real node in namespaces of its own (Linux, root): containers run, Services answer"
	@echo "make e2e       the Python program, bgctl and the YAML package through the real CLI on a fresh real node"
	@echo "               (NODE=kwok: on kwok, without the real-node scenarios)"

BGCTL := $(VENV)/bin/bgctl

# The locked development environment: the package (editable, for the bgctl console script) and its dev tools.
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Pin the whole environment again from pyproject.toml's ranges (uv), runtime and development apart.
lock: venv
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 pyproject.toml requirements.in -o requirements.txt
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 requirements-dev.in -o requirements-dev.txt

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest -q

test: lint typecheck unit

stack:
	@mkdir -p .pulumi
	pulumi stack select --create $(STACK) --non-interactive

# --refresh: what was changed by hand in the cluster (a selector, a replica count) shows in the plan and is put back.
up: stack venv
	pulumi up --stack $(STACK) --refresh --diff $(POLICY_FLAGS)$(if $(YES), --yes)

# With COLOR, a cutover preview that refuses anything but selector and replica changes; without, the plain diff.
preview: stack venv
	$(if $(COLOR),$(BGCTL) preview $(COLOR) $(BGCTL_OPTS) $(BGCTL_POLICY),pulumi preview --stack $(STACK) --refresh --diff $(POLICY_FLAGS))

status: venv
	$(BGCTL) status $(BGCTL_OPTS)

history: venv
	$(BGCTL) history $(BGCTL_OPTS)

# The idle color gets IMAGE as VERSION (traffic untouched); PROMOTE=1 then cuts over, verification and switch back included.
release: venv
	$(if $(and $(IMAGE),$(VERSION)),,$(error IMAGE and VERSION are required: make release IMAGE=repo:tag VERSION=1.3))
	$(BGCTL) release --image $(IMAGE) --version $(VERSION) $(BGCTL_OPTS) $(BGCTL_POLICY)$(if $(PROMOTE), --promote)$(if $(NO_SWITCH_BACK), --no-switch-back)$(if $(YES), --yes)

cutover: venv
	$(if $(COLOR),,$(error COLOR is required: make cutover COLOR=green))
	$(BGCTL) cutover $(COLOR) $(BGCTL_OPTS) $(BGCTL_POLICY)$(if $(NO_SWITCH_BACK), --no-switch-back)$(if $(YES), --yes)

rollback: venv
	$(BGCTL) rollback $(BGCTL_OPTS) $(BGCTL_POLICY)$(if $(TO_VERSION), --to-version $(TO_VERSION))$(if $(NOW), --now)$(if $(YES), --yes)

recover: venv
	$(BGCTL) recover $(BGCTL_OPTS) $(BGCTL_POLICY)$(if $(YES), --yes)

# The policy pack is published alone, so it carries a copy of the program's names and image grammar;
# a test keeps the copies equal to the originals.
SHARED_HEADER = \# Copied from $(1) by `make policies-shared`: edit the original, then run it again.
policies-shared:
	{ echo '$(call SHARED_HEADER,bluegreen/naming.py)'; cat bluegreen/naming.py; } > policies/bluegreen_policies/naming.py
	{ echo '$(call SHARED_HEADER,bluegreen/config/grammar.py)'; \
		sed 's/^from bluegreen import naming$$/from bluegreen_policies import naming/' bluegreen/config/grammar.py; } \
		> policies/bluegreen_policies/grammar.py

# Silent: the output is YAML alone, so `make render > objects.yaml` works.
render: venv
	@$(BGCTL) render --stack $(STACK)

# The active Service and the namespace are protected (deleting them ends every client's name), so the
# tear-down lifts the protection, after one confirmation, then destroys everything of the stack.
CONFIRM_DESTROY = read -r -p "Destroy every resource of stack $(STACK), the protected Service and namespace included? [y/N] " \
	answer && { [ "$$answer" = y ] || [ "$$answer" = yes ]; } || { echo "nothing destroyed" >&2; exit 1; }
destroy: stack
	@$(if $(YES),true,$(CONFIRM_DESTROY))
	pulumi state unprotect --all --yes --stack $(STACK)
	pulumi destroy --yes --stack $(STACK)

bench: venv
	$(PY) -m bench.run

# Not `kubectl run -i`: a client that ends before kubectl attaches gets its answers printed twice.
smoke:
	@kubectl run $(SMOKE_POD) --namespace $(NAMESPACE) --restart=Never --image=$(SMOKE_IMAGE) \
		--overrides='$(SMOKE_OVERRIDES)' >/dev/null
	@phase=; for i in $$(seq $(SMOKE_TIMEOUT)); do \
		phase=$$(kubectl get pod $(SMOKE_POD) --namespace $(NAMESPACE) -o jsonpath='{.status.phase}'); \
		case "$$phase" in Succeeded|Failed) break;; esac; sleep 1; done; \
	kubectl logs $(SMOKE_POD) --namespace $(NAMESPACE); \
	kubectl delete pod $(SMOKE_POD) --namespace $(NAMESPACE) --wait=false >/dev/null; \
	test "$$phase" = Succeeded || { echo "smoke: pod $(SMOKE_POD) $${phase:-did not end within $(SMOKE_TIMEOUT) s}" >&2; exit 1; }

# The real engine, built from Go modules (pins in e2e/versions.toml) and cached outside the checkout.
# NODE=real: one real node (containers run; Linux and root) instead of kwok's simulated ones.
NODE_KIND = $(or $(NODE),kwok)
e2e: NODE_KIND = $(or $(NODE),real)
toolchain: venv
	$(PY) -m e2e.toolchain$(if $(filter real,$(NODE_KIND)), --node)

cluster: toolchain
	$(PY) -m e2e.cluster up --node $(NODE_KIND)

cluster-down: venv
	$(PY) -m e2e.cluster down

# A fresh cluster for every run, stopped whatever the outcome (an interrupt included); a stop that
# finds the machine changed fails the run.
e2e: toolchain
	$(PY) -m e2e.cluster down
	trap 'rc=$$?; $(PY) -m e2e.cluster down || rc=1; exit $$rc' EXIT; \
		$(PY) -m e2e.cluster up --node $(NODE_KIND) && BLUEGREEN_E2E_REQUIRED=1 $(VENV)/bin/pytest e2e -v -s

# Needs the real node: make cluster NODE=real first. Cuts over on a copy of the checkout, then destroys its stack.
# SCALE=1,10,50: times no-change previews and ups of a stack grown through those app counts instead.
.PHONY: bench-engine
bench-engine: venv
	$(PY) -m $(if $(SCALE),bench.engine_scale --scale $(SCALE),bench.engine)$(if $(RUNS), --runs $(RUNS))
