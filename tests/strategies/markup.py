"""Strategies for hostile text, URLs, HTML fragments and feed documents (as bytes)."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st

from aggregator.clean.sanitize import ALLOWED_TAGS

Draw = Callable[[st.SearchStrategy[Any]], Any]

# --- text ------------------------------------------------------------------------

# What XML 1.0 forbids or readers choke on: C0 controls, DEL and C1, lone surrogates,
# U+FFFE/U+FFFF, BOM, NEL, line and paragraph separators, a bidi override.
ODD_CHARS = "\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\x85\x9f\ud800\udbff\udc00\udfff\ufffe\uffff"
ODD_CHARS += "\ufeff\u2028\u2029\u202e\t\r\n"
CHAR_REFS = ["&#0;", "&#x0;", "&#xD800;", "&#55357;&#56832;", "&#xDFFF;", "&#99999999;"]
CHAR_REFS += ["&#x110000;", "&#65535;", "&#xFFFE;", "&#11;", "&#x1F;", "&#128;", "&#x85;"]
CHAR_REFS += ["&#9;", "&#12345678901234567890;", "&#;", "&#x;", "&#60;", "&#x3C;script&#62;"]
ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&nbsp;", "&eacute;", "&bogus;"]
ENTITIES += ["&amp", "& ", "&amp;lt;b&amp;gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"]
WORDS = ["word", "Story", "é", "日本語", "x<y", "a>b", "]]>", "<![CDATA[", "--", " ", "\n"]

junk_text = st.text(
    st.one_of(st.characters(codec="utf-8"), st.sampled_from(ODD_CHARS)), max_size=24
)
text_pieces = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(CHAR_REFS), st.sampled_from(ENTITIES), junk_text
)
texts = st.lists(text_pieces, max_size=6).map("".join)

# --- URLs --------------------------------------------------------------------------

SCHEMES = ["javascript", "vbscript", "data", "livescript", "jar", "file", "feed"]


def _obfuscate(draw: Draw, scheme: str) -> str:
    """`scheme` as a browser would still read it: mixed case, entities for letters,
    tabs, newlines or NULs inside, spaces before."""
    out = []
    for char in scheme:
        form = draw(st.sampled_from(["as-is", "upper", "dec", "hex", "padded", "tab"]))
        out.append(
            {
                "as-is": char,
                "upper": char.upper(),
                "dec": f"&#{ord(char)};",
                "hex": f"&#x{ord(char):x};",
                "padded": f"&#{ord(char):07d}",
                "tab": draw(st.sampled_from(["\t", "\n", "&#x09;", "&Tab;", "\x00"])) + char,
            }[form]
        )
    return draw(st.sampled_from(["", " ", "\x01", "&#32;"])) + "".join(out)


@st.composite
def hostile_urls(draw: Draw) -> str:
    scheme = _obfuscate(draw, draw(st.sampled_from(SCHEMES)))
    payload = draw(st.sampled_from(["alert(1)", "text/html,<script>alert(1)</script>", ""]))
    return f"{scheme}:{payload}"


urls = st.one_of(
    st.sampled_from(
        [
            "https://site.example/2025/a.html?utm_source=rss&id=1#top",
            "http://site.example:8080/b",
            "HTTPS://SITE.EXAMPLE/C",
            "/relative/path",
            "rel.html",
            "//cdn.example/i.png",
            "?q=1",
            "#frag",
            "mailto:a@b.example",
            "http://[::1",
            "https:///nohost",
            "http://a.example:99999/",
            " https://padded.example/ ",
            "",
        ]
    ),
    hostile_urls(),
    texts,
)

# --- HTML fragments --------------------------------------------------------------------

DANGEROUS_TAGS = ["script", "style", "iframe", "object", "embed", "svg", "math", "form"]
DANGEROUS_TAGS += ["input", "button", "textarea", "select", "base", "meta", "link", "template"]
DANGEROUS_TAGS += ["noscript", "plaintext", "xmp", "frameset", "video", "audio", "applet"]
DANGEROUS_TAGS += ["title", "body", "html", "head", "foreignObject", "mglyph", "param", "image"]
OTHER_TAGS = ["section", "font", "center", "details", "marquee", "article", "tbody", "nav"]
tag_names = st.one_of(
    st.sampled_from(sorted(ALLOWED_TAGS)),
    st.sampled_from(DANGEROUS_TAGS),
    st.sampled_from(OTHER_TAGS),
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9:-]{0,6}", fullmatch=True),
)
attribute_names = st.one_of(
    st.sampled_from(["href", "src", "srcset", "style", "class", "hidden", "title", "alt"]),
    st.sampled_from(["width", "height", "colspan", "rel", "xlink:href", "formaction", "action"]),
    st.sampled_from(["background", "poster", "data", "xmlns", "id", "ONCLICK", "OnError"]),
    st.from_regex(r"on[a-z]{1,10}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9:-]{0,6}", fullmatch=True),
)
attribute_values = st.one_of(
    urls,
    st.sampled_from(["display:none", "width:1px", "background:url(javascript:alert(1))"]),
    st.sampled_from(["0", "1", "2", "share-buttons", "x onerror=alert(1)"]),
    st.text(max_size=8),
)


@st.composite
def attributes(draw: Draw) -> str:
    name, value = draw(attribute_names), draw(attribute_values)
    quoting = draw(st.sampled_from(["double", "single", "bare", "none", "broken"]))
    if quoting == "double":
        return f" {name}={quoteattr(value)}"
    if quoting == "single":
        return f" {name}='{value}'"
    if quoting == "bare":
        return f" {name}={value.replace(' ', '')}"
    return f" {name}" if quoting == "none" else f' {name}="{value}'


html_leaves = st.one_of(
    texts,
    st.sampled_from(["<!-- c -->", "<!--", "<!-->", "<!--[if IE]><script>x</script><![endif]-->"]),
    st.sampled_from(["<p>", "<b", "</div>", "<a href='", "<", "</", "<br/>", "<img src=x>"]),
    st.sampled_from(["<![CDATA[<script>alert(1)</script>]]>", "<?php x ?>", "<!DOCTYPE html>"]),
    st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</body>x"]),
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, attrs, inner, end: f"<{tag}{''.join(attrs)}>{inner}{end(tag)}",
        tag_names,
        st.lists(attributes(), max_size=3),
        st.lists(children, max_size=4).map("".join),
        st.sampled_from([lambda t: f"</{t}>", lambda t: f"</{t}>", lambda t: "", str.upper]),
    )


def html_fragments(max_leaves: int = 16) -> st.SearchStrategy[str]:
    """Tag soup: allowed and dangerous elements, event handlers, script URLs in
    disguise, comments, unclosed and mismatched tags, control characters."""
    return st.recursive(html_leaves, _element, max_leaves=max_leaves)


# --- feed documents ----------------------------------------------------------------------

DATES = ["Mon, 24 Feb 2025 12:00:00 +0000", "2025-02-24T12:00:00Z", "2025-02-24T12:00:00+14:00"]
DATES += ["Tue, 31 Dec 1968 23:59:60 GMT", "2025-02-30T25:61:61Z", "0000-01-01T00:00:00Z"]
DATES += ["9999-12-31T23:59:59-12:00", "Sun, 99 Foo 2025", "1740398400", "", "yesterday"]
DATES += ["2025-13-01", "Mon, 24 Feb 99999 12:00:00 +0000", "2025-02-24T12:00:00.123456789Z"]
dates = st.one_of(st.sampled_from(DATES), texts)
# (declared, actual): often the same, sometimes a lie, sometimes unknown or absent.
ENCODINGS = [("utf-8", "utf-8"), (None, "utf-8"), ("UTF-8", "utf-8-sig"), ("utf-16", "utf-16")]
ENCODINGS += [("iso-8859-1", "iso-8859-1"), ("windows-1252", "windows-1252"), ("koi8-r", "utf-8")]
ENCODINGS += [("iso-8859-1", "utf-8"), ("utf-8", "windows-1252"), ("utf-8", "utf-16-le")]
ENCODINGS += [("shift_jis", "shift_jis"), ("x-no-such-charset", "utf-8"), ("utf-16", "utf-8")]


_SMALL_HTML = html_fragments(8)
_SHORT_TEXT = st.one_of(texts, urls)
_EMBEDDINGS = st.sampled_from(["escaped", "escaped", "cdata", "raw", "twice"])
_CONTENT_TYPES = st.sampled_from(["html", "text", "xhtml", "bogus"])


@st.composite
def _field(draw: Draw, kind: str = "text") -> str:
    """Character data for an element: escaped, CDATA, or inserted raw (maybe breaking
    the document); HTML written as text is how RSS carries markup."""
    value = draw(_SMALL_HTML if kind == "html" else _SHORT_TEXT)
    how = draw(_EMBEDDINGS)
    if how == "cdata":
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    if how == "raw":
        return value
    return escape(escape(value)) if how == "twice" else escape(value)


# Elements named like the keys feedparser fills with lists (and then does not).
SHADOWS = ["links", "authors", "tags", "content", "enclosures", "contributors", "title_detail"]


@st.composite
def _noise(draw: Draw) -> str:
    """Elements no feed format defines: deep nesting, a huge attribute, a shadow."""
    depth = draw(st.integers(0, 60))
    attribute = "x" * draw(st.integers(0, 4000))
    nested = "<x:n>" * depth + "</x:n>" * depth
    shadow = draw(st.sampled_from(["", *SHADOWS]))
    shadow = f'<{shadow} href="/s" name="n" term="t"/>' if shadow else ""
    return f'<x:deep xmlns:x="urn:x" a="{attribute}">{nested}</x:deep>{shadow}'


@st.composite
def _item(draw: Draw, fmt: str) -> str:
    title, link, guid = draw(_field()), escape(draw(urls)), draw(_field())
    body, date, extra = draw(_field("html")), escape(draw(dates)), draw(_noise())
    if fmt == "atom":
        kind = draw(_CONTENT_TYPES)
        if kind == "xhtml":
            body = f'<div xmlns="http://www.w3.org/1999/xhtml">{draw(_SMALL_HTML)}</div>'
        return (
            f"<entry><id>{guid}</id><title type='html'>{title}</title><updated>{date}</updated>"
            f"<link rel='alternate' href='{link}'/><link rel='enclosure' href='{link}' "
            f"length='{draw(texts)}'/><author><name>{draw(_field())}</name></author>"
            f"<content type='{kind}'>{body}</content>{extra}</entry>"
        )
    if fmt == "rdf":
        return (
            f"<item rdf:about='{link}'><title>{title}</title><link>{link}</link>"
            f"<description>{body}</description><dc:date>{date}</dc:date>{extra}</item>"
        )
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<pubDate>{date}</pubDate><description>{body}</description>"
        f"<enclosure url='{link}' type='{escape(draw(texts))}' length='3'/>"
        f"<category>{draw(_field())}</category><dc:creator>{draw(_field())}</dc:creator>"
        f"{extra}</item>"
    )


WRAPPERS = {
    "rss": (
        "<rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'><channel>"
        "<title>{title}</title><link>https://site.example/</link>{items}</channel></rss>"
    ),
    "atom": (
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>{title}</title><id>urn:x:feed</id>"
        "<updated>2025-02-24T12:00:00Z</updated>{items}</feed>"
    ),
    "rdf": (
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
        "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        "<channel rdf:about='https://site.example/'><title>{title}</title></channel>"
        "{items}</rdf:RDF>"
    ),
}


@st.composite
def _encode(draw: Draw, text: str) -> bytes:
    declared, actual = draw(st.sampled_from(ENCODINGS))
    head = f"<?xml version='1.0' encoding='{declared}'?>" if declared else ""
    # A lone surrogate has no UTF-8 form: `surrogatepass` writes the bytes a broken
    # encoder would; other codecs write a character reference instead.
    errors = "surrogatepass" if actual == "utf-8" else "xmlcharrefreplace"
    return (head + text).encode(actual, errors)


@st.composite
def _corrupt(draw: Draw, data: bytes) -> bytes:
    """Up to three edits: truncation, a flipped byte, inserted junk, a repeated slice."""
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["truncate", "flip", "insert", "repeat"]))
        if edit == "truncate":
            data = data[:at]
        elif edit == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif edit == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        else:
            data = data[:at] + data[at : at + 64] * 2 + data[at + 64 :]
    return data


@st.composite
def feed_documents(draw: Draw, *, corrupt: bool = True) -> bytes:
    """A feed in one of three formats with 1-3 hostile entries, encoded (maybe not as
    declared), and, if `corrupt`, maybe damaged at the byte level."""
    fmt = draw(st.sampled_from(sorted(WRAPPERS)))
    items = "".join(draw(st.lists(_item(fmt), min_size=1, max_size=3)))
    text = WRAPPERS[fmt].format(title=draw(_field()), items=items)
    data = draw(_encode(text))
    return draw(_corrupt(data)) if corrupt else data


assert all(codecs.lookup(a) for _, a in ENCODINGS)  # a typo would fail every example
