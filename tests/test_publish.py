"""Publish stage: real feedgen output parsed back (feedparser, lxml) and schema-validated;
real files written to a temporary directory."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from aggregator.errors import PublishError
from aggregator.models import Enclosure, OriginFeed, PublishedEntry, TopicFeed, Via
from aggregator.publish import also_reported, render_topic, sweep_temp_files, write_if_changed
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom

ATOM = "{http://www.w3.org/2005/Atom}"
SELF_URL = "http://127.0.0.1:8080/feeds/world.xml"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ORIGIN = OriginFeed(
    id="urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6",
    title="Example News",
    link="https://news.example/",
    self_url="https://news.example/feed.xml",
)
needs_schema = pytest.mark.skipif(not SCHEMA_AVAILABLE, reason="../shared schema not present")


def make_entry(number: int = 1, **changes: Any) -> PublishedEntry:
    entry = PublishedEntry(
        output_id=f"tag:aggregator,2024:entry-{number}",
        title=f"Story {number}",
        link=f"https://news.example/story/{number}",
        content=f"<p>Body of story {number}.</p>",
        summary=f"<p>Summary {number}.</p>",
        author="Ann Author",
        published=T0 + timedelta(hours=number),
        updated=T0 + timedelta(hours=number, minutes=30),
        categories=("world", "politics"),
        enclosures=(Enclosure("https://news.example/audio.mp3", "audio/mpeg", 12345),),
        origin=ORIGIN,
    )
    return replace(entry, **changes)


def make_topic(*entries: PublishedEntry, **changes: Any) -> TopicFeed:
    topic = TopicFeed(
        topic_id="world",
        title="World",
        subtitle="News from everywhere",
        self_url=SELF_URL,
        updated=T0 + timedelta(days=1),
        entries=entries,
    )
    return replace(topic, **changes)


def render(topic: TopicFeed) -> bytes:
    return render_topic(topic, author="Aggregator Bot", generator_version="9.9.9")


def parse(data: bytes) -> Any:
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def entry_elements(data: bytes) -> list[etree._Element]:
    return etree.fromstring(data).findall(f"{ATOM}entry")


def links(element: etree._Element) -> list[dict[str, str]]:
    return [
        {str(name): str(value) for name, value in link.items()}
        for link in element.findall(f"{ATOM}link")
    ]


# --- rendering: parsed back ----------------------------------------------------


def test_feed_metadata_round_trips_through_feedparser() -> None:
    data = render(make_topic(make_entry(1)))
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    feed = parse(data).feed
    assert feed.id == SELF_URL
    assert feed.title_detail == {**feed.title_detail, "type": "text/plain", "value": "World"}
    assert feed.subtitle == "News from everywhere"
    assert feed.updated == "2024-03-02T12:00:00+00:00"
    assert feed.links == [{"href": SELF_URL, "rel": "self", "type": "application/atom+xml"}]
    assert feed.author == "Aggregator Bot"
    assert feed.generator_detail["version"] == "9.9.9"


def test_entries_round_trip_in_the_given_order() -> None:
    entries = (make_entry(3), make_entry(1), make_entry(2))
    parsed = parse(render(make_topic(*entries))).entries
    assert [e.id for e in parsed] == [e.output_id for e in entries]
    first = parsed[0]
    assert first.title_detail["type"] == "text/plain"
    assert first.title == "Story 3"
    assert first.link == "https://news.example/story/3"
    assert first.author == "Ann Author"
    assert first.published == "2024-03-01T15:00:00+00:00"
    assert first.updated == "2024-03-01T15:30:00+00:00"
    assert [tag.term for tag in first.tags] == ["world", "politics"]
    assert first.content[0]["type"] == "text/html"
    assert first.content[0]["value"] == "<p>Body of story 3.</p>"
    assert first.summary_detail["type"] == "text/html"
    assert first.summary == "<p>Summary 3.</p>"


@pytest.mark.parametrize(
    ("content", "summary", "expected_content", "has_summary"),
    [
        pytest.param("<p>c</p>", "<p>s</p>", "<p>c</p>", True, id="both-differ"),
        pytest.param("<p>c</p>", "<p>c</p>", "<p>c</p>", False, id="both-equal"),
        pytest.param("", "<p>s</p>", "<p>s</p>", False, id="summary-only"),
        pytest.param("<p>c</p>", "", "<p>c</p>", False, id="content-only"),
        pytest.param("", "", "", False, id="neither"),
    ],
)
def test_content_falls_back_to_summary(
    content: str, summary: str, expected_content: str, has_summary: bool
) -> None:
    data = render(make_topic(make_entry(content=content, summary=summary)))
    (element,) = entry_elements(data)
    content_element = element.find(f"{ATOM}content")
    assert content_element is not None
    assert content_element.get("type") == "html"
    assert (content_element.text or "") == expected_content
    assert (element.find(f"{ATOM}summary") is not None) == has_summary


def test_optional_entry_parts_are_omitted_when_unset() -> None:
    bare = make_entry(link=None, author=None, categories=(), enclosures=())
    (element,) = entry_elements(render(make_topic(bare)))
    assert element.find(f"{ATOM}author") is None
    assert element.find(f"{ATOM}category") is None
    assert links(element) == []


def test_entry_link_attributes_survive_feedgen() -> None:
    # feedgen 1.0.0 alone writes both links with href only (issues #135, #143).
    enclosures = (
        Enclosure("https://news.example/a.mp3", "audio/mpeg", 12345),
        Enclosure("https://news.example/b.ogg", None, None),
    )
    (element,) = entry_elements(render(make_topic(make_entry(1, enclosures=enclosures))))
    assert links(element) == [
        {"href": "https://news.example/story/1", "rel": "alternate", "type": "text/html"},
        {
            "href": "https://news.example/a.mp3",
            "rel": "enclosure",
            "type": "audio/mpeg",
            "length": "12345",
        },
        {"href": "https://news.example/b.ogg", "rel": "enclosure"},
    ]


def test_enclosure_attributes_reach_feedparser() -> None:
    (entry,) = parse(render(make_topic(make_entry(1)))).entries
    assert entry.enclosures == [
        {"href": "https://news.example/audio.mp3", "type": "audio/mpeg", "length": "12345"}
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"link": "javascript:alert(1)"}, [], id="unsafe-alternate-dropped-entry-kept"),
        pytest.param(
            {"link": None, "enclosures": (Enclosure("data:audio/mpeg;base64,AA", None, 1),)},
            [],
            id="unsafe-enclosure-dropped",
        ),
        pytest.param(
            {"link": None, "enclosures": (Enclosure("https://x.example/a", "audio", -1),)},
            [{"href": "https://x.example/a", "rel": "enclosure"}],
            id="bad-type-and-length-dropped",
        ),
    ],
)
def test_links_that_would_be_unsafe_or_invalid_are_dropped(
    changes: dict[str, Any], expected: list[dict[str, str]]
) -> None:
    data = render(make_topic(make_entry(1, **{"enclosures": (), **changes})))
    (element,) = entry_elements(data)
    assert links(element) == expected


def test_atom_source_names_the_origin_feed() -> None:
    (element,) = entry_elements(render(make_topic(make_entry(1))))
    source = element.find(f"{ATOM}source")
    assert source is not None
    assert source.findtext(f"{ATOM}id") == ORIGIN.id
    assert source.findtext(f"{ATOM}title") == "Example News"
    assert source.findtext(f"{ATOM}updated") == "2024-03-01T13:30:00+00:00"
    assert links(source) == [
        {"href": "https://news.example/", "rel": "alternate"},
        {"href": "https://news.example/feed.xml", "rel": "self"},
    ]
    parsed = parse(render(make_topic(make_entry(1)))).entries[0].source
    assert (parsed.id, parsed.title) == (ORIGIN.id, "Example News")


def test_atom_source_omits_missing_origin_links() -> None:
    origin = OriginFeed(id="file:///srv/feed.xml", title="Local", link=None, self_url=None)
    (element,) = entry_elements(render(make_topic(make_entry(1, origin=origin))))
    source = element.find(f"{ATOM}source")
    assert source is not None
    assert source.findtext(f"{ATOM}id") == "file:///srv/feed.xml"
    assert links(source) == []


def test_dates_are_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    entry = make_entry(1, updated=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
    (element,) = entry_elements(render(make_topic(entry)))
    assert element.findtext(f"{ATOM}updated") == "2024-05-01T12:00:00+00:00"


def test_naive_datetime_is_a_publish_error_naming_the_topic() -> None:
    entry = make_entry(1, updated=datetime(2024, 5, 1, 14, 0))
    with pytest.raises(PublishError, match="topic world"):
        render(make_topic(entry))


def test_empty_title_stays_empty() -> None:
    # feedgen refuses an empty title; the placeholder we give it must not leak.
    (element,) = entry_elements(render(make_topic(make_entry(1, title=""))))
    title = element.find(f"{ATOM}title")
    assert title is not None
    assert (title.text, title.get("type")) == (None, "text")


# --- determinism -----------------------------------------------------------------


def test_rendering_is_byte_identical_for_equal_input() -> None:
    first = render(make_topic(make_entry(1), make_entry(2)))
    time.sleep(0.002)  # any leaked "now" would differ in its microseconds
    second = render(make_topic(make_entry(1), make_entry(2)))
    assert first == second


def test_an_empty_topic_renders_a_feed_without_entries() -> None:
    parsed = parse(render(make_topic()))
    assert parsed.entries == []
    assert parsed.feed.updated == "2024-03-02T12:00:00+00:00"


# --- validity -----------------------------------------------------------------------

HOSTILE = "a\x00b\x01c\x0bd\x1be\ufffef\ud800g ]]> <b>bold</b> &amp; <![CDATA[x]]> 🎉"
HOSTILE_CLEAN = "abcdefg ]]> <b>bold</b> &amp; <![CDATA[x]]> 🎉"


def bare_topic() -> TopicFeed:
    """Every optional part unset or empty."""
    origin = OriginFeed(id="", title="", link=None, self_url=None)
    bare = {"link": None, "author": None, "content": "", "summary": "", "title": ""}
    entry = make_entry(1, categories=(), enclosures=(), origin=origin, **bare)
    return make_topic(entry, subtitle=None)


def hostile_topic() -> TopicFeed:
    origin = OriginFeed(id=HOSTILE, title=HOSTILE, link=ORIGIN.link, self_url=None)
    entry = make_entry(
        1,
        title=HOSTILE,
        author=HOSTILE,
        content=f"<p>{HOSTILE}</p>",
        summary=HOSTILE,
        categories=("world", HOSTILE, "\x00"),
        enclosures=(Enclosure("https://x.example/a\x01b", "audio/\x00mpeg", 1),),
        origin=origin,
    )
    return make_topic(entry, title=HOSTILE, subtitle=HOSTILE)


VIA = (
    Via("Beta <News> & Co", "https://beta.example/story?id=1&x=2"),
    Via("Gamma", None),  # its link was not safe: named, not linked
    Via("Delta", "javascript:alert(1)"),
)


def merged_topic() -> TopicFeed:
    return make_topic(make_entry(1, content="<p>Body</p>", via=VIA))


def test_a_merged_story_lists_its_other_sources() -> None:
    data = render(merged_topic())
    (element,) = entry_elements(data)
    vias = [link for link in links(element) if link["rel"] == "via"]
    assert vias == [
        {
            "href": "https://beta.example/story?id=1&x=2",
            "rel": "via",
            "type": "text/html",
            "title": "Beta <News> & Co",
        }
    ]
    content = parse(data).entries[0].content[0].value
    assert content == (
        '<p>Body</p><p>Also reported by <a href="https://beta.example/story?id=1&amp;x=2">'
        "Beta &lt;News&gt; &amp; Co</a>, Gamma, Delta.</p>"
    )


def test_also_reported_is_empty_without_other_sources() -> None:
    assert also_reported(()) == ""


@needs_schema
@pytest.mark.parametrize(
    "topic",
    [
        pytest.param(make_topic(make_entry(1), make_entry(2)), id="full"),
        pytest.param(merged_topic(), id="merged-story"),
        pytest.param(make_topic(), id="empty-topic"),
        pytest.param(bare_topic(), id="bare-entry"),
        pytest.param(hostile_topic(), id="hostile-strings"),
    ],
)
def test_output_is_valid_atom(topic: TopicFeed) -> None:
    assert validate_atom(render(topic)) == []


def test_hostile_strings_stay_plain_text() -> None:
    data = render(hostile_topic())
    parsed = parse(data)
    assert parsed.feed.title == HOSTILE_CLEAN
    (entry,) = parsed.entries
    assert entry.title_detail["type"] == "text/plain"
    assert entry.title == HOSTILE_CLEAN
    assert entry.author == HOSTILE_CLEAN
    assert [tag.term for tag in entry.tags] == ["world", HOSTILE_CLEAN]
    assert entry.content[0]["value"] == f"<p>{HOSTILE_CLEAN}</p>"
    (element,) = entry_elements(data)
    title = element.find(f"{ATOM}title")
    assert title is not None
    assert (title.text, len(title)) == (HOSTILE_CLEAN, 0)  # text only, no child elements


@needs_schema
def test_the_schema_helper_reports_problems() -> None:
    # Guards the guard: a schema that accepted everything would pass every test above.
    root = etree.fromstring(render(make_topic(make_entry(1, link=None))))
    etree.strip_elements(root, f"{ATOM}content")  # Schematron: no content, no alternate link
    updated = root.find(f"{ATOM}updated")
    assert updated is not None
    updated.text = "yesterday"  # RELAX NG: not an xsd:dateTime
    problems = validate_atom(etree.tostring(root))
    assert any("atom:content" in problem for problem in problems), problems
    assert any("dateTime" in problem for problem in problems), problems
    assert validate_atom(b"<feed")[0].startswith("not well-formed")


# --- write_if_changed -----------------------------------------------------------------


def test_write_creates_the_directory_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "feeds" / "nested" / "world.xml"
    assert write_if_changed(path, b"<feed/>") is True
    assert path.read_bytes() == b"<feed/>"
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert os.listdir(path.parent) == ["world.xml"]


def test_identical_bytes_are_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "world.xml"
    path.write_bytes(b"<feed/>")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert write_if_changed(path, b"<feed/>") is False
    assert path.stat().st_mtime_ns == 1_000_000_000


@pytest.mark.parametrize("new", [b"<feed>changed</feed>", b"<feed/ >", b""], ids=str)
def test_changed_bytes_replace_the_file(tmp_path: Path, new: bytes) -> None:
    path = tmp_path / "world.xml"
    path.write_bytes(b"<feed/>")
    old_inode = path.stat().st_ino
    assert write_if_changed(path, new) is True
    assert path.read_bytes() == new
    assert path.stat().st_ino != old_inode  # a new file renamed over, not rewritten in place
    assert os.listdir(tmp_path) == ["world.xml"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failed_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "world.xml"
    path.write_bytes(b"<feed>old</feed>")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(PublishError, match="No space left") as caught:
        write_if_changed(path, b"<feed>new</feed>")
    monkeypatch.undo()
    assert str(path) in str(caught.value)
    assert path.read_bytes() == b"<feed>old</feed>"
    assert os.listdir(tmp_path) == ["world.xml"]


def test_an_unwritable_location_is_a_publish_error_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "feeds").write_bytes(b"a file where the directory should be")
    path = tmp_path / "feeds" / "world.xml"
    with pytest.raises(PublishError) as caught:
        write_if_changed(path, b"<feed/>")
    assert str(path) in str(caught.value)


def test_temp_files_left_by_a_killed_writer_are_swept(tmp_path: Path) -> None:
    feed = tmp_path / "world.xml"
    write_if_changed(feed, b"<feed/>")
    stale = tmp_path / ".world.xml.k1ll3d.tmp"  # as `_replace_atomically` names them
    fresh = tmp_path / ".world.xml.wr1t1ng.tmp"  # another writer's, still under way
    other = tmp_path / ".tech.xml.k1ll3d.tmp"  # not a topic asked about
    for path in (stale, fresh, other):
        path.write_bytes(b"<fe")
    started = time.time()
    os.utime(stale, (started - 60, started - 60))
    os.utime(other, (started - 60, started - 60))
    os.utime(fresh, (started + 1, started + 1))
    assert sweep_temp_files([feed], started) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".tech.xml.k1ll3d.tmp", ".world.xml.wr1t1ng.tmp", "world.xml"]
    )
    assert feed.read_bytes() == b"<feed/>"
