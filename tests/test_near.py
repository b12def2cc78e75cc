"""Near-duplicate detection (`dedupe.near`): signatures, the candidate index and the
pair rules, each refusal reason by name. Pure: texts in, decisions out.

Texts are made of invented words (seeded), so no two stories share a 5-word run by
accident and every overlap in a case is one the case wrote on purpose.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dedupe import content_hash
from aggregator.dedupe.lsh import TEASER_SPAN
from aggregator.dedupe.near import (
    MIN_WORDS,
    SIGNATURE_VERSION,
    TEASER_RATIO,
    Doc,
    Index,
    Match,
    NearSettings,
    best_match,
    is_current,
    judge,
    length_bar,
    signature,
)
from aggregator.dedupe.shingles import profile, words_of

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ON = NearSettings()
_SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
VOCAB = [
    "".join(random.Random(i).choices(_SYLLABLES, k=random.Random(-i).randint(1, 4)))
    for i in range(4000)
]


def words(seed: int, n: int) -> list[str]:
    """`n` invented words, the same for the same seed."""
    r = random.Random(seed)
    return [r.choice(VOCAB) for _ in range(n)]


def edited(ws: list[str], changes: int, seed: int = 99) -> list[str]:
    """`ws` with `changes` words replaced at scattered places (light edits)."""
    out = list(ws)
    r = random.Random(seed)
    step = len(ws) // (changes + 1)
    for i in range(1, changes + 1):
        out[i * step + r.randint(-2, 2)] = r.choice(VOCAB)
    return out


def doc(
    ident: int | str,
    source: int | str,
    ws: list[str],
    *,
    link: str | None = None,
    hours: float = 0.0,
    title: str = "A title",
) -> Doc:
    text = " ".join(ws)
    seen = T0 + timedelta(hours=hours)
    return Doc(ident, source, title, text, link, content_hash(title, text), seen)


STORY = words(1, 600)
SHORT = words(2, 120)
ABOUT = words(3, 220)  # a podcast's "about the show"
INTRO, OUTRO = words(4, 150), words(5, 140)  # a briefing's fixed parts
QUOTE = words(6, 60)  # a paragraph two link blogs both quote
URL = "https://news.example/2026/01/05/story"


def podcast(n: int, source: str = "pod") -> Doc:
    return doc(f"ep{n}", source, words(100 + n, 70) + ABOUT, hours=n * 20)


def briefing(n: int) -> Doc:
    return doc(f"b{n}", "brief", INTRO + words(200 + n, 60) + OUTRO, hours=n * 24)


def release(n: int) -> Doc:
    changes = words(300 + n, 40)
    return doc(f"r{n}", "rel", ["version", str(n), *changes, *ABOUT], hours=n * 30)


# --- the rules, table-driven ------------------------------------------------------

MATCHES = {
    "hash: same cleaned text, other source": (
        doc(2, "b", STORY, hours=5),
        doc(1, "a", STORY),
        "hash",
    ),
    "hash: applies outside the window too": (
        doc(2, "b", STORY, hours=500),
        doc(1, "a", STORY),
        "hash",
    ),
    "link: a short teaser under the article's URL": (
        doc(2, "b", STORY[:30], link=URL, hours=1),
        doc(1, "a", STORY, link=URL),
        "link",
    ),
    "link: a title-only entry under the article's URL": (
        doc(2, "b", STORY[:4], link=URL, hours=200),
        doc(1, "a", STORY, link=URL),
        "link",
    ),
    "link: the same article, one version with a paragraph added": (
        doc(2, "b", STORY + words(7, 80), link=URL, hours=2),
        doc(1, "a", STORY, link=URL),
        "link",
    ),
    "near: a copy with scattered edits": (
        doc(2, "b", edited(STORY, 8), hours=3),
        doc(1, "a", STORY),
        "near",
    ),
    "near: a copy with an extra paragraph on one side": (
        doc(2, "b", STORY[:300] + words(8, 60) + STORY[300:], hours=3),
        doc(1, "a", STORY),
        "near",
    ),
    "near: copies each with a short wrapper of their own": (
        doc(2, "b", words(9, 15) + STORY, hours=3),
        doc(1, "a", STORY + words(10, 15)),
        "near",
    ),
    "teaser: the first 60 words of the article": (
        doc(2, "b", STORY[:60], hours=1),
        doc(1, "a", STORY),
        "teaser",
    ),
    "teaser: the full text arrives after its teaser": (
        doc(2, "b", STORY, hours=1),
        doc(1, "a", STORY[:80]),
        "teaser",
    ),
    "teaser: cut mid-word, with a read-more": (
        doc(2, "b", [*STORY[:70], STORY[70][:2], "read", "more"], hours=1),
        doc(1, "a", STORY),
        "teaser",
    ),
    "repost: same source, new id, one word fixed": (
        doc(2, "a", edited(STORY, 1), hours=30),
        doc(1, "a", STORY),
        "repost",
    ),
}


@pytest.mark.parametrize(("new", "old", "rule"), MATCHES.values(), ids=MATCHES.keys())
def test_match(new: Doc, old: Doc, rule: str) -> None:
    found = judge(new, old, [], ON)
    assert isinstance(found, Match), found
    assert (found.rule, found.other) == (rule, old)
    assert 0 < found.similarity <= 1 and found.detail


REFUSALS = {
    "short texts never near-match": (
        doc(2, "b", edited(STORY[:45], 1), hours=1),
        doc(1, "a", STORY[:45]),
        [],
        ON,
        "too short: 45 words < 50",
    ),
    "outside the window": (
        doc(2, "b", edited(STORY, 3), hours=80),
        doc(1, "a", STORY),
        [],
        ON,
        "first seen 80 h apart > 72 h",
    ),
    "near-duplicate detection off": (
        doc(2, "b", edited(STORY, 3), hours=1),
        doc(1, "a", STORY),
        [],
        replace(ON, near=False),
        "near-duplicate detection is off",
    ),
    "podcast: episodes of one show": (podcast(2), podcast(1), [], ON, "same source, each has"),
    "podcast: the show's about text carried by two sources": (
        podcast(2, "pod-mirror"),
        podcast(1),
        [],
        ON,
        "each has a block of its own",
    ),
    "release notes: one template, other changes": (release(2), release(1), [], ON, "same source"),
    "briefing: one template, other items": (briefing(2), briefing(1), [], ON, "same source"),
    "follow-up: same names, a quoted background, new reporting": (
        doc(2, "a", words(11, 300) + STORY[:40] + words(12, 200), hours=30),
        doc(1, "a", STORY),
        [],
        ON,
        "same source, each has text of its own",
    ),
    "follow-up at another source": (
        doc(2, "b", words(11, 300) + STORY[:40] + words(12, 200), hours=30),
        doc(1, "a", STORY),
        [],
        ON,
        "each has a block of its own",
    ),
    "link blogs: two commentaries on one URL": (
        doc(2, "b", words(13, 60), link=URL, hours=1),
        doc(1, "a", words(14, 70), link=URL),
        [],
        ON,
        "same URL, different texts",
    ),
    "link blogs: two commentaries quoting the same paragraph": (
        doc(2, "b", words(15, 40) + QUOTE, link=URL, hours=1),
        doc(1, "a", words(16, 35) + QUOTE, link=URL),
        [],
        ON,
        "same URL, each text has its own block",
    ),
    "a site's home page is no article URL": (
        doc(2, "b", words(17, 80), link="https://news.example/", hours=1),
        doc(1, "a", words(18, 80), link="https://news.example/"),
        [],
        ON,
        "each has a block of its own",
    ),
    "both sides with a long block of their own": (
        doc(2, "b", STORY[:300] + words(19, 120), hours=1),
        doc(1, "a", STORY[:300] + words(20, 120)),
        [],
        ON,
        "each has a block of its own",
    ),
    "template only, with the source's other entries as evidence": (
        doc(2, "b", words(21, 15) + ABOUT, hours=1),
        doc(1, "a", words(22, 15) + ABOUT),
        [doc(3, "a", words(23, 15) + ABOUT, hours=-20)],
        ON,
        "template only",
    ),
    "same source, not near-identical": (
        doc(2, "a", edited(STORY, 40), hours=1),
        doc(1, "a", STORY),
        [],
        ON,
        "same source, not near-identical",
    ),
    "not a teaser: another episode's opening words of the show's about text": (
        doc(2, "b", ABOUT[:80], hours=1),
        podcast(1),
        [],
        ON,
        "not a teaser: found 70 words into the other text",
    ),
    "not a teaser: its own words after the shared head": (
        doc(2, "b", STORY[:60] + words(24, 12), hours=1),
        doc(1, "a", STORY),
        [],
        ON,
        "not a teaser",
    ),
}


@pytest.mark.parametrize(
    ("new", "old", "pool", "settings_", "reason"), REFUSALS.values(), ids=REFUSALS.keys()
)
def test_refusal(new: Doc, old: Doc, pool: list[Doc], settings_: NearSettings, reason: str) -> None:
    found = judge(new, old, [new, old, *pool], settings_)
    assert isinstance(found, str), found
    assert reason in found
    assert best_match(new, [old, *pool], settings_) is None


def test_same_entry_is_no_duplicate_of_itself() -> None:
    a = doc(1, "a", STORY)
    assert judge(a, a, [a], ON) == "the same entry"
    assert best_match(a, [a], ON) is None


def test_best_match_prefers_the_strongest_rule_then_the_closest_text() -> None:
    new = doc(9, "z", edited(STORY, 2), link=URL, hours=6)
    near_far = doc(1, "a", edited(STORY, 12), hours=1)
    near_close = doc(2, "b", edited(STORY, 3), hours=2)
    assert best_match(new, [near_far, near_close], ON).other == near_close  # type: ignore[union-attr]
    by_link = doc(3, "c", STORY[:20], link=URL, hours=3)
    assert best_match(new, [near_far, near_close, by_link], ON).rule == "link"  # type: ignore[union-attr]
    same = doc(4, "d", edited(STORY, 2), hours=4)
    assert best_match(new, [by_link, same], ON).rule == "hash"  # type: ignore[union-attr]


def test_template_evidence_spares_copies_of_the_story() -> None:
    """A source's re-post of the story is a copy, not evidence of its template."""
    new = doc(2, "b", STORY, hours=2)
    old = doc(1, "a", edited(STORY, 4))
    repost = doc(3, "a", edited(STORY, 5), hours=1)
    found = best_match(new, [old, repost], ON)
    assert found is not None and found.rule == "near"


# --- length-aware threshold -------------------------------------------------------


def test_length_bar_rises_for_short_texts() -> None:
    bars = [length_bar(n, ON) for n in (50, 100, 200, 400, 1000)]
    assert bars == sorted(bars, reverse=True)
    assert bars[0] == pytest.approx(0.8) and bars[-1] == ON.threshold
    assert length_bar(50, replace(ON, threshold=0.9)) == 0.9


@pytest.mark.parametrize(
    ("size", "changes", "merged"),
    [(600, 24, True), (80, 3, False), (80, 1, True)],
    ids=["long text, many edits", "short text, same edit rate", "short text, one edit"],
)
def test_short_texts_need_a_higher_jaccard(size: int, changes: int, merged: bool) -> None:
    base = words(30 + size, size)
    found = judge(doc(2, "b", edited(base, changes), hours=1), doc(1, "a", base), [], ON)
    assert isinstance(found, Match) is merged, found


# --- signatures -------------------------------------------------------------------


def test_signature_none_below_min_words() -> None:
    assert signature(" ".join(words(40, MIN_WORDS - 1))) is None
    assert signature(" ".join(words(40, MIN_WORDS))) is not None
    assert signature(" ".join(words(40, 30)), min_words=20) is not None


def test_signature_is_compact_and_versioned() -> None:
    sig = signature(" ".join(STORY))
    assert sig is not None and sig[0] == SIGNATURE_VERSION and len(sig) <= 512


# Changing words, shingles, keys or the layout changes this digest: bump
# SIGNATURE_VERSION (stored signatures are then recomputed) and pin the new one.
PINNED = "880794ceeee3fe2c"


def test_signature_bytes_are_pinned() -> None:
    text = "The Council’s “budget” — revised on Monday — was approved, 7–2. " * 12
    sig = signature(text)
    assert sig is not None
    assert xxhash.xxh64_hexdigest(sig) == PINNED


def test_signature_ignores_case_quotes_and_punctuation() -> None:
    plain = "the councils budget was revised on monday and approved by 7 2 " * 6
    fancy = "The Council’s “Budget” was REVISED on Monday — and approved, by 7–2! " * 6
    assert words_of(plain.replace("councils", "council s")) == words_of(fancy)
    assert signature(plain.replace("councils", "council s")) == signature(fancy)


# --- the index --------------------------------------------------------------------


def _sig(ws: list[str]) -> bytes:
    sig = signature(" ".join(ws))
    assert sig is not None
    return sig


def test_index_finds_copies_and_teasers_not_strangers() -> None:
    index = Index()
    index.add(1, _sig(STORY))
    index.add(2, _sig(words(50, 500)))
    index.add(3, _sig(SHORT))
    assert index.candidates(_sig(edited(STORY, 6))) == {1}
    assert index.candidates(_sig(STORY[:60])) == {1}  # a teaser finds its article
    assert index.candidates(_sig(words(51, 400))) == set()
    assert (len(index), 1 in index, 4 in index) == (3, True, False)


def test_index_discard_and_replace() -> None:
    index = Index()
    index.add(1, _sig(STORY))
    index.add(2, _sig(edited(STORY, 3)))
    index.discard(1)
    index.discard(7)  # unknown: nothing happens
    assert index.candidates(_sig(STORY)) == {2}
    assert 1 not in index and len(index) == 1
    index.add(2, _sig(SHORT))  # a new signature replaces the old one
    assert index.candidates(_sig(STORY)) == set()
    assert index.candidates(_sig(SHORT)) == {2}


def test_index_sweeps_discarded_entries() -> None:
    index = Index()
    sigs = [_sig(words(1000 + i, 60)) for i in range(1500)]
    for i, sig in enumerate(sigs):
        index.add(i, sig)
    for i in range(1200):
        index.discard(i)
    assert len(index) == 300
    assert index.candidates(sigs[5]) == set()
    assert index.candidates(sigs[1400]) == {1400}


def test_index_after_many_adds_discards_and_sweeps_answers_as_a_fresh_one() -> None:
    """Ids added out of order and again, discards that sweep (and renumber) several
    times: membership, size and candidates are those of an index built afresh from
    the entries still live."""
    rng = random.Random(7)
    texts = [words(3000 + i // 3, 80) + words(4000 + i, 20) for i in range(90)]  # triples
    sigs = [_sig(text) for text in texts]
    index, live = Index(), {}
    for step in range(6000):
        entry_id = rng.randrange(600) if step % 5 else 600 + step  # mostly revisited ids
        if rng.random() < 0.55:
            index.add(entry_id, sigs[entry_id % len(sigs)])
            live[entry_id] = entry_id % len(sigs)
        else:
            index.discard(entry_id)
            live.pop(entry_id, None)
    fresh = Index()
    for entry_id in sorted(live):
        fresh.add(entry_id, sigs[live[entry_id]])
    assert len(index) == len(fresh) == len(live)
    assert all((i in index) == (i in live) for i in range(-1, 7000))
    for sig in sigs:
        assert index.candidates(sig) == fresh.candidates(sig)


def test_index_reads_only_the_newest_entries_of_a_boilerplate_key() -> None:
    """100 entries opening with the same 50 words: a teaser-long query with that
    opening sees the 64 newest."""
    opening = words(60, 50)
    index = Index()
    for i in range(100):
        index.add(i, _sig(opening + words(2000 + i, 300)))
    assert index.candidates(_sig(opening + words(61, 100))) == set(range(36, 100))


def test_index_head_keys_alone_find_only_a_teaser_long_text() -> None:
    """Two entries sharing only their opening: as long as each other, neither can be
    the other's teaser, so the head keys do not make them candidates."""
    opening = words(60, 50)
    index = Index()
    index.add(1, _sig(opening + words(2001, 400)))
    assert index.candidates(_sig(opening + words(2002, 400))) == set()
    assert index.candidates(_sig(opening + words(2003, 30))) == {1}  # teaser-long
    assert TEASER_SPAN >= TEASER_RATIO  # the index never drops a pair `near` would merge


def test_index_rejects_another_signature_version() -> None:
    with pytest.raises(ValueError, match="version"):
        Index().add(1, bytes([SIGNATURE_VERSION + 1]) + _sig(STORY)[1:])


# --- properties -------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**6), min_size=1, max_size=6))
def test_unrelated_texts_never_match(seed: int, others: list[int]) -> None:
    new = doc("n", "x", words(seed, 80 + seed % 400), hours=1)
    pool = [doc(i, f"s{i % 3}", words(s + 1 + seed, 60 + s % 500)) for i, s in enumerate(others)]
    assert best_match(new, pool, ON) is None


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 40), st.integers(60, 700))
def test_judge_is_symmetric_across_sources(seed: int, changes: int, size: int) -> None:
    """Between two sources, near and teaser decisions do not depend on which came first."""
    base = words(seed, size)
    a, b = doc(1, "a", base), doc(2, "b", edited(base, min(changes, size // 4), seed), hours=1)
    teaser = doc(3, "c", base[: max(50, size // 3)], hours=2)
    for x, y in ((a, b), (a, teaser), (b, teaser)):
        one, two = judge(x, y, [], ON), judge(y, x, [], ON)
        assert isinstance(one, Match) == isinstance(two, Match), (one, two)


def test_profile_words_match_signature_words() -> None:
    text = "Don’t stop—now. ﬁne Straße " * 20
    assert profile(text).words == len(words_of(text)) == 120


def test_template_evidence_is_what_refuses_a_shared_template() -> None:
    """Two sources' entries sharing a long template and 15 own words look like copies
    (a high Jaccard, no long own block); the source's other entries in the pool show
    the shared text is its template. Without them the pair merges: a known limit."""
    new = doc(2, "b", words(21, 15) + ABOUT, hours=1)
    old = doc(1, "a", words(22, 15) + ABOUT)
    sibling = doc(3, "a", words(23, 15) + ABOUT, hours=-20)
    assert isinstance(judge(new, old, [], ON), Match)
    assert "template only" in str(judge(new, old, [old, sibling], ON))


def test_is_current_tells_stored_signatures_to_re_sign() -> None:
    sig = _sig(STORY)
    assert is_current(sig)
    assert not is_current(bytes([SIGNATURE_VERSION + 1]) + sig[1:])
    assert not is_current(None) and not is_current(b"")
