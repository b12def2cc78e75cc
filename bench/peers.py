"""`make bench-peers`: our cold `aggregator once` against the `reader` library's cold
`update_feeds()`, on the same generated corpus and the same local server.

Each side runs in its own subprocess, one after the other, measured the same way
(wall time, CPU, peak RSS summed over the process tree). reader runs with its defaults
(`make_reader(path)`, `update_feeds()`: one worker, feedparser with its sanitiser on).
Its figure is the time of the `update_feeds()` call alone; ours is the whole `once`
process, start-up included, so the ratio leans against us. Exits 1 if we are not at
least twice as fast, 2 if a side cannot be run.

    python bench/peers.py [--feeds 1000] [--entries 50] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from generate import Manifest
from harness import BENCH_DIR, MB, Measured, check_aggregator, measure, run_once, write_config
from run import BUSY_CORES, prepare
from server import ServerProcess

TARGET_SPEEDUP = 2.0


def reader_child(db: Path, urls_file: Path, workers: int) -> None:
    """In the child process: add every feed to a new reader database, update them all,
    print JSON with the update time and what reader stored."""
    from reader import make_reader

    reader = make_reader(str(db))
    for url in urls_file.read_text().split():
        reader.add_feed(url)
    started = time.perf_counter()
    reader.update_feeds(workers=workers)
    elapsed = time.perf_counter() - started
    counts = reader.get_feed_counts()
    print(
        json.dumps(
            {
                "update_feeds": elapsed,
                "entries": reader.get_entry_counts().total,
                "feeds": counts.total,
                "broken": counts.broken,
            }
        )
    )
    reader.close()


def run_reader(urls: list[str], work: Path, workers: int) -> tuple[Measured, dict[str, float]]:
    work.mkdir(parents=True, exist_ok=True)
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(urls))
    command = [sys.executable, __file__, "--reader-child", str(work / "reader.sqlite")]
    command += [str(urls_file), str(workers)]
    measured = measure(command, work)
    if measured.returncode != 0:
        raise RuntimeError(f"reader run failed: {measured.stderr.strip()[-800:]}")
    result: dict[str, float] = json.loads(measured.stdout.strip().splitlines()[-1])
    return measured, result


def compare(root: Path, manifest: Manifest, work: Path, reader_workers: int) -> bool:
    with ServerProcess(root) as server:
        urls = [server.feed_url(i) for i in range(manifest.feeds)]
        config = write_config(work / "ours", manifest, urls)
        print(f"server: {server.base} (one host: config sets per_host 16, host_spacing 0s)")
        print("running aggregator once (cold) ...", flush=True)
        ours = run_once(config, work / "ours" / "cold")
        print("running reader update_feeds() (cold) ...", flush=True)
        theirs, result = run_reader(urls, work / "reader", reader_workers)
    m, t = ours.measured, ours.tally
    statuses = ",".join(f"{k}={v}" for k, v in sorted(t.statuses.items()))
    print()
    print(f"{'':<22} {'wall':>9} {'cpu':>8} {'RSS MB':>8} {'others':>7}  result")
    print(
        f"{'aggregator once':<22} {m.wall:8.2f}s {m.cpu:7.1f}s {m.peak_rss / MB:8.1f} "
        f"{m.other_cpu / m.wall:7.2f}  "
        f"new={t.new} dup={t.duplicates}; {statuses}; exit {m.returncode}"
    )
    print(
        f"{'reader (process)':<22} {theirs.wall:8.2f}s {theirs.cpu:7.1f}s "
        f"{theirs.peak_rss / MB:8.1f} {theirs.other_cpu / theirs.wall:7.2f}  "
        f"entries={result['entries']:.0f} "
        f"broken feeds={result['broken']:.0f}/{result['feeds']:.0f}"
    )
    print(
        f"{'reader update_feeds()':<22} {result['update_feeds']:8.2f}s  (workers={reader_workers})"
    )
    print("(others: cores used on average by every other process, the feed server included)")
    busiest = max(x.other_cpu / x.wall for x in (m, theirs))
    if busiest > BUSY_CORES:
        print(f"WARNING: other processes kept {busiest:.2f} of the 2 cores busy during a run.")
    speedup = result["update_feeds"] / m.wall
    passed = speedup >= TARGET_SPEEDUP and m.returncode == 0 and not t.errors
    print()
    print(
        f"{'PASS' if passed else 'FAIL'}  reader update_feeds() / our once >= {TARGET_SPEEDUP:.0f}"
        f"      {speedup:.2f}x (ours / reader = {m.wall / result['update_feeds']:.3f})"
    )
    return passed


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--reader-child":
        reader_child(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reader-workers", type=int, default=1, help="reader's default: 1")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args()
    if problem := check_aggregator():
        print(f"cannot run the benchmark: {problem}", file=sys.stderr)
        return 2
    root, manifest = prepare(args)
    (BENCH_DIR / "out").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="peers-", dir=BENCH_DIR / "out"))
    (work / "ours").mkdir()
    try:
        passed = compare(root, manifest, work, args.reader_workers)
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
