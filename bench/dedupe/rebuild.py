"""`make bench-dedupe`, second part: rebuilding the near-duplicate index from the store.

Fills a fresh SQLite store with N entries (default 100,000) that carry real signatures
of distinct generated texts, all first seen within the window, then times what a
restarted daemon does: open the store and load the index from it
(`Store.rebuild_index`). Prints the time, the entries indexed and the Python heap the
index holds per entry (tracemalloc, a second build). A report: exits 0 whatever the
figures (1 only if the harness breaks).

    python bench/dedupe/rebuild.py [--entries 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.config import parse_config
from aggregator.dedupe import content_hash, output_id
from aggregator.dedupe.near import signature
from aggregator.store import Store
from aggregator.store.candidates import NearIndex
from aggregator.store.schema import entries, entry_topics

TARGET_SECONDS = 10.0
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)
SOURCE = "https://wire.example/feed.xml"
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "te",
    "vi",
    "do",
    "pa",
    "ge",
    "zu",
    "ri",
    "mo",
    "fa",
    "li",
    "no",
    "be",
    "ta",
    "ki",
]


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    return ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(size)]


def rows(count: int, rng: random.Random) -> list[dict[str, object]]:
    words = vocabulary(rng)
    made = []
    for n in range(count):
        text = " ".join(rng.choices(words, k=rng.randint(80, 400)))
        key = f"e{n}"
        made.append(
            {
                "source_id": 1, "key": key, "output_id": output_id(SOURCE, key), "guid": key,
                "link": f"https://wire.example/{n}", "title": f"Story {n}", "author": None,
                "content": f"<p>{text}</p>", "summary": "", "published": NOW, "updated": NOW,
                "first_seen": NOW - WINDOW * rng.random(), "source_updated": None,
                "content_hash": content_hash(f"Story {n}", text), "categories": "[]",
                "enclosures": "[]", "removals": "[]", "story_url": f"https://wire.example/{n}",
                "signature": signature(text),
            }
        )  # fmt: skip
    return made


def fill(url: str, count: int, seed: int) -> None:
    store = Store(url)
    config = {
        "topics": {"news": {"title": "News"}},
        "sources": [{"url": SOURCE, "topics": ["news"]}],
    }
    store.sync_sources(parse_config(config), NOW)
    rng = random.Random(seed)
    started = time.perf_counter()
    for start in range(0, count, 10_000):
        batch = rows(min(10_000, count - start), rng)
        for row in batch:
            row["key"] = row["guid"] = f"e{start}-{row['key']}"
            row["output_id"] = output_id(SOURCE, str(row["key"]))
        with store.engine.begin() as conn:
            ids = conn.execute(entries.insert().returning(entries.c.id), batch).scalars().all()
            placed = [{"entry_id": i, "topic_id": "news", "published": NOW} for i in ids]
            conn.execute(entry_topics.insert(), placed)
    print(f"filled {count:,} entries in {time.perf_counter() - started:.1f} s")
    store.close()


def rebuild(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    store = Store(url)
    added = store.rebuild_index(NOW, WINDOW.total_seconds())
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, added


def heap_per_entry(url: str) -> float:
    store = Store(url)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = NearIndex()
    with store.engine.connect() as conn:
        added = index.catch_up(conn, NOW, WINDOW)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    store.close()
    return (after - before) / max(1, added)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as work:
        url = f"sqlite:///{Path(work) / 'agg.db'}"
        fill(url, args.entries, args.seed)
        elapsed, added = rebuild(url)
        verdict = "PASS" if elapsed < TARGET_SECONDS and added == args.entries else "FAIL"
        print(f"rebuild: {added:,} entries indexed in {elapsed:.2f} s (target < 10 s) {verdict}")
        print(f"index heap: {heap_per_entry(url):,.0f} bytes per entry (index and its queue)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
