"""Soak report: one line per sample while it runs, then the summary and the verdicts.

Criteria, all over the samples after the warm-up:
- memory: RSS at the end at most 10% above RSS at the end of the warm-up, for the
  daemon process alone and for it with its parser worker processes;
- descriptors (daemon + workers) and the daemon's threads flat. The daemon pools
  what it reuses: kept-alive connections (up to poll.workers), SQLite connections (up
  to 15), the fetch threads of a poll (up to poll.workers, ended with it). The warm-up
  fills every pool to its size (soak.py makes the upstream answer 1 s late for its
  first half, so a whole tick of fetches is in flight at once); afterwards a pool can
  come and go but never exceed that, while a leaked descriptor or thread is never
  given back and raises the *floor* (the lowest count within a sample period). Flat:
  (1) no count after the warm-up above the highest one during it + PEAK_SLACK, and
  (2) the floor of the last third after the warm-up at most FLOOR_SLACK above the
  floor of the first third;
- no errors: no poll with outcome `error`, no ERROR/CRITICAL/Traceback line in the
  daemon's log, every fetch of a published feed answered, no failing source at the end;
- the daemon runs to the end of the soak, and exits 0 within the stop timeout after
  SIGTERM.

It does not run or sample anything (soak.py, soak_probe.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from soak_probe import Latency, Scrape, Usage, latency

MB = 1024 * 1024
GROWTH_LIMIT = 0.10
FLOOR_SLACK = {"descriptors": 2, "threads": 1}
# What the soak itself opens at any time: up to 2 connections to the daemon's server
# (feed watcher, /metrics) and, with a publish, its temporary file; then one more.
PEAK_SLACK = {"descriptors": 4, "threads": 1}


@dataclass(frozen=True)
class Interval:
    """One sample period, summed up."""

    elapsed: float  # seconds since the daemon began serving, at the end of the period
    rss: int  # daemon, at the end
    rss_total: int  # daemon + workers, at the end
    fds: tuple[int, int]  # daemon + workers: lowest and highest seen
    sockets: tuple[int, int]  # the daemon's
    threads: tuple[int, int]  # the daemon's
    children: int
    polls: dict[str, float]  # by outcome, in this period
    latency: Latency
    lags: tuple[float, ...]  # seconds, of entries first published in this period
    gaps: tuple[float, ...]  # seconds between two requests to one source
    errors: int  # so far

    @classmethod
    def of(
        cls,
        elapsed: float,
        looks: Sequence[Usage],
        polls: dict[str, float],
        latency: Latency,
        lags: Sequence[float],
        gaps: Sequence[float],
        errors: int,
    ) -> Interval:
        def span(values: Sequence[int]) -> tuple[int, int]:
            return min(values), max(values)

        last = looks[-1]
        return cls(
            elapsed,
            last.rss,
            last.rss_total,
            span([u.fds_total for u in looks]),
            span([u.sockets for u in looks]),
            span([u.threads for u in looks]),
            last.children,
            polls,
            latency,
            tuple(lags),
            tuple(gaps),
            errors,
        )


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):d}:{int(seconds % 60):02d}"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _pair(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.1f}/{max(values):.1f}"


def print_header() -> None:
    print(
        f"{'time':>5} {'rss MB':>7} {'+wkrs':>7} {'fds':>7} {'socks':>7} {'threads':>7} "
        f"{'ok/304/err':>14} {'poll ms':>11} {'lag s':>9} {'gap s':>9} {'errors':>6}"
    )
    print(
        f"{'':>5} {'daemon':>7} {'':>7} {'min-max':>7} {'min-max':>7} {'min-max':>7} "
        f"{'polls':>14} {'mean/p95':>11} {'p50/max':>9} {'p50/max':>9}"
    )


def print_interval(i: Interval) -> None:
    polls = "/".join(f"{i.polls.get(k, 0):.0f}" for k in ("ok", "not_modified", "error"))
    ms = f"{_ms(i.latency.mean)}/{_ms(i.latency.p95)}"
    print(
        f"{_clock(i.elapsed):>5} {i.rss / MB:7.1f} {i.rss_total / MB:7.1f} "
        f"{i.fds[0]:>3}-{i.fds[1]:<3} {i.sockets[0]:>3}-{i.sockets[1]:<3} "
        f"{i.threads[0]:>3}-{i.threads[1]:<3} {polls:>14} {ms:>11} {_pair(i.lags):>9} "
        f"{_pair(i.gaps):>9} {i.errors:>6}",
        flush=True,
    )


@dataclass(frozen=True)
class Outcome:
    """Everything the summary needs, gathered by soak.py at the end."""

    intervals: list[Interval]
    warmup: float  # seconds
    at_warmup: Scrape  # /metrics at the end of the warm-up
    last: Scrape  # /metrics at the end
    lags: list[tuple[float, float]]  # (elapsed when the entry appeared, lag)
    appeared: int  # entries that appeared upstream at least a minute before the end
    unseen: int  # ...of them never seen in a published feed
    statuses: dict[int, int]  # upstream answers
    feed_fetches: int
    feed_failures: list[str]
    log_errors: list[str]
    log_warnings: list[str]
    planned: float  # seconds the daemon should have run
    exit_code: int | None
    stop_seconds: float
    stop_timeout: float


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    detail: str


def _pct(a: float, b: float) -> str:
    return f"{(a / b - 1) * 100:+.1f}%"


def _flat(
    name: str, warmup: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> Verdict:
    """`spans` (lowest, highest) per sample after the warm-up; `warmup` those during it."""
    third = max(1, len(spans) // 3)
    floor = min(s[0] for s in spans[:third]), min(s[0] for s in spans[-third:])
    ceiling, peak = max(s[1] for s in warmup), max(s[1] for s in spans)
    passed = peak <= ceiling + PEAK_SLACK[name] and floor[1] - floor[0] <= FLOOR_SLACK[name]
    lo = min(s[0] for s in spans)
    detail = (
        f"{lo}..{peak} after warm-up, highest during it {ceiling} (slack {PEAK_SLACK[name]});"
        f" floor {floor[0]} -> {floor[1]}, first vs last third (slack {FLOOR_SLACK[name]})"
    )
    return Verdict(f"{name} flat", passed, detail)


def _memory(judged: Sequence[Interval], base: Interval) -> list[Verdict]:
    verdicts = []
    for label, attr in (("daemon", "rss"), ("daemon + workers", "rss_total")):
        start, end = getattr(base, attr), getattr(judged[-1], attr)
        top = max(getattr(i, attr) for i in judged)
        print(
            f"RSS {label}: {start / MB:.1f} MB at the end of the warm-up, {end / MB:.1f} MB "
            f"at the end ({_pct(end, start)}), max {top / MB:.1f} MB ({_pct(top, start)})"
        )
        passed = end <= start * (1 + GROWTH_LIMIT)
        verdicts.append(Verdict(f"memory {label}", passed, f"{_pct(end, start)} (limit +10%)"))
    return verdicts


def _activity(o: Outcome, judged: Sequence[Interval]) -> None:
    after, whole = latency(o.last, o.at_warmup), latency(o.last, Scrape({}, (), 0, {}, 0))
    for label, lat in (("after warm-up", after), ("whole run", whole)):
        print(
            f"poll duration {label}: {lat.polls} polls, mean {_ms(lat.mean)} ms, "
            f"p95 {_ms(lat.p95)} ms"
        )
    polls = ", ".join(f"{k} {v:.0f}" for k, v in sorted(o.last.polls.items()))
    entries = ", ".join(f"{k} {v:.0f}" for k, v in sorted(o.last.entries.items()))
    print(f"polls (whole run): {polls}; entries stored: {entries}")
    count, seconds = (a - b for a, b in zip(o.last.publishes, o.at_warmup.publishes, strict=True))
    if count > 0:
        print(f"publishes after warm-up: {count:.0f}, mean {seconds / count * 1000:.0f} ms")
    print(f"upstream answers: {dict(sorted(o.statuses.items()))}")
    gaps = sorted(g for i in judged for g in i.gaps)
    if gaps:
        p95 = gaps[int(0.95 * (len(gaps) - 1))]
        print(
            f"gap between two polls of a source after warm-up: mean {statistics.mean(gaps):.1f} s,"
            f" p95 {p95:.1f} s, max {gaps[-1]:.1f} s"
        )
    lags = sorted(lag for at, lag in o.lags if at >= o.warmup)
    if lags:
        p95 = lags[int(0.95 * (len(lags) - 1))]
        print(
            f"freshness (appeared upstream -> in a published feed), entries that appeared "
            f"after warm-up: {len(lags)}, p50 {statistics.median(lags):.1f} s, p95 {p95:.1f} s, "
            f"max {lags[-1]:.1f} s"
        )
    print(
        f"entries that appeared upstream (until a minute before the end): {o.appeared}, "
        f"never seen in a published feed: {o.unseen}; feed fetches {o.feed_fetches}"
    )


def _errors(o: Outcome) -> Verdict:
    error_polls = int(o.last.polls.get("error", 0))
    print(
        f"errors: {error_polls} error polls, {len(o.log_errors)} ERROR/Traceback log lines, "
        f"{len(o.feed_failures)} failed feed fetches, {o.last.failing:.0f} sources failing "
        f"at the end; {len(o.log_warnings)} WARNING lines"
    )
    for line in (o.log_errors + o.feed_failures + o.log_warnings)[:10]:
        print(f"  {line[:300]}")
    count = error_polls + len(o.log_errors) + len(o.feed_failures) + int(o.last.failing)
    return Verdict("no errors", count == 0, f"{count} found")


def report(o: Outcome) -> bool:
    """Print the summary and verdicts; True when every criterion passes."""
    judged = [i for i in o.intervals if i.elapsed >= o.warmup - 1e-6]
    print(
        f"\n== summary: {len(o.intervals)} samples, {len(judged)} after the warm-up "
        f"({_clock(o.warmup)}) =="
    )
    if len(judged) < 3:
        print("FAIL too few samples after the warm-up to judge: run longer")
        return False
    early = [i for i in o.intervals if i.elapsed < o.warmup - 1e-6] or judged[:1]
    verdicts = _memory(judged, judged[0])
    verdicts.append(_flat("descriptors", [i.fds for i in early], [i.fds for i in judged]))
    verdicts.append(_flat("threads", [i.threads for i in early], [i.threads for i in judged]))
    print(
        f"sockets of the daemon after warm-up: {min(i.sockets[0] for i in judged)}.."
        f"{max(i.sockets[1] for i in judged)}; worker processes: "
        f"{sorted({i.children for i in judged})}"
    )
    _activity(o, judged)
    verdicts.append(_errors(o))
    ran = o.intervals[-1].elapsed
    verdicts.append(
        Verdict("ran to the end", ran >= o.planned - 1, f"{_clock(ran)} of {_clock(o.planned)}")
    )
    stopped = o.exit_code == 0
    took = f"exit {o.exit_code} after {o.stop_seconds:.1f} s (limit {o.stop_timeout:.0f} s)"
    verdicts.append(Verdict("clean stop on SIGTERM", stopped, took))
    print()
    for v in verdicts:
        print(f"{'PASS' if v.passed else 'FAIL'} {v.name}: {v.detail}")
    return all(v.passed for v in verdicts)
