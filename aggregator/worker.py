"""The CPU-bound half of a poll, run in worker processes: parse a body, clean its entries.

Kept apart from `pipeline` so a worker process imports only the parse and clean stages
(not the store, HTTP client or publisher): less memory per worker, faster start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .clean import clean_entry
from .config import Rules
from .dedupe import content_hash
from .models import CleanFeed
from .parse import parse_feed


def parse_and_clean(body: bytes, url: str, headers: Mapping[str, str], rules: Rules) -> CleanFeed:
    """Parse a fetched body and clean every entry, with its content hash set.

    Raises ParseError for a body that is not a usable feed.
    """
    feed = parse_feed(body, url=url, headers=headers)
    entries = []
    for parsed in feed.entries:
        entry = clean_entry(parsed, rules)
        entries.append(replace(entry, content_hash=content_hash(entry.title, entry.text)))
    return CleanFeed(
        title=feed.title,
        link=feed.link,
        subtitle=feed.subtitle,
        entries=tuple(entries),
        warning=feed.warning,
        feed_id=feed.feed_id,
    )
