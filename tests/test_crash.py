"""Killing `aggregator once` at any instant leaves old-or-new complete feeds and a
consistent store; the next run finishes the work."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import feedparser
import pytest

from aggregator.store import Store
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import Item, article, cli, popen, rss, write_config
from tests.loopback import Loopback

pytestmark = pytest.mark.slow
SOURCES = 24


def serve(loopback: Loopback, generation: int) -> None:
    for n in range(SOURCES):
        items = [
            Item(
                f"s{n}-{i}",
                f"Story {n}.{i} v{generation}",
                f"https://s{n}.example/{i}",
                article(f"topic{n}x{i}g{generation}", 6),
            )
            for i in range(20)
        ]
        loopback.feed(f"/s{n}.xml", rss(f"Source {n}", items), etag=f'"g{generation}"')


def check_consistent(root: Path) -> None:
    for path in (root / "feeds").glob("*.xml"):
        data = path.read_bytes()
        assert not feedparser.parse(data).bozo, path
        if SCHEMA_AVAILABLE:
            assert validate_atom(data) == [], path
    assert not [p for p in (root / "feeds").iterdir() if not p.name.endswith(".xml")]
    store = Store(f"sqlite:///{root / 'data' / 'test.db'}")
    try:
        assert store.integrity_check() == []
    finally:
        store.close()


def test_sigkill_at_random_instants(loopback: Loopback, tmp_path: Path) -> None:
    rng = random.Random(20251126)
    config = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"a": {"title": "A"}, "b": {"title": "B"}},
            "sources": [
                {"url": loopback.url(f"/s{n}.xml"), "topics": ["a", "b"][: 1 + n % 2]}
                for n in range(SOURCES)
            ],
            "poll": {"host_spacing": "0s", "per_host": 4, "workers": 4, "timeout": "5s"},
        },
    )
    started = time.monotonic()
    serve(loopback, 0)
    assert cli("once", "-c", str(config), cwd=tmp_path).returncode == 0
    full_run = time.monotonic() - started
    for generation in range(1, 9):
        serve(loopback, generation)
        process = popen("once", "-c", str(config), cwd=tmp_path, new_session=True)
        time.sleep(rng.uniform(0.05, full_run))
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)
        check_consistent(tmp_path)
    result = cli("once", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check_consistent(tmp_path)
    a = feedparser.parse((tmp_path / "feeds" / "a.xml").read_bytes())
    assert a.entries and all(e.title.endswith("v8") for e in a.entries)
