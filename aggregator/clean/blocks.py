"""An edited tree's lines as units that learned boilerplate patterns can remove or trim.

A unit is what `html.tree_text` prints as one line: a leaf block (`<p>`, `<div>`, …
without line breaks below it), or a run of loose text and inline elements between two
line breaks. No learning here (`learn.py` decides; this module finds and edits), no
sanitising.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from ..models import Removal
from .html import _INLINE, _REMOVED_WHEN_EMPTY, LINE_TAGS, SAMPLE, Element, remove_keeping_tail

if TYPE_CHECKING:
    from .learn import BlockCut

# A text slot of the tree: (element, False) is its text, (element, True) its tail.
Slot = tuple[Element, bool]
Piece = Element | Slot
_MEDIA_TAGS = frozenset({"img", "hr"})


@dataclass(slots=True)
class Unit:
    """One line of the tree's text and the pieces of the tree that hold it."""

    pieces: list[Piece]
    text: str  # whitespace collapsed


def units(
    root: Element, nested: set[Element] | None = None, texts: dict[Element, str] | None = None
) -> list[Unit]:
    """The lines of `root` in document order; lines without text are left out.

    `nested`: the elements with line breaks below them, and `texts`: the texts of
    leaves it read, as a `TreePass` recorded them (None: found here)."""
    walk = _Walk(nested if nested is not None else _nested(root), texts or {})
    walk.walk(root)
    walk.flush()
    return walk.found


class _Walk:
    def __init__(self, nested: set[Element], texts: dict[Element, str]) -> None:
        self.nested, self.texts = nested, texts
        self.found: list[Unit] = []
        self.run: list[Piece] = []

    def walk(self, el: Element) -> None:
        run = self.run
        if el.text:
            run.append((el, False))
        for child in el:
            if not isinstance(child.tag, str):
                pass
            elif child in self.nested:
                self.flush()
                self.walk(child)
                self.flush()
            elif child.tag in LINE_TAGS:
                self.flush()
                self.add([child])
            else:
                run.append(child)
            if child.tail:
                run.append((child, True))

    def flush(self) -> None:
        if self.run:
            self.add(list(self.run))
            self.run.clear()

    def add(self, pieces: list[Piece]) -> None:
        texts = self.texts
        parts = []
        for piece in pieces:
            if isinstance(piece, tuple):
                owner, tail = piece
                parts.append((owner.tail if tail else owner.text) or "")
            else:
                parts.append(texts.get(piece) or _piece_text(piece))
        text = " ".join("".join(parts).split())
        if text:
            self.found.append(Unit(pieces, text))


def _nested(root: Element) -> set[Element]:
    return {
        el
        for el in root.iter()
        if any(isinstance(d.tag, str) and d.tag in LINE_TAGS for d in el.iterdescendants())
    }


def _piece_text(piece: Piece) -> str:
    if isinstance(piece, tuple):
        owner, tail = piece
        return (owner.tail if tail else owner.text) or ""
    return etree.tostring(piece, method="text", encoding="unicode", with_tail=False)


# --- edits ---------------------------------------------------------------------------


def drop(unit: Unit) -> None:
    """Remove the unit's text and elements from the tree, and what that leaves empty."""
    touched: list[Element] = []
    for piece in unit.pieces:
        if isinstance(piece, tuple):
            _set(piece, None)
            touched.append(piece[0] if not piece[1] else _parent(piece[0]))
    for piece in unit.pieces:
        if not isinstance(piece, tuple) and piece.getparent() is not None:
            touched.append(_parent(piece))
            remove_keeping_tail(piece, separate=False)
    _tidy(touched)


def trim(unit: Unit, text: str, at_end: bool) -> None:
    """Remove `text` (whitespace-collapsed, as in `unit.text`) from the unit's start,
    or its end with `at_end`; then what that leaves empty."""
    count = sum(1 for c in text if not c.isspace())
    slots = list(_slots(unit.pieces))
    if at_end:
        slots.reverse()
    touched: list[Element] = []
    for slot in slots:
        if count <= 0:
            break
        value = _get(slot)
        if not value:
            continue
        kept, count = _cut(value, count, at_end)
        _set(slot, kept or None)
        touched.append(slot[0] if not slot[1] else _parent(slot[0]))
    _tidy(touched)


def _cut(value: str, count: int, at_end: bool) -> tuple[str, int]:
    """`value` without `count` non-space characters at one end (and the spaces beside
    them); the count still to cut elsewhere."""
    chars = list(reversed(value)) if at_end else list(value)
    index = 0
    while index < len(chars) and count > 0:
        if not chars[index].isspace():
            count -= 1
        index += 1
    while index < len(chars) and chars[index].isspace():
        index += 1
    rest = "".join(chars[index:])
    return ("".join(reversed(rest)) if at_end else rest), count


def _slots(pieces: Iterable[Piece]) -> Iterator[Slot]:
    for piece in pieces:
        if isinstance(piece, tuple):
            yield piece
        else:
            yield from _inner_slots(piece)


def _inner_slots(el: Element) -> Iterator[Slot]:
    yield (el, False)
    for child in el:
        yield from _inner_slots(child)
        yield (child, True)


def _get(slot: Slot) -> str | None:
    owner, tail = slot
    return owner.tail if tail else owner.text


def _set(slot: Slot, value: str | None) -> None:
    owner, tail = slot
    if tail:
        owner.tail = value
    else:
        owner.text = value


def _parent(el: Element) -> Element:
    parent = el.getparent()
    return parent if parent is not None else el


def _tidy(touched: Iterable[Element]) -> None:
    """Remove inline elements and blocks the edits left without text or media, walking
    up from each touched element, as the tree pass does for a first clean: a second
    clean of the output then finds nothing to change."""
    for el in touched:
        while el.getparent() is not None and isinstance(el.tag, str) and _empty(el):
            parent = _parent(el)
            if el.tag in _INLINE or el.tag in _REMOVED_WHEN_EMPTY:
                remove_keeping_tail(el, separate=False)
            else:
                break
            el = parent


def _empty(el: Element) -> bool:
    if any(isinstance(d.tag, str) and d.tag in _MEDIA_TAGS for d in el.iter()):
        return False
    text = etree.tostring(el, method="text", encoding="unicode", with_tail=False)
    return not text.strip()


def apply_cuts(found: list[Unit], cuts: Iterable[BlockCut]) -> list[Removal]:
    """Carry out a learned decision on the units it was made for; the removals made."""
    removals = []
    for cut in cuts:
        unit = found[cut.index]
        if cut.whole:
            drop(unit)
        else:
            trim(unit, cut.text, at_end=cut.at_end)
        removals.append(Removal(cut.pattern.id, cut.text[:SAMPLE]))
    return removals


LABEL_WORDS = 5  # a category label is a short line


def head_labels(found: list[Unit], gone: set[int], labels: set[str]) -> list[int]:
    """Indexes of the units at the head of an entry (before its first other line,
    skipping the units in `gone`) that only repeat a label: an entry's category
    printed above the article. `labels` are `edges.normalise`d."""
    from .edges import normalise

    found_labels = []
    for index, unit in enumerate(found):
        if index in gone:
            continue
        if len(unit.text.split()) > LABEL_WORDS or normalise(unit.text) not in labels:
            break
        found_labels.append(index)
    return found_labels
