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

from collections.abc import Sequence
from dataclasses import replace

from ..models import CleanEntry, Enclosure, ParsedEntry, Removal
from ..urls import is_safe_link, strip_tracking
from .html import SAMPLE, TreePass, scrub, serialize, tree_text
from .rules import UNSAFE_LINK, CleanRules, OperatorRules, TextRule
from .sanitize import sanitize
from .text import (
    clean_title,
    html_to_text,
    plain_categories,
    plain_or_none,
    plain_text,
    strip_title,
)

__all__ = ["CleanRules", "clean_entry", "clean_html", "clean_title", "html_to_text"]


def clean_entry(
    entry: ParsedEntry, rules: OperatorRules | CleanRules, site: str | None = None
) -> CleanEntry:
    """Clean one entry with the operator's rules (global ones first, then the source's).

    `site`: the feed's own title, which entry titles may carry ("Title | Site").
    """
    rules = CleanRules.of(rules)
    base = entry.base if is_safe_link(entry.base) else entry.link
    # The title first: a first heading repeating it (either spelling) is removed.
    plain = plain_text(entry.title)
    title, title_removals = strip_title(plain, rules.title_strip, "", site) if plain else ("", ())
    drop, spellings = rules.drop_blocks, (plain, title)
    content, content_text, content_removals = clean_html(entry.content, base, drop, spellings)
    summary, summary_text, summary_removals = clean_html(entry.summary, base, drop, spellings)
    text = content_text or summary_text
    if not plain:  # the first words of the text stand in, stripped like any title
        title, title_removals = strip_title("", rules.title_strip, text, site)
    link, link_removals = _clean_link(entry.link)
    enclosures, dropped = _clean_enclosures(entry.enclosures)
    return CleanEntry(
        key=entry.key,
        guid=entry.guid,
        link=link,
        title=title,
        content=content,
        summary=summary,
        text=text,
        author=plain_or_none(entry.author),
        published=entry.published,
        updated=entry.updated,
        categories=plain_categories(entry.categories),
        enclosures=enclosures,
        removals=title_removals + content_removals + summary_removals + link_removals + dropped,
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
