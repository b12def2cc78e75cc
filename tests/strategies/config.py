"""Strategies for config mappings as YAML loads them: near-valid, so that acceptance and
each kind of refusal (wrong type, bad value, unknown key, missing key) all occur."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .markup import Draw

junk_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def _either(draw: Draw, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], k: int) -> Any:
    """`bad` with probability 2**-k, else `good`. (Weights by repeating choices in
    `one_of` or `sampled_from` do not work: it drops repeats and favours the ends.)"""
    return draw(bad if all(draw(st.booleans()) for _ in range(k)) else good)


def _value(good: list[Any], bad: list[Any], rare: int = 2) -> st.SearchStrategy[Any]:
    """One of `good`, or with probability 2**-rare one of `bad` or any junk."""
    return _either(st.sampled_from(good), st.sampled_from(bad or [None]) | junk_values, rare)


def _some(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A list of 1-3 items, now and then not a list."""
    return _either(st.lists(item, min_size=1, max_size=3), junk_values, 3)


def _section(required: tuple[str, ...] = (), **fields: st.SearchStrategy[Any]) -> Any:
    """A mapping of `required` and some other `fields`, now and then with an unknown key,
    or not a mapping at all."""
    extra = _either(st.just({}), st.sampled_from([{"colour": 1}, {"Interval": "1h"}]), 3)
    known = st.fixed_dictionaries({k: fields.pop(k) for k in required}, optional=fields)
    return _either(st.builds(lambda a, b: {**a, **b}, known, extra), junk_values, 3)


# fmt: off
REGEXES = ["^Sponsor:", "(?i)read more", "", "(a|b)*c", "(?x) a # c", "x{2,99999}", r"\bAd\b"]
BAD_REGEXES = ["(unclosed", "[z-a]", "a{99999999999}", "(?P<x>", "*", "\\", "(?<=a+)b",
               "x{2,1}", r"\p{L}", "(?i", "a" * 5000 + "(", "(" * 1000 + ")" * 1000]
SELECTORS = ["div.share", "p > a[href^='http']", "*|*", "#id", ":not(p)", "a, b", "ns|a",
             "a:contains('x')", "p:nth-child(2n+1)", "[data-x]", "svg|rect", "p:lang(en)"]
BAD_SELECTORS = ["div[", "", "p::after", "a:lang()", ":nth-child(n-)", "p >", "::", "a:hover"]
URLS = ["https://a.example/f.xml", "http://b.example:8080/rss", "examples/l.xml",
        "file:///tmp/f.xml"]
BAD_URLS = ["file://", "ftp://a.example/", "https:///x", "c:\\f.xml", "http://[::1",
            "http://a.example:0/", "http://a.example:99999/", " ", "mailto:x"]
TOPIC_IDS = ["a_b-1", "World", "a.b", "", "x" * 70, "-x", "é", "a[0]", 3]
durations = _value(["500ms", "20s", "30m", "2h", "1d", " 1.5 h ", "1e3s", "0.5s"],
                   ["0s", "0", "-5s", "30", "1w", "99999999999999999999d", "9" * 400 + "s"])
sizes = _value(["512KB", "10MB", "1GiB", "1.5mb", "10 MB", "1e9B"],
               ["0KB", "ten", "9" * 30 + "GB", 10])
counts = _value([1, 2, 16, 50, 64], [0, -1, 2**64, True, "16", 1.5, 300, 10001])
fractions = _value([0.5, 0.9, 1], [0, -0.1, 2, "0.5", float("nan")])
flags = _value([True, False], ["yes", 1, "true"])
texts = _value(["T", "Title", "é"], ["", 1])
urls = _value(URLS, BAD_URLS)
topic_ids = _value(["world", "tech"], TOPIC_IDS)
topic_keys = _either(st.sampled_from(["world", "tech"]), st.sampled_from(TOPIC_IDS) | st.text(), 2)
# fmt: on


# Made-up patterns: most are not regular expressions, some repeat past 2**32 - 2.
_REGEX_SOUP = st.one_of(
    st.text(st.sampled_from("()[]{}*+?|\\^$.aZ09,:<>=!P-"), max_size=12),
    st.integers(0, 2**40).map("x{{{}}}".format),
    junk_values,
)


def rules(rare: int = 2) -> st.SearchStrategy[Any]:
    """A `rules` section; its regexes and selectors are bad with probability 2**-rare."""
    regexes = _either(st.sampled_from(REGEXES), st.sampled_from(BAD_REGEXES) | _REGEX_SOUP, rare)
    filters = _section(required=("title",), title=regexes, author=regexes, category=regexes)
    return _section(
        drop_blocks=_some(regexes),
        title_strip=_some(regexes),
        remove=_some(_value(SELECTORS, BAD_SELECTORS, rare + 1)),
        keep=_some(filters),
        block=_some(filters),
    )


SECTIONS = {
    "storage": _value(["sqlite:///data/a.db", "sqlite:///:memory:"], []),
    "output": _section(
        dir=_value(["feeds", "/tmp/f"], []), base_url=urls, entries=counts, author=texts
    ),
    "poll": _section(
        **dict.fromkeys(("interval", "timeout", "connect_timeout", "host_spacing"), durations),
        **dict.fromkeys(("min_interval", "max_interval"), durations),
        max_bytes=sizes,
        **dict.fromkeys(("workers", "per_host", "max_redirects", "processes"), counts),
        adapt=flags,
    ),
    "server": _section(host=_value(["127.0.0.1", "::"], []), port=counts),
    "rules": rules(),
    "full_text": _section(timeout=durations, max_bytes=sizes, allow_private=flags),
    "learning": _section(enabled=flags, min_entries=counts, min_share=fractions),
    "dedupe": _section(scope=_value(["topic", "global"], ["all"]), threshold=fractions),
}
_SOURCE = _section(
    required=("url", "topics"),
    url=urls,
    topics=_some(topic_ids),
    name=texts,
    interval=durations,
    rules=rules(),
    full_text=flags,
    learn=flags,
)


def _url_of(source: object) -> object:
    """What makes two sources duplicates (a refusal `config_mappings` makes otherwise)."""
    return source.get("url") if isinstance(source, dict) else source


_TOPICS = st.dictionaries(topic_keys, _section(required=("title",), title=texts))
_SOURCES = st.lists(_SOURCE, max_size=3, unique_by=lambda s: repr(_url_of(s)))
_ODD_KEYS = st.sampled_from([{"base_dir": "."}, {"colour": "blue"}])


@st.composite
def _mappings(draw: Draw) -> dict[str, Any]:
    return {
        "topics": draw(_either(_TOPICS, junk_values, 2)),
        "sources": draw(_either(_SOURCES, junk_values, 2)),
        **draw(st.fixed_dictionaries({}, optional=SECTIONS)),
        **draw(_either(st.just({}), _ODD_KEYS, 3)),
    }


def config_mappings() -> st.SearchStrategy[Any]:
    """Any config: now and then not a mapping at all."""
    return _either(_mappings(), st.sampled_from([None, "storage: x", 3, [{}]]), 4)


def rules_configs() -> st.SearchStrategy[Any]:
    """A valid config but for its rules, global and per source: mostly accepted."""
    return st.builds(
        lambda global_rules, per_source: {
            "topics": {"w": {"title": "W"}},
            "sources": [
                {"url": f"https://a.example/{n}", "topics": ["w"], "rules": r}
                for n, r in enumerate(per_source)
            ],
            "rules": global_rules,
        },
        rules(4),
        st.lists(rules(4), max_size=2),
    )
