"""Dedupe stage: pinned hashes and ids, normalisation properties, and the poll plan
(pure: entries and stored state in, plan out)."""

from __future__ import annotations

import string
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dedupe import (
    EMPTY_HASH,
    HASH_VERSION,
    Candidate,
    DedupeSettings,
    Demotion,
    Doc,
    KnownEntry,
    Placement,
    PollInput,
    Rehash,
    Root,
    advance,
    content_hash,
    entry_dates,
    hashing,
    normalize_text,
    output_id,
    plan_poll,
)
from aggregator.dedupe.shingles import _INVISIBLE, _PUNCTUATION, folded_bytes
from aggregator.models import CleanEntry

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=1)
URL = "https://news.example/feed.xml"


def entry(key: str, body: str = "", **changes: Any) -> CleanEntry:
    """A clean entry whose hash is derived from `body` (default: unique per key)."""
    body = body or f"Story {key}"
    value = CleanEntry(
        key=key,
        guid=key,
        link=f"https://news.example/{key}",
        title=body,
        content=f"<p>{body}</p>",
        summary="",
        text=body,
        author=None,
        published=None,
        updated=None,
    )
    value = replace(value, **changes)
    return replace(value, content_hash=content_hash(value.title, value.text))


def poll(*entries: CleanEntry, **changes: Any) -> PollInput:
    base = PollInput(
        source_id=1,
        source_url=URL,
        position=1,
        topics=("world",),
        entries=entries,
        known=(),
        candidates=(),
        roots=(),
        now=NOW,
    )
    return replace(base, **changes)


# --- hashes and ids --------------------------------------------------------------


def test_hash_version_and_pinned_digests() -> None:
    # Changing normalize_text or content_hash must fail here until HASH_VERSION is bumped
    # (and these digests re-pinned): stored hashes of the old version stop matching.
    assert HASH_VERSION == 2
    assert content_hash("", "") == "v2:7858ef011ea0bad1384868fba0c21fdc"
    assert content_hash("Hello World", "The quick brown fox.") == (
        "v2:73f2f7d9e92687cbebe52a5e2d352e9e"
    )
    assert content_hash("Élysée talks", "Ministers met in Paris on Monday.") == (
        "v2:3f5cfae2a1719c8b1ba058efc83f4012"
    )
    assert content_hash("It’s “done” — now", "See https://x.example/a?utm_source=rss&id=3.") == (
        "v2:eaa2351e4f7349bd6610c39fd5bbdeb7"
    )
    assert content_hash("", "") == EMPTY_HASH


@pytest.mark.parametrize(
    ("title", "text"),
    [
        pytest.param("HELLO WORLD", "THE QUICK BROWN FOX.", id="upper-case"),
        pytest.param("  Hello   World ", "The quick\n\tbrown  fox.", id="whitespace"),
        pytest.param("Hello\u00a0World", "The quick\u2003brown fox.", id="unicode-spaces"),
        pytest.param("Ｈｅｌｌｏ World", "The quick brown fox.", id="fullwidth-nfkc"),
        pytest.param("Hello World", "The quick brown fox.\n", id="trailing-newline"),
        pytest.param("Hello World", "The quick brown fox.\u200b", id="zero-width"),
        pytest.param("Hello World", "The qu\u00adick brown fox.", id="soft-hyphen"),
    ],
)
def test_hash_ignores_noise(title: str, text: str) -> None:
    assert content_hash(title, text) == content_hash("Hello World", "The quick brown fox.")


@pytest.mark.parametrize(
    ("variant", "plain"),
    [
        pytest.param("It’s “done” — now.", "It's \"done\" - now.", id="typographic-quotes-dashes"),
        pytest.param("Read https://x.example/a?utm_source=rss&fbclid=1 now.",
                     "Read https://x.example/a now.", id="tracking-in-written-links"),
        pytest.param("See https://x.example/a?id=3&utm_medium=feed.",
                     "See https://x.example/a?id=3.", id="content-parameter-kept"),
    ],
)  # fmt: skip
def test_hash_ignores_wrapping_noise(variant: str, plain: str) -> None:
    assert content_hash("Title", variant) == content_hash("Title", plain)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        pytest.param("Hello World", "The quick brown cat.", id="text-changed"),
        pytest.param("Hello Word", "The quick brown fox.", id="title-changed"),
        pytest.param("Hello World The quick", "brown fox.", id="title-text-boundary"),
    ],
)
def test_hash_sees_real_changes(title: str, text: str) -> None:
    assert content_hash(title, text) != content_hash("Hello World", "The quick brown fox.")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("  A  b\tC\n", "a b c", id="collapse-and-fold"),
        pytest.param("Straße", "strasse", id="casefold-not-lower"),
        pytest.param("ﬁne", "fine", id="ligature"),
        pytest.param("ǰ", "ǰ", id="casefold-then-nfkc"),
        pytest.param("", "", id="empty"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


# ASCII with what the fast paths replace, and what must send a text down the slow
# one: accents, combining marks (one after a soft hyphen), ligatures, other scripts.
MOSTLY_TYPOGRAPHY = st.text(
    st.sampled_from(
        [
            *"aZ 9.'\"-\t\n",
            *(c for c, _ in hashing._EARLY),
            *_PUNCTUATION,
            *_INVISIBLE,
            *"\u00e9\u0301\ufb01\u01f0\u0416\u2122\u3000",
        ]
    ),
    max_size=40,
)


@settings(max_examples=500)
@given(MOSTLY_TYPOGRAPHY)
def test_normalize_text_fast_path_gives_the_full_normalisation(text: str) -> None:
    assert normalize_text(text) == hashing._full(text)


@settings(max_examples=500)
@given(MOSTLY_TYPOGRAPHY)
def test_folded_bytes_stops_looking_without_changing_the_words(text: str) -> None:
    spaced = text
    for char in _INVISIBLE:
        spaced = spaced.replace(char, "")
    for char in _PUNCTUATION:
        spaced = spaced.replace(char, " ")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", spaced).casefold())
    assert folded_bytes(text) == folded.encode("utf-8", "surrogatepass")


WORDS = st.lists(st.text(st.characters(exclude_categories=["Z", "C"]), min_size=1), max_size=8)
SPACES = st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000"), min_size=1, max_size=3)


@given(WORDS, st.data())
def test_hash_ignores_spacing(words: list[str], data: st.DataObject) -> None:
    spaced = data.draw(SPACES) + "".join(w + data.draw(SPACES) for w in words)
    assert content_hash("Title", spaced) == content_hash("Title", " ".join(words))


@given(st.text(string.printable), st.text(string.printable))
def test_hash_ignores_ascii_case(title: str, text: str) -> None:
    assert content_hash(title.upper(), text.lower()) == content_hash(title.lower(), text.upper())


def test_output_id_is_pinned_and_per_identity() -> None:
    oid = output_id(URL, "tag:news.example,2024:1")
    assert oid == "urn:uuid:027c8537-6530-58d5-81c3-471d58b3cc40"
    assert output_id(URL, "tag:news.example,2024:2") != oid
    assert output_id("https://other.example/feed.xml", "tag:news.example,2024:1") != oid


# --- dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "updated", "expected"),
    [
        pytest.param(EARLIER, None, (EARLIER, EARLIER), id="published-only"),
        pytest.param(None, EARLIER, (EARLIER, EARLIER), id="updated-only"),
        pytest.param(None, None, (NOW, NOW), id="no-dates"),
        pytest.param(EARLIER, NOW, (EARLIER, NOW), id="both"),
        pytest.param(NOW, EARLIER, (NOW, NOW), id="updated-before-published"),
    ],
)
def test_entry_dates(
    published: datetime | None, updated: datetime | None, expected: tuple[datetime, datetime]
) -> None:
    assert entry_dates(entry("a", published=published, updated=updated), NOW) == expected


@pytest.mark.parametrize(
    ("stored", "source_updated", "expected"),
    [
        pytest.param(EARLIER, NOW - timedelta(minutes=5), NOW - timedelta(minutes=5),
                     id="source-date-advanced"),
        pytest.param(EARLIER, EARLIER, NOW, id="source-date-unchanged"),
        pytest.param(EARLIER, None, NOW, id="no-source-date"),
        pytest.param(NOW + timedelta(hours=1), None, NOW + timedelta(hours=1, seconds=1),
                     id="stored-in-the-future"),
    ],
)  # fmt: skip
def test_advance_always_moves_forward(
    stored: datetime, source_updated: datetime | None, expected: datetime
) -> None:
    assert advance(stored, entry("a", updated=source_updated), NOW) == expected


# --- the plan ----------------------------------------------------------------------


def test_new_entries_get_ids_dates_and_canonical_placements() -> None:
    plan = plan_poll(poll(entry("a", published=EARLIER), entry("b"), topics=("eu", "world")))
    assert [n.entry.key for n in plan.new] == ["a", "b"]
    first = plan.new[0]
    assert first.output_id == output_id(URL, "a")
    assert (first.first_seen, first.published, first.updated) == (NOW, EARLIER, EARLIER)
    assert first.placements == (Placement("eu"), Placement("world"))
    assert plan.counts == (2, 0, 0)
    assert plan.dirty_topics == ("eu", "world")


def test_duplicate_keys_in_one_feed_keep_the_first() -> None:
    plan = plan_poll(poll(entry("a", "first"), entry("a", "second")))
    assert [n.entry.title for n in plan.new] == ["first"]


def test_known_keys_are_unchanged_or_updates() -> None:
    same, changed = entry("a"), entry("b", "New text")
    known = (
        KnownEntry(1, "a", same.content_hash, EARLIER, frozenset({"world"})),
        KnownEntry(2, "b", content_hash("Old", "Old"), EARLIER, frozenset({"world"})),
    )
    plan = plan_poll(poll(same, changed, known=known))
    assert plan.new == ()
    assert plan.unchanged == 1
    assert [(u.id, u.entry.title, u.updated) for u in plan.updates] == [(2, "New text", NOW)]
    assert plan.counts == (0, 1, 0)
    assert plan.dirty_topics == ("world",)


def test_update_of_an_entry_shown_nowhere_dirties_nothing() -> None:
    known = (KnownEntry(2, "b", content_hash("Old", "Old"), EARLIER, frozenset()),)
    plan = plan_poll(poll(entry("b", "New"), known=known))
    assert len(plan.updates) == 1
    assert plan.dirty_topics == ()


def test_a_hash_of_an_older_version_is_rewritten_silently() -> None:
    # HASH_VERSION changes must not make every stored entry an "update" once.
    old = KnownEntry(3, "a", "v1:7858ef011ea0bad1384868fba0c21fdc", EARLIER, frozenset({"world"}))
    fresh = entry("a", "Some story")
    plan = plan_poll(poll(fresh, known=(old,)))
    assert plan.updates == ()
    assert plan.rehashes == (Rehash(3, fresh.content_hash),)
    assert plan.unchanged == 1
    assert plan.dirty_topics == ()


def test_same_hash_twice_in_one_poll_second_is_duplicate() -> None:
    plan = plan_poll(poll(entry("a", "Same story"), entry("b", "Same story")))
    assert plan.new[0].placements == (Placement("world"),)
    (second,) = plan.new[1].placements
    assert (second.duplicate_of_key, second.rule, second.similarity) == ("a", "hash", 1.0)
    assert plan.counts == (2, 0, 1)


def test_same_hash_in_one_poll_earlier_published_wins() -> None:
    plan = plan_poll(
        poll(entry("a", "Same story", published=NOW), entry("b", "Same story", published=EARLIER))
    )
    assert plan.new[0].placements[0].duplicate_of_key == "b"
    assert plan.new[1].placements == (Placement("world"),)


def stored(
    topic: str = "world",
    first_seen: datetime = EARLIER,
    position: int = 5,
    body: str = "Same story",
    entry_id: int = 7,
) -> tuple[Candidate, Root]:
    """A stored entry (source 2) published in `topic`, as the store hands it to the plan."""
    doc = Doc(entry_id, 2, body, body, None, content_hash(body, body), first_seen)
    return Candidate(doc, ((topic, entry_id),)), Root(
        entry_id, topic, first_seen, EARLIER, position
    )


def with_stored(*found: tuple[Candidate, Root]) -> dict[str, Any]:
    return {"candidates": tuple(c for c, _ in found), "roots": tuple(r for _, r in found)}


@pytest.mark.parametrize(
    ("found", "new_published", "new_wins"),
    [
        pytest.param(stored(), EARLIER - timedelta(days=1), False, id="first-seen-earlier"),
        pytest.param(stored(first_seen=NOW), EARLIER - timedelta(days=1), True,
                     id="tie-published-earlier-wins"),
        pytest.param(stored(first_seen=NOW), NOW, False, id="tie-published-later-loses"),
        pytest.param(stored(first_seen=NOW), EARLIER, True, id="tie-position-lower-wins"),
        pytest.param(stored(first_seen=NOW, position=0), EARLIER, False,
                     id="tie-position-higher-loses"),
        pytest.param(stored(first_seen=NOW, position=1), EARLIER, False,
                     id="complete-tie-existing-keeps"),
    ],
)  # fmt: skip
def test_earliest_wins_against_a_stored_root(
    found: tuple[Candidate, Root], new_published: datetime, new_wins: bool
) -> None:
    fresh = entry("n", "Same story", published=new_published)
    plan = plan_poll(poll(fresh, **with_stored(found)))
    (new,) = plan.new
    assert plan.dirty_topics == ("world",)  # either way the story's entry changes
    if new_wins:
        assert new.placements == (Placement("world"),)
        assert plan.demotions == (Demotion("world", 7, "n", "hash", 1.0, plan.demotions[0].detail),)
        assert plan.counts == (1, 0, 0)
    else:
        (placement,) = new.placements
        assert (placement.duplicate_of_id, placement.rule) == (7, "hash")
        assert plan.demotions == ()
        assert plan.counts == (1, 0, 1)


def test_duplicate_is_per_topic() -> None:
    plan = plan_poll(
        poll(entry("n", "Same story"), topics=("eu", "world"), **with_stored(stored("eu")))
    )
    eu, world = plan.new[0].placements
    assert (eu.topic_id, eu.duplicate_of_id) == ("eu", 7)
    assert world == Placement("world")
    assert plan.counts == (1, 0, 1)  # a duplicate in at least one topic
    assert plan.dirty_topics == ("eu", "world")


def test_global_scope_merges_across_topics() -> None:
    found = stored("eu")
    settings = DedupeSettings(scope="global")
    candidate = Candidate(found[0].doc, (("*", 7),))
    plan = plan_poll(
        poll(
            entry("n", "Same story"), candidates=(candidate,), roots=(found[1],), settings=settings
        )
    )
    (world,) = plan.new[0].placements
    assert (world.topic_id, world.duplicate_of_id) == ("world", 7)
    assert plan.dirty_topics == ("eu",)  # where the story is published


def test_empty_entries_are_never_duplicates() -> None:
    blank = {"title": "", "text": "", "content": ""}
    a, b = entry("a", **blank), entry("b", **blank)
    assert a.content_hash == EMPTY_HASH
    plan = plan_poll(poll(a, b, **with_stored(stored(body=""))))
    assert [n.placements for n in plan.new] == [(Placement("world"),)] * 2
    assert plan.demotions == ()


def test_unhashed_entries_are_never_duplicates() -> None:
    a, b = replace(entry("a", "x"), content_hash=""), replace(entry("b", "x"), content_hash="")
    plan = plan_poll(poll(a, b))
    assert plan.counts == (2, 0, 0)


def test_plan_is_pure_and_deterministic() -> None:
    inputs = poll(entry("a", "Same"), entry("b", "Same"), entry("c"), **with_stored(stored()))
    assert plan_poll(inputs) == plan_poll(inputs)
