"""Hostile servers (issue 6): one poll of many misbehaving loopback sources (a 50 MB
entry among them) beside a good one. Each ends as a recorded error or a capped result
within the fetch deadline; the good source is polled and published as if they were
not there."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from aggregator.models import PollResult, SourceRow
from aggregator.store import Store
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import (
    Item,
    article,
    free_port,
    get,
    poll_over_http,
    popen,
    rss,
    wait_for,
    write_config,
)
from tests.loopback import Loopback, Reply

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
NEWER = "Tue, 04 Mar 2025 12:00:00 +0000"  # newer than every item of MANY
GOOD = rss(
    "Good", [Item("good-1", "A good story", "https://good.example/1", article("good"), NEWER)]
)
CAP = 4 * 1024 * 1024  # poll.max_bytes below; the 10,000-entry feed (~2 MB) is under it
MANY = rss("Many", [Item(f"m-{n}", f"Story {n}", f"https://many.example/{n}", f"<p>{n}</p>")
                    for n in range(10_000)])  # fmt: skip


def _serve(loopback: Loopback) -> dict[str, str | None]:
    """Routes the hostile servers; returns each one's expected error (None: a result)."""
    loopback.route("/good.xml", GOOD)
    loopback.drip("/drip.xml", GOOD, interval=1.0)  # 1 byte a second
    loopback.endless("/endless.xml")
    loopback.route("/bomb.xml", b"<" * (CAP * 4), encoding="gzip")  # 16 MB unpacked
    loopback.redirect("/loop-a.xml", "/loop-b.xml")
    loopback.redirect("/loop-b.xml", "/loop-a.xml")
    for hop in range(20):
        loopback.redirect(f"/hop-{hop}.xml", f"/hop-{hop + 1}.xml")
    loopback.route("/hop-20.xml", GOOD)
    loopback.route("/page.xml", b"<!doctype html><html><body><p>Hello</p></body></html>",
                   headers={"Content-Type": "text/html"})  # fmt: skip
    loopback.route("/no-type.xml", GOOD, headers={"Content-Type": ""})
    loopback.route(
        "/wrong-charset.xml", GOOD, headers={"Content-Type": "text/plain; charset=koi8-r"}
    )
    loopback.route("/big.xml", rss("Big", [Item("b", "Big", "https://b/", "x" * 50_000_000)]))
    loopback.route("/many.xml", MANY)
    loopback.handle(
        "/reset.xml", lambda r: Reply(200, iter([GOOD[:200]]), {"Content-Length": "99999"})
    )
    loopback.route("/silent.xml", GOOD, delay=30.0)  # accepts, never answers in time
    return {
        "good.xml": None,
        "drip.xml": "timed out after 2s",
        "endless.xml": "body exceeds 4.0 MiB",
        "bomb.xml": "body exceeds 4.0 MiB",
        "loop-a.xml": "redirect loop",
        "hop-0.xml": "too many redirects",
        "page.xml": "no entries",
        "no-type.xml": None,
        "wrong-charset.xml": None,
        "big.xml": "body exceeds 4.0 MiB",
        "many.xml": None,  # parsed whole; the topic feed keeps its newest 50
        "reset.xml": "connection closed before the response was complete",
        "silent.xml": "timed out after 2s",
    }


Polled = tuple[dict[str, PollResult], dict[str, str | None], float]


@pytest.fixture
def polled(tmp_path: Path, loopback: Loopback) -> Iterator[Polled]:
    expected = _serve(loopback)
    urls = [loopback.url(f"/{name}") for name in expected]
    poll = {"per_host": 16, "timeout": "2s", "max_bytes": "4MiB", "max_redirects": 10}
    results, took = poll_over_http(tmp_path, urls, poll, NOW)
    yield results, expected, took


def test_each_hostile_server_ends_as_an_error_or_a_capped_result(
    polled: Polled, tmp_path: Path
) -> None:
    results, expected, took = polled
    assert set(results) == set(expected)
    for name, error in expected.items():
        result = results[name]
        if error is None:
            assert result.status == "ok", (name, result.error)
        else:
            assert result.status == "error" and error in (result.error or ""), (name, result)
    assert results["many.xml"].new == 10_000
    assert took < 30  # every fetch bounded by its 2 s deadline, fetched side by side
    # The good source is published as if it were alone.
    data = (tmp_path / "feeds" / "t.xml").read_bytes()
    if SCHEMA_AVAILABLE:
        assert validate_atom(data) == []
    entries = feedparser.parse(data).entries
    assert len(entries) == 50
    assert "A good story" in [e.title for e in entries]


@pytest.mark.slow
def test_the_daemon_keeps_running_among_hostile_servers(loopback: Loopback, tmp_path: Path) -> None:
    """The same servers polled by `aggregator run`: each source's state records its
    error, the good ones are published, `/healthz` stays 200, SIGTERM stops it cleanly."""
    expected = _serve(loopback)
    port = free_port()
    poll = {"host_spacing": "0s", "per_host": 16, "workers": 16, "timeout": "2s"}
    config = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": loopback.url(f"/{name}"), "topics": ["t"]} for name in expected],
            "poll": poll | {"max_bytes": "4MiB", "max_redirects": 10},
            "server": {"host": "127.0.0.1", "port": port},
        },
    )
    store_url = f"sqlite:///{tmp_path / 'data' / 'test.db'}"
    feed = tmp_path / "feeds" / "t.xml"

    def recorded() -> dict[str, SourceRow]:
        if not (tmp_path / "data" / "test.db").exists():
            return {}
        store = Store(store_url)
        try:
            return {s.url.rsplit("/", 1)[1]: s for s in store.sources() if s.status is not None}
        finally:
            store.close()

    daemon = popen("run", "-c", str(config), cwd=tmp_path)
    try:
        wait_for(lambda: len(recorded()) == len(expected), 60, "every source polled")
        wait_for(lambda: feed.exists() and b"A good story" in feed.read_bytes(), 10, "publish")
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert daemon.poll() is None  # still running
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, log = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, log
    assert "Traceback" not in log
    for name, source in recorded().items():
        error = expected[name]
        if error is None:
            assert source.status == "ok", (name, source.last_error)
        else:
            assert source.status == "error" and error in (source.last_error or ""), name
