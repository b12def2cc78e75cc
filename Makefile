# One Makefile for people and CI. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run once check test browser lint typecheck bench bench-peers bench-clean bench-dedupe corpus-report clean fuzz fuzz-atheris soak

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
	$(BIN)/ruff check aggregator tests bench fuzz
	$(BIN)/ruff format --check aggregator tests bench fuzz

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

# The daemon for 10 minutes against 200 changing loopback sources: prints RSS, descriptors,
# threads and poll latency over time, then PASS/FAIL. SOAK_ARGS="--minutes 2 --warmup 0.5"
# for a quick run.
soak: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# Hypothesis fuzzing at FUZZ_SCALE times the default example counts (docs/fuzzing.md).
fuzz: $(STAMP)
	AGGREGATOR_FUZZ_SCALE=$(or $(FUZZ_SCALE),50) $(BIN)/pytest tests/test_fuzz.py --timeout=0 --hypothesis-show-statistics

# Coverage-guided fuzzing of parse, clean and publish with atheris, in its own venv,
# for FUZZ_TIME seconds; crashes land in fuzz/crashes/ (docs/fuzzing.md).
FUZZ_VENV := .fuzzenv
fuzz-atheris:
	test -x $(FUZZ_VENV)/bin/python || $(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install --quiet -e '.[fuzz]'
	mkdir -p fuzz/corpus fuzz/crashes
	$(FUZZ_VENV)/bin/python fuzz/parse_clean.py fuzz/corpus ../shared/corpus/edge -max_len=65536 \
		-max_total_time=$(or $(FUZZ_TIME),600) -artifact_prefix=fuzz/crashes/
