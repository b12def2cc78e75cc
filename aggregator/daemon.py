"""The daemon: registers scheduler jobs, starts the HTTP server, handles signals.

APScheduler 3.x with its in-memory job store runs two jobs: `poll` claims due sources
through the store (a lease per source) and polls them; `publish` renders changed
topics. Durable scheduling state (next poll times, leases) lives in our own tables.
SIGTERM/SIGINT stop claiming, let in-flight polls finish, publish, and exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from .app import App, open_app
from .config import Config
from .server import FeedApp, HttpServer

if TYPE_CHECKING:
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

    def _opml(self, app: App) -> bytes:
        from .app import subscriptions
        from .opml import export_opml

        return export_opml(subscriptions(self.config, app.store), self.clock())

    def _overview(self, app: App) -> Overview:
        from .status import Overview

        return Overview(app.store.topic_overview(), app.store.sources(), self.clock())

    def run(self) -> int:
        with open_app(self.config, self.clock()) as app:
            self._app = app
            app.pipeline.publish(self.clock())
            feeds = FeedApp(
                lambda: self.config,
                opml=lambda: self._opml(app),
                overview=lambda: self._overview(app),
            )
            server = HttpServer(feeds, self.config.server.host, self.config.server.port)
            server.start()
            log.info("serving on http://%s:%d/", self.config.server.host, server.port)
            scheduler = self._scheduler()
            self._install_signals()
            scheduler.start()
            try:
                while not self._stop.wait(0.5):
                    pass
            finally:
                log.info("stopping: finishing in-flight polls")
                scheduler.shutdown(wait=True)
                app.pipeline.publish(self.clock())
                server.close()
        log.info("stopped")
        return 0

    def stop(self) -> None:
        self._stop.set()

    def _scheduler(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"max_instances": 1, "coalesce": True}
        )
        now = self.clock()
        scheduler.add_job(
            self._poll_due, "interval", seconds=TICK_SECONDS, id="poll", next_run_time=now
        )
        scheduler.add_job(
            self._publish, "interval", seconds=TICK_SECONDS, id="publish", next_run_time=now
        )
        return scheduler

    def _install_signals(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal %s received", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _poll_due(self) -> None:
        app = self._app
        if app is None or self._stop.is_set():
            return
        now = self.clock()
        poll = self.config.poll
        lease = 2 * poll.timeout + 60.0  # fetch deadline plus parse and save, with margin
        claims = app.store.claim_due(now, poll.workers, lease)
        if claims:
            app.pipeline.poll(
                [c.source for c in claims], now, tokens={c.source.id: c.token for c in claims}
            )

    def _publish(self) -> None:
        if self._app is not None:
            self._app.pipeline.publish(self.clock())
