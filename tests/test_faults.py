"""Resource faults (issue 6): a disk that fills up under the published feeds. The
error is clear, the feed on disk stays whole and valid, nothing is left behind, and
the next publish after the fault clears writes the news."""

from __future__ import annotations

import errno
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from aggregator import publish
from aggregator.config import parse_config
from aggregator.fetch import FakeFetcher
from aggregator.pipeline import Pipeline
from aggregator.store import Store
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import Item, article, rss

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
URL = "https://a.example/feed"
FIRST = Item("a-1", "First story", "https://a.example/1", article("first"))
SECOND = Item("a-2", "Second story", "https://a.example/2", article("second"),
              "Tue, 25 Feb 2025 12:00:00 +0000")  # fmt: skip


def test_a_full_disk_keeps_the_old_feed_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": URL, "topics": ["t"]}],
            "output": {"dir": "feeds"},
            "poll": {"processes": 0},
        },
        tmp_path,
    )
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    bodies = iter([rss("A", [FIRST]), rss("A", [SECOND, FIRST])])
    fetcher = FakeFetcher(lambda location, validators: FakeFetcher.result(URL, next(bodies)))
    feed = config.output_dir / "t.xml"
    with Pipeline(config, store, fetcher) as pipeline:
        pipeline.poll(store.sources(), NOW)
        assert pipeline.publish(NOW) == [feed]
        before = feed.read_bytes()

        real_fsync = os.fsync

        def disk_full(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(publish.os, "fsync", disk_full)
        pipeline.poll(store.sources(), NOW + timedelta(hours=1))
        with caplog.at_level(logging.ERROR, logger="aggregator"):
            assert pipeline.publish(NOW + timedelta(hours=1)) == []  # no crash
        assert f"cannot write {feed}: No space left on device" in caplog.text
        assert feed.read_bytes() == before  # the old feed, whole
        assert sorted(p.name for p in feed.parent.iterdir()) == ["t.xml"]  # no temp left
        assert store.dirty_topics() != []  # still to publish

        monkeypatch.setattr(publish.os, "fsync", real_fsync)  # space again
        assert pipeline.publish(NOW + timedelta(hours=2)) == [feed]
    data = feed.read_bytes()
    assert [e.title for e in feedparser.parse(data).entries] == ["Second story", "First story"]
    if SCHEMA_AVAILABLE:
        assert validate_atom(data) == [] and validate_atom(before) == []
    assert store.dirty_topics() == []
    store.close()
