# lunarchive: `make demo` runs the product on the sample data; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ./demo-data

.PHONY: demo test lint bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000

demo: venv
	$(BIN)/lunarchive ingest examples --data-dir $(DATA)
	$(BIN)/lunarchive search --target moon --data-dir $(DATA) --limit 20
	$(BIN)/lunarchive search --text kernel --latest --data-dir $(DATA) --limit 10
	@echo "lunarchive demo: serving $(DATA) at http://$(HOST):$(PORT)/  (STAC API; try http://$(HOST):$(PORT)/search?bbox=40,-83,50,-81 ; Ctrl-C stops)"
	$(BIN)/lunarchive serve --data-dir $(DATA) --host $(HOST) --port $(PORT)

test: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/bench_ingest.py

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
