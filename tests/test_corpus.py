"""Every corpus feed goes through parse and clean (the worker's whole job) to a
CleanFeed or a ParseError, never another exception; what it yields renders to valid Atom."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html as lxml_html

from aggregator.clean import clean_entries, html_to_text
from aggregator.clean.learn import LearnSettings
from aggregator.clean.rules import CleanRules
from aggregator.config import Rules
from aggregator.dedupe import HASH_VERSION, output_id
from aggregator.errors import ParseError
from aggregator.models import CleanFeed, OriginFeed, PublishedEntry, TopicFeed
from aggregator.parse import parse_feed
from aggregator.publish import render_topic
from aggregator.worker import parse_and_clean
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import SHARED

CORPUS = SHARED / "corpus"
FILES = sorted([*CORPUS.glob("real/*"), *CORPUS.glob("edge/*")]) if CORPUS.is_dir() else []
FIRST_SEEN = datetime(2025, 1, 1, tzinfo=UTC)
MIN_WORDS = 50  # a field with this much text before cleaning is an article, not a teaser


def as_topic(path: Path, feed: CleanFeed) -> TopicFeed:
    origin = OriginFeed(
        id=feed.feed_id or path.name, title=feed.title or path.name, link=feed.link, self_url=None
    )
    entries = tuple(
        PublishedEntry(
            output_id=output_id(path.name, e.key),
            title=e.title,
            link=e.link,
            content=e.content,
            summary=e.summary,
            author=e.author,
            published=e.published or e.updated or FIRST_SEEN,
            updated=e.updated or e.published or FIRST_SEEN,
            categories=("corpus", *e.categories),
            enclosures=e.enclosures,
            origin=origin,
        )
        for e in feed.entries
    )
    return TopicFeed(
        "corpus", "Corpus", None, "http://feeds.test/feeds/corpus.xml", FIRST_SEEN, entries
    )


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not beside the repo")
@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_corpus_file_parses_cleans_and_republishes(path: Path) -> None:
    try:
        feed = parse_and_clean(path.read_bytes(), f"https://corpus.test/{path.name}", {}, Rules())
    except ParseError:
        return
    assert all(e.content_hash.startswith(f"v{HASH_VERSION}:") for e in feed.entries)
    data = render_topic(as_topic(path, feed), author="aggregator", generator_version="test")
    if SCHEMA_AVAILABLE:
        assert validate_atom(data) == []


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not beside the repo")
@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_corpus_articles_are_never_emptied(path: Path) -> None:
    """Boilerplate removal (the catalogue, and what is learned from the file's entries as
    a source's first poll) never eats a whole article: a content or summary with 50
    words or more before cleaning keeps at least half of them."""
    try:
        feed = parse_feed(path.read_bytes(), url=f"https://corpus.test/{path.name}", headers={})
    except ParseError:
        return
    learned, _ = clean_entries(
        feed.entries, CleanRules(), site=feed.title, memory=None, learning=LearnSettings()
    )
    assert len(learned) == len(feed.entries)
    for entry, cleaned in zip(feed.entries, learned, strict=True):
        for before, after in ((entry.content, cleaned.content), (entry.summary, cleaned.summary)):
            words = len(_raw_text(before).split())
            if words >= MIN_WORDS:
                assert len(html_to_text(after).split()) >= words / 2, (entry.title, words)


def _raw_text(html: str) -> str:
    """The text of `html` as a browser would show it (hidden text included)."""
    if not html.strip():
        return ""
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    for code in list(root.iter("script", "style", "template")):
        code.drop_tree()
    return root.text_content()
