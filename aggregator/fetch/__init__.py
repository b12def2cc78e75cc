"""Fetch stage: gets a source's bytes over HTTP(S) or from a local file; does not parse them.

`HttpFetcher` (requests, pooled keep-alive connections, politeness limits, a total
deadline, a body cap) is the real implementation of the `Fetcher` port; `FakeFetcher`
is its fake for tests. Every failure is a `FetchError` naming the source and a reason.
"""

from __future__ import annotations

from typing import Protocol

from ..models import FetchResult, Validators
from .client import ACCEPT, HttpFetcher
from .fake import FakeFetcher, FakeOutcome
from .limits import HostLimiter, host_key


class Fetcher(Protocol):
    def fetch(self, location: str, validators: Validators) -> FetchResult:
        """Fetch `location` (http(s) URL, absolute path or file:// URL); raise FetchError."""
        ...


__all__ = [
    "ACCEPT",
    "FakeFetcher",
    "FakeOutcome",
    "Fetcher",
    "HostLimiter",
    "HttpFetcher",
    "host_key",
]
