# Seed Workbench. `make run` serves the dashboard, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5006
STAMP := $(VENV)/.installed
SHARED_DATA := $(abspath ../shared/data)
export WORKBENCH_DATA ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
# PETSc's build (scripts/install_firedrake.sh) and Firedrake's compiled kernels (PyOP2, TSFC, loopy) live outside
# the repo, so a fresh clone or venv on the same machine finds them: the first run of a Firedrake problem compiles
# its kernels (20–30 s of the mesh topic's quick run), later ones load them
export WORKBENCH_CACHE ?= $(HOME)/.cache/workbench
export FIREDRAKE_CACHE_DIR ?= $(WORKBENCH_CACHE)/firedrake-kernels

.PHONY: install firedrake run test test-fast lab bench notebooks-html clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# PETSc 3.26.0 (built once into ~/.cache/workbench) + Firedrake 2026.10.0 into the venv; ~16 min the first time
firedrake: $(STAMP)
	scripts/install_firedrake.sh

# an import, not a lookup: a Firedrake whose compiled libraries went missing is reinstalled, not run (~3 s)
HAVE_FIREDRAKE = OMP_NUM_THREADS=1 $(BIN)/python -c "import firedrake" >/dev/null 2>&1

run: $(STAMP)
	$(BIN)/workbench serve --port $(PORT)

test: $(STAMP)
	@$(HAVE_FIREDRAKE) || $(MAKE) firedrake
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not ui and not notebook and not slow" $(PYTEST_ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

# speed is a figure, never a test: kernels against a copy (and where their time goes), the LOBSTER replay, every page's load and slider-to-redraw
# in Chromium, every quick run, and the GNN samplers on SBM graphs of 10k-1M nodes (tables printed; JSON under
# build/bench/)
bench: $(STAMP)
	@mkdir -p build/bench
	$(BIN)/python -m kernels.bench --json build/bench/kernels.json
	$(BIN)/python -m kernels.profile --json build/bench/kernels_profile.json
	$(BIN)/python -m workbench.execution.bench
	$(BIN)/python -m workbench.bench --json build/bench/app.json
	$(BIN)/python -m workbench.gnn_sampling.scale --json build/bench/gnn_sampling_scale.json

# executed copies of the notebooks for the docs (Panel's JavaScript from its CDN: they are read online)
notebooks-html: $(STAMP)
	@mkdir -p docs/notebooks
	WORKBENCH_NOTEBOOK_RESOURCES=cdn $(BIN)/jupyter nbconvert --to html --execute \
		--ExecutePreprocessor.timeout=900 --output-dir docs/notebooks notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache
