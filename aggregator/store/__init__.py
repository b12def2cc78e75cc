"""Store stage: the only code that touches the database (SQLAlchemy 2 Core, no ORM).

It decides nothing about entries: what a poll changes is `dedupe.plan_poll`'s pure
decision; the store reads its inputs and writes its outcome, one transaction per
call. One code path serves SQLite (the embedded default: WAL, busy_timeout) and
PostgreSQL, where several nodes share one database and claim due sources with leases
(`SELECT … FOR UPDATE SKIP LOCKED`); a fencing token makes the store reject the
writes of a node that lost its lease. Every datetime in and out is aware UTC.

Modules: `schema` (tables), `database` (engine, pragmas, migrations), `sources`
(config sync, leases), `polls` (saving polls), `reads` (publishing, provenance, checks).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..config import Config
from ..dedupe import DedupeSettings
from ..errors import StoreError
from ..models import CleanFeed, PublishedEntry, SourceRow, Validators
from . import polls, reads
from . import sources as source_queries
from .candidates import NearIndex
from .database import migrate, open_engine, reason
from .reads import Copy
from .schema import metadata, sources, topics
from .sources import Claim

DEFAULT_DEDUPE = DedupeSettings()

__all__ = ["Claim", "Copy", "NotModified", "Store", "metadata"]


@dataclass(frozen=True, slots=True)
class NotModified:
    """A poll that found nothing new (a 304, or a byte-identical body), to record."""

    source_id: int
    token: str | None  # the lease token, for a fenced write (None: `once`)
    validators: Validators
    http_status: int | None
    next_poll_at: datetime
    moved_to: str | None = None  # a 301/308 target, polled from now on


class Store:
    """The database. Each public method is one transaction; database errors come out
    as StoreError saying what we were doing. Opening creates and migrates the schema."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        self.near_index = NearIndex()  # built from the store by the first save_poll
        try:
            migrate(self.engine)
        except StoreError:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _begin(self, doing: str) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"{doing}: {reason(exc)}") from exc

    # --- sources ---------------------------------------------------------------------

    def sync_sources(self, config: Config, now: datetime) -> None:
        """Make topics and sources match the config. New or changed topics, and the
        topics of a renamed source, become dirty; new sources are due `now`; sources
        gone from the config are disabled (their entries kept, and still published);
        a source that comes back is re-enabled and due `now`."""
        with self._begin("syncing sources and topics from the config") as conn:
            dirty = source_queries.sync_topics(conn, config, now)
            dirty |= source_queries.sync_sources(conn, config, now)
            source_queries.bump(conn, dirty)

    def sources(self, enabled_only: bool = True) -> list[SourceRow]:
        """Sources in config order, with their fetch state."""
        query = source_queries.source_query().order_by(sources.c.position, sources.c.id)
        if enabled_only:
            query = query.where(sources.c.enabled)
        with self._begin("listing sources") as conn:
            return [source_queries.source_row(r) for r in conn.execute(query)]

    def source_by_url(self, url: str) -> SourceRow | None:
        query = source_queries.source_query().where(sources.c.url == url)
        with self._begin(f"reading source {url}") as conn:
            row = conn.execute(query).first()
        return None if row is None else source_queries.source_row(row)

    def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[Claim]:
        """Lease up to `limit` enabled sources that are due at `now` and not leased,
        oldest due first, for `lease_seconds`. Rows another node has locked are skipped
        (PostgreSQL); a conditional UPDATE drops any claim that lost a race."""
        if limit <= 0:
            return []
        with self._begin("claiming due sources") as conn:
            return source_queries.claim_due(conn, now, limit, lease_seconds)

    def release_leases(self, tokens: Iterable[str] | None = None) -> int:
        """Give back the leases held under `tokens` (all leases when None); returns how
        many were held. A source whose poll was saved holds none; one whose poll was
        not (a failing store, a stop before its fetch) is due again at once instead of
        when its lease runs out. None is for a node that knows it is alone: a daemon
        on SQLite, holding the store's lock, after an earlier run was killed."""
        with self._begin("releasing leases") as conn:
            return source_queries.release_leases(conn, tokens)

    # --- polls -----------------------------------------------------------------------

    def save_poll(
        self,
        source_id: int,
        *,
        token: str | None,
        feed: CleanFeed,
        validators: Validators,
        http_status: int | None,
        now: datetime,
        next_poll_at: datetime,
        topics: Sequence[str] | None = None,
        dedupe: DedupeSettings = DEFAULT_DEDUPE,
        moved_to: str | None = None,
    ) -> tuple[int, int, int]:
        """Store a successful poll; returns (new, updated, duplicates), see `PollPlan`.

        `topics` defaults to the source's topics in the store. With a `token` the write
        is fenced: if the lease is no longer that token, StoreError and nothing written.
        `dedupe` says how copies of a story are found and where they are merged.
        `moved_to`: where a permanent redirect sent this poll, polled from now on.
        """
        state = polls.ok_state(validators, http_status, now, next_poll_at, moved_to=moved_to)
        with self._begin(f"saving a poll of source {source_id}") as conn:
            # Fence first: the UPDATE also takes the write lock, so the reads are current.
            kept = {"warning": feed.warning, "feed_hints": feed.hints.to_json()}
            polls.finish_lease(conn, source_id, token, state | kept)
            source = polls.poll_source(conn, source_id)
            index = self.near_index
            plan, through = polls.plan(conn, source_id, source, feed, now, topics, dedupe, index)
            written = polls.write_plan(conn, source_id, plan)
            dirty = set(plan.dirty_topics)
            if polls.update_source_meta(conn, source_id, source, feed):
                dirty.update(source.topics)  # the atom:source of its entries changes
            if feed.memory is not None:
                polls.save_memory(conn, source_id, feed.memory, now)
            source_queries.bump(conn, dirty)
        if through is not None and self.engine.dialect.name == "sqlite":
            # Committed, and the fence's UPDATE kept other writers out since the index
            # read the store: its new rows are all there is past `through`.
            index.stored(written, through)
        return plan.counts

    def rebuild_index(self, now: datetime, window: float) -> int:
        """Load the near-duplicate index with the signatures of entries first seen
        within `window` seconds of `now` (and any stored since the last call); returns
        how many were added. The first `save_poll` does it too, if not done before."""
        with self._begin("building the near-duplicate index") as conn:
            return self.near_index.catch_up(conn, now, timedelta(seconds=window))

    def known_keys(self, source_id: int, keys: Sequence[str]) -> set[str]:
        """Which of `keys` the store already holds for this source."""
        with self._begin(f"reading the entries of source {source_id}") as conn:
            return {known.key for known in polls.known(conn, source_id, keys)}

    def memory(self, source_id: int) -> str | None:
        """What cleaning has learned of a source (JSON, see `clean.learn.Memory`)."""
        with self._begin(f"reading what was learned of source {source_id}") as conn:
            return polls.load_memory(conn, source_id)

    def save_not_modified(
        self,
        source_id: int,
        *,
        token: str | None,
        validators: Validators,
        http_status: int | None,
        now: datetime,
        next_poll_at: datetime,
    ) -> None:
        """Record a poll that found nothing new (a 304, or a byte-identical body)."""
        poll = NotModified(source_id, token, validators, http_status, next_poll_at)
        (error,) = self.save_not_modified_many([poll], now=now)
        if error is not None:
            raise error

    def save_not_modified_many(
        self, unchanged: Sequence[NotModified], *, now: datetime
    ) -> list[StoreError | None]:
        """Record polls that found nothing new, in one transaction (as `save_not_modified`
        does each). Returns, per poll, None or the StoreError of a fenced write that
        lost its lease (nothing written for that poll); a database failure raises
        StoreError and writes nothing."""
        states = [
            polls.ok_state(
                p.validators, p.http_status, now, p.next_poll_at, "not_modified", p.moved_to
            )
            for p in unchanged
        ]
        with self._begin(f"saving {len(unchanged)} not-modified poll(s)") as conn:
            if all(p.token is None for p in unchanged):
                return polls.finish_unfenced(conn, [p.source_id for p in unchanged], states)
            errors: list[StoreError | None] = []
            for poll, state in zip(unchanged, states, strict=True):
                try:
                    polls.finish_lease(conn, poll.source_id, poll.token, state)
                except StoreError as exc:
                    errors.append(exc)
                else:
                    errors.append(None)
            return errors

    def save_error(
        self,
        source_id: int,
        *,
        token: str | None,
        error: str,
        http_status: int | None,
        now: datetime,
        next_poll_at: datetime | None,
    ) -> None:
        """Record a failed poll: validators and entries kept, error_count + 1. With
        `next_poll_at` None the source is gone (HTTP 410): it is not polled again."""
        state = polls.error_state(error, http_status, now, next_poll_at)
        with self._begin(f"saving an error of source {source_id}") as conn:
            polls.finish_lease(conn, source_id, token, state)

    # --- publishing ------------------------------------------------------------------

    def dirty_topics(self) -> list[tuple[str, int]]:
        """(topic id, content_version) of every topic whose feed is out of date."""
        query = select(topics.c.id, topics.c.content_version).order_by(topics.c.id)
        query = query.where(topics.c.content_version > topics.c.published_version)
        with self._begin("listing dirty topics") as conn:
            return [(topic_id, version) for topic_id, version in conn.execute(query)]

    def mark_published(self, topic_id: str, version: int, now: datetime) -> None:
        """Record that `version` of a topic is published. Never lowers the published
        version, so a change made while the feed was rendering keeps the topic dirty."""
        newer = (topics.c.id == topic_id) & (topics.c.published_version < version)
        with self._begin(f"marking topic {topic_id} published") as conn:
            conn.execute(
                update(topics).where(newer).values(published_version=version, published_at=now)
            )

    def topic_entries(self, topic_id: str, limit: int) -> list[PublishedEntry]:
        """The newest `limit` published entries of a topic, by published date (newest
        first), then output id; categories are the topic, then the entry's own. A story
        several sources carried is one entry listing the others (see
        `reads.published_entry`)."""
        with self._begin(f"reading the entries of topic {topic_id}") as conn:
            return reads.topic_entries(conn, topic_id, limit)

    # --- inspection ------------------------------------------------------------------

    def topic_overview(self) -> list[reads.TopicOverview]:
        """Every topic with its count of shown stories and when it was last published."""
        with self._begin("reading the topics") as conn:
            return reads.topic_overview(conn)

    def provenance(self, output_id: str) -> list[Copy]:
        """Every copy of the story the entry `output_id` tells, in each topic it is in:
        the published copy first, then its duplicates by first seen. [] if unknown."""
        with self._begin(f"reading the provenance of {output_id}") as conn:
            return reads.provenance(conn, output_id)

    def explain(self, ident: str) -> list[reads.Explained]:
        """The stored entries whose output id, link or guid is `ident`, with what
        cleaning removed from each."""
        with self._begin(f"looking up entry {ident}") as conn:
            return reads.explain_entries(conn, ident)

    def unmerge(self, entry_id: int, now: datetime) -> set[str]:
        """Split a duplicate off its story (see `reads.unmerge`); returns the topics
        whose feeds change, now dirty."""
        with self._begin(f"unmerging entry {entry_id}") as conn:
            dirty = reads.unmerge(conn, entry_id, now)
            source_queries.bump(conn, dirty)
        return dirty

    def find_sources(self, name: str) -> list[tuple[int, str, str | None]]:
        """(id, url, name) of sources by configured name, feed title or URL."""
        with self._begin(f"looking up source {name}") as conn:
            return reads.find_sources(conn, name)

    def integrity_check(self) -> list[str]:
        """Problems found, [] when healthy: SQLite's own checks, then our invariants."""
        with self._begin("checking integrity") as conn:
            return reads.integrity_problems(conn)
