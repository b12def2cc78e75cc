"""Scheduling policy: when a source is polled next. Pure (now and randomness are inputs).

This first version knows the configured interval, jitter and error backoff; a later
step adds HTTP and feed hints (Cache-Control, Retry-After, ttl, skipHours, ...).
"""

from __future__ import annotations

from datetime import datetime, timedelta

JITTER = 0.1  # ±10% so sources configured together drift apart instead of polling in bursts
MAX_BACKOFF = 24 * 3600.0  # a failing source is retried at least daily, never abandoned


def next_poll(interval: float, error_count: int, now: datetime, rand: float) -> datetime:
    """The next poll time after a poll at `now`.

    `rand` is a uniform sample in [0, 1). After `error_count` consecutive errors the
    interval doubles per error (capped at MAX_BACKOFF, or the interval itself when that
    is longer), so a broken server is not hammered and a fixed one is found again.
    """
    delay = interval
    if error_count > 0:
        delay = min(interval * 2 ** min(error_count - 1, 16), max(MAX_BACKOFF, interval))
    delay *= 1.0 + JITTER * (2.0 * rand - 1.0)
    return now + timedelta(seconds=delay)
