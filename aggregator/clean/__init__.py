"""The clean stage: a parsed entry becomes one fit to republish. Pure; no IO, no hashing.

`clean_entry` cleans the title first (`text.py`), parses each HTML field once, edits
the tree (`html.py`: links, trackers, hidden and unsafe elements, the built-in
boilerplate catalogue of `catalogue.py`, operator boilerplate, empty blocks), takes
the plain text from that tree, and sanitises the serialised tree last with nh3
(`sanitize.py`). Titles, authors and categories become plain text (`text.py`).
Rules are data with ids (`rules.py`) and every removal of content is recorded as
a `Removal`. Cleaning a cleaned entry again changes nothing. The content hash is
left empty: the pipeline sets it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..models import CleanEntry, Enclosure, ParsedEntry, Removal
from ..urls import is_safe_link, strip_tracking
from .blocks import Unit, apply_cuts, drop, head_labels, units
from .catalogue import CATEGORY_LABEL
from .edges import normalise
from .filters import filter_decision, remove_selected
from .html import SAMPLE, Element, TreePass, scrub, serialize, tree_text
from .learn import (
    BlockCut,
    Decision,
    EntryBlocks,
    LearnSettings,
    Memory,
    decide,
    patterns,
    remember,
)
from .rules import UNSAFE_LINK, CleanRules, OperatorRules, TextRule
from .sanitize import sanitize
from .shape import HEADINGS
from .templates import LONG_WORDS, edges_recur, template_cuts
from .text import (
    clean_title,
    html_to_text,
    plain_categories,
    plain_or_none,
    plain_text,
    strip_title,
)

__all__ = [
    "CleanRules",
    "clean_entries",
    "clean_entry",
    "clean_html",
    "clean_title",
    "html_to_text",
]


def clean_entries(
    entries: Sequence[ParsedEntry],
    rules: OperatorRules | CleanRules,
    *,
    site: str | None = None,
    memory: Memory | None = None,
    learning: LearnSettings | None = None,
) -> tuple[tuple[CleanEntry, ...], Memory | None]:
    """Clean a poll's entries of one source, and learn from them.

    With `learning` settings, what `memory` holds of the source is updated with these
    entries first (so the first poll of a source already has entries to compare), then
    each entry loses the blocks, sentence runs and title affixes learned as recurring.
    Returns the published entries (the operator's keep/block filters applied) and the
    updated memory (None without learning).
    """
    rules = CleanRules.of(rules)
    prepared = [_Prepared.of(entry, rules, site) for entry in entries]
    if learning is not None and not _worth_learning(prepared, memory, learning):
        learning = None  # nothing learned before, nothing recurring now: memory unchanged
    if learning is not None:
        memory = remember(memory or Memory(), [p.learnable() for p in prepared], learning)
        decisions = [_spare_headings(p, decide(p.learnable(), memory, learning)) for p in prepared]
        decisions = _widen_templates(prepared, decisions, memory, learning)
        framed = template_cuts(
            [[u.text for u in p.units()] for p in prepared], [d.cuts for d in decisions], learning
        )
        decisions = [_with(d, extra) for d, extra in zip(decisions, framed, strict=True)]
        cleaned = [p.finish(d) for p, d in zip(prepared, decisions, strict=True)]
    else:
        memory, cleaned = None, [p.finish(None) for p in prepared]
    kept = (e for e in cleaned if filter_decision(e, rules.keep, rules.block)[0])
    return tuple(kept), memory


def _spare_headings(entry: _Prepared, decision: Decision) -> Decision:
    """`decision` without the whole-line cuts of headings that introduce text: a
    recurring "Methods" or "Results" over each abstract is the article's structure, not
    boilerplate (the catalogue removes the headings that are: "Related posts")."""
    found = entry.units()
    spared = [
        cut
        for cut in decision.cuts
        if cut.whole and _is_heading(found[cut.index]) and _text_follows(found, cut.index)
    ]
    if not spared:
        return decision
    return replace(decision, cuts=tuple(c for c in decision.cuts if c not in spared))


def _is_heading(unit: Unit) -> bool:
    pieces = unit.pieces
    return len(pieces) == 1 and not isinstance(pieces[0], tuple) and pieces[0].tag in HEADINGS


def _text_follows(found: Sequence[Unit], index: int) -> bool:
    return any(len(unit.text.split()) >= LONG_WORDS for unit in found[index + 1 :])


def _worth_learning(
    prepared: Sequence[_Prepared], memory: Memory | None, learning: LearnSettings
) -> bool:
    """Learn from this poll if the source has taught something before, or its entries
    share something at their edges (the learner's full analysis of every line costs as
    much as the rest of cleaning; most sources have nothing to teach)."""
    if memory is not None and patterns(memory, learning):
        return True
    # The lines of the text (needed anyway), not the learner's units: the cheap look
    # must stay cheap for the many polls that teach nothing.
    lines = [p.main().text().split("\n") for p in prepared]
    return edges_recur(lines, [p.title for p in prepared], learning)


def _with(decision: Decision, whole: Sequence[BlockCut]) -> Decision:
    """`decision` with more cuts of whole blocks (which replace trims of those blocks)."""
    if not whole:
        return decision
    dropped = {cut.index for cut in whole}
    kept = (cut for cut in decision.cuts if cut.index not in dropped or cut.whole)
    cuts = sorted((*kept, *whole), key=lambda cut: cut.index)
    return replace(decision, cuts=tuple(cuts))


TEMPLATE_WORDS = 4  # words that start the rest of a templated block


def _widen_templates(
    prepared: Sequence[_Prepared],
    decisions: list[Decision],
    memory: Memory,
    learning: LearnSettings,
) -> list[Decision]:
    """Drop whole the blocks a learned sentence run was trimmed from, when what is left
    of them starts the same way in enough of this poll's entries: a template filled in
    per entry ("This story is part of a collection on energy. Read the full package
    here.") is boilerplate through and through."""
    starts: dict[str, set[int]] = {}
    for n, (entry, decision) in enumerate(zip(prepared, decisions, strict=True)):
        for cut in decision.cuts:
            if not cut.whole:
                starts.setdefault(_template_key(entry, cut), set()).add(n)
    needed = max(learning.min_support, math.ceil(learning.min_share * memory.entries))
    templates = {key for key, entries in starts.items() if key and len(entries) >= needed}
    if not templates:
        return decisions
    widened = []
    for entry, decision in zip(prepared, decisions, strict=True):
        cuts = tuple(
            replace(cut, whole=True, text=entry.units()[cut.index].text)
            if not cut.whole and _template_key(entry, cut) in templates
            else cut
            for cut in decision.cuts
        )
        widened.append(replace(decision, cuts=cuts))
    return widened


def _template_key(entry: _Prepared, cut: BlockCut) -> str:
    text = entry.units()[cut.index].text
    rest = text[: len(text) - len(cut.text)] if cut.at_end else text[len(cut.text) :]
    words = normalise(rest).split()
    return " ".join(words[:TEMPLATE_WORDS]) if len(words) >= TEMPLATE_WORDS else ""


def clean_entry(
    entry: ParsedEntry, rules: OperatorRules | CleanRules, site: str | None = None
) -> CleanEntry:
    """Clean one entry with the operator's rules (global ones first, then the source's),
    without learning and without the keep/block filters.

    `site`: the feed's own title, which entry titles may carry ("Title | Site").
    """
    return _Prepared.of(entry, CleanRules.of(rules), site).finish(None)


@dataclass(slots=True)
class _Field:
    """An HTML field after the tree pass: edited, not yet serialised."""

    tree: TreePass | None = None
    root: Element | None = None
    removals: tuple[Removal, ...] = ()
    edited: bool = False  # learned cuts changed it after the pass
    _text: str | None = None  # the text of the unedited tree, once read

    @classmethod
    def of(cls, html: str, base: str | None, rules: CleanRules, titles: Sequence[str]) -> _Field:
        if not html or html.isspace():
            return cls()
        tree = TreePass(base, rules.drop_blocks, titles)
        root = tree.parse(html)
        removed = tuple(remove_selected(root, rules.remove)) if rules.remove else ()
        return cls(tree, root, removed + tree.run(root))

    def text(self) -> str:
        if self.root is None:
            return ""
        if self.edited:
            return tree_text(self.root, None)
        if self._text is None:
            self._text = tree_text(self.root, self.tree)
        return self._text

    def html(self) -> str:
        if self.root is None:
            return ""
        # The tree already satisfies the allow-list; nh3 runs last all the same.
        return sanitize(serialize(self.root)).strip(" \t\n\r\f")  # blank ends carry nothing


@dataclass(slots=True)
class _Prepared:
    """An entry between the tree pass and serialising: what learning looks at."""

    entry: ParsedEntry
    rules: CleanRules
    site: str | None
    plain: str  # the source's title as plain text
    title: str
    title_removals: tuple[Removal, ...]
    content: _Field
    summary: _Field
    _units: list[Unit] | None = None

    @classmethod
    def of(cls, entry: ParsedEntry, rules: CleanRules, site: str | None) -> _Prepared:
        base = entry.base if is_safe_link(entry.base) else entry.link
        # The title first: a first heading repeating it (either spelling) is removed.
        plain = plain_text(entry.title)
        title, removals = strip_title(plain, rules.title_strip, "", site) if plain else ("", ())
        titles = (plain, title)
        content = _Field.of(entry.content, base, rules, titles)
        summary = _Field.of(entry.summary, base, rules, titles)
        return cls(entry, rules, site, plain, title, removals, content, summary)

    def main(self) -> _Field:
        """The field learning works on: the content, else the summary."""
        return self.content if self.content.root is not None else self.summary

    def units(self) -> list[Unit]:
        if self._units is None:
            root, tree = self.main().root, self.main().tree
            if root is None or tree is None:
                self._units = []
            else:
                self._units = units(root, tree.nested, tree.texts)
        return self._units

    def learnable(self) -> EntryBlocks:
        return EntryBlocks(self.entry.key, self.title, tuple(u.text for u in self.units()))

    def _labels(self, gone: set[int]) -> list[int]:
        if not self.entry.categories:
            return []
        labels = {normalise(c) for c in plain_categories(self.entry.categories)}
        return head_labels(self.units(), gone, labels - {""})

    def _drop_labels(self, indexes: list[int]) -> tuple[Removal, ...]:
        found = self.units()
        for index in indexes:
            drop(found[index])
        return tuple(Removal(CATEGORY_LABEL, found[i].text[:SAMPLE]) for i in indexes)

    def finish(self, decision: Decision | None) -> CleanEntry:
        title, title_removals = self.title, self.title_removals
        learned: tuple[Removal, ...] = ()
        cuts = decision.cuts if decision is not None else ()
        labels = self._labels({c.index for c in cuts if c.whole})
        if cuts or labels:
            main = self.main()
            learned = tuple(apply_cuts(self.units(), cuts)) + self._drop_labels(labels)
            if main.tree is not None and main.root is not None:
                learned += main.tree.edges_again(main.root)
            main.edited = True
        if decision is not None and decision.title_cuts:
            title = decision.title
            strips = decision.title_cuts
            title_removals += tuple(Removal(p.id, cut[:SAMPLE]) for p, cut in strips)
        content_text, summary_text = self.content.text(), self.summary.text()
        text = content_text or summary_text
        if not self.plain:  # the first words of the text stand in, stripped like any title
            title, title_removals = strip_title("", self.rules.title_strip, text, self.site)
        entry = self.entry
        link, link_removals = _clean_link(entry.link)
        enclosures, dropped = _clean_enclosures(entry.enclosures)
        main = self.main()
        removals = (
            title_removals
            + self.content.removals
            + (learned if main is self.content else ())
            + self.summary.removals
            + (learned if main is self.summary else ())
            + link_removals
            + dropped
        )
        return CleanEntry(
            key=entry.key,
            guid=entry.guid,
            link=link,
            title=title,
            content=self.content.html(),
            summary=self.summary.html(),
            text=text,
            author=plain_or_none(entry.author),
            published=entry.published,
            updated=entry.updated,
            categories=plain_categories(entry.categories),
            enclosures=enclosures,
            removals=removals,
        )


def clean_html(
    html: str,
    base: str | None,
    drop_rules: Sequence[TextRule] = (),
    title: str | Sequence[str] | None = None,
) -> tuple[str, str, tuple[Removal, ...]]:
    """Sanitised HTML, its plain text and what was removed, from one parse of `html`.

    Relative URLs are resolved against `base` (an absolute http(s) URL), or dropped.
    A first heading repeating `title` (or one of several spellings) is removed.
    """
    if not html or html.isspace():
        return "", "", ()
    tree = TreePass(base, drop_rules, title)
    root = tree.parse(html)
    removals = tree.run(root)
    # The text comes from the edited tree, which already satisfies the allow-list, so
    # it is the text of the sanitised HTML without parsing that again.
    html = sanitize(serialize(root)).strip(" \t\n\r\f")  # blank ends carry nothing
    return html, tree_text(root, tree), removals


def _clean_link(link: str | None) -> tuple[str | None, tuple[Removal, ...]]:
    if link is None or not link.strip():
        return None, ()
    cleaned = strip_tracking(scrub(link).strip())
    if is_safe_link(cleaned):
        return cleaned, ()
    return None, (Removal(UNSAFE_LINK, link[:SAMPLE]),)


def _clean_enclosures(
    enclosures: Sequence[Enclosure],
) -> tuple[tuple[Enclosure, ...], tuple[Removal, ...]]:
    """Only http(s) enclosures: a reader fetches them without asking."""
    kept: list[Enclosure] = []
    removed: list[Removal] = []
    for enclosure in enclosures:
        href = scrub(enclosure.href).strip()
        if is_safe_link(href):
            kept.append(enclosure if href == enclosure.href else replace(enclosure, href=href))
        else:
            removed.append(Removal(UNSAFE_LINK, enclosure.href[:SAMPLE]))
    return tuple(kept), tuple(removed)
