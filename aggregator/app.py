"""Composition root: builds the store, fetcher and pipeline for a config. Does no polling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .config import Config
from .fetch import HttpFetcher
from .pipeline import Pipeline
from .store import Store

if TYPE_CHECKING:
    from .opml import Subscription


@dataclass(frozen=True)
class App:
    config: Config
    store: Store
    fetcher: HttpFetcher
    pipeline: Pipeline


@contextmanager
def open_app(config: Config, now: datetime) -> Iterator[App]:
    """Open the store (creating and migrating it), sync the config's sources and topics
    into it, and close everything on exit."""
    store = Store(config.storage_url)
    try:
        store.sync_sources(config, now)
        with HttpFetcher(config.poll) as fetcher, Pipeline(config, store, fetcher) as pipeline:
            yield App(config, store, fetcher, pipeline)
    finally:
        store.close()


def subscriptions(config: Config, store: Store) -> list[Subscription]:
    """The configured sources as OPML subscriptions, with what their feeds said of
    themselves (title, site) from the store."""
    from .opml import subscriptions_of

    known = {row.url: (row.title, row.link) for row in store.sources()}
    return subscriptions_of(((s.url, s.topics, s.name) for s in config.sources), known)
