"""Labelled data of the dedupe benchmark: feed entries with story ids; it runs no detector.

Deterministic for a seed; all prose comes from `texts.py` (nothing copied from real
articles). Labels are true by construction: every item is written for one story id,
and two items share a story id only when one was derived from the other's text.

- positives: wire articles carried by 2-5 sources with each source's wrappers, markup,
  title suffix and link style (`syndicated`), a lightly edited and retitled copy
  (`edited`, at most ~12% of words changed), the first 50-120 words of it (`teaser`);
- hard negatives: release notes, daily briefings and podcast episodes built from one
  template with a long shared block, follow-ups of an event reusing its names and a
  background paragraph, and a column syndicated by two sources (episode N at A vs
  N+1 at B);
- easy negatives: different stories of one topic, and short link posts of two sources
  that share a title (`unrelated`);
- fill: standalone stories that no pair names, for volume (throughput).

`generate()` builds it in memory; `python generate.py` prints counts and a sanity check.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html import escape, unescape

import texts
from texts import Writer, frame

EPOCH = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
POSITIVE = ("syndicated", "edited", "teaser")
HARD = ("series", "podcast", "follow-up", "briefing", "release-notes")
_TOPICS = tuple(texts.TOPICS)


@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry as the aggregator would see it, with its ground-truth story."""

    key: str  # unique over the dataset
    source: str  # the source feed URL
    source_title: str
    title: str  # as published, site suffix included
    html: str  # the entry content as the feed carries it, wrappers included
    link: str  # as published: tracking params, amp and www variants included
    published: datetime  # aware UTC
    seen: datetime  # when the aggregator first sees it; items are processed in this order
    story: str  # items with the same story id are the same story and must merge
    kind: str  # original, syndicated, edited, teaser, series, podcast, follow-up, ...


@dataclass(frozen=True, slots=True)
class Pair:
    """Two items and whether a detector must merge them."""

    a: str
    b: str
    duplicate: bool
    kind: str  # syndicated/edited/teaser (positives); series, podcast, ..., unrelated
    hard: bool  # the hard negatives: template series, follow-ups


@dataclass(frozen=True, slots=True)
class Dataset:
    """All items (sorted by `seen`, keys unique) and the labelled pairs among them."""

    items: tuple[Item, ...]  # sorted by seen
    pairs: tuple[Pair, ...]


@dataclass(frozen=True, slots=True)
class _Site:
    """A source and its fixed habits: markup, wrappers, title suffix, link style."""

    name: str
    host: str
    topic: str
    markup: str  # "p", "br" or "div"
    curly: bool  # curly quotes and apostrophes
    nbsp: bool  # "&nbsp; " after full stops
    track: bool  # utm links inside the body
    teaser: bool  # carries only the first words of articles
    suffix: str  # "", " | " or " - " before the site name in titles
    head: tuple[str, ...]  # byline, category, photo
    foot: tuple[str, ...]  # wp, origin, newsletter, share, related, copyright
    link: str  # own, own-utm, wire-utm, wire-amp, wire-www
    path: str = "feed.xml"

    @property
    def url(self) -> str:
        return f"https://{self.host}/{self.path}"


def _site(r: random.Random, name: str, host: str, teaser: bool = False) -> _Site:
    heads, feet = ("byline", "category", "photo"), ("wp", "origin", "newsletter", "share")
    return _Site(
        name, host, r.choice(_TOPICS), r.choice(("p", "p", "br", "div")), r.random() < 0.5,
        r.random() < 0.3, r.random() < 0.4, teaser, r.choice(("", "", " | ", " - ")),
        tuple(h for h in heads if r.random() < 0.35),
        tuple(f for f in (*feet, "related", "copyright") if r.random() < 0.3),
        r.choice(("own", "own", "own-utm", "wire-utm", "wire-amp", "wire-www")),
    )  # fmt: skip


def _sites(r: random.Random, count: int) -> list[_Site]:
    names = [f"{p} {w}" for p in texts.SITE_PREFIX for w in texts.SITE_WORD]
    r.shuffle(names)
    sites = []
    for i in range(count):
        name = names[i % len(names)] + (f" {i // len(names) + 1}" if i >= len(names) else "")
        host = re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".example"
        sites.append(_site(r, name, host, teaser=r.random() < 0.2))
    return sites


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def _curly(html: str) -> str:
    return re.sub(r'"([^"]*)"', "“\\1”", html).replace("'", "’")


def _paragraphs(r: random.Random, site: _Site, paras: list[list[str]], lead: str) -> str:
    """The body in the site's markup; `lead` (a dateline) opens the first paragraph."""
    out = []
    for i, sentences in enumerate(paras):
        html = escape((lead if i == 0 else "") + " ".join(sentences), quote=False)
        html = _curly(html) if site.curly else html
        html = html.replace(". ", ".&nbsp; ") if site.nbsp else html
        if site.track and r.random() < 0.3:
            words = html.split(" ")
            at = r.randrange(len(words))
            href = f"https://{site.host}/tag/{at}?utm_source=rss&amp;utm_medium=feed"
            words[at] = f'<a href="{href}">{words[at]}</a>'
            html = " ".join(words)
        out.append(html)
    if site.markup == "br":
        return "<br><br>\n".join(out)
    body = "\n".join(f"<p>{h}</p>" for h in out)
    return f'<div class="entry-content">{body}</div>' if site.markup == "div" else body


def _wrap(r: random.Random, site: _Site, w: Writer, body: str, title: str, by: str) -> str:
    """`body` inside the site's header and footer lines; `by` is "Author, Wire"."""
    wire = by.split(", ")[1] if ", " in by else site.name
    # Only the lines a site uses draw randomness (speed: fill items are most of the data).
    photo = f'{r.randrange(9999)}.jpg"><figcaption>Photo: {texts.person(r)}' if site.head else ""
    related = " · ".join(escape(w.headline()) for _ in range(2)) if "related" in site.foot else ""
    lines = {
        "byline": f'<p class="byline">By {by}</p>',
        "category": f'<p class="kicker">Filed under {site.topic.title()}</p>',
        "photo": f'<figure><img src="https://cdn.{site.host}/i/{photo}/{wire}</figcaption></figure>',
        "wp": f'<p>The post <a href="https://{site.host}/">{escape(title)}</a> appeared first '
        f"on {site.name}.</p>",
        "origin": f"<p><em>Originally published by {wire}.</em></p>",
        "newsletter": f"<p>Subscribe to our newsletter for more {site.topic} news.</p>",
        "share": f'<div class="share">{r.choice(texts.SHARE)}</div>',
        "related": f"<p>Related: {related}</p>",
        "copyright": f"<p>© 2025 {site.name}. All rights reserved.</p>",
    }
    head = "".join(lines[k] for k in site.head)
    return head + body + "".join(lines[k] for k in site.foot)


def _teaser(r: random.Random, site: _Site, paras: list[list[str]], link: str, title: str) -> str:
    """The first 50-120 words, cut mid-sentence, with a read-more ending."""
    words = " ".join(" ".join(p) for p in paras).split()[: r.randint(50, 120)]
    end = r.choice(("…", " […]", f'… <a href="{link}">Read more</a>'))
    html = f"<p>{escape(' '.join(words), quote=False)}{end}</p>"
    if "wp" in site.foot:
        html += (
            f'<p>The post {escape(title)} appeared first on <a href="{link}">{site.name}</a>.</p>'
        )
    return html


def _title(site: _Site, title: str) -> str:
    return f"{title}{site.suffix}{site.name}" if site.suffix else title


def _link(site: _Site, wire_link: str, slug: str, n: int) -> str:
    mode = site.link if wire_link or site.link.startswith("own") else "own"
    return {
        "own": f"https://{site.host}/news/{n}-{slug}",
        "own-utm": f"https://{site.host}/{slug}/?utm_source=rss&utm_medium=rss",
        "wire-utm": f"{wire_link}?utm_source={site.host}&utm_medium=syndication",
        "wire-amp": f"{wire_link}/amp",
        "wire-www": wire_link.replace("https://", "https://www."),
    }[mode]


class _Builder:
    """Collects items and pairs; owns the randomness, the sources and the time window."""

    def __init__(self, rng: random.Random, scale: int) -> None:
        self.rng, self.items, self.pairs = rng, list[Item](), list[Pair]()
        self.span = timedelta(days=14 * scale)
        self.sites = _sites(rng, 40 * scale)
        self.wires = [replace(_site(rng, f"{n} News", f"{h}.example"), link="own", suffix="",
                              head=("byline",)) for n, h in texts.WIRES]  # fmt: skip
        self.singles: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.stories = 0

    def story(self) -> str:
        self.stories += 1
        return f"story-{self.stories}"

    def when(self) -> datetime:
        return EPOCH + self.span * self.rng.random()

    def add(self, site: _Site, title: str, html: str, link: str, published: datetime,
            story: str, kind: str, seen: datetime | None = None) -> str:  # fmt: skip
        """A new item, by default seen 1-30 min after `published`; returns its key."""
        key = f"{site.host}/{len(self.items)}"
        seen = seen or published + timedelta(minutes=self.rng.uniform(1, 30))
        self.items.append(Item(key, site.url, site.name, title, html, link, published,
                               seen, story, kind))  # fmt: skip
        return key

    def pair(self, a: str, b: str, duplicate: bool, kind: str) -> None:
        self.pairs.append(Pair(a, b, duplicate, kind, kind in HARD))

    def series_pairs(self, keys: list[str], kind: str) -> None:
        """Negatives between adjacent items and items two apart in a series."""
        for step in (1, 2):
            for a, b in zip(keys, keys[step:], strict=False):
                self.pair(a, b, False, kind)


def _wire_story(b: _Builder) -> None:
    """One wire article and its 1-4 carriers, one maybe edited, one maybe a teaser."""
    r = b.rng
    wire, w = r.choice(b.wires), Writer(r, frame(r, r.choice(_TOPICS)))
    paras, title, by = w.article(r.randint(300, 1200)), w.headline(), texts.person(r)
    story, t0, n = b.story(), b.when(), r.choices((2, 3, 4, 5), (35, 30, 20, 15))[0]
    link = f"https://{wire.host}/{t0:%Y/%m/%d}/{_slug(title)}"
    carriers = r.sample([s for s in b.sites if not s.teaser], n - 1)
    if r.random() < 0.35:
        carriers[-1] = r.choice([s for s in b.sites if s.teaser])
    edited = r.randrange(len(carriers)) if r.random() < 0.45 else -1
    dated = r.randrange(n)  # the one copy that opens with a dateline
    byline = f"{by}, {wire.name.removesuffix(' News')}"
    lead = f"{r.choice(texts.DATELINES)} ({byline.split(', ')[1]}) — "
    body = _paragraphs(r, wire, paras, lead if dated == 0 else "")
    html = _wrap(r, wire, w, body, title, byline)
    keys = [(b.add(wire, title, html, link, t0, story, "original"), "original")]
    for i, site in enumerate(carriers, 1):
        kind = "teaser" if site.teaser else "edited" if i - 1 == edited else "syndicated"
        text, head = (texts.edit(r, w, paras), w.headline()) if kind == "edited" else (paras, title)
        url = _link(site, link, _slug(head), len(b.items))
        if kind == "teaser":
            html = _teaser(r, site, text, url, head)
        else:
            body = _paragraphs(r, site, text, lead if dated == i else "")
            html = _wrap(r, site, w, body, head, byline)
        seen = t0 + timedelta(hours=r.uniform(0.02, 48))
        published = t0 if r.random() < 0.5 else max(t0, seen - timedelta(minutes=r.uniform(1, 30)))
        key = b.add(site, _title(site, head), html, url, published, story, kind, seen)
        keys.append((key, kind))
    b.singles[w.frame.topic].append((keys[0][0], story))
    for i, (ka, kinda) in enumerate(keys):
        for kb, kindb in keys[i + 1 :]:
            kinds = {kinda, kindb}
            kind = "teaser" if "teaser" in kinds else "edited" if "edited" in kinds else ""
            b.pair(ka, kb, True, kind or "syndicated")


def _follow_ups(b: _Builder) -> None:
    """A story and 1-2 follow-ups: same frame, a quoted background, new reporting."""
    r = b.rng
    fr = frame(r, r.choice(_TOPICS))
    w, site = Writer(r, fr), r.choice(b.sites + b.wires)
    paras, title, t = w.article(r.randint(200, 900)), w.headline(), b.when()
    background = paras[0][: r.randint(1, 3)]
    keys = [_article(b, site, w, paras, title, t, "original")]
    for _ in range(r.choice((1, 1, 2))):
        t += timedelta(hours=r.uniform(6, 120))
        more = Writer(r, fr).article(r.randint(200, 900))
        more.insert(r.randint(1, len(more)), list(background))
        head = r.choice((f"Update: {title}", f"{title}: what comes next", w.headline()))
        site = site if r.random() < 0.6 else r.choice(b.sites)
        keys.append(_article(b, site, w, more, head, t, "follow-up"))
    b.series_pairs(keys, "follow-up")


def _article(b: _Builder, site: _Site, w: Writer, paras: list[list[str]], title: str,
             t: datetime, kind: str) -> str:  # fmt: skip
    """A standalone story at `site` (a teaser if the site only carries teasers)."""
    r = b.rng
    link = _link(site, "", _slug(title), len(b.items))
    if site.teaser:
        html = _teaser(r, site, paras, link, title)
    else:
        html = _wrap(r, site, w, _paragraphs(r, site, paras, ""), title, texts.person(r))
    story = b.story()
    key = b.add(site, _title(site, title), html, link, t, story, kind)
    if kind == "unrelated":
        b.singles[w.frame.topic].append((key, story))
    return key


def _filler(b: _Builder) -> None:
    r = b.rng
    site = r.choice(b.sites)
    w = Writer(r, frame(r, site.topic))
    size = r.choices(((80, 250), (250, 600), (600, 1200)), (75, 20, 5))[0]
    _article(b, site, w, w.article(r.randint(*size)), w.headline(), b.when(), "unrelated")


def _release_notes(b: _Builder, index: int, count: int) -> None:
    """`count` releases of one project: a short changelog and a long shared about block."""
    r = b.rng
    name = texts.PROJECTS[index % 20] + ("", "DB", "JS", "Kit", "IO")[index // 20 % 5]
    site = replace(_site(r, f"{name} releases", f"{name.lower()}.example"), head=(), foot=())
    w = Writer(r, frame(r, "technology"))
    about = "".join(f"<p>{escape(' '.join(p))}</p>" for p in w.article(r.randint(150, 250)))
    major, minor, patch, t, keys = r.randint(0, 3), r.randint(0, 9), 0, b.when(), []
    for _ in range(count):
        minor, patch = (minor + 1, 0) if r.random() < 0.3 else (minor, patch + 1)
        v = f"{major}.{minor}.{patch}"
        changes = "".join(f"<li>{escape(w.change())}</li>" for _ in range(r.randint(3, 7)))
        html = (f"<h2>What's changed</h2><ul>{changes}</ul><h2>About {name}</h2>{about}"
                f"<p>Install: <code>pip install {name.lower()}=={v}</code></p>")  # fmt: skip
        link = f"https://{site.host}/releases/{v}"
        keys.append(b.add(site, f"{name} {v} released", html, link, t, b.story(), "release-notes"))
        t += timedelta(days=r.uniform(2, 12))
    b.series_pairs(keys, "release-notes")


def _briefings(b: _Builder, days: int) -> None:
    """Daily briefings of one source: long shared intro and outro, 1-3 distinct items."""
    r = b.rng
    base = r.choice(b.sites)
    site = replace(base, name=f"{base.name} Morning Briefing", path="briefing.xml", teaser=False)
    w = Writer(r, frame(r, site.topic))
    intro, outro = " ".join(w.sentences(r.randint(120, 180))), w.sentences(r.randint(120, 170))
    sign = f"<p>{escape(' '.join(outro))} That's all for today. {texts.person(r)}</p>"
    t, keys = EPOCH + timedelta(days=r.randrange(b.span.days)), []
    for _ in range(days):
        day = f"{t:%A}, {t.day} {t:%B}"
        items = []
        for _ in range(r.choice((1, 2, 2, 3))):
            iw = Writer(r, frame(r, r.choice(_TOPICS)))
            items.append(f"<h3>{escape(iw.headline())}</h3><p>"
                         f"{escape(' '.join(iw.sentences(r.randint(40, 110))))}</p>")  # fmt: skip
        html = (f"<p>Good morning. Here is your briefing for {day}.</p><p>{escape(intro)}</p>"
                + "".join(items) + sign)  # fmt: skip
        link = f"https://{site.host}/briefing/{t:%Y-%m-%d}"
        keys.append(b.add(site, f"Your briefing for {day}", html, link, t, b.story(), "briefing"))
        t += timedelta(days=1)
    b.series_pairs(keys, "briefing")


def _podcast(b: _Builder, index: int, count: int) -> None:
    """Episodes of one show: 150-400 shared words, 25-120 distinct words each."""
    r = b.rng
    w = Writer(r, frame(r, r.choice(_TOPICS)))
    show = f"The {texts.SHOW_WORDS[index % 10]} {w.frame.keys[0].title()} Podcast"
    site = replace(_site(r, show, f"{_slug(show)}-{index}.example"), head=(), foot=(),
                   path="podcast.xml")  # fmt: skip
    about = "".join(f"<p>{escape(' '.join(p))}</p>" for p in w.article(r.randint(150, 330)))
    credits = f"<p>{texts.SUBSCRIBE} Hosted by {w.frame.people[0][0]}.</p>"
    number, t, keys = r.randint(1, 200), b.when(), []
    for _ in range(count):
        size = r.randint(25, 40) if r.random() < 0.25 else r.randint(30, 120)
        episode = escape(" ".join(Writer(r, w.frame).sentences(size)))
        html = f"<p>{episode}</p><h3>About the show</h3>{about}{credits}"
        title = f"{show} Ep. {number}: {w.headline()}"
        link = f"https://{site.host}/episodes/{number}"
        keys.append(b.add(site, title, html, link, t, b.story(), "podcast"))
        number, t = number + 1, t + timedelta(days=r.uniform(2, 8))
    b.series_pairs(keys, "podcast")


def _shared_column(b: _Builder, count: int) -> None:
    """A column carried by two sources: A_n and B_n merge; A_n vs A_n+1 or B_n+1 do not."""
    r = b.rng
    a, partner = r.sample([s for s in b.sites if not s.teaser], 2)
    w = Writer(r, frame(r, a.topic))
    about = escape(" ".join(w.sentences(r.randint(150, 250))))
    column, author, t = f"{w.frame.keys[1].title()} Week", w.frame.people[0][0], b.when()
    by, ka, kb = f"{author}, {a.name}", list[str](), list[str]()
    for n in range(1, count + 1):
        paras = [w.sentences(r.randint(60, 150))]
        title, story = f"{column}, No. {n}: {w.headline()}", b.story()
        for site, keys, lag in ((a, ka, 0.0), (partner, kb, r.uniform(1, 30))):
            body = _paragraphs(r, site, paras, "") + f"<p><em>About {column}:</em> {about}</p>"
            html = _wrap(r, site, w, body, title, by)
            url = _link(site, f"https://{a.host}/column/{n}", _slug(title), len(b.items))
            keys.append(b.add(site, _title(site, title), html, url, t + lag * HOUR, story,
                              "series"))  # fmt: skip
        b.pair(ka[-1], kb[-1], True, "syndicated")
        t += timedelta(days=7)
    b.series_pairs(ka, "series")
    for x, y in zip(ka, kb[1:], strict=False):
        b.pair(x, y, False, "series")


def _shorts(b: _Builder) -> None:
    """Two short link posts (< 50 words) from two sources, sharing a title only."""
    r = b.rng
    title, t, keys = r.choice(texts.SHORT_TITLES), b.when(), []
    for site in r.sample(b.sites, 2):
        w = Writer(r, frame(r, site.topic))
        text, head = escape(w.sentence()), escape(w.headline())
        html = f'<p>{text} <a href="https://elsewhere.example/{r.randrange(99999)}">{head}</a></p>'
        link = _link(site, "", _slug(title), len(b.items))
        keys.append(b.add(site, title, html, link, t, b.story(), "short"))
        t += timedelta(hours=r.uniform(0, 12))
    b.pair(keys[0], keys[1], False, "unrelated")


def _easy_negatives(b: _Builder, count: int) -> None:
    """Pairs of different standalone stories on the same topic, no pair twice."""
    r, done = b.rng, set[frozenset[str]]()
    while len(done) < count:
        (ka, sa), (kb, sb) = r.sample(b.singles[r.choice(_TOPICS)], 2)
        if sa != sb and frozenset((ka, kb)) not in done:
            done.add(frozenset((ka, kb)))
            b.pair(ka, kb, False, "unrelated")


def generate(seed: int = 1, scale: int = 1) -> Dataset:
    """The dataset for `seed`; `scale` multiplies every count (scale=1: ~2,500 items, 20: ~50k)."""
    b = _Builder(random.Random(seed), scale)
    for _ in range(130 * scale):
        _wire_story(b)
    for _ in range(40 * scale):
        _follow_ups(b)
    for i in range(4 * scale):
        _release_notes(b, i, 8)
        _podcast(b, i, 10)
    for _ in range(3 * scale):
        _briefings(b, 10)
        _shared_column(b, 6)
    for _ in range(20 * scale):
        _shorts(b)
    for _ in range(1800 * scale):
        _filler(b)
    _easy_negatives(b, 150 * scale)
    items = sorted(b.items, key=lambda item: (item.seen, item.key))
    return Dataset(tuple(items), tuple(b.pairs))


# --- sanity check -----------------------------------------------------------------


def _words(html: str) -> list[str]:
    """The visible words (tags stripped by regex: a sanity check, not a parser)."""
    return re.findall(r"\w+", unescape(re.sub(r"<[^>]+>", " ", html)).lower())


def _shingles(html: str) -> set[tuple[str, ...]]:
    words = _words(html)
    return {tuple(words[i : i + 5]) for i in range(max(1, len(words) - 4))}


def _similarity(a: Item, b: Item, kind: str) -> float:
    """Jaccard of the pair's shingles; for teasers, the teaser's containment in the full text."""
    sa, sb = _shingles(a.html), _shingles(b.html)
    if kind == "teaser":
        small, big = (sa, sb) if len(sa) < len(sb) else (sb, sa)
        return len(small & big) / len(small)
    return len(sa & sb) / len(sa | sb)


def check(data: Dataset, scale: int) -> dict[str, list[float]]:
    """Assert the labels' invariants; return each pair kind's similarities."""
    by_key = {item.key: item for item in data.items}
    assert len(by_key) == len(data.items), "keys are unique"
    assert [i.seen for i in data.items] == sorted(i.seen for i in data.items)
    assert len({frozenset((p.a, p.b)) for p in data.pairs}) == len(data.pairs), "no pair twice"
    sims: dict[str, list[float]] = defaultdict(list)
    for p in data.pairs:
        a, b = by_key[p.a], by_key[p.b]
        assert (a.story == b.story) == p.duplicate, p
        assert p.hard == (p.kind in HARD) and p.duplicate == (p.kind in POSITIVE), p
        sims[p.kind].append(_similarity(a, b, p.kind))
    count = Counter((p.duplicate, p.hard) for p in data.pairs)
    assert count[True, False] >= 350 * scale and count[False, True] >= 200 * scale, count
    assert count[False, False] >= 100 * scale, count
    assert all(len(_words(i.html)) < 50 for i in data.items if i.kind == "short")
    return sims


def _report(data: Dataset, sims: dict[str, list[float]]) -> None:
    print(f"items {len(data.items)}:", dict(Counter(i.kind for i in data.items).most_common()))
    print(f"pairs {len(data.pairs)}: hard {sum(p.hard for p in data.pairs)}")
    print("kind           n    p10   p50   p90   share>=0.3 share>=0.6 share>=0.8")
    for kind, values in sorted(sims.items()):
        v, n = sorted(values), len(values)
        shares = [sum(x >= t for x in v) / n for t in (0.3, 0.6, 0.8)]
        print(f"{kind:13} {n:4} " + " ".join(f"{v[int(q * (n - 1))]:5.2f}" for q in (0.1, 0.5, 0.9))
              + "".join(f" {s:10.2f}" for s in shares))  # fmt: skip
    print("(teaser: containment of the teaser in the full copy; others: 5-shingle Jaccard)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    data = generate(args.seed, args.scale)
    print(f"generated in {time.perf_counter() - start:.2f} s")
    _report(data, check(data, args.scale))


if __name__ == "__main__":
    main()
