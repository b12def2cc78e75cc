"""Initial schema: sources, their topics and fetch state, entries and their topics.

Written out in full rather than imported from `aggregator.store`: a migration is
history and must not change when the live schema does. Constraint names follow the
store's naming convention so later batch migrations (SQLite) can address them.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _counter(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _counter("content_version"),
        _counter("published_version"),
        _when("published_at"),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("feed_id", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("url", name="uq_sources_url"),
    )
    op.create_table(
        "source_topics",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "topic_id", name="pk_source_topics"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_source_topics_source_id_sources"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name="fk_source_topics_topic_id_topics"
        ),
    )
    _create_fetch_state()
    _create_entries()
    _create_entry_topics()


def _create_fetch_state() -> None:
    op.create_table(
        "fetch_state",
        sa.Column("source_id", sa.Integer(), nullable=False),
        _when("next_poll_at", nullable=False),
        sa.Column("lease_token", sa.String(32), nullable=True),
        _when("lease_until"),
        _counter("fence"),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.Text(), nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _counter("error_count"),
        _when("last_polled_at"),
        _when("last_success_at"),
        sa.Column("warning", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source_id", name="pk_fetch_state"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_fetch_state_source_id_sources"
        ),
    )
    op.create_index("ix_fetch_state_next_poll_at", "fetch_state", ["next_poll_at"])


def _create_entries() -> None:
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("output_id", sa.Text(), nullable=False),
        sa.Column("guid", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        _when("published", nullable=False),
        _when("updated", nullable=False),
        _when("source_updated"),
        _when("first_seen", nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("enclosures", sa.Text(), nullable=False),
        sa.Column("removals", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_entries_source_id_sources"),
        sa.UniqueConstraint("source_id", "key", name="uq_entries_source_id_key"),
        sa.UniqueConstraint("output_id", name="uq_entries_output_id"),
    )
    op.create_index("ix_entries_content_hash", "entries", ["content_hash"])


def _create_entry_topics() -> None:
    op.create_table(
        "entry_topics",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        # A copy of entries.published (which never changes) so a topic's newest
        # canonical entries come straight off the index below.
        _when("published", nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "topic_id", name="pk_entry_topics"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_entry_topics_entry_id_entries"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name="fk_entry_topics_topic_id_topics"
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["entries.id"], name="fk_entry_topics_duplicate_of_entries"
        ),
    )
    op.create_index(
        "ix_entry_topics_topic_id_duplicate_of_published",
        "entry_topics",
        ["topic_id", "duplicate_of", "published"],
    )


def downgrade() -> None:
    for table in ("entry_topics", "entries", "fetch_state", "source_topics", "sources", "topics"):
        op.drop_table(table)
