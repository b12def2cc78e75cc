"""Dedupe stage: content hashes, output ids and the poll plan. Pure: no IO, no clock.

It decides what one poll of one source changes (new entries, updates, duplicates per
topic) from values the store has read; it does not read or write the store itself.

Identity (DESIGN.md, "Identity and deduplication contract"):
- an entry's source identity is (source, key); a changed body under a known key is an
  update of the same output entry, never a new one;
- copies of one story are recognised by `content_hash` of the cleaned, normalised
  title and text; each topic publishes one copy, the *canonical* one: the earliest by
  first seen, then published date, then the source's position in the config, then
  the order of the feed. The others are kept as duplicates (provenance).
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import xxhash

from .models import CleanEntry

# Bump whenever `normalize_text` or `content_hash` changes: stored hashes of another
# version no longer match, so the pinned digests in tests fail until it is bumped.
HASH_VERSION = 1


def normalize_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed to single spaces and trimmed.

    NFKC runs again after casefold because folding can produce sequences NFKC would
    rewrite ('ǰ' folds to 'j' + U+030C, which NFKC composes back): the function
    must be idempotent.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    # str.split() splits on exactly the characters `\s` matches (Py_UNICODE_ISSPACE),
    # at a fraction of the cost of a regex substitution.
    return " ".join(folded.split())


def content_hash(title: str, text: str) -> str:
    """The versioned hash of a cleaned entry's plain-text title and text."""
    data = normalize_text(title) + "\n" + normalize_text(text)
    return f"v{HASH_VERSION}:" + xxhash.xxh3_128_hexdigest(data.encode("utf-8"))


# Entries with neither title nor text (link-only items) say nothing about which story
# they are: they are never duplicates of one another.
EMPTY_HASH = content_hash("", "")


def is_dedupable(digest: str) -> bool:
    """Whether entries with this hash may be duplicates of others ("" = not hashed)."""
    return digest not in ("", EMPTY_HASH)


def output_id(source_url: str, key: str) -> str:
    """The entry's public Atom id: derived from its first-seen identity, so it is stable
    for the entry's life and across databases; never a row id."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, source_url + "\n" + key))


# --- what the store knows (input) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """An entry the store already holds under one of this poll's keys."""

    id: int
    key: str
    content_hash: str
    updated: datetime
    visible_in: frozenset[str] = frozenset()  # topics where it is the canonical copy


@dataclass(frozen=True, slots=True)
class Canonical:
    """The entry published in `topic_id` for `content_hash`: what a new copy must beat."""

    id: int
    topic_id: str
    content_hash: str
    first_seen: datetime
    published: datetime
    position: int  # config position of its source


@dataclass(frozen=True, slots=True)
class PollInput:
    """One poll of one source: its cleaned entries and what the store already holds.

    `known` covers this source's entries under the poll's keys; `canonicals` the
    canonical entries in this source's topics whose hash a new entry has.
    """

    source_url: str
    position: int
    topics: tuple[str, ...]
    entries: tuple[CleanEntry, ...]
    known: tuple[KnownEntry, ...]
    canonicals: tuple[Canonical, ...]
    now: datetime


# --- what to write (output) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    """A new entry in one topic: canonical, or a duplicate of an existing entry (by row
    id) or of another new entry of the same poll (by key)."""

    topic_id: str
    duplicate_of_id: int | None = None
    duplicate_of_key: str | None = None

    @property
    def canonical(self) -> bool:
        return self.duplicate_of_id is None and self.duplicate_of_key is None


@dataclass(frozen=True, slots=True)
class NewEntry:
    entry: CleanEntry
    output_id: str
    first_seen: datetime
    published: datetime
    updated: datetime
    placements: tuple[Placement, ...]

    @property
    def is_duplicate(self) -> bool:
        return any(not p.canonical for p in self.placements)


@dataclass(frozen=True, slots=True)
class EntryUpdate:
    """New content for a known entry: same row, same output id, `updated` moved forward."""

    id: int
    entry: CleanEntry
    updated: datetime


@dataclass(frozen=True, slots=True)
class Demotion:
    """An existing canonical entry beaten by a new copy (possible on ties within one
    run): it and its duplicates in `topic_id` become duplicates of the new entry."""

    topic_id: str
    entry_id: int
    new_key: str


@dataclass(frozen=True, slots=True)
class PollPlan:
    """What one poll changes.

    Counts: `new` is every entry stored for the first time, duplicates included;
    `duplicates` is the new entries that are a duplicate in at least one topic (so
    `duplicates <= new`); `updated` is known entries whose content changed.
    `dirty_topics` are the topics whose published feed changes.
    """

    new: tuple[NewEntry, ...]
    updates: tuple[EntryUpdate, ...]
    demotions: tuple[Demotion, ...]
    unchanged: int
    dirty_topics: tuple[str, ...]

    @property
    def counts(self) -> tuple[int, int, int]:
        """(new, updated, duplicates), as reported for the poll."""
        duplicates = sum(1 for n in self.new if n.is_duplicate)
        return len(self.new), len(self.updates), duplicates


# --- the plan ------------------------------------------------------------------


def plan_poll(poll: PollInput) -> PollPlan:
    """Classify the poll's entries (new, update, unchanged) and place the new ones."""
    known = {k.key: k for k in poll.known}
    fresh: list[CleanEntry] = []
    updates: list[EntryUpdate] = []
    unchanged = 0
    for entry in unique_by_key(poll.entries):
        stored = known.get(entry.key)
        if stored is None:
            fresh.append(entry)
        elif stored.content_hash == entry.content_hash:
            unchanged += 1
        else:
            updates.append(EntryUpdate(stored.id, entry, advance(stored.updated, entry, poll.now)))
    new, demotions = _place(poll, fresh)
    dirty = {p.topic_id for n in new for p in n.placements if p.canonical}
    dirty.update(t for u in updates for t in known[u.entry.key].visible_in)
    return PollPlan(tuple(new), tuple(updates), tuple(demotions), unchanged, tuple(sorted(dirty)))


def unique_by_key(entries: Iterable[CleanEntry]) -> list[CleanEntry]:
    """The first entry of each key: a feed repeating an id means the same entry."""
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.key not in seen:
            seen.add(entry.key)
            unique.append(entry)
    return unique


def entry_dates(entry: CleanEntry, now: datetime) -> tuple[datetime, datetime]:
    """(published, updated) of a new entry: the source's dates, else `now`. `updated`
    is never before `published` (some feeds get them the wrong way round)."""
    published = entry.published or entry.updated or now
    updated = max(entry.updated or published, published)
    return published, updated


def advance(stored: datetime, entry: CleanEntry, now: datetime) -> datetime:
    """`updated` of a changed entry: the source's own date when it advanced past the
    stored one, else now; strictly later than `stored` either way, so readers notice."""
    if entry.updated is not None and entry.updated > stored:
        return entry.updated
    return now if now > stored else stored + timedelta(seconds=1)


# A contestant for canonical in one (topic, hash): earliest first seen, then published,
# then config position, then feed order (an existing canonical has order -1: it keeps
# its place on a complete tie).
_Rank = tuple[datetime, datetime, int, int]


def _place(poll: PollInput, fresh: Sequence[CleanEntry]) -> tuple[list[NewEntry], list[Demotion]]:
    winners = _winners(poll, fresh)
    new = []
    for entry in fresh:
        published, updated = entry_dates(entry, poll.now)
        placements = tuple(_placement(t, entry, winners) for t in poll.topics)
        oid = output_id(poll.source_url, entry.key)
        new.append(NewEntry(entry, oid, poll.now, published, updated, placements))
    return new, _demotions(poll, winners)


def _winners(poll: PollInput, fresh: Sequence[CleanEntry]) -> dict[tuple[str, str], int | str]:
    """The canonical of every (topic, hash) the fresh entries touch: an existing entry
    id, or the key of a fresh entry."""
    best: dict[tuple[str, str], tuple[_Rank, int | str]] = {}
    for canon in poll.canonicals:
        rank = (canon.first_seen, canon.published, canon.position, -1)
        _contest(best, (canon.topic_id, canon.content_hash), rank, canon.id)
    for order, entry in enumerate(fresh):
        if not is_dedupable(entry.content_hash):
            continue
        published, _ = entry_dates(entry, poll.now)
        rank = (poll.now, published, poll.position, order)
        for topic in poll.topics:
            _contest(best, (topic, entry.content_hash), rank, entry.key)
    return {group: winner for group, (_, winner) in best.items()}


def _contest(
    best: dict[tuple[str, str], tuple[_Rank, int | str]],
    group: tuple[str, str],
    rank: _Rank,
    who: int | str,
) -> None:
    if group not in best or rank < best[group][0]:
        best[group] = (rank, who)


def _demotions(poll: PollInput, winners: dict[tuple[str, str], int | str]) -> list[Demotion]:
    """Existing canonicals whose group a fresh entry won."""
    demotions = []
    for canon in poll.canonicals:
        winner = winners.get((canon.topic_id, canon.content_hash))
        if isinstance(winner, str):
            demotions.append(Demotion(canon.topic_id, canon.id, winner))
    return sorted(demotions, key=lambda d: (d.topic_id, d.entry_id))


def _placement(
    topic: str, entry: CleanEntry, winners: dict[tuple[str, str], int | str]
) -> Placement:
    winner = winners.get((topic, entry.content_hash), entry.key)
    if winner == entry.key or not is_dedupable(entry.content_hash):
        return Placement(topic)
    if isinstance(winner, int):
        return Placement(topic, duplicate_of_id=winner)
    return Placement(topic, duplicate_of_key=winner)
