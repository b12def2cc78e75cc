"""Every corpus file through the whole pipeline (issue 6): each one a source of a
`once`-style poll (local files, worker processes, store, deduplication, publish);
every source ends ok or as a recorded error, and every topic feed validates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from aggregator.config import parse_config
from aggregator.fetch import HttpFetcher
from aggregator.pipeline import Pipeline
from aggregator.store import Store
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import SHARED

CORPUS = SHARED / "corpus"
FILES = sorted([*CORPUS.glob("real/*"), *CORPUS.glob("edge/*")]) if CORPUS.is_dir() else []
TOPICS = 8
NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not FILES, reason=f"no corpus at {CORPUS}")


def test_every_corpus_file_through_the_pipeline_gives_valid_topic_feeds(tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {f"t{n}": {"title": f"Topic {n}"} for n in range(TOPICS)},
            "sources": [
                {"url": str(path), "topics": [f"t{n % TOPICS}", f"t{(n * 7 + 3) % TOPICS}"]}
                for n, path in enumerate(FILES)
            ],
            "output": {"dir": "feeds", "entries": 200},
            "poll": {"processes": 2},
        },
        tmp_path,
    )
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    with HttpFetcher(config.poll) as fetcher, Pipeline(config, store, fetcher) as pipeline:
        results = pipeline.poll(store.sources(), NOW)
        written = pipeline.publish(NOW)
    assert len(results) == len(FILES)
    assert {r.status for r in results} <= {"ok", "error"}
    assert all(r.error for r in results if r.status == "error")  # recorded, with a reason
    ok = sum(r.status == "ok" for r in results)
    assert ok > len(FILES) * 0.7  # most of the corpus is usable feeds
    assert sorted(p.name for p in written) == sorted(f"t{n}.xml" for n in range(TOPICS))
    for path in written:
        data = path.read_bytes()
        if SCHEMA_AVAILABLE:
            assert validate_atom(data) == [], path.name
        assert not feedparser.parse(data).bozo, path.name
    assert store.integrity_check() == []
    store.close()
