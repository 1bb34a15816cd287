# Two commands: `make run` starts GovChat, `make test` runs the whole suite.
# Both create .venv on a fresh machine with Python 3.11.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: run test test-single test-workers lint bench clean

run: $(INSTALLED)
	$(VENV)/bin/govchat run

# The whole suite on one process and SQLite, then the integration suite again on
# Synapse's worker layout (PostgreSQL, Redis, two client workers, nginx).
test: $(INSTALLED)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
	GOVCHAT_TEST_LAYOUT=workers $(VENV)/bin/python -m pytest tests/integration $(PYTEST_ARGS)

test-single: $(INSTALLED)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-workers: $(INSTALLED)
	GOVCHAT_TEST_LAYOUT=workers $(VENV)/bin/python -m pytest tests/integration $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/pip install -q ruff mypy types-PyYAML types-requests
	$(VENV)/bin/ruff check govchat synapse_modules bots jitsi_jwt tests bench
	$(VENV)/bin/mypy govchat synapse_modules jitsi_jwt bots

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "GovChat needs Python 3.11, found " + sys.version' 
	@echo "Installing GovChat and its dependencies into $(VENV) (first run only; a few minutes)..."
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --upgrade pip
	@$(VENV)/bin/pip install --quiet -e '.[test]'
	@touch $(INSTALLED)
	@echo "Installed."

clean:
	rm -rf $(VENV) build *.egg-info
