"""Store plumbing: opening the engine, SQLite pragmas, Alembic migration, error text.

No queries about feeds live here; see the sibling modules for those.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError

T = TypeVar("T")
CHUNK = 500  # bound IN (...) lists: SQLite and PostgreSQL cap bound parameters per query


def open_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's directory is created if missing."""
    try:
        parsed = make_url(url)
        database = parsed.database
        if parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
            Path(str(database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
    except (SQLAlchemyError, ValueError, OSError) as exc:
        raise StoreError(f"opening the database {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets the HTTP server read while the poller writes; busy_timeout waits out the
    # other writer instead of failing at once; NORMAL is safe with WAL (a power cut can
    # lose the last commits, not corrupt the file); SQLite leaves foreign keys off.
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "busy_timeout=5000",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic configured in code (no alembic.ini): our packaged migrations, run on
    `connection` (see migrations/env.py)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "aggregator:migrations")
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, in one transaction; a no-op on an
    up-to-date database."""
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"migrating the database: {reason(exc)}") from exc
    except CommandError as exc:  # e.g. a database migrated by a newer aggregator
        raise StoreError(f"migrating the database: {exc}") from exc


def reason(exc: SQLAlchemyError) -> str:
    """The driver's message, without the SQL and parameters SQLAlchemy appends."""
    orig = getattr(exc, "orig", None)
    return str(orig) if orig is not None else str(exc).split("\n", 1)[0]


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
