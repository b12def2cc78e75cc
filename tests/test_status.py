"""What the operator sees: `aggregator status` and the daemon's status page."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import html as lxml_html

from aggregator.cli import main
from aggregator.config import Config, load_config
from aggregator.errors import FetchError
from aggregator.fetch import FakeFetcher
from aggregator.pipeline import Pipeline
from aggregator.server import FeedApp, HttpServer
from aggregator.status import Overview
from aggregator.store import Store
from tests.feeds import Item, article, rss, write_config

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
OK, BROKEN, MOVED, GONE = (f"https://{n}.example/feed" for n in ("ok", "broken", "moved", "gone"))
FEED = rss("Fine <b>site</b>", [Item("g1", "A story", "https://ok.example/1", article("one"))])


@pytest.fixture
def polled(tmp_path: Path) -> Iterator[tuple[Config, Store]]:
    names = {OK: "<script>alert(1)</script>", BROKEN: "Broken", MOVED: "Moved", GONE: "Gone"}
    path = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"news": {"title": "News & more"}, "empty": {"title": "Empty"}},
            "sources": [{"url": u, "name": n, "topics": ["news"]} for u, n in names.items()],
            "poll": {"processes": 0},
        },
    )
    config = load_config(path)
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    home = "https://new.example/feed"
    fetcher = FakeFetcher(
        {
            OK: FakeFetcher.result(OK, FEED),
            BROKEN: FetchError(BROKEN, "connection refused"),
            MOVED: FakeFetcher.result(MOVED, FEED, final_url=home, permanent_redirect=home),
            GONE: FetchError(GONE, "HTTP 410 Gone", http_status=410),
        }
    )
    with Pipeline(config, store, fetcher, rand=lambda: 0.5) as pipeline:
        pipeline.poll(store.sources(), NOW)
        pipeline.publish(NOW)
    yield config, store
    store.close()


def test_status_command_lists_every_source(
    polled: tuple[Config, Store], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["status", "-c", str(tmp_path / "config.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["STATUS", "ERRORS", "LAST", "SUCCESS", "NEXT", "POLL", "SOURCE"]
    by_name = {line.rsplit("  ", 1)[-1]: line.split() for line in out[1:5]}
    assert by_name["Broken"][:2] == ["error", "1"]
    assert by_name["Gone"][:2] == ["gone", "1"] and "never" in by_name["Gone"]
    assert by_name["Moved"][0] == "ok"
    assert by_name["<script>alert(1)</script>"][0] == "ok"
    notes = out[6:]
    assert "Moved: moved permanently to https://new.example/feed (update config.yaml)" in notes
    assert "Broken: connection refused" in notes
    assert "Gone: HTTP 410 Gone: the feed is gone, no longer polled" in notes


def test_status_page(polled: tuple[Config, Store]) -> None:
    config, store = polled

    def overview() -> Overview:
        problems = ["poll.interval: not a duration"]
        return Overview(store.topic_overview(), store.sources(), NOW + timedelta(minutes=5),
                        problems)  # fmt: skip

    server = HttpServer(FeedApp(lambda: config, overview=overview), "127.0.0.1", 0)
    server.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
        connection.close()
    finally:
        server.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert b"<script>alert(1)</script>" not in body  # a source's name is text
    page = lxml_html.fromstring(body)
    alternates = page.xpath('//link[@rel="alternate"]')
    assert [(a.get("type"), a.get("href"), a.get("title")) for a in alternates] == [
        ("application/atom+xml", "/feeds/empty.xml", "Empty"),
        ("application/atom+xml", "/feeds/news.xml", "News & more"),
    ]
    topics = {
        row.xpath("string(td[1])"): [cell.text_content() for cell in row.xpath("td")]
        for row in page.xpath('//table[@id="topics"]//tr[td]')
    }
    assert topics["News & more"][2] == "1"  # two sources, one story: merged
    assert topics["News & more"][3] == "5m ago"
    assert topics["Empty"][2:] == ["0", "5m ago"]
    sources = {
        row.xpath("string(td[1])"): [cell.text_content() for cell in row.xpath("td")]
        for row in page.xpath('//table[@id="sources"]//tr[td]')
    }
    assert sources["Broken" + BROKEN][1:4] == ["error", "never", "1"]
    assert sources["Gone" + GONE][4] == "never"
    assert "moved permanently" in sources["Moved" + MOVED][5]
    assert sources["<script>alert(1)</script>" + OK][1:3] == ["ok", "5m ago"]
    assert "poll.interval: not a duration" in page.xpath('string(//*[@id="problems"])')
