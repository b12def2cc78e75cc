"""Fetch stage against a real loopback HTTP server and real files; the fake at the seam."""

from __future__ import annotations

import gzip
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
import xxhash

from aggregator import USER_AGENT
from aggregator.config import Poll
from aggregator.errors import FetchError
from aggregator.fetch import FakeFetcher, HostLimiter, HttpFetcher
from aggregator.models import FetchResult, FetchStatus, Validators
from tests.loopback import LAST_MODIFIED, Loopback, Reply

FEED = b"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title></feed>"
NONE = Validators()


def make_poll(**changes: Any) -> Poll:
    """Test-friendly limits: no spacing, short deadlines, a 64 KiB cap."""
    values: dict[str, Any] = {
        "timeout": "5s",
        "connect_timeout": "2s",
        "max_bytes": "64KB",
        "host_spacing": "0s",
        "workers": 8,
        "per_host": 8,
    }
    return Poll(**(values | changes))


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    with HttpFetcher(make_poll()) as fetcher:
        yield fetcher


def fetch_error(fetcher: HttpFetcher, url: str, validators: Validators = NONE) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url, validators)
    return caught.value


# --- plain fetches and conditional GET -----------------------------------------------


def test_200_returns_body_headers_and_validators(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.feed("/feed", FEED, etag='"abc"')

    result = fetcher.fetch(loopback.url("/feed"), NONE)

    assert (result.status, result.http_status, result.body) == ("ok", 200, FEED)
    assert result.url == result.final_url == loopback.url("/feed")
    assert result.permanent_redirect is None
    assert result.headers["etag"] == '"abc"'
    assert result.headers["content-type"].startswith("application/atom+xml")
    assert result.validators == Validators('"abc"', LAST_MODIFIED, xxhash.xxh3_128_hexdigest(FEED))
    assert result.elapsed > 0


def test_request_headers_name_us_and_prefer_feeds(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.feed("/feed", FEED)

    fetcher.fetch(loopback.url("/feed"), NONE)

    (seen,) = loopback.requests
    assert seen.headers["user-agent"] == USER_AGENT
    assert seen.headers["accept"].startswith("application/atom+xml, application/rss+xml")
    assert seen.headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in seen.headers and "if-modified-since" not in seen.headers


def test_304_sends_both_validators_and_keeps_them(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.feed("/feed", FEED, etag='"v1"')
    first = fetcher.fetch(loopback.url("/feed"), NONE)

    second = fetcher.fetch(loopback.url("/feed"), first.validators)

    assert (second.status, second.http_status, second.body) == ("not_modified", 304, None)
    assert second.validators == first.validators
    conditional = loopback.requests[1].headers
    assert conditional["if-none-match"] == '"v1"'
    assert conditional["if-modified-since"] == LAST_MODIFIED


def test_304_with_new_validators_updates_them(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.route("/feed", status=304, headers={"ETag": '"v2"'})
    old = Validators('"v1"', LAST_MODIFIED, "hash")

    result = fetcher.fetch(loopback.url("/feed"), old)

    assert result.status == "not_modified"
    assert result.validators == Validators('"v2"', LAST_MODIFIED, "hash")


def test_identical_body_from_a_server_ignoring_validators_is_unchanged(
    loopback: Loopback, fetcher: HttpFetcher
) -> None:
    loopback.feed("/feed", FEED, conditional=False)
    first = fetcher.fetch(loopback.url("/feed"), NONE)

    second = fetcher.fetch(loopback.url("/feed"), first.validators)

    assert (second.status, second.http_status, second.body) == ("unchanged", 200, None)
    assert second.validators == first.validators
    assert "if-none-match" in loopback.requests[1].headers  # sent, and ignored


def test_polls_of_a_host_reuse_one_kept_alive_connection(
    loopback: Loopback, fetcher: HttpFetcher
) -> None:
    loopback.feed("/feed", FEED, etag='"v1"')
    loopback.feed("/other", FEED + b" ", etag='"v2"')
    first = fetcher.fetch(loopback.url("/feed"), NONE)

    statuses = [fetcher.fetch(loopback.url("/feed"), first.validators).status for _ in range(3)]
    statuses.append(fetcher.fetch(loopback.url("/other"), NONE).status)

    assert statuses == ["not_modified"] * 3 + ["ok"]
    assert loopback.connections == 1  # 200s read to the end and 304s both keep it alive


def test_cookies_are_never_sent_back(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.route("/feed", FEED, headers={"Set-Cookie": "session=abc; Path=/"})

    fetcher.fetch(loopback.url("/feed"), NONE)
    fetcher.fetch(loopback.url("/feed"), NONE)

    assert [r.headers.get("cookie") for r in loopback.requests] == [None, None]


def test_proxy_from_the_environment_is_used(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback.feed("/feed", FEED)  # the loopback server plays the proxy
    monkeypatch.setenv("http_proxy", loopback.url(""))
    monkeypatch.setenv("no_proxy", "")

    with HttpFetcher(make_poll()) as fetcher:
        result = fetcher.fetch("http://feeds.example.invalid/feed", NONE)

    assert result.body == FEED
    (seen,) = loopback.requests
    assert seen.path == "http://feeds.example.invalid/feed"  # absolute form: a proxy request


def test_no_proxy_hosts_are_fetched_directly(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback.feed("/feed", FEED)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("no_proxy", "127.0.0.1")

    with HttpFetcher(make_poll()) as fetcher:
        result = fetcher.fetch(loopback.url("/feed"), NONE)

    assert result.body == FEED
    assert loopback.requests[0].path == "/feed"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bodies_are_decoded(
    loopback: Loopback, fetcher: HttpFetcher, encoding: str
) -> None:
    loopback.feed("/feed", FEED * 50, encoding=encoding)

    result = fetcher.fetch(loopback.url("/feed"), NONE)

    assert result.body == FEED * 50
    assert result.headers["content-encoding"] == encoding


# --- HTTP and network failures ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone"), (500, "HTTP 500 Internal Server Error")],
    ids=["404", "410", "500"],
)
def test_http_error_status_is_a_fetch_error(
    loopback: Loopback, fetcher: HttpFetcher, status: int, reason: str
) -> None:
    loopback.route("/feed", b"nope", status=status)

    error = fetch_error(fetcher, loopback.url("/feed"))

    assert (error.reason, error.http_status) == (reason, status)
    assert error.url == loopback.url("/feed")


@pytest.mark.parametrize("status", [429, 503])
def test_http_error_keeps_its_retry_after(
    loopback: Loopback, fetcher: HttpFetcher, status: int
) -> None:
    loopback.route("/feed", b"slow down", status=status, headers={"Retry-After": "120"})

    error = fetch_error(fetcher, loopback.url("/feed"))

    assert error.http_status == status
    assert error.headers["retry-after"] == "120"  # for the scheduler


def test_connection_refused(fetcher: HttpFetcher) -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    error = fetch_error(fetcher, f"http://127.0.0.1:{port}/feed")

    assert error.reason == "connection refused"
    assert error.__cause__ is not None  # the library error is kept as the cause


def test_body_cut_short_is_a_fetch_error(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.handle("/feed", lambda r: Reply(200, iter([FEED]), {"Content-Length": "9999"}))

    error = fetch_error(fetcher, loopback.url("/feed"))

    assert error.reason == "connection closed before the response was complete"


def test_bad_gzip_is_a_fetch_error(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.route("/feed", FEED, headers={"Content-Encoding": "gzip"})

    error = fetch_error(fetcher, loopback.url("/feed"))

    assert error.reason == "cannot decode compressed body"


def test_dns_failure(monkeypatch: pytest.MonkeyPatch, fetcher: HttpFetcher) -> None:
    def no_such_host(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # the resolver is the seam here

    error = fetch_error(fetcher, "http://feeds.example.test/rss")

    assert error.reason == "DNS lookup failed: feeds.example.test"


def test_tls_failure(loopback: Loopback, fetcher: HttpFetcher) -> None:
    # A TLS handshake with a plain-HTTP server fails on the client like a broken TLS peer.
    error = fetch_error(fetcher, f"https://{loopback.host}/feed")

    assert error.reason.startswith("TLS error: ")


@pytest.mark.parametrize(
    "location",
    ["ftp://example.org/feed", "feeds/relative.xml", "http://[::1/feed", "http:///nohost"],
)
def test_unsupported_locations(fetcher: HttpFetcher, location: str) -> None:
    error = fetch_error(fetcher, location)

    assert error.reason.startswith(("unsupported location", "invalid URL"))


# --- redirects -------------------------------------------------------------------------

REDIRECTS = {  # name: (hops as (path, status, target), whether the move is permanent)
    "301": ([("/old", 301, "/feed")], True),
    "308 then 301": ([("/a", 308, "/b"), ("/b", 301, "/feed")], True),
    "302": ([("/old", 302, "/feed")], False),
    "301 then 307": ([("/a", 301, "/b"), ("/b", 307, "/feed")], False),
    "303 with a full URL": ([("/old", 303, "FULL")], False),
}


@pytest.mark.parametrize("name", REDIRECTS)
def test_redirects_are_followed(loopback: Loopback, fetcher: HttpFetcher, name: str) -> None:
    hops, permanent = REDIRECTS[name]
    loopback.feed("/feed", FEED)
    for path, status, target in hops:
        to = loopback.url("/feed") if target == "FULL" else target
        loopback.redirect(path, to, status=status)

    result = fetcher.fetch(loopback.url(hops[0][0]), NONE)

    assert (result.status, result.body) == ("ok", FEED)
    assert result.url == loopback.url(hops[0][0])
    assert result.final_url == loopback.url("/feed")
    assert result.permanent_redirect == (loopback.url("/feed") if permanent else None)
    assert [r.path for r in loopback.requests] == [path for path, _, _ in hops] + ["/feed"]


def test_redirect_loop_is_a_fetch_error(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.redirect("/a", "/b")
    loopback.redirect("/b", "/a")

    error = fetch_error(fetcher, loopback.url("/a"))

    assert error.reason.startswith("redirect loop")
    assert [r.path for r in loopback.requests] == ["/a", "/b"]


def test_too_many_redirects_is_a_fetch_error(loopback: Loopback) -> None:
    for hop in range(4):
        loopback.redirect(f"/{hop}", f"/{hop + 1}", status=301)
    loopback.feed("/4", FEED)

    with HttpFetcher(make_poll(max_redirects=2)) as fetcher:
        error = fetch_error(fetcher, loopback.url("/0"))
        allowed = fetcher.fetch(loopback.url("/2"), NONE)  # exactly two hops is fine

    assert error.reason.startswith("too many redirects")
    assert [r.path for r in loopback.requests][:3] == ["/0", "/1", "/2"]
    assert allowed.final_url == loopback.url("/4")


# --- limits: body size and total deadline ------------------------------------------------

CAP = 64 * 1024


def oversize_plain(loopback: Loopback) -> None:
    loopback.route("/feed", b"a" * (CAP + 1))


def oversize_after_gunzip(loopback: Loopback) -> None:
    loopback.route("/feed", b"a" * (CAP * 16), encoding="gzip")


def endless(loopback: Loopback) -> None:
    loopback.endless("/feed")


@pytest.mark.parametrize("serve", [oversize_plain, oversize_after_gunzip, endless])
def test_body_over_the_cap_is_a_fetch_error(
    loopback: Loopback, fetcher: HttpFetcher, serve: Callable[[Loopback], None]
) -> None:
    serve(loopback)

    error = fetch_error(fetcher, loopback.url("/feed"))

    assert error.reason == "body exceeds 64.0 KiB"


def test_gzip_bomb_is_small_on_the_wire() -> None:
    assert len(gzip.compress(b"a" * (CAP * 16))) < CAP // 8  # so the cap must apply after decoding


def test_body_of_exactly_the_cap_is_accepted(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.route("/feed", b"a" * CAP, encoding="gzip")

    assert fetcher.fetch(loopback.url("/feed"), NONE).body == b"a" * CAP


@pytest.mark.parametrize(
    ("head", "length"),
    [(False, True), (True, True), (False, False), (True, False)],
    ids=["slow body", "slow headers", "slow body, no length", "slow headers, no length"],
)
def test_drip_feed_fails_at_the_total_deadline(
    loopback: Loopback, head: bool, length: bool
) -> None:
    # Without a Content-Length, the socket shut down at the deadline reads as the end
    # of the body: a cut-short body must not pass for the whole feed.
    loopback.drip("/feed", FEED, interval=0.2, head=head, length=length)  # ~13 s in all

    with HttpFetcher(make_poll(timeout="1s")) as fetcher:
        started = time.monotonic()
        error = fetch_error(fetcher, loopback.url("/feed"))
        took = time.monotonic() - started

    assert error.reason == "timed out after 1s"
    assert 0.9 < took < 2.0


def test_fetches_after_a_deadline_use_healthy_connections(loopback: Loopback) -> None:
    loopback.drip("/slow", FEED, interval=0.2)
    loopback.feed("/feed", FEED)

    with HttpFetcher(make_poll(timeout="1s")) as fetcher:
        fetch_error(fetcher, loopback.url("/slow"))
        results = [fetcher.fetch(loopback.url("/feed"), NONE) for _ in range(3)]

    assert [r.body for r in results] == [FEED] * 3


# --- politeness ------------------------------------------------------------------------


def fetch_in_threads(fetcher: HttpFetcher, url: str, count: int) -> list[FetchResult]:
    results: list[FetchResult] = []
    lock = threading.Lock()

    def one() -> None:
        result = fetcher.fetch(url, NONE)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_per_host_concurrency_is_capped(loopback: Loopback) -> None:
    loopback.route("/feed", FEED, delay=0.15)

    with HttpFetcher(make_poll(workers=8, per_host=2)) as fetcher:
        results = fetch_in_threads(fetcher, loopback.url("/feed"), 8)

    assert [r.status for r in results] == ["ok"] * 8
    assert len(loopback.requests) == 8
    assert loopback.max_in_flight == 2  # never more, and the threads really overlapped


def test_host_spacing_separates_request_starts(loopback: Loopback) -> None:
    loopback.feed("/feed", FEED)

    with HttpFetcher(make_poll(workers=4, per_host=4, host_spacing="300ms")) as fetcher:
        fetch_in_threads(fetcher, loopback.url("/feed"), 4)

    starts = sorted(r.started for r in loopback.requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(starts) == 4
    assert min(gaps) > 0.25  # 300 ms apart at the client; allow for loopback jitter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_host_limiter_spaces_starts_per_host_with_an_injected_clock() -> None:
    clock = FakeClock()
    limiter = HostLimiter(4, 1.0, clock=lambda: clock.now, sleep=clock.sleep)

    for host in ["a:80", "a:80", "b:80", "a:80"]:
        with limiter.slot(host):
            clock.now += 0.25  # each request takes 250 ms

    # a's second start waits for 101.0; b is not held up by a; a's third waits for 102.0
    assert clock.sleeps == [0.75, 0.5]
    clock.now += 5
    with limiter.slot("a:80"):
        pass
    assert clock.sleeps == [0.75, 0.5]  # an idle host starts at once


def test_host_limiter_blocks_beyond_per_host_without_spacing() -> None:
    limiter = HostLimiter(1)
    entered = threading.Event()
    order: list[str] = []

    def second() -> None:
        with limiter.slot("a:80"):
            order.append("second")
        entered.set()

    with limiter.slot("a:80"):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.1)  # blocked while the first slot is held
        order.append("first done")
    thread.join()

    assert order == ["first done", "second"]


# --- local files ---------------------------------------------------------------------------


def test_local_file_and_file_url(tmp_path: Path, fetcher: HttpFetcher) -> None:
    path = tmp_path / "feed with space.xml"
    path.write_bytes(FEED)
    os.utime(path, (1_700_000_000, 1_700_000_000))

    by_path = fetcher.fetch(str(path), NONE)
    by_url = fetcher.fetch(path.as_uri(), NONE)

    assert (by_path.status, by_path.body, by_path.http_status) == ("ok", FEED, None)
    assert by_path.validators.last_modified == formatdate(1_700_000_000, usegmt=True)
    assert by_url.body == FEED and by_url.validators == by_path.validators
    assert by_path.final_url == str(path)


def test_local_file_unchanged_and_changed(tmp_path: Path, fetcher: HttpFetcher) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    first = fetcher.fetch(str(path), NONE)

    same = fetcher.fetch(str(path), first.validators)
    path.write_bytes(FEED + b"\n")
    changed = fetcher.fetch(str(path), first.validators)

    assert (same.status, same.body) == ("unchanged", None)
    assert (changed.status, changed.body) == ("ok", FEED + b"\n")


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "file not found: "), (b"a" * (CAP + 1), "body exceeds 64.0 KiB")],
    ids=["missing", "oversize"],
)
def test_local_file_errors(
    tmp_path: Path, fetcher: HttpFetcher, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "feed.xml"
    if content is not None:
        path.write_bytes(content)

    error = fetch_error(fetcher, str(path))

    assert error.reason.startswith(reason)


# --- the fake ------------------------------------------------------------------------------


def test_fake_fetcher_answers_from_its_table_and_records_calls() -> None:
    ok = FakeFetcher.result("http://a/feed", FEED)
    gone = FetchError("http://b/feed", "HTTP 410 Gone", http_status=410)
    fake = FakeFetcher({"http://a/feed": ok, "http://b/feed": gone})

    assert fake.fetch("http://a/feed", NONE) == ok
    with pytest.raises(FetchError, match="410"):
        fake.fetch("http://b/feed", Validators(etag='"x"'))
    with pytest.raises(KeyError):
        fake.fetch("http://unknown/feed", NONE)
    assert [location for location, _ in fake.calls] == [
        "http://a/feed",
        "http://b/feed",
        "http://unknown/feed",
    ]
    assert fake.calls[1][1] == Validators(etag='"x"')
    assert ok.validators.body_hash == xxhash.xxh3_128_hexdigest(FEED)


def test_fake_fetcher_accepts_a_function() -> None:
    def answer(location: str, validators: Validators) -> FetchResult:
        status: FetchStatus = "not_modified" if validators.etag else "ok"
        return FakeFetcher.result(location, FEED, status=status)

    fake = FakeFetcher(answer)

    assert fake.fetch("http://a/feed", NONE).body == FEED
    assert fake.fetch("http://a/feed", Validators(etag='"1"')).status == "not_modified"


def test_if_modified_since_alone_gets_a_304(loopback: Loopback, fetcher: HttpFetcher) -> None:
    loopback.feed("/feed", FEED, etag=None)

    result = fetcher.fetch(loopback.url("/feed"), Validators(last_modified=LAST_MODIFIED))

    assert result.status == "not_modified"
    assert "if-none-match" not in loopback.requests[0].headers
