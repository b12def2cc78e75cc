"""`make soak`: the daemon for minutes against sources that keep changing; does it stay flat?

Serves `--sources` loopback feeds that gain an entry every 2-6 s (soak_sources.py),
runs `aggregator run` on them in a temporary directory (polls every `--interval`,
10 topics; see `write_config`), and every `--sample` seconds prints the daemon's RSS
(alone and with its parser worker processes), open descriptors, threads, polls by
outcome, poll duration (from `/metrics`), how long new entries took to reach the
published feeds, the gap between two polls of one source, and errors so far
(soak_probe.py). For the first half of the warm-up (30 s at most) the sources answer
1 s late, which fills the daemon's pools (soak_report.py says why). Then a summary
and PASS/FAIL per criterion; exit 1 if one fails, 2 if the daemon cannot be run.
The work directory (config, database, feeds, the daemon's stdout and stderr) is
removed after a pass and kept after a failure or with `--keep`.

    python bench/soak.py [--minutes 10] [--sources 200] [--warmup 2] [--sample 10]
        [--interval 5] [--workers 64] [--entries 200] [--dedupe-window 1m] [--seed 1]

It changes nothing in the daemon; it only reads its process tree, log and HTTP server.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml
from harness import AGGREGATOR, check_aggregator
from soak_probe import EMPTY, FeedWatcher, LogScan, Scrape, latency, scrape, usage
from soak_report import Interval, Outcome, print_header, print_interval, report
from soak_sources import SoakSources

TOPICS = 10
USAGE_EVERY = 1.0  # seconds between looks at the process tree
FILL_POOLS = 30.0  # seconds of late answers at the start (see soak_report)
STOP_TIMEOUT = 90.0  # seconds: in-flight polls finish (poll.timeout 20 s), then a publish
SERVING = re.compile(r"serving on (http://[^/\s]+/)")


@dataclass(frozen=True)
class Options:
    minutes: float
    sources: int
    warmup: float  # minutes
    sample: float  # seconds
    interval: float  # seconds between polls of a source
    workers: int
    entries: int
    dedupe_window: str
    seed: int
    keep: bool


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run")
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes not judged")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between lines")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    parser.add_argument("--workers", type=int, default=64, help="poll.workers and per_host")
    parser.add_argument(
        "--entries", type=int, default=200, help="output.entries (see write_config)"
    )
    parser.add_argument("--dedupe-window", default="1m", help="dedupe.window (see write_config)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    return Options(**vars(args))


def write_config(work: Path, sources: SoakSources, options: Options) -> Path:
    """A config for the soak. Every source is on 127.0.0.1, so the per-host politeness
    limits are lifted (per_host = workers, no host_spacing); sources adapt to their
    rhythm but never below `--interval` (min_interval), so they poll at that pace.

    The soak lives days in minutes (~50 new entries a second), so the one window
    measured in time shrinks too: the near-duplicate index holds every entry first seen
    within `dedupe.window` (by design, a few hundred bytes each), and with the default
    72 h it would grow through the whole soak (+5 MB in 4 minutes, measured). With
    `--dedupe-window 1m` it reaches its steady size within the warm-up and then evicts
    as fast as it adds, so growth after the warm-up is a leak, not the index filling.
    A topic feed carries its newest `output.entries` by date, and a topic gains ~7
    entries a second, some ~8 s old when polled (the gap between polls): with the
    default 50 those would be below the cut on arrival and never be published, which
    the freshness figure would hide; `--entries 200` keeps ~30 s of them."""
    interval = f"{options.interval:g}s"
    topics = {f"t{n:02d}": {"title": f"Soak topic {n}"} for n in range(TOPICS)}
    names = list(topics)
    config = {
        "storage": f"sqlite:///{work / 'aggregator.db'}",
        "output": {
            "dir": str(work / "feeds"),
            "base_url": "http://127.0.0.1/",
            "entries": options.entries,
        },
        "topics": topics,
        "sources": [
            {"url": sources.url(i), "topics": _topics_of(i, names)} for i in range(options.sources)
        ],
        "poll": {
            "interval": interval,
            "min_interval": interval,
            "workers": options.workers,
            "per_host": min(options.workers, 64),
            "host_spacing": "0s",
        },
        "dedupe": {"window": options.dedupe_window},
        "server": {"host": "127.0.0.1", "port": 0},
    }
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _topics_of(index: int, names: list[str]) -> list[str]:
    """One topic; every fifth source a second one too (published in both)."""
    first = index % len(names)
    return [names[first], names[(first + 1) % len(names)]] if index % 5 == 4 else [names[first]]


def start_daemon(config: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`aggregator run -c config` and its server's base URL, read from its log."""
    log = work / "stderr.txt"
    with (work / "stdout.txt").open("wb") as out, log.open("wb") as err:
        daemon = subprocess.Popen(
            [str(AGGREGATOR), "run", "-c", str(config)], cwd=work, stdout=out, stderr=err
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and daemon.poll() is None:
        if match := SERVING.search(log.read_text(errors="replace")):
            return daemon, match.group(1)
        time.sleep(0.2)
    daemon.kill()
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the daemon did not start serving (exit {daemon.poll()}):\n{tail}")


class Run:
    """The sampling loop's state: one `Interval` per `--sample` seconds."""

    def __init__(self, daemon: psutil.Process, base: str, sources: SoakSources, log: Path):
        self.daemon, self.base, self.sources = daemon, base, sources
        self.log = LogScan(log)
        self.started = time.monotonic()
        self.intervals: list[Interval] = []
        self.scrapes: list[tuple[float, Scrape]] = [(0.0, EMPTY)]
        self._gaps_seen = self._lags_seen = 0
        self.watcher = FeedWatcher(
            base, [f"t{n:02d}" for n in range(TOPICS)], sources.appeared, sources.keep
        ).start()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def interval(self, until: float) -> Interval:
        """Look at the process tree every second until `until` (elapsed), then sum up."""
        looks = []
        while True:
            looks.append(usage(self.daemon))
            if self.elapsed() >= until:
                break
            time.sleep(min(USAGE_EVERY, max(0.0, until - self.elapsed())))
        now = scrape(self.base)
        earlier = self.scrapes[-1][1]
        self.scrapes.append((self.elapsed(), now))
        self.log.scan()
        lags, failures = self.watcher.snapshot()
        new_lags, self._lags_seen = lags[self._lags_seen :], len(lags)
        gaps = self.sources.tally.gaps[self._gaps_seen :]
        self._gaps_seen += len(gaps)
        polls = {k: v - earlier.polls.get(k, 0.0) for k, v in now.polls.items()}
        errors = now.polls.get("error", 0) + len(self.log.errors) + len(failures)
        interval = Interval.of(
            self.elapsed(),
            looks,
            polls,
            latency(now, earlier),
            [lag for _, lag in new_lags],
            [g for _, g in gaps],
            int(errors),
        )
        self.intervals.append(interval)
        return interval


def stop(daemon: subprocess.Popen[bytes], timeout: float) -> tuple[int | None, float]:
    """SIGTERM, then wait; the exit code (None: still running after `timeout`, killed)."""
    started = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    try:
        code: int | None = daemon.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
        code = None
    return code, time.monotonic() - started


def soak(options: Options, work: Path) -> bool:
    sources = SoakSources(options.sources, seed=options.seed).start()
    try:
        config = write_config(work, sources, options)
        daemon, base = start_daemon(config, work)
        sources.slow_down(min(FILL_POOLS, options.warmup * 30), delay=1.0)
        print(
            f"{options.sources} sources on http://{sources.server.host}/ (RSS and Atom, an entry "
            f"every {sources.gap[0]:g}-{sources.gap[1]:g} s, {sources.keep} kept), {TOPICS} topics;"
            f" poll.interval {options.interval:g}s, workers {options.workers}, host_spacing 0s,"
            f" output.entries {options.entries}, dedupe.window {options.dedupe_window};"
            f" warm-up {options.warmup:g} min\n"
            f"daemon pid {daemon.pid} serving {base}; work dir {work}",
            flush=True,
        )
        run = Run(psutil.Process(daemon.pid), base, sources, work / "stderr.txt")
        try:
            print_header()
            end = options.minutes * 60
            while run.elapsed() < end - 1e-3 and daemon.poll() is None:
                until = min(end, (len(run.intervals) + 1) * options.sample)
                try:
                    print_interval(run.interval(until))
                except (psutil.NoSuchProcess, OSError) as exc:  # the daemon is gone
                    print(f"sampling failed: {exc!r}")
                    break
        finally:
            run.watcher.stop()
            code, took = stop(daemon, STOP_TIMEOUT)
            run.log.scan()
        return report(outcome(run, options, code, took))
    finally:
        sources.stop()


def outcome(run: Run, options: Options, code: int | None, took: float) -> Outcome:
    """What the run saw, for the report."""
    started_wall = time.time() - run.elapsed()
    lags, failures = run.watcher.snapshot()
    cutoff = time.time() - 60  # later entries may rightly not be published yet
    seen = sum(
        1
        for i, k in run.watcher.seen
        if k >= run.sources.keep and run.sources.appeared(i, k) <= cutoff
    )
    appeared = run.sources.appeared_by(cutoff)
    warmup = options.warmup * 60
    at_warmup = next((s for at, s in run.scrapes if at >= warmup - 1e-6), run.scrapes[-1][1])
    return Outcome(
        intervals=run.intervals,
        warmup=warmup,
        at_warmup=at_warmup,
        last=run.scrapes[-1][1],
        lags=[(at - started_wall, lag) for at, lag in lags],
        appeared=appeared,
        unseen=appeared - seen,
        statuses=dict(run.sources.tally.statuses),
        feed_fetches=run.watcher.fetches,
        feed_failures=failures,
        log_errors=run.log.errors,
        log_warnings=run.log.warnings,
        planned=options.minutes * 60,
        exit_code=code,
        stop_seconds=took,
        stop_timeout=STOP_TIMEOUT,
    )


def main() -> int:
    options = parse_args()
    if (problem := check_aggregator()) is not None:
        print(problem, file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="aggregator-soak-"))
    passed = False
    try:
        passed = soak(options, work)
    finally:
        if options.keep or not passed:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
