"""Short, human reasons for fetch failures: one log line, one `error=` field.

Pure: maps an exception raised by requests, urllib3, http.client or the socket layer
(nested however those libraries nest them) to a sentence; performs no IO.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from ..config import Poll


def describe(exc: BaseException, failed_url: str, timed_out: bool, poll: Poll) -> str:
    """Why the request to `failed_url` (maybe a redirect target) failed.

    `timed_out`: the fetch's total deadline had passed, which explains any error."""
    if timed_out:
        return f"timed out after {poll.timeout:g}s"
    causes = list(_causes(exc))
    for matches, explain in _REASONS:
        found = next((c for c in causes if matches(c)), None)
        if found is not None:
            return explain(found, failed_url, poll)
    return f"request failed: {type(exc).__name__}: {str(exc)[:200]}"


def size_text(n: int) -> str:
    """A byte count as people read it: `10.0 MiB`, `1.5 KiB`, `12 bytes`."""
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} bytes"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: requests and urllib3 nest errors in args/reason."""
    todo, seen = [exc], set[int]()
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = (current.__cause__, current.__context__, getattr(current, "reason", None))
        todo += [c for c in (*nested, *current.args) if isinstance(c, BaseException)]


def _tls(exc: BaseException, url: str, poll: Poll) -> str:
    detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
    return f"TLS error: {detail}"


def _is(*kinds: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda exc: isinstance(exc, kinds)


def _connect_timeout(exc: BaseException) -> bool:
    # Every NewConnectionError (refused, unreachable, ...) is a ConnectTimeoutError too.
    return isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError)


_Explain = Callable[[BaseException, str, Poll], str]
_REASONS: tuple[tuple[Callable[[BaseException], bool], _Explain], ...] = (
    (
        _is(NameResolutionError, socket.gaierror),
        lambda e, url, p: f"DNS lookup failed: {urlsplit(url).hostname}",
    ),
    (_is(ConnectionRefusedError), lambda e, url, p: "connection refused"),
    (_connect_timeout, lambda e, url, p: f"connect timed out after {p.connect_timeout:g}s"),
    (
        _is(ReadTimeoutError, TimeoutError),
        lambda e, url, p: f"timed out after {p.timeout:g}s",
    ),
    (_is(ssl.SSLError), _tls),
    (_is(DecodeError), lambda e, url, p: "cannot decode compressed body"),
    (_is(ConnectionResetError), lambda e, url, p: "connection reset by server"),
    (
        _is(ProtocolError, http.client.HTTPException),
        lambda e, url, p: "connection closed before the response was complete",
    ),
)
