# Two entry points: `make lab` sets up .venv and opens the course; `make test` sets up and runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# `make lab PORT=9000 NO_BROWSER=1`, `make voila LESSON=05 PORT=9001`: a port of your choice, no browser window.
PORT ?=
NO_BROWSER ?=
SERVE_ARGS = $(if $(PORT),--port $(PORT))

.PHONY: lab test setup bench execute release slides site voila clean

# Programs run from .venv/bin by path: nothing needs the environment activated or on PATH.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[present]"
	touch $@

# The test tools on top (pytest, hypothesis, playwright). PyTorch stays optional: `.venv/bin/pip install
# torch==2.13.0` adds the comparisons with it (.ci/run does).
$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

lab: setup
	$(VENV)/bin/dlteach lab $(SERVE_ARGS) $(if $(NO_BROWSER),--no-browser)

test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(PY) -m bench

# `make execute` re-runs lessons/ and solutions/ in place; `make release` regenerates exercises/ from solutions/.
execute: setup
	$(VENV)/bin/dlteach execute

release: setup
	$(VENV)/bin/dlteach release

# Presenting, no kernel and no network needed to show them: offline reveal.js decks, a static site,
# and one lesson served live with Voila (`make voila LESSON=05`).
slides: setup
	$(VENV)/bin/dlteach slides

site: setup
	$(VENV)/bin/dlteach site

LESSON ?= 00
voila: setup
	$(VENV)/bin/dlteach voila $(LESSON) $(SERVE_ARGS)

clean:
	rm -rf $(VENV) _build .pytest_cache .hypothesis
