# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export OPENBLAS_NUM_THREADS := 1

.PHONY: install run lint test test-fast bench bench-full bench-warc bench-clustering bench-clustering-scale bench-extraction clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "newsbeam needs Python 3.11, got " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,gcp,aws]'
	touch $@

run: install
	$(BIN)/python -m pipeline run --input seeds/ --output out/

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest

# Unit tests only: no CLI subprocesses, no shared data sets (under 2 minutes on 2 cores).
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not e2e"

bench: install
	$(BIN)/python -m benchmarks.run

bench-full: install
	$(BIN)/python -m benchmarks.run --full

bench-warc: install
	nice -n 5 $(BIN)/python -m benchmarks.warc --results benchmarks/RESULTS_WARC.md

bench-clustering: install
	$(BIN)/python benchmarks/clustering.py --cli-arg=--min-words=1 ../shared/data/clustering/allsides_dev.jsonl ../shared/data/clustering/googlenews_ts.jsonl ../shared/data/clustering/neus_titles.jsonl

bench-extraction: install
	$(BIN)/python -m pip install --quiet -e '.[bench-extractors]'
	nice -n 5 $(BIN)/python benchmarks/extraction_quality.py --before main
	nice -n 5 $(BIN)/python benchmarks/extraction_quality.py --candidates

bench-clustering-scale: install
	$(BIN)/python benchmarks/clustering.py --scale

clean:
	rm -rf $(VENV) out .pytest_cache
