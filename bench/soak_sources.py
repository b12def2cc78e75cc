"""Soak upstream: sources on one loopback server that gain an entry every few seconds.

Source `i` is `/s/<i>.xml` (even `i` RSS 2.0, odd `i` Atom 1.0). Its entries appear
on a schedule fixed by the seed: gaps drawn uniformly from `gap` (seconds) after the
moment the server is built, when `keep` entries of history exist. A request sees the
newest `keep` entries that have appeared by then, with a strong ETag and a
Last-Modified naming the newest one, and gets `304` when its If-None-Match (else
If-Modified-Since) matches (`tests/loopback.py` does the HTTP).
Each entry's link (`https://soak.example/s<i>/<k>`) names it, so a published copy can
be traced back to when it appeared (`appeared`). Bodies are ~80 words drawn from a
made-up vocabulary, long enough for the near-duplicate index, different enough never
to merge, plus a per-source footer line that learning can pick up. `slow_down` makes
every answer late for a while (the soak fills the daemon's pools that way).

It does not watch the daemon (soak_probe.py) or judge anything (soak.py).
"""

from __future__ import annotations

import bisect
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, for tests/

from tests.loopback import Loopback, Reply, Request, not_modified

LINK = re.compile(r"^https://soak\.example/s(\d+)/(\d+)$")
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "sa", "du", "fo", "gre", "bin")


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words = {"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


@dataclass
class _Source:
    """One source's schedule and its last rendered body."""

    index: int
    times: list[float]  # when entry k appeared (server clock, time.time())
    rng: random.Random
    rendered: tuple[int, bytes] = (-1, b"")
    last_request: float | None = None


@dataclass
class Tally:
    """What the server answered, and the gaps between two requests to one source."""

    statuses: dict[int, int] = field(default_factory=dict)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds since last)


class SoakSources:
    """The upstream feeds; `start()` serves them, `stop()` ends the server."""

    def __init__(
        self, count: int, *, seed: int = 1, gap: tuple[float, float] = (2.0, 6.0), keep: int = 10
    ) -> None:
        self.count, self.keep, self.gap = count, keep, gap
        self.words = _vocabulary(random.Random(seed))
        self.started = time.time()
        self._sources = [self._source(seed, i) for i in range(count)]
        self._lock = threading.Lock()
        self._slow: tuple[float, float] = (0.0, 0.0)  # (until, delay)
        self.tally = Tally()
        self.server = Loopback(record=False)
        for i in range(count):
            self.server.handle(f"/s/{i}.xml", self._reply)

    def _source(self, seed: int, index: int) -> _Source:
        rng = random.Random(f"{seed}:{index}")
        history = [self.started - self.gap[1] * (self.keep - 1 - k) for k in range(self.keep)]
        return _Source(index, history, rng)

    def start(self) -> SoakSources:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def slow_down(self, seconds: float, delay: float) -> None:
        """Answer every request `delay` seconds late for the next `seconds`."""
        self._slow = (time.time() + seconds, delay)

    def url(self, index: int) -> str:
        return self.server.url(f"/s/{index}.xml")

    # --- the schedule -------------------------------------------------------------

    def appeared(self, index: int, k: int) -> float:
        """When entry `k` of source `index` appeared (time.time())."""
        with self._lock:
            return self._sources[index].times[k]

    def appeared_by(self, now: float) -> int:
        """Entries that have appeared since the server started, over all sources."""
        with self._lock:
            return sum(self._newest(s, now) + 1 - self.keep for s in self._sources)

    def _newest(self, source: _Source, now: float) -> int:
        """The index of the newest entry of `source` at `now`; extends its schedule."""
        while source.times[-1] <= now:
            source.times.append(source.times[-1] + source.rng.uniform(*self.gap))
        return bisect.bisect_right(source.times, now) - 1

    # --- HTTP ---------------------------------------------------------------------

    def _reply(self, request: Request) -> Reply:
        index = int(request.path.split("?")[0].removeprefix("/s/").removesuffix(".xml"))
        now = time.time()
        with self._lock:
            source = self._sources[index]
            newest = self._newest(source, now)
            if source.last_request is not None:
                self.tally.gaps.append((now, now - source.last_request))
            source.last_request = now
            if source.rendered[0] != newest:
                source.rendered = (newest, self._render(source, newest))
            body = source.rendered[1]
            modified = source.times[newest]
        etag, last_modified = f'"s{index}-{newest}"', formatdate(modified, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        if not_modified(request, etag, last_modified):
            self._count(304)
            return Reply(304, b"", headers)
        self._count(200)
        kind = "application/rss+xml" if index % 2 == 0 else "application/atom+xml"
        delay = self._slow[1] if now < self._slow[0] else 0.0
        return Reply(200, body, {**headers, "Content-Type": f"{kind}; charset=utf-8"}, delay)

    def _count(self, status: int) -> None:
        with self._lock:
            self.tally.statuses[status] = self.tally.statuses.get(status, 0) + 1

    # --- documents ----------------------------------------------------------------

    def _render(self, source: _Source, newest: int) -> bytes:
        ks = range(newest, max(-1, newest - self.keep), -1)
        entries = [self._entry(source, k) for k in ks]
        if source.index % 2 == 0:
            return _rss(source.index, entries).encode()
        return _atom(source.index, entries, source.times[newest]).encode()

    def _entry(self, source: _Source, k: int) -> _Entry:
        rng = random.Random(f"{source.index}:{k}")
        title = " ".join(rng.choices(self.words, k=rng.randint(4, 9))).capitalize()
        paragraphs = [
            " ".join(rng.choices(self.words, k=rng.randint(20, 35))).capitalize() + "."
            for _ in range(3)
        ]
        paragraphs.append(f"This story first ran on the Soak Source {source.index} wire.")
        html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        link = f"https://soak.example/s{source.index}/{k}"
        return _Entry(link, title, html, source.times[k])


@dataclass(frozen=True)
class _Entry:
    link: str
    title: str
    html: str
    at: float


def _rss(index: int, entries: list[_Entry]) -> str:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{e.link}</link>"
        f'<guid isPermaLink="true">{e.link}</guid>'
        f"<pubDate>{formatdate(e.at, usegmt=True)}</pubDate>"
        f"<description>{escape(e.html)}</description></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Soak Source {index}</title><link>https://soak.example/s{index}</link>"
        f"<description>Soak source {index}</description>{items}</channel></rss>"
    )


def _atom(index: int, entries: list[_Entry], updated: float) -> str:
    def stamp(at: float) -> str:
        return datetime.fromtimestamp(at, UTC).isoformat()

    items = "".join(
        f"<entry><id>{e.link}</id><title>{escape(e.title)}</title>"
        f'<link rel="alternate" href="{e.link}"/><updated>{stamp(e.at)}</updated>'
        f'<content type="html">{escape(e.html)}</content></entry>'
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>https://soak.example/s{index}</id><title>Soak Source {index}</title>"
        f"<updated>{stamp(updated)}</updated><author><name>Soak</name></author>{items}</feed>"
    )
