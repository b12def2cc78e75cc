"""The pipeline with a fake fetcher at the network seam and a real store and publisher."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from aggregator.config import Config, parse_config
from aggregator.errors import FetchError
from aggregator.fetch import FakeFetcher
from aggregator.models import FetchResult, Validators
from aggregator.pipeline import Pipeline
from aggregator.store import Store
from tests.feeds import ROOT, Item, article, rss, write_config

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
A, B, C, D = (f"https://{n}.example/feed" for n in "abcd")


def make_config(tmp_path: Path, processes: int) -> Config:
    return parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": u, "topics": ["t"]} for u in (A, B, C, D)],
            "poll": {"processes": processes, "interval": "1h"},
        },
        tmp_path,
    )


FEED_A = rss("A", [Item("a1", "One", "https://a.example/1", article("one"))])


def fake() -> FakeFetcher:
    return FakeFetcher(
        {
            A: FakeFetcher.result(A, FEED_A, etag='"x"'),
            B: FetchError(B, "connection refused"),
            C: FakeFetcher.result(C, b"<html><body>not a feed</body></html>"),
            D: FakeFetcher.result(D, status="not_modified"),
        }
    )


@pytest.mark.parametrize("processes", [0, 2], ids=["inline", "process-pool"])
def test_one_failing_source_never_stops_the_others(tmp_path: Path, processes: int) -> None:
    config = make_config(tmp_path, processes)
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    with Pipeline(config, store, fake(), rand=lambda: 0.5) as pipeline:
        results = {r.url: r for r in pipeline.poll(store.sources(), NOW)}
        written = pipeline.publish(NOW)
    assert (results[A].status, results[A].new) == ("ok", 1)
    assert (results[B].status, results[B].error) == ("error", "connection refused")
    assert results[C].status == "error" and "no entries" in (results[C].error or "")
    assert results[D].status == "not_modified"
    rows = {s.url: s for s in store.sources()}
    assert rows[A].validators.etag == '"x"' and rows[A].error_count == 0
    assert rows[A].next_poll_at == NOW + timedelta(hours=1)  # rand 0.5: no jitter
    assert rows[B].error_count == 1 and rows[B].last_error == "connection refused"
    assert rows[C].error_count == 1
    assert written == [config.output_dir / "t.xml"]
    entries = feedparser.parse(written[0].read_bytes()).entries
    assert [e.title for e in entries] == ["One"]
    store.close()


def _many(tmp_path: Path, urls: list[str], *, workers: int) -> tuple[Config, Store]:
    """A store synced with one source per URL, parsed inline, `workers` fetch threads."""
    config = parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": u, "topics": ["t"]} for u in urls],
            "poll": {"processes": 0, "workers": workers},
        },
        tmp_path,
    )
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    return config, store


def test_a_failure_while_saving_is_raised_not_left_hanging(tmp_path: Path) -> None:
    """A bug in the polling process's saving must end `poll` with its exception: fetch
    threads that wait for a parse slot (only saving frees one) are woken and stop."""
    urls = [f"https://s{i}.example/feed" for i in range(20)]  # more than slots + threads
    config, store = _many(tmp_path, urls, workers=4)
    fetcher = FakeFetcher({u: FakeFetcher.result(u, FEED_A) for u in urls})

    def broken(*args: object, **kwargs: object) -> tuple[int, int, int]:
        raise RuntimeError("bug in saving")

    store.save_poll = broken  # type: ignore[method-assign]
    outcome: list[BaseException | None] = []

    def run() -> None:
        with Pipeline(config, store, fetcher) as pipeline:
            try:
                pipeline.poll(store.sources(), NOW)
                outcome.append(None)
            except BaseException as exc:  # inspected below
                outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "poll() hung after a failure in saving"
    assert isinstance(outcome[0], RuntimeError) and str(outcome[0]) == "bug in saving"
    assert len(fetcher.calls) < len(urls)  # the rest were not fetched for nothing
    store.close()


def test_errors_back_off_and_validators_are_sent(tmp_path: Path) -> None:
    config = make_config(tmp_path, 0)
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    fetcher = fake()
    with Pipeline(config, store, fetcher, rand=lambda: 0.5) as pipeline:
        pipeline.poll(store.sources(), NOW)
        pipeline.poll(store.sources(), NOW + timedelta(hours=2))
    rows = {s.url: s for s in store.sources()}
    assert rows[B].error_count == 2
    assert rows[B].next_poll_at == NOW + timedelta(hours=4)  # 1h doubled after 2 errors
    sent = [v for loc, v in fetcher.calls if loc == A]
    assert sent[0] == Validators() and sent[1].etag == '"x"'
    store.close()


def test_publish_rewrites_a_deleted_feed_file(tmp_path: Path) -> None:
    config = make_config(tmp_path, 0)
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    with Pipeline(config, store, fake()) as pipeline:
        pipeline.poll(store.sources(), NOW)
        (path,) = pipeline.publish(NOW)
        assert pipeline.publish(NOW) == []  # nothing dirty, file present
        path.unlink()
        assert pipeline.publish(NOW) == [path]
    store.close()


def test_the_polling_process_never_loads_the_parse_and_clean_stages(tmp_path: Path) -> None:
    """They run in worker processes: loading them here too would cost every `once` their
    import time and the daemon their memory (the learner included)."""
    sources = []
    for name in ("a", "b"):  # two sources: one alone is parsed inline
        feed = tmp_path / f"{name}.xml"
        feed.write_bytes(
            rss(name, [Item(name, "A story", f"https://f.example/{name}", article(name))])
        )
        sources.append({"url": str(feed), "topics": ["t"]})
    config = tmp_path / "config.yaml"
    write_config(config, {"topics": {"t": {"title": "T"}}, "sources": sources,
                          "poll": {"processes": 1}})  # fmt: skip
    code = (
        "import sys\n"
        "from aggregator.cli import main\n"
        "assert main(['once', '-c', sys.argv[1]]) == 0\n"
        "loaded = [m for m in ('aggregator.clean', 'feedparser', 'nh3', 'cssselect') "
        "if m in sys.modules]\n"
        "print('loaded:', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(config)], cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ok " in done.stdout and "new=1" in done.stdout
    assert "loaded: []" in done.stdout


# --- what responses say about the next poll -------------------------------------


def _one_source(tmp_path: Path) -> tuple[Config, Store]:
    config = parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": A, "topics": ["t"], "interval": "30m"}],
            "poll": {"processes": 0},
        },
        tmp_path,
    )
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    return config, store


def _next_poll(store: Store) -> datetime | None:
    (row,) = store.sources()
    return row.next_poll_at


def test_retry_after_on_429_is_honoured(tmp_path: Path) -> None:
    config, store = _one_source(tmp_path)
    busy = FetchError(A, "HTTP 429 Too Many Requests", http_status=429,
                      headers={"retry-after": "7200"})  # fmt: skip
    with Pipeline(config, store, FakeFetcher({A: busy}), rand=lambda: 0.0) as pipeline:
        (result,) = pipeline.poll(store.sources(), NOW)
    assert result.status == "error"
    assert _next_poll(store) == NOW + timedelta(hours=2)  # not the 30m backoff
    store.close()


def test_cache_control_max_age_on_success_and_304_is_a_floor(tmp_path: Path) -> None:
    config, store = _one_source(tmp_path)
    fresh = replace(FakeFetcher.result(A, FEED_A), headers={"cache-control": "max-age=7200"})
    same = replace(FakeFetcher.result(A, status="not_modified"), headers=fresh.headers)
    answers = iter([fresh, same])
    fetcher = FakeFetcher(lambda location, validators: next(answers))
    with Pipeline(config, store, fetcher, rand=lambda: 0.0) as pipeline:
        pipeline.poll(store.sources(), NOW)
        assert _next_poll(store) == NOW + timedelta(hours=2)
        later = NOW + timedelta(hours=2)
        (result,) = pipeline.poll(store.sources(), later)
    assert result.status == "not_modified"
    assert _next_poll(store) == later + timedelta(hours=2)
    store.close()


def test_410_gone_stops_polling_and_is_reported(tmp_path: Path) -> None:
    config, store = _one_source(tmp_path)
    fetcher = FakeFetcher({A: FetchError(A, "HTTP 410 Gone", http_status=410)})
    with Pipeline(config, store, fetcher) as pipeline:
        (first,) = pipeline.poll(store.sources(), NOW)
        assert (first.status, first.error) == (
            "gone",
            "HTTP 410 Gone: the feed is gone, no longer polled",
        )
        (row,) = store.sources()
        assert row.status == "gone" and row.last_error == first.error
        assert store.claim_due(NOW + timedelta(days=30), 10, 60) == []  # never due again
        (again,) = pipeline.poll(store.sources(), NOW + timedelta(days=1))  # `once` again
    assert again.status == "gone" and again.error == first.error
    assert len(fetcher.calls) == 1  # reported, not fetched again
    store.close()


def _feed_with(channel_extra: str, dates: list[str]) -> bytes:
    items = [Item(f"g{n}", f"Story {n}", f"https://a.example/{n}", article(f"s{n}"), date)
             for n, date in enumerate(dates)]  # fmt: skip
    return rss("A", items).replace(b"<description>test</description>", channel_extra.encode())


def test_the_feeds_ttl_is_kept_for_the_polls_that_bring_no_feed(tmp_path: Path) -> None:
    config, store = _one_source(tmp_path)
    body = _feed_with("<ttl>120</ttl><skipHours><hour>16</hour></skipHours>", [Item.date])
    answers = iter([FakeFetcher.result(A, body), FakeFetcher.result(A, status="not_modified")])
    fetcher = FakeFetcher(lambda location, validators: next(answers))
    with Pipeline(config, store, fetcher, rand=lambda: 0.0) as pipeline:
        pipeline.poll(store.sources(), NOW)
        assert _next_poll(store) == NOW + timedelta(hours=2)  # ttl over the 30m interval
        (row,) = store.sources()
        assert row.hints.ttl == 7200 and row.hints.skip_hours == {16}
        later = NOW + timedelta(hours=2)  # 14:00; +2h lands in the skipped hour 16
        pipeline.poll(store.sources(), later)
    assert _next_poll(store) == later + timedelta(hours=3)  # 17:00 GMT
    store.close()


def test_a_source_without_its_own_interval_follows_its_entries(tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": "sqlite:///db.sqlite",
            "topics": {"t": {"title": "T"}},
            "sources": [{"url": u, "topics": ["t"]} for u in (A, B)],
            "poll": {"processes": 0, "interval": "30m"},
        },
        tmp_path,
    )
    store = Store(config.storage_url)
    store.sync_sources(config, NOW)
    every_8h = [f"Mon, 24 Feb 2025 {h:02d}:00:00 +0000" for h in (0, 8, 16)]
    every_8h.append("Tue, 25 Feb 2025 00:00:00 +0000")
    body = _feed_with("", every_8h)
    fetcher = FakeFetcher({A: FakeFetcher.result(A, body), B: FakeFetcher.result(B, FEED_A)})
    with Pipeline(config, store, fetcher, rand=lambda: 0.5) as pipeline:
        pipeline.poll(store.sources(), NOW)
    rows = {r.url: r for r in store.sources()}
    assert rows[A].hints.entry_gap == 8 * 3600
    assert rows[A].next_poll_at == NOW + timedelta(hours=4)  # half the gap
    assert rows[B].next_poll_at == NOW + timedelta(minutes=30)  # one entry: no rhythm yet
    store.close()


def test_a_permanent_redirect_moves_the_polls_and_is_reported_once(tmp_path: Path) -> None:
    config, store = _one_source(tmp_path)
    new_home = "https://new.example/feed"
    moved = FakeFetcher.result(A, FEED_A, final_url=new_home, permanent_redirect=new_home)
    fetcher = FakeFetcher({A: moved, new_home: FakeFetcher.result(new_home, FEED_A)})
    with Pipeline(config, store, fetcher) as pipeline:
        (first,) = pipeline.poll(store.sources(), NOW)
        (second,) = pipeline.poll(store.sources(), NOW + timedelta(hours=1))
    assert first.warning is not None and f"moved permanently to {new_home}" in first.warning
    assert second.warning is None  # said once
    assert [location for location, _ in fetcher.calls] == [A, new_home]
    (row,) = store.sources()
    assert (row.url, row.moved_to) == (A, new_home)  # the config's URL stays its name
    store.close()


def test_a_temporary_redirect_is_not_persisted(tmp_path: Path) -> None:
    config, store = _one_source(tmp_path)
    elsewhere = "https://cdn.example/feed"
    fetcher = FakeFetcher({A: FakeFetcher.result(A, FEED_A, final_url=elsewhere)})  # a 302
    with Pipeline(config, store, fetcher) as pipeline:
        (first,) = pipeline.poll(store.sources(), NOW)
        pipeline.poll(store.sources(), NOW + timedelta(hours=1))
    assert first.warning is None
    assert [location for location, _ in fetcher.calls] == [A, A]
    (row,) = store.sources()
    assert row.moved_to is None
    store.close()


def test_stopping_skips_the_fetches_not_yet_started(tmp_path: Path) -> None:
    config, store = _many(tmp_path, [f"https://s{i}.example/feed" for i in range(6)], workers=1)
    with Pipeline(config, store, FakeFetcher({}), rand=lambda: 0.5) as pipeline:

        def answer(location: str, validators: Validators) -> FetchResult:
            pipeline.stopping.set()  # SIGTERM while the first fetch is under way
            return FakeFetcher.result(location, FEED_A)

        pipeline.fetcher = FakeFetcher(answer)
        results = pipeline.poll(store.sources(), NOW)
    assert [r.status for r in results] == ["ok"]  # the one under way finished
    rows = store.sources()
    assert sum(r.error_count for r in rows) == 0  # the skipped ones are not errors
    assert sum(r.status is None for r in rows) == 5  # and were not touched
    store.close()
