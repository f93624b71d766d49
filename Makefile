# The two commands a newcomer needs are `make demo` and `make test`; both build their
# environments from the locked requirements on first use.
PYTHON ?= python3.11
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
WEB_UI := functions/web_ui/static/index.html
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -type f -print 2>/dev/null)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: test demo local web browser lint typecheck lint-infra pytest test-inprocess test-e2e fuzz bench openapi lock clean

# Every check and test, three at a time once the environments exist: the end-to-end tests
# mostly wait on runs, and the others use the cores meanwhile (on a fresh 2-core machine
# about 9 minutes in all, where one after the other took 10½). Each part's output is
# printed whole when it ends; make fails when any part does.
test:
	@echo "make test: the end-to-end tests, the other tests and the checks side by side;"
	@echo "each part's output appears when that part ends."
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target test-e2e test-inprocess lint typecheck lint-infra

# The local platform, the reference run-task service, and a run through all four stages.
demo: $(VENV)/.installed $(WEB_UI)
	$(PY) -m local.demo

# The platform on 127.0.0.1:8080 (or PORT=...) until Ctrl-C; it prints IACP_URL and IACP_TOKEN,
# and serves the web UI at its root.
local: $(VENV)/.installed $(WEB_UI)
	$(PY) -m local.server

# --- the web UI -------------------------------------------------------------------------
# Built once, from the locked npm dependencies, into the function that serves it
# (functions/web_ui/static, where `sam build` finds it too): docs/web-ui.md.
web: $(WEB_UI)

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

$(WEB_UI): web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run --silent build

# Debian's chromium, which the browser tests (tests/e2e/test_web_ui.py) drive with
# Playwright: Playwright's own browser download cannot work here.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser: /usr/bin/chromium
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null

# --- environments -----------------------------------------------------------------------
# pip installs uv (requirements/bootstrap.txt), and uv the locked rest, hashes checked.
UV_INSTALL = $(VENV)/bin/uv pip install --quiet --require-hashes --no-deps
$(VENV)/.installed: requirements/bootstrap.txt requirements/dev.txt layers/common/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/bootstrap.txt
	$(UV_INSTALL) --python $(PY) -r requirements/dev.txt
	$(VENV)/bin/uv pip install --quiet --no-deps --no-build-isolation --python $(PY) -e .
	touch $@

$(TOOLS)/.installed: requirements/tools.txt $(VENV)/.installed
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(UV_INSTALL) --python $(TOOLS)/bin/python -r requirements/tools.txt
	touch $@

# --- checks -----------------------------------------------------------------------------
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

lint-infra: $(TOOLS)/.installed
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --region us-east-1 --template-file template.yaml
	@asl=$$(find statemachine -name '*.asl.json' 2>/dev/null); \
	if [ -z "$$asl" ]; then echo "statelint: no ASL files under statemachine/ yet"; \
	else for f in $$asl; do echo "statelint $$f"; $(TOOLS)/bin/statelint $$f || exit 1; done; fi

# Two runs: the end-to-end tests run the platform against a moto server, the others mock AWS
# inside the process (see tests/e2e/conftest.py). Each spreads its tests over worker
# processes (pytest-xdist): one per core for the others; two for the end-to-end tests, each
# with a whole local platform of its own, a test module staying on one worker.
pytest: test-inprocess test-e2e

test-inprocess: $(VENV)/.installed
	$(VENV)/bin/pytest -n auto --durations=15

test-e2e: $(VENV)/.installed $(WEB_UI) /usr/bin/chromium
	IACP_E2E=1 $(VENV)/bin/pytest -n 2 --dist loadfile --durations=15 tests/e2e

# The schema fuzzer alone (tests/fuzz, which `make test` runs too), with twenty times the
# examples per operation.
fuzz: $(VENV)/.installed
	IACP_FUZZ_SCALE=20 $(VENV)/bin/pytest tests/fuzz

bench: $(VENV)/.installed
	$(PY) bench/run_overhead.py
	$(PY) bench/runtask_stage.py
	$(PY) bench/cold_starts.py
	$(PY) bench/cost.py

# --- maintenance ------------------------------------------------------------------------
openapi: $(VENV)/.installed
	$(PY) -m iacp.api > docs/openapi.json

lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes requirements/bootstrap.in -o requirements/bootstrap.txt
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes layers/common/requirements.in -o layers/common/requirements.txt
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes -c layers/common/requirements.txt requirements/dev.in -o requirements/dev.txt
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes requirements/tools.in -o requirements/tools.txt
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes -c layers/common/requirements.txt runner/requirements.in -o runner/requirements.txt

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache .aws-sam web/node_modules functions/web_ui/static
