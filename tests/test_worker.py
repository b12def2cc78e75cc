"""The worker processes: parse_and_clean run in a WorkerPool gives what it gives inline;
failures come back per job, and a dead worker fails only its own job."""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import CancelledError

import pytest

from aggregator.errors import ParseError
from aggregator.worker import PlainRules, WorkerPool, parse_and_clean
from tests.feeds import Item, article, rss

URL = "https://a.example/feed"
RULES = PlainRules(drop_blocks=(re.compile("Sponsored"),), title_strip=(re.compile("^Ad: "),))
FEED = rss(
    "A",
    [
        Item(f"a{i}", f"Ad: Story {i}", f"https://a.example/{i}", article(f"s{i}", 4))
        for i in range(5)
    ],
)


def test_a_pool_job_gives_what_the_inline_call_gives() -> None:
    pool = WorkerPool(2)
    try:
        futures = [pool.submit(parse_and_clean, FEED, URL, {}, RULES) for _ in range(4)]
        results = [f.result(timeout=60) for f in futures]
    finally:
        pool.shutdown()
    assert results == [parse_and_clean(FEED, URL, {}, RULES)] * 4
    assert results[0].entries[0].title == "Story 0"  # the rules travelled with the job


def test_a_parse_error_comes_back_as_itself() -> None:
    pool = WorkerPool(1)
    try:
        future = pool.submit(parse_and_clean, b"<html><body>no feed</body></html>", URL, {}, RULES)
        with pytest.raises(ParseError, match="looks like HTML"):
            future.result(timeout=60)
        assert pool.submit(parse_and_clean, FEED, URL, {}, RULES).result(timeout=60).entries
    finally:
        pool.shutdown()


def test_a_killed_worker_fails_its_job_only_and_is_replaced() -> None:
    pool = WorkerPool(1)
    try:
        pool.submit(parse_and_clean, FEED, URL, {}, RULES).result(timeout=60)  # started
        (pid,) = pool.pids
        big = rss("B", [Item(f"b{i}", f"B {i}", f"https://b.example/{i}", article(f"b{i}", 60))
                        for i in range(300)])  # fmt: skip
        doomed = pool.submit(parse_and_clean, big, URL, {}, RULES)
        os.kill(pid, signal.SIGKILL)  # before, while or after it is sent: the job is lost
        with pytest.raises(ParseError, match=r"parser process died \(signal 9\)"):
            doomed.result(timeout=60)
        assert pool.submit(parse_and_clean, FEED, URL, {}, RULES).result(timeout=60).entries
    finally:
        pool.shutdown()


def test_shutdown_cancels_waiting_jobs_and_stops_the_workers() -> None:
    pool = WorkerPool(1)
    big = rss("B", [Item(f"b{i}", f"B {i}", f"https://b.example/{i}", article(f"b{i}", 60))
                    for i in range(100)])  # fmt: skip
    futures = [pool.submit(parse_and_clean, big, URL, {}, RULES) for _ in range(5)]
    deadline = time.monotonic() + 30
    while not futures[0].running() and time.monotonic() < deadline:
        time.sleep(0.01)
    pool.shutdown(wait=True, cancel_futures=True)
    assert futures[0].result(timeout=60).entries  # the running job finished
    with pytest.raises(CancelledError):
        futures[-1].result(timeout=1)
    assert pool.pids == []
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(parse_and_clean, FEED, URL, {}, RULES)


def test_only_parse_and_clean_runs_in_the_pool() -> None:
    pool = WorkerPool(1)
    with pytest.raises(ValueError, match="parse_and_clean"):
        pool.submit(len, b"x")  # type: ignore[arg-type]
    pool.shutdown()
