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

.PHONY: help venv test lint typecheck unit up preview stack bench smoke
help:
	@echo "make up        create the venv and the $(STACK) stack if missing, then pulumi up (current kube context)"
	@echo "make preview   pulumi preview --diff of the $(STACK) stack"
	@echo "make test      lint, type check and tests (no Pulumi CLI or cluster needed)"

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
