# PM Document Intelligence: `make run` and `make test` are all a new machine needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto')
export PYTHONPATH := $(CURDIR):$(CURDIR)/gen
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-fast lint fmt proto bench clean venv schema

venv: $(STAMP)

# torch first: the CPU build lies on local disk; letting pip resolve it later pulls a CUDA build.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[embeddings,dev,bench]'
	touch $(STAMP)

proto: gen/.stamp

gen/.stamp: $(PROTOS) $(STAMP)
	rm -rf gen && mkdir -p gen
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=gen --pyi_out=gen --grpc_python_out=gen $(PROTOS)
	find gen/pmdi -type d -exec touch {}/__init__.py \;
	touch gen/.stamp

run: proto
	$(BIN)/python -m services.launcher run

test: proto
	$(BIN)/python -m pytest -q

test-fast: proto
	$(BIN)/python -m pytest -q -m "not heavy"

lint: proto
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy conftest.py services tests bench

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: proto
	$(BIN)/python bench/gateway_load.py

clean:
	rm -rf gen .pmdi

schema: proto
	$(BIN)/python -c "from services.gateway.schema import build_schema; from services.gateway.settings import GatewaySettings; print(build_schema(GatewaySettings()).as_str().strip())" > services/gateway/schema.graphql
