"""Fetch stage: gets a source's bytes over HTTP(S) or from a local file; does not parse them.

`HttpFetcher` sends conditional GETs, follows redirects itself (to count them, to tell
permanent moves from temporary ones and to apply the per-host limits to every hop),
enforces a total deadline and a body cap measured after decompression, and turns every
library error into a `FetchError`. `FakeFetcher` is the fake at this seam for tests.
"""

from __future__ import annotations

import email.utils
import http.client
import io
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from http import HTTPStatus
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
import xxhash
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    DecodeError,
    NameResolutionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from . import USER_AGENT
from .config import Poll
from .errors import FetchError
from .models import FetchResult, FetchStatus, Validators

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})  # RFC 9110 §15.4: only these say "update your links"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Everything the network stack may raise; FetchError (ours) is deliberately not here.
_NETWORK_ERRORS = (requests.RequestException, Urllib3Error, http.client.HTTPException, OSError)


class Fetcher(Protocol):
    def fetch(self, location: str, validators: Validators) -> FetchResult:
        """Fetch `location` (http(s) URL, absolute path or file:// URL); raise FetchError."""
        ...


# --- politeness ----------------------------------------------------------------


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
    return f"{(parts.hostname or '').lower()}:{parts.port or _DEFAULT_PORTS[parts.scheme]}"


# --- the total deadline ----------------------------------------------------------

_local = threading.local()


class _Deadline:
    """The total time budget of one fetch, started when its first request may go out.

    On expiry it shuts down the sockets the fetch is using: a blocked recv() never looks
    at a clock, so a server dripping a byte a second passes every per-read timeout.
    Connections are lent to it by `_WatchedPool` and taken back when returned to the pool,
    so it never touches a connection another thread is using.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._ends: float | None = None
        self._timer: threading.Timer | None = None
        self._conns: set[BaseHTTPConnection] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._timer is None:
            self._ends = time.monotonic() + self.seconds
            self._timer = threading.Timer(self.seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def remaining(self) -> float:
        return self.seconds if self._ends is None else self._ends - time.monotonic()

    def passed(self) -> bool:
        return self.expired or self.remaining() <= 0

    def attach(self, conn: BaseHTTPConnection) -> None:
        with self._lock:
            self._conns.add(conn)
            if self.expired:
                _shutdown(conn)

    def detach(self, conn: BaseHTTPConnection) -> None:
        with self._lock:
            self._conns.discard(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for conn in self._conns:
                _shutdown(conn)

    def __enter__(self) -> Self:
        _local.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _local.deadline = None
        with self._lock:
            self._conns.clear()
        if self._timer is not None:
            self._timer.cancel()


def _shutdown(conn: BaseHTTPConnection) -> None:
    sock: socket.socket | None = getattr(conn, "sock", None)
    if sock is None:
        return  # still connecting: the connect timeout is capped at the time remaining
    # socket.shutdown, not SSLSocket.shutdown: the latter drops the TLS object under the
    # reading thread; a plain shutdown just makes its recv() return.
    with suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedPool(HTTPConnectionPool):
    """Lends every connection it hands out to the deadline of the fetch on this thread."""

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        conn = super()._get_conn(timeout)
        deadline: _Deadline | None = getattr(_local, "deadline", None)
        if deadline is not None:
            deadline.attach(conn)
        return conn

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        deadline: _Deadline | None = getattr(_local, "deadline", None)
        if deadline is not None and conn is not None:
            deadline.detach(conn)
        super()._put_conn(conn)


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    pass


_WATCHED_POOLS = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


# --- HTTP ---------------------------------------------------------------------------


class HttpFetcher:
    """The real fetcher: one pooled session shared by all fetch threads."""

    def __init__(self, poll: Poll, *, user_agent: str = USER_AGENT) -> None:
        self.poll = poll
        self.limiter = HostLimiter(poll.per_host, poll.host_spacing)
        self._session = _session(poll, user_agent)

    def fetch(self, location: str, validators: Validators) -> FetchResult:
        if _is_local(location):
            return _fetch_file(location, validators, self.poll.max_bytes)
        if problem := _url_problem(location):
            raise FetchError(location, problem)
        started = time.monotonic()
        deadline = _Deadline(self.poll.timeout)
        try:
            with deadline:
                result = self._follow(location, validators, deadline)
        except _NETWORK_ERRORS as exc:
            raise FetchError(location, _reason(exc, location, deadline, self.poll)) from exc
        return replace(result, elapsed=time.monotonic() - started)

    def _follow(self, url: str, validators: Validators, deadline: _Deadline) -> FetchResult:
        headers = _conditional_headers(validators)
        chain, codes = [url], list[int]()
        while True:
            with self.limiter.slot(host_key(chain[-1])):
                deadline.start()
                with self._get(chain[-1], headers, deadline) as response:
                    target = _redirect_target(response)
                    if target is None:
                        return self._result(url, chain, codes, response, validators, deadline)
            codes.append(response.status_code)
            self._add_hop(url, chain, target)

    def _get(self, url: str, headers: dict[str, str], deadline: _Deadline) -> requests.Response:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        timeout = (min(self.poll.connect_timeout, remaining), remaining)
        return self._session.get(
            url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
        )

    def _add_hop(self, url: str, chain: list[str], target: str) -> None:
        if target in chain:
            raise FetchError(url, f"redirect loop at {target}")
        if len(chain) > self.poll.max_redirects:
            raise FetchError(url, f"too many redirects (more than {self.poll.max_redirects})")
        if problem := _url_problem(target):
            raise FetchError(url, f"bad redirect: {problem}")
        chain.append(target)

    def _result(
        self,
        url: str,
        chain: list[str],
        codes: list[int],
        response: requests.Response,
        old: Validators,
        deadline: _Deadline,
    ) -> FetchResult:
        code = response.status_code
        headers = {name.lower(): value for name, value in response.headers.items()}
        moved = chain[-1] if codes and all(c in _PERMANENT for c in codes) else None
        base = FetchResult(url, chain[-1], "ok", code, None, headers, old, 0.0, moved)
        if code == 304:  # RFC 9110 §15.4.5: a 304 may carry updated validators
            return replace(base, status="not_modified", validators=_updated(old, headers))
        if not 200 <= code < 300:
            raise FetchError(url, f"HTTP {code} {_phrase(response)}", http_status=code)
        body = _read_capped(response, url, self.poll.max_bytes, deadline)
        digest = xxhash.xxh3_128_hexdigest(body)
        new = Validators(headers.get("etag"), headers.get("last-modified"), digest)
        if digest == old.body_hash:  # a server that ignores conditional GET
            return replace(base, status="unchanged", validators=new)
        return replace(base, body=body, validators=new)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _session(poll: Poll, user_agent: str) -> requests.Session:
    session = requests.Session()
    # No urllib3 retries: a failed poll is retried by the scheduler with backoff.
    adapter = _Adapter(pool_connections=max(10, poll.workers), pool_maxsize=poll.workers)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    )
    # Feeds are public: keep no cookies, so sources sharing a domain or a thread never
    # see each other's state and the jar cannot grow for the life of the daemon.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def _conditional_headers(validators: Validators) -> dict[str, str]:
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _redirect_target(response: requests.Response) -> str | None:
    location = response.headers.get("location")
    if response.status_code not in _REDIRECTS or not location:
        return None
    return urljoin(response.url, location)


def _updated(old: Validators, headers: Mapping[str, str]) -> Validators:
    etag = headers.get("etag") or old.etag
    return Validators(etag, headers.get("last-modified") or old.last_modified, old.body_hash)


def _phrase(response: requests.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason or "Unknown"


def _read_capped(response: requests.Response, url: str, cap: int, deadline: _Deadline) -> bytes:
    declared = response.headers.get("content-length", "")
    if not response.headers.get("content-encoding") and declared.isdigit() and int(declared) > cap:
        raise FetchError(url, f"body exceeds {_size(cap)}")
    body = io.BytesIO()  # getvalue() hands over its buffer: no second copy of a big body
    # read1, not read: urllib3 2's read(amt) blocks until amt bytes have arrived.
    # Decoding happens in read1, so the cap counts decompressed bytes.
    while chunk := response.raw.read1(_CHUNK, decode_content=True):
        body.write(chunk)
        if body.tell() > cap:
            raise FetchError(url, f"body exceeds {_size(cap)}")
        if deadline.passed():
            raise TimeoutError("deadline passed")
    return body.getvalue()


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return f"invalid URL: {url}"
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return f"unsupported location: {url}"
    return None


# --- error reasons ------------------------------------------------------------------


def _reason(exc: BaseException, url: str, deadline: _Deadline, poll: Poll) -> str:
    """A short, human reason for a network failure (one log line, one `error=` field)."""
    if deadline.passed():
        return f"timed out after {poll.timeout:g}s"
    causes = list(_causes(exc))
    request = getattr(exc, "request", None)  # the hop that failed, maybe a redirect target
    failed_url = getattr(request, "url", None) or url
    for kinds, describe in _REASONS:
        found = next((c for c in causes if isinstance(c, kinds)), None)
        if found is not None:
            return describe(found, failed_url, poll)
    return f"request failed: {type(exc).__name__}: {str(exc)[:200]}"


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


_Describe = Callable[[BaseException, str, Poll], str]
_REASONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], _Describe], ...] = (
    (
        (NameResolutionError, socket.gaierror),
        lambda e, url, p: f"DNS lookup failed: {urlsplit(url).hostname}",
    ),
    (ConnectionRefusedError, lambda e, url, p: "connection refused"),
    # Not urllib3's ConnectTimeoutError: every NewConnectionError subclasses it.
    (requests.ConnectTimeout, lambda e, url, p: f"connect timed out after {p.connect_timeout:g}s"),
    (
        (ReadTimeoutError, TimeoutError, requests.Timeout),
        lambda e, url, p: f"timed out after {p.timeout:g}s",
    ),
    (ssl.SSLError, _tls),
    (DecodeError, lambda e, url, p: "cannot decode compressed body"),
    (ConnectionResetError, lambda e, url, p: "connection reset by server"),
    (
        (ProtocolError, http.client.HTTPException),
        lambda e, url, p: "connection closed before the response was complete",
    ),
)


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} bytes"


# --- local files --------------------------------------------------------------------


def _is_local(location: str) -> bool:
    return location.startswith("file:") or os.path.isabs(location)


def _fetch_file(location: str, validators: Validators, cap: int) -> FetchResult:
    started = time.monotonic()
    path = Path(url2pathname(urlsplit(location).path) if location.startswith("file:") else location)
    try:
        with path.open("rb") as handle:
            modified = email.utils.formatdate(os.fstat(handle.fileno()).st_mtime, usegmt=True)
            body = handle.read(cap + 1)  # one byte more tells "exactly cap" from "too big"
    except FileNotFoundError as exc:
        raise FetchError(location, f"file not found: {path}") from exc
    except OSError as exc:
        raise FetchError(location, f"cannot read file {path}: {exc.strerror}") from exc
    if len(body) > cap:
        raise FetchError(location, f"body exceeds {_size(cap)}")
    digest = xxhash.xxh3_128_hexdigest(body)
    status: FetchStatus = "unchanged" if digest == validators.body_hash else "ok"
    elapsed = time.monotonic() - started
    kept = body if status == "ok" else None
    return FetchResult(
        location, location, status, None, kept, {}, Validators(None, modified, digest), elapsed
    )


# --- the fake -----------------------------------------------------------------------

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
