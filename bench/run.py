"""`make bench`: end-to-end throughput of `aggregator once` against a local feed server.

Generates (or reuses) N feeds × M entries, serves them on 127.0.0.1 from a separate
process, and times `aggregator once` cold (everything new, a new database) and plain
`feedparser.parse` (default settings, one process) over the same bytes, one after the
other, `--rounds` times: the best of each is compared, so a slow spell of a shared
machine during one of them does not decide the ratio (every round is printed). Then
it runs `once` twice more on the last cold run's database: warm with 304s (the server
honours If-None-Match), and warm with the server resending identical 200 bodies. One
table with PASS/FAIL per target. Exits 1 if a target fails, 2 if the aggregator cannot
be run.

    python bench/run.py [--feeds 1000] [--entries 50] [--rounds 2] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from generate import Manifest, generate
from harness import (
    BENCH_DIR,
    MB,
    OnceRun,
    check_aggregator,
    corpus_bytes,
    feedparser_baseline,
    run_once,
    write_config,
)
from server import ServerProcess

RSS_LIMIT = 200 * MB
BUSY_CORES = 0.25  # average cores used by other processes above which results are suspect


@dataclass(frozen=True)
class Target:
    name: str
    value: str
    passed: bool


def corpus_root(feeds: int, entries: int, seed: int) -> Path:
    return BENCH_DIR / "out" / f"corpus-{feeds}x{entries}-s{seed}"


def prepare(args: argparse.Namespace) -> tuple[Path, Manifest]:
    root = corpus_root(args.feeds, args.entries, args.seed)
    started = time.perf_counter()
    manifest = generate(root, args.feeds, args.entries, args.seed)
    size = corpus_bytes(root, manifest)
    print(
        f"corpus: {manifest.feeds} feeds x {manifest.entries} entries, {size / MB:.1f} MB "
        f"in {root} ({time.perf_counter() - started:.1f}s)"
    )
    return root, manifest


def run_all(
    root: Path, manifest: Manifest, work: Path, rounds: int
) -> tuple[dict[str, OnceRun], float, int]:
    """The best of `rounds` cold runs and of as many feedparser baselines, taken in
    turn; then the warm-304 and identical-bodies runs on the last cold run's database.
    Returns the runs by name, the baseline's seconds and the entries it found."""
    runs: dict[str, OnceRun] = {}
    baselines: list[float] = []
    found = 0
    with ServerProcess(root) as server:
        urls = [server.feed_url(i) for i in range(manifest.feeds)]
        print(f"server: {server.base} (one host: config sets per_host 16, host_spacing 0s)")
        for number in range(1, rounds + 1):
            place = work / f"round-{number}"
            place.mkdir()
            config = write_config(place, manifest, urls)
            cold = _timed(server, "cold", config, place / "cold", validators=True)
            print("  plain feedparser.parse over the same bytes ...", flush=True)
            baseline, found = feedparser_baseline(root, manifest)
            baselines.append(baseline)
            print(
                f"  round {number}: cold {cold.measured.wall:.2f}s, feedparser {baseline:.2f}s, "
                f"ratio {cold.measured.wall / baseline:.3f}"
            )
            if "cold" not in runs or cold.measured.wall < runs["cold"].measured.wall:
                runs["cold"] = cold
        runs["warm-304"] = _timed(server, "warm-304", config, place / "warm", validators=True)
        runs["identical"] = _timed(server, "identical", config, place / "same", validators=False)
    return runs, min(baselines), found


def _timed(server: ServerProcess, name: str, config: Path, log: Path, validators: bool) -> OnceRun:
    server.set_validators(validators)
    server.reset()
    print(f"running {name} ...", flush=True)
    run = run_once(config, log)
    stats = server.stats()
    print(
        f"  {run.measured.wall:.2f}s; server answered 200 x{stats.get('200', 0)}, "
        f"304 x{stats.get('304', 0)}, 404 x{stats.get('404', 0)}"
    )
    return run


def report_run(name: str, run: OnceRun, manifest: Manifest) -> None:
    m, t = run.measured, run.tally
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(t.statuses.items())) or "none"
    print(
        f"{name:<10} {m.wall:8.2f}s {m.cpu:7.1f}s {manifest.feeds / m.wall:9.1f} "
        f"{manifest.feeds * manifest.entries / m.wall:10.0f} {m.peak_rss / MB:8.1f} "
        f"{m.other_cpu / m.wall:7.2f}  new={t.new} updated={t.updated} dup={t.duplicates}; "
        f"{statuses}"
    )
    parts = " + ".join(f"{rss / MB:.0f}" for rss in m.peak_parts)
    print(f"{'':<10} peak RSS by process (MB, `once` first): {parts}")
    if m.returncode != 0:
        print(f"  exit code {m.returncode}; stderr: {m.stderr.strip()[-500:]}")
    for problem in (t.errors + t.unparsed)[:5]:
        print(f"  ! {problem}")
    if len(t.errors) + len(t.unparsed) > 5:
        print(f"  ! ... {len(t.errors) + len(t.unparsed) - 5} more")


def _statuses_ok(run: OnceRun, expected: str, feeds: int) -> bool:
    t = run.tally
    return (
        run.measured.returncode == 0
        and t.statuses[expected] == feeds
        and not t.errors
        and not t.unparsed
    )


def targets(runs: dict[str, OnceRun], baseline: float, feeds: int) -> list[Target]:
    cold, warm, same = (runs[k].measured.wall for k in ("cold", "warm-304", "identical"))
    peak = max(r.measured.peak_rss for r in runs.values())
    return [
        Target(
            "cold / plain feedparser.parse <= 0.5", f"{cold / baseline:.3f}", cold <= 0.5 * baseline
        ),
        Target("warm-304 / cold < 0.05", f"{warm / cold:.3f}", warm < 0.05 * cold),
        Target("identical / cold < 0.10", f"{same / cold:.3f}", same < 0.10 * cold),
        Target("peak RSS sum < 200 MB", f"{peak / MB:.1f} MB", peak < RSS_LIMIT),
        Target(
            "cold: every source ok",
            _status_text(runs["cold"]),
            _statuses_ok(runs["cold"], "ok", feeds),
        ),
        Target(
            "warm runs: every source not_modified",
            f"{_status_text(runs['warm-304'])} / {_status_text(runs['identical'])}",
            all(_statuses_ok(runs[k], "not_modified", feeds) for k in ("warm-304", "identical")),
        ),
    ]


def _status_text(run: OnceRun) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(run.tally.statuses.items())) or "none"


def report(runs: dict[str, OnceRun], manifest: Manifest, baseline: float, found: int) -> bool:
    print()
    columns = [("wall", 9), ("cpu", 8), ("feeds/s", 9), ("entries/s", 10), ("RSS MB", 8)]
    columns.append(("others", 7))
    print(f"{'run':<10} " + " ".join(f"{name:>{width}}" for name, width in columns))
    for name, run in runs.items():
        report_run(name, run, manifest)
    print(
        f"{'feedparser':<10} {baseline:8.2f}s {'':>8} {manifest.feeds / baseline:9.1f} "
        f"{found / baseline:10.0f}  plain feedparser.parse, default settings, one process "
        "(cold and feedparser: the best of the rounds)"
    )
    busiest = max(r.measured.other_cpu / r.measured.wall for r in runs.values())
    print(
        "(cpu: CPU seconds of the `once` process tree; others: cores used on average by "
        "every other process meanwhile, the feed server included)"
    )
    if busiest > BUSY_CORES:
        print(
            f"WARNING: other processes kept {busiest:.2f} of the 2 cores busy during a run; "
            "the figures are pessimistic. Run again on an idle machine."
        )
    print()
    results = targets(runs, baseline, manifest.feeds)
    for target in results:
        print(f"{'PASS' if target.passed else 'FAIL'}  {target.name:<40} {target.value}")
    return all(t.passed for t in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="cold and feedparser runs, best kept")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (db, feeds, logs)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if problem := check_aggregator():
        print(f"cannot run the benchmark: {problem}", file=sys.stderr)
        return 2
    root, manifest = prepare(args)
    (BENCH_DIR / "out").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=BENCH_DIR / "out"))
    try:
        runs, baseline, found = run_all(root, manifest, work, args.rounds)
        passed = report(runs, manifest, baseline, found)
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
