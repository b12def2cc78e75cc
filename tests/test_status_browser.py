"""The status page in a real browser: headless Debian Chromium driven by Playwright.

`make test` installs both (see the Makefile's browser step). The page must render,
list the topics and sources, and its subscribe links must fetch valid Atom; a
screenshot is kept in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest

from aggregator.config import Config
from aggregator.server import FeedApp, HttpServer
from aggregator.status import Overview
from aggregator.store import Store
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.test_status import NOW, polled  # noqa: F401  (the fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: `make test` installs it"),
]


@pytest.fixture
def site(polled: tuple[Config, Store]) -> Iterator[str]:  # noqa: F811
    config, store = polled

    def overview() -> Overview:
        return Overview(store.topic_overview(), store.sources(), NOW + timedelta(minutes=5))

    server = HttpServer(FeedApp(lambda: config, overview=overview), "127.0.0.1", 0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.close()


def test_the_status_page_in_chromium(site: str) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            response = page.goto(site + "/")
            assert response is not None and response.status == 200
            assert page.title() == "aggregator"
            topics = page.locator("#topics tr td:first-child a")
            assert topics.all_inner_texts() == ["Empty", "News & more"]
            names = page.locator("#sources tr td:first-child").all_inner_texts()
            assert len(names) == 4 and any(n.startswith("<script>alert(1)</script>") for n in names)
            assert page.locator("#sources tr.error").count() == 1
            assert page.locator("#sources tr.gone").count() == 1
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "status-page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            # Each subscribe link fetches valid Atom.
            fetched = {}
            for link in topics.all():
                href = link.get_attribute("href")
                assert href is not None
                feed = page.request.get(site + href)
                body = feed.body()
                assert feed.status == 200
                assert feed.headers["content-type"].startswith("application/atom+xml")
                parsed = feedparser.parse(body)
                assert not parsed.bozo
                fetched[link.inner_text()] = len(parsed.entries)
                if SCHEMA_AVAILABLE:
                    assert validate_atom(body) == []
            assert fetched == {"Empty": 0, "News & more": 1}
            assert errors == []  # no script on the page, none injected
        finally:
            browser.close()
