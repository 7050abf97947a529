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

# The demo serves on 127.0.0.1 and ::1, port $(PORT); its configuration is copied from etc/demo
# into $(STATE)/etc with that port.
PORT ?= 3493

demo: install
	@$(PY) -c 'import socket as S; s = S.socket(); s.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1); s.bind(("127.0.0.1", $(PORT)))' 2>/dev/null || { \
	  echo "nutwist demo: 127.0.0.1 port $(PORT) is taken (NUT's own upsd listens there on a machine with NUT)."; \
	  echo "  Run the demo on another port: make demo PORT=$$(($(PORT) + 1))"; exit 1; }
	mkdir -p $(STATE)/etc
	cp etc/demo/nut.conf etc/demo/ups.conf etc/demo/demo.seq etc/demo/upsd.users etc/demo/upsmon.conf $(STATE)/etc/
	sed 's/ 3493$$/ $(PORT)/' etc/demo/upsd.conf > $(STATE)/etc/upsd.conf
	sed -i 's/^MONITOR demo@localhost /MONITOR demo@localhost:$(PORT) /' $(STATE)/etc/upsmon.conf
	chmod 600 $(STATE)/etc/upsd.users $(STATE)/etc/upsmon.conf
	@echo "nutwist demo: simulated UPS 'demo' (etc/demo/demo.seq) served on 127.0.0.1:$(PORT),"
	@echo "  watched by upsmon as its primary. Every 75 s round: on battery, battery low, on line."
	@echo "  The low battery lasts 15 s, less than the demo's OBLBDURATION 30, so upsmon never shuts"
	@echo "  down (its SHUTDOWNCMD would only print). Watch it:  .venv/bin/upsc demo@127.0.0.1:$(PORT)"
	@$(VENV)/bin/twistd --pidfile= -n nut standalone --confdir $(STATE)/etc --statepath $(STATE) || { \
	  rc=$$?; echo "nutwist demo: stopped with status $$rc (see the lines above);" \
	  "if port $(PORT) is taken, run: make demo PORT=$$(($(PORT) + 1))"; exit $$rc; }

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
