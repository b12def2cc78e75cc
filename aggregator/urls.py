"""URL normalisation shared by parse (entry keys), clean (links) and dedupe. Pure; no IO.

`strip_tracking` removes only what is known to be tracking noise and leaves the URL
otherwise as published; `canonical_url` goes further for identity comparisons
(lower-case scheme and host, default port and fragment dropped); `story_url` goes
furthest, for matching one article across sources (AMP, mobile hosts, redirectors).
None of them follows a redirect: that would need the network.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

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


# Characters no host holds (WHATWG URL's forbidden host code points, whitespace) that
# urlsplit still puts in one: an href whose closing quote was lost runs on into the text
# (`https://a.example, and more words/`). nh3 dropped such an href after the clean stage
# had kept it, so an entry cleaned twice came out two ways. Not `%`: libxml2 writes an
# IDN host percent-encoded, and nh3 reads it back (the host is checked decoded).
_NOT_IN_HOST = re.compile(r"[\s<>^|\x00-\x1f\x7f]")


def is_safe_link(url: str | None) -> bool:
    """An absolute http(s) URL with a plausible host and port: the only links we republish."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
        host, _ = parts.hostname, parts.port  # the port raises ValueError for `:x`, `:99999`
    except ValueError:
        return False
    if parts.scheme.lower() not in SAFE_SCHEMES or not host:
        return False
    if "%" in host:  # read as nh3 reads it: percent-decoded, as UTF-8
        if _BAD_PERCENT.search(host):
            return False
        try:
            host = unquote(host, errors="strict").lower()
        except UnicodeDecodeError:
            return False
    if _NOT_IN_HOST.search(host) is not None:
        return False
    return _plausible_ipv4(host) and ("xn--" not in host or _valid_punycode(host))


_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")  # `sta%koverflow.com`: no host


def _valid_punycode(host: str) -> bool:
    """False if a `xn--` label does not decode (`xn--a`): nh3 drops such an href."""
    for label in host.split("."):
        if label.startswith("xn--"):  # urlsplit's hostname is lower case
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                return False
    return True


_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


def _plausible_ipv4(host: str) -> bool:
    """False for a host a WHATWG URL parser (nh3's, browsers') must read as an IPv4
    address, as its last label is a number, but cannot: `http://plasmas2.0/`,
    `http://999.1.1.1/`. urlsplit takes them; nh3 drops such an href, and an entry
    cleaned twice came out two ways (found by fuzz/parse_clean.py)."""
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()  # a trailing dot
    if ":" in host or not _NUMBER.fullmatch(labels[-1]):
        return True  # an IPv6 address, or a name
    if len(labels) > 4:
        return False
    numbers = []
    for label in labels:
        if not _NUMBER.fullmatch(label):
            return False
        if label[:2] in ("0x", "0X"):
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            if not all(c in "01234567" for c in label):
                return False
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    *head, last = numbers
    return all(n <= 255 for n in head) and last < 256 ** (5 - len(numbers))


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


# --- story identity: one article across sources ----------------------------------

# Tracking names that only `story_url` drops: adding them to TRACKING_PARAMS would change
# `canonical_url`, and so every stored entry key (parse.entry_key). Refused as ambiguous,
# because sites use them to name content or routes: `ref` (a GitHub branch), `source`,
# `src`, `from`, `via`, `cmp` (the Guardian's campaign, but also "compare"), `cid` (a
# content id in many CMSs), `si` and `feature` (YouTube share; short generic names),
# `share`, `trk`, `campaign`.
_STORY_TRACKING = frozenset(
    name
    for group in (
        "_ga _gl",  # Google Analytics cross-domain linker
        "ttclid li_fat_id epik igsh srsltid",  # TikTok, LinkedIn, Pinterest, Instagram, Google
        "_openstat __twitter_impression _branch_match_id",  # Yandex, Twitter, Branch links
        "s_kwcid ef_id icid",  # Adobe Advertising and Analytics (internal campaign)
        "__hstc __hssc __hsfp hsctatracking vero_conv",  # HubSpot, Vero
        "fb_action_ids fb_action_types fb_source fb_ref",  # Facebook Open Graph actions
        "ncid soc_src soc_trk",  # Yahoo / Verizon Media sites: `?ncid=rss`
        "guccounter guce_referrer guce_referrer_sig",  # Yahoo's consent redirect
        "ocid sr_share smid smtyp",  # MSN `?ocid=msedgntp`, Reddit, New York Times shares
        # Alibaba's click path ("super position model"). Doubtful only for being short: no
        # site is known to name content with it.
        "spm",
        "xtor",  # AT Internet (XiTi): `?xtor=RSS-3208` on French news sites
        # AT Internet / Piano campaign names, listed because `at_` alone is too wide.
        "at_medium at_campaign at_campaign_type at_platform at_creation at_variant",
        "at_format at_send_date at_link at_link_id at_link_origin at_link_type",
        "at_ptr_name at_recipient_id at_recipient_list at_bbc_team",
        "at_custom1 at_custom2 at_custom3 at_custom4",
        "wt_mc wt.mc_id wt_zmc",  # Webtrends
        "amp_js_v amp_gsa amp_ct amp_tf amp_r ampshare usqp",  # Google AMP viewer and cache
    )
    for name in group.split()
)
# Whole query parts that ask for the AMP rendering of the same page: WordPress AMP
# plugin (`?amp`, `?amp=1`), Drupal AMP (`?amp`), Arc XP (`?outputType=amp`), `_amp=true`.
_AMP_QUERY_PARTS = frozenset(
    {"amp", "amp=", "amp=1", "amp=true", "outputType=amp", "_amp=true", "_amp=1"}
)
# One newsroom serves an article at `www.`, the bare domain and its mobile or AMP edition
# (`m.`, `mobile.`, `amp.`), and sources of one site disagree on which they link. Other
# subdomains (`blog.`, `news.`) are often separate sites with their own paths: they stay.
_EDITION_PREFIXES = ("www.", "m.", "mobile.", "amp.")
# What a server answers for the directory (the Apache and nginx index defaults).
_INDEX_FILES = frozenset({"index.html", "index.htm", "index.php"})
# `x.amp.html` is the AMP twin of `x.html`; `x.amp` of `x` (BBC: `/news/world-1.amp`).
_AMP_SUFFIXES = ((".amp.html", ".html"), (".amp.htm", ".htm"), (".amp", ""))
# AMP caches serve `/c/s/HOST/PATH` (https origin) or `/c/HOST/PATH` (http); `/v/` is
# the viewer form. The Google AMP viewer serves `/amp/s/HOST/PATH` on a Google host.
_AMP_CACHES = (".cdn.ampproject.org", ".bing-amp.com")
_GOOGLE = re.compile(r"google(?:\.com?)?\.[a-z]{2,3}")
# Redirectors whose target is a query parameter, by (host, path): parameter names in
# order of preference. Google hosts are looked up as `google.com`; `www.` and `m.` are
# already gone from the host. Shorteners (t.co, bit.ly) and feedproxy need the network.
_REDIRECTORS: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {
    ("google.com", ("url",)): ("q", "url"),  # search results, Gmail, Google Alerts
    ("youtube.com", ("redirect",)): ("q",),  # links in video descriptions
    ("facebook.com", ("l.php",)): ("u",),  # Facebook's link shim, on every host it uses
    ("l.facebook.com", ("l.php",)): ("u",),
    ("lm.facebook.com", ("l.php",)): ("u",),
    ("l.instagram.com", ()): ("u",),
    ("t.umblr.com", ("redirect",)): ("z",),
}
# A chain of wrappers longer than this is not a link anyone published.
_MAX_STEPS = 16

_ESCAPE = re.compile("%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# RFC 3986 §3.3 and §3.4: what a path segment, and a query or fragment, hold unescaped.
_SEGMENT_SAFE = "!$&'()*+,;=:@"
_QUERY_SAFE = "!$'()*+,;=:@/?"
# RFC 3986 §3.2.2 reg-name (lower case; `:` only inside IPv6 brackets).
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%")


class _Story(NamedTuple):
    """A URL in story form: its scheme is always https and userinfo is gone."""

    host: str  # lower-case, no edition prefix, `:port` unless a default port
    path: tuple[str, ...]  # non-empty segments, escapes normalised
    query: tuple[str, ...]  # parts sorted by name, escapes normalised, noise dropped
    fragment: str  # only a `#!` route; other fragments are in-page anchors


def story_url(url: str | None) -> str | None:
    """The identity of the article `url` links to: two links from different sources
    with the same story_url are the same article. None unless an http(s) URL with a host.

    Written as https (the scheme is not identity) with a lower-case host without `www.`,
    `m.`, `mobile.` or `amp.`, no userinfo, default port or fragment (a `#!` route is
    kept); tracking and AMP query parts dropped, the rest sorted by name with values
    kept; escapes normalised; `/a//b/`, `/a/./b`, `/a/b/index.html` all `/a/b`; AMP
    paths mapped to the article; AMP caches, the Google AMP viewer and the redirectors
    in `_REDIRECTORS` unwrapped when their target is http(s). A feedproxy or feedburner
    `/~r/` link only resolves over the network: it is normalised like any other (parse
    prefers `feedburner:origLink`). Never raises; story_url(story_url(u)) == story_url(u).
    """
    # Unwrap or rewrite the path, then parse again, until a step changes nothing: the
    # result is then a fixed point of every rule, which is what makes this idempotent.
    story = _story(url) if url else None
    for _ in range(_MAX_STEPS):
        if story is None:
            return None
        following = _unwrap(story) or _story(_join(story._replace(path=_article(story.path))))
        if following == story:
            return _join(story)
        story = following
    return None


def _story(url: str) -> _Story | None:
    """`url` split into story parts, each normalised; None unless http(s) with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = _story_host(parts.hostname or "")
    if scheme not in SAFE_SCHEMES or not host:
        return None
    # Written as https, where 443 is the default too: `http://x:443/` is `https://x/`.
    if port is not None and port not in (_DEFAULT_PORTS[scheme], 443):
        host = f"{host}:{port}"
    fragment = _escapes(parts.fragment, _QUERY_SAFE) if parts.fragment[:1] == "!" else ""
    return _Story(host, _segments(parts.path), _story_query(parts.query), fragment)


def _story_host(hostname: str) -> str | None:
    """A host in story form (ASCII when IDNA allows), None when it cannot be a host."""
    if ":" in hostname:  # an IPv6 literal, checked by urlsplit
        valid = all(char in _HOST_CHARS or char == ":" for char in hostname)
        return f"[{hostname}]" if valid else None
    host = _idna(hostname.rstrip("."))  # `example.com.` is the same absolute name
    if not _is_host(host):
        return None
    while host.startswith(_EDITION_PREFIXES) and "." in host.partition(".")[2]:
        host = host.partition(".")[2]  # but `www.com` is a domain of its own
    return host


def _is_host(host: str) -> bool:
    """No empty label (`a..b`), space, control or URL delimiter: a name DNS could hold."""
    if "" in host.split("."):
        return False
    if host.isascii():  # the common case, at C speed
        return _HOST_CHARS.issuperset(host)
    return all(c in _HOST_CHARS if c.isascii() else c.isprintable() for c in host)


def _idna(host: str) -> str:
    """The ASCII (IDNA 2003) form of a lower-case `host` when the codec round-trips it,
    else `host` as written: some registered names break IDNA 2003 rules."""
    if host.isascii():
        return host  # the codec gives an ASCII name back as it is, or fails on it
    try:
        encoded = host.encode("idna")
        encoded.decode("idna")
    except ValueError:  # UnicodeError: a label empty, too long or not round-tripping
        return host
    return encoded.decode("ascii").lower()


def _segments(path: str) -> tuple[str, ...]:
    """Non-empty path segments with escapes normalised and dot segments resolved
    (RFC 3986 §6.2.2.3): `/a//b/`, `/a/./b` and `/a/c/../b` are all `a`, `b`."""
    segments: list[str] = []
    for segment in _escapes(path, "/" + _SEGMENT_SAFE).split("/"):
        if segment == "..":
            del segments[-1:]
        elif segment not in ("", "."):
            segments.append(segment)
    return tuple(segments)


def _story_query(query: str) -> tuple[str, ...]:
    """Query parts with escapes normalised and noise dropped, stably sorted by name: the
    order of different names carries no meaning, that of a repeated name may (a list)."""
    parts = (_escapes(part, _QUERY_SAFE) for part in query.split("&") if part)
    kept = [part for part in parts if not _is_noise(part)]
    return tuple(sorted(kept, key=lambda part: part.partition("=")[0]))


def _is_noise(part: str) -> bool:
    if part in _AMP_QUERY_PARTS:
        return True
    name = _param_name(part)
    return is_tracking_param(name) or name.lower() in _STORY_TRACKING


def _escapes(text: str, safe: str) -> str:
    """RFC 3986 §6.2.2: escapes of unreserved characters decoded, other escapes in upper
    case, characters outside `safe` and the unreserved set escaped as UTF-8. So `%7e` is
    `~`, `é` and `%c3%a9` are `%C3%A9`, and a stray `%` is `%25`."""
    pieces: list[str] = []
    end = 0
    for match in _ESCAPE.finditer(text):
        pieces.append(quote(text[end : match.start()], safe=safe, errors="surrogatepass"))
        char = chr(int(match[1], 16))
        pieces.append(char if char in _UNRESERVED else match[0].upper())
        end = match.end()
    pieces.append(quote(text[end:], safe=safe, errors="surrogatepass"))
    return "".join(pieces)


def _article(path: tuple[str, ...]) -> tuple[str, ...]:
    """The path of the article an AMP or index path stands for: `/amp/x`, `/x/amp`,
    `/x.amp` and `/x/index.html` are `/x`; `/x.amp.html` is `/x.html`."""
    while path:
        shorter = _drop_amp_or_index(path)
        if shorter == path:
            break
        path = shorter
    return path


def _drop_amp_or_index(path: tuple[str, ...]) -> tuple[str, ...]:
    if path[0] == "amp":  # `/amp/2024/x`: a prefix some CMSs put before the article path
        return path[1:]
    last = path[-1]
    if last == "amp" or last in _INDEX_FILES:  # `/x/amp/`: WordPress AMP plugin
        return path[:-1]
    for suffix, replacement in _AMP_SUFFIXES:
        if last.endswith(suffix) and len(last) > len(suffix):
            return (*path[:-1], last[: -len(suffix)] + replacement)
    return path


def _unwrap(story: _Story) -> _Story | None:
    """The story a redirector, AMP cache or AMP viewer URL stands for; None when `story`
    is none of them or its target is not an http(s) URL (the wrapper then stays)."""
    target = _redirect_target(story) or _amp_target(story)
    return _story(target) if target else None


def _redirect_target(story: _Story) -> str | None:
    host = "google.com" if _GOOGLE.fullmatch(story.host) else story.host
    for name in _REDIRECTORS.get((host, story.path), ()):
        for part in story.query:
            key, _, value = part.partition("=")
            if key == name:
                return unquote_plus(value)  # form-encoded, as these services write it
    return None


def _amp_target(story: _Story) -> str | None:
    head, rest = story.path[:1], story.path[1:]
    cache = ("." + story.host).endswith(_AMP_CACHES) and head in (("c",), ("v",))
    if not cache and not (_GOOGLE.fullmatch(story.host) and head == ("amp",)):
        return None
    if rest[:1] == ("s",):  # the origin is https; without `s` it is http, the same story
        rest = rest[1:]
    if not rest:
        return None
    query = "?" + "&".join(story.query) if story.query else ""
    return "https://" + "/".join(rest) + query


def _join(story: _Story) -> str:
    query = "?" + "&".join(story.query) if story.query else ""
    fragment = "#" + story.fragment if story.fragment else ""
    return f"https://{story.host}/{'/'.join(story.path)}{query}{fragment}"
