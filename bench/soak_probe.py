"""Soak probes: what the running daemon costs and does, read from outside it.

- `usage`: RSS, open descriptors (sockets among them) and threads of the daemon
  process and of its parser worker processes (psutil, /proc);
- `scrape`/`latency`: polls by outcome and the poll-duration histogram from `/metrics`,
  and the mean and p95 over the polls between two scrapes;
- `FeedWatcher`: a thread that fetches every topic feed from the daemon's server each
  second (conditional GET) and records when each upstream entry is first published;
- `LogScan`: ERROR, CRITICAL, Traceback and WARNING lines of the daemon's stderr.

It does not serve the sources (soak_sources.py) or judge the figures (soak.py).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families
from soak_sources import LINK

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class Usage:
    """One look at the daemon's process tree; `_total` adds its worker processes."""

    rss: int
    rss_total: int
    fds: int
    fds_total: int
    sockets: int  # of the daemon's descriptors
    threads: int
    threads_total: int
    children: int


def usage(daemon: psutil.Process) -> Usage:
    children = daemon.children(recursive=True)
    with daemon.oneshot():
        rss, fds, threads = daemon.memory_info().rss, daemon.num_fds(), daemon.num_threads()
    totals = [rss, fds, threads]
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess), child.oneshot():
            parts = child.memory_info().rss, child.num_fds(), child.num_threads()
            totals = [a + b for a, b in zip(totals, parts, strict=True)]
    return Usage(
        rss, totals[0], fds, totals[1], _sockets(daemon.pid), threads, totals[2], len(children)
    )


def _sockets(pid: int) -> int:
    """Descriptors of `pid` that are sockets (-1 where /proc cannot tell)."""
    count = 0
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:")
    except OSError:
        return -1
    return count


# --- /metrics ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    """The daemon's counters at one moment."""

    polls: dict[str, float]  # by outcome
    buckets: tuple[tuple[float, float], ...]  # poll duration: (upper bound s, cumulative count)
    seconds: float  # summed poll durations
    entries: dict[str, float]  # new / updated / duplicate
    failing: float  # sources whose last poll failed
    publishes: tuple[float, float] = (0.0, 0.0)  # (count, seconds) of publishes that wrote

    @property
    def count(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0


EMPTY = Scrape({}, (), 0.0, {}, 0.0)


def scrape(base: str) -> Scrape:
    with urllib.request.urlopen(base + "metrics", timeout=30) as response:
        text = response.read().decode()
    polls: dict[str, float] = {}
    entries: dict[str, float] = {}
    buckets: list[tuple[float, float]] = []
    seconds = failing = 0.0
    publishes = [0.0, 0.0]
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "aggregator_polls_total":
                polls[sample.labels["outcome"]] = sample.value
            elif sample.name == "aggregator_entries_total":
                entries[sample.labels["kind"]] = sample.value
            elif sample.name == "aggregator_fetch_duration_seconds_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name == "aggregator_fetch_duration_seconds_sum":
                seconds = sample.value
            elif sample.name == "aggregator_failing_sources":
                failing = sample.value
            elif sample.name == "aggregator_publish_duration_seconds_count":
                publishes[0] = sample.value
            elif sample.name == "aggregator_publish_duration_seconds_sum":
                publishes[1] = sample.value
    return Scrape(
        polls, tuple(sorted(buckets)), seconds, entries, failing, (publishes[0], publishes[1])
    )


@dataclass(frozen=True)
class Latency:
    polls: int
    mean: float | None  # seconds
    p95: float | None  # seconds, interpolated within its histogram bucket (inf: above all)


def latency(later: Scrape, earlier: Scrape) -> Latency:
    """Poll durations of the polls counted between two scrapes."""
    before = dict(earlier.buckets)
    deltas = [(le, n - before.get(le, 0.0)) for le, n in later.buckets]
    count = deltas[-1][1] if deltas else 0.0
    if count <= 0:
        return Latency(0, None, None)
    mean = (later.seconds - earlier.seconds) / count
    lower, below = 0.0, 0.0
    for le, cumulative in deltas:
        if cumulative >= 0.95 * count:
            share = (0.95 * count - below) / max(cumulative - below, 1e-9)
            return Latency(int(count), mean, lower + share * (le - lower))
        lower, below = le, cumulative
    return Latency(int(count), mean, None)


# --- published feeds --------------------------------------------------------------


@dataclass
class FeedWatcher:
    """Fetches each topic feed every `every` seconds; `lags` holds (appeared, lag) for
    each upstream entry published after the sources started (history has k < keep)."""

    base: str
    topics: list[str]
    appeared: Callable[[int, int], float]
    keep: int
    every: float = 1.0
    seen: set[tuple[int, int]] = field(default_factory=set)
    lags: list[tuple[float, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    fetches: int = 0
    _etags: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="feed-watcher", daemon=True)

    def start(self) -> FeedWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and wait for the fetch under way: none may meet a daemon stopping."""
        self._stop.set()
        self._thread.join()

    def snapshot(self) -> tuple[list[tuple[float, float]], list[str]]:
        with self._lock:
            return list(self.lags), list(self.failures)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for topic in self.topics:
                if self._stop.is_set():
                    return
                try:
                    self._check(topic)
                except (OSError, ET.ParseError) as exc:
                    with self._lock:
                        self.failures.append(f"{topic}: {exc}")

    def _check(self, topic: str) -> None:
        request = urllib.request.Request(f"{self.base}feeds/{topic}.xml")
        if topic in self._etags:
            request.add_header("If-None-Match", self._etags[topic])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body, etag = response.read(), response.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return
            raise
        finally:
            self.fetches += 1
        now = time.time()
        if etag:
            self._etags[topic] = etag
        for entry in ET.fromstring(body).iter(f"{ATOM}entry"):
            for link in entry.iter(f"{ATOM}link"):
                if link.get("rel", "alternate") == "alternate":
                    self._saw(link.get("href", ""), now)

    def _saw(self, href: str, now: float) -> None:
        match = LINK.match(href)
        if match is None:
            return
        key = (int(match.group(1)), int(match.group(2)))
        if key in self.seen:
            return
        self.seen.add(key)
        if key[1] >= self.keep:
            at = self.appeared(*key)
            with self._lock:
                self.lags.append((at, now - at))


# --- the daemon's log -------------------------------------------------------------


@dataclass
class LogScan:
    """Reads the daemon's stderr as it grows; keeps the lines that say something failed."""

    path: Path
    errors: list[str] = field(default_factory=list)  # ERROR, CRITICAL, Traceback
    warnings: list[str] = field(default_factory=list)
    _offset: int = 0

    def scan(self) -> None:
        with self.path.open("rb") as stream:
            stream.seek(self._offset)
            data = stream.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next scan
        self._offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                self.errors.append(line)
            elif " WARNING " in line:
                self.warnings.append(line)
