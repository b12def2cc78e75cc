"""Tests of the parse stage: golden feeds, the shared corpus, and arbitrary bytes.

Golden cases are `tests/data/parse/<case>.xml` beside `<case>.expected.json` (the
whole `ParsedFeed`, or the `ParseError` message). After a deliberate change, rewrite
them with `AGGREGATOR_UPDATE_GOLDEN=1 pytest tests/test_parse.py` and review the diff.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.models import ParsedFeed
from aggregator.parse import entry_key, parse_feed, xml_safe

DATA = Path(__file__).parent / "data" / "parse"
ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FEED_URL = "https://feeds.example.org/feed.xml"
UPDATE_GOLDEN = os.environ.get("AGGREGATOR_UPDATE_GOLDEN") == "1"

# (case, what it pins down)
GOLDEN_CASES = [
    ("rss2", "RSS 2.0: guid stripped, content:encoded wins over description, dc:creator "
     "names joined, categories stripped and de-duplicated, relative enclosure resolved "
     "against the feed URL, unparseable enclosure length is None, author from RSS author"),
    ("atom_xml_base", "Atom 1.0: nested xml:base resolves links and enclosures, base is "
     "the content's xml:base, XHTML content, text summary escaped, two authors, "
     "category label used when the term is empty, published converted to UTC"),
    ("rdf", "RSS 1.0 (RDF): rdf:about is the guid, dc:date is `updated`, dc:subject"),
    ("no_guid", "no guid: key is the canonical link (case, port, tracking, fragment)"),
    ("no_guid_no_link", "neither guid nor link: key is h:<xxh3-128 of title and content>"),
    ("atom_id_as_link", "Atom entry without link: an http(s) id is the link, a tag: id is not"),
    ("dates", "published only, updated only, none, unparseable; an Atom id is no link"),
    ("feedburner", "feedburner:origLink replaces the tracking link"),
    ("plain_text", "Atom type=text content is HTML-escaped; summary equal to it is dropped"),
    ("bozo_with_entries", "ill-formed but with entries: accepted with a warning"),
    ("control_chars", "character references to C0 controls and U+FFFE are stripped"),
    ("control_bytes", "raw C0 control bytes are stripped"),
    ("surrogate_pair_refs", "UTF-16 surrogate references: a pair becomes the character, "
     "a lone half and an out-of-range reference are dropped"),
    ("shadowed_lists", "elements named links or authors (feedparser then keeps a dict "
     "where its lists go) are ignored, not a TypeError"),
    ("no_entries", "a valid feed without entries is a ParseError"),
    ("html_page", "an HTML page is a ParseError that says so"),
    ("empty", "empty bytes are a ParseError"),
]  # fmt: skip


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _outcome(body: bytes) -> dict[str, Any]:
    try:
        feed = parse_feed(body, url=FEED_URL)
    except ParseError as exc:
        return {"error": str(exc)}
    return {"feed": _jsonable(dataclasses.asdict(feed))}


def _strings(value: Any) -> list[str]:
    """Every string inside a dataclass value, for invariants over the whole result."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _assert_invariants(feed: ParsedFeed) -> None:
    for text in _strings(feed):
        assert xml_safe(text) == text, f"XML 1.0 forbids a character in {text!r}"
    for entry in feed.entries:
        assert entry.key
        for when in (entry.published, entry.updated):
            assert when is None or when.tzinfo is UTC


# --- golden feeds -------------------------------------------------------------


@pytest.mark.parametrize(("case", "about"), GOLDEN_CASES, ids=[c for c, _ in GOLDEN_CASES])
def test_golden(case: str, about: str) -> None:
    outcome = _outcome((DATA / f"{case}.xml").read_bytes())
    expected_path = DATA / f"{case}.expected.json"
    if UPDATE_GOLDEN:
        text = json.dumps(outcome, indent=2, ensure_ascii=True, sort_keys=True) + "\n"
        expected_path.write_text(text, encoding="utf-8")
    assert outcome == json.loads(expected_path.read_text(encoding="utf-8")), about


def test_every_golden_file_has_a_case() -> None:
    names = {p.stem for p in DATA.glob("*.xml")}
    assert names == {case for case, _ in GOLDEN_CASES}


# --- focused contracts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("guid", "link", "title", "content", "expected"),
    [
        pytest.param("urn:x:1", "https://a.example/1", "t", "c", "urn:x:1", id="guid-wins"),
        pytest.param(
            None,
            "HTTP://A.Example:80/p?utm_medium=x#top",
            "t",
            "c",
            "http://a.example/p",
            id="canonical-link",
        ),
        pytest.param(
            "", None, "Title", "<p>Body</p>", "h:153a4a3bb5513bc7551075d373c4d7cd", id="hash"
        ),
        pytest.param(None, None, "", "", "h:7858ef011ea0bad1384868fba0c21fdc", id="hash-empty"),
    ],
)
def test_entry_key(
    guid: str | None, link: str | None, title: str, content: str, expected: str
) -> None:
    assert entry_key(guid, link, title, content) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("tab\tnl\ncr\r", "tab\tnl\ncr\r", id="allowed-whitespace-kept"),
        pytest.param("a\x00b\x07c\x1fd", "abcd", id="c0-controls"),
        pytest.param("a\ufffeb\uffffc", "abc", id="non-characters"),
        pytest.param("a\ud800b\udfffc", "abc", id="lone-surrogates"),
        pytest.param("caf\xe9 \U0001f600 \x7f\x85", "caf\xe9 \U0001f600 \x7f\x85", id="legal"),
    ],
)
def test_xml_safe(text: str, expected: str) -> None:
    assert xml_safe(text) == expected


def test_body_naming_a_file_is_not_opened() -> None:
    # feedparser opens a bytes argument as a path if it can; we must parse the bytes.
    path = str(DATA / "rss2.xml").encode()
    with pytest.raises(ParseError):
        parse_feed(path, url=FEED_URL)


def test_header_charset_decodes_a_body_without_declaration() -> None:
    body = "<rss version='2.0'><channel><item><title>café</title></item></channel></rss>"
    headers = {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}
    feed = parse_feed(body.encode("latin-1"), url=FEED_URL, headers=headers)
    assert [e.title for e in feed.entries] == ["café"]
    assert feed.warning is None


def test_no_content_type_header_is_not_a_warning() -> None:
    body = (DATA / "rss2.xml").read_bytes()
    feed = parse_feed(body, url=FEED_URL, headers={"ETag": '"abc"'})
    assert feed.warning is None
    assert feed.entries[0].title == "First <em>post</em>"


def test_relative_links_resolve_against_the_url_given() -> None:
    body = b"<rss version='2.0'><channel><link>/</link><item><link>/a</link></item></channel></rss>"
    feed = parse_feed(body, url="https://other.example/feeds/x.rss")
    assert (feed.link, feed.entries[0].link) == (
        "https://other.example/",
        "https://other.example/a",
    )


def test_gzip_body_says_so() -> None:
    with pytest.raises(ParseError, match="gzip"):
        parse_feed(gzip.compress((DATA / "rss2.xml").read_bytes()), url=FEED_URL)


@pytest.mark.parametrize("body", [b"", b"  \n\t ", b"\x00\x01\x02garbage", b"{}"])
def test_garbage_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, url=FEED_URL)


# --- the shared corpus ----------------------------------------------------------


def _manifest() -> dict[str, dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


def _corpus_files() -> list[Any]:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        reason = f"feed corpus not found at {CORPUS} (expected ../shared/corpus beside the repo)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-corpus")]
    return [
        pytest.param(path, id=f"{path.parent.name}/{path.name}")
        for folder in ("real", "edge")
        for path in sorted((CORPUS / folder).iterdir())
    ]


@pytest.fixture(scope="module")
def manifest() -> dict[str, dict[str, str]]:
    return _manifest()


@pytest.mark.parametrize("path", _corpus_files())
def test_corpus_file(path: Path, manifest: dict[str, dict[str, str]]) -> None:
    """Every corpus file parses or raises ParseError; feeds feedparser reads cleanly
    with entries give us entries too."""
    row = manifest.get(f"{path.parent.name}/{path.name}", {})
    readable = int(row.get("n_entries") or 0) > 0 and row.get("feedparser_bozo") == "0"
    try:
        feed = parse_feed(path.read_bytes(), url=f"https://corpus.example/{path.name}")
    except ParseError as exc:
        assert not readable, f"feedparser finds entries here, we raised: {exc}"
        return
    _assert_invariants(feed)


# --- arbitrary input ------------------------------------------------------------

RSS_SKELETON = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{0}</title>"
    "<item><title>{0}</title><link>{0}</link><guid>{0}</guid><description>{0}</description>"
    "<category>{0}</category><pubDate>{0}</pubDate></item></channel></rss>"
)
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _parse_or_error(body: bytes) -> None:
    try:
        feed = parse_feed(body, url=FEED_URL)
    except ParseError as exc:
        assert str(exc)
    else:
        assert feed.entries
        _assert_invariants(feed)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_parse_or_raise_parse_error(body: bytes) -> None:
    _parse_or_error(body)


@PROPERTY_SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_in_rss_parses_or_raises_parse_error(text: str) -> None:
    _parse_or_error(RSS_SKELETON.format(text).encode("utf-8"))


# --- our feedparser speed-ups change nothing ------------------------------------

# C1 characters in ISO-8859-1 text: what feedparser's CP-1252 repair maps.
C1_FEED = (
    b"<?xml version='1.0' encoding='iso-8859-1'?><rss version='2.0'><channel>"
    b"<title>\x93Quoted\x94 \x96 site</title><item><title>caf\xe9 \x85 \x80 5</title>"
    b"<description>&lt;p&gt;\x91a\x92 b\xe9&lt;/p&gt;</description><guid>g</guid></item>"
    b"</channel></rss>"
)


def test_c1_characters_are_still_repaired_as_cp1252() -> None:
    feed = parse_feed(C1_FEED, url=FEED_URL)
    assert feed.title == "\u201cQuoted\u201d \u2013 site"
    assert feed.entries[0].title == "caf\xe9 \u2026 \u20ac 5"
    assert feed.entries[0].summary == "<p>\u2018a\u2019 b\xe9</p>"


def test_speed_ups_change_no_result_of_feedparser(tmp_path: Path) -> None:
    """feedparser as `aggregator.parse` runs it (its own SAX driver, patched repairs
    and copies) returns exactly what feedparser as it ships returns, over the corpus."""
    from aggregator import parse
    from tests import feedparser_dump

    c1 = tmp_path / "c1.xml"
    c1.write_bytes(C1_FEED)
    paths = [c1, *sorted(p for d in ("real", "edge") for p in (CORPUS / d).glob("*"))]
    assert parse.mixin._FeedParserMixin.pop.__wrapped_repair__  # the patch is in place
    done = subprocess.run(
        [sys.executable, "-m", "tests.feedparser_dump", *map(str, paths)],
        capture_output=True, text=True, timeout=120, check=True, cwd=ROOT,
    )  # fmt: skip
    shipped = json.loads(done.stdout)
    ours = [feedparser_dump.digest(p.read_bytes()) for p in paths]
    differ = [p.name for p, a, b in zip(paths, shipped, ours, strict=True) if a != b]
    assert not differ


@settings(max_examples=500)
@given(
    st.text(
        st.one_of(
            st.characters(),
            st.sampled_from(["\ud800", "\udfff", "\ufffe", "\uffff", "\x00", "\x0b", "\x1f"]),
        )
    )
)
def test_xml_safe_removes_what_the_xml_char_production_forbids(text: str) -> None:
    kept = "".join(
        c for c in text
        if c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD
        or ord(c) >= 0x10000
    )  # fmt: skip
    assert xml_safe(text) == kept


def test_what_a_feed_says_of_its_rhythm_is_read() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0" '
        b'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>'
        b"<ttl>60</ttl><sy:updatePeriod>daily</sy:updatePeriod>"
        b"<sy:updateFrequency>2</sy:updateFrequency>"
        b"<skipHours><hour>1</hour><hour> 2 </hour></skipHours><skipDays><day>Sunday</day>"
        b"</skipDays>"
        + b"".join(
            b"<item><title>%d</title><guid>%d</guid><pubDate>Mon, 03 Mar 2025 %02d:00:00 GMT"
            b"</pubDate></item>" % (n, n, hour)
            for n, hour in enumerate((10, 14, 20))
        )
        + b"</channel></rss>"
    )
    hints = parse_feed(body, url=FEED_URL).hints
    assert (hints.ttl, hints.update_period) == (3600, 12 * 3600)
    assert (hints.skip_hours, hints.skip_days) == ({1, 2}, {6})
    assert hints.entry_gap == 5 * 3600  # gaps of 4h and 6h
