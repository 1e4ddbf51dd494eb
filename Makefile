# Two entry points: `make lab` sets up .venv and opens the course; `make test` sets up and runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: lab test setup bench execute release slides site voila clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	-$(PY) -m pip install --quiet "torch==2.13.0" || echo "PyTorch not installed: comparisons with it will be skipped."
	touch $@

setup: $(VENV)/.installed

lab: setup
	$(VENV)/bin/dlteach lab

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
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
	$(VENV)/bin/dlteach voila $(LESSON)

clean:
	rm -rf $(VENV) _build .pytest_cache .hypothesis
