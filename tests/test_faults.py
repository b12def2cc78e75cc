"""Resource faults (issue 6): a disk that fills up or an output directory that turns
read-only under the published feeds, and a database locked by another process. The
error is clear, the feed on disk stays whole and valid, nothing is left behind, and
the work is done once the fault clears."""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from aggregator.config import parse_config
from aggregator.fetch import FakeFetcher
from aggregator.pipeline import Pipeline
from aggregator.store import Store
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import Item, article, free_port, get, popen, rss, wait_for, write_config
from tests.loopback import Loopback

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
URL = "https://a.example/feed"
FIRST = Item("a-1", "First story", "https://a.example/1", article("first"))
SECOND = Item("a-2", "Second story", "https://a.example/2", article("second"),
              "Tue, 25 Feb 2025 12:00:00 +0000")  # fmt: skip
LATER = "Tue, 25 Feb 2025 12:00:00 +0000"


def _fails(code: int) -> Callable[..., Any]:
    def fail(*args: object, **kwargs: object) -> Any:
        raise OSError(code, os.strerror(code))

    return fail


# Where the write fails: creating the temp file (the directory turned read-only, or
# its permissions changed), flushing it (the disk filled), or renaming it in place.
FAULTS = {
    "read-only directory": ("tempfile.mkstemp", errno.EROFS),
    "permission denied": ("tempfile.mkstemp", errno.EACCES),
    "disk full": ("os.fsync", errno.ENOSPC),
    "read-only at the rename": ("os.replace", errno.EROFS),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_output_keeps_the_old_feed_and_recovers(
    fault: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
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
    where, code = FAULTS[fault]
    with Pipeline(config, store, fetcher) as pipeline:
        pipeline.poll(store.sources(), NOW)
        assert pipeline.publish(NOW) == [feed]
        before = feed.read_bytes()

        with monkeypatch.context() as patched:
            patched.setattr(f"aggregator.publish.{where}", _fails(code))
            pipeline.poll(store.sources(), NOW + timedelta(hours=1))
            with caplog.at_level(logging.ERROR, logger="aggregator"):
                assert pipeline.publish(NOW + timedelta(hours=1)) == []  # no crash
            assert f"cannot write {feed}: {os.strerror(code)}" in caplog.text
            assert feed.read_bytes() == before  # the old feed, whole
            assert sorted(p.name for p in feed.parent.iterdir()) == ["t.xml"]  # no temp left
            assert store.dirty_topics() != []  # still to publish
            assert pipeline.publish(NOW + timedelta(hours=1, seconds=2)) == []  # retried, fails

        assert pipeline.publish(NOW + timedelta(hours=2)) == [feed]  # the fault cleared
    data = feed.read_bytes()
    assert [e.title for e in feedparser.parse(data).entries] == ["Second story", "First story"]
    if SCHEMA_AVAILABLE:
        assert validate_atom(data) == [] and validate_atom(before) == []
    assert store.dirty_topics() == []
    store.close()


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")  # the write lock, as a backup tool or a shell would take
print("locked", flush=True)
sys.stdin.readline()  # held until the test says
conn.execute("ROLLBACK")
"""


@pytest.mark.slow
def test_a_database_locked_by_another_process_fails_ticks_not_the_daemon(
    loopback: Loopback, tmp_path: Path
) -> None:
    """While another process holds the write lock, polls fail with a clear error and
    `/healthz` says why; the status page still reads; a second daemon on the same store
    is refused. When the lock goes, the next tick polls and the news is published."""
    first = Item("a-1", "First story", "https://a.example/1", article("first"))
    loopback.feed("/a.xml", rss("A", [first]), etag='"1"')
    port = free_port()
    config = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": loopback.url("/a.xml"), "topics": ["t"], "interval": "1s"}],
            "server": {"host": "127.0.0.1", "port": port},
        },
    )
    site = f"http://127.0.0.1:{port}"
    feed = tmp_path / "feeds" / "t.xml"

    def shown() -> list[str]:
        if not feed.exists():
            return []
        return [e.title for e in feedparser.parse(feed.read_bytes()).entries]

    daemon = popen("run", "-c", str(config), cwd=tmp_path)
    try:
        wait_for(lambda: shown() == ["First story"], 30, "the first publish")
        second = popen("run", "-c", str(config), cwd=tmp_path)
        _, refused = second.communicate(timeout=30)
        assert second.returncode == 1
        assert f"is used by another aggregator daemon (pid {daemon.pid}" in refused

        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(tmp_path / "data" / "test.db")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert locker.stdout is not None and locker.stdin is not None
        try:
            assert locker.stdout.readline() == "locked\n"
            news = Item("a-2", "Second story", "https://a.example/2", article("second"), LATER)
            loopback.feed("/a.xml", rss("A", [news, first]), etag='"2"')
            wait_for(lambda: get(f"{site}/healthz")[0] == 503, 30, "/healthz to report the lock")
            reason = get(f"{site}/healthz")[2].decode()
            assert "the store fails, retrying" in reason and "database is locked" in reason
            assert get(f"{site}/")[0] == 200  # readers are not blocked
            assert shown() == ["First story"]
        finally:
            locker.stdin.write("release\n")
            locker.stdin.close()
            locker.wait(timeout=10)
            locker.stdout.close()
        wait_for(lambda: shown() == ["Second story", "First story"], 30, "the news published")
        wait_for(lambda: get(f"{site}/healthz")[0] == 200, 10, "/healthz to recover")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, log = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, log
    assert "failed, retrying every 2s:" in log and "database is locked" in log
    assert "works again" in log and "Traceback" not in log
    store = Store(f"sqlite:///{tmp_path / 'data' / 'test.db'}")
    try:
        assert store.integrity_check() == []
        assert [s.status for s in store.sources()] == ["ok"]
    finally:
        store.close()


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
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
    config.output_dir.mkdir()
    left = config.output_dir / ".t.xml.k1ll3d.tmp"  # a run killed between write and rename
    left.write_bytes(b"<?xml version='1.0'?><feed")
    os.utime(left, (time.time() - 5, time.time() - 5))
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    fetcher = FakeFetcher(lambda location, validators: FakeFetcher.result(URL, rss("A", [FIRST])))
    with Pipeline(config, store, fetcher) as pipeline, caplog.at_level(logging.WARNING):
        pipeline.poll(store.sources(), NOW)
        assert pipeline.publish(NOW) == [config.output_dir / "t.xml"]
    assert sorted(p.name for p in config.output_dir.iterdir()) == ["t.xml"]
    assert f"removed {left}, left by a run that was stopped while writing it" in caplog.text
    store.close()
