"""Sequences the stages: fetch → parse → clean → dedupe/store, then publish dirty topics.

The only module that calls more than one stage. Fetches run in a thread pool (IO
bound); parsing and cleaning run in worker processes (`worker.WorkerPool`: CPU bound,
and feedparser is pure Python) fed through a bounded number of pending bodies; every
store write happens on the calling thread, so the store has one writer, and polls
that found nothing new are saved in batches. One source's failure never stops a
poll: every source ends as a `PollResult`.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import Config, Source
from .dedupe import DedupeSettings, NearSettings
from .errors import AggregatorError, FetchError, ParseError, PublishError
from .fetch import Fetcher, host_key
from .models import CleanFeed, FetchResult, PollResult, SourceRow, TopicFeed
from .schedule import FeedHints, HttpHints, NextPoll, Policy, SourceState, plan_next
from .store import NotModified, Store
from .store.schema import GONE
from .worker import PlainLearning, PlainRules, WorkerPool, parse_and_clean

if TYPE_CHECKING:
    from .articles import Articles

# The parse and clean stages (feedparser, lxml, nh3) run in worker processes and are
# never imported here (see `worker`); the publish stage (feedgen) is imported on first
# use: a poll that only meets 304s renders nothing, and `once` starts faster.

log = logging.getLogger("aggregator")
_UNCHANGED_BATCH = 100  # unchanged polls saved per transaction, at most
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A fetch thread's outcome: an error, a body-less result, or a parse in flight."""

    source: SourceRow
    started: float
    error: FetchError | None = None
    result: FetchResult | None = None
    parsing: Future[CleanFeed] | None = None
    skipped: bool = False  # not fetched: the pipeline is stopping

    @property
    def unchanged(self) -> bool:
        """A 304, or a body identical to the last one: nothing to parse."""
        return self.error is None and self.parsing is None and not self.skipped


@dataclass(frozen=True, slots=True)
class _Unchanged:
    """An unchanged poll waiting to be saved with others."""

    source: SourceRow
    started: float
    poll: NotModified


class _Abandoned(Exception):
    """A fetch thread's work dropped because the poll it was for has failed."""


class _Slots:
    """Parse slots: bodies and parsed feeds held at once. A fetch thread takes one
    before submitting a parse; saving the poll frees it. `abandon` wakes every thread
    still waiting, for good, when the poll fails."""

    def __init__(self, size: int) -> None:
        self._free = threading.Semaphore(size)
        self.abandoned = False

    def acquire(self) -> None:
        self._free.acquire()

    def release(self) -> None:
        self._free.release()

    def abandon(self) -> None:
        self.abandoned = True
        self._free.release(1 << 20)  # more than threads could ever wait


def _keep_big_buffers_out_of_the_heap() -> None:
    """Fetched bodies (hundreds of KB each, allocated and freed by many fetch threads)
    make glibc raise its mmap threshold, after which it keeps freed bodies in per-thread
    heaps: tens of MB of resident memory holding nothing. Pinning the threshold at its
    initial 128 KiB keeps every such buffer in a mapping of its own, returned to the
    OS when freed. glibc only; a no-op where there is no `mallopt`."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


def dedupe_settings(config: Config) -> DedupeSettings:
    """How duplicates are found and merged, from the config's `dedupe` section."""
    section = config.dedupe
    near = NearSettings(
        near=section.near,
        threshold=section.threshold,
        min_words=section.min_words,
        window=timedelta(seconds=section.window),
    )
    return DedupeSettings(scope=section.scope, near=near)


class Pipeline:
    """Polls sources and publishes topics for one config, store and fetcher."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        *,
        processes: int | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.rand = rand
        self._sources = {s.url: s for s in config.sources}
        count = config.poll.processes if processes is None else processes
        self._processes = (os.cpu_count() or 1) if count is None else count
        self._pool: Executor | None = None
        self._pool_lock = threading.Lock()
        self._rules: dict[str | None, PlainRules] = {}
        self._learn_settings = PlainLearning.of(config.learning)
        poll = config.poll
        self._policy = Policy(
            adapt=poll.adapt, min_interval=poll.min_interval, max_interval=poll.max_interval
        )
        self._article_step: Articles | None = None
        # Set when the daemon stops: fetches not yet started are skipped, so a poll of
        # many sources ends as soon as the ones under way are saved.
        self.stopping = threading.Event()
        # Temp files older than this pipeline were left by a run that was killed
        # mid-write; the first publish removes them (`publish.sweep_temp_files`).
        self._created = time.time()
        self._swept = False
        _keep_big_buffers_out_of_the_heap()

    # --- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            if self._article_step is not None:
                self._article_step.close()
                self._article_step = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _parser(self) -> Executor:
        """The process pool, started on first use: a poll that fetches no new body
        (all 304s) never pays for starting it."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = WorkerPool(self._processes)
            return self._pool

    # --- polling --------------------------------------------------------------

    def poll(
        self,
        sources: Sequence[SourceRow],
        now: datetime,
        *,
        tokens: Mapping[int, str] | None = None,
        on_result: Callable[[PollResult], None] | None = None,
    ) -> list[PollResult]:
        """Poll each source once; returns one PollResult per source, in completion order.

        `tokens` maps source id → lease token for sources claimed through the store.
        """
        # For one source a process pool's start-up costs more than it saves.
        inline = self._processes <= 0 or len(sources) < 2
        # Bound the bodies and parsed feeds held at once: fetch threads wait for a
        # slot, freed only when a poll is saved, instead of piling up the corpus in
        # memory when parsing or the store is the bottleneck.
        slots = _Slots(max(4, 3 * self._processes))
        done: queue.SimpleQueue[_Fetched | BaseException] = queue.SimpleQueue()
        results: list[PollResult] = []

        def emit(batch: Sequence[PollResult]) -> None:
            for result in batch:
                if log.isEnabledFor(logging.INFO):
                    log.info(_log_line(result))
                results.append(result)
                if on_result is not None:
                    on_result(result)

        gone = [s for s in sources if s.status == GONE]
        if gone:  # a 410 Gone stops polling: said again, not fetched again
            emit([PollResult(s.url, "gone", error=s.last_error) for s in gone])
            sources = [s for s in sources if s.status != GONE]
        workers = max(1, min(self.config.poll.workers, len(sources)))
        with ThreadPoolExecutor(workers, thread_name_prefix="fetch") as threads:
            for source in sources:
                threads.submit(self._fetch_into, done, source, inline, slots)
            try:
                self._collect(sources, now, tokens, done, slots, emit)
            except BaseException:
                # Raised, not left hanging: fetch threads waiting for a slot (only a
                # saved poll frees one) wake and stop, the sources not yet fetched
                # are dropped, and the executor's exit can join its threads.
                threads.shutdown(wait=False, cancel_futures=True)
                slots.abandon()
                raise
        return results

    def _collect(
        self,
        sources: Sequence[SourceRow],
        now: datetime,
        tokens: Mapping[int, str] | None,
        done: queue.SimpleQueue[_Fetched | BaseException],
        slots: _Slots,
        emit: Callable[[Sequence[PollResult]], None],
    ) -> None:
        """Save each fetched source as it comes, in completion order."""
        unchanged: list[_Unchanged] = []
        for _ in sources:
            fetched = done.get()
            if isinstance(fetched, BaseException):
                raise fetched  # a bug in a fetch thread: never swallowed
            if fetched.skipped:
                continue  # nothing written; its lease expires and it is due again
            token = (tokens or {}).get(fetched.source.id)
            if fetched.unchanged:
                # Saved together, in one transaction: a poll of all 304s is mostly
                # this bookkeeping. Flushed before any other result (order kept) and
                # whenever no other result is waiting (no delay).
                unchanged.append(self._unchanged(fetched, now, token))
                if len(unchanged) < _UNCHANGED_BATCH and not done.empty():
                    continue
                emit(self._save_unchanged(unchanged, now))
                unchanged = []
                continue
            emit(self._save_unchanged(unchanged, now))
            unchanged = []
            try:
                result = self._finish(fetched, now, token)
            finally:
                if fetched.parsing is not None:
                    slots.release()
            del fetched
            emit([result])
        emit(self._save_unchanged(unchanged, now))

    def _fetch_into(
        self,
        done: queue.SimpleQueue[_Fetched | BaseException],
        source: SourceRow,
        inline: bool,
        slots: _Slots,
    ) -> None:
        try:
            done.put(self._fetch(source, inline, slots))
        except BaseException as exc:
            done.put(exc)

    def _fetch(self, source: SourceRow, inline: bool, slots: _Slots) -> _Fetched:
        started = time.monotonic()
        if self.stopping.is_set():  # shutting down: only polls already under way finish
            return _Fetched(source, started, skipped=True)
        config_source = self._sources.get(source.url)
        location = self.config.source_location(config_source) if config_source else source.url
        if source.moved_to is not None and location == source.url:  # not a local file
            location = source.moved_to  # where a 301/308 sent it
        try:
            result = self.fetcher.fetch(location, source.validators)
        except FetchError as exc:
            return _Fetched(source, started, error=exc)
        if result.status != "ok" or result.body is None:
            return _Fetched(source, started, result=result)
        rules = self._clean_rules(config_source)
        learning = self._learning(config_source)
        memory = self.store.memory(source.id) if learning is not None else None
        slots.acquire()
        try:
            if slots.abandoned:
                raise _Abandoned  # the poll failed while this thread waited
            parser = _InlineExecutor() if inline else self._parser()
            parsing = parser.submit(
                parse_and_clean,
                result.body,
                result.final_url,
                dict(result.headers),
                rules,
                memory,
                learning,
            )
        except BaseException:
            slots.release()
            raise
        if config_source is not None and config_source.full_text:
            parsing = self._with_articles(source, parsing, rules)
        # The body now lives in the parser's queue; drop ours.
        return _Fetched(source, started, result=replace(result, body=None), parsing=parsing)

    def _learning(self, source: Source | None) -> PlainLearning | None:
        """The learner's settings for a source as plain values (workers build their
        `LearnSettings` from them; this process never loads the clean stage), None if
        the source must not learn."""
        if not self.config.learning.enabled or (source is not None and not source.learn):
            return None
        return self._learn_settings

    def _with_articles(
        self, source: SourceRow, parsing: Future[CleanFeed], rules: PlainRules
    ) -> Future[CleanFeed]:
        """The parse, then the full text of its new entries (in this fetch thread)."""
        from .clean import CleanRules

        done: Future[CleanFeed] = Future()
        try:
            feed = parsing.result()
            known = self.store.known_keys(source.id, [e.key for e in feed.entries])
            done.set_result(self._articles().complete(feed, known, CleanRules.of(rules)))
        except BaseException as exc:  # handed on through the future, as a parse error is
            done.set_exception(exc)
        return done

    def _articles(self) -> Articles:
        from .articles import Articles, settings_of

        with self._pool_lock:
            if self._article_step is None:
                limiter = getattr(self.fetcher, "limiter", None)
                slot = (lambda url: limiter.slot(host_key(url))) if limiter else None
                self._article_step = Articles(settings_of(self.config.full_text), slot)
            return self._article_step

    def _finish(self, fetched: _Fetched, now: datetime, token: str | None) -> PollResult:
        source = fetched.source
        try:
            result = self._save(fetched, now, token)
        except ParseError as exc:
            result = self._save_error(source, str(exc), HttpHints(), now, token)
        except AggregatorError as exc:  # a store error for one source must not stop the rest
            log.error("source=%s status=error error=%s", source.url, exc)
            result = PollResult(source.url, "error", error=str(exc))
        elapsed = int((time.monotonic() - fetched.started) * 1000)
        return replace(result, elapsed_ms=elapsed)

    def _unchanged(self, fetched: _Fetched, now: datetime, token: str | None) -> _Unchanged:
        assert fetched.result is not None
        result = fetched.result
        source = fetched.source
        next_at = self._next_ok(source, result, now, source.hints)
        moved = _moved(source, result)
        poll = NotModified(source.id, token, result.validators, result.http_status, next_at, moved)
        return _Unchanged(fetched.source, fetched.started, poll)

    def _save_unchanged(self, unchanged: Sequence[_Unchanged], now: datetime) -> list[PollResult]:
        """Record polls that found nothing new, in one transaction; a store error for
        one of them (a lost lease) is that source's result, not the others'."""
        if not unchanged:
            return []
        errors: Sequence[AggregatorError | None]
        try:
            errors = self.store.save_not_modified_many([u.poll for u in unchanged], now=now)
        except AggregatorError as exc:  # the whole batch failed: nothing was written
            errors = [exc] * len(unchanged)
        results = []
        for item, error in zip(unchanged, errors, strict=True):
            url = item.source.url
            if error is None:
                result = PollResult(url, "not_modified", warning=_move_note(item.poll.moved_to))
            else:
                log.error("source=%s status=error error=%s", url, error)
                result = PollResult(url, "error", error=str(error))
            elapsed = int((time.monotonic() - item.started) * 1000)
            results.append(replace(result, elapsed_ms=elapsed))
        return results

    def _save(self, fetched: _Fetched, now: datetime, token: str | None) -> PollResult:
        source = fetched.source
        if fetched.error is not None:
            error = fetched.error
            http = HttpHints.of(error.http_status, error.headers, now)
            return self._save_error(source, error.reason, http, now, token)
        assert fetched.result is not None and fetched.parsing is not None
        result = fetched.result
        feed = fetched.parsing.result()
        next_at = self._next_ok(source, result, now, feed.hints)
        moved = _moved(source, result)
        new, updated, duplicates = self.store.save_poll(
            source.id,
            token=token,
            feed=feed,
            validators=result.validators,
            http_status=result.http_status,
            now=now,
            next_poll_at=next_at,
            dedupe=dedupe_settings(self.config),
            moved_to=moved,
        )
        warning = "; ".join(filter(None, (_move_note(moved), feed.warning))) or None
        return PollResult(source.url, "ok", new, updated, duplicates, warning=warning)

    def _save_error(
        self, source: SourceRow, reason: str, http: HttpHints, now: datetime, token: str | None
    ) -> PollResult:
        planned = self._plan(source, http, source.error_count + 1, now, source.hints)
        if planned.at is None:
            reason = f"{reason}: the feed is gone, no longer polled"
        self.store.save_error(
            source.id,
            token=token,
            error=reason,
            http_status=http.status,
            now=now,
            next_poll_at=planned.at,
        )
        return PollResult(source.url, "error" if planned.at else "gone", error=reason)

    def _next_ok(
        self, source: SourceRow, result: FetchResult, now: datetime, hints: FeedHints
    ) -> datetime:
        """The next poll after a successful one (a new body, a 304, an unchanged body):
        `hints` are the feed's, from this body or the last one parsed."""
        http = HttpHints.of(result.http_status, result.headers, now)
        planned = self._plan(source, http, 0, now, hints)
        assert planned.at is not None  # only a 410 stops polling, and that is an error
        return planned.at

    def _plan(
        self, source: SourceRow, http: HttpHints, errors: int, now: datetime, hints: FeedHints
    ) -> NextPoll:
        """`schedule.plan_next` for a source: an interval set for it in the config is
        kept as it is; without one the default adapts to the gaps between its entries."""
        config_source = self._sources.get(source.url)
        fixed = config_source is not None and config_source.interval is not None
        interval = self._interval(source)
        state = SourceState(interval, fixed=fixed, errors=errors, entry_gap=hints.entry_gap)
        return plan_next(state, http, hints, now, self.rand(), self._policy)

    def _clean_rules(self, source: Source | None) -> PlainRules:
        """A source's rules (global ones first) in the form workers take, built once."""
        key = source.url if source is not None else None
        rules = self._rules.get(key)
        if rules is None:
            config_rules = self.config.rules_of(source) if source else self.config.rules
            rules = self._rules[key] = PlainRules.of(config_rules)
        return rules

    def _interval(self, source: SourceRow) -> float:
        config_source = self._sources.get(source.url)
        if config_source is None:
            return self.config.poll.interval
        return self.config.interval_of(config_source)

    # --- publishing -----------------------------------------------------------

    def publish(self, now: datetime) -> list[Path]:
        """Render every dirty topic, and any topic whose file is missing; returns the
        files actually (re)written. A topic that fails to publish stays dirty."""
        written = []
        dirty = dict(self.store.dirty_topics())
        if not self._swept:
            self._sweep()
        for topic_id in self.config.topics:
            path = self.config.output_dir / f"{topic_id}.xml"
            if topic_id not in dirty and path.exists():
                continue
            try:
                if self._publish_topic(topic_id, path):
                    written.append(path)
            except PublishError as exc:
                log.error("topic=%s status=error error=%s", topic_id, exc)
                continue
            if topic_id in dirty:
                self.store.mark_published(topic_id, dirty[topic_id], now)
        return written

    def _sweep(self) -> None:
        from .publish import sweep_temp_files

        paths = [self.config.output_dir / f"{topic_id}.xml" for topic_id in self.config.topics]
        for temp in sweep_temp_files(paths, self._created):
            log.warning("removed %s, left by a run that was stopped while writing it", temp)
        self._swept = True

    def topic_feed(self, topic_id: str) -> TopicFeed:
        topic = self.config.topics[topic_id]
        entries = tuple(self.store.topic_entries(topic_id, self.config.output.entries))
        updated = max((e.updated for e in entries), default=EPOCH)
        return TopicFeed(
            topic_id=topic_id,
            title=topic.title,
            subtitle=topic.description,
            self_url=self.config.self_url(topic_id),
            updated=updated,
            entries=entries,
        )

    def _publish_topic(self, topic_id: str, path: Path) -> bool:
        from .publish import render_topic, write_if_changed

        feed = self.topic_feed(topic_id)
        data = render_topic(feed, author=self.config.output.author, generator_version=__version__)
        changed = write_if_changed(path, data)
        log.info(
            "topic=%s status=%s entries=%d bytes=%d",
            topic_id,
            "written" if changed else "unchanged",
            len(feed.entries),
            len(data),
        )
        return changed


class _InlineExecutor(Executor):
    """Runs a job in the calling thread: for one or two sources a process pool's start-up
    costs more than it saves."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def _moved(source: SourceRow, result: FetchResult) -> str | None:
    """Where a permanent redirect (301/308 all the way) sent this poll, if that is
    news: a 302/307 anywhere in the chain is not persisted."""
    target = result.permanent_redirect
    return target if target is not None and target != (source.moved_to or source.url) else None


def _move_note(moved: str | None) -> str | None:
    if moved is None:
        return None
    return f"moved permanently to {moved}: polled there from now on (update config.yaml)"


def _log_line(result: PollResult) -> str:
    line = (
        f"source={result.url} status={result.status} new={result.new} "
        f"updated={result.updated} dup={result.duplicates} ms={result.elapsed_ms}"
    )
    if result.error:
        line += f" error={result.error!r}"
    if result.warning:
        line += f" warning={result.warning!r}"
    return line
