"""HTTP server: a small WSGI app serving the published topic feeds. Reads files only.

`/feeds/<topic>.xml` is served from the output directory with a strong ETag from
the content and 304 for a matching If-None-Match; `/` lists the topics with
subscribe links; `/healthz` answers 200. Only configured topic ids map to files, so
no request path can reach outside the feeds directory.
"""

from __future__ import annotations

import hashlib
import html
import threading
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

from .config import Config

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
ATOM = "application/atom+xml; charset=utf-8"


class FeedApp:
    """The WSGI application. `config_ref` returns the config in force (it may be reloaded)."""

    def __init__(self, config_ref: Callable[[], Config]) -> None:
        self._config = config_ref

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", "method not allowed\n")
        if path == "/healthz":
            return _plain(start_response, "200 OK", "ok\n")
        if path == "/":
            return self._index(start_response)
        if path.startswith("/feeds/") and path.endswith(".xml"):
            return self._feed(environ, start_response, path[len("/feeds/") : -len(".xml")])
        return _plain(start_response, "404 Not Found", "not found\n")

    def _feed(self, environ: Environ, start_response: StartResponse, topic: str) -> Iterable[bytes]:
        config = self._config()
        if topic not in config.topics:  # only known ids: nothing else can name a file
            return _plain(start_response, "404 Not Found", "no such topic\n")
        path = config.output_dir / f"{topic}.xml"
        try:
            data = path.read_bytes()
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return _plain(start_response, "404 Not Found", "topic not published yet\n")
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = [
            ("Content-Type", ATOM),
            ("ETag", etag),
            ("Last-Modified", formatdate(mtime, usegmt=True)),
            ("Cache-Control", "public, max-age=60"),
        ]
        if etag in _etags(environ.get("HTTP_IF_NONE_MATCH", "")):
            start_response("304 Not Modified", headers)
            return [b""]
        start_response("200 OK", [*headers, ("Content-Length", str(len(data)))])
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else data]

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


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


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
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)
