"""Content hashes, text normalisation and output ids. Pure; no IO.

The hash identifies an entry's cleaned text exactly: two entries with the same hash
say the same thing, whatever their wrappers, markup, whitespace, case, quote style or
tracking links were. It also tells a changed entry from an unchanged one, so the title
is part of it (a corrected headline is an update).
"""

from __future__ import annotations

import re
import unicodedata
import uuid

import xxhash

from ..urls import strip_tracking

# Bump whenever `normalize_text` or `content_hash` changes: stored hashes of another
# version no longer match, so the pinned digests in tests fail until it is bumped.
# The poll plan re-hashes a stored entry of an older version silently (not an update).
HASH_VERSION = 2

# What CMSs disagree on without meaning anything: typographic quotes and dashes
# (WordPress "texturizes" ' into ’), soft hyphens and zero-width characters.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-",
        "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None,
        "\ufeff": None,
    }
)  # fmt: skip
# `str.translate` looks every character up in a dict: ~100 ns each, 0.2 ms for a
# 2,000-character text with one accent. A `in` scan per listed character is C speed.
_PLAIN = tuple((chr(code), plain or "") for code, plain in _TYPOGRAPHY.items())
# A written-out link, without the punctuation that ends the sentence around it.
_URL = re.compile(r"https?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)


def normalize_text(text: str) -> str:
    """NFKC, case-folded, typographic quotes and dashes made plain, invisible
    characters dropped, whitespace collapsed to single spaces and trimmed.

    NFKC runs again after casefold because folding can produce sequences NFKC would
    rewrite ('ǰ' folds to 'j' + U+030C, which NFKC composes back): the function
    must be idempotent. The translation comes last: it only writes ASCII.
    """
    if not text.isascii():
        # Most non-ASCII text is ASCII but for typographic quotes, dashes and spaces:
        # replaced by what they normalise to, it is ASCII, and NFKC and case folding
        # (a tenth of a millisecond a text) are not needed (same result: `_full`).
        plain = text
        for char, ascii_form in _EARLY:
            if char in plain:
                plain = plain.replace(char, ascii_form)
                if plain.isascii():
                    break
        if not plain.isascii():
            return _full(text)
        text = plain
    # NFKC and the typography table leave ASCII as it is; case folding is lower().
    # str.split() splits on exactly the characters `\s` matches (Py_UNICODE_ISSPACE),
    # at a fraction of the cost of a regex substitution.
    return " ".join(text.lower().split())


def _full(text: str) -> str:
    """`normalize_text` as defined, for any text."""
    return " ".join(_folded(text).split())


def _folded(text: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    for char, plain in _PLAIN:
        if char in folded:
            folded = folded.replace(char, plain)
    return folded


# Characters that `_folded` makes ASCII on their own, most common first: the table's
# and the spaces and ellipsis NFKC writes out. Beside ASCII each normalises on its
# own (none composes with a neighbour, none has case), so replacing them first gives
# `_full`'s result when what is left is ASCII.
_EARLY = tuple(
    (char, _folded(char))
    for char in dict.fromkeys(
        "\u2019\u201c\u201d\u2014\u2013\u00a0\u2026\u2018\u00ab\u00bb\u2009\u202f"
        + "".join(chr(code) for code in _TYPOGRAPHY)
        + "\u2002\u2003\u200a"
    )
    if _folded(char).isascii()
)


def hash_text(text: str) -> str:
    """`normalize_text`, and URLs written out in the text without tracking parameters
    (the same link shared with different `utm_` tags is the same text)."""
    text = normalize_text(text)
    if "http" in text:
        text = _URL.sub(lambda m: strip_tracking(m.group(0)), text)
    return text


def content_hash(title: str, text: str) -> str:
    """The versioned hash of a cleaned entry's plain-text title and text."""
    data = hash_text(title) + "\n" + hash_text(text)
    return f"v{HASH_VERSION}:" + xxhash.xxh3_128_hexdigest(data.encode("utf-8", "surrogatepass"))


def hash_version(digest: str) -> int | None:
    """The version a stored hash was made with (None: not a hash of ours)."""
    head, _, _ = digest.partition(":")
    return int(head[1:]) if head[:1] == "v" and head[1:].isdigit() else None


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
