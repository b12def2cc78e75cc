"""Which earlier entry a new one duplicates: same hash, same article URL, or near-same
text. Pure: no IO, no clock. It does not gather candidates (the store and `Index` do)
nor place entries in topics (`plan.py`).

Rules, strongest first (each refusal says why, for `aggregator explain`):
- "hash": equal content hashes (the cleaned, normalised text is the same);
- "link": the same article URL (not a site root), unless the texts are clearly
  different: link blogs commenting on one external URL are not copies of each other;
- with `NearSettings.near` on, for entries first seen within `window` of each other
  and both at least `min_words` long, compared on 5-word shingles (`shingles.py`):
  - "repost": the same source, near-identical text (a re-post under a new id);
  - "near": another source, Jaccard at least a length-aware bar (shorter texts need
    more: one edit moves the Jaccard of a short text a lot), raised to `BLOCK_BAR`
    when both sides have an own block of `BLOCK_WORDS`;
  - "teaser": another source, the shorter text (at most `TEASER_RATIO` of the other)
    almost wholly contained in the longer, near its start.

Gates against false merges (hard negatives: template siblings, follow-ups):
- template evidence: shingles a side shares with other entries of its own source in
  the pool (not copies of it) are that source's boilerplate; they are left out of
  both sides before comparing, and a side with too little text left is refused;
- own blocks: copies differ by scattered edits, template siblings and follow-ups each
  have a contiguous block of their own story (`shingles.own_run`). Both sides with a
  block of `BLOCK_WORDS` raise the bar to `BLOCK_BAR` (unless template evidence was
  found and left out: then the blocks are per-entry wrappers); both with blocks of
  `BLOCK_SHARE` of their text refuse; a same-source pair is refused when both sides
  have any block of `REPOST_OWN` words.

The thresholds were set on `bench/dedupe` (generated texts, seeds 1-3, not real
prose): copies score a Jaccard of 0.71-1.0 (0.75+ when both have a 20-word block, own
blocks at most 43 words and 10% of the text), teasers a containment of 0.93+ against
their article; same-source template siblings 0.30-0.83 with own blocks of 9+ words;
a column's episodes at two sources 0.36-0.59 with own blocks of 22+ words; follow-ups
0.0-0.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from .hashing import is_dedupable
from .lsh import Index
from .shingles import MIN_WORDS, SIGNATURE_VERSION, Profile, own_run, profile, signature

__all__ = [
    "MIN_WORDS",
    "SIGNATURE_VERSION",
    "Doc",
    "Index",
    "Match",
    "NearSettings",
    "best_match",
    "is_current",
    "judge",
    "length_bar",
    "signature",
]

DEFAULT_THRESHOLD = 0.5  # Jaccard bar for long texts: copies of wire stories score 0.7+
LONG_WORDS = 400  # texts this long get the plain bar...
SHORT_BAR = 0.8  # ...texts of `min_words` need this; linear in between
REPOST_BAR = 0.9  # a same-source pair must be near-identical
REPOST_OWN = 5  # ...and must not both have a block of this many words of their own
BLOCK_WORDS = 20  # both sides with an own block this long need `BLOCK_BAR`...
BLOCK_BAR = 0.7  # (such copies score 0.75+, a column's episodes at two sources < 0.6)
BLOCK_SHARE = 0.15  # ...and with blocks of this share of their text are refused
TEASER_BAR = 0.85  # share of the teaser's shingles found in the full text
TEASER_RATIO = 0.7  # a teaser is at most this share of the full text's words
TEASER_OWN = 6  # words of its own a teaser may have (a cut-off last word, "[...]")
TEASER_START = 60  # a teaser is the article's beginning: found within its first words
LINK_BLANK = 10  # a side shorter than this says nothing against the same URL
LINK_BAR = 0.5  # containment of the shorter text above which one URL means one story
LINK_SHARE = 0.25  # both sides with an own block of this share: two commentaries
DISTINCT_MIN = 20  # shingles a side must keep once its source's template is left out
EVIDENCE_MAX = 8  # siblings per source read for template evidence, most recent first
EVIDENCE_COPY = 0.8  # a sibling sharing this share of the smaller text is a copy


@dataclass(frozen=True, slots=True)
class Doc:
    """An entry as duplicate detection sees it."""

    id: int | str  # store row id, or the key of an entry of the same poll not stored yet
    source: int | str
    title: str  # cleaned plain-text title
    text: str  # cleaned plain text (CleanEntry.text)
    link: str | None  # identity URL (`urls.story_url`): equal strings, same article
    content_hash: str  # exact hash ("" or EMPTY_HASH: not hashable)
    seen: datetime  # first seen, aware UTC


@dataclass(frozen=True, slots=True)
class NearSettings:
    near: bool = True  # near-duplicate detection on/off (hash and link rules apply anyway)
    threshold: float = DEFAULT_THRESHOLD  # Jaccard bar for long texts; shorter need more
    min_words: int = MIN_WORDS
    window: timedelta = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Match:
    other: Doc
    rule: str  # "hash" | "link" | "near" | "teaser" | "repost"
    similarity: float  # 1.0 for hash; the verified Jaccard or containment otherwise
    detail: str  # short human explanation, e.g. "jaccard 0.83 >= 0.62 (240 words)"


_STRENGTH = {"hash": 2, "link": 1, "repost": 0, "near": 0, "teaser": 0}


def best_match(new: Doc, pool: Sequence[Doc], settings: NearSettings) -> Match | None:
    """The earlier doc `new` duplicates among `pool`, or None.

    The strongest rule wins (hash, then link, then the near rules), then the highest
    similarity, then the doc seen first. Pool docs of `new`'s own source that are not
    copies of it are evidence of that source's template.
    """
    ctx = _Context(pool)
    best: Match | None = None
    for old in pool:
        if _same(new, old):
            continue
        found = _judge(new, old, ctx, settings)
        if isinstance(found, Match) and (best is None or _better(found, best)):
            best = found
    return best


def judge(new: Doc, old: Doc, pool: Sequence[Doc], settings: NearSettings) -> Match | str:
    """One pair: the Match, or a short reason it was refused."""
    if _same(new, old):
        return "the same entry"
    return _judge(new, old, _Context(pool), settings)


def is_current(sig: bytes | None) -> bool:
    """Whether a stored signature is of this `SIGNATURE_VERSION` (`Index.add` raises
    ValueError for another: re-sign the entry's text instead)."""
    return sig is not None and sig[:1] == bytes((SIGNATURE_VERSION,))


def length_bar(words: int, settings: NearSettings) -> float:
    """The Jaccard a pair needs when its shorter side has `words` words."""
    span = max(1, LONG_WORDS - settings.min_words)
    short = min(1.0, max(0.0, (LONG_WORDS - words) / span))
    return max(settings.threshold, settings.threshold + (SHORT_BAR - settings.threshold) * short)


def _same(a: Doc, b: Doc) -> bool:
    return a.id == b.id and a.source == b.source


def _better(a: Match, b: Match) -> bool:
    ka = (_STRENGTH[a.rule], a.similarity, -a.other.seen.timestamp())
    kb = (_STRENGTH[b.rule], b.similarity, -b.other.seen.timestamp())
    return ka > kb


def _judge(new: Doc, old: Doc, ctx: _Context, settings: NearSettings) -> Match | str:
    if is_dedupable(new.content_hash) and new.content_hash == old.content_hash:
        return Match(old, "hash", 1.0, "same content hash")
    a, b = profile(new.text), profile(old.text)
    refused = ""
    if new.link and new.link == old.link and not _site_root(new.link):
        found = _link(old, a, b)
        if isinstance(found, Match):
            return found
        refused = found + "; "
    return _near_rules(new, old, ctx, settings, refused)


def _near_rules(
    new: Doc, old: Doc, ctx: _Context, settings: NearSettings, refused: str
) -> Match | str:
    if not settings.near:
        return refused + "near-duplicate detection is off"
    gap = abs(new.seen - old.seen)
    if gap > settings.window:
        return refused + f"first seen {_hours(gap)} h apart > {_hours(settings.window)} h"
    a, b = profile(new.text), profile(old.text)
    if min(a.words, b.words) < settings.min_words:
        return refused + f"too short: {min(a.words, b.words)} words < {settings.min_words}"
    template = ctx.template(new, old) | ctx.template(old, new)
    pair = _Pair.of(a, b, template)
    found = _repost(old, pair) if new.source == old.source else _near(old, pair, settings)
    return found if isinstance(found, Match) else refused + found


def _link(old: Doc, a: Profile, b: Profile) -> Match | str:
    """Same article URL: one story unless both texts say clearly different things."""
    if min(a.words, b.words) < LINK_BLANK:
        return Match(old, "link", 1.0, f"same URL; a text of {min(a.words, b.words)} words")
    short, long_ = (a, b) if a.words <= b.words else (b, a)
    shared = _containment(short, long_)
    if shared < LINK_BAR:
        return f"same URL, different texts: containment {shared:.2f} < {LINK_BAR}"
    own_a, own_b = own_run(a.seq, b.shingles), own_run(b.seq, a.shingles)
    if own_a >= LINK_SHARE * a.words and own_b >= LINK_SHARE * b.words:
        return f"same URL, each text has its own block ({own_a} and {own_b} words)"
    return Match(old, "link", shared, f"same URL; containment {shared:.2f} >= {LINK_BAR}")


def _containment(short: Profile, long_: Profile) -> float:
    """Share of the shorter text's shingles found in the longer one."""
    if not short.shingles:
        return 0.0
    return len(short.shingles & long_.shingles) / len(short.shingles)


@dataclass(frozen=True, slots=True)
class _Pair:
    """The two texts compared, with the shingles both sources use as template."""

    a: Profile
    b: Profile
    template: frozenset[int]
    own_a: int  # the longest block of words of `a` that `b` lacks
    own_b: int

    @classmethod
    def of(cls, a: Profile, b: Profile, template: frozenset[int]) -> _Pair:
        return cls(a, b, template, own_run(a.seq, b.shingles), own_run(b.seq, a.shingles))

    def distinct(self) -> tuple[frozenset[int], frozenset[int]]:
        if not self.template:
            return self.a.shingles, self.b.shingles
        return self.a.shingles - self.template, self.b.shingles - self.template

    def both_blocks(self, words: int, share: float) -> bool:
        """Whether each side has an own block of `words` words and `share` of its text."""
        need_a = max(words, share * self.a.words)
        need_b = max(words, share * self.b.words)
        return self.own_a >= need_a and self.own_b >= need_b


def _repost(old: Doc, pair: _Pair) -> Match | str:
    da, db = pair.distinct()
    if min(len(da), len(db)) < DISTINCT_MIN:
        return f"same source, template only: {min(len(da), len(db))} own shingles left"
    if pair.both_blocks(REPOST_OWN, 0.0):
        return f"same source, each has text of its own ({pair.own_a} and {pair.own_b} words)"
    j = _jaccard(da, db)
    if j < REPOST_BAR:
        return f"same source, not near-identical: jaccard {j:.2f} < {REPOST_BAR}"
    return Match(old, "repost", j, f"same source, jaccard {j:.2f} >= {REPOST_BAR}")


def _near(old: Doc, pair: _Pair, settings: NearSettings) -> Match | str:
    da, db = pair.distinct()
    if min(len(da), len(db)) < DISTINCT_MIN:
        return f"template only: {min(len(da), len(db))} own shingles left"
    if pair.both_blocks(BLOCK_WORDS, BLOCK_SHARE):
        return f"each has a block of its own ({pair.own_a} and {pair.own_b} words)"
    # The bar follows the texts' length, not what is left once the template is out:
    # what is left of two copies still holds each entry's own wrappers.
    words = min(pair.a.words, pair.b.words)
    j = _jaccard(da, db)
    bar = length_bar(words, settings)
    # Each tells something the other does not: a template sibling, unless the pool
    # showed the template (then what is left is each one's own story, or one story).
    if not pair.template and pair.both_blocks(BLOCK_WORDS, 0.0):
        bar = max(bar, BLOCK_BAR)
    if j >= bar:
        return Match(old, "near", j, f"jaccard {j:.2f} >= {bar:.2f} ({words} words)")
    teaser = _teaser(old, pair, da, db)
    if isinstance(teaser, Match):
        return teaser
    return f"jaccard {j:.2f} < {bar:.2f} ({words} words); {teaser}"


def _teaser(old: Doc, pair: _Pair, da: frozenset[int], db: frozenset[int]) -> Match | str:
    """The shorter text almost wholly inside the longer one."""
    a_short = pair.a.words <= pair.b.words
    short, long_ = (pair.a, pair.b) if a_short else (pair.b, pair.a)
    ds, dl = (da, db) if a_short else (db, da)
    if short.words > TEASER_RATIO * long_.words:
        return "not a teaser: lengths alike"
    own = pair.own_a if a_short else pair.own_b
    if own > max(TEASER_OWN, 0.1 * short.words):
        return f"not a teaser: {own} words of its own"
    c = len(ds & dl) / len(ds)
    if c < TEASER_BAR:
        return f"containment {c:.2f} < {TEASER_BAR}"
    # Past wrappers (a byline, a kicker), an article starts with what its teaser says;
    # a show's "about" text inside another episode does not.
    start = next((i for i, h in enumerate(long_.seq) if h in short.shingles), len(long_.seq))
    if start > TEASER_START:
        return f"not a teaser: found {start} words into the other text > {TEASER_START}"
    side = "new" if a_short else "old"
    return Match(old, "teaser", c, f"{side} is a teaser: containment {c:.2f} >= {TEASER_BAR}")


def _jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.0f}"


def _site_root(link: str) -> bool:
    """A home page names a site, not an article (feeds that link every entry there)."""
    parts = urlsplit(link)
    return parts.path in ("", "/") and not parts.query


class _Context:
    """The pool of one decision, grouped by source, with template evidence memoised."""

    def __init__(self, pool: Sequence[Doc]) -> None:
        self.by_source: dict[int | str, list[Doc]] = {}
        for doc in sorted(pool, key=lambda d: d.seen, reverse=True):
            self.by_source.setdefault(doc.source, []).append(doc)
        self.shared: dict[tuple[object, object], frozenset[int]] = {}

    def template(self, side: Doc, other: Doc) -> frozenset[int]:
        """Shingles `side` shares with other entries of its source that are not
        copies of it (nor `other`): that source's boilerplate."""
        found: set[int] = set()
        mine = profile(side.text)
        siblings = [
            d
            for d in self.by_source.get(side.source, ())
            if not _same(d, side) and not _same(d, other)
        ]
        for sibling in siblings[:EVIDENCE_MAX]:
            found |= self._evidence(side, sibling, mine)
        return frozenset(found)

    def _evidence(self, side: Doc, sibling: Doc, mine: Profile) -> frozenset[int]:
        key = ((side.source, side.id), (sibling.source, sibling.id))
        known = self.shared.get(key)
        if known is None:
            known = _shared_template(side, sibling, mine)
            self.shared[key] = known
        return known


def _shared_template(side: Doc, sibling: Doc, mine: Profile) -> frozenset[int]:
    """What `side` shares with `sibling`, unless `sibling` is a copy of it (then the
    shared text is the story, not a template)."""
    if is_dedupable(side.content_hash) and side.content_hash == sibling.content_hash:
        return frozenset()
    theirs = profile(sibling.text)
    shared = mine.shingles & theirs.shingles
    smaller = min(len(mine.shingles), len(theirs.shingles))
    if not shared or len(shared) < EVIDENCE_COPY * smaller:
        return shared
    # Most of the smaller text is shared: a copy, unless each has a block of its own.
    own_mine, own_theirs = own_run(mine.seq, theirs.shingles), own_run(theirs.seq, mine.shingles)
    return shared if min(own_mine, own_theirs) >= REPOST_OWN else frozenset()
