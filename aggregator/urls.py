"""URL normalisation shared by parse (entry keys), clean (links) and dedupe. Pure; no IO.

`strip_tracking` removes only what is known to be tracking noise and leaves the URL
otherwise as published; `canonical_url` goes further for identity comparisons
(lower-case scheme and host, default port and fragment dropped).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Query parameters that only track the reader: never part of what a URL names.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
        "ref_src",
        "cmpid",
        "__s",
    }
)
TRACKING_PREFIXES = ("utm_", "ga_", "pk_", "mtm_", "hsa_")
SAFE_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A query part that may name a tracking parameter (ASCII, case-insensitive): a prefix,
# or a whole name ending at `=`, `&` or the end of the query.
_TRACKING_NAME = re.compile(
    "(?:^|&)(?:"
    + "|".join(re.escape(p) for p in TRACKING_PREFIXES)
    + "|(?:"
    + "|".join(re.escape(n) for n in sorted(TRACKING_PARAMS))
    + ")(?:=|&|$))",
    re.IGNORECASE | re.ASCII,
)


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """Drop tracking query parameters; anything else is kept byte for byte.

    The query is split on `&` and a part goes when its name (decoded as
    `parse_qsl` decodes it) is a tracking name; the other parts, their order, empty
    parts and the fragment stay exactly as written. A query without all its parts
    loses its `?`.
    """
    end = url.find("#")
    if end < 0:
        end = len(url)
    start = url.find("?", 0, end)
    if start < 0 or start + 1 == end:
        return url
    query = url[start + 1 : end]
    # Most URLs carry no tracking name at all: one regex scan settles them. Only an
    # ASCII query without escapes spells its names as they decode.
    plain = query.isascii() and "%" not in query and "+" not in query
    if plain and _TRACKING_NAME.search(query) is None:
        return url
    parts = query.split("&")
    kept = [part for part in parts if not is_tracking_param(_param_name(part))]
    if len(kept) == len(parts):
        return url
    rest = "&".join(kept)
    return url[:start] + ("?" + rest if rest else "") + url[end:]


def _param_name(part: str) -> str:
    name = part.split("=", 1)[0]
    if "%" in name or "+" in name:
        name = unquote_plus(name)  # as parse_qsl decodes it
    return name


def is_safe_link(url: str | None) -> bool:
    """An absolute http(s) URL with a host: the only links we republish."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in SAFE_SCHEMES and bool(parts.hostname)


def canonical_url(url: str) -> str:
    """The identity form of a URL: tracking stripped, scheme and host lower-cased,
    default port and fragment dropped, an empty path written as `/`.

    Non-http(s) strings are returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in SAFE_SCHEMES or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        host = f"{userinfo}@{host}"
    query = urlsplit(strip_tracking(url)).query
    return urlunsplit((scheme, host, parts.path or "/", query, ""))
