"""The one error hierarchy. Library errors are wrapped at the boundary; our own bugs are not."""

from __future__ import annotations

from collections.abc import Mapping


class AggregatorError(Exception):
    """Base of every error the aggregator raises on purpose."""


class ConfigError(AggregatorError):
    """The configuration is invalid. `problems` holds one `key.path: message` line each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(AggregatorError):
    """A source could not be fetched. `reason` is short and fit for one log line."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.reason = reason
        self.http_status = http_status
        self.headers: Mapping[str, str] = headers or {}  # of an HTTP error: Retry-After
        super().__init__(f"{url}: {reason}")


class ParseError(AggregatorError):
    """A fetched body is not a feed we can use (no entries, not XML, ...)."""


class StoreError(AggregatorError):
    """The store could not be read or written."""


class PublishError(AggregatorError):
    """A topic feed could not be rendered or written."""
