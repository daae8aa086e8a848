# Every target sets itself up on a fresh machine: it creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_PORT ?= 8000

.PHONY: demo test lint docs bench soak matrix clean js-tools js-types

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,redis,docs,server]"
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	cd sample_site && ../$(PY) manage.py migrate --noinput -v 0
	cd sample_site && ../$(PY) manage.py seed_demo --url http://127.0.0.1:$(DEMO_PORT)/
	cd sample_site && ../$(PY) manage.py runserver 127.0.0.1:$(DEMO_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

docs: $(STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

test: lint docs js-tools
	$(VENV)/bin/pytest --cov --cov-report=term $(PYTEST_ARGS)

# The bench extra (channelsmultiplexer, pyinstrument) on top of the usual set-up.
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[test,redis,docs,server,bench]"
	rm -f $(VENV)/.bench-*
	touch $@

bench: $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# Load, faults and hostile input against real servers and redis-server (bench/soak.py);
# not part of `make test`. SOAK_ARGS=--quick for a tenth of it.
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_ARGS)

# Every other supported Python x Django pair, with nox (noxfile.py); `make test` runs the
# default one. Its venvs are kept in .nox/ and reused.
MATRIX_STAMP := $(VENV)/.matrix-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(MATRIX_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[test,redis,docs,server,matrix]"
	rm -f $(VENV)/.matrix-*
	touch $@

matrix: $(MATRIX_STAMP)
	$(VENV)/bin/nox $(NOX_ARGS)

clean:
	rm -rf $(VENV) .nox .node docs/_build .pytest_cache .mypy_cache .ruff_cache .coverage

# TypeScript 5 in .node/ for tests/test_js_types.py, which type-checks
# websocketbridge.d.ts and .d.mts (and skips without it). Without npm, or when the
# install fails, `make test` goes on and that one test is skipped.
js-tools:
	@if command -v npm >/dev/null && ! test -x .node/node_modules/.bin/tsc; then \
		npm install --prefix .node --no-save --no-audit --no-fund typescript@5 \
		|| echo "TypeScript not installed: tests/test_js_types.py skips its type check"; \
	fi

js-types: js-tools
	.node/node_modules/.bin/tsc -p tests/js
