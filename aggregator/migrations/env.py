"""Alembic environment: runs our migrations on the connection the store hands in.

Configured programmatically by `aggregator.store` (no alembic.ini, no logging set-up):
the open connection arrives in `config.attributes["connection"]`. Offline mode
(`--sql`) renders DDL for `sqlalchemy.url`'s dialect, e.g. to review PostgreSQL DDL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

# Any constant: nodes sharing one PostgreSQL serialise their start-up migrations on it.
_PG_MIGRATION_LOCK = 0x61676772  # "aggr"


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes["connection"]
    if connection.dialect.name == "postgresql":
        # Held until the store's migration transaction ends: a second node waits, then
        # finds the schema at head and does nothing.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    context.configure(
        connection=connection,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
