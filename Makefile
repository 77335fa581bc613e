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

.PHONY: demo test lint typecheck unit bench install install-runtime clean

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

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache nexus.db
