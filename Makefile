# easgate — every developer and CI entry point.
# `make run` and `make test` do all set-up on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test ci sysdeps bench lint clean

$(STAMP): pyproject.toml setup.py protocol/wbxml/_speedups.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/easgate serve

# What the tests need that pip cannot install: Debian packages (only when missing) and a
# running PostgreSQL server.
sysdeps:
	@bash scripts/sysdeps.sh

test: install sysdeps
	$(BIN)/pytest $(PYTEST_ARGS)

# CI: the whole suite, nothing skipped (a skip fails the run).
ci: install sysdeps
	EASGATE_FORBID_SKIPS=1 $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: install sysdeps
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# A million hostile bodies through the WBXML decoder and the dispatcher, in process
# (FUZZ_ARGS="--bodies 50000 --seed 7" for a shorter or another run).
.PHONY: fuzz
fuzz: install
	$(BIN)/python scripts/fuzz.py $(FUZZ_ARGS)

# The gateway killed 100 times under load on SQLite and PostgreSQL, then checked for loss
# (SOAK_ARGS="--kills 300 --engine postgres" for another run).
.PHONY: soak
soak: install sysdeps
	$(BIN)/python scripts/soak.py $(SOAK_ARGS)
