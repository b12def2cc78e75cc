"""Store queries about sources: syncing them (and topics) from the config, reading
them with their fetch state, and leasing due ones. Entries are not touched here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, insert, or_, select, update

from ..config import Config
from ..models import SourceRow, Validators
from ..schedule import FeedHints
from .database import chunks
from .schema import GONE, fetch_state, source_topics, sources, topics


@dataclass(frozen=True, slots=True)
class Claim:
    """A source leased to this node until the lease expires; its saves carry `token`.

    `fence` grows with every claim of the source, so leases are totally ordered.
    """

    source: SourceRow
    token: str
    fence: int


# --- config sync -------------------------------------------------------------------


def sync_topics(conn: Connection, config: Config, now: datetime) -> set[str]:
    """Insert new topics, update changed ones; returns both (they must be rendered)."""
    stored = {r.id: (r.title, r.description) for r in conn.execute(select(topics))}
    dirty = set()
    for topic_id, topic in config.topics.items():
        values = {"title": topic.title, "description": topic.description}
        if topic_id not in stored:
            conn.execute(insert(topics).values(id=topic_id, created_at=now, **values))
        elif stored[topic_id] != (topic.title, topic.description):
            conn.execute(update(topics).where(topics.c.id == topic_id).values(**values))
        else:
            continue
        dirty.add(topic_id)
    return dirty


def sync_sources(conn: Connection, config: Config, now: datetime) -> set[str]:
    """Upsert the config's sources, disable the others; returns topics made dirty."""
    stored = {r.url: r for r in conn.execute(select(sources))}
    linked: dict[int, set[str]] = {}
    for sid, tid in conn.execute(select(source_topics.c.source_id, source_topics.c.topic_id)):
        linked.setdefault(sid, set()).add(tid)
    dirty: set[str] = set()
    for position, source in enumerate(config.sources):
        row = stored.pop(source.url, None)
        if row is None:
            sid = _add_source(conn, source.url, source.name, position, now)
        else:
            sid = row.id
            dirty |= _refresh_source(conn, row, source.name, position, now, linked.get(sid, set()))
        _link_topics(conn, sid, linked.get(sid, set()), set(source.topics))
    gone = [r.id for r in stored.values() if r.enabled]
    if gone:
        conn.execute(update(sources).where(sources.c.id.in_(gone)).values(enabled=False))
    return dirty


def _add_source(conn: Connection, url: str, name: str | None, position: int, now: datetime) -> int:
    values = {"url": url, "name": name, "position": position, "enabled": True, "created_at": now}
    sid: int = conn.execute(insert(sources).values(values).returning(sources.c.id)).scalar_one()
    conn.execute(insert(fetch_state).values(source_id=sid, next_poll_at=now))
    return sid


def _refresh_source(
    conn: Connection,
    row: Row[Any],
    name: str | None,
    position: int,
    now: datetime,
    linked: set[str],
) -> set[str]:
    """Update a known source's name, position and enabled flag; a rename changes the
    atom:source title of its entries, so its topics become dirty."""
    if (row.name, row.position, row.enabled) == (name, position, True):
        return set()
    values = {"name": name, "position": position, "enabled": True}
    conn.execute(update(sources).where(sources.c.id == row.id).values(values))
    if not row.enabled:  # back in the config: poll it now, not whenever it was last due
        due_now = update(fetch_state).where(fetch_state.c.source_id == row.id)
        conn.execute(due_now.values(next_poll_at=now))
    return set(linked) if row.name != name else set()


def _link_topics(conn: Connection, source_id: int, linked: set[str], wanted: set[str]) -> None:
    if linked == wanted:
        return
    conn.execute(source_topics.delete().where(source_topics.c.source_id == source_id))
    rows = [{"source_id": source_id, "topic_id": t} for t in sorted(wanted)]
    conn.execute(insert(source_topics), rows)


def bump(conn: Connection, topic_ids: Iterable[str]) -> None:
    """Make topics dirty: their content changed since they were last rendered."""
    ids = sorted(set(topic_ids))
    if ids:
        version = topics.c.content_version + 1
        conn.execute(update(topics).where(topics.c.id.in_(ids)).values(content_version=version))


# --- reading sources -----------------------------------------------------------------


def source_query() -> Select[Any]:
    """Sources with their fetch state, as `source_row` reads them."""
    fs = fetch_state
    columns = [fs.c.etag, fs.c.last_modified, fs.c.body_hash, fs.c.error_count, fs.c.last_error]
    columns += [fs.c.next_poll_at, fs.c.last_success_at, fs.c.last_status, fs.c.feed_hints]
    columns.append(fs.c.moved_to)
    return select(sources, *columns).outerjoin(fs, fs.c.source_id == sources.c.id)


def source_row(row: Row[Any]) -> SourceRow:
    return SourceRow(
        id=row.id,
        url=row.url,
        name=row.name,
        title=row.title,
        link=row.link,
        position=row.position,
        enabled=row.enabled,
        validators=Validators(row.etag, row.last_modified, row.body_hash),
        error_count=row.error_count or 0,
        last_error=row.last_error,
        next_poll_at=row.next_poll_at,
        last_success_at=row.last_success_at,
        status=row.last_status,
        hints=FeedHints.from_json(row.feed_hints),
        moved_to=row.moved_to,
    )


def source_rows(conn: Connection, ids: Sequence[int]) -> dict[int, SourceRow]:
    rows: dict[int, SourceRow] = {}
    for chunk in chunks(ids):
        query = source_query().where(sources.c.id.in_(chunk))
        rows.update((r.id, source_row(r)) for r in conn.execute(query))
    return rows


# --- leases ------------------------------------------------------------------------


def unleased(now: datetime) -> ColumnElement[bool]:
    return or_(fetch_state.c.lease_until.is_(None), fetch_state.c.lease_until <= now)


def not_gone() -> ColumnElement[bool]:
    """Sources whose last answer was not 410 Gone: those are never polled again."""
    return or_(fetch_state.c.last_status.is_(None), fetch_state.c.last_status != GONE)


def due_query(now: datetime, limit: int) -> Select[Any]:
    """Enabled, due, unleased sources, oldest due first; rows another node has locked
    are skipped rather than waited for (PostgreSQL; SQLite ignores FOR UPDATE)."""
    fs = fetch_state
    return (
        select(fs.c.source_id, fs.c.fence)
        .join(sources, sources.c.id == fs.c.source_id)
        .where(sources.c.enabled, fs.c.next_poll_at <= now, unleased(now), not_gone())
        .order_by(fs.c.next_poll_at, fs.c.source_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=fs)
    )


def claim_due(conn: Connection, now: datetime, limit: int, lease_seconds: float) -> list[Claim]:
    """See `Store.claim_due`."""
    fs = fetch_state
    until = now + timedelta(seconds=lease_seconds)
    leases = {}
    for row in conn.execute(due_query(now, limit)).all():
        source_id, fence = row.source_id, row.fence
        token = uuid.uuid4().hex
        # Still unleased and still at the fence we read: else another node won the race.
        take = update(fs).where(fs.c.source_id == source_id, fs.c.fence == fence, unleased(now))
        taken = conn.execute(take.values(lease_token=token, lease_until=until, fence=fence + 1))
        if taken.rowcount == 1:
            leases[source_id] = (token, fence + 1)
    rows = source_rows(conn, list(leases))
    return [Claim(rows[sid], token, fence) for sid, (token, fence) in leases.items()]


def release_leases(conn: Connection, tokens: Iterable[str] | None) -> int:
    """See `Store.release_leases`."""
    fs = fetch_state
    free = {"lease_token": None, "lease_until": None}
    if tokens is None:
        return conn.execute(update(fs).where(fs.c.lease_token.is_not(None)).values(free)).rowcount
    released = 0
    for chunk in chunks(sorted(set(tokens))):
        stmt = update(fs).where(fs.c.lease_token.in_(chunk)).values(free)
        released += conn.execute(stmt).rowcount
    return released
