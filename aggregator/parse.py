"""Parse stage: turns fetched bytes into a `ParsedFeed`; does not sanitise, clean or fetch.

The only module that touches feedparser; `FeedParserDict` never leaves it. HTML is
returned raw (nh3 sanitises it in the clean stage) and relative references inside
content are left alone (the clean stage resolves them against `ParsedEntry.base`).
Every string returned is stripped of characters XML 1.0 forbids, so they can never
reach the Atom we publish.
"""

from __future__ import annotations

import ast
import copy
import html
import inspect
import io
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin
from xml.sax import expatreader

import feedparser
import feedparser.api
import xxhash
from feedparser import mixin
from feedparser.util import FeedParserDict

from .errors import ParseError
from .models import Enclosure, ParsedEntry, ParsedFeed
from .schedule import FeedHints
from .urls import canonical_url, is_safe_link

__all__ = ["entry_key", "parse_feed", "xml_safe"]

# Everything outside XML 1.0's Char production (§2.2): C0 controls but tab, LF and
# CR; lone surrogates; U+FFFE and U+FFFF. feedparser passes numeric character
# references such as `&#0;` through, and lxml refuses to serialise them.
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_C0_CONTROLS = bytes(code for code in range(32) if code not in (9, 10, 13))
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Response headers feedparser reads when given bytes, besides Content-Location (which
# we set): the charset and the language. It ignores the rest, so we do not copy them.
_USED_HEADERS = ("content-type", "content-language")
_WARNING_MAX = 200
_CHARREF = re.compile(rb"&#([xX][0-9a-fA-F]+|[0-9]+);")
_SAX_TEXT_BUFFER = 1 << 16  # characters of text expat gathers before a callback

# FeedParserDict.get goes through __getitem__, which maps legacy key names and warns
# (DeprecationWarning, an error under our test settings) when `updated` falls back
# to `published`. Plain dict.get reads exactly the key feedparser stored, faster.
_get = dict.get


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse a feed document; `url` is where it came from (the base of relative links).

    Raises ParseError (never another exception) when the bytes hold no usable entries.
    A malformed ("bozo") document that still yields entries is accepted with a
    `warning` describing the problem.
    """
    if not body.strip():
        raise ParseError("empty document")
    result, repair = _feedparser(body, url, headers or {})
    entries = _get(result, "entries") or []
    if not entries:
        raise ParseError(_no_entries_reason(result, body))
    feed = _get(result, "feed") or {}
    atom = str(_get(result, "version") or "").startswith("atom")
    parsed = tuple(_entry(e, url, atom) for e in entries)
    return ParsedFeed(
        title=xml_safe(_get(feed, "title") or ""),
        link=_absolute(url, _link(feed, atom)),
        subtitle=xml_safe(_get(feed, "subtitle") or ""),
        feed_id=_text(feed, "id"),
        entries=parsed,
        warning="; ".join(filter(None, (repair, _bozo_reason(result)))) or None,
        hints=_hints(feed, body, parsed),
    )


def _hints(feed: dict[str, Any], body: bytes, entries: Sequence[ParsedEntry]) -> FeedHints:
    """What the feed says of its rhythm: RSS ttl, the syndication module's update period,
    skipHours and skipDays, and the dates of its entries."""
    return FeedHints.of(
        ttl=_get(feed, "ttl"),
        update_period=_get(feed, "sy_updateperiod"),
        update_frequency=_get(feed, "sy_updatefrequency"),
        # feedparser keeps only the last <hour> and <day>: read the lists themselves.
        skip_hours=_skip_list(body, b"skipHours", b"hour"),
        skip_days=_skip_list(body, b"skipDays", b"day"),
        dates=[d for e in entries if (d := e.published or e.updated) is not None],
    )


def _skip_list(body: bytes, outer: bytes, inner: bytes) -> list[str]:
    """The texts of the `inner` elements of the first `outer` element (RSS 2.0, no
    namespace); a document in another encoding than ASCII-compatible has none."""
    if b"<" + outer not in body:
        return []
    block = re.search(rb"<" + outer + rb"\b[^>]*>(.*?)</" + outer + rb"\s*>", body, re.DOTALL)
    if block is None:
        return []
    items = re.findall(rb"<" + inner + rb"\b[^>]*>([^<]{0,40})</" + inner + rb"\s*>", block[1])
    return [item.decode("ascii", "replace").strip() for item in items[:168]]


def entry_key(guid: str | None, link: str | None, title: str, content: str) -> str:
    """The source-local identity of an entry (DESIGN: identity contract).

    The entry id, else the canonical form of its link, else `h:` and the xxh3-128 hex
    digest of title and content: some feeds give neither id nor link.
    """
    if guid:
        return guid
    if link:
        return canonical_url(link)
    digest = xxhash.xxh3_128_hexdigest(f"{title}\n{content}".encode("utf-8", "surrogatepass"))
    return f"h:{digest}"


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 does not allow."""
    # Nearly every text has none, and finding that out on its UTF-8 bytes (C0 controls
    # deleted by a table, lead bytes of surrogates and of U+FFFE/U+FFFF looked for) is
    # two to five times faster than the regex scan, which removes them when there are.
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw.translate(None, _C0_CONTROLS)) == len(raw) and not (
        b"\xed" in raw or b"\xef\xbf" in raw
    ):
        return text
    return _NOT_XML_CHAR.sub("", text)


# --- feedparser boundary -------------------------------------------------------


def _feedparser(body: bytes, url: str, headers: Mapping[str, str]) -> tuple[Any, str | None]:
    """feedparser's result, and a note when the body had to be repaired first."""
    lowered = {k.lower(): v for k, v in headers.items()}
    response_headers = {k: lowered[k] for k in _USED_HEADERS if k in lowered}
    # Without a Content-Type, feedparser treats any headers as a server that sent
    # none: it flags the feed bozo and guesses ISO-8859-1. A generic XML type gives
    # the behaviour of a file (XML declaration, BOM, else UTF-8, per RFC 7303).
    response_headers.setdefault("content-type", "application/xml")
    # Our URL, not the server's Content-Location: it is where relative links resolve.
    response_headers["content-location"] = url
    try:
        return _call_feedparser(body, response_headers), None
    except Exception as exc:  # feedparser is a third-party boundary: wrap whatever escapes
        repaired = _repair_charrefs(body)
        if repaired == body:
            raise ParseError(f"feedparser failed: {_describe(exc)}") from exc
    try:
        result = _call_feedparser(repaired, response_headers)
    except Exception as exc:
        raise ParseError(f"feedparser failed: {_describe(exc)}") from exc
    return result, "character references to no character dropped or repaired"


class _BufferedExpatParser(expatreader.ExpatParser):
    """The stdlib SAX driver with expat's text buffering on: a run of text arrives in
    one `characters()` call instead of one per line and per entity reference (escaped
    HTML in `content:encoded` is hundreds of them per entry). SAX allows either; each
    call costs feedparser a Python method and a dict lookup, so fewer is faster."""

    def reset(self) -> None:
        super().reset()
        parser = self._parser  # type: ignore[attr-defined]
        parser.buffer_text = True
        parser.buffer_size = _SAX_TEXT_BUFFER


def create_parser() -> _BufferedExpatParser:
    """The `xml.sax` driver hook: feedparser asks `xml.sax.make_parser` for the drivers
    named in `feedparser.api.PREFERRED_XML_PARSERS`, which names this module."""
    return _BufferedExpatParser()


# Identity beyond the 32 entries feedparser remaps: str.translate with a dict raises
# and clears a KeyError for every character not in it; a list covering Latin-1 makes
# the common characters plain index lookups. Same result, a third of the time.
_CP1252_TABLE = [mixin._cp1252.get(code, code) for code in range(256)]
_ATOMIC = frozenset({str, int, bool, type(None)})  # deepcopy returns these as they are


def _copy_params(value: Any) -> Any:
    """`copy.deepcopy` for feedparser's content parameters: a FeedParserDict of
    strings, copied key by key as deepcopy does (through `__setitem__`), but without
    its generic reduce-and-rebuild machinery."""
    if type(value) is FeedParserDict and all(type(v) in _ATOMIC for v in dict.values(value)):
        copied = FeedParserDict()
        for key, item in dict.items(value):
            copied[key] = item
        return copied
    return copy.deepcopy(value)


# feedparser's `pop` (run at the end of every element) ends the text's repairs by
# mapping CP-1252's C1 characters through `str.translate`, which looks up every
# character of the text in Python objects: a tenth of parsing. Only text holding a
# C1 character can change, and a C-speed regex search finds out.
_REPAIR = "output = output.translate(_cp1252)"
_GUARDED = "if not output.isascii() and re.search('[\\x80-\\x9f]', output): " + _REPAIR


def _pop_with_guarded_repair() -> Callable[..., Any] | None:
    """feedparser's own `_FeedParserMixin.pop`, compiled from its source with the one
    line `_REPAIR` made `_GUARDED`, run in the mixin module's globals; None (leave it
    as it is) when its source is not at hand or no longer has exactly that line."""
    original = mixin._FeedParserMixin.pop
    try:
        lines, first = inspect.getsourcelines(original)
    except (OSError, TypeError):
        return None
    source = textwrap.dedent("".join(lines))
    if source.count(_REPAIR) != 1:
        return None
    tree = ast.parse(source.replace(_REPAIR, _GUARDED))
    ast.increment_lineno(tree, first - 1)  # tracebacks point into feedparser's file
    namespace: dict[str, Any] = {}
    exec(compile(tree, inspect.getfile(original), "exec"), vars(mixin), namespace)
    pop: Callable[..., Any] = namespace["pop"]
    pop.__qualname__ = original.__qualname__
    return pop


def _speed_up_feedparser() -> None:
    """Make feedparser faster without changing any result (test_parse compares with
    feedparser as it ships): buffered SAX text, a list for its CP-1252 repair table,
    the repair skipped on text without a C1 character, a shallow copy of its
    all-string content parameters, and a cache for the base-URI check it repeats on
    every start tag (a pure function of two strings)."""
    feedparser.api.PREFERRED_XML_PARSERS = [__name__]
    mixin._cp1252 = _CP1252_TABLE
    mixin.copy = SimpleNamespace(deepcopy=_copy_params)
    safe_uri = mixin.make_safe_absolute_uri
    if not hasattr(safe_uri, "cache_info"):
        mixin.make_safe_absolute_uri = lru_cache(maxsize=256)(safe_uri)
    if not hasattr(mixin._FeedParserMixin.pop, "__wrapped_repair__"):
        pop = _pop_with_guarded_repair()
        if pop is not None:
            pop.__wrapped_repair__ = True  # type: ignore[attr-defined]
            mixin._FeedParserMixin.pop = pop


_speed_up_feedparser()


def _call_feedparser(body: bytes, response_headers: dict[str, str]) -> Any:
    # A BytesIO, never the bytes themselves: feedparser treats a bytes or str
    # argument as a file name or URL first, and would open or fetch it.
    return feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _repair_charrefs(body: bytes) -> bytes:
    """Rewrite the numeric character references feedparser's lenient parser dies on.

    Some CMSs write an emoji as two references to UTF-16 surrogates (`&#55357;&#56832;`);
    feedparser then fails to encode `chr(0xD83D)`, and on `&#99999999;` `chr()` itself
    fails. A surrogate pair becomes one reference, and any other reference to no
    character is dropped. Only run after a failure: most feeds never need it.
    """
    skip_until = 0

    def fix(match: re.Match[bytes]) -> bytes:
        nonlocal skip_until
        if match.start() < skip_until:  # the low half of a pair already rewritten
            return b""
        code = _charref_code(match)
        if 0xD800 <= code <= 0xDBFF:
            low = _CHARREF.match(body, match.end())
            if low and 0xDC00 <= _charref_code(low) <= 0xDFFF:
                skip_until = low.end()
                return b"&#%d;" % (0x10000 + ((code - 0xD800) << 10) + _charref_code(low) - 0xDC00)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            return b""
        return match.group()

    return _CHARREF.sub(fix, body)


def _charref_code(match: re.Match[bytes]) -> int:
    digits = match.group(1)
    if len(digits) > 9:  # past U+10FFFF anyway; int() limits very long digit strings
        return 0x110000
    return int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)


def _no_entries_reason(result: Any, body: bytes) -> str:
    reason = _bozo_reason(result)
    if body.startswith(b"\x1f\x8b"):  # HTTP decompresses; a gzip file on disk is not
        return "not a feed: the body is gzip-compressed"
    if _get(result, "version"):
        return f"no entries ({reason})" if reason else "feed has no entries"
    if _looks_like_html(body):
        return "no entries (not a feed? document looks like HTML)"
    return f"no entries (not a feed: {reason or 'unrecognised document'})"


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lower()
    return b"<html" in head or b"<!doctype html" in head


def _bozo_reason(result: Any) -> str | None:
    if not _get(result, "bozo"):
        return None
    exc = _get(result, "bozo_exception")
    return _describe(exc) if exc is not None else "malformed document"


def _describe(exc: object) -> str:
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return xml_safe(text[:_WARNING_MAX])


# --- entries -------------------------------------------------------------------


def _entry(entry: dict[str, Any], url: str, atom: bool) -> ParsedEntry:
    guid = _text(entry, "id")
    # FeedBurner rewrites <link> to its click tracker and keeps the original here.
    link = _absolute(url, _text(entry, "feedburner_origlink") or _link(entry, atom))
    title = xml_safe(_get(entry, "title") or "")
    detail = _content_detail(entry)
    summary_detail = _get(entry, "summary_detail")
    content = _html_of(detail)
    # feedparser copies an Atom content into an absent summary; a summary that only
    # repeats the content is noise. Compared raw, so it is not scanned twice.
    same = detail and summary_detail and _get(detail, "value") == _get(summary_detail, "value")
    return ParsedEntry(
        key=entry_key(guid, link, title, content),
        guid=guid,
        link=link,
        title=title,
        content=content,
        summary="" if same else _html_of(summary_detail),
        author=_author(entry),
        published=_datetime(_get(entry, "published_parsed")),
        updated=_datetime(_get(entry, "updated_parsed")),
        categories=tuple(_categories(_items(entry, "tags"))),
        enclosures=tuple(_enclosures(_items(entry, "links"), url)),
        base=_base(detail or summary_detail, link, url),
    )


def _link(item: dict[str, Any], atom: bool) -> str | None:
    """The alternate link of a feed or entry."""
    # feedparser sets `link` only for an alternate of an HTML type: take any alternate.
    for candidate in _items(item, "links"):
        if _get(candidate, "rel") == "alternate" and (href := _text(candidate, "href")):
            return href
    # Otherwise `link` is the id (feedparser's RSS rule: a guid is a permalink unless
    # isPermaLink="false"). An Atom id is a name, not a link (RFC 4287 §4.2.6), but an
    # http(s) one almost always names the article page, as readers assume.
    link = _text(item, "link")
    return link if not atom or is_safe_link(link) else None


def _content_detail(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's richest content: HTML or XHTML before plain text."""
    contents = _items(entry, "content")
    for detail in contents:
        if _get(detail, "type") in _HTML_TYPES:
            return detail  # type: ignore[no-any-return]
    return contents[0] if contents else None


def _html_of(detail: dict[str, Any] | None) -> str:
    """A content construct's value as HTML: downstream stages only ever see HTML."""
    if not detail:
        return ""
    value = xml_safe(_get(detail, "value") or "")
    if _get(detail, "type") in _HTML_TYPES:
        return value
    return html.escape(value, quote=False)


def _base(detail: dict[str, Any] | None, link: str | None, url: str) -> str | None:
    # feedparser records the base in scope for every content construct; it differs
    # from our URL only under an explicit xml:base. Without one, relative references
    # in an entry's HTML are far more often written against the article page.
    explicit = _text(detail, "base") if detail else None
    if explicit and explicit != url:
        return explicit
    return link or xml_safe(url) or None


def _author(entry: dict[str, Any]) -> str | None:
    names = [_text(a, "name") for a in _items(entry, "authors")]
    unique = list(dict.fromkeys(n for n in names if n))
    if unique:
        return ", ".join(unique)
    return _text(entry, "author")


def _datetime(parsed: Any) -> datetime | None:
    """feedparser's struct_time, which it normalises to UTC, as an aware datetime."""
    if not parsed:
        return None
    try:
        # A leap second (tm_sec 60) is valid in a date string but not in a datetime.
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _categories(tags: Any) -> Iterator[str]:
    seen: set[str] = set()
    for tag in tags:
        term = _text(tag, "term") or _text(tag, "label")
        if term and term not in seen:
            seen.add(term)
            yield term


def _enclosures(links: Any, url: str) -> Iterator[Enclosure]:
    seen: set[str] = set()
    for link in links:
        if _get(link, "rel") != "enclosure":
            continue
        # RSS <enclosure url> is not resolved by feedparser, unlike <link href>.
        href = _absolute(url, _text(link, "href"))
        if href and href not in seen:
            seen.add(href)
            yield Enclosure(href=href, type=_text(link, "type"), length=_length(link))


def _length(link: dict[str, Any]) -> int | None:
    try:
        length = int(str(_get(link, "length") or "").strip())
    except ValueError:
        return None
    return length if length >= 0 else None


# --- values --------------------------------------------------------------------


def _items(mapping: dict[str, Any], key: str) -> list[Any]:
    """The list feedparser keeps under `key` (`links`, `authors`, `tags`, `content`), or
    none: an element of that very name in a feed (`<links href="…"/>`) puts a dict there."""
    value = _get(mapping, key)
    return value if isinstance(value, list) else []


def _text(mapping: dict[str, Any], key: str) -> str | None:
    """A stripped, XML-safe string field, None when absent or blank."""
    value = _get(mapping, key)
    if not isinstance(value, str):
        return None
    return xml_safe(value).strip() or None


def _absolute(base: str, href: str | None) -> str | None:
    if not href or href.startswith(("http://", "https://")):
        return href
    try:
        return xml_safe(urljoin(base, href))
    except ValueError:  # e.g. a malformed IPv6 host in the base: keep it as published
        return href
