# kernelmem-widgets: everything a new user (and CI) runs goes through these targets.
#
#   make lab    create .venv, install the kit, open JupyterLab on notebooks/00_start_here.ipynb
#   make test   create .venv, install the kit with its test extras, run the whole suite
#               (tests/, every notebook under nbval-lax, browser tests if /usr/bin/chromium exists)
#   make bench  run every benchmarks/bench_*.py and print its figures
#   make clean  remove the venv, build leftovers, caches and test artifacts

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
# Stamps live inside the venv: deleting .venv deletes them; touching pyproject.toml reinstalls.
STAMP_LAB  := $(VENV)/.stamp-lab
STAMP_TEST := $(VENV)/.stamp-test
PYTEST_ARGS ?=

# JupyterLab refuses to run as root without --allow-root (CI runs as root).
ALLOW_ROOT := $(shell [ "$$(id -u)" -eq 0 ] && echo --allow-root)

LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
NEWS_OFF := {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}

.PHONY: lab test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP_LAB): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	touch $@ $(STAMP_LAB)

lab: $(STAMP_LAB)
	mkdir -p $(LAB_SETTINGS)
	printf '%s\n' '$(NEWS_OFF)' > $(LAB_SETTINGS)/overrides.json
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT) notebooks/00_start_here.ipynb

test: $(STAMP_TEST)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP_TEST)
	@set -e; found=0; \
	for f in benchmarks/bench_*.py; do \
	  [ -e "$$f" ] || continue; found=1; \
	  echo "== $$f"; \
	  $(PY) "$$f"; \
	done; \
	[ $$found -eq 1 ] || echo "no benchmarks/bench_*.py found"

clean:
	rm -rf $(VENV) .venv-nbgrader build dist *.egg-info .pytest_cache .hypothesis test-artifacts
	find . -path ./.git -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +
