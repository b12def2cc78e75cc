"""Scheduling state: what a feed says of its own rhythm (ttl, sy:updatePeriod,
skipHours, skipDays, entry dates), kept between polls since a 304 brings no feed to
read them from; and where a source moved permanently (301/308), polled from then on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fetch_state") as batch:
        batch.add_column(sa.Column("feed_hints", sa.Text(), nullable=True))
        batch.add_column(sa.Column("moved_to", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fetch_state") as batch:
        batch.drop_column("moved_to")
        batch.drop_column("feed_hints")
