"""The daemon's Prometheus metrics, rendered and parsed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from aggregator.metrics import Metrics
from aggregator.models import PollResult, SourceRow

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)


def _samples(data: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(data.decode())
        for s in family.samples
    }


def _row(n: int, status: str | None, success: datetime | None) -> SourceRow:
    return SourceRow(n, f"https://{n}.example/f", None, None, None, n, True,
                     status=status, last_success_at=success)  # fmt: skip


def test_polls_entries_durations_and_what_the_store_says() -> None:
    rows = [
        _row(1, "ok", NOW - timedelta(minutes=3)),
        _row(2, "error", NOW - timedelta(hours=5)),
        _row(3, "gone", None),
        _row(4, None, None),
    ]
    metrics = Metrics(lambda: rows, lambda: NOW)
    metrics.polled(PollResult("u1", "ok", new=3, updated=1, duplicates=2, elapsed_ms=250))
    metrics.polled(PollResult("u2", "error", error="refused", elapsed_ms=40))
    metrics.polled(PollResult("u1", "not_modified", elapsed_ms=15))
    metrics.published(0.2)
    samples = _samples(metrics.render())
    polls = {o: samples[("aggregator_polls_total", (("outcome", o),))] for o in
             ("ok", "not_modified", "error", "gone")}  # fmt: skip
    assert polls == {"ok": 1, "not_modified": 1, "error": 1, "gone": 0}
    assert samples[("aggregator_entries_total", (("kind", "new"),))] == 3
    assert samples[("aggregator_entries_total", (("kind", "updated"),))] == 1
    assert samples[("aggregator_entries_total", (("kind", "duplicate"),))] == 2
    assert samples[("aggregator_fetch_duration_seconds_count", ())] == 3
    assert samples[("aggregator_fetch_duration_seconds_sum", ())] == 0.305
    assert samples[("aggregator_fetch_duration_seconds_bucket", (("le", "0.05"),))] == 2
    assert samples[("aggregator_publish_duration_seconds_count", ())] == 1
    assert samples[("aggregator_failing_sources", ())] == 2
    assert samples[("aggregator_last_success_age_seconds", ())] == 180


def test_no_success_yet_means_no_age() -> None:
    metrics = Metrics(lambda: [_row(1, None, None)], lambda: NOW)
    samples = _samples(metrics.render())
    assert ("aggregator_last_success_age_seconds", ()) not in samples
    assert samples[("aggregator_failing_sources", ())] == 0
