"""Store plumbing: opening the engine, SQLite pragmas, Alembic migration, error text.

No queries about feeds live here; see the sibling modules for those.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

T = TypeVar("T")
CHUNK = 500  # bound IN (...) lists: SQLite and PostgreSQL cap bound parameters per query
_VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"
_REVISION_LINE = re.compile(r"^(down_)?revision\b[^=\n]*=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite `url`; None for other databases and in-memory
    SQLite. Raises ValueError (from SQLAlchemy) for a malformed URL."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        return Path(str(database))
    return None


def open_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's directory is created if missing."""
    try:
        parsed = make_url(url)
        database = sqlite_file(url)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
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
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "aggregator:migrations")
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, in one transaction; a no-op on an
    up-to-date database."""
    if _at_head(engine):
        return  # every start of `once` lands here: Alembic (~0.15 s, 11 MB) is not loaded
    if _create_if_empty(engine):
        return
    from alembic import command
    from alembic.util import CommandError

    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"migrating the database: {reason(exc)}") from exc
    except CommandError as exc:  # e.g. a database migrated by a newer aggregator
        raise StoreError(f"migrating the database: {exc}") from exc


def _create_if_empty(engine: Engine) -> bool:
    """Give a database without any table the schema of `schema.metadata` and stamp it
    with the head revisions, as Alembic's "build from scratch" recipe does (create_all,
    then stamp), without loading Alembic: 16 MB of the process's memory for as long as
    it runs (measured on a cold `once`). tests/test_store.py checks that the
    migrations build the same schema. False when the database has tables: migrations
    decide. A second process creating the same database at once finds the tables, or
    fails and then finds the database at the head revisions."""
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect

    from .schema import metadata

    try:
        with engine.connect() as conn:
            if inspect(conn).get_table_names():
                return False
        version = Table(
            "alembic_version",
            MetaData(),
            Column("version_num", String(32), nullable=False),
            PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
        )
        with engine.begin() as conn:
            metadata.create_all(conn)
            version.create(conn)
            conn.execute(version.insert(), [{"version_num": v} for v in sorted(head_revisions())])
    except SQLAlchemyError as exc:
        if _at_head(engine):
            return True  # another process made it meanwhile
        raise StoreError(f"migrating the database: {reason(exc)}") from exc
    return True


def _at_head(engine: Engine) -> bool:
    """Whether the database records exactly the newest revisions; False on any doubt
    (no database yet, no version table, an unknown revision): Alembic then decides."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version"))
            stored = {str(row[0]) for row in rows}
    except SQLAlchemyError:
        return False
    return bool(stored) and stored == head_revisions()


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The head revisions of our migrations, read from the scripts' `revision` and
    `down_revision` assignments (what Alembic reads, without loading Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in _VERSIONS.glob("*.py"):
        for down, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            (parents if down else revisions).update(_QUOTED.findall(value))
    return frozenset(revisions - parents)


def reason(exc: SQLAlchemyError) -> str:
    """The driver's message, without the SQL and parameters SQLAlchemy appends."""
    orig = getattr(exc, "orig", None)
    return str(orig) if orig is not None else str(exc).split("\n", 1)[0]


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
