"""Scheduling policy: when a source is polled next. Pure: the clock and randomness are inputs.

`plan_next(state, http, feed, now, rand, policy)` decides from what we know of the
source (`SourceState`: its interval, consecutive errors, the usual gap between its new
entries), what the last response said (`HttpHints`: status, Cache-Control, Expires,
Retry-After), and what the feed says of itself (`FeedHints`: RSS `ttl`, `skipHours`,
`skipDays`, `sy:updatePeriod`/`sy:updateFrequency`). In order:

1. 410 Gone: no next poll; the caller stops polling and reports it.
2. After an error: the interval doubled per consecutive error, at most `max_backoff`
   (or the interval itself, when longer): a broken server is not hammered, and a
   failing source is retried for ever, never abandoned. On 429 and 503 a Retry-After
   is a floor (at most `max_retry_after`: a server cannot switch us off).
3. After a success: the source's interval, or with `adapt` (and no interval set by the
   operator for it) half the usual gap between its new entries, within
   [`min_interval`, `max_interval`]. What the server and the feed say of freshness
   (Cache-Control `max-age` unless `no-cache`/`no-store`, else `Expires`; `ttl`;
   `sy:updatePeriod`) are floors, never above `max_interval`: we do not poll a feed
   more often than it says it changes, nor abandon one that says "a year".
4. Jitter: ±`jitter` of the delay so sources configured together drift apart; only
   upwards when a floor decided, so we never come back earlier than asked.
5. `skipHours` (GMT) and `skipDays`: a time in a skipped hour or day moves to the
   start of the next allowed hour. A feed skipping every hour or day is ignored (it
   cannot mean "never").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from itertools import pairwise
from statistics import median

JITTER = 0.1  # ±10% so sources configured together drift apart instead of polling in bursts
MAX_BACKOFF = 24 * 3600.0  # a failing source is retried at least daily, never abandoned
_MAX_DOUBLINGS = 16

# sy:updatePeriod (RSS 1.0 syndication module), in seconds.
_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Policy:
    """Bounds of the policy (config `poll`)."""

    jitter: float = JITTER
    adapt: bool = True  # follow the feed's rhythm when no interval is set for the source
    min_interval: float = 300.0  # adapting never polls more often than this...
    max_interval: float = 86400.0  # ...nor, adapting or following hints, less often
    max_backoff: float = MAX_BACKOFF
    max_retry_after: float = 86400.0


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store knows of a source when its poll ends."""

    interval: float  # configured for the source, or the default
    fixed: bool = False  # the operator set `interval` for this source: never adapted
    errors: int = 0  # consecutive errors, this poll's included if it failed
    entry_gap: float | None = None  # usual seconds between its new entries, if known


@dataclass(frozen=True, slots=True)
class HttpHints:
    """What the last response said about when to come back."""

    status: int | None = None  # None: no response at all (DNS, connection, timeout)
    max_age: float | None = None
    no_cache: bool = False  # no-cache or no-store: nothing is fresh
    expires_in: float | None = None  # Expires - Date, in seconds (negative: stale)
    retry_after: float | None = None  # seconds

    @classmethod
    def of(cls, status: int | None, headers: Mapping[str, str], now: datetime) -> HttpHints:
        """The hints in a response's headers (names in any case); what cannot be read
        is left out, as if the server had not sent it."""
        lowered = {k.lower(): v for k, v in headers.items()}
        max_age, no_cache = _cache_control(lowered.get("cache-control", ""))
        date = http_date(lowered.get("date")) or now
        expires_in = None
        if "expires" in lowered:
            expires = http_date(lowered["expires"])
            # RFC 9111 5.3: an invalid Expires (often "0" or "-1") means already stale.
            expires_in = (expires - date).total_seconds() if expires is not None else 0.0
        return cls(
            status=status,
            max_age=max_age,
            no_cache=no_cache,
            expires_in=expires_in,
            retry_after=_retry_after(lowered.get("retry-after"), date),
        )


@dataclass(frozen=True, slots=True)
class FeedHints:
    """What a feed says of its own rhythm."""

    ttl: float | None = None  # seconds (RSS <ttl> is minutes)
    update_period: float | None = None  # seconds between updates (sy:updatePeriod/Frequency)
    skip_hours: frozenset[int] = frozenset()  # GMT hours 0-23
    skip_days: frozenset[int] = frozenset()  # 0 = Monday
    entry_gap: float | None = None  # median seconds between its entries' dates

    def to_json(self) -> str:
        return json.dumps(
            {
                "ttl": self.ttl,
                "update_period": self.update_period,
                "skip_hours": sorted(self.skip_hours),
                "skip_days": sorted(self.skip_days),
                "entry_gap": self.entry_gap,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str | None) -> FeedHints:
        """The hints `to_json` wrote; none for anything else (a missing or damaged
        value must not stop a source from being scheduled)."""
        try:
            raw = json.loads(data or "{}")
            return cls(
                ttl=_seconds(raw.get("ttl")),
                update_period=_seconds(raw.get("update_period")),
                skip_hours=frozenset(int(h) for h in raw.get("skip_hours", ()) if 0 <= h < 24),
                skip_days=frozenset(int(d) for d in raw.get("skip_days", ()) if 0 <= d < 7),
                entry_gap=_seconds(raw.get("entry_gap")),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()

    @classmethod
    def of(
        cls,
        ttl: str | None = None,
        update_period: str | None = None,
        update_frequency: str | None = None,
        skip_hours: Iterable[str] = (),
        skip_days: Iterable[str] = (),
        dates: Iterable[datetime] = (),
    ) -> FeedHints:
        """The hints from the feed's own strings and its entries' dates; what cannot be
        read is left out."""
        minutes = _positive_number(ttl)
        period = _PERIODS.get((update_period or "").strip().lower())
        frequency = _positive_number(update_frequency) if update_frequency else 1.0
        hours = {h % 24 for h in map(_hour, skip_hours) if h is not None}  # "24" is midnight
        days = {_DAYS.index(d) for d in (s.strip().lower() for s in skip_days) if d in _DAYS}
        return cls(
            ttl=minutes * 60 if minutes is not None else None,
            update_period=period / frequency if period is not None and frequency else None,
            skip_hours=frozenset(hours),
            skip_days=frozenset(days),
            entry_gap=_median_gap(dates),
        )


@dataclass(frozen=True, slots=True)
class NextPoll:
    """When to poll next (None: never again, the feed is gone) and why, in words."""

    at: datetime | None
    reason: str


def plan_next(
    state: SourceState,
    http: HttpHints,
    feed: FeedHints,
    now: datetime,
    rand: float,
    policy: Policy = DEFAULT_POLICY,
) -> NextPoll:
    """The next poll of a source whose poll ended at `now`; `rand` is uniform in [0, 1).
    `feed` is what the last parsed document said (kept while the feed is unchanged or
    failing)."""
    if http.status == 410:
        return NextPoll(None, "410 Gone: no longer polled")
    if state.errors > 0:
        delay, reason = _backoff(state, policy)
        floor, why = _retry_floor(http, policy)
    else:
        delay, reason = _interval(state, policy)
        floor, why = _freshness_floor(http, feed, policy)
    if floor is not None and floor >= delay:
        delay, reason = floor * (1.0 + policy.jitter * rand), why  # never earlier than asked
    else:
        delay *= 1.0 + policy.jitter * (2.0 * rand - 1.0)
    at = now + timedelta(seconds=delay)
    allowed = _allowed(at, feed)
    if allowed != at:
        reason += f"; moved out of the feed's skipHours/skipDays to {allowed:%a %H:%M} GMT"
    return NextPoll(allowed, reason)


# --- the rules --------------------------------------------------------------------


def _backoff(state: SourceState, policy: Policy) -> tuple[float, str]:
    doubled = state.interval * 2 ** min(state.errors - 1, _MAX_DOUBLINGS)
    delay = min(doubled, max(policy.max_backoff, state.interval))
    errors = "error" if state.errors == 1 else f"{state.errors} consecutive errors"
    return delay, f"backoff {span_text(delay)} after {errors}"


def _retry_floor(http: HttpHints, policy: Policy) -> tuple[float | None, str]:
    if http.status not in _RETRY_STATUSES or http.retry_after is None:
        return None, ""
    floor = min(http.retry_after, policy.max_retry_after)
    return floor, f"Retry-After {span_text(floor)} on {http.status}"


def _interval(state: SourceState, policy: Policy) -> tuple[float, str]:
    if state.fixed or not policy.adapt or state.entry_gap is None:
        return state.interval, f"interval {span_text(state.interval)}"
    adapted = min(max(state.entry_gap / 2, policy.min_interval), policy.max_interval)
    gap = span_text(state.entry_gap)
    return adapted, f"adapted {span_text(adapted)} (new entries every ~{gap})"


def _freshness_floor(http: HttpHints, feed: FeedHints, policy: Policy) -> tuple[float | None, str]:
    """The longest of the freshness hints, at most `max_interval`, and its name."""
    hints: list[tuple[float, str]] = []
    if not http.no_cache:
        if http.max_age is not None:  # max-age overrides Expires (RFC 9111 5.3)
            hints.append((http.max_age, "Cache-Control max-age"))
        elif http.expires_in is not None:
            hints.append((http.expires_in, "Expires"))
    if feed.ttl is not None:
        hints.append((feed.ttl, "the feed's ttl"))
    if feed.update_period is not None:
        hints.append((feed.update_period, "the feed's sy:updatePeriod"))
    if not hints:
        return None, ""
    seconds, name = max(hints)
    floor = min(seconds, policy.max_interval)
    capped = " (capped)" if floor < seconds else ""
    return floor, f"{name} {span_text(floor)}{capped}"


def _allowed(at: datetime, feed: FeedHints) -> datetime:
    """`at`, or the start of the first hour after it outside skipHours and skipDays."""
    hours = feed.skip_hours if len(feed.skip_hours) < 24 else frozenset()
    days = feed.skip_days if len(feed.skip_days) < 7 else frozenset()
    if not hours and not days:
        return at
    gmt = at.astimezone(UTC)
    if gmt.hour not in hours and gmt.weekday() not in days:
        return at
    hour = gmt.replace(minute=0, second=0, microsecond=0)
    for _ in range(8 * 24):  # a week and a day: some hour is always allowed
        hour += timedelta(hours=1)
        if hour.hour not in hours and hour.weekday() not in days:
            return hour.astimezone(at.tzinfo)
    return at  # unreachable: fewer than 24 hours and 7 days are skipped


# --- reading hints ----------------------------------------------------------------


def _cache_control(value: str) -> tuple[float | None, bool]:
    """(max-age in seconds, no-cache or no-store) from a Cache-Control header."""
    max_age: float | None = None
    no_cache = False
    for directive in value.split(","):
        name, _, argument = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store") and not argument:
            no_cache = True  # `no-cache="Set-Cookie"` only concerns those fields
        elif name == "max-age":
            seconds = _positive_number(argument.strip().strip('"'), allow_zero=True)
            if seconds is not None:
                max_age = seconds
    return max_age, no_cache


def _retry_after(value: str | None, date: datetime) -> float | None:
    """Retry-After as seconds: a delay, or an HTTP-date against the response's Date."""
    if value is None:
        return None
    seconds = _positive_number(value, allow_zero=True)
    if seconds is not None:
        return seconds
    when = http_date(value)
    return max(0.0, (when - date).total_seconds()) if when is not None else None


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (RFC 9110 5.6.7) as an aware datetime; None if absent or invalid."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _positive_number(value: str | None, *, allow_zero: bool = False) -> float | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    return number if number > 0 or (allow_zero and number == 0) else None


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


MIN_DATED = 3  # entries with distinct dates needed before their gaps say anything


def _median_gap(dates: Iterable[datetime]) -> float | None:
    """The median gap between consecutive distinct dates (the feed's rhythm), or None
    with fewer than `MIN_DATED` of them."""
    ordered = sorted(set(dates))
    if len(ordered) < MIN_DATED:
        return None
    return median((later - earlier).total_seconds() for earlier, later in pairwise(ordered))


def _hour(value: str) -> int | None:
    try:
        hour = int(value.strip())
    except ValueError:
        return None
    return hour if 0 <= hour <= 24 else None


def span_text(seconds: float) -> str:
    """A duration for people: 45s, 30m, 2h, 1.5h, 3d (never negative)."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.3g}h"
    return f"{seconds / 86400:.3g}d"
