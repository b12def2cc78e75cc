"""Publish stage: renders a topic as Atom 1.0 bytes and writes feed files atomically.

It does not choose, sort or clean entries (the pipeline, dedupe and clean do); it is
the only module that touches feedgen, and no `FeedGenerator` ever leaves it.
Rendering is deterministic: the same `TopicFeed` always gives the same bytes.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from feedgen.feed import FeedGenerator
from lxml import etree

from . import HOMEPAGE
from .errors import PublishError
from .models import Enclosure, OriginFeed, PublishedEntry, TopicFeed, Via
from .urls import is_safe_link

ATOM_MEDIA_TYPE = "application/atom+xml"
GENERATOR_NAME = "aggregator"

# XML 1.0 §2.2 `Char`: everything else (C0 controls, lone surrogates, U+FFFE/U+FFFF)
# makes lxml refuse the string, or a reader refuse the document.
_INVALID_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# RFC 4287 atomMediaType: "whatever a media type is, it contains at least one slash".
_MEDIA_TYPE = re.compile(r"[^/\s]+/[^/\s]+")
_FEED_EXTENSION = "aggregator_feed"
_ENTRY_EXTENSION = "aggregator_entry"


def render_topic(feed: TopicFeed, *, author: str, generator_version: str) -> bytes:
    """The topic as a UTF-8 Atom document with an XML declaration, entries in the given
    order. Raises `PublishError` when feedgen rejects the data (an empty id, ...)."""
    generator = FeedGenerator()
    try:
        _describe_feed(generator, feed, author, generator_version)
        for entry in feed.entries:
            _add_entry(generator, entry)
        data: bytes = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    except ValueError as exc:
        raise PublishError(f"topic {feed.topic_id}: cannot render Atom: {exc}") from exc
    return data


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly those bytes.

    Returns whether the file was written; an unchanged file keeps its mtime, so HTTP
    validators derived from it stay valid. Raises `PublishError` naming the path.
    """
    try:
        if _holds(path, data):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace_atomically(path, data)
    except OSError as exc:
        raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return True


# --- rendering ----------------------------------------------------------------


def _describe_feed(
    generator: FeedGenerator, feed: TopicFeed, author: str, generator_version: str
) -> None:
    # No entry class: feedgen then skips this extension for entries (it catches the
    # ImportError it raises itself); entries get their own `_EntryExtension`.
    generator.register_extension(_FEED_EXTENSION, _FeedExtension, None, atom=True, rss=False)
    generator.id(_text(feed.self_url))
    generator.title(_text(feed.title) or feed.topic_id)
    if feed.subtitle:
        generator.subtitle(_text(feed.subtitle))
    generator.updated(_utc(feed.updated))
    generator.link(href=_text(feed.self_url), rel="self", type=ATOM_MEDIA_TYPE)
    generator.author(name=_text(author).strip() or GENERATOR_NAME)
    generator.generator(GENERATOR_NAME, version=_text(generator_version), uri=HOMEPAGE)


def _add_entry(generator: FeedGenerator, entry: PublishedEntry) -> None:
    item = generator.add_entry(order="append")
    item.id(_text(entry.output_id))
    # feedgen refuses an empty title, which Atom allows; `_EntryExtension` writes the
    # real one, so this placeholder never reaches the output.
    item.title("-")
    item.updated(_utc(entry.updated))
    item.published(_utc(entry.published))
    author = _text(entry.author or "").strip()
    if author:
        item.author(name=author)
    # Always a content element (maybe empty): RFC 4287 §4.1.1 wants content or an
    # alternate link, and the link is optional for us.
    item.content(_text((entry.content or entry.summary) + also_reported(entry.via)), type="html")
    if entry.content and entry.summary and entry.summary != entry.content:
        item.summary(_text(entry.summary), type="html")
    for term in _unique(_text(term) for term in entry.categories):
        item.category(term=term)
    extension = partial(_EntryExtension, entry)
    item.register_extension(_ENTRY_EXTENSION, extension, atom=True, rss=False)


class _FeedExtension:
    """Marks the feed's title and subtitle as plain text explicitly (RFC 4287 §3.1.1)."""

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        for tag in ("title", "subtitle"):
            element = feed.find(tag)
            if element is not None:
                element.set("type", "text")
        return feed

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        return feed


class _EntryExtension:
    """Writes what feedgen 1.0.0 cannot: a plain-text (maybe empty) title, entry links
    with their attributes (feedgen keeps only `href`: upstream issues #135, #143), and
    `atom:source` (RFC 4287 §4.2.11, which exists for republishers like us)."""

    def __init__(self, entry: PublishedEntry) -> None:
        self.entry = entry

    def extend_atom(self, element: etree._Element) -> etree._Element:
        title = element.find("title")
        if title is not None:
            title.text = _text(self.entry.title)
            title.set("type", "text")
        anchor = element.find("content")
        for link in _entry_links(self.entry):
            if anchor is None:
                element.append(link)
            else:
                anchor.addnext(link)
            anchor = link
        element.append(_source(self.entry.origin, self.entry.updated))
        return element

    def extend_rss(self, item: etree._Element) -> etree._Element:
        return item


def _entry_links(entry: PublishedEntry) -> list[etree._Element]:
    links: list[etree._Element | None] = []
    if entry.link and is_safe_link(entry.link):
        links.append(_link(entry.link, "alternate", media_type="text/html"))
    links.extend(_enclosure(enclosure) for enclosure in entry.enclosures)
    # RFC 4287 §4.2.7.2: "via" names the source of the information; one per other
    # source that carried the story, titled with the source's name.
    vias = dict.fromkeys(
        (v.link, _text(v.source_title)) for v in entry.via if v.link and is_safe_link(v.link)
    )
    links.extend(_link(href, "via", media_type="text/html", title=name) for href, name in vias)
    return [link for link in links if link is not None]


def also_reported(via: Sequence[Via]) -> str:
    """The line appended to a merged story's content: the other sources, each linked
    to its own copy when it has a safe link. "" when there are none."""
    names = []
    for source in dict.fromkeys(via):
        name = html.escape(_text(source.source_title).strip() or "another source")
        if source.link and is_safe_link(source.link):
            names.append(f'<a href="{html.escape(_text(source.link))}">{name}</a>')
        else:
            names.append(name)
    if not names:
        return ""
    return f"<p>Also reported by {', '.join(dict.fromkeys(names))}.</p>"


def _enclosure(enclosure: Enclosure) -> etree._Element | None:
    if not is_safe_link(enclosure.href):
        return None
    # Atom needs a media type with a slash and a byte count (RFC 4287 §4.2.7.3-6):
    # anything else is dropped rather than making the document invalid.
    media_type = _text(enclosure.type or "")
    length = enclosure.length
    return _link(
        enclosure.href,
        "enclosure",
        media_type=media_type if _MEDIA_TYPE.fullmatch(media_type) else None,
        length=length if length is not None and length >= 0 else None,
    )


def _source(origin: OriginFeed, updated: datetime) -> etree._Element:
    """`atom:source` for the origin feed. Its `updated` is the entry's: `OriginFeed`
    carries no date, and the origin changed at least when this entry did."""
    source = etree.Element("source")
    if origin.id:
        etree.SubElement(source, "id").text = _text(origin.id)
    title = _text(origin.title)
    if title:
        etree.SubElement(source, "title", type="text").text = title
    for href, rel in ((origin.link, "alternate"), (origin.self_url, "self")):
        if href and is_safe_link(href):
            source.append(_link(href, rel))
    etree.SubElement(source, "updated").text = _utc(updated).isoformat()
    return source


def _link(
    href: str,
    rel: str,
    *,
    media_type: str | None = None,
    length: int | None = None,
    title: str | None = None,
) -> etree._Element:
    # Attributes in one fixed order: the same entry always serialises the same way.
    attributes = {"href": _text(href), "rel": rel}
    if media_type:
        attributes["type"] = _text(media_type)
    if length is not None:
        attributes["length"] = str(length)
    if title:
        attributes["title"] = _text(title)
    return etree.Element("link", attributes)


def _text(value: str) -> str:
    return _INVALID_XML_CHARS.sub("", value)


def _unique(values: Iterable[str]) -> list[str]:
    return [value for value in dict.fromkeys(values) if value]


def _utc(moment: datetime) -> datetime:
    # A naive datetime is a bug upstream (models.py: all times are UTC-aware);
    # `astimezone` would silently read it as local time.
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}")
    return moment.astimezone(UTC)


# --- writing ------------------------------------------------------------------


def _holds(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def sweep_temp_files(paths: Iterable[Path], before: float) -> list[Path]:
    """Remove the temp files of `paths` (`_replace_atomically`'s) last modified before
    `before` (a time.time()): a process killed between writing one and renaming it
    leaves it behind. Returns those removed; files that cannot be removed are left."""
    removed = []
    for path in paths:
        for temp in path.parent.glob(f".{path.name}.*{_TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                if temp.stat().st_mtime < before:
                    temp.unlink()
                    removed.append(temp)
    return removed


_TEMP_SUFFIX = ".tmp"


def _replace_atomically(path: Path, data: bytes) -> None:
    """Temp file in the target's directory (so `os.replace` is a rename on one file
    system), flushed and fsynced before it replaces the target; never left behind
    unless the process is killed (`sweep_temp_files`)."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as temp:
            # mkstemp creates 0600; the file is served, maybe by another user's server.
            os.fchmod(temp.fileno(), 0o644)
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable. Best effort: some platforms and file systems
    # cannot open or fsync a directory, and the data is already safely in place.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
