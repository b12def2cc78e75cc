"""The poll plan: what one poll of one source changes. Pure: no IO, no clock.

It decides, from values the store has read, which entries are new, which are updates
of known ones, and where each new entry goes in each topic: the published copy of its
story, or a duplicate of a story already there. It does not read or write the store.

Identity (DESIGN.md, "Identity and deduplication contract"):
- an entry's source identity is (source, key); a changed body under a known key is an
  update of the same output entry, never a new one;
- copies of one story are found by `near.best_match`: the same content hash, the same
  article URL, or (when on) near-duplicate text. A story is published once per topic
  (or once overall with `scope: global`), under the id of its *root*: the copy seen
  first, then published first, then from the source earlier in the config, then
  earlier in the feed. The other copies are kept as its duplicates (provenance).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..models import CleanEntry
from ..urls import story_url
from .hashing import HASH_VERSION, hash_version, is_dedupable, output_id
from .near import Doc, Match, NearSettings, best_match


@dataclass(frozen=True, slots=True)
class DedupeSettings:
    """`scope`: "topic" publishes each story once per topic; "global" once overall,
    in the topic its root is in."""

    scope: str = "topic"
    near: NearSettings = field(default_factory=NearSettings)


# --- what the store knows (input) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """An entry the store already holds under one of this poll's keys.

    `shown_in`: the topics whose feed shows it, as the published copy or as a
    duplicate the published copy lists (its body may be the one shown)."""

    id: int
    key: str
    content_hash: str
    updated: datetime
    shown_in: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Root:
    """The published copy of a story in `topic_id`: what a new copy must beat."""

    id: int
    topic_id: str
    first_seen: datetime
    published: datetime
    position: int  # config position of its source


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored entry a new one may copy, with the root of its story in each topic it
    is in (its own id where it is the published copy)."""

    doc: Doc
    roots: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class PollInput:
    """One poll of one source: its cleaned entries and what the store already holds.

    `known` covers this source's entries under the poll's keys; `candidates` the
    stored entries the new ones may copy (same hash, same article URL, near-duplicate
    candidates); `roots` the published copies of their stories.
    """

    source_id: int
    source_url: str
    position: int
    topics: tuple[str, ...]
    entries: tuple[CleanEntry, ...]
    known: tuple[KnownEntry, ...]
    candidates: tuple[Candidate, ...]
    roots: tuple[Root, ...]
    now: datetime
    settings: DedupeSettings = DedupeSettings()
    # Per new entry (by key), the stored entries the near-duplicate index found for it.
    near: tuple[tuple[str, tuple[int, ...]], ...] = ()


# --- what to write (output) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    """A new entry in one topic: the published copy, or a duplicate of a story's root,
    an existing entry (by row id) or another new entry of the same poll (by key),
    with the rule that merged it, its similarity and a short explanation."""

    topic_id: str
    duplicate_of_id: int | None = None
    duplicate_of_key: str | None = None
    rule: str | None = None
    similarity: float | None = None
    detail: str | None = None

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
class Rehash:
    """A known entry whose stored hash is of an older `HASH_VERSION`: the new hash is
    written, nothing else (the entry is not reported as updated)."""

    id: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class Demotion:
    """An existing root beaten by a new copy (possible on ties within one run): it and
    its duplicates in `topic_id` become duplicates of the new entry."""

    topic_id: str
    entry_id: int
    new_key: str
    rule: str | None = None
    similarity: float | None = None
    detail: str | None = None


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
    rehashes: tuple[Rehash, ...] = ()

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
    rehashes: list[Rehash] = []
    unchanged = 0
    for entry in unique_by_key(poll.entries):
        stored = known.get(entry.key)
        if stored is None:
            fresh.append(entry)
        elif stored.content_hash == entry.content_hash:
            unchanged += 1
        elif hash_version(stored.content_hash) != HASH_VERSION:
            rehashes.append(Rehash(stored.id, entry.content_hash))
            unchanged += 1
        else:
            updates.append(EntryUpdate(stored.id, entry, advance(stored.updated, entry, poll.now)))
    placer = _Placer(poll)
    new = placer.place(fresh)
    dirty = placer.dirty
    dirty.update(t for u in updates for t in known[u.entry.key].shown_in)
    return PollPlan(
        tuple(new),
        tuple(updates),
        tuple(sorted(placer.demotions, key=lambda d: (d.topic_id, d.entry_id))),
        unchanged,
        tuple(sorted(dirty)),
        tuple(rehashes),
    )


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


def story_of(entry: CleanEntry) -> str | None:
    """The entry's story URL: as its worker found it, else found now."""
    return entry.story_url or story_url(entry.link)


def entry_doc(source_id: int, entry: CleanEntry, seen: datetime) -> Doc:
    """What `near.best_match` compares of a cleaned entry."""
    return Doc(
        id=entry.key,
        source=source_id,
        title=entry.title,
        text=entry.text,
        link=story_of(entry),
        content_hash=entry.content_hash,
        seen=seen,
    )


# Who publishes a story in a topic: earliest first seen, then published, then config
# position, then feed order (an existing root has order -1: it keeps its place on a
# complete tie).
_Rank = tuple[datetime, datetime, int, int]
_Id = int | str  # a stored entry's row id, or the key of an entry of this poll


class _Placer:
    """Places a poll's new entries one at a time, oldest first, so a later one can be
    a copy of an earlier one of the same poll."""

    def __init__(self, poll: PollInput) -> None:
        self.poll = poll
        self.global_scope = poll.settings.scope == "global"
        # What each new entry is compared with: the stored candidates and the poll's
        # entries placed before it with its hash or article URL, and the stored ones
        # the near-duplicate index found for it; never all of them (a poll has
        # hundreds of entries). Two near-duplicates in one poll come from one source,
        # where only a near-identical re-post would merge: that is left to a later
        # poll's index lookup, which costs nothing extra here.
        self.by_hash: dict[str, list[Doc]] = {}
        self.by_link: dict[str, list[Doc]] = {}
        self.by_id: dict[_Id, Doc] = {}
        self.near = dict(poll.near) if poll.settings.near.near else {}
        for c in poll.candidates:
            self._remember(c.doc)
        # topic -> story root, per doc; "*" is the root in global scope.
        self.roots: dict[_Id, dict[str, _Id]] = {c.doc.id: dict(c.roots) for c in poll.candidates}
        self.ranks: dict[tuple[str, _Id], _Rank] = {
            (r.topic_id, r.id): (r.first_seen, r.published, r.position, -1) for r in poll.roots
        }
        self.shown: dict[_Id, set[str]] = {}
        for r in poll.roots:
            self.shown.setdefault(r.id, set()).add(r.topic_id)
        self.moved: dict[tuple[str, _Id], str] = {}  # demoted roots -> the new root's key
        self.demotions: list[Demotion] = []
        self.dirty: set[str] = set()

    def place(self, fresh: Sequence[CleanEntry]) -> list[NewEntry]:
        dated = [(entry_dates(e, self.poll.now), order, e) for order, e in enumerate(fresh)]
        placed: dict[str, NewEntry] = {}
        for (published, updated), order, entry in sorted(dated, key=lambda d: (d[0][0], d[1])):
            rank = (self.poll.now, published, self.poll.position, order)
            placements = self._placements(entry, rank)
            oid = output_id(self.poll.source_url, entry.key)
            now = self.poll.now
            placed[entry.key] = NewEntry(entry, oid, now, published, updated, placements)
        return [placed[e.key] for e in fresh]

    def _placements(self, entry: CleanEntry, rank: _Rank) -> tuple[Placement, ...]:
        doc = entry_doc(self.poll.source_id, entry, self.poll.now)
        topics = self.poll.topics
        pool = self._pool(doc) if is_dedupable(entry.content_hash) else []
        match = self._match(doc, pool, topics)
        placements = tuple(self._placement(doc, pool, topic, match, rank) for topic in topics)
        roots: dict[str, _Id] = {}
        for p in placements:
            root = p.duplicate_of_id or p.duplicate_of_key or doc.id
            roots[p.topic_id] = root
            if p.canonical:
                self.ranks[(p.topic_id, doc.id)] = rank
                self.shown.setdefault(doc.id, set()).add(p.topic_id)
                self.dirty.add(p.topic_id)
            else:  # the root's entry now lists one more source
                self.dirty.update(self.shown.get(root, ()))
        if self.global_scope and placements:
            roots["*"] = roots[placements[0].topic_id]
        self.roots[doc.id] = roots
        self._remember(doc)
        return placements

    def _remember(self, doc: Doc) -> None:
        if is_dedupable(doc.content_hash):
            self.by_hash.setdefault(doc.content_hash, []).append(doc)
        if doc.link:
            self.by_link.setdefault(doc.link, []).append(doc)
        self.by_id[doc.id] = doc

    def _pool(self, doc: Doc) -> list[Doc]:
        """The docs `doc` may copy, each once, in the order they were remembered."""
        found = {id(d): d for d in self.by_hash.get(doc.content_hash, ())}
        if doc.link:
            found.update((id(d), d) for d in self.by_link.get(doc.link, ()))
        for near_id in sorted(self.near.get(str(doc.id), ())):
            if near_id in self.by_id:
                found[id(self.by_id[near_id])] = self.by_id[near_id]
        return list(found.values())

    def _match(self, doc: Doc, pool: Sequence[Doc], topics: Sequence[str]) -> Match | None:
        here = [d for d in pool if any(self._root(d.id, t) is not None for t in topics)]
        return best_match(doc, here, self.poll.settings.near) if here else None

    def _root(self, doc_id: _Id, topic: str) -> _Id | None:
        """The root of `doc_id`'s story in `topic` (None: not there), after demotions;
        in global scope, its one root wherever it is."""
        roots = self.roots.get(doc_id)
        if not roots:
            return None
        if self.global_scope:
            return roots.get("*", next(iter(roots.values())))
        root = roots.get(topic)
        return None if root is None else self.moved.get((topic, root), root)

    def _placement(
        self, doc: Doc, pool: Sequence[Doc], topic: str, match: Match | None, rank: _Rank
    ) -> Placement:
        root = None if match is None else self._root(match.other.id, topic)
        if match is not None and root is None:
            # The best copy is not in this topic: look among the ones that are.
            here = [d for d in pool if self._root(d.id, topic) is not None]
            match = best_match(doc, here, self.poll.settings.near) if here else None
            root = None if match is None else self._root(match.other.id, topic)
        if match is None or root is None:
            return Placement(topic)
        how = (match.rule, match.similarity, match.detail)
        if isinstance(root, int) and not self.global_scope:
            beaten = self.ranks.get((topic, root))
            if beaten is not None and rank < beaten:
                assert isinstance(doc.id, str)
                self.demotions.append(Demotion(topic, root, doc.id, *how))
                self.moved[(topic, root)] = doc.id
                return Placement(topic)
        if isinstance(root, int):
            return Placement(topic, root, None, *how)
        return Placement(topic, None, root, *how)
