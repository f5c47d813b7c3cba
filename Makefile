# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export OPENBLAS_NUM_THREADS := 1

.PHONY: help install run lint test test-fast engines engines-prism engines-flink engines-flink-jobserver bench-engines docs docs-reference bench bench-full bench-warc bench-clustering bench-clustering-scale bench-extraction clean

help: ## List every target with its one-line description
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-24s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(INSTALLED) ## Create .venv and install the project with the test, gcp and aws extras

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "newsbeam needs Python 3.11, got " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,gcp,aws]'
	touch $@

run: install ## Run the pipeline on seeds/ into out/
	$(BIN)/python -m pipeline run --input seeds/ --output out/

lint: install ## ruff check, ruff format --check, mypy (the modules listed under [tool.mypy])
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install ## The whole test suite
	$(BIN)/python -m pytest

test-fast: install ## Unit tests only: no CLI subprocesses, no shared data sets
	$(BIN)/python -m pytest -m "not slow and not e2e"

engines: engines-prism engines-flink ## Beam's engines into .cache/engines/: Prism (needs Go) and Flink (needs Java 17)

engines-prism: ## Build Beam's Prism runner with go install, at the pinned Beam version
	./deploy/engines/prism.sh

engines-flink: ## Flink's lib/ jars from PyPI's apache-flink-libraries sdist (sha256 pinned)
	PYTHON=$(PYTHON) deploy/engines/flink.sh flink

engines-flink-jobserver: ## Beam's Flink job server jar through mvn dependency:copy (exit 3 where it is not served)
	deploy/engines/flink.sh jobserver

bench-engines: install ## Pages/s and start-up on FnApiRunner and Prism, streaming latency on Prism
	nice -n 5 $(BIN)/python -m benchmarks.engines --results benchmarks/RESULTS.md

bench: install ## Quick benchmarks into benchmarks/RESULTS.md
	$(BIN)/python -m benchmarks.run

bench-full: install ## Full benchmarks (bigger corpus, more hosts, more articles)
	$(BIN)/python -m benchmarks.run --full

bench-warc: install ## WARC reading against news-please and a bare loop, into benchmarks/RESULTS_WARC.md
	nice -n 5 $(BIN)/python -m benchmarks.warc --results benchmarks/RESULTS_WARC.md

bench-clustering: install ## Story tagging quality through the CLI on the shared story-labelled sets
	$(BIN)/python benchmarks/clustering.py --cli-arg=--min-words=1 ../shared/data/clustering/allsides_dev.jsonl ../shared/data/clustering/googlenews_ts.jsonl ../shared/data/clustering/neus_titles.jsonl

bench-extraction: install ## Extraction quality against main and trafilatura alone, and candidate second extractors
	$(BIN)/python -m pip install --quiet -e '.[bench-extractors]'
	nice -n 5 $(BIN)/python benchmarks/extraction_quality.py --before main
	nice -n 5 $(BIN)/python benchmarks/extraction_quality.py --candidates

bench-clustering-scale: install ## Story tagging cost as the stream grows
	$(BIN)/python benchmarks/clustering.py --scale

docs: install ## Build the docs site with mkdocs --strict into site/
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	$(BIN)/python -m pipeline.docs_reference --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-reference: install ## Regenerate docs/reference/ from schemas/ and the option classes
	$(BIN)/python -m pipeline.docs_reference

clean: ## Remove .venv, out/, site/ and caches
	rm -rf $(VENV) out site .pytest_cache
