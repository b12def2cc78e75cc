"""Scheduling over real HTTP: a loopback server answers, `HttpFetcher` fetches, the
pipeline plans the next poll; the clock is the `now` each poll is given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.config import parse_config
from aggregator.fetch import HttpFetcher
from aggregator.models import PollResult, SourceRow
from aggregator.pipeline import Pipeline
from aggregator.store import Store
from tests.feeds import Item, article, rss
from tests.loopback import Loopback, Reply, Request

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
FEED = rss("Site", [Item("g1", "A story", "https://site.example/1", article("one"))])


class Polls:
    """One source at `path` on the loopback server, polled with a fixed clock."""

    def __init__(self, pipeline: Pipeline, store: Store) -> None:
        self.pipeline, self.store = pipeline, store

    def poll(self, at: datetime) -> PollResult:
        (result,) = self.pipeline.poll(self.store.sources(), at)
        return result

    def row(self) -> SourceRow:
        (row,) = self.store.sources()
        return row

    def wait(self) -> timedelta:
        """How long after the last poll the next one is planned."""
        row = self.row()
        assert row.next_poll_at is not None
        return row.next_poll_at - self.last

    def at(self, at: datetime) -> PollResult:
        self.last = at
        return self.poll(at)


@contextmanager
def polls(tmp_path: Path, loopback: Loopback, path: str = "/feed") -> Iterator[Polls]:
    config = parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": loopback.url(path), "topics": ["t"], "interval": "60s"}],
            "poll": {"processes": 0, "host_spacing": "0s"},
        },
        tmp_path,
    )
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    fetcher = HttpFetcher(config.poll)
    with fetcher, Pipeline(config, store, fetcher, rand=lambda: 0.0) as pipeline:
        yield Polls(pipeline, store)
    store.close()


def test_429_with_retry_after_then_recovery(tmp_path: Path, loopback: Loopback) -> None:
    answers = iter([Reply(429, b"slow down", {"Retry-After": "600"}), Reply(200, FEED, {})])
    loopback.handle("/feed", lambda request: next(answers))
    with polls(tmp_path, loopback) as source:
        assert source.at(NOW).status == "error"
        assert source.wait() == timedelta(minutes=10)  # not the 54s of a jittered backoff
        assert source.row().error_count == 1
        assert source.at(NOW + timedelta(minutes=10)).status == "ok"
        assert source.wait() == timedelta(seconds=54)  # the interval, jitter at its lowest
        assert source.row().error_count == 0


def test_errors_back_off_then_recover(tmp_path: Path, loopback: Loopback) -> None:
    answers = iter([Reply(500, b"oops", {})] * 3 + [Reply(200, FEED, {})])
    loopback.handle("/feed", lambda request: next(answers))
    waits = []
    with polls(tmp_path, loopback) as source:
        at = NOW
        for _ in range(4):
            source.at(at)
            waits.append(source.wait())
            at += waits[-1]
        assert source.row().error_count == 0
    assert waits == [timedelta(seconds=s * 0.9) for s in (60, 120, 240, 60)]


def test_301_and_308_move_the_source(tmp_path: Path, loopback: Loopback) -> None:
    loopback.redirect("/feed", "/step", status=301)
    loopback.redirect("/step", "/home", status=308)
    loopback.route("/home", FEED)
    with polls(tmp_path, loopback) as source:
        first = source.at(NOW)
        source.at(NOW + timedelta(minutes=1))
        assert first.status == "ok" and first.warning is not None
        assert "moved permanently to " + loopback.url("/home") in first.warning
        assert source.row().moved_to == loopback.url("/home")
    assert len(loopback.requests_to("/feed")) == 1  # the second poll went straight home
    assert len(loopback.requests_to("/home")) == 2


def test_302_and_307_are_followed_but_not_remembered(tmp_path: Path, loopback: Loopback) -> None:
    loopback.redirect("/feed", "/step", status=301)
    loopback.redirect("/step", "/today", status=307)  # one temporary hop: not a move
    loopback.route("/today", FEED)
    with polls(tmp_path, loopback) as source:
        assert source.at(NOW).warning is None
        source.at(NOW + timedelta(minutes=1))
        assert source.row().moved_to is None
    assert len(loopback.requests_to("/feed")) == 2


def test_410_gone_is_never_fetched_again(tmp_path: Path, loopback: Loopback) -> None:
    loopback.route("/feed", b"gone", status=410)
    with polls(tmp_path, loopback) as source:
        assert source.at(NOW).status == "gone"
        assert source.store.claim_due(NOW + timedelta(days=365), 10, 60) == []
        again = source.at(NOW + timedelta(days=1))
        assert again.status == "gone" and "410" in (again.error or "")
    assert len(loopback.requests_to("/feed")) == 1


def test_max_age_and_the_feeds_ttl_space_the_polls(tmp_path: Path, loopback: Loopback) -> None:
    with_ttl = FEED.replace(b"<description>test</description>", b"<ttl>15</ttl>", 1)

    def reply(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"', "Cache-Control": "max-age=300"})
        return Reply(200, with_ttl, {"ETag": '"v1"', "Cache-Control": "max-age=300"})

    loopback.handle("/feed", reply)
    with polls(tmp_path, loopback) as source:
        assert source.at(NOW).status == "ok"
        assert source.wait() == timedelta(minutes=15)  # the ttl beats max-age and 60s
        assert source.at(NOW + timedelta(minutes=15)).status == "not_modified"
        assert source.wait() == timedelta(minutes=15)  # the ttl kept from the last body
