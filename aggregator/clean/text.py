"""Plain-text fields of the clean stage: HTML to text, titles, authors, categories.

No HTML output and no URLs here (`html.py`, `__init__.py`). Titles and author names
are plain text because many feed readers render them as HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from ..models import Removal
from . import catalogue as C
from .edges import normalise
from .html import TreePass, scrub, tree_text
from .rules import OperatorRules, TextRule, title_strip_rules

UNTITLED = "(untitled)"
TITLE_WORDS = 10  # words of the text that stand in for a missing title
_MAX_PASSES = 8  # bounds the fixpoint loops below; real feeds need two or three
_TAG_START = re.compile(r"<[a-zA-Z!/?]")  # where an HTML parser sees markup
_MARKUP_CHARS = re.compile("[<&]")  # what starts markup or an entity


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: one line per block, whitespace collapsed.

    Scripts, styles, form controls and hidden elements contribute no text; the
    boilerplate catalogue is not applied (that is cleaning, not reading).
    """
    if not fragment or fragment.isspace():
        return ""
    tree = TreePass(None, catalogue=False)
    root = tree.parse(fragment)
    tree.run(root)
    return tree_text(root, tree)


def plain_text(value: str) -> str:
    """One line of text: markup removed, entities decoded, whitespace collapsed.

    Repeated until nothing changes: feeds double-escape titles (`&amp;amp;`), and a
    cleaned value must read the same when cleaned again. The price is that a literal
    `<b>` in a title is taken for markup. A value still changing after `_MAX_PASSES`
    passes (escaped that many times over: only an attack does that) loses every `<`
    and `&`: otherwise its last pass could leave markup (`<img onerror>`) in it.
    """
    text = " ".join(scrub(value).split())
    for _ in range(_MAX_PASSES):
        again = _plain_pass(text)
        if again == text:
            return text
        text = again
    if _plain_pass(text) == text:
        return text
    return " ".join(_MARKUP_CHARS.sub("", text).split())


def _plain_pass(text: str) -> str:
    if _TAG_START.search(text):
        return " ".join(html_to_text(text).split())
    if "&" in text:  # entities only: no need to build a tree
        return " ".join(html.unescape(text).split())
    return text


def clean_title(title: str, rules: OperatorRules, text: str = "", site: str | None = None) -> str:
    """The title to publish: plain text without junk prefixes, the feed's name (`site`)
    and the operator's `title_strip` matches.

    Never empty: an empty source title becomes the first words of `text`, else
    "(untitled)"; if the rules strip everything, the title before stripping is kept.
    """
    return strip_title(title, title_strip_rules(rules), text, site)[0]


def strip_title(
    title: str, strip_rules: Sequence[TextRule], text: str, site: str | None = None
) -> tuple[str, tuple[Removal, ...]]:
    """`clean_title`, with the removals its rules made."""
    plain = plain_text(title) or fallback_title(text)
    site_name = normalise(plain_text(site)) if site else ""
    removals: list[Removal] = []
    stripped = plain
    for _ in range(_MAX_PASSES):  # until stable, so a second clean strips nothing more
        before = stripped
        stripped = _strip_catalogue(stripped, site_name, removals)
        for rule in strip_rules:
            stripped = _cut(stripped, rule, removals)
        if stripped == before:
            break
    if not stripped:  # the rules ate the whole title: an operator's mistake, not our output
        return plain, ()
    return stripped, tuple(removals)


def fallback_title(text: str) -> str:
    """The first words of `text`, as plain text (a `<x>` in it would read as markup)."""
    words = text.split()
    title = plain_text(" ".join(words[:TITLE_WORDS]))
    if not title:
        return UNTITLED
    return title + "…" if len(words) > TITLE_WORDS else title


def plain_or_none(value: str | None) -> str | None:
    text = plain_text(value) if value else ""
    return text or None


def plain_categories(values: Iterable[str]) -> tuple[str, ...]:
    """Plain text, without empties or repeats, in the source's order."""
    return tuple(dict.fromkeys(text for text in map(plain_text, values) if text))


def _cut(text: str, rule: TextRule, removals: list[Removal]) -> str:
    def record(match: re.Match[str]) -> str:
        found = match.group()
        if found:
            removals.append(Removal(rule.id, found))
        return ""

    return " ".join(rule.pattern.sub(record, text).split())


def _strip_catalogue(title: str, site: str, removals: list[Removal]) -> str:
    """`title` without a known junk prefix and without the feed's own name (`site`,
    normalised) before or after a separator; never fewer than three words left."""
    junk = C.TITLE_JUNK_PREFIXES.match(title)
    if junk is not None and _enough(title[junk.end() :]):
        removals.append(Removal(C.TITLE_JUNK_PREFIX, junk.group().strip()))
        title = title[junk.end() :].strip()
    if not site:
        return title
    separators = list(C.TITLE_SEPARATORS.finditer(title))
    last = separators[-1] if separators else None
    before_last = title[: last.start()] if last is not None else ""
    if last is not None and normalise(title[last.end() :]) == site and _enough(before_last):
        removals.append(Removal(C.TITLE_SITE_NAME, title[last.start() :].strip()))
        return before_last.strip()
    first = C.SITE_PREFIX_SEPARATORS.search(title)
    after_first = title[first.end() :] if first is not None else ""
    if first is not None and normalise(title[: first.start()]) == site and _enough(after_first):
        removals.append(Removal(C.TITLE_SITE_NAME, title[: first.end()].strip()))
        return after_first.strip()
    return title


def _enough(rest: str) -> bool:
    return len(rest.split()) >= C.MIN_TITLE_WORDS
