"""Store reads for duplicate detection: the stored entries a poll's new entries may
copy, and the in-memory near-duplicate index that finds them.

The index holds the signatures of entries first seen within the window. It is built
from the store when the first poll is saved (a rebuild) and then catches up with the
rows committed since, so it survives restarts and sees what other nodes sharing the
database stored; on SQLite a poll's own new rows are added after its commit rather
than read back (`NearIndex.stored`). It decides nothing: `dedupe.plan_poll` does.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..dedupe import Candidate, DedupeSettings, Doc, Root, is_dedupable, story_of
from ..dedupe.near import Index, is_current
from ..models import CleanEntry
from .database import chunks
from .schema import entries, entry_topics, sources

_TAG = re.compile(r"<[^>]*>")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredSignature:
    """A row just written with its signature: what the index would read back."""

    id: int
    first_seen: datetime
    signature: bytes


class NearIndex:
    """The near-duplicate index of one store: entry ids by signature, for entries
    first seen within the window. Thread-safe."""

    def __init__(self) -> None:
        self.index = Index()
        self.last_id = 0  # every committed row up to this id has been looked at
        # The indexed entries in order of adding, (first seen, id) in two columns from
        # `head` on: 16 bytes an entry, where a deque of tuples took 130.
        self.seen = array("d")  # POSIX seconds
        self.ids = array("q")
        self.head = 0
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    def catch_up(self, conn: Connection, now: datetime, window: timedelta) -> int:
        """Add the signatures of rows stored since the last call (all of them, the
        first time) and drop entries older than the window. Returns how many were
        added."""
        e = entries
        since = now - window
        with self.lock:
            started, first = time.perf_counter(), self.last_id == 0
            top = conn.scalar(select(func.max(e.c.id))) or 0
            if top <= self.last_id:
                self._evict(since)
                return 0
            query = (
                select(e.c.id, e.c.first_seen, e.c.signature)
                .where(e.c.id > self.last_id, e.c.id <= top, e.c.signature.is_not(None))
                .where(e.c.first_seen >= since)
                .order_by(e.c.id)
            )
            added = 0
            for entry_id, first_seen, signature in conn.execute(query):
                if not is_current(signature):
                    continue  # of another SIGNATURE_VERSION: re-signed when next updated
                self.index.add(entry_id, signature)
                self.seen.append(first_seen.timestamp())
                self.ids.append(entry_id)
                added += 1
            self.last_id = top
            self._evict(since)
            if first and added:
                elapsed = time.perf_counter() - started
                log.info(
                    "near-duplicate index built from the store: %d entries in %.1f s",
                    added,
                    elapsed,
                )
            return added

    def stored(self, rows: Sequence[StoredSignature], through: int) -> None:
        """Add the rows a committed transaction wrote, which read the store up to id
        `through` (`catch_up`) and excluded other writers until it committed (SQLite):
        so no row between `through` and these is missed, and reading them back would
        only repeat them. When the index has moved on since, the rows are left to
        `catch_up`, which reads whatever is not in the index yet."""
        with self.lock:
            if self.last_id != through or not rows:
                return
            for row in rows:
                if is_current(row.signature):
                    self.index.add(row.id, row.signature)
                    self.seen.append(row.first_seen.timestamp())
                    self.ids.append(row.id)
            self.last_id = max(self.last_id, max(row.id for row in rows))

    def _evict(self, since: datetime) -> None:
        oldest, head, end = since.timestamp(), self.head, len(self.ids)
        while head < end and self.seen[head] < oldest:
            self.index.discard(self.ids[head])
            head += 1
        if head > 4096 and head * 2 > end:  # drop the evicted prefix
            del self.seen[:head]
            del self.ids[:head]
            head = 0
        self.head = head

    def candidates(self, signature: bytes) -> set[int]:
        with self.lock:
            return self.index.candidates(signature)


def candidate_ids(
    conn: Connection,
    fresh: Sequence[CleanEntry],
    index: NearIndex,
    settings: DedupeSettings,
) -> tuple[set[int], dict[str, tuple[int, ...]]]:
    """Stored entries that may be copies of `fresh` ones: same hash, same article URL,
    or (near-duplicates on) a signature the index finds close; and the latter per
    fresh entry's key."""
    e = entries
    hashes = sorted({x.content_hash for x in fresh if is_dedupable(x.content_hash)})
    urls = sorted({u for u in map(story_of, fresh) if u})
    found: set[int] = set()
    near: dict[str, tuple[int, ...]] = {}
    for column, values in ((e.c.content_hash, hashes), (e.c.story_url, urls)):
        for chunk in chunks(values):
            found.update(conn.execute(select(e.c.id).where(column.in_(chunk))).scalars())
    if settings.near.near:
        for x in fresh:
            if is_current(x.signature):
                assert x.signature is not None
                near[x.key] = tuple(sorted(index.candidates(x.signature)))
                found.update(near[x.key])
    return found, near


def load_candidates(
    conn: Connection, ids: Iterable[int], topics: Sequence[str], settings: DedupeSettings
) -> tuple[tuple[Candidate, ...], tuple[Root, ...]]:
    """The candidates among `ids` that are in one of `topics` (in any topic, with
    `scope: global`), each with its text and story roots; and those roots."""
    e, et = entries, entry_topics
    wanted, everywhere = set(topics), settings.scope == "global"
    # Memberships first, texts then only for the entries in a wanted topic: a story
    # carried by many sources is a candidate in every topic, and loaded in few.
    # Topics are filtered here: `topic_id IN` could lead SQLite to walk a topic.
    roots: dict[int, dict[str, int]] = {}
    for chunk in chunks(sorted(ids)):
        query = select(et.c.entry_id, et.c.topic_id, et.c.duplicate_of)
        query = query.where(et.c.entry_id.in_(chunk)).order_by(et.c.entry_id, et.c.topic_id)
        for entry_id, topic_id, root in conn.execute(query):
            if everywhere or topic_id in wanted:
                roots.setdefault(entry_id, {})[topic_id] = root or entry_id
    columns = [e.c.id, e.c.source_id, e.c.title, e.c.content, e.c.summary, e.c.story_url]
    columns += [e.c.content_hash, e.c.first_seen]
    docs: dict[int, Doc] = {}
    for chunk in chunks(sorted(roots)):
        docs.update(
            (row.id, _doc(row)) for row in conn.execute(select(*columns).where(e.c.id.in_(chunk)))
        )
    found = []
    for entry_id, by_topic in roots.items():
        if everywhere:
            mine = [t for t, r in by_topic.items() if r == entry_id]
            by_topic = {"*": entry_id if mine else next(iter(by_topic.values()))}
        found.append(Candidate(docs[entry_id], tuple(sorted(by_topic.items()))))
    root_ids = {r for c in found for _, r in c.roots}
    return tuple(found), _roots(conn, root_ids)


def _doc(row: Any) -> Doc:
    text = stored_text(row.content or row.summary)
    return Doc(
        row.id, row.source_id, row.title, text, row.story_url, row.content_hash, row.first_seen
    )


def stored_text(markup: str) -> str:
    """The plain text of stored (sanitised) HTML, close enough to the clean stage's
    text for shingle comparisons: tags become spaces, entities are decoded. The
    polling process never loads the clean stage, and candidates are few."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def _roots(conn: Connection, ids: Iterable[int]) -> tuple[Root, ...]:
    e, et = entries, entry_topics
    columns = (et.c.entry_id, et.c.topic_id, e.c.first_seen, et.c.published, sources.c.position)
    found: list[Root] = []
    for chunk in chunks(sorted(ids)):
        query = select(*columns, et.c.duplicate_of).join(e, e.c.id == et.c.entry_id)
        query = query.join(sources, sources.c.id == e.c.source_id)
        # Shown copies are filtered here, not in SQL: given `duplicate_of IS NULL`,
        # SQLite walks the duplicate_of index over every shown row of the store.
        rows = conn.execute(query.where(et.c.entry_id.in_(chunk)))
        found.extend(Root(*row[:-1]) for row in rows if row.duplicate_of is None)
    return tuple(sorted(found, key=lambda r: (r.id, r.topic_id)))
