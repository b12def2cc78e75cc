"""The total deadline of one fetch, enforced on the sockets it uses; no HTTP logic.

A blocked recv() never looks at a clock, so a server dripping a byte a second passes
every per-read timeout. A `Deadline` therefore shuts down the sockets its fetch is
using when it expires. Connections are lent to it by the connection pools of
`WatchedAdapter` (the requests transport adapter the fetcher mounts) and taken back
when returned to the pool, so it never touches a connection another thread is using.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Self

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

_local = threading.local()  # the deadline of the fetch running on this thread


class Deadline:
    """The time budget of one fetch, started when its first request may go out.

    Use as a context manager around the fetch on the thread that runs it.
    """

    def __init__(self, seconds: float, watchdog: Watchdog) -> None:
        self.seconds = seconds
        self.expired = False
        self.finished = False
        self._watchdog = watchdog
        self._ends: float | None = None
        self._conns: set[BaseHTTPConnection] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._ends is None:
            self._ends = time.monotonic() + self.seconds
            self._watchdog.watch(self, self._ends)

    def remaining(self) -> float:
        return self.seconds if self._ends is None else self._ends - time.monotonic()

    def passed(self) -> bool:
        return self.expired or self.remaining() <= 0

    def attach(self, conn: BaseHTTPConnection) -> None:
        with self._lock:
            self._conns.add(conn)
            if self.expired:
                _shutdown(conn)

    def detach(self, conn: BaseHTTPConnection) -> None:
        with self._lock:
            self._conns.discard(conn)

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            for conn in self._conns:
                _shutdown(conn)

    def __enter__(self) -> Self:
        _local.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _local.deadline = None
        with self._lock:
            self.finished = True
            self._conns.clear()


class Watchdog:
    """One thread that expires the deadlines of a fetcher's fetches, soonest first: a
    timer thread per fetch would cost a thread start and exit for every poll."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Deadline]] = []  # a heap
        self._order = itertools.count()  # ties: never compare two deadlines
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, deadline: Deadline, ends: float) -> None:
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="fetch-deadlines", daemon=True
                )
                self._thread.start()
            sooner = not self._due or ends < self._due[0][0]
            heapq.heappush(self._due, (ends, next(self._order), deadline))
            if sooner:  # else the thread already wakes up early enough: let it sleep
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                expired = self._pop_expired()
                if not expired:
                    if self._closed:
                        return
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(wait)
                    continue
            for deadline in expired:  # outside the lock: expiring takes the deadline's
                deadline.expire()

    def _pop_expired(self) -> list[Deadline]:
        """Deadlines whose time has come; finished ones are dropped on the way."""
        now = time.monotonic()
        expired = []
        while self._due and (self._due[0][2].finished or self._due[0][0] <= now):
            deadline = heapq.heappop(self._due)[2]
            if not deadline.finished:
                expired.append(deadline)
        return expired


def _shutdown(conn: BaseHTTPConnection) -> None:
    sock: socket.socket | None = getattr(conn, "sock", None)
    if sock is None:
        return  # still connecting: the connect timeout is capped at the time remaining
    # socket.shutdown, not SSLSocket.shutdown: the latter drops the TLS object under the
    # reading thread; a plain shutdown just makes its recv() return.
    with suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedPool(HTTPConnectionPool):
    """Lends every connection it hands out to the deadline of the fetch on this thread."""

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        conn = super()._get_conn(timeout)
        deadline: Deadline | None = getattr(_local, "deadline", None)
        if deadline is not None:
            deadline.attach(conn)
        return conn

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        deadline: Deadline | None = getattr(_local, "deadline", None)
        if deadline is not None and conn is not None:
            deadline.detach(conn)
        super()._put_conn(conn)


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    pass


_WATCHED_POOLS = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' transport adapter with connection pools that report to the deadline,
    direct and through proxies alike."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager
