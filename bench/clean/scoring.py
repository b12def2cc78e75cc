"""Scoring of the cleaning benchmark: which gold blocks survived cleaning, and the figures.

Pure: gold blocks and a cleaned entry's text and HTML in, counts out. No generation
(`generate.py`), no calls into aggregator and no printing (`run.py`).

A text block survived when its text still reads in the cleaned text. The cleaned text
has one line per block, so the gold lines (each block, plus any inline tail sharing
its line) are aligned with the cleaned lines first: a gold line equal to a cleaned
line, in order, survived whole. A block in a gap between such anchors survived when
the majority of its words are still in the cleaned lines of that gap (a block the
cleaner trimmed counts by what is left of it). Aligning first keeps a one-word junk
block ("Back", "Science") from being found in some unrelated content line. An image
survived when its `marker` (a distinctive part of its src) is still in the HTML.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

CONTENT, JUNK = "content", "junk"
GRAM = 4  # content retention counts word 4-grams


@dataclass(frozen=True)
class Block:
    """One labelled unit of an entry's HTML.

    A leaf block (p, li, h2, figcaption, div ...) has its own `line`; an inline tail
    ("Continue reading →", a photo credit inside a caption) shares the line of the
    block before it; an image has no text and `line` -1, and is found by `marker`.
    """

    label: str  # CONTENT or JUNK
    kind: str  # what it is: "paragraph", "caption", "wp-footer", "own-dateline" ...
    text: str  # the plain text a reader sees, whitespace collapsed; "" for an image
    line: int  # index of the text line it is on; -1 for an image
    marker: str = ""  # for an image: a part of its src that cleaning leaves alone

    @property
    def junk(self) -> bool:
        return self.label == JUNK


@dataclass(frozen=True)
class Verdict:
    block: Block
    survived: bool


@dataclass
class Tally:
    """Counts summed over entries; the figures are ratios of these."""

    junk: int = 0  # junk blocks in the gold
    removed_junk: int = 0
    removed_content: int = 0  # false removals
    grams: int = 0  # gold content word 4-grams
    kept_grams: int = 0
    titles: int = 0
    right_titles: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)  # junk blocks by kind
    removed_by_kind: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        for name in ("junk", "removed_junk", "removed_content", "grams", "kept_grams"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.titles += other.titles
        self.right_titles += other.right_titles
        self.by_kind.update(other.by_kind)
        self.removed_by_kind.update(other.removed_by_kind)

    @property
    def precision(self) -> float:
        """Removed junk / all removed blocks; 1.0 when nothing was removed at all."""
        removed = self.removed_junk + self.removed_content
        return self.removed_junk / removed if removed else 1.0

    @property
    def recall(self) -> float:
        return self.removed_junk / self.junk if self.junk else 1.0

    @property
    def retention(self) -> float:
        return self.kept_grams / self.grams if self.grams else 1.0

    @property
    def title_accuracy(self) -> float:
        return self.right_titles / self.titles if self.titles else 1.0


def normalise(text: str) -> str:
    """NFC, whitespace collapsed (non-breaking spaces too)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def judge(blocks: Sequence[Block], text: str, html: str) -> list[Verdict]:
    """Whether each gold block survived in a cleaned entry's `text` and `html`."""
    cleaned = [normalise(line) for line in text.splitlines()]
    cleaned = [line for line in cleaned if line]
    lines = _gold_lines(blocks)
    numbers = sorted(lines)
    survived: dict[int, bool] = {}  # by id() of the block
    matcher = SequenceMatcher(None, [lines[n][0] for n in numbers], cleaned, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        gap_words = Counter(word for line in cleaned[j1:j2] for word in line.split())
        for n in numbers[i1:i2]:
            for block in lines[n][1]:
                whole = op == "equal"
                survived[id(block)] = whole or _mostly_in(block.text.split(), gap_words)
    verdicts = []
    for block in blocks:
        if block.line < 0:
            verdicts.append(Verdict(block, bool(block.marker) and block.marker in html))
        else:
            verdicts.append(Verdict(block, survived[id(block)]))
    return verdicts


def gold_lines(blocks: Sequence[Block]) -> list[str]:
    """The text lines the gold blocks make, in order, as the cleaned text would have them."""
    lines = _gold_lines(blocks)
    return [lines[n][0] for n in sorted(lines)]


def _gold_lines(blocks: Sequence[Block]) -> dict[int, tuple[str, list[Block]]]:
    grouped: dict[int, list[Block]] = {}
    for block in blocks:
        if block.line >= 0 and normalise(block.text):
            grouped.setdefault(block.line, []).append(block)
    return {
        n: (normalise(" ".join(b.text for b in members)), members) for n, members in grouped.items()
    }


def _mostly_in(words: list[str], available: Counter[str]) -> bool:
    """More than half of `words` are in `available` (consumed, so repeats count)."""
    if not words:
        return False
    found = 0
    for word in words:
        if available[word] > 0:
            available[word] -= 1
            found += 1
    return found * 2 > len(words)


def grams(texts: Iterable[str]) -> Counter[tuple[str, ...]]:
    """Word 4-grams of each text (a text shorter than that counts as one gram)."""
    counts: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        words = normalise(text).split()
        if 0 < len(words) < GRAM:
            counts[tuple(words)] += 1
        for i in range(len(words) - GRAM + 1):
            counts[tuple(words[i : i + GRAM])] += 1
    return counts


def retained(blocks: Sequence[Block], text: str) -> tuple[int, int]:
    """(gold content grams found in the cleaned text, gold content grams)."""
    gold = grams(b.text for b in blocks if not b.junk and b.line >= 0)
    lines = [normalise(line) for line in text.splitlines()]
    available: Counter[tuple[str, ...]] = Counter()
    for line in lines:  # every run up to GRAM words, so short gold texts are found too
        words = line.split()
        for size in range(1, GRAM + 1):
            for i in range(len(words) - size + 1):
                available[tuple(words[i : i + size])] += 1
    kept = sum(min(count, available[gram]) for gram, count in gold.items())
    return kept, sum(gold.values())


def score_entry(
    blocks: Sequence[Block], gold_title: str, text: str, html: str, title: str
) -> tuple[Tally, list[Verdict]]:
    """The counts of one cleaned entry against its gold, and each block's verdict."""
    tally = Tally(titles=1, right_titles=int(normalise(title) == normalise(gold_title)))
    verdicts = judge(blocks, text, html)
    for verdict in verdicts:
        block = verdict.block
        if block.junk:
            tally.junk += 1
            tally.by_kind[block.kind] += 1
            if not verdict.survived:
                tally.removed_junk += 1
                tally.removed_by_kind[block.kind] += 1
        elif not verdict.survived:
            tally.removed_content += 1
    tally.kept_grams, tally.grams = retained(blocks, text)
    return tally, verdicts


def missing_entry(blocks: Sequence[Block]) -> Tally:
    """The counts of a gold entry the cleaned feed lacks: its content all lost."""
    tally = Tally(titles=1)
    for block in blocks:
        if block.junk:
            tally.junk += 1
            tally.by_kind[block.kind] += 1
            tally.removed_junk += 1
            tally.removed_by_kind[block.kind] += 1
        else:
            tally.removed_content += 1
    tally.grams = sum(grams(b.text for b in blocks if not b.junk and b.line >= 0).values())
    return tally
