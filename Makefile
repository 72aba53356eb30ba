# Two commands a new user needs: `make run` (the app) and `make test` (the whole suite).
# Each creates .venv on first use. `make dist` builds the installable app (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# The installer is built from its own clean venv with the CPU-only TensorFlow wheel
# (packaging/dist_requirements.py derives its list from pyproject.toml).
# On Windows run make from Git Bash (`make dist PYTHON=py`): venvs keep programs in Scripts/.
DIST_VENV := .venv-dist
DIST_BIN := $(DIST_VENV)/$(if $(filter Windows_NT,$(OS)),Scripts,bin)
DIST_READY := $(DIST_VENV)/.ready
BUNDLE := dist/histoclass

.PHONY: run test dist deb clean

$(BIN)/histoclass: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: $(BIN)/histoclass
	$(BIN)/histoclass

test: $(BIN)/histoclass
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

$(DIST_READY): pyproject.toml packaging/dist_requirements.py
	rm -rf $(DIST_VENV)
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_BIN)/python -m pip install --quiet --upgrade pip
	$(DIST_BIN)/python packaging/dist_requirements.py > $(DIST_VENV)/requirements.txt
	$(DIST_BIN)/python -m pip install --quiet -r $(DIST_VENV)/requirements.txt
	touch $@

dist: $(DIST_READY)
	@start=$$(date +%s); \
	rm -rf build/histoclass $(BUNDLE) && \
	$(DIST_BIN)/python -m PyInstaller --noconfirm --clean --log-level WARN build.spec && \
	echo "built $(BUNDLE) in $$(( $$(date +%s) - start )) s, $$(du -sh $(BUNDLE) | cut -f1)"

$(BUNDLE)/histoclass:
	$(MAKE) dist

# Packs the current dist/histoclass (built first if missing; `make dist deb` rebuilds it).
deb: $(BUNDLE)/histoclass
	packaging/linux/build_deb.sh $(BUNDLE) dist

clean:
	rm -rf build dist .pytest_cache
