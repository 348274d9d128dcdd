# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test deps test-deps lint bench

deps:
	bash scripts/install-deps.sh cli

test-deps:
	bash scripts/install-deps.sh cli,test

## run: install what is missing, then start the whole cloud in the foreground
run: deps
	$(VENV)/bin/nimbus up $(ARGS)

lint: test-deps
	$(VENV)/bin/ruff check nimbus tests bench

## test: install what is missing, then lint and run every test
test: test-deps lint
	bash scripts/services.sh
	$(VENV)/bin/pytest -q -ra $(PYTEST_ARGS)

bench: deps
	$(PY) bench/identity.py
	$(PY) bench/placement.py
	$(PY) bench/qemu.py
	$(PY) bench/network.py
