"""Test helper: builds small RSS and Atom documents and runs the CLI; asserts nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from html import escape
from pathlib import Path
from typing import Any

import yaml

from aggregator.models import PollResult

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    link: str
    html: str
    date: str = "Mon, 24 Feb 2025 12:00:00 +0000"


def rss(title: str, items: Sequence[Item], link: str = "https://site.example/") -> bytes:
    body = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
        f'<guid isPermaLink="false">{escape(i.guid)}</guid><pubDate>{i.date}</pubDate>'
        f"<description>{escape(i.html)}</description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>test</description>{body}</channel></rss>"
    ).encode()


def atom(title: str, items: Sequence[Item], updated: str = "2025-02-24T12:00:00Z") -> bytes:
    body = "".join(
        f"<entry><id>{escape(i.guid)}</id><title>{escape(i.title)}</title>"
        f'<link rel="alternate" href="{escape(i.link)}"/><updated>{updated}</updated>'
        f'<content type="html">{escape(i.html)}</content></entry>'
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:{escape(title)}</id>"
        f"<updated>{updated}</updated><author><name>t</name></author>{body}</feed>"
    ).encode()


def article(seed: str, paragraphs: int = 3) -> str:
    """Distinct article HTML for a seed word."""
    return "".join(
        f"<p>{seed.capitalize()} paragraph {n}: the {seed} committee met on day {n} and "
        f"agreed that {seed} matters {n} times more than before.</p>"
        for n in range(1, paragraphs + 1)
    )


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """A config file with test defaults (no host spacing, quick timeouts)."""
    config = {
        "storage": "sqlite:///data/test.db",
        "output": {"dir": "feeds", "base_url": "http://feeds.test/"},
        "poll": {"host_spacing": "0s", "timeout": "5s", "connect_timeout": "2s"},
    } | data
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `aggregator ARGS` in a subprocess, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "aggregator.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def popen(*args: str, cwd: Path, new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=new_session,
    )


def free_port() -> int:
    """A loopback port free now (for a daemon's server.port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """GET `url`: status, headers and body, error statuses included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def status_lines(stdout: str) -> dict[str, str]:
    """`once` output → URL → the rest of its line (`STATUS new=… …`)."""
    lines = {}
    for line in stdout.splitlines():
        status, url, *rest = line.split(" ")
        lines[url] = " ".join([status, *rest])
    return lines


def poll_over_http(
    tmp_path: Path, urls: Sequence[str], poll: dict[str, Any], now: datetime
) -> tuple[dict[str, PollResult], float]:
    """One poll of `urls` (all in topic `t`) with the real fetcher and worker processes,
    then a publish to tmp_path/feeds; results by the URL's last path part, and seconds
    taken."""
    from aggregator.config import parse_config
    from aggregator.fetch import HttpFetcher
    from aggregator.pipeline import Pipeline
    from aggregator.store import Store

    config = parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": url, "topics": ["t"]} for url in urls],
            "output": {"dir": "feeds", "entries": 50},
            "poll": {"processes": 2, "host_spacing": "0s"} | poll,
        },
        tmp_path,
    )
    store = Store(config.storage_url)
    store.sync_sources(config, now)
    started = time.monotonic()
    try:
        with HttpFetcher(config.poll) as fetcher, Pipeline(config, store, fetcher) as pipeline:
            results = pipeline.poll(store.sources(), now)
            pipeline.publish(now)
    finally:
        store.close()
    return {r.url.rsplit("/", 1)[-1]: r for r in results}, time.monotonic() - started
