"""The HTTP fetcher: conditional GETs with requests over pooled keep-alive connections.

It follows redirects itself (to count them, to tell permanent moves from temporary ones
and to apply the per-host limits to every hop), enforces a total deadline and a body cap
measured after decompression, and turns every library error into a `FetchError`. It
does not parse what it fetches; `requests.Response` never leaves this module.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import TypeGuard
from urllib.parse import urlsplit

import requests
import xxhash
from requests.utils import should_bypass_proxies

from .. import USER_AGENT
from ..config import Poll
from ..errors import FetchError
from ..models import FetchResult, Validators
from .deadline import Deadline, WatchedAdapter
from .exchange import (
    NETWORK_ERRORS,
    PooledClient,
    add_hop,
    phrase,
    read_capped,
    redirect_target,
)
from .limits import DEFAULT_PORTS, HostLimiter, host_key
from .local import fetch_file, is_local
from .reasons import describe

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
_PERMANENT = frozenset({301, 308})  # RFC 9110 §15.4: only these say "update your links"


class HttpFetcher(PooledClient):
    """The real fetcher. Thread-safe: one fetcher serves every fetch thread, each with
    its own Session over one pool of kept-alive connections (`PooledClient`).

    requests would re-read the proxy variables and ~/.netrc for every request; the
    fetcher reads the proxies (`*_proxy`, `no_proxy`) once at start. Cookies are never
    kept: feeds are public, and sources sharing a domain never see each other's state.
    """

    def __init__(self, poll: Poll, *, user_agent: str = USER_AGENT) -> None:
        self.poll = poll
        self.limiter = HostLimiter(poll.per_host, poll.host_spacing)
        self._headers = {"User-Agent": user_agent, "Accept": ACCEPT}
        self._headers["Accept-Encoding"] = "gzip, deflate"
        # No urllib3 retries: a failed poll is retried by the scheduler, with backoff.
        super().__init__(
            WatchedAdapter(pool_connections=max(10, poll.workers), pool_maxsize=poll.workers)
        )
        self._proxies = urllib.request.getproxies()

    def fetch(self, location: str, validators: Validators) -> FetchResult:
        if is_local(location):
            return fetch_file(location, validators, self.poll.max_bytes)
        if problem := _url_problem(location):
            raise FetchError(location, problem)
        started = time.monotonic()
        deadline = Deadline(self.poll.timeout, self._watchdog)
        chain = [location]  # the URLs requested, redirects included
        try:
            with deadline:
                result = self._follow(chain, validators, deadline)
        except NETWORK_ERRORS as exc:
            reason = describe(exc, chain[-1], deadline.passed(), self.poll)
            raise FetchError(location, reason) from exc
        return replace(result, elapsed=time.monotonic() - started)

    def _follow(self, chain: list[str], validators: Validators, deadline: Deadline) -> FetchResult:
        url = chain[0]
        headers = self._headers | _conditional_headers(validators)
        codes: list[int] = []
        while True:
            with self.limiter.slot(host_key(chain[-1])):
                deadline.start()
                with self._get(chain[-1], headers, deadline) as response:
                    target = redirect_target(response, chain[-1])
                    if target is None:
                        return self._result(url, chain, codes, response, validators, deadline)
            codes.append(response.status_code)
            add_hop(chain, target, self.poll.max_redirects, _url_problem)

    @contextmanager
    def _get(
        self, url: str, headers: dict[str, str], deadline: Deadline
    ) -> Iterator[requests.Response]:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        # Prepared here and sent as is: Session.request() would merge session settings
        # into every request, which adds about a third to the CPU time of a 304 poll.
        request = requests.PreparedRequest()
        request.prepare(method="GET", url=url, headers=headers)
        response = self._session().send(
            request,
            timeout=(min(self.poll.connect_timeout, remaining), remaining),
            stream=True,
            allow_redirects=False,
            proxies=self._proxies_for(url),
            verify=self.verify,
        )
        # Closing closes the connection unless the body was read to its end (it is
        # then back in the pool already), and gives the pool its slot back.
        with response:
            yield response

    def _proxies_for(self, url: str) -> dict[str, str]:
        if not self._proxies or should_bypass_proxies(url, no_proxy=None):
            return {}  # no_proxy=None: requests reads it from the environment
        return self._proxies

    def _result(
        self,
        url: str,
        chain: list[str],
        codes: list[int],
        response: requests.Response,
        old: Validators,
        deadline: Deadline,
    ) -> FetchResult:
        if deadline.passed():  # the head may be cut short by the deadline's shutdown
            raise TimeoutError("deadline passed")
        code = response.status_code
        # Repeated headers read as one, values joined by ", " (RFC 9110 §5.3).
        headers = {name.lower(): value for name, value in response.headers.items()}
        moved = chain[-1] if codes and all(c in _PERMANENT for c in codes) else None
        base = FetchResult(url, chain[-1], "ok", code, None, headers, old, 0.0, moved)
        if code == 304:  # RFC 9110 §15.4.5: a 304 may carry updated validators
            _finish_empty_body(response)
            return replace(base, status="not_modified", validators=_updated(old, headers))
        if not 200 <= code < 300:
            reason = f"HTTP {code} {phrase(response)}"
            raise FetchError(url, reason, http_status=code, headers=headers)
        body = read_capped(response, url, self.poll.max_bytes, deadline)
        digest = xxhash.xxh3_128_hexdigest(body)
        new = Validators(headers.get("etag"), headers.get("last-modified"), digest)
        if digest == old.body_hash:  # a server that ignores conditional GET
            return replace(base, status="unchanged", validators=new)
        return replace(base, body=body, validators=new)


def _conditional_headers(validators: Validators) -> dict[str, str]:
    headers = {}
    if _sendable(validators.etag):
        headers["If-None-Match"] = validators.etag
    if _sendable(validators.last_modified):
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _sendable(value: str | None) -> TypeGuard[str]:
    # A stored validator with a line break (a folded header) cannot be sent back.
    return bool(value) and "\r" not in value and "\n" not in value  # type: ignore[operator]


def _updated(old: Validators, headers: Mapping[str, str]) -> Validators:
    etag = headers.get("etag") or old.etag
    return Validators(etag, headers.get("last-modified") or old.last_modified, old.body_hash)


def _finish_empty_body(response: requests.Response) -> None:
    """Read a 304's (empty) body to its end: urllib3 then returns the connection to the
    pool, where closing the unread response would close it, so the next poll of the
    host reuses it instead of opening a new TCP connection."""
    with suppress(*NETWORK_ERRORS):
        response.raw.read(decode_content=False)


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return f"invalid URL: {url}"
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return f"unsupported location: {url}"
    return None
