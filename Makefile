# Two commands: `make run` (install + migrate + demo clinic + serve) and `make test` (install + checks + tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint pytest clean

$(VENV)/.run-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.run-installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.run-installed
	$(BIN)/telehealth migrate
	$(BIN)/telehealth demo-data
	$(BIN)/telehealth serve

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports  # the layering contracts in pyproject.toml [tool.importlinter]

# The suite mostly waits (browsers, servers, networks, both databases): several processes share
# the machine's cores well. Each process has its own databases, servers and ports. Test times
# range from milliseconds to a minute and more (the hostile-input sweep, the accessibility walk),
# so idle processes take work from busy ones (worksteal) rather than wait out a fixed share.
TEST_WORKERS ?= 4

pytest: $(VENV)/.test-installed
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

test: lint pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
