# Developer commands. `make run` and `make test` need only Python 3.11+ to start with.
SHELL := /bin/bash
UV_VERSION := 0.9.30
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen --no-sync
# Where scripts/tools.py puts the tools no wheel carries (docker-compose, promtool, prometheus).
TOOLS_BIN := $(CURDIR)/.tools/bin
ROLE ?= viewer
PYTEST_ARGS ?=
# Most tests wait on real processes (visibility timeouts, restarts), so three pytest workers
# keep two cores busy; a file stays on one worker, sharing its module fixtures.
PYTEST_PARALLEL := -n 3 --dist loadfile

.PHONY: run test test-fast chaos tools lint format sync token bench help web-client

help:
	@echo "make run        the whole platform as local processes (Ctrl-C stops it)"
	@echo "make test       every suite, lint and type checks"
	@echo "make test-fast  the same without the slow system and fault tests"
	@echo "make chaos      the fault suite alone: processes killed and stopped mid-work"
	@echo "make tools      the command-line tools the tests run, into .tools/bin"
	@echo "make token ROLE=admin   a bearer token for local use"
	@echo "make bench      the benchmarks"
	@echo "make web-client the console's typed client, from the services' OpenAPI documents"

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools && $(CURDIR)/.tools/bin/pip install --quiet uv==$(UV_VERSION) \
	  || { rm -rf $(CURDIR)/.tools; python3 -m pip install --quiet --target $(CURDIR)/.tools/lib uv==$(UV_VERSION) \
	       && mkdir -p $(CURDIR)/.tools/bin && ln -sf $(CURDIR)/.tools/lib/bin/uv $(CURDIR)/.tools/bin/uv; }

sync: $(UV)
	$(UV) sync --frozen --all-packages

run: sync
	$(RUN) python scripts/run.py

tools: sync
	$(RUN) python scripts/tools.py $(UV)

token: sync
	@eval "$$($(RUN) python scripts/devenv.py)" && $(RUN) python -m sdp_api.token --role $(ROLE)

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy libs/*/src services/*/src scripts libs/*/tests services/*/tests tests
	$(RUN) python scripts/web.py lint

format: sync
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# The console's unit tests (vitest), then its browser tests (Playwright in Debian's chromium)
# against the platform started as `make run` starts it.
test: tools lint
	PATH="$(TOOLS_BIN):$$PATH" $(RUN) pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)
	$(RUN) python scripts/web.py test
	PATH="$(TOOLS_BIN):$$PATH" $(RUN) python scripts/web.py e2e

test-fast: tools lint
	PATH="$(TOOLS_BIN):$$PATH" $(RUN) pytest $(PYTEST_PARALLEL) -m "not slow" $(PYTEST_ARGS)
	$(RUN) python scripts/web.py test

# The fault suite (tests/chaos, marked chaos and slow): `make test` runs it too.
chaos: tools
	PATH="$(TOOLS_BIN):$$PATH" $(RUN) pytest $(PYTEST_PARALLEL) -m chaos $(PYTEST_ARGS)

web-client: sync
	$(RUN) python scripts/web.py client

# The bench group (celery-redbeat, for comparison) is installed here only; `make sync` and
# `make test` leave it out again.
bench: $(UV)
	$(UV) sync --frozen --all-packages --group bench
	$(RUN) python bench/beat.py
	$(RUN) python bench/api.py
	$(RUN) python bench/monitor.py
	$(RUN) python bench/web.py
