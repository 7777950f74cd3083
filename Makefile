# Shequ: `make demo` runs the platform with demo data; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SHEQU_DEMO ?= 1

.PHONY: demo test setup setup-dev serve worker lint typecheck format lock messages ci clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(BIN)/pip install -q -r requirements-dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.runtime node_modules/.installed

setup-dev: $(VENV)/.dev node_modules/.installed

# The demo also simulates the demo street's devices (`shequ serve --with-devices`; docs/iot.md):
# `make demo SHEQU_DEMO_DEVICES=0` leaves them out.
demo: export SHEQU_DEMO_DEVICES ?= 1
demo: setup
	$(BIN)/shequ demo

serve: setup
	$(BIN)/shequ serve --with-worker

worker: setup
	$(BIN)/shequ worker

test: setup-dev
	SHEQU_DEMO=0 $(BIN)/pytest -q -n 2

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: setup-dev
	$(BIN)/mypy shequ

messages: setup-dev
	$(BIN)/shequ makemessages -l zh_Hans --no-obsolete --no-location --ignore=.venv --ignore=node_modules
	$(BIN)/shequ compilemessages -l zh_Hans --ignore=.venv --ignore=node_modules

# Re-pin Python dependencies after editing pyproject.toml.
lock: $(BIN)/python
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile -q --extra dev --strip-extras --no-emit-index-url --no-emit-find-links -o requirements-dev.lock pyproject.toml

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) node_modules var
