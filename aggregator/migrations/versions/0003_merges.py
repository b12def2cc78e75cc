"""Duplicates across sources: the article URL identity and near-duplicate signature of
each entry, and the rule that merged each duplicate.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("story_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
        batch.create_index("ix_entries_story_url", ["story_url"])
        batch.create_index("ix_entries_first_seen", ["first_seen"])
    with op.batch_alter_table("entry_topics") as batch:
        batch.add_column(sa.Column("merge_rule", sa.String(16), nullable=True))
        batch.add_column(sa.Column("similarity", sa.Float(), nullable=True))
        batch.add_column(sa.Column("merge_detail", sa.Text(), nullable=True))
        batch.create_index("ix_entry_topics_duplicate_of", ["duplicate_of"])


def downgrade() -> None:
    with op.batch_alter_table("entry_topics") as batch:
        batch.drop_index("ix_entry_topics_duplicate_of")
        batch.drop_column("merge_detail")
        batch.drop_column("similarity")
        batch.drop_column("merge_rule")
    with op.batch_alter_table("entries") as batch:
        batch.drop_index("ix_entries_first_seen")
        batch.drop_index("ix_entries_story_url")
        batch.drop_column("signature")
        batch.drop_column("story_url")
