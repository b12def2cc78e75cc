"""Full-text fetcher against a real loopback HTTP server; names resolved by a fake resolver.

Nothing here touches the network: every fetch goes to 127.0.0.1, and host names other
than IP literals are resolved only by the resolvers the tests inject.
"""

from __future__ import annotations

import gzip
import http.server
import ipaddress
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator import USER_AGENT
from aggregator.fulltext import (
    MAX_REDIRECTS,
    FullTextFetcher,
    FullTextResult,
    FullTextSettings,
    IPAddress,
    check_address,
    extract_article,
)
from tests.loopback import Loopback, Reply

HTML = "text/html; charset=utf-8"
LOCAL = FullTextSettings(timeout=5.0, max_bytes=64 * 1024, allow_private=True)

ARTICLE_PARAGRAPHS = [
    "The river authority confirmed on Tuesday that the old stone weir below the mill "
    "will be rebuilt over the coming summer, ending a decade of temporary repairs.",
    "Engineers found that the foundations had been undermined by two winters of high "
    "water, and that patching them again would cost nearly as much as starting afresh.",
    "Residents who use the towpath will be diverted across the footbridge while the "
    "work goes on; the authority expects the path to reopen before the autumn rains.",
    "Anglers have asked for a fish pass to be built into the new structure, and the "
    "authority said the design now includes one, paid for by a regional grant.",
]
BOILERPLATE = [
    "Subscribe to our newsletter",
    "Share on Twitter",
    "Weekly Riverside Gazette, all rights reserved",
    "Great news, finally!",  # a reader comment
    "Most read this week",
    "Accept all cookies",
]

ARTICLE_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Weir to be rebuilt this summer | Riverside Gazette</title>
  <link rel="stylesheet" href="/static/site.css">
  <script>window.analytics = {{queue: []}};</script>
</head>
<body>
  <div class="cookie-banner">We use cookies. <button>Accept all cookies</button></div>
  <header class="site-header">
    <a class="logo" href="/">Riverside Gazette</a>
    <nav class="main-nav">
      <ul>
        <li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
        <li><a href="/weather">Weather</a></li><li><a href="/opinion">Opinion</a></li>
      </ul>
    </nav>
    <form class="search"><input name="q" placeholder="Search"></form>
  </header>
  <main>
    <article class="story">
      <h1>Weir to be rebuilt this summer</h1>
      <p class="byline">By A. Reporter, 3 March</p>
      <div class="share">
        <a href="https://twitter.example/share">Share on Twitter</a>
        <a href="https://facebook.example/share">Share on Facebook</a>
      </div>
      <div class="story-body">
        <p>{ARTICLE_PARAGRAPHS[0]}</p>
        <p>{ARTICLE_PARAGRAPHS[1]}</p>
        <figure><img src="/images/weir.jpg" alt="The old weir"><figcaption>The old weir
          in March.</figcaption></figure>
        <p>{ARTICLE_PARAGRAPHS[2]} See <a href="/news/towpath-map">the diversion map</a>.</p>
        <p>{ARTICLE_PARAGRAPHS[3]}</p>
      </div>
      <aside class="newsletter">
        <h3>Subscribe to our newsletter</h3>
        <p>Get the best stories from the valley in your inbox every morning.</p>
      </aside>
    </article>
    <section id="comments" class="comments">
      <h2>Comments (2)</h2>
      <div class="comment"><p class="author">Jo</p><p>Great news, finally!</p></div>
      <div class="comment"><p class="author">Sam</p><p>About time they fixed it.</p></div>
    </section>
    <aside class="sidebar">
      <h2>Most read this week</h2>
      <ol><li><a href="/news/1">Bridge closed</a></li><li><a href="/news/2">Fete</a></li></ol>
    </aside>
  </main>
  <footer class="site-footer">
    <p>&copy; 2024 Weekly Riverside Gazette, all rights reserved.</p>
    <a href="/privacy">Privacy</a> <a href="/contact">Contact us</a>
  </footer>
</body>
</html>
""".encode()


@pytest.fixture
def fetcher() -> Iterator[FullTextFetcher]:
    with FullTextFetcher(LOCAL) as fetcher:
        yield fetcher


def make_fetcher(**changes: Any) -> FullTextFetcher:
    """A fetcher; `resolver`, `is_public` go to it, anything else to the settings."""
    options = {k: changes.pop(k) for k in ("resolver", "is_public") if k in changes}
    settings = FullTextSettings(**({"timeout": 5.0, "max_bytes": 64 * 1024} | changes))
    return FullTextFetcher(settings, **options)


def fixed_resolver(table: dict[str, list[str]], calls: list[str] | None = None) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def only(*allowed: str) -> Callable[[IPAddress], bool]:
    """An is_public predicate under which exactly `allowed` count as public."""
    addresses = {ipaddress.ip_address(a) for a in allowed}
    return lambda address: address in addresses


# --- extraction ---------------------------------------------------------------------


def test_extracts_article_paragraphs_without_boilerplate(
    loopback: Loopback, fetcher: FullTextFetcher
) -> None:
    loopback.route("/news/weir", ARTICLE_PAGE, headers={"Content-Type": HTML})
    url = loopback.url("/news/weir")

    result = fetcher.fetch_article(url)

    assert result.error is None and result.url == url
    assert result.html is not None
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in result.html
    for text in BOILERPLATE:
        assert text not in result.html
    assert f'href="{loopback.url("/news/towpath-map")}"' in result.html  # made absolute
    assert not result.html.startswith("<html")  # a fragment, ready for the clean stage


def test_request_names_us_and_asks_for_html(loopback: Loopback, fetcher: FullTextFetcher) -> None:
    loopback.route("/a", ARTICLE_PAGE, headers={"Content-Type": HTML})

    fetcher.fetch_article(loopback.url("/a"))

    (seen,) = loopback.requests
    assert seen.headers["user-agent"] == USER_AGENT
    assert seen.headers["accept"].startswith("text/html")


ACCENTED = ARTICLE_PAGE.replace(b"stone weir", "stone wéir".encode())


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param(
            "text/html; charset=iso-8859-1",
            ACCENTED.replace(b'<meta charset="utf-8">', b"").decode().encode("latin-1"),
            id="charset-from-header",
        ),
        pytest.param("text/html", ACCENTED, id="charset-sniffed-from-meta"),
        pytest.param("text/html; charset=x-unknown", ACCENTED, id="unknown-charset-sniffed"),
        pytest.param("application/xhtml+xml", ACCENTED, id="xhtml"),
    ],
)
def test_decodes_by_header_else_sniffs(
    loopback: Loopback, fetcher: FullTextFetcher, content_type: str, body: bytes
) -> None:
    loopback.route("/a", body, headers={"Content-Type": content_type})

    result = fetcher.fetch_article(loopback.url("/a"))

    assert result.html is not None and "the old stone wéir below" in result.html


def test_gzip_body_is_decompressed(loopback: Loopback, fetcher: FullTextFetcher) -> None:
    loopback.route("/a", ARTICLE_PAGE, headers={"Content-Type": HTML}, encoding="gzip")

    result = fetcher.fetch_article(loopback.url("/a"))

    assert result.html is not None and ARTICLE_PARAGRAPHS[0] in result.html


def test_follows_redirects_to_the_article(loopback: Loopback, fetcher: FullTextFetcher) -> None:
    loopback.redirect("/short", "/moved", status=301)
    loopback.redirect("/moved", "/news/weir", status=302)
    loopback.route("/news/weir", ARTICLE_PAGE, headers={"Content-Type": HTML})

    result = fetcher.fetch_article(loopback.url("/short"))

    assert result.url == loopback.url("/short")
    assert result.html is not None and ARTICLE_PARAGRAPHS[3] in result.html
    # links resolve against the page's own URL, not the one the entry gave
    assert f'href="{loopback.url("/news/towpath-map")}"' in result.html


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            b"<html><body><p>Read the full story in our app.</p></body></html>", id="short"
        ),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\xff\xfe binary", id="binary"),
        pytest.param("<p>" + "word " * 40 + "</p>", id="under-50-words"),
    ],
)
def test_no_article_found(document: str | bytes) -> None:
    assert extract_article(document, "https://news.example/a") == (None, "no article found")


# --- failures -------------------------------------------------------------------------


def _redirect_chain(server: Loopback, length: int) -> None:
    for n in range(length):
        server.redirect(f"/r{n}", f"/r{n + 1}")
    server.route(f"/r{length}", ARTICLE_PAGE, headers={"Content-Type": HTML})


FAILURES: list[Any] = [
    pytest.param(
        lambda s: s.route("/r0", b"gone", status=404, headers={"Content-Type": "text/plain"}),
        "HTTP 404 Not Found",
        id="404",
    ),
    pytest.param(
        lambda s: s.route("/r0", b"oops", status=503),
        "HTTP 503 Service Unavailable",
        id="503",
    ),
    pytest.param(
        lambda s: s.route("/r0", b"%PDF-1.7", headers={"Content-Type": "application/pdf"}),
        "not HTML (application/pdf)",
        id="pdf",
    ),
    pytest.param(
        lambda s: s.route("/r0", b"<p>hi</p>"), "not HTML (no content type)", id="no-type"
    ),
    pytest.param(
        lambda s: s.route("/r0", b"<p>x</p>" * 20000, headers={"Content-Type": HTML}),
        "body exceeds 64.0 KiB",
        id="too-big-declared",
    ),
    pytest.param(
        lambda s: s.route(
            "/r0", b"<p>x</p>" * 20000, headers={"Content-Type": HTML}, encoding="gzip"
        ),
        "body exceeds 64.0 KiB",
        id="too-big-after-gunzip",
    ),
    pytest.param(
        lambda s: s.handle(
            "/r0", lambda r: Reply(200, iter([b"<p>x</p>"] * 20000), {"Content-Type": HTML})
        ),
        "body exceeds 64.0 KiB",
        id="too-big-undeclared",
    ),
    pytest.param(
        lambda s: (s.redirect("/r0", "/r1"), s.redirect("/r1", "/r0")),
        "redirect loop at {url}/r0",
        id="redirect-loop",
    ),
    pytest.param(
        lambda s: _redirect_chain(s, MAX_REDIRECTS + 1),
        f"too many redirects (more than {MAX_REDIRECTS})",
        id="too-many-redirects",
    ),
    pytest.param(
        lambda s: s.redirect("/r0", "file:///etc/passwd"),
        "bad redirect: not an http(s) URL: file:///etc/passwd",
        id="redirect-to-file",
    ),
    pytest.param(
        lambda s: s.route(
            "/r0",
            b"<html><body><p>Log in to read.</p></body></html>",
            headers={"Content-Type": HTML},
        ),
        "no article found",
        id="teaser-page",
    ),
]


@pytest.mark.parametrize(("setup", "error"), FAILURES)
def test_failures_are_results(
    loopback: Loopback, fetcher: FullTextFetcher, setup: Callable[[Loopback], object], error: str
) -> None:
    setup(loopback)
    url = loopback.url("/r0")

    result = fetcher.fetch_article(url)

    assert result == FullTextResult(url, None, error.format(url=f"http://{loopback.host}"))


def test_exactly_max_redirects_are_followed(loopback: Loopback, fetcher: FullTextFetcher) -> None:
    _redirect_chain(loopback, MAX_REDIRECTS)

    result = fetcher.fetch_article(loopback.url("/r0"))

    assert result.error is None
    assert len(loopback.requests) == MAX_REDIRECTS + 1


def _dripping(server: Loopback, pace: float, head: bool) -> Callable[[Any], Reply]:
    def body() -> Iterator[bytes]:
        for byte in ARTICLE_PAGE:
            if server.stopping.wait(pace):
                return
            yield bytes([byte])

    return lambda request: Reply(200, body(), {"Content-Type": HTML}, pace=pace if head else 0.0)


@pytest.mark.parametrize("head", [pytest.param(False, id="body"), pytest.param(True, id="head")])
def test_slow_server_times_out_at_the_total_deadline(loopback: Loopback, head: bool) -> None:
    loopback.handle("/slow", _dripping(loopback, 0.02, head))
    url = loopback.url("/slow")

    with make_fetcher(timeout=0.5, allow_private=True) as fetcher:
        started = time.monotonic()
        result = fetcher.fetch_article(url)
        elapsed = time.monotonic() - started

    assert result == FullTextResult(url, None, "timed out after 0.5s")
    assert 0.4 < elapsed < 1.5


def test_refused_connection_is_a_result(fetcher: FullTextFetcher) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a"

    assert fetcher.fetch_article(url) == FullTextResult(url, None, "connection refused")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        pytest.param("file:///etc/passwd", "not an http(s) URL: file:///etc/passwd", id="file"),
        pytest.param("ftp://news.example/a", "not an http(s) URL: ftp://news.example/a", id="ftp"),
        pytest.param("http:///path-only", "not an http(s) URL: http:///path-only", id="no-host"),
        pytest.param(
            "http://news.example:99999/", "invalid URL: http://news.example:99999/", id="bad-port"
        ),
    ],
)
def test_bad_urls_are_refused(fetcher: FullTextFetcher, url: str, error: str) -> None:
    assert fetcher.fetch_article(url) == FullTextResult(url, None, error)


# --- the SSRF guard -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "addresses", "expected"),
    [
        pytest.param("news.example", ["93.184.216.34"], None, id="public-v4"),
        pytest.param("news.example", ["2606:4700::1111", "93.184.216.34"], None, id="public-v6"),
        pytest.param("news.example", ["::ffff:93.184.216.34"], None, id="mapped-public"),
        pytest.param(
            "127.0.0.1", ["127.0.0.1"], "blocked: 127.0.0.1 is a loopback address", id="literal"
        ),
        pytest.param(
            "news.example",
            ["93.184.216.34", "10.0.0.1"],
            "blocked: news.example resolves to 10.0.0.1, a private address",
            id="any-private-blocks",
        ),
        pytest.param("h", ["10.1.2.3"], "resolves to 10.1.2.3, a private address", id="10/8"),
        pytest.param("h", ["172.16.0.1"], "resolves to 172.16.0.1, a private address", id="172"),
        pytest.param("h", ["192.168.1.1"], "resolves to 192.168.1.1, a private address", id="192"),
        pytest.param(
            "h", ["100.64.0.1"], "resolves to 100.64.0.1, a non-public address", id="cgnat"
        ),
        pytest.param(
            "h",
            ["169.254.169.254"],
            "resolves to 169.254.169.254, a link-local address",
            id="cloud-metadata",
        ),
        pytest.param("h", ["0.0.0.0"], "resolves to 0.0.0.0, an unspecified address", id="zero"),
        pytest.param("h", ["::"], "resolves to ::, an unspecified address", id="zero-v6"),
        pytest.param("h", ["::1"], "resolves to ::1, a loopback address", id="loopback-v6"),
        pytest.param("h", ["224.0.0.1"], "resolves to 224.0.0.1, a multicast address", id="mcast"),
        pytest.param("h", ["ff02::1"], "resolves to ff02::1, a multicast address", id="mcast-v6"),
        pytest.param("h", ["240.0.0.1"], "resolves to 240.0.0.1, a reserved address", id="240"),
        pytest.param("h", ["fe80::1"], "resolves to fe80::1, a link-local address", id="ll-v6"),
        pytest.param("h", ["fd00::1"], "resolves to fd00::1, a private address", id="ula"),
        pytest.param(
            "h",
            ["::ffff:127.0.0.1"],
            "resolves to ::ffff:127.0.0.1, an IPv4-mapped loopback",
            id="mapped-loopback",
        ),
        pytest.param(
            "h", ["::ffff:169.254.169.254"], "an IPv4-mapped link-local address", id="mapped-ll"
        ),
        pytest.param(
            "h", ["64:ff9b::a00:1"], "a NAT64/6to4 address of 10.0.0.1, a private", id="nat64"
        ),
        pytest.param(
            "h", ["2002:7f00:1::"], "a NAT64/6to4 address of 127.0.0.1, a loopback", id="6to4"
        ),
        pytest.param("h", [], "blocked: h resolves to no address", id="no-address"),
        pytest.param("h", ["not-an-ip"], "resolves to 'not-an-ip', not an IP", id="garbage"),
    ],
)
def test_check_address(host: str, addresses: list[str], expected: str | None) -> None:
    problem = check_address(host, addresses, allow_private=False)

    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith("blocked: ") and expected in problem
    assert check_address(host, addresses, allow_private=True) is None


def test_check_address_takes_the_public_test_given() -> None:
    assert check_address("h", ["127.0.0.1"], False, is_public=only("127.0.0.1")) is None
    assert check_address("h", ["93.184.216.34"], False, is_public=only("127.0.0.1")) is not None


def test_loopback_literal_is_blocked_before_connecting(loopback: Loopback) -> None:
    loopback.route("/a", ARTICLE_PAGE, headers={"Content-Type": HTML})
    url = loopback.url("/a")

    with make_fetcher() as fetcher:
        result = fetcher.fetch_article(url)

    assert result == FullTextResult(url, None, "blocked: 127.0.0.1 is a loopback address")
    assert loopback.requests == [] and loopback.connections == 0


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        pytest.param("10.0.0.1", "a private address", id="private"),
        pytest.param("169.254.169.254", "a link-local address", id="metadata"),
        pytest.param("::1", "a loopback address", id="loopback-v6"),
        pytest.param("::ffff:127.0.0.1", "an IPv4-mapped loopback address", id="mapped"),
        pytest.param("0.0.0.0", "an unspecified address", id="unspecified"),
    ],
)
def test_host_resolving_to_private_address_is_blocked(address: str, kind: str) -> None:
    calls: list[str] = []
    resolver = fixed_resolver({"intranet.example": [address]}, calls)
    url = "http://intranet.example/admin"

    with make_fetcher(resolver=resolver) as fetcher:
        result = fetcher.fetch_article(url)

    reason = f"blocked: intranet.example resolves to {address}, {kind}"
    assert result == FullTextResult(url, None, reason)
    assert calls == ["intranet.example"]


def test_public_name_connects_to_the_address_checked(loopback: Loopback) -> None:
    # The resolver says public.example is 127.0.0.1, and the guard is told to count
    # 127.0.0.1 as public: the fetch succeeds only if it connects to that very address.
    calls: list[str] = []
    resolver = fixed_resolver({"public.example": ["127.0.0.1"]}, calls)
    loopback.route("/a", ARTICLE_PAGE, headers={"Content-Type": HTML})
    port = loopback.host.rsplit(":", 1)[1]

    with make_fetcher(resolver=resolver, is_public=only("127.0.0.1")) as fetcher:
        result = fetcher.fetch_article(f"http://public.example:{port}/a")

    assert result.error is None and result.html is not None
    (seen,) = loopback.requests
    assert seen.headers["host"] == f"public.example:{port}"
    assert calls == ["public.example"]


@pytest.mark.parametrize(
    ("target", "error"),
    [
        pytest.param(
            "http://internal.example:{port}/secret",
            "blocked: internal.example resolves to 127.0.0.2, a loopback address",
            id="name",
        ),
        pytest.param(
            "http://127.0.0.2:{port}/secret", "blocked: 127.0.0.2 is a loopback address", id="ip"
        ),
        pytest.param(
            "http://[::ffff:7f00:2]:{port}/secret",
            "blocked: ::ffff:7f00:2 is an IPv4-mapped loopback address",
            id="mapped-ip",
        ),
    ],
)
def test_redirect_to_private_address_is_blocked(
    loopback: Loopback, target: str, error: str
) -> None:
    port = loopback.host.rsplit(":", 1)[1]
    resolver = fixed_resolver({"public.example": ["127.0.0.1"], "internal.example": ["127.0.0.2"]})
    loopback.redirect("/start", target.format(port=port))
    loopback.route("/secret", ARTICLE_PAGE, headers={"Content-Type": HTML})
    url = f"http://public.example:{port}/start"

    with make_fetcher(resolver=resolver, is_public=only("127.0.0.1")) as fetcher:
        result = fetcher.fetch_article(url)

    assert result == FullTextResult(url, None, error)
    assert [r.path for r in loopback.requests] == ["/start"]


# A self-signed certificate for public.example (EC P-256, valid until 2126), test use only.
TLS_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBpDCCAUqgAwIBAgIULO+fm5uIpD6zeX2bc0sKpdkObF4wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOcHVibGljLmV4YW1wbGUwIBcNMjYxMTI3MDMwNDI4WhgPMjEy
NjExMDMwMzA0MjhaMBkxFzAVBgNVBAMMDnB1YmxpYy5leGFtcGxlMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEAB86ziys6ctybKny1WbYa5d2MfrSuhlEzDvfAkFk
UOK9WTlt96Q0s3Q1EfTI94pn8dbQeaZ4Cbw+b5zwvqxPo6NuMGwwHQYDVR0OBBYE
FPs9ncWoCRWQ0W3FjHO0NwsKtyjOMB8GA1UdIwQYMBaAFPs9ncWoCRWQ0W3FjHO0
NwsKtyjOMA8GA1UdEwEB/wQFMAMBAf8wGQYDVR0RBBIwEIIOcHVibGljLmV4YW1w
bGUwCgYIKoZIzj0EAwIDSAAwRQIhALXLsoUvOijQbhEcPGk+HOd1yz7IA1pDm3oV
pR0Hl0IhAiA1sSVHK13WDTdX8e6iOBCz+GV7+BuXk1dvh9DsjXYBbg==
-----END CERTIFICATE-----
"""
TLS_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDUTXbnMDVEkOfoxf
y+0dIfwXEKcnsdM2qeEXcF9FiA2hRANCAAQAHzrOLKzpy3JsqfLVZthrl3Yx+tK6
GUTMO98CQWRQ4r1ZOW33pDSzdDUR9Mj3imfx1tB5pngJvD5vnPC+rE+j
-----END PRIVATE KEY-----
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", HTML)
        self.send_header("Content-Length", str(len(ARTICLE_PAGE)))
        self.end_headers()
        self.wfile.write(ARTICLE_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tls_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 with the certificate above, which the fetcher trusts."""
    (tmp_path / "cert.pem").write_text(TLS_CERT)
    (tmp_path / "key.pem").write_text(TLS_KEY)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "cert.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = http.server.HTTPServer(("127.0.0.1", 0), _Page)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,))
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("host", "error"),
    [
        pytest.param("public.example", None, id="name-on-certificate"),
        pytest.param(
            "other.example",
            "TLS error",  # the rest is OpenSSL's wording: "Hostname mismatch, …"
            id="other-name",
        ),
    ],
)
def test_https_connects_to_the_checked_address_and_verifies_the_name(
    tls_port: int, host: str, error: str | None
) -> None:
    resolver = fixed_resolver({"public.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})

    with make_fetcher(resolver=resolver, is_public=only("127.0.0.1")) as fetcher:
        result = fetcher.fetch_article(f"https://{host}:{tls_port}/a")

    if error is None:
        assert result.error is None and result.html is not None
    else:
        assert result.html is None and result.error is not None
        assert result.error.startswith(error) and host in result.error


def test_dns_failure_is_a_result() -> None:
    url = "http://nowhere.example/a"

    with make_fetcher(resolver=fixed_resolver({})) as fetcher:
        result = fetcher.fetch_article(url)

    assert result == FullTextResult(url, None, "DNS lookup failed: nowhere.example")


def test_importing_the_module_does_not_import_trafilatura() -> None:
    code = "import sys, aggregator.fulltext; sys.exit('trafilatura' in sys.modules)"

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_gzip_fixture_sanity() -> None:
    # the "too-big-after-gunzip" case only proves something if the wire bytes fit the cap
    assert len(gzip.compress(b"<p>x</p>" * 20000)) < 64 * 1024
