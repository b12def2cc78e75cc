"""The daemon's Prometheus metrics (`/metrics`), in a registry of their own.

Counted as things happen: polls by outcome, fetch durations, new / updated /
duplicate entries, publish durations. Read from the store at each scrape: sources
failing now, and the age of the last successful poll of any source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .models import PollResult, SourceRow

_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
_PUBLISH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)


class Metrics:
    """Every metric the daemon exports; `sources` is read at each scrape."""

    def __init__(self, sources: Callable[[], Sequence[SourceRow]], now: Callable[[], datetime]):
        self.registry = CollectorRegistry(auto_describe=True)
        self.polls = Counter(
            "aggregator_polls", "Polls of sources, by outcome", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.fetch_seconds = Histogram(
            "aggregator_fetch_duration_seconds", "Time from a poll's start to its end",
            buckets=_FETCH_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.entries = Counter(
            "aggregator_entries", "Entries stored, by kind", ["kind"], registry=self.registry
        )
        self.publish_seconds = Histogram(
            "aggregator_publish_duration_seconds", "Time to render the changed topics",
            buckets=_PUBLISH_BUCKETS, registry=self.registry,
        )  # fmt: skip
        for outcome in ("ok", "not_modified", "error", "gone"):
            self.polls.labels(outcome)  # present from the start, at 0
        for kind in ("new", "updated", "duplicate"):
            self.entries.labels(kind)
        self.registry.register(_SourceGauges(sources, now))

    def polled(self, result: PollResult) -> None:
        self.polls.labels(result.status).inc()
        self.fetch_seconds.observe(result.elapsed_ms / 1000)
        self.entries.labels("new").inc(result.new)
        self.entries.labels("updated").inc(result.updated)
        self.entries.labels("duplicate").inc(result.duplicates)

    def published(self, seconds: float) -> None:
        self.publish_seconds.observe(seconds)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


class _SourceGauges(Collector):
    """Gauges read from the store when scraped."""

    def __init__(
        self, sources: Callable[[], Sequence[SourceRow]], now: Callable[[], datetime]
    ) -> None:
        self._sources, self._now = sources, now

    def collect(self) -> Iterator[Metric]:
        rows = self._sources()
        failing = GaugeMetricFamily(
            "aggregator_failing_sources", "Sources whose last poll failed (gone ones included)"
        )
        failing.add_metric([], sum(1 for row in rows if row.status in ("error", "gone")))
        yield failing
        successes = [row.last_success_at for row in rows if row.last_success_at is not None]
        age = GaugeMetricFamily(
            "aggregator_last_success_age_seconds",
            "Seconds since the last successful poll of any source (absent before one)",
        )
        if successes:
            age.add_metric([], (self._now() - max(successes)).total_seconds())
        yield age
