# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench schema messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Serve the hub with embedded defaults (SQLite + ./var/blobs), demo data, GraphiQL and the console.
run: $(STAMP)
	HUB_ENVIRONMENT=demo $(BIN)/hub db upgrade
	HUB_ENVIRONMENT=demo $(BIN)/hub demo --if-empty
	HUB_ENVIRONMENT=demo $(BIN)/hub serve --print-demo-tokens

## Lint, format, types and import contracts: fast failures first (docs/architecture.md).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The Node webhook receiver's npm packages (tests/webhooks/node_receiver), installed from its lock file.
NODE_RECEIVER := tests/webhooks/node_receiver
$(NODE_RECEIVER)/node_modules/.package-lock.json: $(NODE_RECEIVER)/package-lock.json
	npm ci --prefix $(NODE_RECEIVER) --no-audit --no-fund

## Everything CI runs: the checks above, then the whole test suite on SQLite and PostgreSQL.
test: lint $(NODE_RECEIVER)/node_modules/.package-lock.json
	$(BIN)/python -m pytest

## Benchmarks: a quick summary of the headline ratios (`python -m bench --all`: every benchmark in full; docs/performance.md).
bench: $(STAMP)
	$(BIN)/python -m bench

## Re-export schema/schema.graphql after changing the GraphQL types.
schema: $(STAMP)
	$(BIN)/hub schema export

## Compile the console's catalogues (.po, which you edit) into the .mo files it loads.
messages: $(STAMP)
	$(BIN)/pybabel compile --statistics -d console/locale -D console

clean:
	rm -rf $(VENV) var .pytest_cache
