"""Learned boilerplate per source: one row of versioned JSON per source.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_memory",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_source_memory_source_id_sources"
        ),
        sa.PrimaryKeyConstraint("source_id", name="pk_source_memory"),
    )


def downgrade() -> None:
    op.drop_table("source_memory")
