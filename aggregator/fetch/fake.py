"""The fake at the network seam, for tests: answers fetches from a table; no IO."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import xxhash

from ..errors import FetchError
from ..models import FetchResult, FetchStatus, Validators

FakeOutcome = FetchResult | FetchError


class FakeFetcher:
    """The fake at the network seam: answers from a table (or a function), records calls.

    `responses` maps a location to a `FetchResult` to return or a `FetchError` to raise;
    a callable gets `(location, validators)` and returns (or raises) the same. A location
    missing from the table raises KeyError: a test set-up mistake, not a fetch failure.
    Thread-safe; `calls` lists `(location, validators)` in call order.
    """

    def __init__(
        self, responses: Mapping[str, FakeOutcome] | Callable[[str, Validators], FakeOutcome]
    ) -> None:
        self.responses = responses
        self.calls: list[tuple[str, Validators]] = []
        self._lock = threading.Lock()

    def fetch(self, location: str, validators: Validators) -> FetchResult:
        with self._lock:
            self.calls.append((location, validators))
        if callable(self.responses):
            outcome = self.responses(location, validators)
        else:
            outcome = self.responses[location]
        if isinstance(outcome, FetchError):
            raise outcome
        return outcome

    @staticmethod
    def result(
        url: str,
        body: bytes | None = None,
        *,
        status: FetchStatus = "ok",
        final_url: str | None = None,
        etag: str | None = None,
        permanent_redirect: str | None = None,
    ) -> FetchResult:
        """A plausible FetchResult: 200 for "ok"/"unchanged", 304 for "not_modified"."""
        digest = xxhash.xxh3_128_hexdigest(body) if body is not None else None
        code = 304 if status == "not_modified" else 200
        kept = body if status == "ok" else None
        return FetchResult(
            url,
            final_url or url,
            status,
            code,
            kept,
            {},
            Validators(etag, None, digest),
            0.0,
            permanent_redirect,
        )
