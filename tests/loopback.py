"""A loopback HTTP server for tests: real sockets on 127.0.0.1; it never touches the network.

Start one with the `loopback` fixture (tests/conftest.py) or `Loopback().start()` /
`with Loopback() as server:`. It answers GET; routes match the URL path exactly (query
ignored); anything unrouted is a 404. Handlers take a `Request` and return a `Reply`.

    server.url("/feed")                            -> "http://127.0.0.1:PORT/feed"
    server.route(path, body, status=200, headers=None, encoding=None, delay=0.0)
        a fixed reply; encoding "gzip" or "deflate" compresses it; delay (s) before replying
    server.feed(path, body, etag='"v1"', last_modified=LAST_MODIFIED, conditional=True)
        a feed with validators, 304 when If-None-Match (else If-Modified-Since) matches;
        conditional=False ignores validators and resends the identical body every time
    server.redirect(path, to, status=302)          to: a path on this server or a full URL
    server.drip(path, body, interval, head=False, length=True)
                                                   one byte per interval (head too if asked)
    server.endless(path)                           a body that never ends
    server.handle(path, handler)                   handler(Request) -> Reply, for anything else

    server.requests / server.requests_to(path)     every Request(method, path, headers, started)
                                                   (none kept with `Loopback(record=False)`)
    server.max_in_flight                           most requests ever being served at once
    server.connections                             TCP connections ever accepted

`stop()` ends slow and endless replies, closes kept-alive connections and joins every
handler thread, so a test leaves no thread or socket behind.
"""

from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"
ATOM = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """One request as the server received it; header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str]
    started: float  # time.monotonic() when the request head had been read


@dataclass(frozen=True)
class Reply:
    """What a handler answers. A bytes body gets a Content-Length; an iterable body is
    streamed, then the connection is closed (a Content-Length header stays as given)."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    pace: float = 0.0  # if set, the head is written one byte per `pace` seconds


Handler = Callable[[Request], Reply]


class Loopback:
    """The server; see the module docstring."""

    def __init__(self, *, record: bool = True) -> None:
        self.stopping = threading.Event()
        self.record = record  # False: `requests` stays empty (a long soak would pile them up)
        self._routes: dict[str, Handler] = {}
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self.connections = 0  # connections ever accepted: keep-alive reuse shows here
        self._sockets: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _handler_class(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        with self._lock:
            live = list(self._sockets)
        for sock in live:  # wakes handlers waiting on kept-alive connections
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the handler threads
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- routes -------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def handle(self, path: str, handler: Handler) -> None:
        self._routes[path] = handler

    def route(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        encoding: str | None = None,
        delay: float = 0.0,
    ) -> None:
        reply = encode(Reply(status, body, dict(headers or {}), delay), encoding)
        self.handle(path, lambda request: reply)

    def feed(
        self,
        path: str,
        body: bytes,
        *,
        etag: str | None = '"v1"',
        last_modified: str | None = LAST_MODIFIED,
        conditional: bool = True,
        encoding: str | None = None,
    ) -> None:
        validators = {"ETag": etag, "Last-Modified": last_modified}
        kept = {name: value for name, value in validators.items() if value is not None}
        full = encode(Reply(200, body, {"Content-Type": ATOM, **kept}), encoding)

        def reply(request: Request) -> Reply:
            if conditional and not_modified(request, etag, last_modified):
                return Reply(304, b"", kept)
            return full

        self.handle(path, reply)

    def redirect(self, path: str, to: str, *, status: int = 302) -> None:
        self.route(path, status=status, headers={"Location": to})

    def drip(
        self, path: str, body: bytes, *, interval: float, head: bool = False, length: bool = True
    ) -> None:
        headers = {"Content-Type": ATOM}
        if length:  # without one, the end of the body is the end of the connection
            headers["Content-Length"] = str(len(body))
        pace = interval if head else 0.0
        self.handle(path, lambda request: Reply(200, self._paced(body, interval), headers, 0, pace))

    def endless(self, path: str, chunk: bytes = b"<x>" + b"a" * 65536 + b"</x>") -> None:
        def forever() -> Iterator[bytes]:
            while not self.stopping.is_set():
                yield chunk

        self.handle(path, lambda request: Reply(200, forever(), {"Content-Type": ATOM}))

    def _paced(self, body: bytes, interval: float) -> Iterator[bytes]:
        for byte in body:
            if self.stopping.wait(interval):
                return
            yield bytes([byte])

    # --- what was received --------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def _arrived(self, request: Request) -> Handler:
        with self._lock:
            if self.record:
                self._requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        return self._routes.get(urlsplit(request.path).path, _not_found)

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _track(self, sock: socket.socket, live: bool) -> None:
        with self._lock:
            self.connections += live
            (self._sockets.add if live else self._sockets.discard)(sock)


def _not_found(request: Request) -> Reply:
    return Reply(404, b"not found", {"Content-Type": "text/plain"})


class _Server(ThreadingHTTPServer):
    # Non-daemon handler threads, so server_close() joins them: stop() leaves nothing behind.
    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # a client hanging up is routine


def _handler_class(server: Loopback) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the fetcher's pool expects
        timeout = 30  # an idle kept-alive connection cannot hold stop() forever

        def handle(self) -> None:
            server._track(self.connection, True)
            try:
                super().handle()
            finally:
                server._track(self.connection, False)

        def do_GET(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(self.command, self.path, headers, time.monotonic())
            handler = server._arrived(request)
            try:
                self._send(handler(request))
            finally:
                server._done()

        def _send(self, reply: Reply) -> None:
            if reply.delay and server.stopping.wait(reply.delay):
                return
            headers = dict(reply.headers)
            if isinstance(reply.body, bytes) and reply.status not in (204, 304):
                headers.setdefault("Content-Length", str(len(reply.body)))
            if not isinstance(reply.body, bytes):
                # A streamed body ends the connection: it delimits a body without a length,
                # and a declared length the stream falls short of becomes a truncated body.
                self.close_connection = True
                headers.setdefault("Connection", "close")
            self._write_head(reply, headers)
            for chunk in [reply.body] if isinstance(reply.body, bytes) else reply.body:
                self.wfile.write(chunk)
                self.wfile.flush()

        def _write_head(self, reply: Reply, headers: Mapping[str, str]) -> None:
            phrase = HTTPStatus(reply.status).phrase
            lines = [
                f"HTTP/1.1 {reply.status} {phrase}",
                *(f"{k}: {v}" for k, v in headers.items()),
            ]
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            if not reply.pace:
                self.wfile.write(head)
                return
            for byte in head:
                if server.stopping.wait(reply.pace):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests assert on server.requests, not on stderr

    return _Handler


def encode(reply: Reply, encoding: str | None) -> Reply:
    """`reply` with its bytes body compressed as Content-Encoding `encoding`."""
    if encoding is None:
        return reply
    assert isinstance(reply.body, bytes)
    # "deflate" is the zlib format (RFC 9110 §8.4.1.2), not a raw deflate stream.
    body = gzip.compress(reply.body) if encoding == "gzip" else zlib.compress(reply.body)
    headers = {**reply.headers, "Content-Encoding": encoding}
    return Reply(reply.status, body, headers, reply.delay, reply.pace)


def not_modified(request: Request, etag: str | None, last_modified: str | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        return etag is not None and (tags.strip() == "*" or etag in map(str.strip, tags.split(",")))
    since = request.headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        return parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
