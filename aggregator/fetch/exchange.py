"""What the feed fetcher (`client.py`) and the article fetcher (`aggregator.fulltext`)
share of an HTTP exchange: per-thread requests Sessions over one adapter and a deadline
watchdog, redirects followed by hand, status phrases, bodies read under a cap. No feed
or article logic, no politeness limits.
"""

from __future__ import annotations

import http.client
import io
import os
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.cookiejar import DefaultCookiePolicy
from types import TracebackType
from typing import Self
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error

from ..errors import FetchError
from .deadline import Deadline, Watchdog
from .reasons import size_text

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Everything the network stack may raise; FetchError (ours) is deliberately not here.
NETWORK_ERRORS = (requests.RequestException, Urllib3Error, http.client.HTTPException, OSError)
_CHUNK = 64 * 1024


class PooledClient:
    """A requests Session per thread (a Session is not documented as thread-safe), all
    mounting `adapter`, whose urllib3 pools are: a connection kept alive by one thread
    serves the next request to its host on any thread. Sessions never consult the
    environment per request (`trust_env=False`); the CA bundle requests would take from
    it (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`, else certifi's) is read once, in
    `verify`. Cookies are never kept. Closing closes the pools and the watchdog."""

    def __init__(self, adapter: HTTPAdapter) -> None:
        self._adapter = adapter
        self._sessions = threading.local()
        self._watchdog = Watchdog()
        self.verify: str | bool = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._sessions, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
            self._sessions.session = session
        return session

    def close(self) -> None:
        self._adapter.close()
        self._watchdog.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def redirect_target(response: requests.Response, url: str) -> str | None:
    """Where a redirect of the request to `url` points, absolute; None if no redirect."""
    location = response.headers.get("location")
    if response.status_code not in REDIRECTS or not location:
        return None
    return urljoin(url, location)


def add_hop(
    chain: list[str], target: str, limit: int, problem: Callable[[str], str | None]
) -> None:
    """Append a redirect `target` to `chain` (the URLs requested so far), or raise
    FetchError (named by the first URL) for a loop, more than `limit` redirects or a
    target `problem` finds fault with."""
    url = chain[0]
    if target in chain:
        raise FetchError(url, f"redirect loop at {target}")
    if len(chain) > limit:
        raise FetchError(url, f"too many redirects (more than {limit})")
    if found := problem(target):
        raise FetchError(url, f"bad redirect: {found}")
    chain.append(target)


def phrase(response: requests.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason or "Unknown"


def read_capped(response: requests.Response, url: str, cap: int, deadline: Deadline) -> bytes:
    """The body, at most `cap` bytes after decompression (else FetchError), read before
    the deadline (else TimeoutError)."""
    headers = response.headers
    declared = headers.get("content-length", "")
    if not headers.get("content-encoding") and declared.isdigit() and int(declared) > cap:
        raise FetchError(url, f"body exceeds {size_text(cap)}")
    body = io.BytesIO()  # getvalue() hands over its buffer: no second copy of a big body
    # The raw urllib3 stream, read1 not read: urllib3 2's read(amt) blocks until amt
    # bytes have arrived. Decoding happens in read1, so the cap counts decompressed bytes.
    while chunk := response.raw.read1(_CHUNK, decode_content=True):
        body.write(chunk)
        if body.tell() > cap:
            raise FetchError(url, f"body exceeds {size_text(cap)}")
        if deadline.passed():
            raise TimeoutError("deadline passed")
    if deadline.passed():  # a shutdown reads as the end of a body without a length
        raise TimeoutError("deadline passed")
    return body.getvalue()
