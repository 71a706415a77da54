# `make dev` sets everything up and runs the whole stack; `make test` sets up and runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: dev test bench install clean web web-test chromium

# The web app (designer/): `npm ci` from the lockfile once (stamped), `npm run build` when sources change.
NPM ?= npm
WEB_STAMP = designer/node_modules/.npm-ci-stamp
WEB_SOURCES = $(shell find designer/src -type f 2>/dev/null) designer/index.html designer/vite.config.ts designer/package.json
NODE_OK = command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'

$(WEB_STAMP): designer/package-lock.json
	cd designer && $(NPM) ci --no-audit --no-fund
	touch $@

designer/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd designer && $(NPM) run build

web:
	@if $(NODE_OK); then $(MAKE) --no-print-directory designer/dist/index.html; \
	else echo "*** Node.js 20+ was not found: the web app is NOT built (the API still starts). Install Node 20+ and run make dev again. ***"; fi

web-test: $(WEB_STAMP) designer/dist/index.html
	cd designer && $(NPM) test

# Test peers from Debian's packages, installed when missing (as root with apt-get): Chromium for the browser
# tests (tests/e2e; Playwright's own browser download is not used) and Dovecot for the email.read tests.
CHROMIUM ?= /usr/bin/chromium
APT_PEERS := $(if $(wildcard $(CHROMIUM)),,chromium) $(if $(wildcard /usr/sbin/dovecot),,dovecot-imapd)
chromium:
	@test -z "$(strip $(APT_PEERS))" || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PEERS) >/dev/null; } || \
	  echo "*** missing: apt-get install -y $(APT_PEERS) (needed by tests/e2e and the email.read tests) ***"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP) web
	$(BIN)/wfo dev

test: $(STAMP) web-test chromium
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/interpreter_overhead.py

clean:
	rm -rf $(VENV) .wfo designer/node_modules designer/dist
