"""Store schema: the tables as SQLAlchemy Core objects, and the UTC datetime type.

The live description of the schema, used to build queries; it does not create
anything: Alembic migrations (`aggregator/migrations`) do, and a test checks the two
agree. Made for SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite keeps naive text, so the zone is
    dropped on the way in (after converting to UTC) and UTC put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Named constraints: SQLite batch migrations can only alter what has a name.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _when(name: str, nullable: bool = True) -> Column[datetime]:
    return Column(name, UTCDateTime(), nullable=nullable)


def _counter(name: str) -> Column[int]:
    return Column(name, Integer, nullable=False, server_default="0")


topics = Table(
    "topics",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text),
    _counter("content_version"),  # > published_version: the topic feed must be rendered
    _counter("published_version"),
    _when("published_at"),
    _when("created_at", nullable=False),
)
sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text),  # from the config
    Column("title", Text),  # from the feed
    Column("link", Text),
    Column("feed_id", Text),
    Column("position", Integer, nullable=False),  # index in the config: the last tie-break
    Column("enabled", Boolean, nullable=False),
    _when("created_at", nullable=False),
)
source_topics = Table(
    "source_topics",
    metadata,
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("topic_id", String(64), ForeignKey("topics.id"), nullable=False),
    PrimaryKeyConstraint("source_id", "topic_id"),
)
# fetch_state.last_status of a source that answered 410 Gone: never polled again.
GONE = "gone"

fetch_state = Table(
    "fetch_state",
    metadata,
    Column("source_id", Integer, ForeignKey("sources.id"), primary_key=True),
    _when("next_poll_at", nullable=False),
    Column("lease_token", String(32)),
    _when("lease_until"),
    _counter("fence"),  # grows with every claim: orders the leases a source has had
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", Text),
    Column("last_status", String(16)),
    Column("http_status", Integer),
    Column("last_error", Text),
    _counter("error_count"),  # consecutive errors, for backoff
    _when("last_polled_at"),
    _when("last_success_at"),
    Column("warning", Text),
    Column("feed_hints", Text),  # JSON of schedule.FeedHints, from the last parsed body
    Column("moved_to", Text),  # where a 301/308 sent us: polled there from then on
    Index(None, "next_poll_at"),
)
entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("key", Text, nullable=False),
    Column("output_id", Text, nullable=False, unique=True),
    Column("guid", Text),
    Column("link", Text),
    Column("title", Text, nullable=False),
    Column("author", Text),
    Column("content", Text, nullable=False),
    Column("summary", Text, nullable=False),
    _when("published", nullable=False),
    _when("updated", nullable=False),
    _when("source_updated"),  # the source's own `updated`, as last seen
    _when("first_seen", nullable=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("categories", Text, nullable=False),  # JSON lists
    Column("enclosures", Text, nullable=False),
    Column("removals", Text, nullable=False),
    # Duplicate detection: the article URL's identity form (`urls.story_url`) and the
    # near-duplicate signature of the cleaned text (`dedupe.near.signature`).
    Column("story_url", Text, index=True),
    Column("signature", LargeBinary),
    UniqueConstraint("source_id", "key"),
    Index(None, "first_seen"),
)
entry_topics = Table(
    "entry_topics",
    metadata,
    Column("entry_id", Integer, ForeignKey("entries.id"), nullable=False),
    Column("topic_id", String(64), ForeignKey("topics.id"), nullable=False),
    Column("duplicate_of", Integer, ForeignKey("entries.id")),  # NULL: the published copy
    _when("published", nullable=False),  # copy of entries.published (fixed), for the index
    # How a duplicate was merged: rule ("hash", "link", "near", "teaser", "repost"), its
    # similarity and a short explanation; "unmerged" on a copy an operator split off.
    Column("merge_rule", String(16)),
    Column("similarity", Float),
    Column("merge_detail", Text),
    PrimaryKeyConstraint("entry_id", "topic_id"),
    Index(None, "topic_id", "duplicate_of", "published"),
    Index(None, "duplicate_of"),
)
source_memory = Table(
    "source_memory",
    metadata,
    # What the clean stage has learned of a source's boilerplate (`clean.learn.Memory`
    # as versioned JSON), written in the transaction of the poll that taught it.
    Column("source_id", Integer, ForeignKey("sources.id"), primary_key=True),
    Column("data", Text, nullable=False),
    _when("updated_at", nullable=False),
)
