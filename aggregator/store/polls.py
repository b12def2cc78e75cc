"""Store writes for the end of a poll: fetch state, the fence check, and a poll's new
and changed entries. What changes is decided by `dedupe.plan_poll`, not here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Update,
    and_,
    bindparam,
    insert,
    select,
    update,
)

from ..dedupe import (
    Candidate,
    DedupeSettings,
    Demotion,
    KnownEntry,
    PollInput,
    PollPlan,
    Root,
    is_dedupable,
    plan_poll,
    story_of,
)
from ..dedupe.near import signature
from ..errors import StoreError
from ..models import CleanEntry, CleanFeed, Validators
from .candidates import NearIndex, StoredSignature, candidate_ids, load_candidates
from .database import chunks
from .schema import (
    GONE,
    entries,
    entry_topics,
    fetch_state,
    source_memory,
    source_topics,
    sources,
)


@dataclass(frozen=True, slots=True)
class PollSource:
    """What a poll needs to know of its source."""

    url: str
    position: int
    topics: tuple[str, ...]
    meta: tuple[str | None, str | None, str | None]  # title, link, feed_id (atom:source)


def ok_state(
    validators: Validators,
    http_status: int | None,
    now: datetime,
    next_poll_at: datetime,
    status: str = "ok",
    moved_to: str | None = None,
) -> dict[str, Any]:
    """fetch_state after a successful poll: new validators, errors forgotten; with
    `moved_to`, where a permanent redirect now sends the source's polls."""
    moved = {"moved_to": moved_to} if moved_to is not None else {}
    return moved | {
        "etag": validators.etag,
        "last_modified": validators.last_modified,
        "body_hash": validators.body_hash,
        "last_status": status,
        "http_status": http_status,
        "last_error": None,
        "error_count": 0,
        "last_polled_at": now,
        "last_success_at": now,
        "next_poll_at": next_poll_at,
    }


ONE_MORE_ERROR = fetch_state.c.error_count + 1  # one object: `finish_lease` caches by it


def error_state(
    error: str,
    http_status: int | None,
    now: datetime,
    next_poll_at: datetime | None,
) -> dict[str, Any]:
    """fetch_state after a failed poll: validators kept, one more consecutive error.
    Without a next poll the source is gone (410): it is never due again."""
    return {
        "last_status": "error" if next_poll_at is not None else GONE,
        "http_status": http_status,
        "last_error": error,
        "error_count": ONE_MORE_ERROR,
        "last_polled_at": now,
        "next_poll_at": next_poll_at or now,
    }


def finish_lease(
    conn: Connection, source_id: int, token: str | None, state: Mapping[str, Any]
) -> None:
    """Write a poll's fetch state and release its lease, or raise StoreError when the
    lease is no longer `token`: another node took the source and its work wins.
    Without a token (`once`), any lease is left alone for its holder."""
    stmt = _finish_statement(_shape(state), state, token is not None)
    if conn.execute(stmt, _params(source_id, token, state)).rowcount == 1:
        return
    if token is None:
        raise StoreError(f"source {source_id}: no such source")
    raise StoreError(f"source {source_id}: lease {token} was lost; poll discarded")


def finish_unfenced(
    conn: Connection, source_ids: Sequence[int], states: Sequence[Mapping[str, Any]]
) -> list[StoreError | None]:
    """`finish_lease` without tokens for many sources, one executemany per shape of
    state: the bookkeeping of a poll of many 304s. Returns None or the StoreError of
    each source (only "no such source": an unfenced write cannot lose a lease)."""
    groups: dict[tuple[tuple[str, int], ...], list[int]] = {}
    for index, state in enumerate(states):
        groups.setdefault(_shape(state), []).append(index)
    errors: list[StoreError | None] = [None] * len(states)
    for shape, indexes in groups.items():
        stmt = _finish_statement(shape, states[indexes[0]], False)
        params = [_params(source_ids[i], None, states[i]) for i in indexes]
        updated = conn.execute(stmt, params).rowcount
        if updated == len(indexes) and conn.dialect.supports_sane_multi_rowcount:
            continue
        # Some source is gone (or the driver cannot count): the writes that matched
        # are right as they are; find the sources that matched nothing.
        wanted = [source_ids[i] for i in indexes]
        found = set(
            conn.execute(
                select(fetch_state.c.source_id).where(fetch_state.c.source_id.in_(wanted))
            ).scalars()
        )
        for i in indexes:
            if source_ids[i] not in found:
                errors[i] = StoreError(f"source {source_ids[i]}: no such source")
    return errors


def _shape(state: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    """The columns of a state and which of them are SQL expressions (by identity)."""
    return tuple((k, id(v) if isinstance(v, ColumnElement) else 0) for k, v in state.items())


def _params(source_id: int, token: str | None, state: Mapping[str, Any]) -> dict[str, Any]:
    params = {f"p_{k}": v for k, v in state.items() if not isinstance(v, ColumnElement)}
    return params | {"p_source_id": source_id, "p_token": token}


_FINISH_STATEMENTS: dict[tuple[object, ...], Update] = {}


def _finish_statement(
    shape: tuple[tuple[str, int], ...], state: Mapping[str, Any], fenced: bool
) -> Update:
    """The UPDATE for a state of this shape (its columns, which of them are SQL
    expressions): built once, so SQLAlchemy does not rebuild and re-key it per poll."""
    key = (shape, fenced)
    stmt = _FINISH_STATEMENTS.get(key)
    if stmt is None:
        fs = fetch_state
        values = {
            k: v if isinstance(v, ColumnElement) else bindparam(f"p_{k}") for k, v in state.items()
        }
        stmt = update(fs).where(fs.c.source_id == bindparam("p_source_id")).values(values)
        if fenced:
            stmt = stmt.where(fs.c.lease_token == bindparam("p_token"))
            stmt = stmt.values(lease_token=None, lease_until=None)
        stmt = _FINISH_STATEMENTS.setdefault(key, stmt)
    return stmt


def poll_source(conn: Connection, source_id: int) -> PollSource:
    row = conn.execute(select(sources).where(sources.c.id == source_id)).one()
    linked = select(source_topics.c.topic_id).where(source_topics.c.source_id == source_id)
    topic_ids = tuple(sorted(conn.execute(linked).scalars()))
    return PollSource(row.url, row.position, topic_ids, (row.title, row.link, row.feed_id))


def plan(
    conn: Connection,
    source_id: int,
    source: PollSource,
    feed: CleanFeed,
    now: datetime,
    topic_ids: Sequence[str] | None,
    settings: DedupeSettings,
    index: NearIndex,
) -> tuple[PollPlan, int | None]:
    """Read what the plan needs and make it: the source's known entries, then the
    stored entries its new ones may copy. Also returns the id through which the
    near-duplicate index read the store for it (None: it did not)."""
    in_topics = tuple(topic_ids) if topic_ids is not None else source.topics
    stored = known(conn, source_id, [e.key for e in feed.entries])
    items = signed(feed.entries, {k.key: k.content_hash for k in stored}, settings.near.min_words)
    keys = {k.key for k in stored}
    fresh = [e for e in items if e.key not in keys and is_dedupable(e.content_hash)]
    found: tuple[tuple[Candidate, ...], tuple[Root, ...]] = ((), ())
    near: dict[str, tuple[int, ...]] = {}
    through = None
    if fresh and in_topics:
        if settings.near.near:  # the index serves near-duplicates only
            index.catch_up(conn, now, settings.near.window)
            through = index.last_id
        ids, near = candidate_ids(conn, fresh, index, settings)
        found = load_candidates(conn, ids, in_topics, settings) if ids else found
    candidates, roots = found
    poll = PollInput(
        source_id, source.url, source.position, in_topics, items, stored, candidates,
        roots, now, settings, tuple(near.items()),
    )  # fmt: skip
    return plan_poll(poll), through


def signed(
    items: Sequence[CleanEntry], stored: Mapping[str, str], min_words: int
) -> tuple[CleanEntry, ...]:
    """The entries, the new and changed ones sure to carry their near-duplicate
    signature: workers make it (`worker.parse_and_clean`); entries from elsewhere are
    signed here."""
    return tuple(
        replace(e, signature=signature(e.text, min_words))
        if e.signature is None and stored.get(e.key) != e.content_hash
        else e
        for e in items
    )


def known(conn: Connection, source_id: int, keys: Sequence[str]) -> tuple[KnownEntry, ...]:
    """This source's entries under `keys`, with the topics whose feed shows each: where
    it is the published copy, and where the copy it duplicates is."""
    e, et, rt = entries, entry_topics, entry_topics.alias("rt")
    columns = (e.c.id, e.c.key, e.c.content_hash, e.c.updated, et.c.topic_id, et.c.duplicate_of)
    root_is_shown = and_(rt.c.entry_id == et.c.duplicate_of, rt.c.duplicate_of.is_(None))
    found: dict[int, tuple[str, str, datetime]] = {}
    shown: dict[int, set[str]] = {}
    for chunk in chunks(sorted(set(keys))):
        query = select(*columns, rt.c.topic_id.label("root_topic"))
        query = query.outerjoin(et, et.c.entry_id == e.c.id).outerjoin(rt, root_is_shown)
        query = query.where(e.c.source_id == source_id, e.c.key.in_(chunk))
        for row in conn.execute(query):
            found[row.id] = (row.key, row.content_hash, row.updated)
            topics = shown.setdefault(row.id, set())
            if row.topic_id is not None and row.duplicate_of is None:
                topics.add(row.topic_id)
            elif row.root_topic is not None:
                topics.add(row.root_topic)
    return tuple(KnownEntry(i, *found[i], frozenset(shown[i])) for i in found)


def write_plan(conn: Connection, source_id: int, plan: PollPlan) -> list[StoredSignature]:
    """Batched writes: one INSERT per table, one executemany per kind of UPDATE.
    Returns the new rows that carry a signature, for the near-duplicate index."""
    ids = _insert_new(conn, source_id, plan) if plan.new else {}
    if plan.demotions:
        _demote(conn, plan.demotions, ids)
    if plan.updates:
        # Without .values(), each parameter set's other keys become the SET clause.
        change = update(entries).where(entries.c.id == bindparam("entry_id"))
        rows = [_content(u.entry) | {"entry_id": u.id, "updated": u.updated} for u in plan.updates]
        conn.execute(change, rows)
    if plan.rehashes:
        rehash = update(entries).where(entries.c.id == bindparam("entry_id"))
        rows = [{"entry_id": r.id, "content_hash": r.content_hash} for r in plan.rehashes]
        conn.execute(rehash, rows)
    return [
        StoredSignature(ids[n.entry.key], n.first_seen, n.entry.signature)
        for n in plan.new
        if n.entry.signature is not None
    ]


def _demote(conn: Connection, demotions: Sequence[Demotion], ids: Mapping[str, int]) -> None:
    """Beaten roots and their duplicates point at the new root; the beaten root's own
    row records the rule that merged it. Two statements, not one with an OR: SQLite
    would walk the whole topic for `entry_id = :old OR duplicate_of = :old`."""
    et = entry_topics
    in_topic = et.c.topic_id == bindparam("topic")
    followers = update(et).where(in_topic, et.c.duplicate_of == bindparam("old"))
    rows = [{"topic": d.topic_id, "old": d.entry_id, "new": ids[d.new_key]} for d in demotions]
    conn.execute(followers.values(duplicate_of=bindparam("new")), rows)
    beaten = update(et).where(in_topic, et.c.entry_id == bindparam("old"))
    how = [
        {"topic": d.topic_id, "old": d.entry_id, "duplicate_of": ids[d.new_key]}
        | {"merge_rule": d.rule, "similarity": d.similarity, "merge_detail": d.detail}
        for d in demotions
    ]
    conn.execute(beaten, how)


def _insert_new(conn: Connection, source_id: int, plan: PollPlan) -> dict[str, int]:
    """Insert the plan's new entries and their topics; returns their ids by key."""
    rows = [
        _content(n.entry)
        | {"source_id": source_id, "key": n.entry.key, "output_id": n.output_id}
        | {"first_seen": n.first_seen, "published": n.published, "updated": n.updated}
        for n in plan.new
    ]
    # One multi-row INSERT … RETURNING (SQLAlchemy's "insertmanyvalues").
    returned = conn.execute(insert(entries).returning(entries.c.id, entries.c.key), rows)
    ids: dict[str, int] = {key: entry_id for entry_id, key in returned}
    placed = []
    for new in plan.new:
        for p in new.placements:
            canon = p.duplicate_of_id if p.duplicate_of_key is None else ids[p.duplicate_of_key]
            placed.append({"entry_id": ids[new.entry.key], "topic_id": p.topic_id})
            placed[-1] |= {"duplicate_of": canon, "published": new.published}
            placed[-1] |= {"merge_rule": p.rule, "similarity": p.similarity}
            placed[-1] |= {"merge_detail": p.detail}
    if placed:
        conn.execute(insert(entry_topics), placed)
    return ids


def _content(entry: CleanEntry) -> dict[str, Any]:
    """The columns an entry's new content replaces."""
    return {
        "guid": entry.guid,
        "link": entry.link,
        "title": entry.title,
        "author": entry.author,
        "content": entry.content,
        "summary": entry.summary,
        "source_updated": entry.updated,
        "content_hash": entry.content_hash,
        "categories": json.dumps(list(entry.categories)),
        "enclosures": json.dumps([[x.href, x.type, x.length] for x in entry.enclosures]),
        "removals": json.dumps([[r.rule, r.text] for r in entry.removals]),
        "story_url": story_of(entry),
        "signature": entry.signature,
    }


def update_source_meta(
    conn: Connection, source_id: int, source: PollSource, feed: CleanFeed
) -> bool:
    """Keep the feed's title, link and id (for atom:source); True when they changed."""
    # CleanFeed carries no feed id yet (ParsedFeed does): picked up once it does.
    meta = (feed.title or None, feed.link, feed.feed_id)
    if meta == source.meta:
        return False
    title, link, feed_id = meta
    values = {"title": title, "link": link, "feed_id": feed_id}
    conn.execute(update(sources).where(sources.c.id == source_id).values(values))
    return True


def save_memory(conn: Connection, source_id: int, data: str, now: datetime) -> None:
    """Replace what was learned of a source (one row per source)."""
    values = {"data": data, "updated_at": now}
    where = source_memory.c.source_id == source_id
    if conn.execute(update(source_memory).where(where).values(values)).rowcount == 0:
        conn.execute(insert(source_memory).values(values | {"source_id": source_id}))


def load_memory(conn: Connection, source_id: int) -> str | None:
    where = source_memory.c.source_id == source_id
    data: str | None = conn.scalar(select(source_memory.c.data).where(where))
    return data
