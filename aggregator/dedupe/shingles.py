"""Words, word shingles and near-duplicate signatures. Pure; no IO, pure Python.

One tokenizer serves signatures and verification alike, so what the index finds and
what verification compares come from the same words. It does not decide duplicates
(`near.py`) nor index anything (`lsh.py`). No numpy or datasketch: the daemon's
processes must not load them (+20 MB and +64 MB RSS; see tests/conftest.py).

Words are `hashing.normalize_text` words with punctuation removed: invisible
characters are dropped and the Unicode punctuation in `_PUNCTUATION` (typographic
quotes, dashes, no-break spaces, ...) becomes a space, then the text is NFKC
normalised and case-folded (ASCII text: lower-cased, the same thing), and every ASCII
character other than a letter, digit or `_` separates words; other non-ASCII
characters are word characters. So "Don’t" and "don't" both give the words `don t`.
Shingles are runs of `K` consecutive words.

Signatures (stored, compared across processes) hash with xxhash, never the builtin
`hash()`. Verification profiles live in one process only and use `hash()` of word
tuples: C-speed, and equal tuples hash equal within a process.

Changing anything here that changes words or keys: bump `SIGNATURE_VERSION`.
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import xxhash

K = 5  # words per shingle: unrelated prose shares few 5-word runs, copies most of them

# Bump when the layout or anything that changes words or keys changes: stored
# signatures of another version are recomputed from the stored text.
SIGNATURE_VERSION = 1
MIN_WORDS = 50  # shorter texts get no signature: too little text to call a near-copy
WHOLE_KEYS = 16  # keys sampled from the whole text...
HEAD_KEYS = 8  # ...and from its head: a teaser is its article's head
HEAD_WORDS = 50  # the head: this many first words (a WordPress excerpt is 55)
_HEADER = struct.Struct("<BHBB")  # version, word count (capped), whole keys, head keys

# Unicode punctuation that separates words like its ASCII look-alike does. Anything
# non-ASCII not listed here counts as a word character.
# The commonest first: `folded_bytes` stops looking once the text is ASCII.
_PUNCTUATION = (
    "\u2019\u201c\u201d\u2014\u2013\u00a0\u2026\u2018"
    "\u201a\u201b\u2032\u201e\u201f\u2033\u00ab\u00bb\u2039\u203a"
    "\u2010\u2011\u2012\u2015\u2212\u2022\u00b7\u00a1\u00bf\u00a7\u00b6"
    "\u00a9\u00ae\u00b0\u20ac\u00a3\u00a5\u00a2\u3001\u3002\uff0c\uff0e"
    "\u2009\u202f"  # thin spaces (NFKC makes them spaces anyway)
)
_INVISIBLE = ("\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
# Word bytes, in the order that ranks words (see `sample`): rare initial letters first
# (so the smallest words are uncommon words spread over the text, not "the" near its
# start), digits last (edits correct numbers).
_ORDER = b"qxzjkvbpygfwmucldrhsnioate" + bytes(range(128, 256)) + b"_0123456789"
_RANKED = {b: 0x21 + i for i, b in enumerate(_ORDER)}  # never a whitespace byte
_RANKED.update({b - 32: v for b, v in _RANKED.items() if 0x61 <= b <= 0x7A})  # A-Z
# bytes.translate table: a word byte becomes its rank, any other byte a space.
_TOKENS = bytes(_RANKED.get(b, 0x20) for b in range(256))
# Words starting with a byte below this are looked at first for the smallest words.
_CUT = bytes((_RANKED[ord("f")],))


def folded_bytes(text: str) -> bytes:
    """The text with invisible characters dropped and listed Unicode punctuation made
    spaces, then NFKC-normalised and case-folded as `normalize_text` does, as UTF-8."""
    if not text.isascii():
        # Done first: typographic quotes and dashes are often a text's only non-ASCII
        # characters, and an ASCII text skips the costly normalisation.
        for ch in _INVISIBLE:
            if ch in text:
                text = text.replace(ch, "")
        for ch in _PUNCTUATION:
            if ch in text:
                text = text.replace(ch, " ")
                if text.isascii():
                    break  # none of the others can be left
    if text.isascii():  # NFKC leaves ASCII alone, and case folding is lower-casing
        return text.lower().encode("ascii")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.encode("utf-8", "surrogatepass")


def words_of(text: str) -> list[bytes]:
    """The text's words, in order: UTF-8 with every byte replaced by its rank (a
    bijection, so equal words stay equal and different ones different)."""
    return folded_bytes(text).translate(_TOKENS).split()


# --- signatures -------------------------------------------------------------------


def signature(text: str, min_words: int = MIN_WORDS) -> bytes | None:
    """The text's near-duplicate signature, or None below `min_words` words.

    Layout (little-endian): version byte, word count (uint16, capped), the numbers of
    whole and head keys (a byte each), then that many uint32 keys: `sample(words,
    WHOLE_KEYS)`, then `sample(first HEAD_WORDS words, HEAD_KEYS)`. At most 5 + 4 * 24
    = 101 bytes. Stable across processes and machines; changing it bumps
    `SIGNATURE_VERSION` (a pinned test digest fails first).
    """
    words = words_of(text)
    if len(words) < max(min_words, K):
        return None
    whole = sample(words, WHOLE_KEYS)
    head = sample(words[:HEAD_WORDS], HEAD_KEYS)
    header = _HEADER.pack(SIGNATURE_VERSION, min(len(words), 0xFFFF), len(whole), len(head))
    return header + struct.pack(f"<{len(whole) + len(head)}I", *whole, *head)


def sample(words: list[bytes], size: int) -> list[int]:
    """A consistent sample of the text's shingles, as 32-bit keys: for the `size`
    smallest distinct words (in byte order of their ranked bytes, among words that
    start a shingle), the xxhash of the shingle at the word's first occurrence.

    A bottom-k MinHash over words (under a fixed order of words), keyed by shingles:
    texts sharing most words pick the same anchor words, and their shingles there
    match unless an edit is within `K` words. It costs no hash per word and `size`
    per text, where a MinHash over every shingle costs one per shingle (the
    signature runs for every new entry in the worker: ~0.15 ms for 700 words).
    """
    last = len(words) - K  # the last word that starts a shingle
    # Filtering by the first byte only saves time: when it keeps too few words, all
    # words are ranked, so the result is the same bottom `size` either way.
    found = [(w, i) for i, w in enumerate(words) if w < _CUT and i <= last]
    if len({w for w, _ in found}) < size:
        found = [(w, i) for i, w in enumerate(words[: last + 1])]
    found.sort()
    keys: list[int] = []
    previous = None
    for word, at in found:  # (word, first position) come first for each word
        if word != previous:
            keys.append(xxhash.xxh32_intdigest(b" ".join(words[at : at + K])))
            if len(keys) == size:
                break
            previous = word
    return keys


def sketch(sig: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (whole, head) keys of a signature; ValueError for another version."""
    if len(sig) < _HEADER.size or sig[0] != SIGNATURE_VERSION:
        raise ValueError(f"not a version {SIGNATURE_VERSION} signature")
    _, _, n_whole, n_head = _HEADER.unpack_from(sig)
    keys = struct.unpack_from(f"<{n_whole + n_head}I", sig, _HEADER.size)
    return keys[:n_whole], keys[n_whole:]


def signed_words(sig: bytes) -> int:
    """The word count a signature records (capped at 65535)."""
    return int(_HEADER.unpack_from(sig)[1])


# --- verification -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Profile:
    """What verification compares of one text: its word count, its shingles in text
    order (`seq`) and as a set. Shingle values are builtin hashes: compare profiles
    of one process only, never store them."""

    words: int
    seq: tuple[int, ...]
    shingles: frozenset[int]


@lru_cache(maxsize=32)
def profile(text: str) -> Profile:
    """The text's `Profile`. Cached (~60 KB for a 700-word text, so ~2 MB at most):
    an entry is compared with every doc of its pool (a handful), and a stored one
    with the poll's other new entries that found it."""
    w = words_of(text)
    seq = tuple(map(hash, zip(w, w[1:], w[2:], w[3:], w[4:], strict=False)))
    return Profile(len(w), seq, frozenset(seq))


def own_run(seq: tuple[int, ...], other: frozenset[int]) -> int:
    """The longest run of words of `seq`'s text that `other` lacks, in words.

    A run of r consecutive shingles missing from `other` covers r + K - 1 words, of
    which r - K + 1 are in none of the text's shared shingles: one changed word shows
    as 1, an inserted 20-word paragraph as 20.
    """
    best = run = 0
    for h in seq:
        if h in other:
            run = 0
        else:
            run += 1
            if run > best:
                best = run
    return max(0, best - K + 1)
