"""Benchmark corpus generator: N feeds × M entries of realistic article HTML, on disk.

Deterministic: the same (feeds, entries, seed) always writes the same bytes, so runs
on different days compare. Feeds alternate between RSS 2.0 (half of them with CDATA
descriptions, half with escaped `content:encoded`) and Atom 1.0. Each entry is about
4 KB of HTML: paragraphs, links carrying utm_ parameters, an image, a heading, a
list, sometimes a blockquote and a WordPress-style "appeared first on" footer. Every
feed tells its own stories; about 3% of entries are wire copies of a story shared
with other feeds (same title and body, their own guid and link), so cross-source
deduplication has something to do.

It does not serve the files (server.py does) or time anything.

    python bench/generate.py --feeds 1000 --entries 50 --out bench/out/corpus
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

# A cached corpus is reused only if it was written by this very generator source.
GENERATOR_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
ENTRY_HTML_BYTES = 4096
WIRE_SHARE = 0.03
EPOCH = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

_VOCABULARY = """
government minister parliament election vote coalition budget deficit inflation
market investors shares bond yields currency central bank interest rates growth
economy exports imports tariffs trade agreement negotiations summit delegation
officials spokesperson statement report analysis data figures survey quarter
annual percent billion million company chief executive board shareholders profit
revenue losses workers union strike wages contract factory plant production supply
chain shortage energy prices oil gas electricity grid renewable solar wind nuclear
climate emissions targets drought flooding storm season harvest farmers crops
water rivers coast city council mayor residents housing rents construction
transport rail airport traffic commuters police investigation court judge trial
ruling appeal lawyers evidence witnesses hospital doctors nurses patients health
vaccine research university scientists study findings researchers laboratory
software developers release version security vulnerability patch update users
network servers cloud platform service outage engineers startup funding round
school teachers students exams curriculum museum exhibition artists festival film
director audience season team coach players match league championship stadium
border migrants refugees asylum aid agencies humanitarian crisis ceasefire talks
troops defence alliance treaty sanctions embassy diplomats foreign ministry region
province district village community local national international global regional
new old early late first last major minor key senior former current recent
increased reduced expanded delayed approved rejected announced confirmed denied
warned said added noted argued suggested expected planned proposed agreed signed
week month year morning evening today yesterday tomorrow decade century
café Zürich São Paulo München naïve résumé Kraków Malmö Córdoba Reykjavík
"""
_WORDS = _VOCABULARY.split()
_CONNECTIVES = ["and", "but", "while", "after", "before", "because", "although", "as", "since"]
_FILLERS = ["the", "a", "of", "in", "on", "for", "with", "to", "by", "from", "at", "about"]
_SECTIONS = ["world", "business", "politics", "science", "technology", "culture", "sport"]
_TOPIC_NAMES = [
    "world",
    "europe",
    "americas",
    "asia",
    "business",
    "markets",
    "science",
    "technology",
    "culture",
    "sport",
]


@dataclass(frozen=True)
class Story:
    """One article's text, independent of the feed that carries it."""

    title: str
    summary: str
    slug: str
    html_parts: tuple[str, ...]  # article HTML with `{site}` placeholders for the feed's host
    author: str


@dataclass(frozen=True)
class Manifest:
    feeds: int
    entries: int
    seed: int
    generator: str = GENERATOR_DIGEST

    def feed_format(self, index: int) -> str:
        return ("rss-cdata", "atom", "rss-encoded")[index % 3]

    def topics_of(self, index: int) -> list[str]:
        """Each feed is in one topic, every third feed in a second one too."""
        first = _TOPIC_NAMES[index % len(_TOPIC_NAMES)]
        if index % 3:
            return [first]
        return [first, _TOPIC_NAMES[(index * 7 + 3) % len(_TOPIC_NAMES)]]

    @property
    def topic_names(self) -> list[str]:
        return list(_TOPIC_NAMES)


class _Writer:
    """Text made of seeded random sentences drawn from a fixed pool."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sentences = [self._sentence() for _ in range(20_000)]

    def _sentence(self) -> str:
        rng = self.rng
        words = []
        for _ in range(rng.randint(9, 22)):
            words.append(rng.choice(_WORDS) if rng.random() < 0.7 else rng.choice(_FILLERS))
        if rng.random() < 0.4:
            words.insert(rng.randint(2, len(words) - 1), rng.choice(_CONNECTIVES))
        if rng.random() < 0.25:
            words.insert(rng.randint(1, len(words) - 1), f"{rng.randint(2, 980)}")
        if rng.random() < 0.2:
            words[rng.randint(1, len(words) - 2)] += ","
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def words(self, low: int, high: int) -> str:
        return " ".join(self.rng.choice(_WORDS) for _ in range(self.rng.randint(low, high)))

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.rng.choice(self.sentences) for _ in range(sentences))


def _link(rng: random.Random, text: str, path: str) -> str:
    campaign = rng.choice(["rss", "newsletter", "social", "feed"])
    query = f"utm_source={campaign}&amp;utm_medium=feed&amp;utm_campaign=daily"
    if rng.random() < 0.3:
        query += f"&amp;ref={rng.randint(1000, 9999)}"
    return f'<a href="https://{{site}}/{path}?{query}">{escape(text, quote=False)}</a>'


def _with_links(writer: _Writer, text: str, slug: str) -> str:
    """Turn two or three word runs of a paragraph into tracked links."""
    rng = writer.rng
    words = escape(text, quote=False).split(" ")
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(0, max(1, len(words) - 3))
        span = " ".join(words[at : at + 3])
        if "<" in span or "&" in span:
            continue
        words[at : at + 3] = [_link(rng, span, f"{rng.choice(_SECTIONS)}/{slug}-{at}")]
    return " ".join(words)


def _story(writer: _Writer, number: int) -> Story:
    rng = writer.rng
    title = writer.words(5, 11).capitalize()
    ascii_title = title.lower().encode("ascii", "ignore").decode()
    slug = f"{'-'.join(ascii_title.split()[:6])}-{number}"
    parts = [
        f'<figure><img src="https://cdn.{{site}}/images/2025/{number % 12 + 1:02d}/{slug}.jpg" '
        f'alt="{escape(writer.words(4, 8))}" width="1200" height="675">'
        f"<figcaption>{escape(writer.paragraph(1))}</figcaption></figure>"
    ]
    size = len(parts[0])
    heading_at, list_at = rng.randint(2, 3), rng.randint(4, 6)
    while size < ENTRY_HTML_BYTES - 600:
        index = len(parts)
        if index == heading_at:
            part = f"<h2>{escape(writer.words(3, 7).capitalize())}</h2>"
        elif index == list_at:
            items = "".join(f"<li>{escape(writer.paragraph(1))}</li>" for _ in range(3))
            part = f"<ul>{items}</ul>"
        elif index == list_at + 2 and rng.random() < 0.4:
            part = f"<blockquote><p>&#8220;{escape(writer.paragraph(2))}&#8221;</p></blockquote>"
        else:
            text = writer.paragraph(rng.randint(3, 5))
            part = f"<p>{_with_links(writer, text, slug)}</p>"
        parts.append(part)
        size += len(part.encode())
    summary = writer.paragraph(2)
    author = f"{writer.words(1, 1).capitalize()} {writer.words(1, 1).capitalize()}"
    return Story(title, summary, slug, tuple(parts), author)


def _footer(rng: random.Random, story: Story, site: str) -> str:
    if rng.random() < 0.5:
        return ""
    return (
        f'<p>The post <a href="https://{site}/{story.slug}/">{escape(story.title)}</a> '
        f'appeared first on <a href="https://{site}/">{site}</a>.</p>'
    )


def _entry_html(rng: random.Random, story: Story, site: str) -> str:
    return "\n".join(story.html_parts).replace("{site}", site) + _footer(rng, story, site)


def _rss_item(
    rng: random.Random, story: Story, site: str, guid: str, when: datetime, fmt: str
) -> str:
    body = _entry_html(rng, story, site)
    link = f"https://{site}/{rng.choice(_SECTIONS)}/{story.slug}/"
    if fmt == "rss-cdata":
        content = f"<description><![CDATA[{body}]]></description>"
    else:
        content = (
            f"<description>{escape(story.summary, quote=False)}</description>\n"
            f"<content:encoded>{escape(body, quote=False)}</content:encoded>"
        )
    return (
        f"<item>\n<title>{escape(story.title, quote=False)}</title>\n<link>{link}</link>\n"
        f'<guid isPermaLink="false">{guid}</guid>\n<pubDate>{format_datetime(when)}</pubDate>\n'
        f"<dc:creator>{escape(story.author, quote=False)}</dc:creator>\n"
        f"<category>{rng.choice(_SECTIONS)}</category>\n{content}\n</item>\n"
    )


def _atom_entry(rng: random.Random, story: Story, site: str, guid: str, when: datetime) -> str:
    body = _entry_html(rng, story, site)
    link = f"https://{site}/{rng.choice(_SECTIONS)}/{story.slug}/"
    stamp = when.isoformat().replace("+00:00", "Z")
    return (
        f"<entry>\n<id>{guid}</id>\n<title>{escape(story.title, quote=False)}</title>\n"
        f'<link rel="alternate" type="text/html" href="{link}"/>\n'
        f"<published>{stamp}</published>\n<updated>{stamp}</updated>\n"
        f"<author><name>{escape(story.author, quote=False)}</name></author>\n"
        f'<category term="{rng.choice(_SECTIONS)}"/>\n'
        f"<summary>{escape(story.summary, quote=False)}</summary>\n"
        f'<content type="html">{escape(body, quote=False)}</content>\n</entry>\n'
    )


def _feed_document(fmt: str, index: int, site: str, items: list[str]) -> str:
    title = f"Bench News {index}"
    if fmt == "atom":
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
            f"<id>urn:bench:feed:{index}</id>\n<title>{title}</title>\n"
            f"<subtitle>Stories from {site}</subtitle>\n"
            f'<link rel="alternate" href="https://{site}/"/>\n'
            f'<link rel="self" href="https://{site}/feed.atom"/>\n'
            f"<updated>{EPOCH.isoformat().replace('+00:00', 'Z')}</updated>\n"
            + "".join(items)
            + "</feed>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{title}</title>\n<link>https://{site}/</link>\n"
        f"<description>Stories from {site}</description>\n<language>en</language>\n"
        f'<atom:link rel="self" type="application/rss+xml" href="https://{site}/feed/"/>\n'
        f"<lastBuildDate>{format_datetime(EPOCH)}</lastBuildDate>\n"
        + "".join(items)
        + "</channel>\n</rss>\n"
    )


def _feed(manifest: Manifest, index: int, writer: _Writer, wire: list[Story]) -> str:
    rng = writer.rng
    fmt = manifest.feed_format(index)
    site = f"news{index}.example.org"
    items, used_wire = [], set()
    for number in range(manifest.entries):
        if wire and rng.random() < WIRE_SHARE:
            pick = rng.randrange(len(wire))
            if pick in used_wire:
                continue
            used_wire.add(pick)
            story = wire[pick]
        else:
            story = _story(writer, index * 1_000_000 + number)
        guid = f"urn:bench:{index}:{number}"
        when = EPOCH - timedelta(minutes=37 * number + index % 60)
        if fmt == "atom":
            items.append(_atom_entry(rng, story, site, guid, when))
        else:
            items.append(_rss_item(rng, story, site, guid, when, fmt))
    while len(items) < manifest.entries:  # a skipped repeat of a wire story: fill in
        number = len(items) + manifest.entries
        story = _story(writer, index * 1_000_000 + number)
        guid = f"urn:bench:{index}:{number}"
        when = EPOCH - timedelta(minutes=41 * number)
        item = (
            _atom_entry(rng, story, site, guid, when)
            if fmt == "atom"
            else _rss_item(rng, story, site, guid, when, fmt)
        )
        items.append(item)
    return _feed_document(fmt, index, site, items)


def feed_path(root: Path, index: int) -> Path:
    return root / "feed" / f"{index}.xml"


def generate(root: Path, feeds: int, entries: int, seed: int = 1) -> Manifest:
    """Write the corpus under `root` (reused as is when it already holds this one)."""
    manifest = Manifest(feeds, entries, seed)
    marker = root / "manifest.json"
    if marker.exists() and json.loads(marker.read_text()) == manifest.__dict__:
        return manifest
    (root / "feed").mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    for stale in (root / "feed").glob("*.xml"):
        stale.unlink()
    writer = _Writer(random.Random(seed))
    wire = [_story(writer, -n) for n in range(1, max(20, feeds // 5) + 1)]
    for index in range(feeds):
        feed_path(root, index).write_text(_feed(manifest, index, writer, wire), encoding="utf-8")
    marker.write_text(json.dumps(manifest.__dict__))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "corpus")
    args = parser.parse_args()
    generate(args.out, args.feeds, args.entries, args.seed)
    total = sum(p.stat().st_size for p in (args.out / "feed").glob("*.xml"))
    print(f"{args.feeds} feeds x {args.entries} entries, {total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
