"""Frozen values that cross stage boundaries, named by the direction they flow.

No behaviour lives here beyond trivial derived properties; no third-party objects
(`requests.Response`, `FeedParserDict`, `FeedGenerator`) ever appear in these types.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .schedule import FeedHints

FetchStatus = Literal["ok", "not_modified", "unchanged"]
PollStatus = Literal["ok", "not_modified", "error", "gone"]


# --- fetch -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validators:
    """What we remember of the last successful fetch of a source, sent back next time."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # hash of the last body: skips servers that ignore validators


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetch. `body` is set only when `status == "ok"`.

    `status`: "ok" (a new body), "not_modified" (HTTP 304), "unchanged" (a body
    byte-identical to the last one, from a server that ignores conditional GET).
    `headers` are the response headers with lower-case names (empty for files).
    """

    url: str
    final_url: str
    status: FetchStatus
    http_status: int | None
    body: bytes | None
    headers: Mapping[str, str]
    validators: Validators
    elapsed: float
    permanent_redirect: str | None = None  # target of a 301/308 chain, if any


# --- parse -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enclosure:
    href: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """An entry as the source published it: HTML is raw (unsanitised), links absolute.

    `key` is the source-local identity: the entry id, else the canonical link, else a
    hash of title+content (see `parse.entry_key`).
    """

    key: str
    guid: str | None
    link: str | None
    title: str  # may contain markup or entities as published
    content: str  # HTML, "" when absent
    summary: str  # HTML, "" when absent
    author: str | None
    published: datetime | None
    updated: datetime | None
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    base: str | None = None  # base URL for relative references inside content/summary


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None  # the site's home page
    subtitle: str
    feed_id: str | None
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None  # bozo feeds with entries are accepted with a warning
    hints: FeedHints = field(default_factory=FeedHints)  # its ttl, skipHours, rhythm...


# --- clean -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Removal:
    """One thing cleaning removed, and the rule (by id) that removed it."""

    rule: str
    text: str  # a short sample of what was removed


@dataclass(frozen=True, slots=True)
class CleanEntry:
    """An entry fit for republishing: sanitised HTML, plain-text title and author.

    `text` is the plain text of the cleaned content (or summary), the input of the
    content hash. `link` is None when the source's link was not a safe http(s) URL.
    """

    key: str
    guid: str | None
    link: str | None
    title: str
    content: str
    summary: str
    text: str
    author: str | None
    published: datetime | None
    updated: datetime | None
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    removals: tuple[Removal, ...] = ()
    content_hash: str = ""  # set by dedupe.content_hash in the pipeline
    signature: bytes | None = None  # dedupe.near.signature, set by the worker that cleans it
    story_url: str | None = None  # urls.story_url(link), set by the worker (None: not set)


@dataclass(frozen=True, slots=True)
class CleanFeed:
    """A parsed and cleaned feed, what a worker process hands back to the pipeline."""

    title: str
    link: str | None
    subtitle: str
    entries: tuple[CleanEntry, ...]
    warning: str | None = None
    feed_id: str | None = None  # the feed's own id, for atom:source
    memory: str | None = None  # what cleaning learned of the source (JSON), None: nothing new
    hints: FeedHints = field(default_factory=FeedHints)  # for the scheduler


# --- store / dedupe ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A source as the store knows it, with its fetch state."""

    id: int
    url: str
    name: str | None
    title: str | None
    link: str | None
    position: int
    enabled: bool
    validators: Validators = field(default_factory=Validators)
    error_count: int = 0
    last_error: str | None = None
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    status: str | None = None  # of the last poll: "ok", "not_modified", "error", "gone"
    hints: FeedHints = field(default_factory=FeedHints)  # from the last body parsed
    moved_to: str | None = None  # where a 301/308 sent its polls


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one source did; `once` prints one line per result."""

    url: str
    status: PollStatus
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    error: str | None = None
    warning: str | None = None
    elapsed_ms: int = 0

    def line(self) -> str:
        text = (
            f"{self.status} {self.url} new={self.new} updated={self.updated} "
            f"duplicates={self.duplicates}"
        )
        if self.error:
            text += f" error={self.error}"
        return text


# --- publish -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OriginFeed:
    """The upstream feed an entry came from, for `atom:source` (RFC 4287 §4.2.11)."""

    id: str  # the source's feed id, else its URL
    title: str
    link: str | None  # the source's home page
    self_url: str | None  # the source feed's own URL when it is http(s)


@dataclass(frozen=True, slots=True)
class Via:
    """Another source that carried the same story (a merged duplicate)."""

    source_title: str
    link: str | None  # that source's article, when it is a safe http(s) URL


@dataclass(frozen=True, slots=True)
class PublishedEntry:
    """One entry of a topic feed, ready to render. For a story several sources
    carried, `via` lists the sources other than the one whose copy is shown."""

    output_id: str
    title: str
    link: str | None
    content: str
    summary: str
    author: str | None
    published: datetime
    updated: datetime
    categories: tuple[str, ...]
    enclosures: tuple[Enclosure, ...]
    origin: OriginFeed
    via: tuple[Via, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicFeed:
    """A topic feed's data. Rendering it is deterministic: same value, same bytes."""

    topic_id: str
    title: str
    subtitle: str | None
    self_url: str
    updated: datetime
    entries: tuple[PublishedEntry, ...]
