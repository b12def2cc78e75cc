"""HTTP server: a small WSGI app serving the published topic feeds. Reads files only.

`/feeds/<topic>.xml` is served from the output directory as `application/atom+xml`:
each version of a file is read, hashed and gzipped once (`_Published`), then served
with a strong ETag from its content (another one for the gzipped form, sent when the
client accepts gzip), Last-Modified, Cache-Control and `Vary: Accept-Encoding`; a
matching If-None-Match (or, without one, an If-Modified-Since not older than the
file) gets 304. `/` lists the topics with subscribe links (given an overview, it is
the status page); `/healthz` answers 200, or 503 with the reason the app gives;
`/opml` is the subscription list (OPML 2.0), when the app is given one. Only
configured topic ids map to files, so no request path can reach outside the feeds
directory.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config
from .schedule import http_date

if TYPE_CHECKING:
    from .status import Overview

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
ATOM = "application/atom+xml; charset=utf-8"
OPML = "text/x-opml; charset=utf-8"
HTML = "text/html; charset=utf-8"
METRICS = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus text format


class FeedApp:
    """The WSGI application. `config_ref` returns the config in force (it may be reloaded)."""

    def __init__(
        self,
        config_ref: Callable[[], Config],
        opml: Callable[[], bytes] | None = None,
        overview: Callable[[], Overview] | None = None,
        health: Callable[[], str | None] | None = None,
        metrics: Callable[[], bytes] | None = None,
    ) -> None:
        self._config = config_ref
        self._opml = opml  # the subscription list, made when asked
        self._overview = overview  # topics and sources for the status page
        self._health = health  # why the service is unhealthy, or None
        self._metrics = metrics  # Prometheus text exposition
        self._lock = threading.Lock()
        self._cache: dict[Path, _Published] = {}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", "method not allowed\n")
        if path == "/healthz":
            problem = self._health() if self._health is not None else None
            if problem is not None:
                return _plain(start_response, "503 Service Unavailable", problem + "\n")
            return _plain(start_response, "200 OK", "ok\n")
        if path == "/" and self._overview is not None:
            from .status import status_page

            page = status_page(self._config(), self._overview())
            return _send(environ, start_response, HTML, page, [("Cache-Control", "no-cache")])
        if path == "/":
            return self._index(start_response)
        if path == "/metrics" and self._metrics is not None:
            return _send(environ, start_response, METRICS, self._metrics())
        if path == "/opml" and self._opml is not None:
            return _send(environ, start_response, OPML, self._opml())
        if path.startswith("/feeds/") and path.endswith(".xml"):
            return self._feed(environ, start_response, path[len("/feeds/") : -len(".xml")])
        return _plain(start_response, "404 Not Found", "not found\n")

    def _feed(self, environ: Environ, start_response: StartResponse, topic: str) -> Iterable[bytes]:
        config = self._config()
        if topic not in config.topics:  # only known ids: nothing else can name a file
            return _plain(start_response, "404 Not Found", "no such topic\n")
        try:
            published = self._published(config.output_dir / f"{topic}.xml")
        except FileNotFoundError:
            return _plain(start_response, "404 Not Found", "topic not published yet\n")
        zipped = _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        etag = published.gzip_etag if zipped else published.etag
        headers = [
            ("ETag", etag),
            ("Last-Modified", formatdate(published.mtime, usegmt=True)),
            ("Cache-Control", "public, max-age=60"),
            ("Vary", "Accept-Encoding"),
        ]
        if _not_modified(environ, etag, published.mtime):
            start_response("304 Not Modified", [("Content-Type", ATOM), *headers])
            return []
        if zipped:
            headers.append(("Content-Encoding", "gzip"))
        data = published.gzipped if zipped else published.data
        return _send(environ, start_response, ATOM, data, headers)

    def _published(self, path: Path) -> _Published:
        """The file's current version, read, hashed and gzipped once per version."""
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached.version == version:
            return cached
        published = _Published.of(path.read_bytes(), version, stat.st_mtime)
        with self._lock:
            self._cache[path] = published
        return published

    def _index(self, start_response: StartResponse) -> Iterable[bytes]:
        config = self._config()
        links, items = [], []
        for topic_id, topic in config.topics.items():
            href = html.escape(f"/feeds/{topic_id}.xml")
            title = html.escape(topic.title)
            links.append(
                f'<link rel="alternate" type="application/atom+xml" title="{title}" href="{href}">'
            )
            items.append(f'<li><a href="{href}">{title}</a> <code>{href}</code></li>')
        page = (
            "<!doctype html><html><head><meta charset=utf-8><title>aggregator</title>"
            + "".join(links)
            + "</head><body><h1>aggregator</h1><h2>Topics</h2><ul>"
            + "".join(items)
            + "</ul></body></html>"
        ).encode()
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))],
        )
        return [page]


@dataclass(frozen=True, slots=True)
class _Published:
    """One version of a published feed file, in both encodings we serve."""

    version: tuple[int, int, int]  # mtime_ns, size, inode: a rewrite is a new version
    mtime: float
    data: bytes
    etag: str
    gzipped: bytes
    gzip_etag: str

    @classmethod
    def of(cls, data: bytes, version: tuple[int, int, int], mtime: float) -> _Published:
        tag = hashlib.sha256(data).hexdigest()[:32]
        # mtime=0: the same content always gzips to the same bytes (a stable ETag).
        gzipped = gzip.compress(data, compresslevel=6, mtime=0)
        return cls(version, mtime, data, f'"{tag}"', gzipped, f'"{tag}-gzip"')


def _accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip: named (or `*` when it is not) with q > 0."""
    qualities: dict[str, float] = {}
    for item in header.split(","):
        name, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[name.strip().lower()] = quality
    named = qualities.get("gzip", qualities.get("x-gzip"))
    return (named if named is not None else qualities.get("*", 0.0)) > 0


def _not_modified(environ: Environ, etag: str, mtime: float) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present (weak comparison); else
    If-Modified-Since, when the file is not newer than it (to the second)."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    when = http_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return when is not None and int(mtime) <= when.timestamp()  # invalid: ignored


def _send(
    environ: Environ,
    start_response: StartResponse,
    content_type: str,
    data: bytes,
    headers: Sequence[tuple[str, str]] = (),
) -> Iterable[bytes]:
    """200 with `data` (no body for HEAD, the same headers)."""
    sent = [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers]
    start_response("200 OK", sent)
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [data]


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [body]


class HttpServer:
    """waitress in a background thread; `close()` stops it."""

    def __init__(self, app: FeedApp, host: str, port: int) -> None:
        from waitress.server import create_server

        self._server = create_server(app, host=host, port=port, threads=4, ident="aggregator")
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)
        self._closing = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            # `close` closes the listening socket under the loop's select(): EBADF (or
            # ValueError for fd -1) there is the loop ending, not a failure.
            if not self._closing.is_set():
                raise

    def close(self) -> None:
        self._closing.set()
        # Requests being served finish first (5 s at most): waitress's close() alone
        # shuts the loop's wake-up pipe under them, and their thread then writes to a
        # closed descriptor, or to a file that reused its number (found by the soak).
        self._server.task_dispatcher.shutdown(timeout=5)
        self._server.close()
        self._thread.join(timeout=5)
