# nutwist: `make demo` runs the simulated demo, `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STATE ?= $(CURDIR)/run/demo

.PHONY: demo test lint typecheck bench clean install

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, apt-get install python3-venv"; exit 1; }
	$(PIP) install -q --upgrade pip

$(VENV)/.deps: pyproject.toml setup.cfg | $(VENV)/bin/python
	$(PIP) install -q '.[dev]'
	touch $@

# A regular (not editable) install: twistd only finds the plugins of an installed copy.
install: $(VENV)/.deps
	$(PIP) install -q --no-deps --force-reinstall .

demo: install
	mkdir -p $(STATE)
	chmod 600 etc/demo/upsd.users etc/demo/upsmon.conf
	@echo "nutwist demo: simulated UPS 'demo' (etc/demo/demo.seq) served on 127.0.0.1:3493,"
	@echo "  watched by upsmon as its primary (SHUTDOWNCMD only prints; nothing shuts down)"
	@echo "  watch it:  .venv/bin/upsc demo@127.0.0.1   (or NUT's upsc, or any NUT client)"
	$(VENV)/bin/twistd --pidfile= -n nut standalone --confdir etc/demo --statepath $(STATE)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.deps
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info run .pytest_cache .mypy_cache .ruff_cache
