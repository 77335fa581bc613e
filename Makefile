# The two commands a fresh machine needs: `make demo` and `make test`. Each sets itself up.
#
# The virtualenv is filled by uv (installed into the venv by pip first; it installs the rest in parallel, in
# seconds). `make demo INSTALLER=pip` does everything with pip alone. `make demo` installs only what NEXUS
# needs to run; `make test` adds the dev tools.
PYTHON ?= python3
VENV ?= .venv
INSTALLER ?= uv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

LOWEST ?= .venv-lowest

ifeq ($(INSTALLER),uv)
# uv verifies downloads against the system's certificates, as pip does here.
INSTALL = UV_NATIVE_TLS=1 $(BIN)/uv pip install --quiet --python $(BIN)/python
INSTALLER_READY := $(BIN)/uv
else ifeq ($(INSTALLER),pip)
INSTALL = $(BIN)/python -m pip install --quiet
INSTALLER_READY := $(BIN)/python
else
$(error INSTALLER must be uv or pip, not $(INSTALLER))
endif

.PHONY: demo test lint typecheck unit bench install install-runtime clean lowest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv

$(RUNTIME_STAMP): pyproject.toml | $(INSTALLER_READY)
	$(INSTALL) -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(INSTALLER_READY)
	$(INSTALL) -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

install: $(DEV_STAMP)

install-runtime: $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/nexus demo --book $(ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/pytest -q tests/unit

test: lint typecheck
	$(BIN)/pytest -q

# The lower bounds in pyproject.toml, proven: a second venv with the lowest allowed version of every direct
# dependency (uv's lowest-direct resolution; uv is installed into that venv with pip), unit and integration tests,
# bounded in time so that a hang fails the run instead of eating CI's budget.
lowest:
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet uv
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[dev]'
	timeout 900 $(LOWEST)/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/integration

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(LOWEST) .pytest_cache .mypy_cache .ruff_cache nexus.db
