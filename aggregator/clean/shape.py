"""Reshapes a parsed tree to the allow-list, in a form HTML5 parses the same; removes nothing.

Not the tree pass itself (`html.py`), which calls `fix_tables` first, then `reshape`
on every element after its descendants. Why this exists: sanitising serialises the
tree and nh3 reparses it with html5ever, an HTML5 parser; libxml2, which built the
tree (and parses our output when it is cleaned again), is not one. Where they
disagree the output changes shape at every clean: libxml2 lets a `<p>` hold a
`<figure>` (HTML5 closes the `<p>` and adds an empty one at its end tag), keeps
stray text in a table (HTML5 moves it before the table) and a `<td>` straight in a
`<table>` (HTML5 adds the `<tr>`); HTML5 lets `<b>` and `<h2>` hold a `<p>`,
libxml2 closes them first. Such elements are renamed to `div` or unwrapped here,
never wrapped: no element or attribute is ever added.
"""

from __future__ import annotations

from lxml import etree

from .rules import DROPPED_ELEMENTS
from .sanitize import ALLOWED_TAGS

Element = etree._Element

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Block containers outside the allow-list: renamed, so their text keeps its own lines.
_DIV_LIKE = frozenset({"section", "article", "header", "footer", "aside", "nav", "main"})
_DIV_LIKE |= {"address", "center", "details", "summary", "fieldset", "legend", "form"}
_DIV_LIKE |= {"hgroup", "menu", "dir", "listing", "xmp", "plaintext", "search"}
_TABLE_TAGS = ("table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th")
_TABLE_PARENTS = {
    "td": ("tr",),
    "th": ("tr",),
    "tr": ("table", "thead", "tbody", "tfoot"),
    **dict.fromkeys(("thead", "tbody", "tfoot", "caption"), ("table",)),
}

# libxml2 closes these elements when one of the tags listed starts right inside them
# (HTML5 does not), so `<b><p>x</p></b>` from nh3 would come back as `<b></b><p>x</p>`.
# test_clean checks this table against the libxml2 in use.
LIBXML2_CLOSED_BY: dict[str, frozenset[str]] = {
    "a": frozenset({"a", "table"}),
    **dict.fromkeys(("b", "i", "s", "small", "u"), frozenset({"p"})),
    "dd": frozenset({"dt"}),
    "dt": frozenset({"dd", "dl"}),
    "dl": frozenset({"li"}),
    **dict.fromkeys(HEADINGS, frozenset({"li", "p", "table"})),
    "li": frozenset({"li"}),
    "p": frozenset({"blockquote", "dd", "div", "dl", "dt", "hr", "li", "ol", "p", "pre", "ul"})
    | {"table", *HEADINGS},
    "pre": frozenset({"dd", "dl", "dt", "li", "ul", "table"}),
    "ul": frozenset({"pre"}),
}
_ITEMS = {"ul": ("li",), "ol": ("li",), "dl": ("dt", "dd")}
# Allowed tags that `reshape` leaves as they are, wherever they are.
AS_IS = ALLOWED_TAGS - {"a", "p", "li", *LIBXML2_CLOSED_BY}

# What remains in an element's subtree, as bit flags (`html.py` keeps them per element).
P_CLOSER = 1  # its start tag closes an open <p> in HTML5
HEADING = 2  # HTML5 closes an open heading when another starts inside it
ANCHOR = 4  # HTML5 closes an open <a> when another starts
_P_CLOSERS = HEADINGS | {"p", "div", "pre", "blockquote", "ul", "ol", "li", "dl", "dd", "dt"}
_P_CLOSERS |= {"table", "figure", "figcaption", "hr"}
SHAPE_FLAGS = {tag: P_CLOSER for tag in _P_CLOSERS}
SHAPE_FLAGS |= {tag: P_CLOSER | HEADING for tag in HEADINGS}
SHAPE_FLAGS["a"] = ANCHOR


def reshape(el: Element, tag: str, below: int, parent_tag: str) -> str | None:
    """Rename or unwrap `el` as described above; its new tag, or None if unwrapped.

    `below` holds the flags of its (already reshaped) descendants.
    """
    if tag in _DIV_LIKE:
        tag = el.tag = "div"
    elif tag not in ALLOWED_TAGS or (tag == "a" and (below & ANCHOR or el.get("href") is None)):
        unwrap(el)  # an <a> without href links nowhere: keep its text only
        return None
    new_tag = _libxml2_tag(el, _html5_tag(tag, below, parent_tag), below)
    if new_tag != tag:
        el.tag = new_tag
    elif tag == "pre" and el.text and el.text[0] in "\r\n":
        el.text = el.text.lstrip("\r\n")  # HTML5 drops a newline right after <pre>
    return new_tag


def unwrap(el: Element) -> None:
    """Replace `el` by its content (text, children and tail)."""
    parent = el.getparent()
    assert parent is not None
    previous = el.getprevious()
    moved = el.text or ""
    if not len(el):
        moved += el.tail or ""
    elif el.tail:
        el[-1].tail = (el[-1].tail or "") + el.tail
    if moved and previous is None:
        parent.text = (parent.text or "") + moved
    elif moved and previous is not None:
        previous.tail = (previous.tail or "") + moved
    index = parent.index(el)
    parent[index : index + 1] = list(el)


def _libxml2_tag(el: Element, tag: str, below: int) -> str:
    """`div` where libxml2 would close the element at one of its children, else `tag`.

    A renamed list takes its items along: an `<li>` outside a list is renamed too.
    """
    closers = LIBXML2_CLOSED_BY.get(tag)
    # Every closer is a P_CLOSER (but <a>, whose nesting `reshape` already undid):
    # most elements skip the look at their children.
    if closers is None or not below & P_CLOSER or not any(c.tag in closers for c in el):
        return tag
    for child in el:
        if child.tag in _ITEMS.get(tag, ()):
            child.tag = "div"
    return "div"


def _html5_tag(tag: str, below: int, parent_tag: str) -> str:
    """`div` where an HTML5 parser would close or move the element, else `tag`."""
    if tag == "p" and below & P_CLOSER:
        return "div"
    if tag in HEADINGS and below & HEADING:
        return "div"
    if tag == "li" and parent_tag not in ("ul", "ol"):
        return "div"
    if tag in ("dt", "dd") and parent_tag != "dl":
        return "div"
    return tag


def fix_tables(root: Element) -> None:
    """Flatten every table (part) HTML5 would rebuild: stray cells, rows and sections,
    and tables holding anything but captions, sections and rows of cells.

    Runs before the bottom-up pass, so that each element is judged (empty? a leaf?)
    under its final tag. So it judges before that pass edits anything: a table with a
    `<font>` between its rows is flattened although the font tag is unwrapped later
    (elements dropped with their content, like `<script>`, are allowed for).
    """
    for el in list(root.iter(*_TABLE_TAGS)):
        parent = el.getparent()
        if parent is None or el.tag not in _TABLE_TAGS:  # flattened with its table
            continue
        if el.tag == "table":
            if not _well_formed(el):
                _flatten(el)
        elif parent.tag not in _TABLE_PARENTS[el.tag]:
            _flatten(el)


def _flatten(el: Element) -> None:
    """Turn a table (part) into divs, down to its cells (not into nested tables)."""
    for child in list(el):
        if child.tag in _TABLE_PARENTS:
            _flatten(child)
    if el.tag in ("thead", "tbody", "tfoot"):
        unwrap(el)
    else:
        el.tag = "div"


def _well_formed(table: Element) -> bool:
    """True when HTML5 keeps the table as is: no stray text or elements, no implied rows."""
    if not _ascii_blank(table.text):
        return False
    for part in table:
        if _dropped_anyway(part):
            continue
        if part.tag in ("thead", "tbody", "tfoot"):
            rows_ok = _ascii_blank(part.text) and all(_row_ok(row) for row in part)
            if not rows_ok or not _ascii_blank(part.tail):
                return False
        elif part.tag == "tr":
            if not _row_ok(part):
                return False
        elif part.tag != "caption" or not _ascii_blank(part.tail):
            return False
    return True


def _row_ok(row: Element) -> bool:
    if row.tag != "tr" or not _ascii_blank(row.text) or not _ascii_blank(row.tail):
        return False
    cells = (cell for cell in row if not _dropped_anyway(cell))
    return all(cell.tag in ("td", "th") and _ascii_blank(cell.tail) for cell in cells)


def _dropped_anyway(el: Element) -> bool:
    """A script or the like with a blank tail: the tree pass removes it without a trace."""
    return el.tag in DROPPED_ELEMENTS and _ascii_blank(el.tail)


def _ascii_blank(text: str | None) -> bool:
    # HTML5 foster-parents any text in a table but ASCII whitespace (not even U+00A0).
    return not text or not text.strip(" \t\n\r\f")
