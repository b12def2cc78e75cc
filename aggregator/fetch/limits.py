"""Politeness limits of the fetch stage: requests in flight and start spacing per host.

Knows nothing of HTTP beyond a URL's host and port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class HostLimiter:
    """At most `per_host` requests in flight per host, their starts at least `spacing` apart.

    Thread-safe; waiting threads block on a condition (no polling). A slot's start time
    is reserved under the lock, so concurrent callers queue up spacing apart.
    """

    def __init__(
        self,
        per_host: int,
        spacing: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_host = per_host
        self.spacing = spacing
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        delay = self._acquire(host)
        try:
            if delay > 0:
                self._sleep(delay)
            yield
        finally:
            self._release(host)

    def _acquire(self, host: str) -> float:
        with self._cond:
            self._cond.wait_for(lambda: self._active.get(host, 0) < self.per_host)
            self._active[host] = self._active.get(host, 0) + 1
            now = self._clock()
            start = max(now, self._next_start.get(host, now))
            if self.spacing:
                self._next_start[host] = start + self.spacing
            return start - now

    def _release(self, host: str) -> None:
        with self._cond:
            self._active[host] -= 1
            if not self._active[host]:
                del self._active[host]
                if self._next_start.get(host, 0.0) <= self._clock():
                    self._next_start.pop(host, None)  # forget idle hosts: the table stays small
            self._cond.notify_all()


def host_key(url: str) -> str:
    """`hostname:port` of an http(s) URL, the unit of the per-host limits."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or DEFAULT_PORTS[parts.scheme]}"
