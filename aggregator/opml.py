"""OPML: the subscription list out (`export_opml`, also served at `/opml`) and in
(`read_opml`, for `aggregator import-opml`). Pure: bytes in, bytes or values out.

Export is OPML 2.0: one `outline type="rss"` per source, with `xmlUrl`, its name (or
the feed's own title), `htmlUrl` when the feed gave its site, and its topics in
`category` ("/world,/tech"), so an export imports back to the same topics. Reading
accepts what feed readers write: nested folders (a folder's title is a category),
`xmlUrl` in any case, `text` or `title`; XML entities are never expanded and nothing
is fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from .errors import ConfigError

if TYPE_CHECKING:
    from lxml import etree


@dataclass(frozen=True, slots=True)
class Subscription:
    """One feed of an OPML list."""

    url: str
    title: str | None
    categories: tuple[str, ...]  # folder titles and `category` paths, outermost first
    site: str | None = None


def export_opml(subscriptions: Iterable[Subscription], now: datetime) -> bytes:
    """The list as an OPML 2.0 document (UTF-8)."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = "aggregator subscriptions"
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ElementTree.SubElement(root, "body")
    for sub in subscriptions:
        attributes = {"type": "rss", "text": sub.title or sub.url, "xmlUrl": sub.url}
        if sub.title:
            attributes["title"] = sub.title
        if sub.site:
            attributes["htmlUrl"] = sub.site
        if sub.categories:
            attributes["category"] = ",".join(f"/{c}" for c in sub.categories)
        ElementTree.SubElement(body, "outline", attributes)
    ElementTree.indent(root)
    data: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


_ENTITY_DECLARATIONS = tuple(
    "<!ENTITY".encode(codec)
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


def read_opml(data: bytes, where: str = "OPML") -> list[Subscription]:
    """The feeds of an OPML document, in document order, each URL once. ConfigError
    naming `where` for a document that is not OPML."""
    from lxml import etree  # here: the daemon serves OPML without loading lxml

    if any(marker in data for marker in _ENTITY_DECLARATIONS):
        # libxml2 substitutes internal entities in attribute values whatever the
        # parser's options; OPML never needs them, so a document declaring any is
        # refused before it is parsed (no expansion, no file read, no fetch).
        raise ConfigError(f"{where}: entity declarations are not allowed in OPML")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{where}: not XML: {exc}") from exc
    if _name(root) != "opml":
        raise ConfigError(f"{where}: not an OPML document (root element {root.tag!r})")
    body = next((el for el in root if _name(el) == "body"), None)
    if body is None:
        raise ConfigError(f"{where}: OPML without a <body>")
    found: dict[str, Subscription] = {}
    _walk(body, (), found)
    return list(found.values())


def _walk(parent: etree._Element, folders: tuple[str, ...], found: dict[str, Subscription]) -> None:
    for outline in parent:
        if _name(outline) != "outline":
            continue
        attributes = {str(k).lower(): str(v).strip() for k, v in outline.attrib.items()}
        title = attributes.get("title") or attributes.get("text") or None
        url = attributes.get("xmlurl")
        if url:
            categories = folders + _categories(attributes.get("category", ""))
            if url not in found:
                found[url] = Subscription(
                    url, title, _unique(categories), attributes.get("htmlurl")
                )
        _walk(outline, folders + ((title,) if title and not url else ()), found)


def _categories(value: str) -> tuple[str, ...]:
    """OPML 2.0 `category`: comma-separated, slash-delimited paths; each path's last
    part names the category."""
    parts = (path.strip().strip("/").split("/")[-1].strip() for path in value.split(","))
    return tuple(part for part in parts if part)


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _name(element: etree._Element) -> str:
    if not isinstance(element.tag, str):
        return ""  # a comment or processing instruction
    return element.tag.rsplit("}", 1)[-1].lower()


def subscriptions_of(
    sources: Iterable[tuple[str, Sequence[str], str | None]],
    known: Mapping[str, tuple[str | None, str | None]],
) -> list[Subscription]:
    """Subscriptions for (url, topics, name) of configured sources; `known` maps a URL
    to the (title, site link) its feed gave, from the store."""
    out = []
    for url, topics, name in sources:
        title, site = known.get(url, (None, None))
        out.append(Subscription(url, name or title, tuple(topics), site))
    return out
