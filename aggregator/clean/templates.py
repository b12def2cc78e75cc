"""Templated lines at the edges of a source's entries: the same frame, other words.

`learn.py` learns lines that recur as they are ("Sponsor: QWIKET"). Many sites also
frame each article with lines built from one template and filled in per entry: a
photo credit ("Photo: Ada Moreau/The Harbour Gazette"), a byline bio ("Ann Lee writes
about travel for The Dispatch."), a dateline ("ATACAMA — 1 Jun 2025"), a sponsor or
a filing line. Their exact text never recurs, but their start, their end or their
shape does, across the entries of one poll, always above or below the article body.

Pure: works on the texts of an entry's lines, as `clean.blocks` finds them, and the
cuts `learn.decide` already made. Guards: only short lines (`SHORT_WORDS`), only in
the head (before the first line of `LONG_WORDS` or more) or the tail (after the last
one), only when at least as many entries share the frame as a learned block needs,
and never more of an entry's text than `max_removed_share`.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from .learn import BlockCut, LearnSettings, Pattern, normalize

SHORT_WORDS = 15  # a frame line is short
LONG_WORDS = 20  # the article body: lines this long or longer
AFFIX_WORDS = 2  # words of a shared start or end
MAX_PER_ENTRY = 2  # lines of one entry a frame may be on (a header and a footer credit)
_PLACEHOLDERS = ("<date>", "<url>", "0")
_PUNCTUATION = string.punctuation + "—–·|•…“”‘’«»"
_TITLE_WORDS = re.compile(r"[\s:|–—-]+")


def template_cuts(
    entries: Sequence[Sequence[str]],
    cuts: Sequence[Sequence[BlockCut]],
    settings: LearnSettings,
) -> list[tuple[BlockCut, ...]]:
    """Per entry, the cuts of its templated edge lines (in addition to `cuts`).

    `entries`: the texts of each entry's lines; `cuts`: what was already decided for
    each (lines it removes whole are not looked at again)."""
    none: list[tuple[BlockCut, ...]] = [() for _ in entries]
    if len(entries) < settings.min_entries:
        return none
    # Support counts every framed line, those already cut whole too (a dateline whose
    # city and date happen to repeat is learned exactly, and is still one of the kind).
    framed = [
        _single(list(_candidates(texts, done))) for texts, done in zip(entries, cuts, strict=True)
    ]
    support: dict[str, set[int]] = {}
    for n, lines in enumerate(framed):
        for _, keys, _ in lines:
            for key in keys:
                support.setdefault(key, set()).add(n)
    needed = max(settings.min_support, math.ceil(settings.min_share * len(entries)))
    learned = {key: len(ns) for key, ns in support.items() if len(ns) >= needed}
    if not learned:
        return none
    result = []
    for texts, done, lines in zip(entries, cuts, framed, strict=True):
        extra = []
        for index, keys, cut in lines:
            if cut:
                continue
            frame = next((k for k in keys if k in learned), None)
            if frame is not None:
                pattern = Pattern("template", frame, learned[frame], texts[index])
                extra.append(BlockCut(index, pattern, texts[index], whole=True))
        result.append(tuple(extra) if _within_share(texts, done, extra, settings) else ())
    return result


def _single(
    lines: list[tuple[int, tuple[str, ...], bool]],
) -> list[tuple[int, tuple[str, ...], bool]]:
    """The lines without the frames that repeat within the entry: a frame is one line
    (a dateline, a credit); a frame on many lines of one entry is a list ("WP: Malz",
    "WP: Hefe", … in a podcast's show notes), content."""
    within = Counter(key for _, keys, _ in lines for key in keys)
    return [
        (index, kept, cut)
        for index, keys, cut in lines
        if (kept := tuple(k for k in keys if within[k] <= MAX_PER_ENTRY))
    ]


def _candidates(
    texts: Sequence[str], done: Sequence[BlockCut]
) -> Iterator[tuple[int, tuple[str, ...], bool]]:
    """(index, frame keys, cut whole already?) of the short lines in the head and tail
    of one entry."""
    gone = {cut.index for cut in done if cut.whole}
    sizes = [text.count(" ") + 1 for text in texts]  # words: the texts are collapsed
    body = [i for i, size in enumerate(sizes) if size >= LONG_WORDS and i not in gone]
    if not body:
        return  # no article body to frame
    for index, text in enumerate(texts):
        if body[0] <= index <= body[-1] or sizes[index] > SHORT_WORDS:
            continue
        keys = _keys("head" if index < body[0] else "tail", text)
        if keys:
            yield index, keys, index in gone


def _keys(edge: str, text: str) -> tuple[str, ...]:
    """The frames a line may share with its siblings in other entries: its first and
    last words, a leading label ("Photo:", "Filed under:") and, for a short line with a
    date or number, its shape (words as `w`)."""
    shape = _normal(text).split()
    words = [w for w in (t.strip(_PUNCTUATION) for t in shape) if w]
    keys = []
    if len(words) >= AFFIX_WORDS:
        keys.append(f"{edge} starts: {' '.join(words[:AFFIX_WORDS])}")
        keys.append(f"{edge} ends: {' '.join(words[-AFFIX_WORDS:])}")
    label = next((i for i, token in enumerate(shape[:3]) if token.endswith(":")), None)
    if label is not None and label + 1 < len(shape):
        keys.append(f"{edge} label: {' '.join(shape[: label + 1])}")
    if len(shape) <= 6 and any(p in token for token in shape for p in _PLACEHOLDERS):
        # "ATACAMA — 1 Jun 2025", "SAN JOSE — 2 Jun 2025": runs of words as one w
        frame = " ".join("w" if token.isalpha() else token for token in shape)
        while "w w" in frame:
            frame = frame.replace("w w", "w")
        keys.append(f"{edge} shape: {frame}")
    return tuple(keys)


@lru_cache(maxsize=4096)  # a poll's edge lines: looked at by the gate, then by the frames
def _normal(text: str) -> str:
    return normalize(text)


def _within_share(
    texts: Sequence[str],
    done: Sequence[BlockCut],
    extra: Sequence[BlockCut],
    settings: LearnSettings,
) -> bool:
    total = sum(len(t) for t in texts)
    removed = sum(len(cut.text) for cut in (*done, *extra))
    return bool(extra) and removed <= settings.max_removed_share * total


EDGE_LINES = 3  # lines at each end of an entry that the cheap look compares


def edges_recur(
    entries: Sequence[Sequence[str]], titles: Sequence[str], settings: LearnSettings
) -> bool:
    """Whether a poll's entries share anything at their edges: a line among the first or
    last `EDGE_LINES` (as it is, or its frame), or a title's first or last word. A cheap
    look, taken before the learner's full analysis of every line: a poll where nothing
    recurs at the edges has nothing to teach (boilerplate sits at the edges; a line
    recurring only mid-article is judged by a stricter bar than it could meet here)."""
    if len(entries) < settings.min_entries:
        return True  # too few to judge alone: remembering them is cheap
    needed = max(settings.min_support, math.ceil(settings.min_share * len(entries)))
    # The lines as they are and the title words first: usually enough, and cheaper
    # than the frames of the short lines, looked at only when they are not.
    plain = (
        (
            {_normal(texts[i]) for i in _edges(len(texts))}
            | {f"title {side}: {word}" for side, word in _title_words(title)}
        )
        for texts, title in zip(entries, titles, strict=True)
    )
    if _recurs(plain, needed, len(entries)):
        return True
    frames = (
        {key for i in _edges(len(texts)) if texts[i].count(" ") < SHORT_WORDS
         for key in _keys("edge", texts[i])}
        for texts in entries
    )  # fmt: skip
    return _recurs(frames, needed, len(entries))


def _edges(count: int) -> set[int]:
    return {*range(min(EDGE_LINES, count)), *range(max(0, count - EDGE_LINES), count)}


def _title_words(title: str) -> list[tuple[str, str]]:
    words = _TITLE_WORDS.split(title.casefold())
    return [("starts", words[0]), ("ends", words[-1])] if len(words) > 1 else []


def _recurs(keys_per_entry: Iterable[set[str]], needed: int, total: int) -> bool:
    """Whether a key is in `needed` of the `total` entries' key sets. The sets are
    made as they are read, and reading stops as soon as the answer is known: when the
    commonest key so far could not reach `needed` even in every set still unread."""
    seen: dict[str, int] = {}
    most = 0
    for done, keys in enumerate(keys_per_entry, 1):
        for key in keys:
            seen[key] = count = seen.get(key, 0) + 1
            if count >= needed:
                return True
            most = max(most, count)
        if most + total - done < needed:
            return False
    return False
