"""Full text for teaser sources (`full_text: true`): a poll's new entries get the
main content of their article page, cleaned like any content.

Runs in the fetch thread of the source, after parsing and before the store: it does
IO (`fulltext.FullTextFetcher`, behind the SSRF guard, within the per-host limits of
the feed fetcher) and some cleaning. Only entries new to the store are fetched: an
article is fetched once, and a stored full text is never overwritten by the teaser
of a later poll. Any failure keeps the teaser.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

from .clean import CleanRules, clean_html
from .config import FullText
from .dedupe.hashing import content_hash
from .dedupe.shingles import signature
from .fulltext import FullTextFetcher, FullTextSettings
from .models import CleanEntry, CleanFeed, Removal

log = logging.getLogger("aggregator")

FULL_TEXT = "full-text"  # the removal id recording that a teaser was replaced

Slot = Callable[[str], AbstractContextManager[object]]


def settings_of(config: FullText) -> FullTextSettings:
    return FullTextSettings(config.timeout, config.max_bytes, config.allow_private)


class Articles:
    """Replaces the teasers of new entries by their articles' cleaned main content.

    `slot(url)`: the politeness limit to hold while fetching `url` (the feed
    fetcher's per-host limiter), or none."""

    def __init__(self, settings: FullTextSettings, slot: Slot | None = None) -> None:
        self._fetcher = FullTextFetcher(settings)
        self._slot: Slot = slot or (lambda url: nullcontext())

    def complete(self, feed: CleanFeed, known: set[str], rules: CleanRules) -> CleanFeed:
        """`feed` without the entries in `known` (stored before, full text and all),
        its other entries with their article's content where one could be had."""
        fresh = tuple(self._full(e, rules) for e in feed.entries if e.key not in known)
        return replace(feed, entries=fresh)

    def _full(self, entry: CleanEntry, rules: CleanRules) -> CleanEntry:
        if entry.link is None:
            return entry
        with self._slot(entry.link):
            result = self._fetcher.fetch_article(entry.link)
        if result.html is None:
            log.warning("full text of %s not used: %s", entry.link, result.error)
            return entry
        titles = (entry.title,)
        content, text, removals = clean_html(result.html, entry.link, rules.drop_blocks, titles)
        if len(text.split()) <= len(entry.text.split()):
            return entry  # the page held no more than the feed did
        teaser = Removal(FULL_TEXT, f"teaser replaced by {entry.link}")
        return replace(
            entry,
            content=content,
            text=text,
            removals=(*entry.removals, teaser, *removals),
            content_hash=content_hash(entry.title, text),
            signature=signature(text),
        )

    def close(self) -> None:
        self._fetcher.close()
