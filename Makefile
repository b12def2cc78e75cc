# One Makefile for people and CI. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run once check test browser lint typecheck bench bench-peers bench-clean bench-dedupe corpus-report clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/aggregator run -c config.yaml

once: $(STAMP)
	$(BIN)/aggregator once -c config.yaml

check: $(STAMP)
	$(BIN)/aggregator check -c config.yaml

lint: $(STAMP)
	$(BIN)/ruff check aggregator tests bench
	$(BIN)/ruff format --check aggregator tests bench

typecheck: $(STAMP)
	$(BIN)/mypy aggregator

# The status page is tested in a real browser: Debian's Chromium (Playwright from the
# dev extra drives it; never `playwright install`, which downloads browsers).
browser:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium >/dev/null \
		|| (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null) \
		|| echo "could not install chromium: the browser test will be skipped"

# The default suite, then the tests marked slow (daemons in subprocesses, the SIGKILL
# loops, the browser): CI runs both through this target.
test: $(STAMP) browser lint typecheck
	$(BIN)/pytest
	$(BIN)/pytest -m slow

clean:
	rm -rf $(VENV) data feeds/*.xml .mypy_cache .ruff_cache .pytest_cache

# Benchmarks print their figures; they are not part of `make test`. BENCH_ARGS="--feeds 50 --entries 20" for a quick run.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-peers: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/peers.py $(BENCH_ARGS)

bench-clean: $(STAMP)
	$(BIN)/python bench/clean/run.py $(BENCH_ARGS)

# Duplicate detection on labelled pairs, then an index rebuild from a 100,000-entry store.
bench-dedupe: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/dedupe/run.py $(BENCH_ARGS)
	$(BIN)/python bench/dedupe/rebuild.py

# Cleaning over ../shared/corpus: blocks removed per rule, entries emptied (none expected).
corpus-report: $(STAMP)
	$(BIN)/python bench/clean/corpus_report.py
