"""The edges of a fragment and the shapes of boilerplate blocks, as tree predicates.

Pure questions about elements (is this block only links, a share row, a bold line;
does anything precede or follow it) for `html.TreePass`, which decides and edits. No
edits here, no rule ids (`catalogue.py`).
"""

from __future__ import annotations

import re

from lxml import etree

from . import catalogue as C

Element = etree._Element

EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
_LEADING_PUNCTUATION = re.compile(r"^[\W_]+")
_NOT_WORD = re.compile(r"[^\w\s…]+")  # "…" stays: a fallback title ends with it
_SHARE_LABELS = C.SHARE_WORDS | {"on", "this", "via", "us", "follow", "it"}


def normalise(text: str) -> str:
    """`text` compared without case, punctuation or extra whitespace (titles, site names)."""
    return " ".join(_NOT_WORD.sub("", text.casefold()).split())


def blank(text: str | None) -> bool:
    return not text or text.isspace()


def last_child(box: Element) -> Element | None:
    """The last element of `box`, if no text follows it."""
    el = box[-1] if len(box) else None
    return el if el is not None and blank(el.tail) else None


def first_child(box: Element) -> Element | None:
    """The first element of `box`, if no text precedes it."""
    return box[0] if len(box) and blank(box.text) else None


def has_before(el: Element, root: Element) -> bool:
    """Whether anything precedes `el` in the fragment."""
    while el is not root:
        parent = el.getparent()
        if parent is None:
            return False
        if el.getprevious() is not None or not blank(parent.text):
            return True
        el = parent
    return False


def text_after(el: Element, root: Element) -> bool:
    """Whether some text follows `el` in the fragment (an image alone is no article)."""
    while el is not root:
        parent = el.getparent()
        if parent is None:
            return False
        if not blank(el.tail):
            return True
        for sibling in el.itersiblings():
            if not blank(_text(sibling)) or not blank(sibling.tail):
                return True
        el = parent
    return False


def _outside_links(el: Element, parts: list[str]) -> list[str]:
    """The texts of `el` that are not inside a link."""
    if el.tag != "a":
        parts.append(el.text or "")
        for child in el:
            _outside_links(child, parts)
            parts.append(child.tail or "")
    return parts


def only_links(el: Element, heading: re.Match[str] | None = None) -> bool:
    """`el` holds a link and no words outside links (but the `heading` match, if any)."""
    if el.tag != "a" and next(el.iter("a"), None) is None:
        return False
    outside = " ".join("".join(_outside_links(el, [])).split())
    if heading is not None:
        outside = _LEADING_PUNCTUATION.sub("", outside)
        if not outside.lower().startswith(heading.group().lower()):
            return False
        outside = outside[len(heading.group()) :]
    return not any(c.isalnum() for c in outside)


def is_share_row(el: Element) -> bool:
    """Two or more links, each to a social network or saying only a network's name."""
    links = list(el.iter("a"))
    if len(links) < 2 or not _words(" ".join(_outside_links(el, []))) <= _SHARE_LABELS:
        return False
    for link in links:
        words = _words(_text(link))
        if not words and not C.SOCIAL_LINK.match(link.get("href") or ""):
            return False
        if not words <= _SHARE_LABELS:
            return False
    return True


def _words(text: str) -> set[str]:
    return set(_NOT_WORD.sub(" ", text.casefold()).split())


def only_bold(el: Element) -> bool:
    """`el` holds one <strong>/<b> and nothing else."""
    return len(el) == 1 and el[0].tag in ("strong", "b") and blank(el.text) and blank(el[0].tail)


def _text(el: Element) -> str:
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)
