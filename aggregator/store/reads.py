"""Store reads for publishing and inspection: a topic's published entries, the copies
of a story (provenance), and integrity checks. Nothing here writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, func, or_, select, text

from ..models import Enclosure, OriginFeed, PublishedEntry
from ..urls import is_safe_link
from .schema import entries, entry_topics, sources


@dataclass(frozen=True, slots=True)
class Copy:
    """One copy of a story in one topic: where it came from and whether it is the one
    published there."""

    output_id: str
    source_url: str
    topic_id: str
    canonical: bool
    first_seen: datetime
    published: datetime


def topic_query(topic_id: str, limit: int) -> Select[Any]:
    """The newest `limit` canonical entries of a topic with their source, in one query."""
    e, s, et = entries, sources, entry_topics
    origin = (s.c.url, s.c.name, s.c.title.label("feed_title"), s.c.link.label("feed_link"))
    return (
        select(e, *origin, s.c.feed_id)
        .join(et, et.c.entry_id == e.c.id)
        .join(s, s.c.id == e.c.source_id)
        .where(et.c.topic_id == topic_id, et.c.duplicate_of.is_(None))
        .order_by(et.c.published.desc(), e.c.output_id)
        .limit(limit)
    )


def published_entry(topic_id: str, row: Row[Any]) -> PublishedEntry:
    origin = OriginFeed(
        id=row.feed_id or row.url,
        title=row.name or row.feed_title or row.url,
        link=row.feed_link,
        self_url=row.url if is_safe_link(row.url) else None,
    )
    own = [c for c in json.loads(row.categories) if c != topic_id]
    return PublishedEntry(
        output_id=row.output_id,
        title=row.title,
        link=row.link,
        content=row.content,
        summary=row.summary,
        author=row.author,
        published=row.published,
        updated=row.updated,
        categories=(topic_id, *dict.fromkeys(own)),
        enclosures=tuple(Enclosure(h, t, n) for h, t, n in json.loads(row.enclosures)),
        origin=origin,
    )


def provenance(conn: Connection, output_id: str) -> list[Copy]:
    """See `Store.provenance`."""
    et, e = entry_topics, entries
    canon = func.coalesce(et.c.duplicate_of, et.c.entry_id).label("canon")
    mine = select(et.c.topic_id, canon).join(e, e.c.id == et.c.entry_id)
    groups = conn.execute(mine.where(e.c.output_id == output_id).order_by(et.c.topic_id))
    return [c for topic_id, entry_id in groups.all() for c in _copies(conn, topic_id, entry_id)]


def _copies(conn: Connection, topic_id: str, canon: int) -> list[Copy]:
    et, e = entry_topics, entries
    columns = (e.c.output_id, sources.c.url, et.c.duplicate_of, e.c.first_seen, e.c.published)
    query = (
        select(*columns)
        .join(e, e.c.id == et.c.entry_id)
        .join(sources, sources.c.id == e.c.source_id)
        .where(et.c.topic_id == topic_id, or_(et.c.entry_id == canon, et.c.duplicate_of == canon))
        .order_by(et.c.duplicate_of.is_not(None), e.c.first_seen, e.c.id)
    )
    return [
        Copy(r.output_id, r.url, topic_id, r.duplicate_of is None, r.first_seen, r.published)
        for r in conn.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class Explained:
    """An entry as `aggregator explain` shows it: where it came from and what cleaning
    removed from it, each removal with the rule (or learned pattern) id that did."""

    output_id: str
    title: str
    link: str | None
    source_id: int
    source_url: str
    source_name: str | None
    removals: tuple[tuple[str, str], ...]  # (rule id, sample)


def explain_entries(conn: Connection, ident: str) -> list[Explained]:
    """Entries whose output id, link or guid is `ident` (a story can be in several
    sources: each copy is listed, in the order they were first seen)."""
    e, s = entries, sources
    query = (
        select(e.c.output_id, e.c.title, e.c.link, e.c.removals, s.c.id, s.c.url, s.c.name)
        .join(s, s.c.id == e.c.source_id)
        .where(or_(e.c.output_id == ident, e.c.link == ident, e.c.guid == ident))
        .order_by(e.c.first_seen, e.c.id)
    )
    return [
        Explained(r.output_id, r.title, r.link, r.id, r.url, r.name, _removals(r.removals))
        for r in conn.execute(query)
    ]


def _removals(data: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(rule), str(sample)) for rule, sample in json.loads(data))


def find_sources(conn: Connection, name: str) -> list[tuple[int, str, str | None]]:
    """(id, url, name) of the sources whose configured name, feed title or URL is `name`
    (case-insensitive for names and titles)."""
    s = sources
    folded = name.casefold()
    query = select(s.c.id, s.c.url, s.c.name).where(
        or_(func.lower(s.c.name) == folded, func.lower(s.c.title) == folded, s.c.url == name)
    )
    return [(r.id, r.url, r.name) for r in conn.execute(query.order_by(s.c.position, s.c.id))]


# Invariants the schema cannot express; each query selects the rows that break one.
INVARIANTS: Sequence[tuple[str, str]] = (
    (
        "entry_topics rows without their entry",
        "SELECT 1 FROM entry_topics t LEFT JOIN entries e ON e.id = t.entry_id WHERE e.id IS NULL",
    ),
    (
        "duplicates of an entry that is not the canonical copy in their topic",
        "SELECT 1 FROM entry_topics t LEFT JOIN entry_topics c"
        " ON c.entry_id = t.duplicate_of AND c.topic_id = t.topic_id"
        " WHERE t.duplicate_of IS NOT NULL AND (c.entry_id IS NULL OR c.duplicate_of IS NOT NULL)",
    ),
    ("entries duplicating themselves", "SELECT 1 FROM entry_topics WHERE duplicate_of = entry_id"),
    (
        "sources without fetch state",
        "SELECT 1 FROM sources s LEFT JOIN fetch_state f ON f.source_id = s.id"
        " WHERE f.source_id IS NULL",
    ),
    (
        "entry_topics.published differing from entries.published",
        "SELECT 1 FROM entry_topics t JOIN entries e ON e.id = t.entry_id"
        " WHERE t.published <> e.published",
    ),
)


def integrity_problems(conn: Connection) -> list[str]:
    """See `Store.integrity_check`."""
    problems = _sqlite_checks(conn) if conn.dialect.name == "sqlite" else []
    for problem, query in INVARIANTS:
        count = conn.execute(text(f"SELECT count(*) FROM ({query}) AS bad")).scalar_one()
        if count:
            problems.append(f"{problem}: {count} row(s)")
    return problems


def _sqlite_checks(conn: Connection) -> list[str]:
    problems = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check") if r[0] != "ok"]
    for row in conn.exec_driver_sql("PRAGMA foreign_key_check"):
        problems.append(f"foreign key violation: {tuple(row)}")
    return problems
