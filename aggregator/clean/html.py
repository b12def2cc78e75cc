"""Tree operations of the clean stage: parse a fragment once, edit it, extract its text.

Not the sanitiser (`sanitize.py` runs after this, on the serialised tree), not the
HTML5-consistency reshaping (`shape.py`), no title or entry logic (`text.py`,
`__init__.py`). One bottom-up pass (`TreePass`) resolves and untracks links, removes
trackers, hidden and unsafe elements, catalogued boilerplate (`catalogue.py`: by
class, link and image URL), operator boilerplate blocks and blocks left empty, and
reshapes the rest to the sanitiser's allow-list. Then the fragment's edges: runs of
breaks collapse, and the catalogue's text rules judge the last blocks (footers,
teasers, share rows) and the first (a heading repeating the title), nothing between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from lxml import etree

from ..models import Removal
from ..urls import is_safe_link, strip_tracking
from . import catalogue as C
from . import edges as E
from . import rules as R
from .shape import AS_IS, HEADINGS, SHAPE_FLAGS, fix_tables, reshape, unwrap

Element = etree._Element

SAMPLE = 80  # characters of removed text kept in a Removal
# Leaf blocks an operator's drop_blocks may remove (a table row is the unit of a table).
DROPPABLE = HEADINGS | {"p", "div", "li", "blockquote", "pre", "figure", "figcaption"}
DROPPABLE |= {"dt", "dd", "tr", "caption"}
_CONTAINERS = frozenset({"ul", "ol", "dl", "table", "thead", "tfoot"})
_REMOVED_WHEN_EMPTY = DROPPABLE | _CONTAINERS  # not td/th: removing a cell shifts columns
_INLINE = frozenset({"a", "span", "em", "strong", "b", "i", "u", "s", "sub", "sup", "code"})
_INLINE |= {"small", "mark", "abbr", "cite", "q", "del", "ins", "kbd", "samp", "var"}
# Each starts a new line of plain text.
LINE_TAGS = DROPPABLE | _CONTAINERS | {"td", "th", "hr", "br"}

# What remains in an element's subtree, as bit flags, beside shape.py's (1, 2, 4).
_BLOCK = 8  # a block: its ancestors are not leaves
_LINE = 16  # a line break in the text
_TEXT = 32  # some text that is not whitespace
_MEDIA = 64  # an image or a rule: a block holding one is not empty
_CHECKED = frozenset({*R.DROPPED_ELEMENTS, "img", "a"})
_FLAGS = dict(SHAPE_FLAGS)
for _tags, _flag in (
    (DROPPABLE | _CONTAINERS, _BLOCK),
    (LINE_TAGS, _LINE),
    (("img", "hr"), _MEDIA),
):
    for _tag in _tags:
        _FLAGS[_tag] = _FLAGS.get(_tag, 0) | _flag

# Characters libxml2 cannot hold in a tree, and U+FEFF (a BOM or zero-width no-break
# space), which nh3 drops at the start of its input only: a fragment left starting with
# one changed when cleaned again. Then end tags after which libxml2 drops content (two
# patterns: one with re.IGNORECASE scans four times slower).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe\uffff\ud800-\udfff]")
_END_OF_DOCUMENT = re.compile(r"</(?:[bB][oO][dD][yY]|[hH][tT][mM][lL])\b[^>]*>")
# A numeric character reference (the `;` is optional in HTML), which libxml2 decodes, to
# a character `_CONTROL` removes: U+0001-0008, 000B, 000C, 000E-001F, 007F, FEFF, FFFE,
# FFFF. (U+0000, surrogates and numbers past U+10FFFF libxml2 reads as U+FFFD, which XML
# allows.) Only those match, so the common `&#8217;` costs no call.
_BAD_REF = re.compile(
    r"&#(?:[xX]0*([1-8bBcCeEfF]|1[0-9a-fA-F]|7[fF]|[fF][eE][fF][fF]|[fF]{3}[eEfF])(?![0-9a-fA-F])"
    r"|0*([1-8]|1[124-9]|2[0-9]|3[01]|127|65279|6553[45])(?![0-9]));?"
)
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
# Ports of five digits, and hosts whose last label does not start with a letter (to a
# WHATWG parser an IPv4 address, maybe invalid), go the slow way: is_safe_link refuses
# what nh3 would drop.
_PLAIN_HTTP_URL = re.compile(
    r"https?://(?:[a-z0-9-]*\.)*[a-z][a-z0-9-]*\.?(?::[0-9]{1,4})?(?:[/?#]|$)", re.IGNORECASE
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_TINY_SIZE = re.compile(r"\s*[01](?:\.0*)?\s*(?:px)?\s*")
_TINY_STYLE = re.compile(
    r"(?<![-\w])(?:width|height)\s*:\s*[01](?:\.0*)?(?:px)?\s*(?:!important\s*)?(?:;|$)",
    re.IGNORECASE,
)
_RULERS = frozenset({"br", "hr"})
_BLOCKS = DROPPABLE | _CONTAINERS
_WRAPPERS = frozenset({"div", "section", "article", "header", "footer", "aside", "main"})
_TITLE_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
_EDGE_BLOCKS = 8  # blocks an edge trim may remove: bounds the loops, never reached
_MAX_EDGE_TEXT = 400  # longer blocks are text, not footers: no regex runs over them
_SENTENCE_END = frozenset(".!?…:;»)]\"”’'")
_READ_MORE = dict(C.TAIL_TEXTS)[C.READ_MORE_TAIL]
_BREAK = "\x00"  # a line break in text being assembled: `scrub` keeps it out of the tree
# Plain lxml elements: lxml.html's element classes cost a Python call per element.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)


def parse_fragment(html: str) -> Element:
    """Parse an HTML fragment into a detached `<body>` element holding all of it."""
    html = scrub(html)
    if "&#" in html and _BAD_REF.search(html):
        html = _BAD_REF.sub(_scrub_reference, html)
    if _END_OF_DOCUMENT.search(html):
        html = _END_OF_DOCUMENT.sub("", html)
    # No closing tags: a <plaintext> in the input would swallow them as text.
    body = etree.fromstring("<html><body>" + html, _PARSER).find("body")
    assert body is not None  # libxml2 always creates it after the literal <body>
    return body


def scrub(text: str) -> str:
    """`text` without the control characters XML (and so lxml and Atom) cannot hold."""
    if _CONTROL.search(text):
        return _CONTROL.sub(lambda m: " " if m.group() == "\x0c" else "", text)
    return text


def _scrub_reference(match: re.Match[str]) -> str:
    """A reference to a character `scrub` removes (`_BAD_REF`), removed as `scrub` does:
    libxml2 would put `&#1;` or `&#xFFFF;` into the tree as the character, past `scrub`."""
    hexadecimal, decimal = match.groups()
    return scrub(chr(int(hexadecimal, 16) if hexadecimal else int(decimal)))


def serialize(root: Element) -> str:
    """The HTML of `root`'s content (the fragment, without the `<body>` wrapper)."""
    root.attrib.clear()
    html = etree.tostring(root, encoding="unicode", method="html")
    return html[len("<body>") : -len("</body>")]


def tree_text(root: Element, tree: TreePass | None = None) -> str:
    """Plain text: one line per block or `<br>`, whitespace collapsed, no empty lines.

    With the `tree` pass that edited `root`, elements without line breaks below them
    take one call each (or none: the pass kept the texts it read).
    """
    parts: list[str] = []
    _collect(root, parts, tree)
    lines = (" ".join(line.split()) for line in "".join(parts).split(_BREAK))
    return "\n".join(line for line in lines if line)


def _collect(el: Element, parts: list[str], tree: TreePass | None) -> None:
    if el.text:
        parts.append(el.text)
    for child in el:
        line = child.tag in LINE_TAGS
        if line:
            parts.append(_BREAK)
        if tree is None or child in tree.nested:
            _collect(child, parts, tree)
        else:
            parts.append(tree.texts.get(child) or _flat_text(child))
        if line:
            parts.append(_BREAK)
        if child.tail:
            parts.append(child.tail)


def _flat_text(el: Element) -> str:
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


class TreePass:
    """One bottom-up pass over a parsed fragment; records every removal of content.

    Unwrapping and renaming remove no content and are not recorded. Relative URLs are
    resolved against `base` (an absolute http(s) URL); without one they are dropped.
    """

    def __init__(
        self,
        base: str | None,
        drop_rules: Sequence[R.TextRule] = (),
        title: str | Sequence[str] | None = None,
        *,
        catalogue: bool = True,
    ) -> None:
        """`title`: the entry's title (or several spellings of it) that a first heading
        may repeat. `catalogue`: apply the built-in boilerplate catalogue (not when only
        the text of some HTML is wanted)."""
        self.catalogue = catalogue
        self.base, self._scheme, self._origin = _split_base(base)
        self.drop_rules = tuple(drop_rules)
        titles = (title,) if isinstance(title, str) else title or ()
        self.titles = frozenset(filter(None, map(E.normalise, titles)))
        self.removals: list[Removal] = []
        self.nested: set[Element] = set()  # kept elements with line breaks below them
        self.texts: dict[Element, str] = {}  # text of kept leaves, as read for drop rules
        self._below: dict[Element, int] = {}  # flags of what remains under an element

    def parse(self, html: str) -> Element:
        """`parse_fragment`, recording what libxml2 could not parse."""
        root = parse_fragment(html)
        # The log of the last parse with _PARSER: another thread's parse could replace
        # it, but the pipeline cleans in worker processes, one entry at a time.
        error = _PARSER.error_log.last_error
        if error is not None and error.level_name == "FATAL":
            self.removals.append(Removal(R.TRUNCATED, error.message[:SAMPLE]))
        return root

    def run(self, root: Element) -> tuple[Removal, ...]:
        # Reverse document order visits every descendant before its ancestors, so each
        # element is judged on what is left of its subtree: cascades need no second pass.
        fix_tables(root)
        for el in reversed(list(root.iterdescendants())):
            self._visit(el)
        if self._below.pop(root, 0) & _LINE:
            self.nested.add(root)
        if self.catalogue:
            self._collapse_breaks(root)
            self._trim_tail(root, root)
            self._trim_head(root, root)
        return tuple(reversed(self.removals))  # about document order

    def edges_again(self, root: Element) -> tuple[Removal, ...]:
        """The catalogue's edge checks (break runs, tails, a heading repeating the
        title) once more, after later edits (learned cuts) moved new blocks to the
        edges; the removals they make."""
        if not self.catalogue:
            return ()
        start = len(self.removals)
        self._collapse_breaks(root)
        self._trim_tail(root, root)
        self._trim_head(root, root)
        return tuple(reversed(self.removals[start:]))

    def _visit(self, el: Element) -> None:
        parent = el.getparent()
        tag = el.tag
        if parent is None or not isinstance(tag, str):  # a comment the parser kept
            return
        tail, text = el.tail, el.text
        up = _TEXT if tail and not tail.isspace() else 0  # a tail stays with the parent
        below = self._below.pop(el, 0) | (_TEXT if text and not text.isspace() else 0)
        # Most elements are a bare <p> or <em>: skip the checks that cannot apply.
        removal = self._removal(el, tag) if tag in _CHECKED or el.keys() else None
        if removal is not None:
            self._drop(el, removal)
        else:
            up |= self._kept(el, tag, below, parent.tag)
        if up:
            self._below[parent] = self._below.get(parent, 0) | up

    def _kept(self, el: Element, tag: str, below: int, parent_tag: str) -> int:
        """Reshape `el`, drop it if boilerplate or empty; the flags it leaves its parent."""
        new_tag = tag if tag in AS_IS else reshape(el, tag, below, parent_tag)
        if new_tag is None:  # unwrapped: what was under it is now under its parent
            return below
        droppable = self.drop_rules and new_tag in DROPPABLE and not below & _BLOCK
        if droppable and self._boilerplate(el, below):
            return 0
        if not below & (_TEXT | _MEDIA):
            if new_tag in _INLINE:  # unwrapped, not dropped: its whitespace separates words
                unwrap(el)
                return below
            if new_tag in _REMOVED_WHEN_EMPTY:
                self._drop(el, Removal(R.EMPTY_BLOCK, f"<{new_tag}>"))
                return 0
        if below & _LINE:
            self.nested.add(el)
        return below | _FLAGS.get(new_tag, 0)

    def _removal(self, el: Element, tag: str) -> Removal | None:
        rule = R.DROPPED_ELEMENTS.get(tag)
        if rule is not None:
            return Removal(rule, _sample(el, tag))
        style = el.get("style")
        if el.get("hidden") is not None or (style and _HIDDEN_STYLE.search(style)):
            return Removal(R.HIDDEN_ELEMENT, _sample(el, tag))
        classes = el.get("class") if self.catalogue else None
        if classes:
            for token in classes.split():
                rule = C.CLASS_RULES.get(token)
                if rule is not None:
                    return Removal(rule, _sample(el, tag))
        if tag == "img":
            return self._image(el)
        if tag == "a":
            return self._link(el)
        return None

    def _image(self, el: Element) -> Removal | None:
        raw = el.get("src") or ""
        src = self._absolute(raw)
        if src is None or not self._safe(src):
            return Removal(R.UNSAFE_IMAGE, raw[:SAMPLE])
        for rule in R.TRACKER_IMAGES:
            if rule.pattern.search(src):
                return Removal(rule.id, src[:SAMPLE])
        if _is_pixel(el):
            return Removal(R.PIXEL_IMAGE, src[:SAMPLE])
        match = C.IMAGE_PATTERN.match(src) if self.catalogue else None
        if match is not None:
            return Removal(C.rule_of(match), src[:SAMPLE])
        if src != raw:
            el.set("src", src)
        return None

    def _link(self, el: Element) -> Removal | None:
        """Removes a catalogued link (share buttons, ads) with its text; else resolves it."""
        raw = el.get("href")
        if raw is None:
            return None
        # As written: tracking parameters are signs too.
        match = C.LINK_PATTERN.match(_as_read(raw).strip()) if self.catalogue else None
        if match is not None:
            return Removal(C.rule_of(match), raw[:SAMPLE])
        href = self._absolute(raw)
        if href is not None and (self._safe(href) or href[:7].lower() == "mailto:"):
            if href != raw:
                el.set("href", href)
            return None
        del el.attrib["href"]  # the text stays; a link we cannot vouch for goes
        self.removals.append(Removal(R.UNSAFE_LINK, raw[:SAMPLE]))
        return None

    def _safe(self, url: str) -> bool:
        # The regex settles the common case without urlsplit, five times faster.
        plain = _PLAIN_HTTP_URL.match(url)
        if plain is not None and "xn--" not in plain.group().lower():  # punycode: checked
            return True
        return is_safe_link(url)

    def _absolute(self, raw: str) -> str | None:
        """`raw` resolved against the base and stripped of tracking; None if unusable."""
        url = _as_read(raw).strip()
        if url and not url.startswith(("http://", "https://")):
            url = self._resolve(url)
        return strip_tracking(url) if url else None  # "" is no URL, not the base

    def _resolve(self, url: str) -> str:
        """urljoin, with its common cases done directly (it costs ~10 µs a call)."""
        if _SCHEME.match(url):  # mailto:, javascript:, HTTP://: judged by the caller
            return url
        if self.base is None:
            return ""
        if url.startswith("//"):
            return f"{self._scheme}:{url}"
        if url.startswith("/") and "/." not in url:
            return self._origin + url
        try:
            return urljoin(self.base, url)
        except ValueError:  # e.g. an invalid IPv6 host
            return ""

    def _boilerplate(self, el: Element, below: int) -> bool:
        """Drop a leaf block whose text matches an operator rule."""
        if below & _LINE:
            text = " ".join(tree_text(el).split())
        else:
            self.texts[el] = flat = _flat_text(el)  # final: only ancestors are still to come
            text = " ".join(flat.split())
        for rule in self.drop_rules:
            if rule.pattern.search(text):
                self._drop(el, Removal(rule.id, text[:SAMPLE]))
                return True
        return False

    # --- the edges of the fragment: catalogue text rules judge the first and last
    # blocks only, where feeds put footers, teasers and repeated titles.

    def _collapse_breaks(self, root: Element) -> None:
        """Runs of <br>/<hr> (only whitespace between) become one <hr> or two <br>."""
        run: list[Element] = []
        for el in list(root.iter("br", "hr")):
            if run and el.getprevious() is run[-1] and E.blank(run[-1].tail):
                run.append(el)
                continue
            self._collapse(run)
            run = [el]
        self._collapse(run)

    def _collapse(self, run: list[Element]) -> None:
        if len(run) < 3 and not (len(run) == 2 and "hr" in (run[0].tag, run[1].tag)):
            return
        keep = next((el for el in run if el.tag == "hr"), None)
        kept = [keep] if keep is not None else run[:2]
        for el in run:
            if not any(el is k for k in kept):
                remove_keeping_tail(el, separate=False)  # the kept break separates
        self.removals.append(Removal(C.BR_RUN, f"{len(run) - len(kept)} of <br>/<hr>"))

    def _trim_tail(self, root: Element, box: Element) -> None:
        """Drop catalogued boilerplate from the end of `box`, last block first."""
        for _ in range(_EDGE_BLOCKS):
            el = E.last_child(box)
            if el is None or not self._tail_removed(root, el):
                return

    def _tail_removed(self, root: Element, el: Element) -> bool:
        tag = el.tag
        if tag in _RULERS:
            self._drop(el, Removal(C.BR_RUN, f"<{tag}>"))
            return True
        if tag == "a" or (tag in DROPPABLE and self._is_leaf(el)):
            rule, text = self._tail_rule(el)
            if rule is not None and E.has_before(el, root):
                self._drop(el, Removal(rule, text[:SAMPLE]))
                return True
            if tag != "a":
                self._trim_read_more_link(el)
            return False
        if tag in ("ul", "ol"):
            return self._related_list(root, el)
        if tag in _WRAPPERS:
            self._trim_tail(root, el)
            return self._drop_if_empty(el)
        return False

    def _tail_rule(self, el: Element) -> tuple[str | None, str]:
        """The id of the catalogue rule a trailing leaf (or link) matches, and its text."""
        text = " ".join((self.texts.get(el) or _flat_text(el)).split())
        core = E.EDGE_PUNCTUATION.sub("", text)
        if not core or len(core) > _MAX_EDGE_TEXT:
            return None, text
        for rule, pattern in C.TAIL_TEXTS:
            if pattern.fullmatch(core) and (rule != C.READ_MORE_TAIL or E.only_links(el)):
                return rule, text
        heading = C.RELATED_HEADING.match(core)
        if heading is not None and (heading.end() == len(core) or E.only_links(el, heading)):
            return C.RELATED_POSTS, text
        if E.is_share_row(el):
            return C.SHARE_BAR, text
        return None, text

    def _trim_read_more_link(self, block: Element) -> None:
        """Drop a "Read more" link ending a block after a finished sentence; keep the rest."""
        link = block[-1] if len(block) else None
        if link is None or link.tag != "a" or not E.blank(link.tail):
            return
        text = " ".join(_flat_text(link).split())
        if not _READ_MORE.fullmatch(E.EDGE_PUNCTUATION.sub("", text)):
            return
        previous = link.getprevious()
        if previous is None:
            before = block.text or ""
        elif previous.tag == "br" or not E.blank(previous.tail):
            before = "." if previous.tag == "br" else previous.tail or ""
        else:
            before = _flat_text(previous)
        if before.strip() and before.rstrip()[-1] in _SENTENCE_END:
            self.texts.pop(block, None)
            self._drop(link, Removal(C.READ_MORE_TAIL, text[:SAMPLE]))
            if previous is None:
                block.text = (block.text or "").rstrip()
            else:
                previous.tail = (previous.tail or "").rstrip() or None

    def _related_list(self, root: Element, el: Element) -> bool:
        """A trailing list of links under a "Related posts:" heading goes with it."""
        heading = el.getprevious()
        if heading is None or not E.blank(heading.tail) or not self._is_leaf(heading):
            return False
        title = E.EDGE_PUNCTUATION.sub("", " ".join(_flat_text(heading).split()))
        if not C.RELATED_HEADING.fullmatch(title):
            return False
        if not all(E.only_links(item) for item in el if isinstance(item.tag, str)):
            return False
        self._drop(el, Removal(C.RELATED_POSTS, " ".join(_flat_text(el).split())[:SAMPLE]))
        self._drop(heading, Removal(C.RELATED_POSTS, title[:SAMPLE]))
        return True

    def _trim_head(self, root: Element, box: Element) -> None:
        """Drop leading rules and breaks, and a first heading that repeats the title."""
        for _ in range(_EDGE_BLOCKS):
            el = E.first_child(box)
            if el is None:
                return
            if el.tag in _RULERS:
                self._drop(el, Removal(C.BR_RUN, f"<{el.tag}>"))
            elif self._repeats_title(el) and E.text_after(el, root):
                text = " ".join(_flat_text(el).split())
                self._drop(el, Removal(C.TITLE_REPEAT_HEADING, text[:SAMPLE]))
            elif el.tag in _WRAPPERS:
                self._trim_head(root, el)
                self._drop_if_empty(el)
                return
            else:
                return

    def _repeats_title(self, el: Element) -> bool:
        if not self.titles:
            return False
        if el.tag in _TITLE_HEADINGS:
            if not self._is_leaf(el):
                return False
        elif not (el.tag in ("p", "div") and E.only_bold(el)):
            return False
        return E.normalise(_flat_text(el)) in self.titles

    def _is_leaf(self, el: Element) -> bool:
        """No blocks below `el` (line breaks are allowed)."""
        if el not in self.nested:
            return True
        return not any(d.tag in _BLOCKS for d in el.iterdescendants())

    def _drop_if_empty(self, el: Element) -> bool:
        if E.blank(_flat_text(el)) and next(el.iter("img", "hr"), None) is None:
            self._drop(el, Removal(R.EMPTY_BLOCK, f"<{el.tag}>"))
            return True
        return False

    def _drop(self, el: Element, removal: Removal) -> None:
        """Remove `el` and its content, keeping its tail."""
        self.removals.append(removal)
        remove_keeping_tail(el)


def remove_keeping_tail(el: Element, separate: bool = True) -> None:
    """Remove `el` and its content, keeping its tail (apart from what preceded it, if
    `separate` and `el` is a line of its own)."""
    parent, tail = el.getparent(), el.tail
    assert parent is not None
    if separate and tail and el.tag in LINE_TAGS and not tail[0].isspace():
        tail = " " + tail  # the removed block kept the words around it apart
    previous = el.getprevious()
    if tail and previous is None:
        parent.text = (parent.text or "") + tail
    elif tail and previous is not None:
        previous.tail = (previous.tail or "") + tail
    parent.remove(el)


@lru_cache(maxsize=64)  # an entry's fields share one base
def _split_base(base: str | None) -> tuple[str | None, str, str]:
    """(base, scheme, origin) of a usable base URL, else (None, "", "")."""
    if not is_safe_link(base):
        return None, "", ""
    assert base is not None
    parts = urlsplit(base)
    return base, parts.scheme, f"{parts.scheme}://{parts.netloc}"


def _as_read(url: str) -> str:
    """`url` as a browser reads it: without tabs and newlines (WHATWG URL), which feeds
    put into long hrefs. Kept, they reach nh3 as `%0A`, and it drops the href."""
    if "\n" in url or "\t" in url or "\r" in url:
        return url.replace("\n", "").replace("\t", "").replace("\r", "")
    return url


def _is_pixel(el: Element) -> bool:
    for name in ("width", "height"):
        value = el.get(name)
        if value is not None and _TINY_SIZE.fullmatch(value):
            return True
    style = el.get("style")
    return style is not None and _TINY_STYLE.search(style) is not None


def _sample(el: Element, tag: str) -> str:
    text = " ".join(_flat_text(el).split())
    return f"<{tag}> {text}"[:SAMPLE] if text else f"<{tag}>"
