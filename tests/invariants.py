"""Test helper: what parsed, cleaned and published data must never hold; asserts nothing.

Each function returns the problems it finds, one line each (empty: none). Shared by
`tests/test_fuzz.py` and the atheris target `fuzz/parse_clean.py`, so a long fuzzing
run checks exactly what the test suite checks. HTML is judged by parsing it back
with lxml, as a reader's HTML parser would see it, never by regex over the markup.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import lxml.html
from lxml import etree

from aggregator.clean.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL
from aggregator.models import CleanFeed, OriginFeed, ParsedFeed, PublishedEntry, TopicFeed
from aggregator.publish import render_topic

ATOM = "{http://www.w3.org/2005/Atom}"
FEED_URL = "https://site.example/feed.xml"
T0 = datetime(2025, 2, 24, 12, tzinfo=UTC)
# XML 1.0 §2.2 `Char`, complemented: what no published string may hold.
NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Never in cleaned HTML, whatever the allow-list says (it might be widened by mistake).
FORBIDDEN_TAGS = frozenset({"script", "style", "iframe", "object", "embed", "applet", "svg"})
FORBIDDEN_TAGS |= {"math", "form", "input", "base", "meta", "link", "template", "frame"}
URL_ATTRIBUTES = frozenset({"href", "src", "srcset", "action", "formaction", "poster"})
URL_ATTRIBUTES |= {"background", "xlink:href", "data", "codebase", "cite"}
# nh3's default `generic_attributes`, kept on any element beside ALLOWED_ATTRIBUTES:
# plain text to a browser.
GENERIC_ATTRIBUTES = frozenset({"title", "lang"})
# What a browser ignores in a URL before reading its scheme (WHATWG URL: leading C0
# controls and spaces, and every tab and newline).
_URL_NOISE = re.compile("[\x00-\x20]")


def text_problems(what: str, value: str | None) -> list[str]:
    """Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/F)."""
    found = NOT_XML_CHAR.findall(value or "")
    return [f"{what}: XML-illegal characters {found!r} in {value!r}"] if found else []


def parsed_problems(feed: ParsedFeed) -> Iterator[str]:
    yield from text_problems("feed.title", feed.title)
    yield from text_problems("feed.subtitle", feed.subtitle)
    yield from text_problems("feed.warning", feed.warning)
    if not feed.entries:
        yield "a ParsedFeed without entries (parse_feed promises ParseError)"
    for n, entry in enumerate(feed.entries):
        if not entry.key:
            yield f"entries[{n}]: empty key"
        for field in dataclasses.fields(entry):
            value = getattr(entry, field.name)
            values = value if isinstance(value, tuple) else (value,)
            for item in values:
                if isinstance(item, str):
                    yield from text_problems(f"entries[{n}].{field.name}", item)
                if isinstance(item, datetime) and item.tzinfo is not UTC:
                    yield f"entries[{n}].{field.name}: not a UTC datetime: {item!r}"
        for enclosure in entry.enclosures:
            yield from text_problems(f"entries[{n}].enclosure", enclosure.href)


def scheme_of(url: str) -> str:
    """The scheme a browser would read from `url` (entities already decoded), "" if none."""
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", _URL_NOISE.sub("", url))
    return match.group(1).lower() if match else ""


def html_problems(fragment: str) -> list[str]:
    """What must not be in cleaned HTML: elements or attributes outside the allow-list,
    the dangerous ones by name, event handlers, URLs that are not absolute http(s)
    (or mailto: links), comments and processing instructions, XML-illegal characters."""
    problems = text_problems("html", fragment)
    if not fragment.strip():
        return problems
    root = lxml.html.fragment_fromstring(NOT_XML_CHAR.sub("", fragment), create_parent="div")
    for el in root.iterdescendants():
        if not isinstance(el.tag, str):
            problems.append(f"comment or processing instruction: {etree.tostring(el)!r}")
            continue
        tag = el.tag.lower()
        if tag in FORBIDDEN_TAGS or tag not in ALLOWED_TAGS:
            problems.append(f"element <{tag}>")
        for name, value in el.attrib.items():
            problems.extend(_attribute_problems(tag, str(name).lower(), value))
    return problems


def _attribute_problems(tag: str, name: str, value: str) -> Iterator[str]:
    if name.startswith("on"):
        yield f"event handler {name} on <{tag}>"
    elif name == "rel" and tag == "a":
        if value != LINK_REL:
            yield f"rel={value!r} on <a>"
    elif name not in ALLOWED_ATTRIBUTES.get(tag, ()) and name not in GENERIC_ATTRIBUTES:
        yield f"attribute {name} on <{tag}>"
    if name in URL_ATTRIBUTES:
        scheme = scheme_of(value)
        allowed = {"http", "https", "mailto"} if (tag, name) == ("a", "href") else {"http", "https"}
        if scheme not in allowed:
            yield f"{name} on <{tag}> is a {scheme or 'relative'} URL: {value!r}"


def topic_of(feed: CleanFeed) -> TopicFeed:
    """The cleaned entries as one topic feed, fields as the store keeps them."""
    origin = OriginFeed(feed.feed_id or FEED_URL, feed.title, feed.link, FEED_URL)
    entries = tuple(
        PublishedEntry(
            output_id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            title=entry.title,
            link=entry.link,
            content=entry.content,
            summary=entry.summary,
            author=entry.author,
            published=entry.published or T0,
            updated=max(entry.updated or T0, entry.published or T0),
            categories=("world", *(c for c in entry.categories if c != "world")),
            enclosures=entry.enclosures,
            origin=origin,
        )
        for n, entry in enumerate(feed.entries)
    )
    return TopicFeed(
        "world", "World", feed.subtitle or None, "https://o.example/w.xml", T0, entries
    )


def publish(feed: CleanFeed) -> bytes:
    return render_topic(topic_of(feed), author="Bot", generator_version="1")


def published_problems(data: bytes) -> Iterator[str]:
    """A rendered topic feed: well-formed, read by feedparser without complaint, its
    titles and names plain text, its HTML safe (as cleaned HTML must be)."""
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        yield f"not well-formed: {exc}"
        return
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False)
    if parsed.bozo:
        yield f"feedparser: {parsed.get('bozo_exception')!r}"
    for element in root.iter(f"{ATOM}title", f"{ATOM}name"):
        if len(element):
            yield f"{element.tag} holds elements"
    for element in root.iter(f"{ATOM}content", f"{ATOM}summary"):
        if element.get("type") != "html" or len(element):
            yield f"{element.tag} is not escaped HTML"
        # Our own "Also reported by" line aside, the HTML is what cleaning made.
        yield from html_problems(element.text or "")
    for link in root.iter(f"{ATOM}link"):
        if scheme_of(link.get("href") or "") not in ("http", "https"):
            yield f"link is not http(s): {link.get('href')!r}"
