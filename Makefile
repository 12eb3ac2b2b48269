# OpenEnv — one entry point for set-up, checks, tests and the main job.
# Every target creates what it needs; nothing is installed by hand.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LEGACY_VENV := .venv-openenv010
COMPAT_VENV := .venv-compat
REPORT_DIR ?= reports

.PHONY: all venv venv-openenv010 venv-train test-train venv-compat browser check lint typecheck codegen test certify docs bench dist clean venv-ray test-ray

all: test

$(BIN)/.stamp: requirements/dev.txt python-sdk/pyproject.toml conformance/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e python-sdk -e conformance
	touch $@

venv: $(BIN)/.stamp

$(LEGACY_VENV)/bin/.stamp: requirements/openenv010.txt
	$(PY) -m venv $(LEGACY_VENV)
	$(LEGACY_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/openenv010.txt
	touch $@

venv-openenv010: $(LEGACY_VENV)/bin/.stamp

## The training stack (CPU torch from requirements/train.txt, TRL, transformers) for test-train.
TRAIN_VENV := .venv-train
$(TRAIN_VENV)/bin/.stamp: requirements/train.txt python-sdk/pyproject.toml
	$(PY) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/train.txt
	$(TRAIN_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e python-sdk
	touch $@

venv-train: $(TRAIN_VENV)/bin/.stamp

## A real GRPO run with TRL on the CPU against an environment server (about 1 min once installed).
test-train: venv-train
	$(TRAIN_VENV)/bin/python -m pytest -q python-sdk/tests/integrations

## Our runtime installed next to what 0.10-era environment packages bring (fastmcp pins mcp<2):
## interop/ runs those environments, unchanged, on our runtime from here.
$(COMPAT_VENV)/bin/.stamp: requirements/compat.txt python-sdk/pyproject.toml
	$(PY) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/compat.txt
	$(COMPAT_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e python-sdk
	touch $@

venv-compat: $(COMPAT_VENV)/bin/.stamp

RAY_VENV := .venv-ray
$(RAY_VENV)/bin/.stamp: requirements/ray.txt python-sdk/pyproject.toml
	$(PY) -m venv $(RAY_VENV)
	$(RAY_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/ray.txt
	$(RAY_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e python-sdk
	touch $@

venv-ray: $(RAY_VENV)/bin/.stamp

## Environment pools on a real local two-node Ray cluster (its own venv: Ray is large).
test-ray: venv-ray
	OPENENV_REQUIRE_RAY=1 $(RAY_VENV)/bin/python -m pytest -q python-sdk/tests/providers/test_ray.py

## Headless Chromium (Debian's package) for the tests that render the HTML report.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

## Checks: source of truth valid, generated artefacts fresh, code linted and typed.
check: venv
	$(BIN)/python tools/check_all.py

codegen: venv
	$(BIN)/python tools/codegen.py

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

## The README's test command: every check and every test; branch coverage of the SDK and the harness
## with the floor in pyproject.toml ([tool.coverage.report] fail_under: what the suite reaches).
test: venv venv-openenv010 venv-compat browser check lint typecheck
	$(BIN)/python -m pytest -q --cov --cov-report=term
	$(MAKE) test-ray
	$(MAKE) test-train

## The main job: start a reference server locally and certify it.
certify: venv
	$(BIN)/python tools/certify.py --report-dir $(REPORT_DIR)

## Wheels and sdists of both packages in dist/ (package data checked fresh first).
dist: venv
	$(BIN)/python tools/package_data.py --check
	rm -rf dist python-sdk/build conformance/build
	$(BIN)/python -m build --no-isolation --outdir dist python-sdk
	$(BIN)/python -m build --no-isolation --outdir dist conformance
	@ls -l dist

## The documentation site in site/: certifies every implementation afresh for the results matrix
## (minutes), rewrites every generated page (RFC index, wire reference, benchmark chart), then
## builds strictly. `make check` only checks that the committed pages are fresh.
docs: venv venv-openenv010
	$(BIN)/python tools/results_matrix.py --run
	$(BIN)/python tools/rfc_index.py
	$(BIN)/python tools/wire_reference.py
	$(BIN)/python tools/bench_chart.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

bench: venv venv-openenv010
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(LEGACY_VENV) $(TRAIN_VENV) $(RAY_VENV) $(COMPAT_VENV) site dist $(REPORT_DIR)
