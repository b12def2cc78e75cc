"""The scheduling policy (`schedule.plan_next`): one named case per rule and corner."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.schedule import (
    FeedHints,
    HttpHints,
    Policy,
    SourceState,
    plan_next,
)

NOW = datetime(2025, 3, 5, 10, 20, tzinfo=UTC)  # a Wednesday
HOUR = 3600.0
DAY = 86400.0
NO_JITTER = 0.5  # rand 0.5: the plain delay exactly


@dataclass(frozen=True)
class Case:
    state: SourceState
    expected: float | None  # seconds after NOW; None: never again
    reason: str  # a part of the reason
    http: HttpHints = field(default_factory=lambda: HttpHints(status=200))
    feed: FeedHints = field(default_factory=FeedHints)
    rand: float = NO_JITTER  # 0.0 where a floor decides: jitter only adds to floors
    policy: Policy = field(default_factory=Policy)


HALF = SourceState(1800.0)
CASES = {
    # the interval and its jitter
    "plain-interval": Case(HALF, 1800, "interval 30m"),
    "jitter-low": Case(HALF, 1620, "interval", rand=0.0),
    "jitter-high": Case(HALF, 1980, "interval", rand=1.0),
    "no-jitter-policy": Case(HALF, 1800, "interval", rand=1.0, policy=Policy(jitter=0.0)),
    # errors: backoff, cap, recovery
    "first-error": Case(SourceState(1800, errors=1), 1800, "backoff 30m after error"),
    "third-error-quadruples": Case(SourceState(1800, errors=3), 7200, "3 consecutive errors"),
    "backoff-capped-at-a-day": Case(SourceState(1800, errors=12), DAY, "backoff 24h"),
    "backoff-never-below-a-long-interval": Case(SourceState(2 * DAY, errors=5), 2 * DAY, "2d"),
    "network-error-no-status": Case(
        SourceState(600, errors=2), 1200, "backoff", http=HttpHints(status=None)
    ),
    "recovered-after-errors": Case(SourceState(1800, errors=0), 1800, "interval 30m"),
    # Retry-After on 429 / 503
    "429-retry-after-beyond-backoff": Case(
        SourceState(60, errors=1), 3600, "Retry-After 60m on 429",
        http=HttpHints(status=429, retry_after=3600), rand=0.0,
    ),
    "503-retry-after-shorter-than-backoff": Case(
        SourceState(3600, errors=3), 4 * HOUR, "backoff",
        http=HttpHints(status=503, retry_after=60),
    ),
    "retry-after-never-earlier-with-jitter": Case(
        SourceState(60, errors=1), 3600, "Retry-After",
        http=HttpHints(status=429, retry_after=3600), rand=0.0,
    ),
    "retry-after-only-upwards-jitter": Case(
        SourceState(60, errors=1), 3960, "Retry-After",
        http=HttpHints(status=429, retry_after=3600), rand=1.0,
    ),
    "retry-after-absurd-is-capped": Case(
        SourceState(60, errors=1), DAY, "Retry-After 24h",
        http=HttpHints(status=503, retry_after=30 * DAY), rand=0.0,
    ),
    "retry-after-ignored-on-500": Case(
        SourceState(60, errors=1), 60, "backoff", http=HttpHints(status=500, retry_after=3600)
    ),
    # 410
    "410-gone-stops": Case(SourceState(1800, errors=1), None, "410", http=HttpHints(status=410)),
    # HTTP freshness
    "max-age-longer-than-interval": Case(
        HALF, 7200, "Cache-Control max-age 2h", http=HttpHints(status=200, max_age=7200),
        rand=0.0,
    ),
    "max-age-shorter-than-interval": Case(
        HALF, 1800, "interval", http=HttpHints(status=200, max_age=60)
    ),
    "max-age-with-no-cache-ignored": Case(
        HALF, 1800, "interval", http=HttpHints(status=200, max_age=7200, no_cache=True)
    ),
    "expires-floor": Case(
        HALF, 3 * HOUR, "Expires", http=HttpHints(status=200, expires_in=3 * HOUR), rand=0.0
    ),
    "max-age-overrides-expires": Case(
        HALF, 1800, "interval", http=HttpHints(status=200, max_age=0, expires_in=5 * HOUR)
    ),
    "max-age-of-a-year-capped": Case(
        HALF, DAY, "(capped)", http=HttpHints(status=200, max_age=365 * DAY), rand=0.0
    ),
    "freshness-on-304": Case(
        HALF, 7200, "max-age", http=HttpHints(status=304, max_age=7200), rand=0.0
    ),
    # feed hints
    "rss-ttl": Case(HALF, 2 * HOUR, "the feed's ttl 2h", feed=FeedHints.of(ttl="120"), rand=0.0),
    "sy-daily-twice": Case(
        HALF, 12 * HOUR, "sy:updatePeriod 12h",
        feed=FeedHints.of(update_period="daily", update_frequency="2"), rand=0.0,
    ),
    "sy-hourly-default-frequency": Case(
        HALF, HOUR, "sy:updatePeriod 60m", feed=FeedHints.of(update_period="hourly"), rand=0.0
    ),
    "longest-hint-wins": Case(
        HALF, 6 * HOUR, "ttl",
        http=HttpHints(status=200, max_age=HOUR), feed=FeedHints.of(ttl="360"), rand=0.0,
    ),
    "hints-do-not-apply-to-errors": Case(
        SourceState(600, errors=1), 600, "backoff", feed=FeedHints.of(ttl="1440")
    ),
    # skipHours / skipDays (GMT)
    "skip-hour-moves-to-next-hour": Case(
        SourceState(3600), 3600 + 40 * 60, "skipHours", feed=FeedHints.of(skip_hours=["11"])
    ),
    "skip-a-run-of-hours": Case(
        SourceState(3600), (18 - 10) * HOUR - 20 * 60, "18:00",
        feed=FeedHints.of(skip_hours=[str(h) for h in range(11, 18)]),
    ),
    "skip-hour-24-means-midnight": Case(
        SourceState(14 * HOUR), 14 * HOUR + 40 * 60, "Thu 01:00",
        feed=FeedHints.of(skip_hours=["24"]),
    ),
    "skip-days-weekend": Case(
        SourceState(3 * DAY), 5 * DAY - (10 * HOUR + 20 * 60), "Mon 00:00",
        feed=FeedHints.of(skip_days=["Saturday", "sunday"]),
    ),
    "skip-every-hour-ignored": Case(
        SourceState(3600), 3600, "interval",
        feed=FeedHints.of(skip_hours=[str(h) for h in range(24)]),
    ),
    "skip-hours-also-after-errors": Case(
        SourceState(3600, errors=1), 3600 + 40 * 60, "skipHours",
        feed=FeedHints.of(skip_hours=["11"]),
    ),
    # adapting to the feed's rhythm
    "adapt-to-a-slow-feed": Case(SourceState(1800, entry_gap=8 * HOUR), 4 * HOUR, "adapted 4h"),
    "adapt-to-a-busy-feed-within-bounds": Case(SourceState(1800, entry_gap=60), 300, "adapted 5m"),
    "adapt-to-a-dead-feed-within-bounds": Case(
        SourceState(1800, entry_gap=90 * DAY), DAY, "adapted"
    ),
    "operator-interval-not-adapted": Case(
        SourceState(1800, fixed=True, entry_gap=8 * HOUR), 1800, "interval 30m"
    ),
    "adapting-off": Case(
        SourceState(1800, entry_gap=8 * HOUR), 1800, "interval", policy=Policy(adapt=False)
    ),
    "adapt-without-history-uses-interval": Case(
        SourceState(1800, entry_gap=None), 1800, "interval"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_plan_next(case: Case) -> None:
    planned = plan_next(case.state, case.http, case.feed, NOW, case.rand, case.policy)
    if case.expected is None:
        assert planned.at is None
    else:
        assert planned.at == NOW + timedelta(seconds=case.expected)
    assert case.reason in planned.reason


def test_there_are_at_least_25_named_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("errors", range(0, 40))
@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999])
def test_a_failing_source_is_always_polled_again_within_the_cap(errors: int, rand: float) -> None:
    planned = plan_next(SourceState(1800, errors=errors), HttpHints(), FeedHints(), NOW, rand)
    assert planned.at is not None
    assert NOW < planned.at <= NOW + timedelta(seconds=Policy().max_backoff * 1.1)


# --- reading the hints ---------------------------------------------------------


HEADERS = {
    "max-age": ({"Cache-Control": "public, max-age=600"}, HttpHints(200, max_age=600)),
    "max-age-quoted-any-case": ({"cache-control": 'MAX-AGE="90"'}, HttpHints(200, max_age=90)),
    "no-cache": ({"Cache-Control": "no-cache, max-age=600"}, HttpHints(200, 600, no_cache=True)),
    "no-store": ({"Cache-Control": "no-store"}, HttpHints(200, no_cache=True)),
    "no-cache-for-a-field-only": (
        {"Cache-Control": 'no-cache="Set-Cookie", max-age=60'}, HttpHints(200, max_age=60)
    ),
    "bad-max-age": ({"Cache-Control": "max-age=soon"}, HttpHints(200)),
    "expires-against-date": (
        {"Date": "Wed, 05 Mar 2025 10:00:00 GMT", "Expires": "Wed, 05 Mar 2025 12:00:00 GMT"},
        HttpHints(200, expires_in=7200),
    ),
    "expires-invalid-is-stale": ({"Expires": "0"}, HttpHints(200, expires_in=0)),
    "retry-after-seconds": ({"Retry-After": "120"}, HttpHints(429, retry_after=120)),
    "retry-after-date": (
        {"Date": "Wed, 05 Mar 2025 10:00:00 GMT", "Retry-After": "Wed, 05 Mar 2025 10:30:00 GMT"},
        HttpHints(429, retry_after=1800),
    ),
    "retry-after-past-date": (
        {"Date": "Wed, 05 Mar 2025 10:00:00 GMT", "Retry-After": "Wed, 05 Mar 2025 09:00:00 GMT"},
        HttpHints(429, retry_after=0),
    ),
    "retry-after-garbage": ({"Retry-After": "later"}, HttpHints(429)),
}  # fmt: skip


@pytest.mark.parametrize(("headers", "expected"), HEADERS.values(), ids=HEADERS.keys())
def test_http_hints_of_headers(headers: dict[str, str], expected: HttpHints) -> None:
    assert HttpHints.of(expected.status, headers, NOW) == expected


def test_feed_hints_of_strings() -> None:
    hints = FeedHints.of(
        ttl=" 60 ", update_period="Weekly", update_frequency="7",
        skip_hours=["0", "23", "x", "25"], skip_days=["Sunday", "Caturday"],
    )  # fmt: skip
    assert hints == FeedHints(3600, DAY, frozenset({0, 23}), frozenset({6}))
    assert FeedHints.of(ttl="-5", update_period="fortnightly") == FeedHints()
    assert FeedHints.of(update_period="daily", update_frequency="0").update_period is None


def test_feed_hints_survive_the_store_and_damage_is_no_hints() -> None:
    hints = FeedHints(3600, DAY, frozenset({0, 23}), frozenset({6}), entry_gap=5400)
    assert FeedHints.from_json(hints.to_json()) == hints
    for damaged in (None, "", "[]", "{", '{"ttl": "soon"}', '{"skip_hours": [99]}'):
        assert FeedHints.from_json(damaged) == FeedHints()


def test_entry_gap_is_the_median_gap_between_distinct_dates() -> None:
    at = [NOW + timedelta(hours=h) for h in (0, 1, 1, 5, 11)]  # gaps 1h, 4h, 6h
    assert FeedHints.of(dates=at).entry_gap == 4 * HOUR
    assert FeedHints.of(dates=at[:3]).entry_gap is None  # two distinct dates say nothing
