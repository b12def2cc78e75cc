"""The allow-list and the nh3 sanitiser that runs last on every HTML field; no tree edits.

`html.py` reshapes the tree so that it already satisfies this allow-list (it unwraps
or renames every other tag); nh3 is the guarantee, not the editor: whatever a tree
pass misses, nothing outside this list reaches a reader.
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset(
    {
        *("p", "br", "hr", "div", "span", "pre", "blockquote"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
        *("a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "code", "small", "mark"),
        *("abbr", "cite", "q", "del", "ins", "kbd", "samp", "var"),
        *("ul", "ol", "li", "dl", "dt", "dd"),
        # no tbody: html5ever inserts one into every table, lxml never does; leaving it
        # out keeps a cleaned fragment identical when it is cleaned again.
        *("table", "thead", "tfoot", "tr", "td", "th", "caption"),
        *("img", "figure", "figcaption"),
    }
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"  # set on every <a>, so cleaning twice gives the same rel

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",  # relative URLs were resolved before; what is left has no base
    strip_comments=True,
    link_rel=LINK_REL,
)


def sanitize(html: str) -> str:
    """Allow-listed HTML only: no scripts, styles, event handlers or non-http(s)/mailto URLs."""
    return str(_CLEANER.clean(html))
