"""The HTTP server (waitress and `server.FeedApp`) over real loopback sockets."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import logging
import os
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from aggregator.config import Config, parse_config
from aggregator.server import FeedApp, HttpServer

ATOM = b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
BODY = ATOM + b"<title>News</title>" + b"<entry><title>x</title></entry>" * 50 + b"</feed>"
Response = tuple[int, dict[str, str], bytes]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[HttpServer, Config]]:
    config = parse_config(
        {
            "topics": {"news": {"title": "News"}, "later": {"title": "Later"}},
            "sources": [],
            "output": {"dir": "out"},
        },
        tmp_path,
    )
    config.output_dir.mkdir(parents=True)
    (config.output_dir / "news.xml").write_bytes(BODY)
    (tmp_path / "secret.txt").write_text("do not serve")
    server = HttpServer(FeedApp(lambda: config), "127.0.0.1", 0)
    server.start()
    try:
        yield server, config
    finally:
        server.close()


def request(
    server: HttpServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_a_feed_with_its_caching_headers(served: tuple[HttpServer, Config]) -> None:
    server, _ = served
    status, headers, body = request(server, "/feeds/news.xml")
    assert (status, body) == (200, BODY)
    assert headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert headers["etag"].startswith('"') and headers["etag"].endswith('"')
    assert headers["cache-control"] == "public, max-age=60"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["content-length"] == str(len(BODY))
    assert "content-encoding" not in headers
    assert request(server, "/feeds/news.xml")[1]["etag"] == headers["etag"]  # stable


def test_if_none_match_and_if_modified_since(served: tuple[HttpServer, Config]) -> None:
    server, config = served
    _, headers, _ = request(server, "/feeds/news.xml")
    etag, modified = headers["etag"], headers["last-modified"]
    assert request(server, "/feeds/news.xml", {"If-None-Match": etag})[0] == 304
    assert request(server, "/feeds/news.xml", {"If-None-Match": f'"x", W/{etag}'})[0] == 304
    assert request(server, "/feeds/news.xml", {"If-Modified-Since": modified})[0] == 304
    older = formatdate(time.time() - 3600 * 24 * 400, usegmt=True)
    assert request(server, "/feeds/news.xml", {"If-Modified-Since": older})[0] == 200
    both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert request(server, "/feeds/news.xml", both)[0] == 200  # If-None-Match decides
    assert request(server, "/feeds/news.xml", {"If-Modified-Since": "yesterday"})[0] == 200
    # A new version of the file: a new ETag, the old one no longer matches.
    path = config.output_dir / "news.xml"
    path.write_bytes(BODY.replace(b"News", b"Fresh news"))
    os.utime(path, (time.time() + 5, time.time() + 5))
    status, fresh, body = request(server, "/feeds/news.xml", {"If-None-Match": etag})
    assert status == 200 and b"Fresh news" in body and fresh["etag"] != etag


@pytest.mark.parametrize(
    "accept", ["gzip", "deflate, gzip;q=0.5", "*", "br, x-gzip", "*;q=0, gzip"]
)
def test_gzip_when_accepted(served: tuple[HttpServer, Config], accept: str) -> None:
    server, _ = served
    plain_etag = request(server, "/feeds/news.xml")[1]["etag"]
    status, headers, body = request(server, "/feeds/news.xml", {"Accept-Encoding": accept})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == BODY and len(body) < len(BODY)
    assert headers["content-length"] == str(len(body))
    assert headers["etag"] != plain_etag  # another representation, another strong tag
    again = {"Accept-Encoding": accept, "If-None-Match": headers["etag"]}
    assert request(server, "/feeds/news.xml", again)[0] == 304


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br", "*;q=0", "gzip;q=oops"])
def test_no_gzip_unless_accepted(served: tuple[HttpServer, Config], accept: str) -> None:
    status, headers, body = request(served[0], "/feeds/news.xml", {"Accept-Encoding": accept})
    assert (status, body) == (200, BODY) and "content-encoding" not in headers


def test_head_has_the_headers_and_no_body(served: tuple[HttpServer, Config]) -> None:
    status, headers, body = request(served[0], "/feeds/news.xml", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len(BODY))


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/missing.xml",  # no such topic
        "/feeds/later.xml",  # a topic not published yet
        "/feeds/news.atom",
        "/nothing",
        "/feeds/../secret.txt",
        "/feeds/..%2Fsecret.txt",
        "/feeds/..%2F..%2Fsecret.txt.xml",
        "/feeds/%2e%2e/secret.xml",
        "/feeds/news.xml/../../secret.txt",
        "//secret.txt",
        "/feeds//etc/passwd.xml",
        "/feeds/news%00.xml",
    ],
)
def test_nothing_outside_the_published_feeds(served: tuple[HttpServer, Config], path: str) -> None:
    status, headers, body = request(served[0], path)
    assert status in (400, 404)
    assert b"do not serve" not in body and b"root:" not in body
    assert headers["content-type"].startswith("text/plain")


def test_content_types_of_the_other_pages(served: tuple[HttpServer, Config]) -> None:
    server, _ = served
    status, headers, body = request(server, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<link rel="alternate" type="application/atom+xml"' in body
    status, headers, body = request(server, "/healthz")
    assert (status, body) == (200, b"ok\n")
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert request(server, "/feeds/news.xml", method="POST")[0] == 405


def test_the_subscription_list_when_given(tmp_path: Path) -> None:
    config = parse_config({"topics": {"t": {"title": "T"}}, "sources": []}, tmp_path)
    server = HttpServer(FeedApp(lambda: config, opml=lambda: b"<opml/>"), "127.0.0.1", 0)
    server.start()
    try:
        status, headers, body = request(server, "/opml")
    finally:
        server.close()
    assert (status, body) == (200, b"<opml/>")
    assert headers["content-type"] == "text/x-opml; charset=utf-8"


def test_no_subscription_list_unless_given(served: tuple[HttpServer, Config]) -> None:
    assert request(served[0], "/opml")[0] == 404


def test_closing_while_a_request_is_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the soak (bench/soak.py): `close` shut waitress's wake-up pipe under a
    request still being served, whose thread then wrote to the closed descriptor (or to
    whatever file had reused its number): EBADF, logged as an error with a traceback."""
    config = parse_config({"topics": {"t": {"title": "T"}}, "sources": []}, tmp_path)
    entered, release = threading.Event(), threading.Event()

    def slow_metrics() -> bytes:
        entered.set()
        release.wait(10)
        return b"up 1\n"

    def client() -> None:  # the answer may be cut off by the close: not asserted
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection.request("GET", "/metrics")
            connection.getresponse().read()
        connection.close()

    server = HttpServer(FeedApp(lambda: config, metrics=slow_metrics), "127.0.0.1", 0)
    server.start()
    asking = threading.Thread(target=client)
    asking.start()
    assert entered.wait(10)
    closing = threading.Thread(target=server.close)
    closing.start()
    time.sleep(0.3)  # close() is under way while the request is still being served
    release.set()
    closing.join(10)
    asking.join(10)
    time.sleep(0.3)  # what the request's thread does after it is released
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
