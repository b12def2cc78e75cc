"""The daemon as an operator runs it: `aggregator run` in a subprocess, stopped by signals."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import feedparser
import pytest
import yaml

from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import ROOT, Item, article, free_port, get, popen, rss, wait_for, write_config
from tests.loopback import Loopback

pytestmark = pytest.mark.slow


def titles(data: bytes) -> list[str]:
    return [e.title for e in feedparser.parse(data).entries]


def test_run_serves_new_entries_and_stops_on_sigterm(loopback: Loopback, tmp_path: Path) -> None:
    first = Item("n-1", "First story", "https://n.example/1", article("first"))
    loopback.feed("/n.xml", rss("News", [first]), etag='"1"')
    port = free_port()
    config = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"news": {"title": "News"}},
            "sources": [{"url": loopback.url("/n.xml"), "topics": ["news"], "interval": "1s"}],
            "server": {"host": "127.0.0.1", "port": port},
        },
    )
    daemon = popen("run", "-c", str(config), cwd=tmp_path)
    feed_url = f"http://127.0.0.1:{port}/feeds/news.xml"
    try:
        wait_for(lambda: _served_titles(feed_url) == ["First story"], 20, "the first entry")
        _, headers, body = get(feed_url)
        assert headers["Content-Type"].startswith("application/atom+xml")
        if SCHEMA_AVAILABLE:
            assert validate_atom(body) == []
        assert get(feed_url, {"If-None-Match": headers["ETag"]})[0] == 304
        assert get(f"http://127.0.0.1:{port}/feeds/..%2Fconfig.yaml")[0] == 404
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        status, headers, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b'aggregator_polls_total{outcome="ok"}' in metrics
        assert b'aggregator_entries_total{kind="new"} 1.0' in metrics

        second = Item("n-2", "Second story", "https://n.example/2", article("second"))
        loopback.feed("/n.xml", rss("News", [second, first]), etag='"2"')
        wait_for(lambda: "Second story" in _served_titles(feed_url), 15, "the new entry")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, stderr
    assert "stopped" in stderr
    # One line per poll and per topic write; the scheduler's and migrations' chatter
    # (two lines per job run, every 2 s, for months) stays out without -v.
    assert f"source={loopback.url('/n.xml')} status=ok new=1" in stderr
    assert "topic=news status=written entries=2" in stderr
    assert "Running job" not in stderr and "Running upgrade" not in stderr


def _served_titles(url: str) -> list[str]:
    try:
        status, _, body = get(url)
    except OSError:
        return []
    return titles(body) if status == 200 else []


def test_make_run_config_works_offline_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """The bundled config.yaml with its example sources: non-empty, valid topic feeds."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    data["server"]["port"] = free_port()
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data))
    daemon = popen("run", "-c", "config.yaml", cwd=tmp_path)
    feeds = [tmp_path / "feeds" / f"{topic}.xml" for topic in data["topics"]]
    try:
        wait_for(lambda: all(p.exists() and titles(p.read_bytes()) for p in feeds), 20, "feeds")
    finally:
        daemon.send_signal(signal.SIGINT)
        _, stderr = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, stderr
    for path in feeds:
        if SCHEMA_AVAILABLE:
            assert validate_atom(path.read_bytes()) == []
        assert len(titles(path.read_bytes())) >= 2
    assert not list((tmp_path / "feeds").glob(".*tmp*"))


def test_config_edits_apply_without_a_restart(loopback: Loopback, tmp_path: Path) -> None:
    """New sources are polled within seconds; an invalid edit is refused and reported
    (status page, /healthz) while the old config keeps polling; SIGHUP reloads."""
    first = Item("a-1", "Alpha one", "https://a.example/1", article("alpha"))
    loopback.feed("/a.xml", rss("A", [first]), etag='"1"')
    other = Item("b-1", "Beta one", "https://b.example/1", article("beta"))
    loopback.feed("/b.xml", rss("B", [other]), etag='"1"')
    port = free_port()
    base = {
        "topics": {"news": {"title": "News"}},
        "sources": [{"url": loopback.url("/a.xml"), "topics": ["news"], "interval": "1s"}],
        "server": {"host": "127.0.0.1", "port": port},
    }
    config = write_config(tmp_path / "config.yaml", base)
    daemon = popen("run", "-c", str(config), cwd=tmp_path)
    site = f"http://127.0.0.1:{port}"
    feed_url = f"{site}/feeds/news.xml"
    try:
        wait_for(lambda: _served_titles(feed_url) == ["Alpha one"], 20, "the first entry")
        # An invalid edit: refused, said on /healthz and the status page; polling goes on.
        write_config(config, base | {"poll": {"interval": "soon"}})
        wait_for(lambda: get(f"{site}/healthz")[0] == 503, 10, "/healthz to report it")
        reason = get(f"{site}/healthz")[2].decode()
        assert "config.yaml refused" in reason and "poll.interval" in reason
        assert b"poll.interval" in get(f"{site}/")[2]
        second = Item("a-2", "Alpha two", "https://a.example/2", article("second"))
        loopback.feed("/a.xml", rss("A", [second, first]), etag='"2"')
        wait_for(lambda: "Alpha two" in _served_titles(feed_url), 15, "polling to go on")
        # A valid edit adding a source: healthy again, the new source polled.
        sources = [*base["sources"], {"url": loopback.url("/b.xml"), "topics": ["news"]}]
        write_config(config, base | {"sources": sources})
        wait_for(lambda: "Beta one" in _served_titles(feed_url), 15, "the new source")
        assert get(f"{site}/healthz")[0] == 200
        daemon.send_signal(signal.SIGHUP)
        time.sleep(TICK)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, stderr
    assert "config reload refused, the old config keeps running" in stderr
    assert stderr.count("config reloaded: 2 sources, 1 topics") == 2  # the edit, then SIGHUP
    assert "signal SIGHUP received: reloading the config" in stderr


TICK = 2.5  # the daemon's reload job runs every 2 s
