# Two commands for a newcomer: `make demo` and `make test`. Everything else is plumbing.
SHELL := /bin/bash
# The default Python of this kind of machine; override with `make PYTHON=python3.x ...`.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && python3.11 -c 'import venv' >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
VENV_PY := $(VENV)/bin/python

.PHONY: help venv demo test sanity units integration lint bench docs checks images clean
.DEFAULT_GOAL := help

help:
	@echo "make demo   - set up .venv, start the Vobiz emulator and show the collection at work"
	@echo "make test   - everything CI runs (antsibull-nox checks, sanity, units, integration, docs, version matrix; see CONTRIBUTING.md)"
	@echo "make sanity | units | integration | lint - one suite alone (after make test has set up .venv)"
	@echo "make bench  - time one vobiz_conference task against a uri loop on the emulator (about 5 min; not part of make test;"
	@echo "              LOAD=N adds N busy CPU workers, ARGS='--only cpu,ratelimit' runs some phases)"
	@echo "make docs   - build the HTML docsite into build/docs (antsibull-docs + Sphinx)"
	@echo "make checks - the tools' tests and ci_teardown over many accounts (tests/system)"
	@echo "make images - build the EE and DE images (podman) and run ci_teardown and the rulebook in them;"
	@echo "              BASE=IMAGE (default: ubi9, or a local Debian base when no registry answers)"
	@echo "make clean  - remove .venv, the nox and version-matrix venvs and build output"

# Each venv holds exactly its pinned file (a copy inside is the stamp): make rebuilds it when the file changes.
# .venv-nox is nox and antsibull-nox for tools/gate.py (apart: nox needs attrs >= 24, galaxy-importer holds it below).
venv: $(VENV)/.pinned .venv-nox/.pinned

$(VENV)/.pinned: requirements-dev.txt
	@echo "Creating $(VENV) from $< (this takes a minute the first time) ..."
	@rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && $(VENV_PY) -m pip install -qq --disable-pip-version-check -U pip
	@$(VENV_PY) -m pip install -qq --disable-pip-version-check -r $< && cp $< $@

.venv-nox/.pinned: requirements-nox.txt
	@echo "Creating .venv-nox from $< ..."
	@rm -rf .venv-nox && $(PYTHON) -m venv .venv-nox && .venv-nox/bin/python -m pip install -qq --disable-pip-version-check -U pip
	@.venv-nox/bin/python -m pip install -qq --disable-pip-version-check -r $< && cp $< $@

demo: venv
	@$(VENV_PY) tools/demo.py

test: venv
	@$(VENV_PY) tools/gate.py

sanity units integration lint: venv
	@$(VENV_PY) tools/gate.py $@

bench: venv
	@$(VENV_PY) bench/bench.py $(if $(LOAD),--load $(LOAD)) $(ARGS)

docs: venv
	@$(VENV_PY) tools/build_docs.py

checks: venv
	@$(VENV_PY) tools/gate.py checkers accounts

images: venv
	@$(VENV_PY) tools/images.py $(if $(BASE),--base $(BASE)) $(ARGS)

clean:
	rm -rf $(VENV) .venv-floor .venv-newest .venv-nox .nox tests/output
