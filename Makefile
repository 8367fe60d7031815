# egress-guard developer tasks. A fresh machine needs only python3 (3.11+) and make:
# every target installs what it uses. `make help` lists them.
#
#   .venv        the project, editable, with the dev extras (pyproject.toml pins all);
#                `make demo` / `make try` alone install only the light demo extra there
#   .venv-tools  aws-sam-cli and checkov, each in a venv of its own (scripts/bootstrap.py),
#                linked into .venv-tools/bin/: their pins clash with the project's and
#                with each other's

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
TOOLS_STAMP := $(TOOLS)/.installed

# pytest-xdist workers: `auto` (one per core), or 0 to run in this process.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Tool paths for scripts/check-template.sh and scripts/sam-build.sh (override to taste).
export SAM ?= $(CURDIR)/$(TOOLS)/bin/sam
export CHECKOV ?= $(CURDIR)/$(TOOLS)/bin/checkov
export CFN_LINT ?= $(CURDIR)/$(BIN)/cfn-lint
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venvs .venv .venv-tools test lint typecheck template pytest fast unit integration \
	demo try build bench clean distclean

help:
	@echo "make test          everything CI runs: lint, typecheck, template, pytest"
	@echo "make lint          ruff check + ruff format --check"
	@echo "make typecheck     mypy --strict on src/"
	@echo "make template      scripts/check-template.sh (sam validate, cfn-lint, checkov)"
	@echo "make pytest        the whole test suite (PYTEST_WORKERS=auto, PYTEST_ARGS=...)"
	@echo "make fast          the in-process tests: no emulator, nothing marked slow (< 1 min)"
	@echo "make unit          tests/unit"
	@echo "make integration   tests/integration (against moto's server)"
	@echo "make demo          remediate an offending rule in a local EC2 emulator"
	@echo "make try           every sample of events/ through egress-guard invoke, one line each"
	@echo "make build         sam build (scripts/sam-build.sh)"
	@echo "make bench         benchmarks/run.py"
	@echo "make src/requirements.txt   regenerate the Lambda requirements from pyproject.toml"
	@echo "make .venv / .venv-tools    (re)install the venvs; make venvs: both"
	@echo "make clean         caches and build output; make distclean: the venvs too"

# ---------------------------------------------------------------- environments

venvs: .venv .venv-tools
.venv: $(STAMP)
.venv-tools: $(TOOLS_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "egress-guard needs Python 3.11+; $(PYTHON) is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

$(TOOLS_STAMP): pyproject.toml scripts/bootstrap.py
	$(PYTHON) scripts/bootstrap.py tools $(TOOLS)
	touch $@

# The demo's venv: the project and the demo extra only (moto, awscli), no test tool chain.
# Where .venv is already complete (make test made it), nothing more to install.
$(DEMO_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "egress-guard needs Python 3.11+; $(PYTHON) is " + sys.version.split()[0])'
	if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then :; else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --upgrade pip && \
		$(BIN)/python -m pip install -e '.[demo]'; fi
	touch $@

src/requirements.txt: pyproject.toml scripts/gen-requirements.py
	$(PYTHON) scripts/gen-requirements.py
	touch $@

# ---------------------------------------------------------------- checks

# Each check runs even when one before it failed under `make -k test` (as CI does).
test: lint typecheck template pytest

# ruff skips what .gitignore names only inside a git work tree; say it for other copies.
RUFF_EXCLUDE := --extend-exclude $(TOOLS),.aws-sam,build

lint: $(STAMP)
	$(BIN)/ruff check $(RUFF_EXCLUDE) .
	$(BIN)/ruff format --check $(RUFF_EXCLUDE) .

typecheck: $(STAMP)
	$(BIN)/mypy

template: $(STAMP) $(TOOLS_STAMP)
	bash scripts/check-template.sh

pytest: $(STAMP)
	$(PYTEST) --durations=10

# What a developer runs between edits; `make test` (and `make pytest`) still run the slow ones.
fast: $(STAMP)
	$(PYTEST) -m "not slow and not integration"

unit: $(STAMP)
	$(PYTEST) tests/unit

integration: $(STAMP)
	$(PYTEST) tests/integration

# ---------------------------------------------------------------- running

demo: $(DEMO_STAMP)
	$(BIN)/python scripts/demo.py

try: $(DEMO_STAMP)
	$(BIN)/python scripts/demo.py --every-sample

build: $(TOOLS_STAMP) src/requirements.txt
	bash scripts/sam-build.sh

# .venv-tools for the package figure (sam build); benchmarks/README.md says what it prints.
bench: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf .aws-sam build dist .bench .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf src/*.egg-info
	find . -path ./$(VENV) -prune -o -path ./$(TOOLS) -prune -o \
		-name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(TOOLS)
