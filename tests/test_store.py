"""Store stage on real SQLite files: migrations, config sync, polls, deduplication across
sources and topics, leases and fencing, publishing state, provenance and integrity."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url

from aggregator.config import Config, parse_config
from aggregator.dedupe import content_hash
from aggregator.errors import StoreError
from aggregator.models import CleanEntry, CleanFeed, Enclosure, OriginFeed, Validators
from aggregator.store import NotModified, Store, metadata
from aggregator.store.database import alembic_config, head_revisions, open_engine
from aggregator.store.schema import entries, entry_topics, fetch_state
from aggregator.store.sources import due_query

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
A = "https://a.example/feed.xml"
B = "https://b.example/feed.xml"
C = "https://c.example/feed.xml"
TABLES = {
    "topics",
    "sources",
    "source_topics",
    "fetch_state",
    "entries",
    "entry_topics",
    "source_memory",
}


def config(tmp_path: Path, *sources: dict[str, Any], **topics: str) -> Config:
    topics = topics or {"world": "World", "eu": "Europe"}
    data = {
        "topics": {tid: {"title": title} for tid, title in topics.items()},
        "sources": list(sources) or [{"url": A, "topics": ["world"]}],
    }
    return parse_config(data, tmp_path)


def src(url: str, *topics: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "topics": list(topics) or ["world"], **extra}


def entry(key: str, body: str = "", **changes: Any) -> CleanEntry:
    body = body or f"Story {key}"
    value = CleanEntry(
        key=key,
        guid=key,
        link=f"https://news.example/{key}",
        title=body,
        content=f"<p>{body}</p>" + "x" * 10,
        summary=f"<p>{body}</p>",
        text=body,
        author="Ann",
        published=T0 - timedelta(days=1),
        updated=None,
    )
    value = replace(value, **changes)
    return replace(value, content_hash=content_hash(value.title, value.text))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path}/data/agg.db")
    store.sync_sources(config(tmp_path, src(A, "world"), src(B, "world"), src(C, "eu")), T0)
    yield store
    store.close()


def source_id(store: Store, url: str) -> int:
    row = store.source_by_url(url)
    assert row is not None
    return row.id


def save(
    store: Store, url: str, *items: CleanEntry, now: datetime = T0, token: str | None = None
) -> tuple[int, int, int]:
    return store.save_poll(
        source_id(store, url),
        token=token,
        feed=CleanFeed(title=f"Feed {url}", link=url.rsplit("/", 1)[0] + "/", subtitle="",
                       entries=items),
        validators=Validators(etag='"v1"', last_modified=None, body_hash="h1"),
        http_status=200,
        now=now,
        next_poll_at=now + timedelta(minutes=30),
    )  # fmt: skip


def published(store: Store, topic: str = "world") -> list[tuple[str, str]]:
    """(title, origin url) of a topic's published entries, newest first."""
    return [(e.title, e.origin.id) for e in store.topic_entries(topic, 100)]


def settle(store: Store, now: datetime = T0) -> None:
    for topic_id, version in store.dirty_topics():
        store.mark_published(topic_id, version, now)


# --- migrations ------------------------------------------------------------------


def test_migration_creates_the_schema(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/new/agg.db")  # missing directory created
    try:
        assert set(inspect(store.engine).get_table_names()) == TABLES | {"alembic_version"}
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0004"
            assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert conn.scalar(text("PRAGMA foreign_keys")) == 1
            assert conn.scalar(text("PRAGMA busy_timeout")) == 5000
            assert conn.scalar(text("PRAGMA synchronous")) == 1  # NORMAL
        assert store.integrity_check() == []
    finally:
        store.close()


def test_migrated_schema_matches_the_live_tables(db: Store, tmp_path: Path) -> None:
    """A new database gets `metadata`'s tables directly (no Alembic); the migrations
    must build the very same schema for databases they upgrade."""
    engine = open_engine(f"sqlite:///{tmp_path}/migrated.db")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            migrated = _schema(conn)
    finally:
        engine.dispose()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert _schema(conn) == migrated


def _schema(conn: Any) -> dict[str, Any]:
    """Tables, columns (name, type, nullable, primary key) and index columns by name."""
    found = inspect(conn)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
            found.get_pk_constraint(table)["constrained_columns"],
            sorted(
                (i["name"], tuple(i["column_names"]), i["unique"]) for i in found.get_indexes(table)
            ),
            sorted(str(sorted(u["column_names"])) for u in found.get_unique_constraints(table)),
        )
        for table in sorted(found.get_table_names())
    }


def test_reopening_an_existing_database_is_a_no_op(db: Store, tmp_path: Path) -> None:
    save(db, A, entry("a1"))
    db.close()
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        again = Store(f"sqlite:///{tmp_path}/data/agg.db")
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    try:
        assert not [
            s for s in statements if not s.lstrip().upper().startswith(("SELECT", "PRAGMA"))
        ]
        assert published(again) == [("Story a1", A)]
    finally:
        again.close()


def test_head_revisions_agree_with_alembic() -> None:
    # Store() skips loading Alembic when the database is at these revisions.
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert head_revisions() == frozenset(heads)


def test_database_from_a_newer_version_is_refused(db: Store, tmp_path: Path) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.close()
    with pytest.raises(StoreError, match="9999"):
        Store(f"sqlite:///{tmp_path}/data/agg.db")


def test_migrations_render_postgresql_ddl() -> None:
    cfg = alembic_config()
    cfg.set_main_option("sqlalchemy.url", "postgresql://aggregator@localhost/aggregator")
    cfg.output_buffer = io.StringIO()
    command.upgrade(cfg, "head", sql=True)
    ddl = cfg.output_buffer.getvalue()
    assert "CREATE TABLE entries" in ddl
    assert "TIMESTAMP WITH TIME ZONE" in ddl
    assert "CREATE INDEX ix_entry_topics_topic_id_duplicate_of_published" in ddl


def test_claim_query_skips_locked_rows_on_postgresql() -> None:
    sql = str(due_query(T0, 5).compile(dialect=make_url("postgresql+psycopg2://").get_dialect()()))
    assert sql.endswith("FOR UPDATE OF fetch_state SKIP LOCKED")


def test_unusable_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="migrating the database"):
        Store(f"sqlite:///{tmp_path}/dir.db")


# --- config sync -----------------------------------------------------------------


def test_sync_adds_sources_in_config_order_due_now(db: Store) -> None:
    rows = db.sources()
    assert [(r.url, r.position, r.enabled) for r in rows] == [(A, 0, True), (B, 1, True),
                                                              (C, 2, True)]  # fmt: skip
    assert {r.next_poll_at for r in rows} == {T0}
    assert db.dirty_topics() == [("eu", 1), ("world", 1)]


def test_sync_unchanged_config_changes_nothing(db: Store, tmp_path: Path) -> None:
    settle(db)
    db.sync_sources(config(tmp_path, src(A, "world"), src(B, "world"), src(C, "eu")), T1)
    assert db.dirty_topics() == []
    assert {r.next_poll_at for r in db.sources()} == {T0}


def test_sync_topic_changes_make_it_dirty(db: Store, tmp_path: Path) -> None:
    settle(db)
    sources = (src(A, "world"), src(B, "world"), src(C, "eu"))
    db.sync_sources(config(tmp_path, *sources, world="World News", eu="Europe"), T1)
    assert db.dirty_topics() == [("world", 2)]


def test_sync_rename_disable_and_reenable(db: Store, tmp_path: Path) -> None:
    save(db, C, entry("c1"))
    settle(db)
    db.sync_sources(config(tmp_path, src(B, "world", name="Bee"), src(A, "world")), T1)
    assert [(r.url, r.name, r.position) for r in db.sources()] == [(B, "Bee", 0), (A, None, 1)]
    assert [(r.url, r.enabled) for r in db.sources(enabled_only=False)][-1] == (C, False)
    assert db.dirty_topics() == [("world", 2)]  # renamed B: its atom:source title changes
    assert published(db, "eu") == [("Story c1", C)]  # a disabled source's entries are kept
    later = T1 + timedelta(hours=5)
    db.sync_sources(config(tmp_path, src(A, "world"), src(B, "world"), src(C, "eu")), later)
    c = db.source_by_url(C)
    assert c is not None and c.enabled and c.position == 2 and c.next_poll_at == later


def test_sync_replaces_a_sources_topics(db: Store, tmp_path: Path) -> None:
    db.sync_sources(config(tmp_path, src(A, "eu"), src(B, "world"), src(C, "eu")), T0)
    save(db, A, entry("a1"))
    assert published(db, "eu") == [("Story a1", A)]
    assert published(db, "world") == []


# --- polls -----------------------------------------------------------------------


def test_save_poll_new_entries(db: Store) -> None:
    settle(db)
    assert save(db, A, entry("a1"), entry("a2", published=T0)) == (2, 0, 0)
    assert published(db) == [("Story a2", A), ("Story a1", A)]
    assert db.dirty_topics() == [("world", 2)]
    a = db.source_by_url(A)
    assert a is not None
    assert (a.title, a.link, a.error_count) == (f"Feed {A}", "https://a.example/", 0)
    assert a.validators == Validators('"v1"', None, "h1")
    assert (a.last_success_at, a.next_poll_at) == (T0, T0 + timedelta(minutes=30))


def test_save_poll_unchanged_entries(db: Store) -> None:
    save(db, A, entry("a1"))
    settle(db)
    assert save(db, A, entry("a1"), now=T1) == (0, 0, 0)
    assert db.dirty_topics() == []


def test_save_poll_updates_in_place(db: Store) -> None:
    save(db, A, entry("a1", "Old story"))
    (before,) = db.topic_entries("world", 10)
    settle(db)
    assert save(db, A, entry("a1", "New story"), now=T1) == (0, 1, 0)
    (after,) = db.topic_entries("world", 10)
    assert after.output_id == before.output_id
    assert (after.title, after.content) == ("New story", "<p>New story</p>xxxxxxxxxx")
    assert after.published == before.published
    assert before.updated < after.updated == T1
    assert db.dirty_topics() == [("world", 3)]


def test_update_takes_the_sources_date_when_it_advanced(db: Store) -> None:
    save(db, A, entry("a1", "Old", updated=T0 - timedelta(hours=5)))
    edited = T0 - timedelta(hours=2)
    save(db, A, entry("a1", "New", updated=edited), now=T1)
    assert db.topic_entries("world", 10)[0].updated == edited


def test_same_story_from_two_sources_is_published_once(db: Store) -> None:
    assert save(db, A, entry("a1", "Same story")) == (1, 0, 0)
    assert save(db, B, entry("b1", "Same story"), now=T1) == (1, 0, 1)
    assert published(db) == [("Same story", A)]
    (entry_id,) = [e.output_id for e in db.topic_entries("world", 10)]
    copies = db.provenance(entry_id)
    assert [(c.source_url, c.topic_id, c.canonical) for c in copies] == [
        (A, "world", True),
        (B, "world", False),
    ]
    assert db.integrity_check() == []


def test_same_story_in_different_topics_is_published_in_each(db: Store) -> None:
    save(db, A, entry("a1", "Same story"))
    assert save(db, C, entry("c1", "Same story"), now=T1) == (1, 0, 0)
    assert published(db, "world") == [("Same story", A)]
    assert published(db, "eu") == [("Same story", C)]


@pytest.mark.parametrize(
    ("a_published", "winner"),
    [
        pytest.param(T0 - timedelta(days=2), A, id="earlier-published-wins"),
        pytest.param(T0 - timedelta(days=1), A, id="same-published-config-position-wins"),
        pytest.param(T0, B, id="later-published-loses"),
    ],
)
def test_earliest_wins_on_a_first_seen_tie(db: Store, a_published: datetime, winner: str) -> None:
    # One run (`once`) polls every source at the same `now`: B (position 1) is saved
    # first, then A (position 0) challenges it.
    save(db, C, entry("c1", "Same story"))
    save(db, B, entry("b1", "Same story", published=T0 - timedelta(days=1)))
    save(db, A, entry("a1", "Same story", published=a_published))
    assert published(db) == [("Same story", winner)]
    (story,) = db.topic_entries("world", 10)
    copies = [(c.source_url, c.canonical) for c in db.provenance(story.output_id)]
    assert copies == [(winner, True), ({A, B}.difference({winner}).pop(), False)]
    assert db.integrity_check() == []


def test_demotion_repoints_existing_duplicates(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/agg.db")
    store.sync_sources(config(tmp_path, src(A), src(B), src(C)), T0)
    save(store, B, entry("b1", "Same story"))
    save(store, C, entry("c1", "Same story"))  # a duplicate of B's copy
    assert save(store, A, entry("a1", "Same story")) == (1, 0, 0)  # beats B on position
    (story,) = store.topic_entries("world", 10)
    copies = [(c.source_url, c.canonical) for c in store.provenance(story.output_id)]
    assert copies == [(A, True), (B, False), (C, False)]
    assert store.integrity_check() == []
    store.close()


def test_datetimes_are_utc_aware(db: Store) -> None:
    paris = timezone(timedelta(hours=1))
    save(db, A, entry("a1", published=datetime(2024, 3, 1, 13, 0, tzinfo=paris)))
    (story,) = db.topic_entries("world", 10)
    assert story.published == T0 and story.published.tzinfo == UTC


# --- leases and fencing ---------------------------------------------------------------


def test_claim_due_leases_each_source_once(db: Store) -> None:
    claims = db.claim_due(T0, 2, 60)
    assert [(c.source.url, c.fence) for c in claims] == [(A, 1), (B, 1)]
    assert len({c.token for c in claims}) == 2
    assert [c.source.url for c in db.claim_due(T0, 10, 60)] == [C]
    assert db.claim_due(T0 + timedelta(seconds=30), 10, 60) == []


def test_claim_is_available_again_after_lease_expiry(db: Store) -> None:
    first = db.claim_due(T0, 1, 60)
    again = db.claim_due(T0 + timedelta(seconds=61), 1, 60)
    assert first[0].source.url == again[0].source.url == A
    assert again[0].fence == 2 and again[0].token != first[0].token


def test_a_stale_token_cannot_save(db: Store) -> None:
    (stale,) = db.claim_due(T0, 1, 60)
    (fresh,) = db.claim_due(T0 + timedelta(seconds=61), 1, 60)
    with pytest.raises(StoreError, match=r"lease \w+ was lost"):
        save(db, A, entry("a1"), token=stale.token)
    with pytest.raises(StoreError):
        db.save_error(stale.source.id, token=stale.token, error="x", http_status=None, now=T1,
                      next_poll_at=T1)  # fmt: skip
    assert published(db) == []
    assert db.source_by_url(A) == fresh.source  # fetch state untouched
    assert save(db, A, entry("a1"), token=fresh.token) == (1, 0, 0)


def test_released_leases_are_due_again_at_once(db: Store) -> None:
    """The daemon gives back claims it could not save; at start on SQLite, all."""
    claims = db.claim_due(T0, 10, 600)
    save(db, A, entry("a1"), token=claims[0].token)  # saved: holds no lease
    assert db.release_leases([c.token for c in claims] + ["unknown"]) == 2
    assert [c.source.url for c in db.claim_due(T0, 10, 600)] == [B, C]  # A was saved
    assert db.release_leases() == 2
    assert db.release_leases() == 0
    (again,) = db.claim_due(T0, 1, 600)
    assert again.source.url == B and again.fence == 3  # fencing still orders the leases


def test_saving_releases_the_lease_and_schedules_the_next_poll(db: Store) -> None:
    claims = db.claim_due(T0, 10, 600)
    a, b, c = (claim.source.id for claim in claims)
    save(db, A, entry("a1"), token=claims[0].token)
    db.save_not_modified(
        b,
        token=claims[1].token,
        validators=Validators(etag='"e"'),
        http_status=304,
        now=T0,
        next_poll_at=T0 + timedelta(seconds=10),
    )
    db.save_error(c, token=claims[2].token, error="timeout", http_status=None, now=T0,
                  next_poll_at=T0 + timedelta(seconds=20))  # fmt: skip
    assert [cl.source.id for cl in db.claim_due(T0 + timedelta(seconds=15), 10, 7200)] == [b]
    assert [cl.source.id for cl in db.claim_due(T0 + timedelta(hours=1), 10, 600)] == [c, a]


@pytest.mark.parametrize("fenced", [False, True], ids=["once", "leased"])
def test_not_modified_polls_saved_together_fail_alone(db: Store, fenced: bool) -> None:
    claims = db.claim_due(T0, 10, 600)
    tokens = [claim.token if fenced else None for claim in claims]
    if fenced:  # A's lease expires, another node claims A; our token for it is stale
        db.claim_due(T0 + timedelta(seconds=601), 1, 600)
        tokens[0] = "lost"
    ids = [claim.source.id for claim in claims] + [999]  # 999: no such source
    polls = [
        NotModified(sid, token, Validators(etag=f'"{sid}"'), 304, T1)
        for sid, token in zip(ids, [*tokens, None], strict=True)
    ]
    errors = db.save_not_modified_many(polls, now=T0)
    assert [str(e) if e else None for e in errors] == [
        "source 1: lease lost was lost; poll discarded" if fenced else None,
        None,
        None,
        "source 999: no such source",
    ]
    saved = [db.source_by_url(url) for url in (A, B, C)]
    assert [s.validators.etag if s else None for s in saved] == [
        None if fenced else '"1"',
        '"2"',
        '"3"',
    ]


def test_disabled_sources_are_not_claimed(db: Store, tmp_path: Path) -> None:
    db.sync_sources(config(tmp_path, src(B, "world")), T0)
    assert [c.source.url for c in db.claim_due(T0, 10, 60)] == [B]


# --- errors ------------------------------------------------------------------------


def test_errors_are_counted_and_reset_by_success(db: Store) -> None:
    save(db, A, entry("a1"))
    a = source_id(db, A)
    for n in (1, 2):
        db.save_error(a, token=None, error=f"HTTP 50{n}", http_status=500 + n, now=T1,
                      next_poll_at=T1)  # fmt: skip
    row = db.source_by_url(A)
    assert row is not None
    assert (row.error_count, row.last_error, row.last_success_at) == (2, "HTTP 502", T0)
    assert row.validators.etag == '"v1"'  # kept for the next conditional request
    save(db, A, entry("a1"), now=T1)
    row = db.source_by_url(A)
    assert row is not None and (row.error_count, row.last_error) == (0, None)


def test_unknown_source_is_a_store_error(db: Store) -> None:
    with pytest.raises(StoreError, match="no such source"):
        db.save_error(999, token=None, error="x", http_status=None, now=T0, next_poll_at=T0)


# --- publishing state ----------------------------------------------------------------


def test_mark_published_never_lowers_the_version(db: Store) -> None:
    db.mark_published("world", 1, T0)
    save(db, A, entry("a1"))  # content_version 2, while version 1 was rendering
    db.mark_published("world", 1, T0)
    assert ("world", 2) in db.dirty_topics()
    db.mark_published("world", 2, T1)
    db.mark_published("world", 1, T1)
    assert ("world", 2) not in db.dirty_topics()


def test_a_new_copy_republishes_its_story_and_an_unchanged_poll_nothing(db: Store) -> None:
    save(db, B, entry("b0"))  # B's feed title and link are known
    save(db, A, entry("a1", "Same story"))
    settle(db)
    assert save(db, B, entry("b0"), entry("b1", "Same story"), now=T1) == (1, 0, 1)
    assert db.dirty_topics() == [("world", 4)]  # the story now lists B too
    (story,) = [e for e in db.topic_entries("world", 10) if e.title == "Same story"]
    assert [v.link for v in story.via] == ["https://news.example/b1"]
    settle(db)
    assert save(db, B, entry("b0"), entry("b1", "Same story"), now=T1) == (0, 0, 0)
    assert db.dirty_topics() == []


def test_topic_entries_order_limit_and_fields(db: Store, tmp_path: Path) -> None:
    day = timedelta(days=1)
    items = [entry(f"a{n}", published=T0 - n * day) for n in range(5)]
    tied = [entry(f"t{n}", published=T0 + day) for n in range(3)]
    save(db, A, *items, *tied)
    got = db.topic_entries("world", 4)
    assert [e.published for e in got] == [T0 + day] * 3 + [T0]
    assert [e.output_id for e in got[:3]] == sorted(e.output_id for e in got[:3])
    assert len(db.topic_entries("world", 100)) == 8


def test_topic_entries_carry_origin_categories_and_enclosures(db: Store, tmp_path: Path) -> None:
    local = str(tmp_path / "local.xml")
    db.sync_sources(config(tmp_path, src(A, name="Alpha"), src(local)), T0)
    enclosure = Enclosure("https://a.example/x.mp3", "audio/mpeg", 123)
    save(db, A, entry("a1", categories=("world", "Politics", "Politics"), enclosures=(enclosure,)))
    save(db, local, entry("l1"))
    alpha, loc = sorted(db.topic_entries("world", 10), key=lambda e: e.title)
    assert alpha.categories == ("world", "Politics")
    assert alpha.enclosures == (enclosure,)
    assert alpha.origin == OriginFeed(A, "Alpha", "https://a.example/", A)
    assert (loc.origin.id, loc.origin.title, loc.origin.self_url) == (local, f"Feed {local}", None)


# --- integrity --------------------------------------------------------------------------


def test_integrity_check_reports_broken_invariants(db: Store) -> None:
    save(db, A, entry("a1"))
    assert db.integrity_check() == []
    with db.engine.begin() as conn:
        conn.execute(entry_topics.update().values(duplicate_of=entry_topics.c.entry_id))
    assert any("duplicating themselves" in p for p in db.integrity_check())


def test_poll_writes_are_batched(db: Store) -> None:
    save(db, A, *(entry(f"a{n}") for n in range(3)))
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        items = [entry(f"a{n}", "changed" if n < 3 else "") for n in range(50)]
        assert save(db, A, *items, now=T1) == (47, 3, 0)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # Fence UPDATE, source, known keys; index catch-up (2), candidates by hash and by
    # article URL; one INSERT per table, one UPDATE for the changed entries; meta.
    assert len(statements) <= 14, statements
    assert statements.count("INSERT") == 2, statements
    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(entries)) == 50
        assert conn.scalar(select(func.count()).select_from(fetch_state)) == 3


# --- learned boilerplate -------------------------------------------------------------


def save_feed(store: Store, url: str, feed: CleanFeed, now: datetime = T0) -> None:
    store.save_poll(
        source_id(store, url),
        token=None,
        feed=feed,
        validators=Validators(etag=None, last_modified=None, body_hash="h"),
        http_status=200,
        now=now,
        next_poll_at=now + timedelta(minutes=30),
    )


def test_what_a_poll_learned_is_saved_with_it_and_replaced_by_the_next(db: Store) -> None:
    feed = CleanFeed(title="A", link=None, subtitle="", entries=(entry("a1"),), memory='{"v":1}')
    assert db.memory(source_id(db, A)) is None

    save_feed(db, A, feed)
    assert db.memory(source_id(db, A)) == '{"v":1}'
    save_feed(db, A, replace(feed, memory='{"v":2}'), T0 + timedelta(hours=1))
    assert db.memory(source_id(db, A)) == '{"v":2}'
    save_feed(db, A, replace(feed, memory=None), T0 + timedelta(hours=2))  # nothing new

    assert db.memory(source_id(db, A)) == '{"v":2}'
    assert db.memory(source_id(db, B)) is None
    assert db.integrity_check() == []
