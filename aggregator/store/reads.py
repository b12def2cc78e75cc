"""Store reads for publishing and inspection: a topic's published entries, the copies
of a story (provenance), and integrity checks. Nothing here writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, func, or_, select, text, update

from ..models import Enclosure, OriginFeed, PublishedEntry, Via
from ..urls import is_safe_link
from .candidates import stored_text
from .database import chunks
from .schema import entries, entry_topics, sources, topics


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


# Every column of an entry but its signature (binary, and only dedupe reads it).
_ENTRY = tuple(c for c in entries.c if c.name != "signature")
_ORIGIN = (
    sources.c.url,
    sources.c.name,
    sources.c.title.label("feed_title"),
    sources.c.link.label("feed_link"),
    sources.c.feed_id,
)


def topic_query(topic_id: str, limit: int) -> Select[Any]:
    """The newest `limit` canonical entries of a topic with their source, in one query."""
    e, s, et = entries, sources, entry_topics
    return (
        select(*_ENTRY, *_ORIGIN)
        .join(et, et.c.entry_id == e.c.id)
        .join(s, s.c.id == e.c.source_id)
        .where(et.c.topic_id == topic_id, et.c.duplicate_of.is_(None))
        .order_by(et.c.published.desc(), e.c.output_id)
        .limit(limit)
    )


def topic_entries(conn: Connection, topic_id: str, limit: int) -> list[PublishedEntry]:
    """See `Store.topic_entries`."""
    rows = conn.execute(topic_query(topic_id, limit)).all()
    copies = _merged_copies(conn, [r.id for r in rows])
    return [published_entry(topic_id, r, copies.get(r.id, ())) for r in rows]


def _merged_copies(conn: Connection, root_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """The duplicates of each root (in any topic: with `scope: global` a copy filed
    under another topic still reports the story), each once, by first seen."""
    e, et = entries, entry_topics
    found: dict[int, dict[int, Any]] = {}
    for chunk in chunks(sorted(root_ids)):
        query = (
            select(*_ENTRY, *_ORIGIN, et.c.duplicate_of.label("root"))
            .join(et, et.c.entry_id == e.c.id)
            .join(sources, sources.c.id == e.c.source_id)
            .where(et.c.duplicate_of.in_(chunk))
        )
        for row in conn.execute(query):
            found.setdefault(row.root, {})[row.id] = row
    return {
        root: sorted(rows.values(), key=lambda r: (r.first_seen, r.id))
        for root, rows in found.items()
    }


def published_entry(
    topic_id: str, root: Row[Any], copies: Sequence[Row[Any]] = ()
) -> PublishedEntry:
    """The entry a topic publishes for a story: the root's id and published date, the
    best body among the copies (the longest text; the root's on a tie), the other
    copies' sources as `via`, and an `updated` that moves forward with every change
    of any copy, including a copy joining the story."""
    body = max((root, *copies), key=lambda r: len(stored_text(r.content or r.summary)))
    updated = max((root.updated, *(c.updated for c in copies), *(c.first_seen for c in copies)))
    own = [c for c in json.loads(body.categories) if c != topic_id]
    return PublishedEntry(
        output_id=root.output_id,
        title=body.title,
        link=body.link,
        content=body.content,
        summary=body.summary,
        author=body.author,
        published=root.published,
        updated=updated,
        categories=(topic_id, *dict.fromkeys(own)),
        enclosures=tuple(Enclosure(h, t, n) for h, t, n in json.loads(body.enclosures)),
        origin=_origin(body),
        via=tuple(_via(c) for c in (root, *copies) if c is not body),
    )


def _origin(row: Row[Any]) -> OriginFeed:
    return OriginFeed(
        id=row.feed_id or row.url,
        title=row.name or row.feed_title or row.url,
        link=row.feed_link,
        self_url=row.url if is_safe_link(row.url) else None,
    )


def _via(row: Row[Any]) -> Via:
    link = row.link if is_safe_link(row.link) else None
    return Via(source_title=row.name or row.feed_title or row.url, link=link)


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
class Merge:
    """One merge an entry takes part in, in one topic: `role` is "duplicate of" (this
    entry is a copy of `other`), "merged into it" (`other` is a copy of this one) or
    "kept apart" (an operator split this entry off; `other` is empty)."""

    topic_id: str
    role: str
    other_output_id: str
    other_source: str
    rule: str | None
    similarity: float | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class Explained:
    """An entry as `aggregator explain` shows it: where it came from, what cleaning
    removed from it (each removal with the rule or learned pattern id that did), and
    the merges it takes part in."""

    output_id: str
    title: str
    link: str | None
    source_id: int
    source_url: str
    source_name: str | None
    removals: tuple[tuple[str, str], ...]  # (rule id, sample)
    merges: tuple[Merge, ...] = ()
    entry_id: int = 0


def explain_entries(conn: Connection, ident: str) -> list[Explained]:
    """Entries whose output id, link or guid is `ident` (a story can be in several
    sources: each copy is listed, in the order they were first seen)."""
    e, s = entries, sources
    query = (
        select(e.c.id.label("entry_id"), e.c.output_id, e.c.title, e.c.link, e.c.removals)
        .add_columns(s.c.id.label("source_id"), s.c.url, s.c.name)
        .join(s, s.c.id == e.c.source_id)
        .where(or_(e.c.output_id == ident, e.c.link == ident, e.c.guid == ident))
        .order_by(e.c.first_seen, e.c.id)
    )
    return [
        Explained(
            r.output_id, r.title, r.link, r.source_id, r.url, r.name, _removals(r.removals),
            tuple(merges_of(conn, r.entry_id)), r.entry_id,
        )
        for r in conn.execute(query).all()
    ]  # fmt: skip


def merges_of(conn: Connection, entry_id: int) -> list[Merge]:
    """The merges entry `entry_id` takes part in, by topic: what it is a copy of, the
    copies merged into it, and operator splits."""
    et, other = entry_topics, entries.alias("other")
    how = (et.c.topic_id, et.c.merge_rule, et.c.similarity, et.c.merge_detail)
    who = (other.c.output_id, func.coalesce(sources.c.name, sources.c.url))
    found: list[Merge] = []
    for role, mine, theirs in (
        ("duplicate of", et.c.entry_id, et.c.duplicate_of),
        ("merged into it", et.c.duplicate_of, et.c.entry_id),
    ):
        query = (
            select(*how, *who)
            .join(other, other.c.id == theirs)
            .join(sources, sources.c.id == other.c.source_id)
            .where(mine == entry_id)
            .order_by(et.c.topic_id, other.c.first_seen, other.c.id)
        )
        for t, rule, similarity, detail, oid, source in conn.execute(query):
            found.append(Merge(t, role, oid, source, rule, similarity, detail))
    split = select(*how).where(et.c.entry_id == entry_id, et.c.merge_rule == UNMERGED)
    for t, rule, similarity, detail in conn.execute(split.where(et.c.duplicate_of.is_(None))):
        found.append(Merge(t, "kept apart", "", "", rule, similarity, detail))
    return sorted(found, key=lambda m: m.topic_id)


UNMERGED = "unmerged"  # merge_rule of a copy an operator split off its story


def unmerge(conn: Connection, entry_id: int, now: datetime) -> set[str]:
    """Split entry `entry_id` off the stories it was merged into: it becomes the
    published copy in each of its topics. The story it left is republished (its
    `updated` moves to `now`: its list of sources changed). Returns the topics whose
    feeds change ({} when the entry was no one's duplicate)."""
    et = entry_topics
    rows = conn.execute(
        select(et.c.topic_id, et.c.duplicate_of).where(
            et.c.entry_id == entry_id, et.c.duplicate_of.is_not(None)
        )
    ).all()
    if not rows:
        return set()
    roots = {root for _, root in rows}
    split = {"duplicate_of": None, "merge_rule": UNMERGED, "similarity": None}
    split["merge_detail"] = "split off its story by an operator"
    mine = (et.c.entry_id == entry_id) & et.c.duplicate_of.is_not(None)
    conn.execute(update(et).where(mine).values(split))
    later = (entries.c.id.in_(roots)) & (entries.c.updated < now)
    conn.execute(update(entries).where(later).values(updated=now))
    shown = select(et.c.topic_id).where(et.c.entry_id.in_(roots), et.c.duplicate_of.is_(None))
    return {t for t, _ in rows} | set(conn.execute(shown).scalars())


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
        # In its own topic, or in another one with `dedupe.scope: global`.
        "duplicates of an entry that is not a published copy",
        "SELECT 1 FROM entry_topics t WHERE t.duplicate_of IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM entry_topics c WHERE c.entry_id = t.duplicate_of"
        " AND c.duplicate_of IS NULL)",
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


@dataclass(frozen=True, slots=True)
class TopicOverview:
    """A topic for the status page: its published entries and last render."""

    id: str
    title: str
    entries: int  # stories shown (merged copies count once)
    published_at: datetime | None


def topic_overview(conn: Connection) -> list[TopicOverview]:
    et = entry_topics
    shown = (
        select(et.c.topic_id, func.count().label("n"))
        .where(et.c.duplicate_of.is_(None))
        .group_by(et.c.topic_id)
        .subquery()
    )
    query = (
        select(topics.c.id, topics.c.title, shown.c.n, topics.c.published_at)
        .outerjoin(shown, shown.c.topic_id == topics.c.id)
        .order_by(topics.c.id)
    )
    return [TopicOverview(i, t, n or 0, at) for i, t, n, at in conn.execute(query)]
