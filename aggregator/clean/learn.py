"""Learned boilerplate: remember a source's recent entries, decide what recurs and cut it.

Pure: works on plain block texts and titles (no lxml trees, no IO, no clock). Finding
the blocks in a tree and editing it is `blocks.py`; storing a `Memory` is the store's.

A source's memory is its last `window` entries, each reduced to the set of 32-bit
digests of its features: normalised block texts, leading/trailing sentence runs of
blocks (head/tail) and title prefixes/suffixes. Only features seen in two or more
remembered entries (or `min_support`, if lower) keep their text, so the memory stays a
few tens of KB: the unique article text of an entry costs four bytes per feature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import operator
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, chain, compress, repeat
from operator import itemgetter
from typing import Literal, NamedTuple, cast

LEARN_VERSION = 1

Kind = Literal["block", "head", "tail", "title_prefix", "title_suffix", "template"]
_KINDS: tuple[Kind, ...] = ("block", "head", "tail", "title_prefix", "title_suffix")
_SEEDS = {kind: zlib.crc32(kind.encode()) for kind in _KINDS}
_MAX_RUN = 3  # sentences in a head/tail run
_MAX_AFFIX_WORDS = 6  # words in a title prefix/suffix candidate
_MIN_REST_ALNUM = 3  # a trim must leave at least this many letters/digits
_SAMPLE = 300  # characters of an occurrence kept for `explain`


@dataclass(frozen=True, slots=True)
class LearnSettings:
    """How eagerly a source's recurring text is learned and removed."""

    min_entries: int = 3  # entries remembered before anything is learned
    min_support: int = 3  # distinct entries a pattern must occur in
    min_share: float = 0.5  # ...and at least this share of the remembered entries
    max_removed_share: float = 0.5  # never remove more than this share of an entry's text
    window: int = 60  # entries remembered per source (oldest forgotten first)
    min_title_words: int = 3  # a learned title strip never leaves fewer words
    middle_share: float = 0.8  # support share needed to drop a block between kept blocks
    long_words: int = 40  # a removal longer than this many words is "long"...
    long_share: float = 0.9  # ...and needs this support share (shared show notes are content)


# --- normalisation --------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"[0-9]{1,2}(?:st|nd|rd|th)?"
# Anchored at a digit run or the word before it (see `_numbers`): scanning a whole text
# with this alternation costs several times more than finding its digits.
_DATE = re.compile(
    rf"(?:[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?:[t ][0-9]{{1,2}}:[0-9]{{2}}(?::[0-9]{{2}})?"
    rf"(?:\.[0-9]+)?(?:z|[+-][0-9]{{2}}:?[0-9]{{2}})?)?"
    rf"|{_MONTH} {_DAY}(?:,? [0-9]{{4}})?"
    rf"|{_DAY} {_MONTH}(?:,? [0-9]{{4}})?"
    rf"|[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{2,4}}"
    rf"|[0-9]{{1,2}}:[0-9]{{2}}(?::[0-9]{{2}})?(?: ?[ap]\.?m\b\.?)?)(?!\w)"
)
_NUMBER = re.compile(r"[0-9]+")
_DIGITS = re.compile(r"\d+")
_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_ZERO_RUN = re.compile(rb"00+")
# Where a date could be, in a key with every ASCII digit run made "0": one followed by
# "-", "/" or ":", by a month (`1 jun`, `2nd may`), or after one (`june 1`, `sept. 1`:
# the last three letters of every spelling `_MONTH` accepts). No match means no date, so
# digit runs become "0" by plain byte replacement; a match takes the exact path.
_HEADS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_ENDS = "jan|ary|feb|mar|rch|apr|ril|may|jun|une|jul|uly|aug|ust|sep|ept|ber|oct|nov|dec"
_MAYBE_DATE = re.compile(
    rf"0(?:[-/:]|(?:st|nd|rd|th)? (?:{_HEADS})|(?<=(?:{_ENDS}) 0)|(?<=(?:{_ENDS})\. 0))".encode()
)


def normalize(text: str) -> str:
    """The compare key of a text: case-folded, whitespace collapsed, URLs as `<url>`,
    dates and times as `<date>`, other digit runs as `0`."""
    return _key(text.casefold())[0]


def _key(key: str) -> tuple[str, bool]:
    """`normalize` of a case-folded text, and whether only its digits changed (it had no
    odd whitespace, URL or possible date)."""
    plain = True
    if "  " in key or not key.isprintable() or key[:1] == " " or key[-1:] == " ":
        key, plain = " ".join(key.split()), False
    if ("/" in key and "://" in key) or "www." in key:
        key, plain = _URL.sub("<url>", key), False
    # ASCII digit runs become "0" in C (bytes: translate is a table lookup), bar dates.
    zeroed = key.encode().translate(_ZEROS)
    if b"0" in zeroed:
        zeroed = _ZERO_RUN.sub(b"0", zeroed)
        if _MAYBE_DATE.search(zeroed):
            key, plain = _numbers(key), False
        else:
            key = zeroed.decode()
    return (key if key.isascii() else _DIGITS.sub("0", key)), plain  # other scripts' digits


def _numbers(key: str) -> str:
    """`key` with dates as `<date>` and other ASCII digit runs as `0`."""
    out: list[str] = []
    done = 0
    for number in _NUMBER.finditer(key):
        at = number.start()
        if at < done:
            continue  # inside a date already replaced
        date = _date_at(key, at, done)
        if date is None:
            out += (key[done:at], "0")
            done = number.end()
        else:
            out += (key[done : date[0]], "<date>")
            done = date[1]
    out.append(key[done:])
    return "".join(out)


def _date_at(key: str, at: int, done: int) -> tuple[int, int] | None:
    """The span of a date around the digit run at `at`: starting there, or at the word
    before it (`jun 1, 2025`); None if neither starts a date."""
    starts = [at]
    if at >= 2 and key[at - 1] == " ":
        starts.insert(0, key.rfind(" ", 0, at - 1) + 1)
    for start in starts:
        if start >= done and (start == 0 or not key[start - 1].isalnum()):
            date = _DATE.match(key, start)
            if date is not None:
                return date.span()
    return None


def _digest(kind: Kind, key: str) -> int:
    # crc32 is stable across processes (unlike hash()) and cheap enough to run on every
    # sentence run of every block; a collision only merges two counts.
    return zlib.crc32(key.encode(), _SEEDS[kind])


# --- data -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryBlocks:
    """One entry as the learner sees it."""

    key: str  # entry identity; remembering the same key again replaces it
    title: str  # plain-text title
    blocks: tuple[str, ...]  # plain texts of the entry's leaf blocks, whitespace-collapsed


@dataclass(frozen=True, slots=True)
class Pattern:
    """A learned piece of recurring text."""

    kind: Kind  # head/tail: a sentence run at the start/end of a block
    key: str  # the normalised text
    support: int  # remembered entries it occurs in
    sample: str  # one original occurrence (for `explain`), at most `_SAMPLE` characters

    @property
    def id(self) -> str:
        """`learned:<kind>:<8 hex>`; stable across processes and versions of Python."""
        data = f"{self.kind}\x00{self.key}".encode()
        return f"learned:{self.kind}:{hashlib.blake2b(data, digest_size=4).hexdigest()}"


@dataclass(frozen=True, slots=True)
class BlockCut:
    """Remove `text` from block `index`: the whole block, or trim it from one end."""

    index: int  # block index in EntryBlocks.blocks
    pattern: Pattern
    text: str  # exactly what to remove, verbatim from the block
    whole: bool  # True: drop the block; False: trim `text` from its start or end

    @property
    def at_end(self) -> bool:
        """A trim from the block's end (tail and title suffix patterns)."""
        return self.pattern.kind in ("tail", "title_suffix")


@dataclass(frozen=True, slots=True)
class Decision:
    """What to remove from one entry."""

    cuts: tuple[BlockCut, ...]  # in block order
    title: str  # the title after learned prefix/suffix strips (unchanged if none)
    title_cut: tuple[Pattern, str] | None  # the first strip: pattern and removed text
    title_cuts: tuple[tuple[Pattern, str], ...] = ()  # every strip, in the order made


# (kind, key, sample) of a feature seen in more than one remembered entry
_Text = tuple[Kind, str, str]


@dataclass(frozen=True, slots=True)
class Memory:
    """What is remembered of one source; immutable (never mutate the mappings).

    Build it with `Memory()`, `Memory.from_json` or `remember` only: `counts` is derived
    from `features` and must agree with it."""

    keys: tuple[str, ...] = ()  # entry keys, oldest first
    features: tuple[tuple[int, ...], ...] = ()  # per entry: sorted feature digests
    texts: Mapping[int, _Text] = field(default_factory=dict)  # recurring features only
    counts: Mapping[int, int] = field(default_factory=dict, compare=False, repr=False)
    # The patterns learned under each settings asked about (`_learned`): derived, so built
    # once per memory, not once per decided entry.
    _memo: dict[LearnSettings, dict[int, Pattern]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @property
    def entries(self) -> int:
        return len(self.keys)

    def to_json(self) -> str:
        """Compact and versioned: digests packed as base64, texts only of recurring ones."""
        return json.dumps(
            {
                "v": LEARN_VERSION,
                "keys": list(self.keys),
                "f": [_pack(f) for f in self.features],
                "t": [[d, *t] for d, t in self.texts.items()],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str | None) -> Memory:
        """The memory `to_json` wrote; empty for None, invalid data or another version."""
        if not data:
            return cls()
        try:
            return _load(json.loads(data))
        except (ValueError, TypeError, KeyError, binascii.Error, struct.error):
            return cls()


def _pack(digests: tuple[int, ...]) -> str:
    return base64.b64encode(struct.pack(f"<{len(digests)}I", *digests)).decode("ascii")


def _unpack(text: str) -> tuple[int, ...]:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    return struct.unpack(f"<{len(raw) // 4}I", raw)


def _load(raw: object) -> Memory:
    if not isinstance(raw, dict) or raw.get("v") != LEARN_VERSION:
        return Memory()
    keys, packed, texts = raw["keys"], raw["f"], raw["t"]
    if not (isinstance(keys, list) and isinstance(packed, list) and isinstance(texts, list)):
        raise TypeError("memory fields must be lists")
    if len(keys) != len(packed) or not all(isinstance(k, str) for k in keys):
        raise ValueError("memory keys and features differ")
    features = tuple(_unpack(cast(str, p)) for p in packed)
    loaded: dict[int, _Text] = {}
    for item in texts:
        digest, kind, key, sample = item
        if kind not in _KINDS or not isinstance(key, str) or not isinstance(sample, str):
            raise ValueError("bad memory text")
        loaded[int(digest)] = (kind, key, sample)
    return Memory(tuple(keys), features, loaded, _count(features))


def _count(features: Iterable[tuple[int, ...]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for digests in features:
        for d in digests:
            counts[d] = counts.get(d, 0) + 1
    return counts


# --- features of blocks and titles --------------------------------------------------------

# Sentence ends (closing quotes stay with their sentence) and separators like " | "
# (standalone ones only; checked in `_pieces`, cheaper than a look-around here).
_GAP = re.compile(r"[.!?…][\"'”’)\]]?(\s+)|[|•·]")
_MARKS = ".!?…|•·"
# The same sentence ends in a text whose only whitespace is single spaces and that has no
# separators (most blocks): `split` finds them all in C. Parts: piece 0 without its end
# mark, the mark, the space; piece 1 without...; the last piece.
_SENTENCE_END = re.compile(r"([.!?…][\"'”’)\]]?)( )")


class _Run(NamedTuple):  # a title prefix/suffix candidate
    digest: int
    kind: Kind
    key: str
    text: str  # verbatim, stripped
    cut: int  # where the rest starts (prefix) or ends (suffix) in the title

    def rest(self, source: str) -> str:
        """What `source` keeps when this run is cut from it."""
        return source[: self.cut] if self.kind in ("tail", "title_suffix") else source[self.cut :]


# A block's features, flat and cheap to cache: the digests of the whole block, then of its
# head runs, then of its tail runs (each shortest first; as many heads as tails), and the
# cuts of the runs (where a head's rest starts, where a tail's rest ends; None until
# needed, see `_cuts`). A run's text is the block's text up to (head) or from (tail) its
# cut, stripped.
_Feats = tuple[tuple[int, ...], tuple[int, ...] | None]
# The seeds of the digests of a block with 0.._MAX_RUN head (and tail) runs (see `_digest`).
_RUN_SEEDS = [
    (_SEEDS["block"], *[_SEEDS["head"]] * runs, *[_SEEDS["tail"]] * runs)
    for runs in range(_MAX_RUN + 1)
]


def _pieces(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences/segments of `text`, gaps and separators left out."""
    spans, start, size = [], 0, len(text)
    if not any(mark in text for mark in _MARKS):
        return [(0, size)]  # most short blocks: no regex scan
    for gap in _GAP.finditer(text):
        if gap.start(1) >= 0:
            begin, end = gap.start(1), gap.end()
        else:
            begin, end = gap.start(), gap.end()
            if (begin > 0 and not text[begin - 1].isspace()) or (
                end < size and not text[end].isspace()
            ):
                continue
            while begin > start and text[begin - 1].isspace():
                begin -= 1
            while end < size and text[end].isspace():
                end += 1
        if begin > start:
            spans.append((start, begin))
        start = max(start, end)
    if start < size:
        spans.append((start, size))
    return spans


def _bounds(text: str) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """How many pieces `text` has (`_pieces`), where its pieces 1..r start and where its
    pieces -2..-r-1 end, r = min(`_MAX_RUN`, pieces - 1)."""
    if "  " in text or "|" in text or "•" in text or "·" in text or not text.isprintable():
        spans = _pieces(text)
        count = len(spans)
        ks = range(1, min(_MAX_RUN, count - 1) + 1)
        return count, tuple(spans[k][0] for k in ks), tuple(spans[-k - 1][1] for k in ks)
    parts = _SENTENCE_END.split(text)
    count = len(parts) // 3 + (1 if parts[-1] else 0)
    runs = min(_MAX_RUN, count - 1)
    if runs < 1:
        return count, (), ()
    ends = list(accumulate(map(len, parts)))  # piece k starts at ends[3k-1], ends at ends[3k+1]
    return count, tuple(ends[2 : 3 * runs : 3]), tuple(ends[3 * count - 5 :: -3][:runs])


# Cached too, keys and all, but only the latest: the run keys of the few blocks with newly
# recurring features are looked up (`_texts`) right after the blocks are analysed.
@lru_cache(maxsize=1024)
def _analyse(text: str) -> tuple[_Feats, tuple[str, ...]] | None:
    """The features of a block and their keys (in the order of the digests); None for a
    block without text. Run keys are slices of the block's key when normalising kept the
    sentences (one normalisation per block); else each run is normalised by itself."""
    folded = text.casefold()
    key, plain = _key(folded)
    if not key:
        return None
    if plain and "|" not in key and "•" not in key and "·" not in key:
        # Only digits changed: the key has the text's sentences (case folding keeps every
        # mark, space and separator), so its runs are its slices; the text's cuts wait
        # until a run is learned (`_cuts`).
        keys, cuts = _plain_runs(key), None
    else:
        keys, cuts = _runs(text, folded, key)
    digests = tuple(map(zlib.crc32, map(str.encode, keys), _RUN_SEEDS[len(keys) // 2]))
    return (digests, cuts), keys


def _plain_runs(key: str) -> tuple[str, ...]:
    """The key and its head and tail run keys, for a key split by `_SENTENCE_END`."""
    parts = _SENTENCE_END.split(key)
    count = len(parts) // 3 + (1 if parts[-1] else 0)
    runs = min(_MAX_RUN, count - 1)
    if runs < 1:
        return (key,)  # one sentence (a third of all blocks)
    ends = list(accumulate(map(len, parts)))  # a run key ends (head) or starts (tail) at a gap
    heads = [key[:at] for at in ends[1 : 3 * runs : 3]]
    return (key, *heads, *[key[at:] for at in ends[3 * count - 4 :: -3][:runs]])


def _runs(text: str, folded: str, key: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The key and its run keys, and the runs' cuts in `text`, for any block."""
    count, heads, tails = _bounds(text)
    if len(key) == len(text) and key == folded:
        same, key_heads, key_tails = True, heads, tails
    else:
        key_count, key_heads, key_tails = _bounds(key)
        same = key_count == count
    if same:
        keys = (
            key,
            *[key[:at].rstrip() for at in key_heads],
            *[key[at:].lstrip() for at in key_tails],
        )
    else:
        keys = (
            key,
            *[normalize(text[:at].rstrip()) for at in heads],
            *[normalize(text[at:].lstrip()) for at in tails],
        )
    return keys, heads + tails


@lru_cache(maxsize=2048)  # a poll of one feed: remember, then decide
def _block(text: str) -> _Feats | None:
    # Cached (a few hundred bytes a block): the caller remembers a poll's entries, then
    # decides on each of them, and the next poll of the feed repeats most of them.
    found = _analyse(text)
    return None if found is None else found[0]


def _cuts(text: str, feats: _Feats) -> tuple[int, ...]:
    """The cuts of a block's runs (see `_Feats`)."""
    if feats[1] is not None:
        return feats[1]
    _, heads, tails = _bounds(text)
    return heads + tails


def _run_text(text: str, cuts: tuple[int, ...], slot: int) -> str:
    """The verbatim text of feature `slot` (index into the digests) of block `text`."""
    if slot == 0:
        return text
    runs = len(cuts) // 2
    at = cuts[slot - 1]
    return text[:at].rstrip() if slot <= runs else text[at:].lstrip()


def _slot_kind(digests: tuple[int, ...], slot: int) -> Kind:
    return "block" if slot == 0 else "head" if slot <= len(digests) // 2 else "tail"


_PREFIX_SEP = re.compile(r"(?<!\d):(?!\d)\s*|\s[|\-–—»·•:]\s+")
_SUFFIX_SEP = re.compile(r"\s+[|\-–—»·•]\s")


@lru_cache(maxsize=4096)
def _title(title: str) -> tuple[_Run, ...]:
    """Prefix candidates (`NextImg:`, `Site Dispatch:`) and suffixes (`| Site`, `- Site`)."""
    title = " ".join(title.split())
    found = []
    for sep in _PREFIX_SEP.finditer(title):
        head, at = title[: sep.end()].rstrip(), sep.end()
        if at < len(title) and len(head.split()) <= _MAX_AFFIX_WORDS:
            found.append(_affix("title_prefix", head, at))
    for sep in _SUFFIX_SEP.finditer(title):
        tail, at = title[sep.start() :].lstrip(), sep.start()
        if title[:at].strip() and len(tail.split()) <= _MAX_AFFIX_WORDS + 1:
            found.append(_affix("title_suffix", tail, at))
    return tuple(found)


def _affix(kind: Kind, text: str, cut: int) -> _Run:
    key = normalize(text)
    return _Run(_digest(kind, key), kind, key, text, cut)


def _features(entry: EntryBlocks) -> set[int]:
    """The digests of an entry's features: its blocks' and its title's."""
    blocks = filter(None, map(_block, entry.blocks))
    digests = set(chain.from_iterable(map(itemgetter(0), blocks)))  # in C
    digests.update([run.digest for run in _title(entry.title)])
    return digests


def _texts(entries: Sequence[EntryBlocks], wanted: set[int]) -> dict[int, _Text]:
    """The texts of the `wanted` digests, each from its first occurrence in `entries`
    (in the order of those first occurrences)."""
    found: dict[int, _Text] = {}
    pending = set(wanted)
    for entry in entries:
        for text in entry.blocks:
            feats = _block(text)
            if feats is None or pending.isdisjoint(feats[0]):
                continue
            digests, cuts = feats[0], _cuts(text, feats)
            keys = cast(tuple[_Feats, tuple[str, ...]], _analyse(text))[1]
            for slot, d in enumerate(digests):
                if d in pending:
                    pending.discard(d)
                    sample = _run_text(text, cuts, slot)[:_SAMPLE]
                    found[d] = (_slot_kind(digests, slot), keys[slot], sample)
        for run in _title(entry.title):
            if run.digest in pending:
                pending.discard(run.digest)
                found[run.digest] = (run.kind, run.key, run.text[:_SAMPLE])
        if not pending:
            break
    return found


# --- remembering and learning ----------------------------------------------------------


def remember(memory: Memory, entries: Sequence[EntryBlocks], settings: LearnSettings) -> Memory:
    """`memory` with `entries` remembered as the newest (a known key is replaced and
    becomes the newest), the oldest beyond `settings.window` forgotten."""
    remembered = dict(zip(memory.keys, memory.features, strict=True))
    counts = Counter(memory.counts)
    fresh: set[int] = set()
    for entry in entries:
        digests = _features(entry)
        fresh |= digests
        features = tuple(sorted(digests))
        old = remembered.pop(entry.key, ())
        remembered[entry.key] = features
        if old != features:  # a re-polled entry is usually unchanged: nothing to count
            _add(counts, old, -1)
            counts.update(features)  # counted in C
    while len(remembered) > max(settings.window, 0):
        _add(counts, remembered.pop(next(iter(remembered))), -1)
    # Texts are kept for features that recur; a unique one costs only its digest, and
    # its text is only looked up again when it starts to recur.
    keep = min(2, settings.min_support)
    texts = {d: t for d, t in memory.texts.items() if counts.get(d, 0) >= keep}
    recurring = fresh if keep <= 0 else fresh.intersection(_at_least(counts, keep))
    wanted = recurring.difference(texts)
    if wanted:
        texts.update(_texts(entries, wanted))
    return Memory(tuple(remembered), tuple(remembered.values()), texts, dict(counts))


def _at_least(counts: Mapping[int, int], least: int) -> Iterable[int]:
    """The digests counted at least `least` times (filtered in C)."""
    return compress(counts.keys(), map(operator.ge, counts.values(), repeat(least)))


def _add(counts: dict[int, int], digests: Iterable[int], step: int) -> None:
    for d in digests:
        value = counts.get(d, 0) + step
        if value > 0:
            counts[d] = value
        else:
            counts.pop(d, None)


def _needed(memory: Memory, settings: LearnSettings) -> int | None:
    """Support a pattern needs now; None while too few entries are remembered."""
    n = memory.entries
    if n < max(settings.min_entries, 1):
        return None
    return max(settings.min_support, math.ceil(settings.min_share * n), 1)


def _learned(memory: Memory, settings: LearnSettings) -> dict[int, Pattern]:
    """The patterns by digest (shared: never mutate it)."""
    found = memory._memo.get(settings)
    if found is None:
        found = memory._memo[settings] = _learn(memory, settings)
    return found


def _learn(memory: Memory, settings: LearnSettings) -> dict[int, Pattern]:
    needed = _needed(memory, settings)
    if needed is None:
        return {}
    return {
        d: Pattern(kind, key, memory.counts.get(d, 0), sample)
        for d, (kind, key, sample) in memory.texts.items()
        if memory.counts.get(d, 0) >= needed
    }


def patterns(memory: Memory, settings: LearnSettings) -> tuple[Pattern, ...]:
    """The learned patterns now, most supported first."""
    found = _learned(memory, settings).values()
    return tuple(sorted(found, key=lambda p: (-p.support, p.kind, p.key)))


# --- deciding ---------------------------------------------------------------------------


def decide(entry: EntryBlocks, memory: Memory, settings: LearnSettings) -> Decision:
    """What to remove from `entry`: learned blocks, head/tail sentence runs and title
    affixes, within the guards (see `_guard`). Deciding again on the result of a
    decision changes nothing in practice."""
    learned = _learned(memory, settings)
    if not learned:
        return Decision((), entry.title, None)
    title, title_cuts = _strip_title(entry.title, learned, settings)
    learned_digests, n = learned.keys(), memory.entries
    proposed = [
        []  # most blocks: one check in C
        if feats is None or learned_digests.isdisjoint(feats[0])
        else _cuts_for(i, text, feats, learned, n, settings)
        for i, (text, feats) in enumerate(zip(entry.blocks, map(_block, entry.blocks), strict=True))
    ]
    _cut_title_block(entry, proposed, title_cuts)
    cuts = _guard(entry.blocks, proposed, memory.entries, settings)
    return Decision(cuts, title, title_cuts[0] if title_cuts else None, title_cuts)


def _allowed(pattern: Pattern, text: str, n: int, settings: LearnSettings) -> bool:
    """Long removals are usually shared real content (show notes): only if near-universal."""
    long = len(text.split()) > settings.long_words
    return not long or pattern.support >= settings.long_share * n


def _trivial(text: str) -> bool:
    found = 0
    for c in text:  # usually over within a few characters
        if c.isalnum():
            found += 1
            if found >= _MIN_REST_ALNUM:
                return False
    return True


def _cuts_for(
    index: int,
    text: str,
    feats: _Feats,
    learned: Mapping[int, Pattern],
    n: int,
    settings: LearnSettings,
) -> list[BlockCut]:
    digests = feats[0]
    pattern = learned.get(digests[0])
    if pattern is not None:
        return (
            [BlockCut(index, pattern, text, True)] if _allowed(pattern, text, n, settings) else []
        )
    cuts, runs = _cuts(text, feats), len(digests) // 2
    head = _longest(text, digests, cuts, range(runs, 0, -1), learned, n, settings)
    tail = _longest(text, digests, cuts, range(2 * runs, runs, -1), learned, n, settings)
    if head is None and tail is None:
        return []
    found = [hit for hit in (head, tail) if hit is not None]
    start = cuts[head[0] - 1] if head else 0
    end = cuts[tail[0] - 1] if tail else len(text)
    if _trivial(text[start:end] if start < end else ""):
        first = found[0][2]
        return [BlockCut(index, first, text, True)] if _allowed(first, text, n, settings) else []
    return [BlockCut(index, pattern, run, False) for _, run, pattern in found]


def _longest(
    text: str,
    digests: tuple[int, ...],
    cuts: tuple[int, ...],
    slots: Iterable[int],
    learned: Mapping[int, Pattern],
    n: int,
    settings: LearnSettings,
) -> tuple[int, str, Pattern] | None:
    """The first of the runs at `slots` (longest first) that is learned and allowed:
    its slot, its text and its pattern."""
    for slot in slots:
        pattern = learned.get(digests[slot])
        if pattern is not None:
            run = _run_text(text, cuts, slot)
            if _allowed(pattern, run, n, settings):
                return slot, run, pattern
    return None


def _strip_title(
    title: str, learned: Mapping[int, Pattern], settings: LearnSettings
) -> tuple[str, tuple[tuple[Pattern, str], ...]]:
    """Strip learned prefixes/suffixes while `min_title_words` words remain; repeat
    until stable (`NextImg:` then `| Site`)."""
    cuts: list[tuple[Pattern, str]] = []
    current = " ".join(title.split())
    while True:
        fits = [
            run
            for run in _title(current)
            if run.digest in learned and len(run.rest(current).split()) >= settings.min_title_words
        ]
        best = max(fits, key=lambda run: (run.kind == "title_prefix", len(run.text)), default=None)
        if best is None:
            return (current if cuts else title), tuple(cuts)
        cuts.append((learned[best.digest], best.text))
        current = best.rest(current).strip()


def _cut_title_block(
    entry: EntryBlocks, proposed: list[list[BlockCut]], title_cuts: Sequence[tuple[Pattern, str]]
) -> None:
    """A block repeating the raw title (a heading) loses the same affixes as the title."""
    if not title_cuts:
        return
    raw = " ".join(entry.title.split())
    for index, text in enumerate(entry.blocks):
        if text == raw and not proposed[index]:
            proposed[index] = [BlockCut(index, p, cut, False) for p, cut in title_cuts]


def _guard(
    blocks: Sequence[str], proposed: list[list[BlockCut]], n: int, settings: LearnSettings
) -> tuple[BlockCut, ...]:
    """Guards, in order: a whole block between kept blocks needs `middle_share` support;
    never every block with text; never more than `max_removed_share` of the characters
    (then only the runs of cut blocks at the entry's start and end, else nothing)."""
    if not any(proposed):
        return ()
    _guard_middle(blocks, proposed, n, settings)
    live = [i for i, text in enumerate(blocks) if text.strip()]
    if live and all(_whole(proposed[i]) for i in live):
        return ()
    total = sum(map(len, blocks))
    limit = settings.max_removed_share * total
    cuts = [c for found in proposed for c in found]
    if sum(len(c.text) for c in cuts) > limit:
        edges = _edges(blocks, proposed)
        cuts = [c for c in cuts if c.index in edges]
        if sum(len(c.text) for c in cuts) > limit:
            return ()
    return tuple(cuts)


def _guard_middle(
    blocks: Sequence[str], proposed: list[list[BlockCut]], n: int, settings: LearnSettings
) -> None:
    # Removing a middle block never changes whether another block is in the middle, so
    # one pass between the first and last kept block with text is enough.
    kept = [
        i
        for i, (text, found) in enumerate(zip(blocks, proposed, strict=True))
        if text.strip() and not _whole(found)
    ]
    if not kept:
        return
    first, last = kept[0], kept[-1]
    for i in range(first + 1, last):
        found = proposed[i]
        if found and found[0].whole and found[0].pattern.support < settings.middle_share * n:
            proposed[i] = []


def _whole(found: list[BlockCut]) -> bool:
    return bool(found) and any(c.whole for c in found)


def _edges(blocks: Sequence[str], proposed: list[list[BlockCut]]) -> set[int]:
    """Indexes in the runs of blocks with cuts (or no text) from either end."""
    cut = [bool(found) or not text.strip() for text, found in zip(blocks, proposed, strict=True)]
    edges: set[int] = set()
    for order in (range(len(cut)), range(len(cut) - 1, -1, -1)):
        for i in order:
            if not cut[i]:
                break
            edges.add(i)
    return edges
