"""The CPU-bound half of a poll, run in worker processes: parse a body, clean its entries.

Kept apart from `pipeline` so a worker process imports only the parse and clean stages
(not the store, HTTP client, publisher or config models): less memory per worker, faster
start. Importing this module is cheap: the stages load on first use, so the polling
process, which only submits jobs, never holds feedparser, lxml and nh3.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .models import CleanFeed

if TYPE_CHECKING:
    from .clean.rules import CleanRules, OperatorRules

@dataclass(frozen=True, slots=True)
class PlainRules:
    """An operator's rules (`config.Rules`) as plain values: what the pipeline sends to
    worker processes, which then need not load the config's models to unpickle them."""

    drop_blocks: tuple[re.Pattern[str], ...] = ()
    title_strip: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, rules: OperatorRules) -> PlainRules:
        return cls(tuple(rules.drop_blocks), tuple(rules.title_strip))


def parse_and_clean(
    body: bytes, url: str, headers: Mapping[str, str], rules: OperatorRules | CleanRules
) -> CleanFeed:
    """Parse a fetched body and clean every entry, with its content hash set.

    Raises ParseError for a body that is not a usable feed.
    """
    from .clean import CleanRules, clean_entry
    from .dedupe import content_hash
    from .parse import parse_feed

    feed = parse_feed(body, url=url, headers=headers)
    prepared = CleanRules.of(rules)
    entries = []
    for parsed in feed.entries:
        entry = clean_entry(parsed, prepared)
        entries.append(replace(entry, content_hash=content_hash(entry.title, entry.text)))
    return CleanFeed(
        title=feed.title,
        link=feed.link,
        subtitle=feed.subtitle,
        entries=tuple(entries),
        warning=feed.warning,
        feed_id=feed.feed_id,
    )
