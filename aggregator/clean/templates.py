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
import string
from collections.abc import Iterator, Sequence

from .learn import BlockCut, LearnSettings, Pattern, normalize

SHORT_WORDS = 15  # a frame line is short
LONG_WORDS = 20  # the article body: lines this long or longer
AFFIX_WORDS = 2  # words of a shared start or end
_PLACEHOLDERS = ("<date>", "<url>", "0")
_PUNCTUATION = string.punctuation + "—–·|•…“”‘’«»"


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
    framed = [list(_candidates(texts, done)) for texts, done in zip(entries, cuts, strict=True)]
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
    shape = normalize(text).split()
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


def _within_share(
    texts: Sequence[str],
    done: Sequence[BlockCut],
    extra: Sequence[BlockCut],
    settings: LearnSettings,
) -> bool:
    total = sum(len(t) for t in texts)
    removed = sum(len(cut.text) for cut in (*done, *extra))
    return bool(extra) and removed <= settings.max_removed_share * total
