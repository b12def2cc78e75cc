"""The daemon: registers scheduler jobs, starts the HTTP server, handles signals.

APScheduler 3.x with its in-memory job store runs three jobs: `poll` claims due
sources through the store (a lease per source) and polls them; `publish` renders
changed topics; `reload` applies edits of config.yaml (checked every couple of
seconds, or at once on SIGHUP). Durable scheduling state (next poll times, leases)
lives in our own tables. A reload that fails validation is refused: the old config
keeps running and the status page and `/healthz` say why. SIGTERM/SIGINT stop
claiming, let in-flight polls finish, publish, and exit 0.

On SQLite the daemon holds `<database>.lock` while it runs: a second daemon on the
same store is refused, and leases found at start were left by a run that was killed
(the kernel drops the lock with its holder), so they are released at once rather
than waited out. A store that fails (locked by another process, a full disk) fails
the tick, not the daemon: the error is logged and shown by `/healthz`, and the next
tick tries again; claims whose polls could not be saved are given back.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from .app import App
from .config import Config, load_config
from .errors import AggregatorError, ConfigError, StoreError
from .fetch import HttpFetcher
from .pipeline import Pipeline
from .server import FeedApp, HttpServer
from .store import Store
from .store.database import sqlite_file

if TYPE_CHECKING:
    from .metrics import Metrics
    from .models import SourceRow
    from .status import Overview

log = logging.getLogger("aggregator")
TICK_SECONDS = 2.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    def __init__(
        self, config_path: Path, config: Config, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.config_path = config_path
        self.config = config
        self.clock = clock
        self._stop = threading.Event()
        self._app: App | None = None
        # The app in use: a poll, a publish and a reload take turns with it.
        self._lock = threading.RLock()
        self._reload_asked = threading.Event()
        self._stamp = _stamp(config_path)
        self.problems: tuple[str, ...] = ()  # why the last edit of the config was refused
        self._scheduler: BackgroundScheduler | None = None
        self._metrics: Metrics | None = None
        self._store_trouble: dict[str, str] = {}  # job → why its last run failed
        self._unreleased: set[str] = set()  # lease tokens to give back when the store can

    def _opml(self) -> bytes:
        from .app import subscriptions
        from .opml import export_opml

        with self._lock:
            app = self._app
            assert app is not None
            return export_opml(subscriptions(self.config, app.store), self.clock())

    def _overview(self) -> Overview:
        from .status import Overview

        with self._lock:
            app = self._app
            assert app is not None
            topics, sources = app.store.topic_overview(), app.store.sources()
        return Overview(topics, sources, self.clock(), self.problems)

    def _sources(self) -> list[SourceRow]:
        with self._lock:
            app = self._app
            return app.store.sources() if app is not None else []

    def health(self) -> str | None:
        """Why the daemon is unhealthy (for `/healthz`), or None."""
        if self.problems:
            return "config.yaml refused, the old config keeps running: " + "; ".join(self.problems)
        trouble = dict(self._store_trouble)
        if trouble:
            return "the store fails, retrying: " + "; ".join(trouble.values())
        scheduler = self._scheduler
        if scheduler is not None and not scheduler.running and not self._stop.is_set():
            return "the scheduler has stopped"
        return None

    def run(self) -> int:
        store = Store(self.config.storage_url)
        lock: IO[str] | None = None
        try:
            lock = _lock_store(self.config.storage_url)
            if lock is not None:
                released = store.release_leases()
                if released:
                    log.warning(
                        "released %d leases left by a run that did not stop cleanly:"
                        " those sources are due again",
                        released,
                    )
            store.sync_sources(self.config, self.clock())
            self._app = _build(self.config, store)
            self._app.pipeline.publish(self.clock())
            from .metrics import Metrics

            self._metrics = metrics = Metrics(self._sources, self.clock)
            feeds = FeedApp(
                lambda: self.config,
                opml=self._opml,
                overview=self._overview,
                health=self.health,
                metrics=metrics.render,
            )
            server = HttpServer(feeds, self.config.server.host, self.config.server.port)
            server.start()
            log.info("serving on http://%s:%d/", self.config.server.host, server.port)
            self._scheduler = scheduler = self._make_scheduler()
            self._install_signals()
            scheduler.start()
            try:
                while not self._stop.wait(0.5):
                    pass
            finally:
                log.info("stopping: finishing in-flight polls")
                scheduler.shutdown(wait=True)
                with self._lock:
                    self._app.pipeline.publish(self.clock())
                server.close()
        finally:
            if self._app is not None:
                _close(self._app)
            store.close()
            if lock is not None:
                lock.close()
        log.info("stopped")
        return 0

    def stop(self) -> None:
        """Stop claiming; polls under way finish (bounded by the fetch deadline), the
        claimed sources not yet fetched are left for their leases to expire."""
        self._stop.set()
        app = self._app
        if app is not None:
            app.pipeline.stopping.set()

    def reload(self) -> None:
        """Ask for the config to be read again at the next tick, changed or not."""
        self._reload_asked.set()

    def _make_scheduler(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"max_instances": 1, "coalesce": True}
        )
        now = self.clock()
        for job, name in ((self._poll_due, "poll"), (self._publish, "publish")):
            scheduler.add_job(job, "interval", seconds=TICK_SECONDS, id=name, next_run_time=now)
        scheduler.add_job(self._reload, "interval", seconds=TICK_SECONDS, id="reload")
        return scheduler

    def _install_signals(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal %s received", signal.Signals(signum).name)
            self.stop()

        def hangup(signum: int, frame: FrameType | None) -> None:
            log.info("signal SIGHUP received: reloading the config")
            self.reload()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGHUP, hangup)

    def _reload(self) -> None:
        """Apply an edited config: sync sources and topics into the store (new sources
        become due, removed ones stop, changed topics are republished) and poll with
        the new settings. An invalid config changes nothing but `problems`."""
        stamp = _stamp(self.config_path)
        if stamp == self._stamp and not self._reload_asked.is_set():
            return
        self._reload_asked.clear()
        self._stamp = stamp
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            self.problems = tuple(exc.problems)
            log.error(
                "config reload refused, the old config keeps running: %s", "; ".join(exc.problems)
            )
            return
        with self._lock:
            old = self._app
            if old is None or self._stop.is_set():
                return
            old.store.sync_sources(config, self.clock())
            self._app = _build(config, old.store)
            if config.server != self.config.server:
                log.warning("config reloaded: server.host and server.port change at restart")
            self.config = config
            self.problems = ()
        _close(old)
        log.info("config reloaded: %d sources, %d topics", len(config.sources), len(config.topics))

    def _tick(self, job: str, work: Callable[[], None]) -> None:
        """Run one tick of a job; a failing store is logged once per change of reason
        and reported by `/healthz` until a later tick of that job succeeds."""
        try:
            work()
        except StoreError as exc:
            if self._store_trouble.get(job) != str(exc):
                log.error("%s failed, retrying every %gs: %s", job, TICK_SECONDS, exc)
            self._store_trouble[job] = str(exc)
            return
        if self._store_trouble.pop(job, None) is not None:
            log.info("%s works again", job)

    def _poll_due(self) -> None:
        self._tick("poll", self._poll_once)

    def _poll_once(self) -> None:
        with self._lock:
            app = self._app
            if app is None or self._stop.is_set():
                return
            self._give_back(app.store)  # claims of an earlier tick, if that failed
            now = self.clock()
            poll = app.config.poll
            lease = 2 * poll.timeout + 60.0  # fetch deadline plus parse and save, with margin
            claims = app.store.claim_due(now, poll.workers, lease)
            if not claims:
                return
            tokens = {c.source.id: c.token for c in claims}
            counted = self._metrics.polled if self._metrics is not None else None
            try:
                app.pipeline.poll([c.source for c in claims], now, tokens=tokens, on_result=counted)
            finally:
                # A saved poll gave its lease back; the others (a save the store
                # refused, a fetch skipped by a stop) are due again now, not when
                # their leases run out.
                self._unreleased.update(tokens.values())
                self._give_back(app.store)

    def _give_back(self, store: Store) -> None:
        """Release the leases in `_unreleased`; kept for the next tick if the store fails."""
        if self._unreleased:
            store.release_leases(self._unreleased)
            self._unreleased.clear()

    def _publish(self) -> None:
        self._tick("publish", self._publish_once)

    def _publish_once(self) -> None:
        with self._lock:
            if self._app is None:
                return
            started = time.monotonic()
            written = self._app.pipeline.publish(self.clock())
        if written and self._metrics is not None:
            self._metrics.published(time.monotonic() - started)


def _build(config: Config, store: Store) -> App:
    """A fetcher and a pipeline for `config` on the open store."""
    fetcher = HttpFetcher(config.poll)
    return App(config, store, fetcher, Pipeline(config, store, fetcher))


def _close(app: App) -> None:
    app.pipeline.close()
    app.fetcher.close()


def _lock_store(url: str) -> IO[str] | None:
    """Hold `<database>.lock` beside a SQLite store until the returned file is closed
    (None for other databases). AggregatorError if another daemon holds it."""
    database = sqlite_file(url)
    if database is None:
        return None
    path = database.with_name(database.name + ".lock")
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the daemon's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AggregatorError(
            f"{database} is used by another aggregator daemon (pid {holder}, holding {path});"
            " stop it first, or give this config its own storage"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _stamp(path: Path) -> str | None:
    """The config file's content digest (None: unreadable): an edit changes it, even
    within the same second or at the same size."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
