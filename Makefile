# Kaizenify Consent: the front door. `make run` starts the product, `make test` tests it.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench serve browser clean messages

$(STAMP): pyproject.toml
	$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo's links and allowed origin follow HOST and PORT (unless PUBLIC_BASE_URL is set).
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Admin:     http://$(HOST):$(PORT)/admin/   (user admin, password kaizen-demo)"
	@echo "  API docs:  http://$(HOST):$(PORT)/api/docs/"
	@echo "  Demo page: http://$(HOST):$(PORT)/demo/"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

# Browser tests drive Debian's Chromium; install it when we can (root or sudo), else they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true >/dev/null 2>&1; then SUDO="sudo -n"; else \
	    echo "chromium missing and no root: browser tests will be skipped"; exit 0; fi; \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; } \
	    || echo "could not install chromium: browser tests will be skipped"; }

test: $(STAMP) browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Production server, as documented in README (DEBUG off unless set; needs SECRET_KEY, ALLOWED_HOSTS...).
serve: $(STAMP)
	DEBUG=$${DEBUG:-0} $(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn consent_platform.wsgi --config consent_platform/gunicorn.conf.py

# Translation catalogs of the preference pages: update the .po files, then compile the .mo files.
messages: $(STAMP)
	$(PY) manage.py makemessages -l de -l fr -l es -l ar --no-location \
	  --ignore=.venv --ignore=bench --ignore=tests --ignore=static --ignore=staticfiles
	$(PY) manage.py compilemessages --ignore=.venv

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
