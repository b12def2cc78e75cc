"""Fetch stage: gets a source's bytes over HTTP(S) or from a local file; does not parse them.

`HttpFetcher` sends conditional GETs, follows redirects itself (to count them, to tell
permanent moves from temporary ones and to apply the per-host limits to every hop),
enforces a total deadline and a body cap measured after decompression, and turns every
library error into a `FetchError`. `FakeFetcher` is the fake at this seam for tests.
"""

from __future__ import annotations

import email.utils
import heapq
import http.client
import io
import itertools
import os
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeGuard
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import certifi
import xxhash
from urllib3 import PoolManager, ProxyManager, Timeout, make_headers
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.response import BaseHTTPResponse

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
_NETWORK_ERRORS = (Urllib3Error, http.client.HTTPException, OSError)


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
    so it never touches a connection another thread is using. A `_Watchdog` thread
    shared by all fetches expires it.
    """

    def __init__(self, seconds: float, watchdog: _Watchdog) -> None:
        self.seconds = seconds
        self.expired = False
        self.finished = False
        self._watchdog = watchdog
        self._ends: float | None = None
        self._conns: set[BaseHTTPConnection] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._ends is None:
            self._ends = time.monotonic() + self.seconds
            self._watchdog.watch(self, self._ends)

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

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            for conn in self._conns:
                _shutdown(conn)

    def __enter__(self) -> Self:
        _local.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _local.deadline = None
        with self._lock:
            self.finished = True
            self._conns.clear()


class _Watchdog:
    """One thread that expires the deadlines of a fetcher's fetches, soonest first: a
    timer thread per fetch would cost a thread start and exit for every poll."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, _Deadline]] = []  # a heap
        self._order = itertools.count()  # ties: never compare two deadlines
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, deadline: _Deadline, ends: float) -> None:
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="fetch-deadlines", daemon=True
                )
                self._thread.start()
            sooner = not self._due or ends < self._due[0][0]
            heapq.heappush(self._due, (ends, next(self._order), deadline))
            if sooner:  # else the thread already wakes up early enough: let it sleep
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                expired = self._pop_expired()
                if not expired:
                    if self._closed:
                        return
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(wait)
                    continue
            for deadline in expired:  # outside the lock: expiring takes the deadline's
                deadline.expire()

    def _pop_expired(self) -> list[_Deadline]:
        """Deadlines whose time has come; finished ones are dropped on the way."""
        now = time.monotonic()
        expired = []
        while self._due and (self._due[0][2].finished or self._due[0][0] <= now):
            deadline = heapq.heappop(self._due)[2]
            if not deadline.finished:
                expired.append(deadline)
        return expired


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


# --- HTTP ---------------------------------------------------------------------------


class HttpFetcher:
    """The real fetcher: one urllib3 pool manager (keep-alive connections per host)
    shared by all fetch threads.

    urllib3 directly, not requests: requests' per-request set-up (merging session
    settings, typing-protocol checks, environment look-ups) cost as much CPU as the
    HTTP exchange itself. What requests added that feeds need is kept: the CA bundle
    (certifi, or REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE) and proxies from the environment
    (`*_proxy`, `no_proxy`), both read once at start. Cookies are never kept (feeds
    are public; sources sharing a domain never see each other's state).
    """

    def __init__(self, poll: Poll, *, user_agent: str = USER_AGENT) -> None:
        self.poll = poll
        self.limiter = HostLimiter(poll.per_host, poll.host_spacing)
        self._headers = {"User-Agent": user_agent, "Accept": ACCEPT}
        self._headers["Accept-Encoding"] = "gzip, deflate"
        self._connections = _Connections(poll)
        self._watchdog = _Watchdog()

    def fetch(self, location: str, validators: Validators) -> FetchResult:
        if _is_local(location):
            return _fetch_file(location, validators, self.poll.max_bytes)
        if problem := _url_problem(location):
            raise FetchError(location, problem)
        started = time.monotonic()
        deadline = _Deadline(self.poll.timeout, self._watchdog)
        chain = [location]  # the URLs requested, redirects included
        try:
            with deadline:
                result = self._follow(chain, validators, deadline)
        except _NETWORK_ERRORS as exc:
            reason = _reason(exc, chain[-1], deadline, self.poll)
            raise FetchError(location, reason) from exc
        return replace(result, elapsed=time.monotonic() - started)

    def _follow(self, chain: list[str], validators: Validators, deadline: _Deadline) -> FetchResult:
        url = chain[0]
        headers = self._headers | _conditional_headers(validators)
        codes: list[int] = []
        while True:
            with self.limiter.slot(host_key(chain[-1])):
                deadline.start()
                with self._get(chain[-1], headers, deadline) as response:
                    target = _redirect_target(response, chain[-1])
                    if target is None:
                        return self._result(url, chain, codes, response, validators, deadline)
            codes.append(response.status)
            self._add_hop(url, chain, target)

    @contextmanager
    def _get(
        self, url: str, headers: dict[str, str], deadline: _Deadline
    ) -> Iterator[BaseHTTPResponse]:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        timeout = Timeout(connect=min(self.poll.connect_timeout, remaining), read=remaining)
        response = self._connections.for_url(url).urlopen(
            "GET",
            url,
            headers=headers,
            timeout=timeout,
            redirect=False,
            retries=False,  # a failed poll is retried by the scheduler, with backoff
            preload_content=False,
            decode_content=True,
        )
        try:
            yield response
        finally:
            # Closes the connection unless the body was read to its end (it is then
            # back in the pool already), and gives the pool its slot back.
            response.close()
            response.release_conn()

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
        response: BaseHTTPResponse,
        old: Validators,
        deadline: _Deadline,
    ) -> FetchResult:
        code = response.status
        # Repeated headers read as one, values joined by ", " (RFC 9110 §5.3).
        headers = {name.lower(): response.headers[name] for name in response.headers}
        moved = chain[-1] if codes and all(c in _PERMANENT for c in codes) else None
        base = FetchResult(url, chain[-1], "ok", code, None, headers, old, 0.0, moved)
        if code == 304:  # RFC 9110 §15.4.5: a 304 may carry updated validators
            _finish_empty_body(response)
            return replace(base, status="not_modified", validators=_updated(old, headers))
        if not 200 <= code < 300:
            raise FetchError(url, f"HTTP {code} {_phrase(response)}", http_status=code)
        body = _read_capped(response, headers, url, self.poll.max_bytes, deadline)
        digest = xxhash.xxh3_128_hexdigest(body)
        new = Validators(headers.get("etag"), headers.get("last-modified"), digest)
        if digest == old.body_hash:  # a server that ignores conditional GET
            return replace(base, status="unchanged", validators=new)
        return replace(base, body=body, validators=new)

    def close(self) -> None:
        self._connections.clear()
        self._watchdog.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Connections:
    """Connection pools: direct, or through the proxy the environment names for a URL.

    The environment is read once: a process's environment does not change while it
    runs. Proxy selection and `no_proxy` follow requests (its helpers are used, and
    loaded only when a proxy is configured)."""

    def __init__(self, poll: Poll) -> None:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        bundle = bundle or certifi.where()
        where = "ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"
        self._options: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED", where: bundle}
        self._options |= {"maxsize": poll.workers, "block": False}
        self._pools = max(10, poll.workers)
        self._direct = PoolManager(self._pools, **self._options)
        self._direct.pool_classes_by_scheme = _WATCHED_POOLS
        self._proxies = urllib.request.getproxies()
        self._via: dict[str, ProxyManager] = {}
        self._lock = threading.Lock()

    def for_url(self, url: str) -> PoolManager:
        if not self._proxies:
            return self._direct
        from requests.utils import select_proxy, should_bypass_proxies

        if should_bypass_proxies(url, no_proxy=None):  # None: from the environment
            return self._direct
        proxy = select_proxy(url, self._proxies)
        return self._direct if proxy is None else self._proxy(proxy)

    def _proxy(self, proxy: str) -> ProxyManager:
        with self._lock:
            manager = self._via.get(proxy)
            if manager is None:
                from requests.utils import get_auth_from_url

                username, password = get_auth_from_url(proxy)
                auth = f"{username}:{password}" if username else None
                headers = make_headers(proxy_basic_auth=auth) if auth else None
                manager = ProxyManager(proxy, self._pools, proxy_headers=headers, **self._options)
                manager.pool_classes_by_scheme = _WATCHED_POOLS
                self._via[proxy] = manager
            return manager

    def clear(self) -> None:
        self._direct.clear()
        with self._lock:
            for manager in self._via.values():
                manager.clear()


def _conditional_headers(validators: Validators) -> dict[str, str]:
    headers = {}
    if _sendable(validators.etag):
        headers["If-None-Match"] = validators.etag
    if _sendable(validators.last_modified):
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _sendable(value: str | None) -> TypeGuard[str]:
    # A stored validator with a line break (a folded header) cannot be sent back.
    return bool(value) and "\r" not in value and "\n" not in value  # type: ignore[operator]


def _redirect_target(response: BaseHTTPResponse, url: str) -> str | None:
    location = response.headers.get("location")
    if response.status not in _REDIRECTS or not location:
        return None
    return urljoin(url, location)


def _updated(old: Validators, headers: Mapping[str, str]) -> Validators:
    etag = headers.get("etag") or old.etag
    return Validators(etag, headers.get("last-modified") or old.last_modified, old.body_hash)


def _phrase(response: BaseHTTPResponse) -> str:
    try:
        return HTTPStatus(response.status).phrase
    except ValueError:
        return response.reason or "Unknown"


def _read_capped(
    response: BaseHTTPResponse, headers: Mapping[str, str], url: str, cap: int, deadline: _Deadline
) -> bytes:
    declared = headers.get("content-length", "")
    if not headers.get("content-encoding") and declared.isdigit() and int(declared) > cap:
        raise FetchError(url, f"body exceeds {_size(cap)}")
    body = io.BytesIO()  # getvalue() hands over its buffer: no second copy of a big body
    # read1, not read: urllib3 2's read(amt) blocks until amt bytes have arrived.
    # Decoding happens in read1, so the cap counts decompressed bytes.
    while chunk := response.read1(_CHUNK, decode_content=True):
        body.write(chunk)
        if body.tell() > cap:
            raise FetchError(url, f"body exceeds {_size(cap)}")
        if deadline.passed():
            raise TimeoutError("deadline passed")
    return body.getvalue()


def _finish_empty_body(response: BaseHTTPResponse) -> None:
    """Read a 304's (empty) body to its end: urllib3 then returns the connection to the
    pool, where closing the unread response would close it, so the next poll of the
    host reuses it instead of opening a new TCP connection."""
    with suppress(*_NETWORK_ERRORS):
        response.read(decode_content=False)


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


def _reason(exc: BaseException, failed_url: str, deadline: _Deadline, poll: Poll) -> str:
    """A short, human reason for a network failure (one log line, one `error=` field).

    `failed_url` is the request that failed, maybe a redirect target."""
    if deadline.passed():
        return f"timed out after {poll.timeout:g}s"
    causes = list(_causes(exc))
    for matches, describe in _REASONS:
        found = next((c for c in causes if matches(c)), None)
        if found is not None:
            return describe(found, failed_url, poll)
    return f"request failed: {type(exc).__name__}: {str(exc)[:200]}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: urllib3 nests errors in args/reason."""
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


_Describe = Callable[[BaseException, str, Poll], str]
_REASONS: tuple[tuple[Callable[[BaseException], bool], _Describe], ...] = (
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
