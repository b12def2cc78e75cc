"""Store and dedupe together on real SQLite: copies of one story across sources merged
into one published entry (hash, link, near-duplicate rules), the merged entry's body,
sources and dates, scope, unmerge, and the near-duplicate index across restarts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from aggregator.config import parse_config
from aggregator.dedupe import DedupeSettings, NearSettings, content_hash
from aggregator.dedupe.near import signature
from aggregator.models import CleanEntry, CleanFeed, Validators
from aggregator.store import Store
from aggregator.store.candidates import StoredSignature
from aggregator.store.reads import merges_of
from aggregator.store.schema import entries, entry_topics

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
A, B, C = (f"https://{s}.example/feed.xml" for s in "abc")
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "ru", "sa", "te") for b in "aeiou"] + [
    f"w{n}" for n in range(400)
]


def prose(seed: int, words: int = 150) -> str:
    """A distinct text for a seed: unrelated seeds share almost no 5-word run."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def edited(text: str, every: int = 40) -> str:
    """`text` with one word in `every` changed: a light edit."""
    return " ".join(w if i % every != 7 else "changed" for i, w in enumerate(text.split()))


def entry(key: str, text: str, title: str = "A story", link: str | None = None) -> CleanEntry:
    value = CleanEntry(
        key=key,
        guid=key,
        link=link or f"https://{key}.example/article",
        title=title,
        content=f"<p>{text}</p>",
        summary="",
        text=text,
        author=None,
        published=T0 - timedelta(hours=1),
        updated=None,
    )
    return replace(value, content_hash=content_hash(title, text), signature=signature(text))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path}/agg.db")
    sync(store, tmp_path)
    yield store
    store.close()


def sync(store: Store, tmp_path: Path) -> None:
    data = {
        "topics": {"world": {"title": "World"}, "eu": {"title": "Europe"}},
        "sources": [
            {"url": A, "topics": ["world"], "name": "Alpha"},
            {"url": B, "topics": ["world"], "name": "Beta"},
            {"url": C, "topics": ["eu"], "name": "Gamma"},
        ],
    }
    store.sync_sources(parse_config(data, tmp_path), T0)


def save(
    store: Store, url: str, *items: CleanEntry, now: datetime = T0, **settings: Any
) -> tuple[int, int, int]:
    row = store.source_by_url(url)
    assert row is not None
    return store.save_poll(
        row.id,
        token=None,
        feed=CleanFeed(title=url, link=None, subtitle="", entries=items),
        validators=Validators(),
        http_status=200,
        now=now,
        next_poll_at=now + timedelta(minutes=30),
        dedupe=DedupeSettings(**settings),
    )


def settle(store: Store, now: datetime = T0) -> None:
    for topic_id, version in store.dirty_topics():
        store.mark_published(topic_id, version, now)


def rules(store: Store) -> list[tuple[str, str | None]]:
    with store.engine.connect() as conn:
        query = select(entries.c.key, entry_topics.c.merge_rule).join(
            entry_topics, entry_topics.c.entry_id == entries.c.id
        )
        return sorted(conn.execute(query.where(entry_topics.c.duplicate_of.is_not(None))).all())


def test_a_near_duplicate_from_another_source_is_merged_and_listed(db: Store) -> None:
    story = prose(1)
    assert save(db, A, entry("a1", story, "Harbour reopens")) == (1, 0, 0)
    settle(db)
    later = T0 + timedelta(hours=2)
    copy = entry("b1", edited(story) + " extra words at the end", "Harbour is open again")
    assert save(db, B, copy, now=later) == (1, 0, 1)
    assert rules(db) == [("b1", "near")]
    (merged,) = db.topic_entries("world", 10)
    assert merged.title == "Harbour is open again"  # the longest copy's body and title
    assert merged.link == "https://b1.example/article"
    assert [(v.source_title, v.link) for v in merged.via] == [
        ("Alpha", "https://a1.example/article")
    ]
    assert merged.updated == later  # a copy joined: the entry changed
    assert db.dirty_topics() == [("world", 3)]
    assert db.integrity_check() == []


def test_copies_linking_to_one_article_merge_by_link(db: Store) -> None:
    save(db, A, entry("a1", "Short link post.", link="https://x.example/story?utm_source=a"))
    copy = entry("b1", "Another short post.", link="http://www.x.example/story/")
    assert save(db, B, copy, now=T0 + timedelta(minutes=5)) == (1, 0, 1)
    assert rules(db) == [("b1", "link")]


def test_unrelated_texts_and_short_texts_stay_apart(db: Store) -> None:
    save(db, A, entry("a1", prose(1)), entry("a2", "Tiny text."))
    assert save(db, B, entry("b1", prose(2)), entry("b2", "Tiny text, other."), now=T0) == (
        2, 0, 0,
    )  # fmt: skip
    assert len(db.topic_entries("world", 10)) == 4


def test_near_off_merges_only_exact_copies(db: Store) -> None:
    story = prose(3)
    save(db, A, entry("a1", story), near=NearSettings(near=False))
    later = T0 + timedelta(hours=1)
    assert save(db, B, entry("b1", edited(story)), now=later, near=NearSettings(near=False)) == (
        1, 0, 0,
    )  # fmt: skip
    assert save(db, B, entry("b2", story), now=later, near=NearSettings(near=False)) == (1, 0, 1)
    assert rules(db) == [("b2", "hash")]


def test_outside_the_window_a_near_duplicate_is_a_new_story(db: Store) -> None:
    story = prose(4)
    save(db, A, entry("a1", story))
    assert save(db, B, entry("b1", edited(story)), now=T0 + timedelta(hours=73)) == (1, 0, 0)


def test_an_update_of_the_shown_duplicate_republishes_the_story(db: Store) -> None:
    story = prose(5)
    save(db, A, entry("a1", story))
    save(db, B, entry("b1", story + " and a longer ending"), now=T0 + timedelta(hours=1))
    settle(db)
    later = T0 + timedelta(hours=2)
    assert save(db, B, entry("b1", story + " and a longer, corrected ending"), now=later) == (
        0, 1, 0,
    )  # fmt: skip
    assert db.dirty_topics() == [("world", 4)]
    (merged,) = db.topic_entries("world", 10)
    assert "corrected" in merged.content and merged.updated == later


def test_global_scope_publishes_a_story_once_across_topics(db: Store) -> None:
    story = prose(6)
    save(db, A, entry("a1", story), scope="global")
    assert save(db, C, entry("c1", story), now=T0 + timedelta(hours=1), scope="global") == (
        1, 0, 1,
    )  # fmt: skip
    assert db.topic_entries("eu", 10) == []
    (merged,) = db.topic_entries("world", 10)
    assert [v.source_title for v in merged.via] == ["Gamma"]
    assert db.integrity_check() == []


def test_unmerge_splits_a_copy_off_and_republishes(db: Store) -> None:
    story = prose(7)
    save(db, A, entry("a1", story))
    save(db, B, entry("b1", edited(story)), now=T0 + timedelta(hours=1))
    settle(db)
    with db.engine.connect() as conn:
        b1 = conn.scalar(select(entries.c.id).where(entries.c.key == "b1"))
        a1 = conn.scalar(select(entries.c.id).where(entries.c.key == "a1"))
        (merge,) = merges_of(conn, b1)
    assert (merge.role, merge.rule, merge.topic_id) == ("duplicate of", "near", "world")
    assert merge.similarity is not None and 0.5 <= merge.similarity < 1
    later = T0 + timedelta(hours=3)
    assert db.unmerge(b1, later) == {"world"}
    assert len(db.topic_entries("world", 10)) == 2
    assert all(e.via == () for e in db.topic_entries("world", 10))
    assert db.dirty_topics() == [("world", 4)]
    with db.engine.connect() as conn:
        assert [m.role for m in merges_of(conn, b1)] == ["kept apart"]
        assert merges_of(conn, a1) == []
        assert conn.scalar(select(entries.c.updated).where(entries.c.id == a1)) == later
    assert db.unmerge(b1, later) == set()
    assert db.integrity_check() == []


def test_the_index_is_rebuilt_from_the_store_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/agg.db"
    story = prose(8)
    first = Store(url)
    sync(first, tmp_path)
    save(first, A, entry("a1", story))
    first.close()
    second = Store(url)
    try:
        assert second.rebuild_index(T0, 72 * 3600) == 1
        assert save(second, B, entry("b1", edited(story)), now=T0 + timedelta(hours=1)) == (1, 0, 1)
    finally:
        second.close()


def test_a_poll_puts_its_own_rows_in_the_index_without_reading_them_back(db: Store) -> None:
    save(db, A, entry("a1", prose(10)), entry("a2", prose(11)))
    index = db.near_index
    with db.engine.connect() as conn:
        top = conn.scalar(select(entries.c.id).order_by(entries.c.id.desc()))
    assert (len(index), index.last_id) == (2, top)
    assert db.rebuild_index(T0, 72 * 3600) == 0  # nothing left to read
    assert save(db, B, entry("b1", edited(prose(10))), now=T0 + timedelta(hours=1)) == (1, 0, 1)


def test_rows_another_node_wrote_in_between_are_read_not_skipped(tmp_path: Path) -> None:
    """Two stores on one database: each adds its own rows after committing, and reads
    the other's on its next save, so a copy of the other's story is still found."""
    url = f"sqlite:///{tmp_path}/agg.db"
    one, two = Store(url), Store(url)
    try:
        sync(one, tmp_path)
        save(one, A, entry("a1", prose(12)))
        save(two, B, entry("b1", prose(13)), now=T0 + timedelta(minutes=5))
        later = T0 + timedelta(hours=1)
        assert save(one, A, entry("a2", edited(prose(13))), now=later) == (1, 0, 1)
        assert len(one.near_index) == 3 and len(two.near_index) == 2  # a1 read, b1 its own
    finally:
        one.close()
        two.close()


def test_rows_of_a_stale_reading_are_left_to_the_next_catch_up(db: Store) -> None:
    save(db, A, entry("a1", prose(14)))
    index = db.near_index
    assert len(index) == 1
    index.stored([StoredSignature(99, T0, signature(prose(15)) or b"")], index.last_id - 1)
    assert len(index) == 1 and 99 not in index.index


def test_a_stored_hash_of_an_older_version_is_rewritten_not_updated(db: Store) -> None:
    item = entry("a1", prose(9))
    save(db, A, item)
    with db.engine.begin() as conn:
        conn.execute(update(entries).values(content_hash="v1:0123456789abcdef"))
    settle(db)
    assert save(db, A, item, now=T0 + timedelta(hours=1)) == (0, 0, 0)
    assert db.dirty_topics() == []
    with db.engine.connect() as conn:
        assert conn.scalar(select(entries.c.content_hash)) == item.content_hash
