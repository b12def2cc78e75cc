"""End to end: loopback feeds → `aggregator once` (a real subprocess) → topic files.

Everything is real: the CLI, HTTP over 127.0.0.1, feedparser, SQLite, feedgen output
parsed back and validated against the Atom schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import html as lxml_html

from aggregator.store import Store
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import SHARED, Item, article, atom, cli, rss, status_lines, write_config
from tests.loopback import Loopback

SEED = SHARED / "fixtures" / "seed"
ATOM_NS = "{http://www.w3.org/2005/Atom}"

STORY = article("harbour", 4) + '<p>See the <a href="https://port.example/report">report</a>.</p>'
STORY_WRAPPED = (  # the same story in another site's wrapper, with tracking links
    '<div class="share"><img src="https://stats.wordpress.com/b.gif?x=1" width="1" height="1">'
    "</div>"
    + STORY.replace("/report", "/report?utm_source=feed&amp;fbclid=XYZ")
    + "<script>track()</script>"
)


def topic_feed(path: Path) -> feedparser.FeedParserDict:
    data = path.read_bytes()
    if SCHEMA_AVAILABLE:
        assert validate_atom(data) == []
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


@pytest.fixture
def site(loopback: Loopback, tmp_path: Path) -> tuple[Loopback, Path]:
    loopback.feed(
        "/a.xml",
        rss(
            "Alpha News",
            [
                Item(
                    "a-1", "Harbour reopens", "https://alpha.example/harbour?utm_source=rss", STORY
                ),
                Item("a-2", "Alpha budget", "https://alpha.example/budget", article("budget")),
            ],
        ),
        etag='"a1"',
    )
    loopback.feed(
        "/b.atom",
        atom(
            "Beta Blog",
            [Item("tag:beta,1", "Compilers", "https://beta.example/c", article("compiler"))],
        ),
        etag='"b1"',
    )
    loopback.feed(
        "/c.xml",
        rss("Gamma", [Item("g-1", "Harbour reopens", "https://gamma.example/h", STORY_WRAPPED)]),
        etag='"c1"',
    )
    config = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"world": {"title": "World"}, "tech": {"title": "Tech"}},
            "sources": [
                {"url": loopback.url("/a.xml"), "topics": ["world"]},
                {"url": loopback.url("/b.atom"), "topics": ["tech", "world"]},
                {"url": loopback.url("/c.xml"), "topics": ["world"]},
                {"url": loopback.url("/missing.xml"), "topics": ["tech"]},
            ],
        },
    )
    return loopback, config


def test_once_publishes_topics_then_304_rewrites_nothing(site: tuple[Loopback, Path]) -> None:
    server, config = site
    first = cli("once", "-c", str(config), cwd=config.parent)
    assert first.returncode == 0, first.stderr
    lines = status_lines(first.stdout)
    assert lines[server.url("/a.xml")] == "ok new=2 updated=0 duplicates=0"
    assert lines[server.url("/b.atom")] == "ok new=1 updated=0 duplicates=0"
    assert lines[server.url("/c.xml")] == "ok new=1 updated=0 duplicates=1"
    assert lines[server.url("/missing.xml")].startswith("error new=0 updated=0 duplicates=0 error=")
    assert "404" in lines[server.url("/missing.xml")]

    world = topic_feed(config.parent / "feeds" / "world.xml")
    titles = sorted(e.title for e in world.entries)
    assert titles == ["Alpha budget", "Compilers", "Harbour reopens"]  # the copy from c is merged
    harbour = next(e for e in world.entries if e.title == "Harbour reopens")
    assert harbour.link == "https://alpha.example/harbour"  # tracking stripped, earliest wins
    assert harbour.id.startswith("urn:uuid:")
    assert world.feed.links[0].href == "http://feeds.test/feeds/world.xml"
    tech = topic_feed(config.parent / "feeds" / "tech.xml")
    assert [e.title for e in tech.entries] == ["Compilers"]
    assert tech.entries[0].tags[0].term == "tech"

    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (config.parent / "feeds").glob("*")}
    before = len(server.requests)
    second = cli("once", "-c", str(config), cwd=config.parent)
    assert second.returncode == 0, second.stderr
    lines = status_lines(second.stdout)
    for path in ("/a.xml", "/b.atom", "/c.xml"):
        assert lines[server.url(path)] == "not_modified new=0 updated=0 duplicates=0"
    conditional = [r for r in server.requests[before:] if r.path != "/missing.xml"]
    assert len(conditional) == 3 and all("if-none-match" in r.headers for r in conditional)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == files


def test_changed_entry_is_updated_in_place(site: tuple[Loopback, Path]) -> None:
    server, config = site
    assert cli("once", "-c", str(config), cwd=config.parent).returncode == 0
    world_path = config.parent / "feeds" / "world.xml"
    before = {e.title: e for e in topic_feed(world_path).entries}

    edited = Item("a-2", "Alpha budget", "https://alpha.example/budget", article("deficit"))
    same = Item("a-1", "Harbour reopens", "https://alpha.example/harbour", STORY)
    server.feed("/a.xml", rss("Alpha News", [same, edited]), etag='"a2"')
    result = cli("once", "-c", str(config), cwd=config.parent)
    assert status_lines(result.stdout)[server.url("/a.xml")] == "ok new=0 updated=1 duplicates=0"

    after = {e.title: e for e in topic_feed(world_path).entries}
    assert after.keys() == before.keys()
    assert after["Alpha budget"].id == before["Alpha budget"].id
    assert "Deficit paragraph 1" in after["Alpha budget"].content[0].value
    assert after["Alpha budget"].updated_parsed > before["Alpha budget"].updated_parsed
    assert after["Harbour reopens"].updated == before["Harbour reopens"].updated


def test_check_command_exit_codes(tmp_path: Path) -> None:
    good = write_config(tmp_path / "good.yaml", {"topics": {"w": {"title": "W"}}})
    assert cli("check", "-c", str(good), cwd=tmp_path).returncode == 0
    bad = write_config(
        tmp_path / "bad.yaml",
        {"topics": {"w": {"title": "W"}}, "sources": [{"url": "x.xml", "topics": ["wrld"]}]},
    )
    result = cli("check", "-c", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "sources[0].topics[0]: unknown topic 'wrld'" in result.stderr


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w’']+:?|[:]", text))


SEED_RULES = {
    "title_strip": [r"^NextImg:\s*"],
    "drop_blocks": [
        r"^(THE AMERICA ONE NEWS|Sponsor:.*|back|topic|\d+|\|?\s*Remer,MN"
        r"|\w{3} \d{1,2}, \d{4}\s*\|?|\d{1,2} \w{3} \d{4}|NextImg:.*)$",
        r"Read the full package here",
    ],
}


def run_seed(loopback: Loopback, tmp_path: Path, rules: dict[str, Any] | None) -> Path:
    loopback.feed("/republisher.rss", (SEED / "republisher.rss").read_bytes())
    source: dict[str, Any] = {"url": loopback.url("/republisher.rss"), "topics": ["news"]}
    if rules is not None:
        source["rules"] = rules
    config = write_config(
        tmp_path / "config.yaml", {"topics": {"news": {"title": "News"}}, "sources": [source]}
    )
    result = cli("once", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")
    return config


def assert_seed_expectations(feed_path: Path, *, exactly: bool = False) -> None:
    """expected.json holds; `exactly`: the content is the kept paragraphs, nothing else
    (DESIGN.md: "the title and the five article paragraphs, nothing else")."""
    published = topic_feed(feed_path)
    by_link = {e.link: e for e in published.entries}
    links = dict(
        re.findall(
            r"<link>([^<]+)</link>\s*<guid[^>]*>([^<]+)</guid>",
            (SEED / "republisher.rss").read_text(),
        )
    )
    guid_to_link = {guid: link for link, guid in links.items()}
    expected = json.loads((SEED / "expected.json").read_text())
    assert len(published.entries) == len(expected)
    for case in expected:
        entry = by_link[guid_to_link[case["guid"]]]
        assert entry.title == case["title"]
        tree = lxml_html.fragment_fromstring(entry.content[0].value, create_parent="div")
        blocks = [" ".join(el.text_content().split()) for el in tree.iter("p", "div", "h2")]
        for paragraph in case["keep"]:
            assert paragraph in blocks, paragraph[:60]
        if exactly:
            lines = [" ".join(el.text_content().split()) for el in tree if el.tag != "br"]
            assert [line for line in lines if line] == case["keep"]
        text = entry.title + "\n" + tree.text_content()
        for junk in case["drop"]:
            assert not re.search(rf"(?<!\w){re.escape(junk)}(?!\w)", text), junk


@pytest.mark.skipif(not SEED.is_dir(), reason="../shared/fixtures/seed is not beside the repo")
def test_seed_feed_meets_expected_with_operator_rules(loopback: Loopback, tmp_path: Path) -> None:
    run_seed(loopback, tmp_path, SEED_RULES)

    assert_seed_expectations(tmp_path / "feeds" / "news.xml")


@pytest.mark.skipif(not SEED.is_dir(), reason="../shared/fixtures/seed is not beside the repo")
def test_seed_feed_meets_expected_with_no_rule_and_explains_why(
    loopback: Loopback, tmp_path: Path
) -> None:
    """The catalogue and what is learned from the feed's own four entries suffice."""
    config = run_seed(loopback, tmp_path, None)

    assert_seed_expectations(tmp_path / "feeds" / "news.xml", exactly=True)
    explained = cli("explain", "-c", str(config), "republisher-1", cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr
    assert "Sponsor: QWIKET" in explained.stdout and "learned:block:" in explained.stdout
    assert "(support 4)" in explained.stdout
    url = loopback.url("/republisher.rss")
    learned = cli("explain", "-c", str(config), "--source", url, cwd=tmp_path)
    assert learned.returncode == 0, learned.stderr
    assert "4 entries remembered" in learned.stdout
    assert re.search(r"4/4\s+block\s+learned:block:\w+\s+'THE AMERICA ONE NEWS'", learned.stdout)
    missing = cli("explain", "-c", str(config), "no-such-entry", cwd=tmp_path)
    assert missing.returncode == 1
    assert "no stored entry has the id, link or guid 'no-such-entry'" in missing.stderr


def test_store_consistent_after_runs(site: tuple[Loopback, Path]) -> None:
    server, config = site
    assert cli("once", "-c", str(config), cwd=config.parent).returncode == 0
    store = Store(f"sqlite:///{config.parent / 'data' / 'test.db'}")
    try:
        assert store.integrity_check() == []
        rows = {s.url: s for s in store.sources()}
        assert rows[server.url("/missing.xml")].error_count == 1
        assert rows[server.url("/a.xml")].validators.etag == '"a1"'
    finally:
        store.close()


ARTICLE_PAGE = """<!doctype html><html><head><title>{title}</title></head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/about">About</a></nav>
</header>
<main><article><h1>{title}</h1>{body}</article></main>
<aside><h2>Most read</h2><ul><li><a href="/x">Something else entirely</a></li></ul></aside>
<footer><p>Copyright 2025 The Loopback Times. All rights reserved.</p></footer>
</body></html>"""


def test_full_text_replaces_teasers_of_new_entries_once(loopback: Loopback, tmp_path: Path) -> None:
    body = article("harbour", paragraphs=6)
    page = ARTICLE_PAGE.format(title="Harbour plan", body=body).encode()
    loopback.route("/story-1", page, headers={"Content-Type": "text/html; charset=utf-8"})
    # story 2's page is gone: its teaser stays
    teasers = [
        Item("s-1", "Harbour plan", loopback.url("/story-1"), "<p>The harbour plan…</p>"),
        Item("s-2", "Missing page", loopback.url("/story-2"), "<p>A teaser that stays.</p>"),
    ]
    loopback.feed("/teasers.xml", rss("Teasers", teasers), conditional=False)
    source = {"url": loopback.url("/teasers.xml"), "topics": ["news"], "full_text": True}
    config = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"news": {"title": "News"}},
            "sources": [source],
            "full_text": {"allow_private": True, "timeout": "5s"},  # loopback is private
        },
    )

    first = cli("once", "-c", str(config), cwd=tmp_path)
    loopback.feed("/teasers.xml", rss("Teasers", teasers) + b" ", conditional=False)
    second = cli("once", "-c", str(config), cwd=tmp_path)

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "full text of " + loopback.url("/story-2") + " not used: HTTP 404" in first.stderr
    published = {e.title: e for e in topic_feed(tmp_path / "feeds" / "news.xml").entries}
    full = published["Harbour plan"].content[0].value
    assert "Harbour paragraph 6: the harbour committee met on day 6" in full
    assert "Most read" not in full and "All rights reserved" not in full
    assert "A teaser that stays." in published["Missing page"].content[0].value
    assert len(loopback.requests_to("/story-1")) == 1  # the second poll fetched no article
    assert "updated=0" in second.stdout  # and kept the stored full text
    explained = cli("explain", "-c", str(config), "s-1", cwd=tmp_path)
    assert "full-text" in explained.stdout
