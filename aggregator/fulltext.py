"""Full text for teaser feeds: fetches an entry's article page and extracts its main content.

Article URLs come from feed entries, so from whoever writes the feed: every fetch goes
through an SSRF guard (`check_address`) that refuses non-public addresses unless the
operator allows them. It does not clean or sanitise the HTML it returns (the clean stage
does, against the entry link), nor decide which entries need full text (the pipeline
does); `requests.Response` never leaves this module.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import lxml.html
import requests
from lxml import etree
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from . import USER_AGENT
from .config import Poll
from .errors import AggregatorError, FetchError
from .fetch.deadline import Deadline, WatchedAdapter
from .fetch.exchange import (
    NETWORK_ERRORS,
    PooledClient,
    add_hop,
    phrase,
    read_capped,
    redirect_target,
)
from .fetch.reasons import describe

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
PublicTest = Callable[[IPAddress], bool]

ACCEPT = "text/html, application/xhtml+xml;q=0.9"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_REDIRECTS = 5
MIN_WORDS = 50  # less is a teaser, a paywall notice or a cookie banner, not an article
_CONNECT_TIMEOUT = 10.0
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: embeds an IPv4 address


@dataclass(frozen=True, slots=True)
class FullTextSettings:
    timeout: float = 15.0  # total seconds for one article fetch, redirects and body included
    max_bytes: int = 5 * 1024 * 1024  # cap after decompression
    allow_private: bool = False  # SSRF guard off only when the operator says so


@dataclass(frozen=True, slots=True)
class FullTextResult:
    """`html` is the article's main content (an HTML fragment, links absolute), or None
    and `error` says why, in a few words fit for one log line."""

    url: str
    html: str | None
    error: str | None


class Blocked(AggregatorError):
    """The SSRF guard refused a connection; the message is the reason."""


# --- the guard (pure) ---------------------------------------------------------------


def is_public(address: IPAddress) -> bool:
    """Globally routable, judging an IPv4 address embedded in an IPv6 one (mapped,
    6to4, NAT64) by itself: `::ffff:127.0.0.1` reaches the loopback interface."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public(embedded)
    return address.is_global and not address.is_multicast


def check_address(
    host: str, addresses: Sequence[str], allow_private: bool, is_public: PublicTest = is_public
) -> str | None:
    """Why `host`, resolved to `addresses`, must not be connected to; None if it may.

    Any one non-public address blocks the host: the connection could go to any of them.
    """
    if allow_private:
        return None
    if not addresses:
        return f"blocked: {host} resolves to no address"
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return f"blocked: {host} resolves to {text!r}, not an IP address"
        if not is_public(address):
            what = f"{text} is" if text == host else f"{host} resolves to {text},"
            return f"blocked: {what} {_kind(address)}"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


def _kind(address: IPAddress) -> str:
    """What the address is, as in "127.0.0.1 is <a loopback address>"."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped " + _kind(address.ipv4_mapped).split(" ", 1)[1]
    if (embedded := _embedded_ipv4(address)) is not None:
        return f"a NAT64/6to4 address of {embedded}, {_kind(embedded)}"
    for kind, test in (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),  # before private: 240.0.0.0/4 is both
        ("a private", address.is_private),
    ):
        if test:
            return f"{kind} address"
    return "a non-public address"


def _resolve(host: str, port: int) -> list[str]:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))  # unique, in order


@dataclass(frozen=True, slots=True)
class _Guard:
    resolver: Resolver
    allow_private: bool
    is_public: PublicTest

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses `host` may be connected to; raises `Blocked` or `socket.gaierror`."""
        literal = host.strip("[]")
        addresses = [literal] if _is_ip(literal) else self.resolver(host, port)
        if problem := check_address(host, addresses, self.allow_private, self.is_public):
            raise Blocked(problem)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        return addresses


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- the transport: connections that resolve, check and connect in one step ----------


class _GuardedConnection(HTTPConnection):
    """Resolves its host itself, checks the addresses and connects to a checked one, so
    DNS cannot answer differently between the check and the connection (rebinding).
    HTTPS still sends the host name for SNI and checks the certificate against it."""

    guard: ClassVar[_Guard]

    def _new_conn(self) -> socket.socket:
        try:
            addresses = self.guard.addresses(self.host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        failure: OSError | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                message = f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                raise ConnectTimeoutError(self, message) from exc
            except OSError as exc:
                failure = exc
        message = f"Failed to establish a new connection: {failure}"
        raise NewConnectionError(self, message) from failure


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedAdapter(WatchedAdapter):
    """The deadline-watched adapter with pools whose connections go through `guard`."""

    def __init__(self, guard: _Guard, **kwargs: Any) -> None:
        self._guard = guard
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        bases = {"http": _GuardedConnection, "https": _GuardedHTTPSConnection}
        pools: dict[str, type[HTTPConnectionPool]] = {}
        for scheme, pool in self.poolmanager.pool_classes_by_scheme.items():
            conn = type(f"Guarded{scheme}", (bases[scheme],), {"guard": self._guard})
            pools[scheme] = cast(type[HTTPConnectionPool], type(pool.__name__, (pool,), {}))
            pools[scheme].ConnectionCls = conn
        self.poolmanager.pool_classes_by_scheme = pools


# --- the fetcher --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Page:
    url: str
    body: bytes
    charset: str | None


class FullTextFetcher(PooledClient):
    """Fetches article pages and extracts their main content. Thread-safe like
    `HttpFetcher`: a Session per thread, one guarded adapter (and its pools) for all.

    Never uses a proxy: a proxy resolves names itself, out of the guard's sight.
    """

    def __init__(
        self,
        settings: FullTextSettings,
        *,
        user_agent: str = USER_AGENT,
        resolver: Resolver | None = None,
        is_public: PublicTest = is_public,
    ) -> None:
        self.settings = settings
        guard = _Guard(resolver or _resolve, settings.allow_private, is_public)
        self._headers = {
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        }
        self._connect_timeout = min(_CONNECT_TIMEOUT, settings.timeout)
        # Only for the wording of `describe`'s reasons; trusted values, hence no parsing.
        self._poll = Poll.model_construct(
            timeout=settings.timeout, connect_timeout=self._connect_timeout
        )
        super().__init__(_GuardedAdapter(guard))

    def fetch_article(self, url: str) -> FullTextResult:
        """The main content of the page at `url`. Network, HTTP and extraction problems
        come back as `error`; only our own bugs raise."""
        try:
            page = self._download(url)
        except FetchError as exc:
            return FullTextResult(url, None, exc.reason)
        html, error = extract_article(_decoded(page), page.url)
        return FullTextResult(url, html, error)

    def _download(self, url: str) -> _Page:
        if problem := _url_problem(url):
            raise FetchError(url, problem)
        deadline = Deadline(self.settings.timeout, self._watchdog)
        chain = [url]  # the URLs requested, redirects included
        try:
            with deadline:
                return self._follow(chain, deadline)
        except Blocked as exc:
            raise FetchError(url, str(exc)) from exc
        except NETWORK_ERRORS as exc:
            raise FetchError(url, describe(exc, chain[-1], deadline.passed(), self._poll)) from exc

    def _follow(self, chain: list[str], deadline: Deadline) -> _Page:
        while True:
            deadline.start()
            with self._get(chain[-1], deadline) as response:
                if deadline.passed():  # the head was cut short: its fields may be missing
                    raise TimeoutError("deadline passed")
                target = redirect_target(response, chain[-1])
                if target is None:
                    return self._page(chain, response, deadline)
            add_hop(chain, target, MAX_REDIRECTS, _url_problem)

    @contextmanager
    def _get(self, url: str, deadline: Deadline) -> Iterator[requests.Response]:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        response = self._session().get(
            url,
            headers=self._headers,
            timeout=(min(self._connect_timeout, remaining), remaining),
            stream=True,
            allow_redirects=False,
            verify=self.verify,
        )
        with response:
            yield response

    def _page(self, chain: list[str], response: requests.Response, deadline: Deadline) -> _Page:
        url, code = chain[0], response.status_code
        if not 200 <= code < 300:
            raise FetchError(url, f"HTTP {code} {phrase(response)}", http_status=code)
        mime, charset = _content_type(response.headers.get("content-type", ""))
        if mime not in HTML_TYPES:
            raise FetchError(url, f"not HTML ({mime or 'no content type'})")
        body = read_capped(response, url, self.settings.max_bytes, deadline)
        return _Page(chain[-1], body, charset)


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return f"invalid URL: {url}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url}"
    return None


def _content_type(header: str) -> tuple[str, str | None]:
    """The media type, lower-cased, and the charset if it names a codec we know."""
    mime, _, params = header.partition(";")
    found = _CHARSET.search(params)
    charset = found.group(1) if found else None
    if charset is not None:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None  # let the parser sniff <meta charset>
    return mime.strip().lower(), charset


def _decoded(page: _Page) -> str | bytes:
    """Text when the headers name the charset, else bytes for the parser to sniff."""
    if page.charset is None:
        return page.body
    return page.body.decode(page.charset, errors="replace")


# --- extraction ---------------------------------------------------------------------


def extract_article(document: str | bytes, url: str) -> tuple[str | None, str | None]:
    """(article HTML, None), or (None, why not). The HTML is the main content only,
    without comments, navigation or other boilerplate, links made absolute against `url`."""
    import trafilatura  # slow to import: only a daemon with a full_text source pays for it

    try:
        extracted = trafilatura.extract(
            document,
            url=url,
            output_format="html",
            include_comments=False,
            include_tables=True,
            include_images=True,
            include_links=True,
            favor_precision=True,
        )
    except (ValueError, etree.LxmlError, RecursionError) as exc:
        return None, f"extraction failed: {type(exc).__name__}"
    fragment = _body_fragment(extracted) if extracted else None
    if fragment is None:
        return None, "no article found"
    return fragment, None


def _body_fragment(extracted: str) -> str | None:
    """trafilatura's `<html><body>…` as a fragment; None under MIN_WORDS words."""
    root = lxml.html.fromstring(extracted)
    body = root.find("body")
    body = root if body is None else body
    text: str = etree.tostring(body, method="text", encoding="unicode")
    if len(text.split()) < MIN_WORDS:
        return None
    html = "".join(lxml.html.tostring(child, encoding="unicode") for child in body)
    return (body.text or "").strip() + html.strip()
