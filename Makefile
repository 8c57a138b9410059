# Góp ý: `make run` serves the demo on SQLite, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
DEV := FLASK_DEBUG=1

.PHONY: install run test lint audit audit-online advisories lock translations extract update-translations compile-translations bench demo clean

install: $(VENV)/.installed node_modules/.installed

# requirements.lock pins every package (pip and setuptools too): what CI installs is what `make audit` checked.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools -c requirements.lock
	$(BIN)/python -m pip install -q -e '.[dev]' -c requirements.lock
	touch $@

# Re-resolve the dependencies (newest that pyproject.toml allows) and rewrite requirements.lock.
lock: $(VENV)/.installed
	$(BIN)/python security/lock.py

# axe-core (pinned in package.json) for the accessibility checks of the browser tests.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

compile-translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations

extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg --ignore-dirs=".* node_modules __pycache__ instance test-artifacts bench" -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot .

update-translations: extract
	@for lang in vi en; do \
	  if [ ! -f translations/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel init -i translations/messages.pot -d translations -l $$lang; fi; done
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete -w 100
	$(BIN)/python translations/fill_english.py translations/en/LC_MESSAGES/messages.po

translations: update-translations compile-translations

run: install compile-translations
	$(DEV) $(FLASK) db upgrade
	@if [ ! -f instance/.demo-loaded ]; then $(DEV) $(FLASK) demo && touch instance/.demo-loaded; fi
	@# The worker sends the mail (and runs the other jobs) beside the server, on the SQLite
	@# queue in instance/: nothing but Python. It stops with the server.
	@$(DEV) $(FLASK) worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(DEV) $(FLASK) run --host 127.0.0.1 --port 5000

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Known vulnerabilities in the locked dependencies, offline, from the vendored snapshot
# security/advisories.json (PyPA advisory database + PyPI); part of `make test`.
audit: $(VENV)/.installed
	$(BIN)/python security/dependency_audit.py --lock requirements.lock --advisories security/advisories.json

# The same question asked of OSV through pip-audit, where the network reaches it.
audit-online: $(VENV)/.installed
	$(BIN)/pip-audit --skip-editable --progress-spinner off || [ -n "$$GOPY_AUDIT_OFFLINE_OK" ]

# Rebuild the snapshot: make advisories ADVISORY_DB=/path/to/advisory-database (a git checkout
# of github.com/pypa/advisory-database); also records what PyPI reports for the latest releases.
advisories: $(VENV)/.installed
	@[ -n "$(ADVISORY_DB)" ] || { echo "usage: make advisories ADVISORY_DB=/path/to/advisory-database" >&2; exit 2; }
	$(BIN)/python security/refresh_advisories.py "$(ADVISORY_DB)" --pypi --lock requirements.lock --output security/advisories.json

test: install compile-translations lint audit
	$(BIN)/pytest -q

bench: install compile-translations
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
