"""Labelled corpus of the cleaning benchmark: synthetic sources whose blocks are all labelled.

Deterministic for a seed; all text comes from the word lists and sentence templates
below (nothing copied from real feeds). Each source is one feed (RSS 2.0 with CDATA
descriptions, RSS 2.0 with escaped `content:encoded`, or Atom 1.0) of 8-15 articles
on its own topic. Each source wraps its articles in junk of its profile:

- `catalogue`: junk that known platforms add (WordPress "The post … appeared first
  on …", Medium footers and stat pixels, Substack widgets, FeedBurner flares and
  pixels, share bars, "Continue reading →", newsletter blocks, related posts, 1×1
  images, a first heading repeating the title, `Title | Site` titles);
- `own`: the source's own recurring junk that no rule knows (a masthead, datelines,
  sponsor lines, navigation words, category labels, promo tails, copyright lines,
  photo credits, author bios), at the head, the tail or both;
- `both`, or `clean` (no junk at all).

Every leaf block (and every inline tail and image) is a `scoring.Block` labelled
content or junk; each entry has its gold title. `corpus()` builds it in memory (what
`run.py` uses); `python bench/clean/generate.py` also writes the feeds and
`labels.json` to `bench/out/clean/` for reading.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from scoring import CONTENT, JUNK, Block

EPOCH = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
FORMATS = ("rss-cdata", "atom", "rss-encoded")
CATALOGUE = (
    "wp-footer",
    "medium",
    "substack",
    "feedburner",
    "share-bar",
    "read-more",
    "newsletter",
    "related",
    "pixel",
    "title-heading",
    "title-site",
)
OWN_HEAD = ("own-masthead", "own-dateline", "own-category", "own-sponsor", "own-nav")
OWN_TAIL = ("own-promo", "own-copyright", "own-nav", "own-sponsor", "own-bio")
OWN_CREDIT = "own-credit"
# How many sources of each profile, per 36 (scaled for other counts).
PROFILES = (("clean", 4), ("catalogue", 10), ("own", 10), ("both", 12))

# --- words -------------------------------------------------------------------

_TOPICS = {
    "astronomy": (
        "telescope comet nebula orbit observatory spectrum eclipse crater galaxy "
        "satellite asteroid meteor planet moon instrument detector",
        "faint distant bright frozen rocky massive early southern northern infrared",
        "Atacama, Hawaii, La Palma, Arizona, Namibia, Tasmania",
    ),
    "cooking": (
        "recipe bakery oven dough broth sauce kitchen harvest pepper lentil "
        "noodle pastry market chef menu spice",
        "smoky tender crisp seasonal fragrant bitter sweet slow rustic salty",
        "Oaxaca, Lyon, Naples, Penang, Tbilisi, Valencia",
    ),
    "cycling": (
        "peloton climb stage sprint descent bicycle rider frame gear tyre "
        "route summit breakaway wheel saddle team",
        "steep narrow windy gravel rapid heavy light brutal flat punchy",
        "the Ventoux, Flanders, Girona, the Dolomites, the Pyrenees, Alpe d’Huez",
    ),
    "gardening": (
        "seedling compost hedge orchard meadow pollinator bulb shrub greenhouse "
        "soil root cutting border pond lawn trellis",
        "shady damp sunny hardy native tender fertile sandy acid mature",
        "Kent, Wisley, Hokkaido, Cornwall, Provence, Otago",
    ),
    "software": (
        "compiler database release kernel library protocol parser scheduler "
        "benchmark cache query index migration runtime module thread",
        "concurrent stable faster smaller legacy experimental open portable strict lazy",
        "Berlin, Lisbon, Austin, Toronto, Bangalore, Tallinn",
    ),
    "council": (
        "council budget ward bylaw hearing motion committee road library "
        "park tram levy zoning permit depot crossing",
        "local annual contested unanimous delayed revised municipal regional rural urban",
        "Riverside, Eastgate, Millbrook, Harbourside, Northfield, Old Town",
    ),
    "music": (
        "album orchestra chorus quartet rehearsal concert melody rhythm tour "
        "festival label singer drummer studio score encore",
        "raw lush acoustic restless haunting bright sparse loud intimate brassy",
        "Glasgow, Havana, Lagos, Montréal, Seoul, Bristol",
    ),
    "finance": (
        "bond yield pension fund dividend mortgage lender ledger audit forecast "
        "margin quarter deposit tariff portfolio index",
        "cautious volatile quarterly modest steady sharp weaker stronger fiscal annual",
        "Frankfurt, Singapore, Zürich, Chicago, Mumbai, Luxembourg",
    ),
    "travel": (
        "ferry hostel trail harbour village railway border valley market "
        "island ridge station guide passport lagoon cabin",
        "remote quiet crowded scenic overnight coastal mountain historic humid dusty",
        "the Azores, Patagonia, Lofoten, Kyoto, Zanzibar, Ljubljana",
    ),
    "medicine": (
        "trial clinic vaccine patient dose ward nurse surgeon symptom therapy "
        "cohort enzyme scan registry outbreak sample",
        "chronic early rare acute mild randomised clinical rural paediatric elderly",
        "Leiden, Boston, Geneva, Melbourne, Nairobi, Uppsala",
    ),
    "architecture": (
        "facade tower courtyard staircase timber concrete atrium roof plaza "
        "pavilion archive bridge window vault column terrace",
        "modernist brutalist listed airy sober ornate vacant restored sprawling compact",
        "Rotterdam, Chandigarh, Porto, Brasília, Helsinki, Marseille",
    ),
    "chess": (
        "opening endgame gambit rook bishop knight pawn queen tournament "
        "draw clock move position sacrifice rating board",
        "sharp quiet positional tactical forced winning drawn rapid classical bold",
        "Wijk aan Zee, Reykjavík, Linares, Baku, Chennai, Dortmund",
    ),
}
_VERBS = [
    "reshaped",
    "revealed",
    "measured",
    "tested",
    "replaced",
    "doubled",
    "rebuilt",
    "questioned",
    "delayed",
    "expanded",
    "studied",
    "mapped",
    "traced",
    "challenged",
    "welcomed",
    "reviewed",
]
_SAYING = ["said", "explained", "argued", "noted", "suggested", "recalled", "warned", "admitted"]
_PREPS = ["in", "near", "across", "beyond", "outside", "around", "above", "behind"]
_ADVERBS = [
    "Later",
    "Meanwhile",
    "Until recently",
    "By evening",
    "Even so",
    "In practice",
    "At first",
]
_FIRST = [
    "Ada",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Esme",
    "Farid",
    "Greta",
    "Hiro",
    "Imani",
    "Jonas",
    "Kalani",
    "Lotte",
    "Mateo",
]
_LAST = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Ferreira",
    "Novak",
    "Quispe",
    "Haddad",
    "Brennan",
    "Sato",
    "Varga",
]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_STOCK_HEADINGS = ("What happens next", "Background", "The numbers", "Why it matters")
# Content that mentions words junk rules may look for: the benchmark's precision traps.
_TRAPS = (
    "Readers who subscribe to the old journal still receive it by post every {noun}.",
    "The team said they would share the {noun} data with anyone who asked.",
    "Nobody could read more than a page of the {noun} report before lunch.",
    "The post office near the {noun} closed long before the latest survey.",
    "Related work on the {noun} appeared first in a small regional bulletin.",
)
_SITE_WORDS = [
    "Ledger",
    "Courier",
    "Dispatch",
    "Lantern",
    "Almanac",
    "Review",
    "Notebook",
    "Signal",
    "Gazette",
]
_SITE_PREFIX = [
    "North",
    "Quiet",
    "Little",
    "Open",
    "Copper",
    "Second",
    "Far",
    "Blue",
    "Harbour",
    "Iron",
    "Bright",
]
_TAGLINES = ("Independent since 1998", "Notes from the field", "Slow news, done well")
_BRANDS = [
    "Fernwick Outdoor",
    "Koru Coffee",
    "Halden Bikes",
    "Pellow Insurance",
    "Brightside Books",
]
_SLOGANS = ("Built to last.", "Try it free for a month.", "Proud supporter of local news.")
_PACKAGES = ("our summer series", "the {topic} files", "a special report on {topic}")


@dataclass(frozen=True)
class GoldEntry:
    guid: str
    raw_title: str  # the title in the feed
    title: str  # what the cleaned title should be
    html: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Source:
    index: int
    name: str
    site: str
    url: str
    fmt: str
    topic: str
    profile: str
    kinds: tuple[str, ...]  # the junk kinds this source uses
    body: bytes
    entries: tuple[GoldEntry, ...]


@dataclass(frozen=True)
class _Style:
    """A source's fixed choices: its junk kinds, how often each appears, its wording."""

    name: str
    site: str
    topic: str
    kinds: tuple[str, ...]
    rates: dict[str, float]
    variant: int  # picks one of several wordings per kind
    sponsor: str
    city: tuple[str, ...]


# --- text ----------------------------------------------------------------------


class _Writer:
    """Sentences, paragraphs and headlines on one topic."""

    def __init__(self, rng: random.Random, topic: str) -> None:
        nouns, adjectives, places = _TOPICS[topic]
        self.rng, self.topic = rng, topic
        self.nouns, self.adjectives = nouns.split(), adjectives.split()
        self.places = places.split(", ")

    def person(self) -> str:
        return f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}"

    def sentence(self) -> str:
        r, n, a = self.rng, self.rng.choice(self.nouns), self.rng.choice(self.adjectives)
        m = r.choice(self.nouns)
        forms = (
            f"The {a} {n} {r.choice(_VERBS)} the {m} {r.choice(_PREPS)} {r.choice(self.places)}",
            f"{self.person()} {r.choice(_SAYING)} that the {n} had been {r.choice(_VERBS)} twice",
            f"According to {self.person()}, {r.randint(2, 90)} {n}s {r.choice(_VERBS)} the {m}",
            f"{r.choice(_ADVERBS)}, a {a} {n} {r.choice(_VERBS)} every {m} in sight",
            f"Few expected the {n} to matter",
            f"It took {r.randint(3, 40)} years and one {a} {m} before the {n} {r.choice(_VERBS)} "
            f"anything at all",
        )
        text = r.choice(forms)
        if r.random() < 0.35:
            text += f", while the {r.choice(self.adjectives)} {r.choice(self.nouns)} waited"
        if r.random() < 0.2:
            text += f" for {r.randint(2, 12)} more weeks"
        return text + "."

    def paragraph(self, low: int = 4, high: int = 9) -> str:
        text = " ".join(self.sentence() for _ in range(self.rng.randint(low, high)))
        if self.rng.random() < 0.03:
            trap = self.rng.choice(_TRAPS).format(noun=self.rng.choice(self.nouns))
            text += " " + trap
        return text

    def headline(self) -> str:
        r = self.rng
        forms = (
            f"{r.choice(self.adjectives)} {r.choice(self.nouns)} {r.choice(_VERBS)} "
            f"{r.choice(_PREPS)} {r.choice(self.places)}",
            f"how one {r.choice(self.nouns)} {r.choice(_VERBS)} the {r.choice(self.nouns)}",
            f"{r.randint(3, 99)} {r.choice(self.nouns)}s and the {r.choice(self.adjectives)} "
            f"{r.choice(self.nouns)}",
            f"inside the {r.choice(self.adjectives)} {r.choice(self.nouns)} of "
            f"{r.choice(self.places)}",
        )
        text = r.choice(forms)
        if r.random() < 0.1:
            text = f"Q&A: {text}"
        return text[0].upper() + text[1:]

    def subheading(self) -> str:
        if self.rng.random() < 0.2:
            return self.rng.choice(_STOCK_HEADINGS)
        noun = self.rng.choice(self.nouns)
        return f"The {self.rng.choice(self.adjectives)} {noun}".capitalize()


def _linked(rng: random.Random, text: str, site: str) -> str:
    """`text` as HTML with a few word runs turned into links or emphasis."""
    words = escape(text, quote=False).split(" ")
    for _ in range(rng.randint(0, 3)):
        at = rng.randrange(0, max(1, len(words) - 3))
        span = " ".join(words[at : at + rng.randint(2, 4)])
        if "<" in span:
            continue
        count = len(span.split(" "))
        if rng.random() < 0.75:
            href = f"https://{site}/{rng.choice(['p', 'notes', 'archive'])}/{rng.randint(10, 9999)}"
            words[at : at + count] = [f'<a href="{href}">{span}</a>']
        else:
            words[at : at + count] = [f"<em>{span}</em>"]
    return " ".join(words)


# --- one entry -------------------------------------------------------------------


class _Entry:
    """HTML and gold blocks built side by side."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self.line = -1

    def block(self, html: str, text: str, kind: str, label: str = CONTENT) -> None:
        self.line += 1
        self.parts.append(html)
        self.blocks.append(Block(label, kind, " ".join(text.split()), self.line))

    def inline(self, text: str, kind: str, label: str = JUNK) -> None:
        """A tail on the line of the last block (its HTML is already in that block)."""
        self.blocks.append(Block(label, kind, " ".join(text.split()), self.line))

    def image(self, html: str, marker: str, kind: str, label: str = JUNK) -> None:
        self.parts.append(html)
        self.blocks.append(Block(label, kind, "", -1, marker))

    def lines(self, html: str, texts: list[tuple[str, str, str]]) -> None:
        """A wrapper holding several leaf blocks: (text, kind, label) in order."""
        self.parts.append(html)
        for text, kind, label in texts:
            self.line += 1
            self.blocks.append(Block(label, kind, " ".join(text.split()), self.line))


def _figure(e: _Entry, w: _Writer, style: _Style, slug: str, n: int, credit: bool) -> None:
    caption = w.sentence()
    src = f"https://cdn.{style.site}/img/{slug}-{n}.jpg"
    e.image(
        f'<figure><img src="{src}" alt="{escape(w.headline())}" width="800" height="450">',
        f"{slug}-{n}.jpg",
        "image",
        CONTENT,
    )
    text_html = escape(caption, quote=False)
    if credit and style.variant % 2:
        credit_text = _credit(w, style)
        e.block(
            f"<figcaption>{text_html} <span>{escape(credit_text)}</span></figcaption></figure>",
            caption,
            "caption",
        )
        e.inline(credit_text, OWN_CREDIT)
        return
    e.block(f"<figcaption>{text_html}</figcaption></figure>", caption, "caption")
    if credit:
        credit_text = _credit(w, style)
        e.block(f'<p class="credit">{escape(credit_text)}</p>', credit_text, OWN_CREDIT, JUNK)


def _credit(w: _Writer, style: _Style) -> str:
    if w.rng.random() < 0.5:
        return "Photo: Staff"
    return f"Photo: {w.person()}/{style.name}"


def _body(e: _Entry, w: _Writer, style: _Style, slug: str, credit: bool) -> None:
    """3-8 paragraphs, with sometimes a heading, a list, a quote and images."""
    r = w.rng
    count = r.randint(3, 8)
    heading_at = r.randint(1, count - 1) if r.random() < 0.5 else -1
    list_at = r.randint(1, count) if r.random() < 0.35 else -1
    quote_at = r.randint(1, count) if r.random() < 0.3 else -1
    if r.random() < 0.6:
        _figure(e, w, style, slug, 0, credit)
    for i in range(count):
        if i == heading_at:
            text = w.subheading()
            level = r.choice((2, 3))
            e.block(f"<h{level}>{escape(text)}</h{level}>", text, "heading")
        text = w.paragraph()
        e.block(f"<p>{_linked(r, text, style.site)}</p>", text, "paragraph")
        if i == list_at:
            items = [w.sentence() for _ in range(r.randint(2, 5))]
            tag = r.choice(("ul", "ol"))
            html = "".join(f"<li>{_linked(r, t, style.site)}</li>" for t in items)
            e.lines(f"<{tag}>{html}</{tag}>", [(t, "list-item", CONTENT) for t in items])
        if i == quote_at:
            text = f"“{w.sentence()} {w.sentence()}”"
            e.block(f"<blockquote><p>{escape(text)}</p></blockquote>", text, "quote")
        if i == count // 2 and r.random() < 0.2:
            _figure(e, w, style, slug, 1, credit)


# --- junk ----------------------------------------------------------------------


def _own_head(e: _Entry, kind: str, w: _Writer, style: _Style, when: datetime) -> None:
    name, topic, v = escape(style.name), style.topic.capitalize(), style.variant
    if kind == "own-masthead":
        if v % 2:
            text = f"{style.name} · {_TAGLINES[v % 3]}"
            html = f'<div class="masthead"><strong>{name}</strong> · {_TAGLINES[v % 3]}</div>'
        else:
            text, html = style.name.upper(), f'<p class="site-title">{name.upper()}</p>'
        e.block(html, text, kind, JUNK)
    elif kind == "own-category":
        if v % 2:
            text = f"Filed under: {topic} / {w.rng.choice(w.nouns).capitalize()}"
            e.block(f'<div class="category">{escape(text)}</div>', text, kind, JUNK)
        else:
            e.block(f'<p class="kicker">{topic.upper()}</p>', topic.upper(), kind, JUNK)
    elif kind == "own-nav":
        text = "← Back | Topic: " + topic if v % 2 else f"Back to {topic}"
        link = f'<a href="https://{style.site}/topic/{style.topic}">'
        e.block(f"<p>{link}{escape(text)}</a></p>", text, kind, JUNK)
    elif kind == "own-dateline":
        text = _dateline(w, style, when)
        e.block(f'<p class="dateline"><em>{escape(text)}</em></p>', text, kind, JUNK)
    elif kind == "own-sponsor":
        _sponsor(e, w, style)


def _dateline(w: _Writer, style: _Style, when: datetime) -> str:
    city = w.rng.choice(style.city)
    month = _MONTHS[when.month - 1]
    return (
        f"{month} {when.day}, {when.year} | {city}",
        f"{city.upper()} — {when.day} {month} {when.year}",
        f"Posted {when.date().isoformat()} in {style.topic.capitalize()}",
    )[style.variant % 3]


def _sponsor(e: _Entry, w: _Writer, style: _Style) -> None:
    slogan = w.rng.choice(_SLOGANS)
    if style.variant % 2:
        text = f"Sponsored by {style.sponsor}. {slogan}"
    else:
        text = f"Today's edition is supported by {style.sponsor}. {slogan}"
    e.block(f'<p class="sponsor"><strong>{escape(text)}</strong></p>', text, "own-sponsor", JUNK)


def _own_tail(e: _Entry, kind: str, w: _Writer, style: _Style, author: str) -> None:
    name, topic, v = style.name, style.topic, style.variant
    if kind == "own-promo":
        package = w.rng.choice(_PACKAGES).format(topic=topic)
        text = f"This story is part of {package}. Read the full package here."
        html = (
            f"<p><em>This story is part of {escape(package)}. "
            f'<a href="https://{style.site}/series/">Read the full package here.</a></em></p>'
        )
        e.block(html, text, kind, JUNK)
    elif kind == "own-bio":
        text = f"{author} writes about {topic} for {name}."
        e.block(f'<p class="bio"><em>{escape(text)}</em></p>', text, kind, JUNK)
    elif kind == "own-copyright":
        text = (
            f"© 2025 {name}. All rights reserved.",
            f"Copyright {name} Media Ltd. Reproduction without permission is prohibited.",
            f"{name} © 2025 — reuse under licence only",
        )[v % 3]
        e.block(f"<p><small>{escape(text)}</small></p>", text, kind, JUNK)
    elif kind == "own-nav":
        text = f"← Back to {topic.capitalize()} | Next story →" if v % 2 else "Back to top · Topic"
        e.block(
            f'<p class="nav"><a href="https://{style.site}/">{escape(text)}</a></p>',
            text,
            kind,
            JUNK,
        )
    elif kind == "own-sponsor":
        _sponsor(e, w, style)


def _wp_footer(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    html = (
        f'<p>The post <a href="https://{style.site}/{slug}/">{escape(title)}</a> appeared '
        f'first on <a href="https://{style.site}/">{escape(style.name)}</a>.</p>'
    )
    e.block(html, f"The post {title} appeared first on {style.name}.", "wp-footer", JUNK)


def _medium(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    text = (
        f"{title} was originally published in {style.name} on Medium, where people are "
        "continuing the conversation by highlighting and responding to this story."
    )
    html = (
        f'<hr><p><a href="https://medium.com/p/{slug}">{escape(title)}</a> was originally '
        f'published in <a href="https://medium.com/{style.site}">{escape(style.name)}</a> on '
        "Medium, where people are continuing the conversation by highlighting and "
        "responding to this story.</p>"
    )
    e.block(html, text, "medium", JUNK)
    pixel = (
        '<img src="https://medium.com/_/stat?event=post.clientViewed&amp;'
        f'referrerSource=full_rss&amp;postId={slug[-12:]}" width="1" height="1" alt="">'
    )
    e.image(pixel, "medium.com/_/stat", "medium-pixel")


def _feedburner(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    feed = style.name.replace(" ", "")
    flare = "".join(
        f'<a href="http://feeds.feedburner.com/~ff/{feed}?a={slug[-8:]}:{k}">'
        f'<img src="http://feeds.feedburner.com/~ff/{feed}?d={k}" border="0"></a> '
        for k in ("yIl2AUoC8zA", "qj6IDK7rITs", "7Q72WNTAKBA")
    )
    e.image(f'<div class="feedflare">{flare}</div>', f"~ff/{feed}", "feedburner-flare")
    pixel = f"~r/{feed}/~4/{slug[-10:]}"
    e.image(
        f'<img src="http://feeds.feedburner.com/{pixel}" height="1" width="1" alt=""/>',
        pixel,
        "feedburner-pixel",
    )


def _newsletter(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    texts = [
        f"Get {style.name} in your inbox",
        "Sign up for our free weekly newsletter. No spam, unsubscribe any time.",
        "Sign up",
    ]
    html = (
        f'<div class="newsletter-signup"><h4>{escape(texts[0])}</h4><p>{texts[1]}</p>'
        f'<p><a class="button" href="https://{style.site}/newsletter/">Sign up</a></p></div>'
    )
    e.lines(html, [(t, "newsletter", JUNK) for t in texts])


def _related(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    titles = [w.headline() for _ in range(3)]
    head = "Related" if style.variant % 2 else "Related posts:"
    items = "".join(
        f'<li><a href="https://{style.site}/{i}/" rel="bookmark">{escape(t)}</a></li>'
        for i, t in enumerate(titles)
    )
    wrap = "jp-relatedposts" if style.variant % 2 else "yarpp-related"
    html = f'<div class="{wrap}"><h3>{head}</h3><ol>{items}</ol></div>'
    e.lines(html, [(t, "related", JUNK) for t in (head, *titles)])


def _pixel(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    src = f"https://stats.{style.site}/px/{slug[-10:]}.gif"
    size = ('width="1" height="1"', 'style="width:1px;height:1px"', 'height="1" width="1"')
    e.image(f'<img src="{src}" {size[style.variant % 3]} alt="">', f"/px/{slug[-10:]}.gif", "pixel")


def _substack(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    base = f"https://{style.site.split('.')[0]}.substack.com"
    text = (
        f"Thanks for reading {style.name}! "
        "Subscribe for free to receive new posts and support my work."
    )
    html = (
        '<div class="subscription-widget-wrap"><div class="subscription-widget show-subscribe">'
        f'<div class="preamble"><p class="cta-caption">{escape(text)}</p></div>'
        '<form class="subscription-widget-subscribe"><input type="email" class="email-input" '
        'name="email" placeholder="Type your email…" tabindex="-1">'
        '<input type="submit" class="button primary" value="Subscribe"></form></div></div>'
    )
    e.block(html, text, "substack", JUNK)
    label = ("Share", "Subscribe now", "Leave a comment")[style.variant % 3]
    html = (
        f'<p class="button-wrapper" data-attrs=\'{{"url":"{base}/p/{slug}?utm_source=substack",'
        f'"text":"{label}"}}\'><a class="button primary" href="{base}/p/{slug}?utm_source='
        f'substack&amp;utm_medium=email&amp;action=share"><span>{label}</span></a></p>'
    )
    e.block(html, label, "substack", JUNK)


def _share_bar(e: _Entry, w: _Writer, style: _Style, title: str, slug: str) -> None:
    link = f"https://{style.site}/{slug}/"
    if style.variant % 2:
        buttons = "".join(
            f'<li class="share-{s.lower()}"><a rel="nofollow noopener noreferrer" '
            f'class="share-{s.lower()} sd-button share-icon" href="{link}?share={s.lower()}" '
            f'target="_blank" title="Click to share on {s}"><span>{s}</span></a></li>'
            for s in ("Twitter", "Facebook")
        )
        html = (
            '<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block '
            'sd-social sd-social-icon-text sd-sharing"><h3 class="sd-title">Share this:</h3>'
            f'<div class="sd-content"><ul>{buttons}<li class="share-end"></li></ul>'
            "</div></div></div>"
        )
        texts = ["Share this:", "Twitter", "Facebook"]
        e.lines(html, [(t, "share-bar", JUNK) for t in texts])
        return
    quoted = link.replace(":", "%3A").replace("/", "%2F")
    name = escape(title).replace(" ", "%20")
    html = "<p>" + "".join(
        f'<a class="a2a_button_{s}" href="https://www.addtoany.com/add_to/{s}?linkurl={quoted}'
        f'&amp;linkname={name}" title="{s.capitalize()}" rel="nofollow noopener" '
        'target="_blank"></a>'
        for s in ("facebook", "twitter", "email")
    )
    html += (
        '<a class="a2a_dd addtoany_share_save addtoany_share" '
        f'href="https://www.addtoany.com/share#url={quoted}&amp;title={name}">Share</a></p>'
    )
    e.block(html, "Share", "share-bar", JUNK)


def _read_more(e: _Entry, style: _Style, link: str) -> None:
    last = e.blocks[-1] if e.blocks else None
    if style.variant % 2 and last is not None and last.kind == "paragraph":
        tail = (
            f' <a class="more-link" href="{link}">Continue reading '
            '<span class="meta-nav">→</span></a>'
        )
        e.parts[-1] = e.parts[-1].removesuffix("</p>") + tail + "</p>"
        e.inline("Continue reading →", "read-more")
        return
    text = ("Read more", "Read more »", "Continue reading →")[style.variant % 3]
    e.block(
        f'<p><a class="more-link" href="{link}">{escape(text)}</a></p>', text, "read-more", JUNK
    )


# --- entries and sources -----------------------------------------------------------

_CATALOGUE_TAILS = {
    "wp-footer": _wp_footer,
    "medium": _medium,
    "substack": _substack,
    "feedburner": _feedburner,
    "share-bar": _share_bar,
    "newsletter": _newsletter,
    "related": _related,
    "pixel": _pixel,
}
_HEAD_ORDER = ("own-masthead", "own-category", "own-nav", "own-dateline", "own-sponsor")
_TAIL_ORDER = ("own-promo", "own-bio", "share-bar", "related", "newsletter", "substack")
_TAIL_ORDER += ("own-sponsor", "own-nav", "own-copyright", "wp-footer", "medium", "feedburner")
_TAIL_ORDER += ("pixel",)


def _entry(
    style: _Style, w: _Writer, head: set[str], tail: set[str], guid: str, when: datetime
) -> tuple[GoldEntry, str]:
    r = w.rng
    present = {k for k in style.kinds if r.random() < style.rates[k]}
    title = w.headline()
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = "-".join(re.sub(r"[^a-z0-9]+", " ", ascii_title.lower()).split()[:5])
    slug = f"{slug}-{guid.rsplit(':', 1)[-1]}{r.randint(100, 999)}"
    author = w.person()
    raw_title = title
    if "title-site" in present:
        raw_title = title + (" | ", " – ", " — ")[style.variant % 3] + style.name
    e = _Entry()
    for kind in _HEAD_ORDER:
        if kind in present and kind in head:
            _own_head(e, kind, w, style, when)
    if "title-heading" in present:
        level = (1, 2)[style.variant % 2]
        e.block(f"<h{level}>{escape(title)}</h{level}>", title, "title-heading", JUNK)
    _body(e, w, style, slug, OWN_CREDIT in present)
    if "read-more" in present:
        _read_more(e, style, f"https://{style.site}/{slug}/")
    for kind in _TAIL_ORDER:
        if kind not in present:
            continue
        if kind.startswith("own-"):
            if kind in tail:
                _own_tail(e, kind, w, style, author)
        else:
            _CATALOGUE_TAILS[kind](e, w, style, title, slug)
    html = "\n".join(e.parts)
    return GoldEntry(guid, raw_title, title, html, tuple(e.blocks)), author


def _profiles(sources: int, rng: random.Random) -> list[str]:
    per36 = [name for name, count in PROFILES for _ in range(count)]
    rng.shuffle(per36)
    return [per36[i % len(per36)] for i in range(sources)]


def _style(
    index: int, profile: str, counters: dict[str, int], rng: random.Random
) -> tuple[_Style, set[str], set[str]]:
    topic = list(_TOPICS)[index % len(_TOPICS)]
    name = f"The {_SITE_PREFIX[index % len(_SITE_PREFIX)]} {_SITE_WORDS[index % len(_SITE_WORDS)]}"
    if index >= len(_SITE_PREFIX):
        name += f" {topic.capitalize()}"
    site = f"{name.lower().removeprefix('the ').replace(' ', '')}.example"
    kinds: list[str] = []
    head: set[str] = set()
    tail: set[str] = set()
    if profile in ("catalogue", "both"):
        c = counters["catalogue"] = counters.get("catalogue", -1) + 1
        kinds += dict.fromkeys(
            (CATALOGUE[c % len(CATALOGUE)], CATALOGUE[(c * 5 + 3) % len(CATALOGUE)])
        )
        if rng.random() < 0.4:
            kinds.append(rng.choice([k for k in CATALOGUE if k not in kinds]))
    if profile in ("own", "both"):
        o = counters["own"] = counters.get("own", -1) + 1
        where = ("head", "tail", "both")[o % 3]
        if where != "tail":
            head = set(rng.sample(OWN_HEAD, rng.randint(1, 2)))
        if where != "head":
            tail = set(rng.sample([k for k in OWN_TAIL if k not in head], rng.randint(1, 2)))
        kinds += sorted(head | tail)
        if rng.random() < 0.4:
            kinds.append(OWN_CREDIT)
    rates = {k: rng.choice((1.0, 1.0, 0.9, 0.75)) for k in kinds}
    style = _Style(
        name,
        site,
        topic,
        tuple(sorted(kinds)),
        rates,
        rng.randrange(6),
        rng.choice(_BRANDS),
        tuple(rng.sample(_TOPICS[topic][2].split(", "), 3)),
    )
    return style, head, tail


def _source(
    index: int, profile: str, counters: dict[str, int], rng: random.Random, entries: tuple[int, int]
) -> Source:
    style, head, tail = _style(index, profile, counters, rng)
    writer = _Writer(rng, style.topic)
    fmt = FORMATS[index % len(FORMATS)]
    gold, items = [], []
    for n in range(rng.randint(*entries)):
        guid = f"urn:clean-bench:{index}:{n}"
        when = EPOCH - timedelta(hours=19 * n + index)
        entry, author = _entry(style, writer, head, tail, guid, when)
        gold.append(entry)
        items.append(_item(fmt, entry, style, author, when))
    url = f"https://{style.site}/feed/"
    body = _document(fmt, style, items).encode()
    return Source(
        index,
        style.name,
        style.site,
        url,
        fmt,
        style.topic,
        profile,
        style.kinds,
        body,
        tuple(gold),
    )


def _item(fmt: str, entry: GoldEntry, style: _Style, author: str, when: datetime) -> str:
    link = f"https://{style.site}/{entry.guid.rsplit(':', 1)[-1]}/"
    title = escape(entry.raw_title, quote=False)
    if fmt == "atom":
        stamp = when.isoformat().replace("+00:00", "Z")
        return (
            f"<entry><id>{entry.guid}</id><title>{title}</title>"
            f'<link rel="alternate" href="{link}"/><published>{stamp}</published>'
            f"<updated>{stamp}</updated><author><name>{escape(author)}</name></author>"
            f'<content type="html">{escape(entry.html, quote=False)}</content></entry>\n'
        )
    if fmt == "rss-cdata":
        content = f"<description><![CDATA[{entry.html}]]></description>"
    else:
        content = f"<content:encoded>{escape(entry.html, quote=False)}</content:encoded>"
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{entry.guid}</guid><pubDate>{format_datetime(when)}</pubDate>'
        f"<dc:creator>{escape(author)}</dc:creator>{content}</item>\n"
    )


def _document(fmt: str, style: _Style, items: list[str]) -> str:
    name = escape(style.name)
    if fmt == "atom":
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>https://{style.site}/</id><title>{name}</title>"
            f'<link rel="alternate" href="https://{style.site}/"/>'
            f"<updated>{EPOCH.isoformat().replace('+00:00', 'Z')}</updated>\n"
            + "".join(items)
            + "</feed>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{name}</title><link>https://{style.site}/</link>"
        f"<description>{style.topic.capitalize()} from {name}</description>\n"
        + "".join(items)
        + "</channel></rss>\n"
    )


@dataclass(frozen=True)
class Corpus:
    seed: int
    sources: tuple[Source, ...] = field(default=())

    @property
    def entries(self) -> int:
        return sum(len(s.entries) for s in self.sources)


def corpus(sources: int = 36, seed: int = 1, entries: tuple[int, int] = (8, 15)) -> Corpus:
    """The labelled sources, built in memory; the same arguments give the same bytes."""
    rng = random.Random(seed)
    profiles = _profiles(sources, rng)
    counters: dict[str, int] = {}
    built = tuple(_source(i, profiles[i], counters, rng, entries) for i in range(sources))
    return Corpus(seed, built)


def write(corpus: Corpus, out: Path) -> None:
    """The feeds as `<index>.xml` and every label in `labels.json`, under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.xml"):
        stale.unlink()
    labels = []
    for source in corpus.sources:
        (out / f"{source.index}.xml").write_bytes(source.body)
        entries = [
            {
                "guid": e.guid,
                "title": e.title,
                "raw_title": e.raw_title,
                "blocks": [asdict(b) for b in e.blocks],
            }
            for e in source.entries
        ]
        meta = {k: getattr(source, k) for k in ("index", "name", "url", "fmt", "topic", "profile")}
        labels.append({**meta, "kinds": list(source.kinds), "entries": entries})
    (out / "labels.json").write_text(
        json.dumps({"seed": corpus.seed, "sources": labels}, indent=1, ensure_ascii=False)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=36)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "out" / "clean")
    args = parser.parse_args()
    built = corpus(args.sources, args.seed)
    write(built, args.out)
    print(f"{len(built.sources)} sources, {built.entries} entries in {args.out}")


if __name__ == "__main__":
    main()
