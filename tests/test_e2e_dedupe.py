"""End to end, duplicates across sources: loopback feeds → `aggregator once` (a real
subprocess) → one merged entry per story, listing every source; explain and unmerge.

Three sources carry one story (different wrappers, site suffixes in titles, tracking
links, a dateline and a credit line); a fourth carries a different story on the same
event, which must stay apart.
"""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from tests.feeds import Item, cli, rss, status_lines, write_config
from tests.loopback import Loopback
from tests.test_e2e import topic_feed

PARAGRAPHS = (
    "The port of Calder reopened to cargo traffic on Monday morning, eleven days after "
    "a winter storm tore two cranes from their rails and flooded the customs sheds along "
    "the eastern quay.",
    "Harbour master Ilse Marwick said the first container ship, the Northern Lantern, "
    "berthed shortly after six and that crews had cleared the silt from the main channel "
    "ahead of schedule, working through the weekend with dredgers borrowed from Tarrow.",
    "Exporters had warned that the closure was costing the region roughly four million "
    "euros a day, with fish processors in the old town forced to send catches by road to "
    "ports three hundred kilometres away.",
    "Marwick said the damaged cranes would be replaced by a floating crane leased from a "
    "Dutch firm until new rails could be laid in the spring, and that night shifts would "
    "resume once the lighting on the quay had been repaired.",
)
UPDATE = (
    "Update: the harbour authority said late on Monday that a second ship, the Morning "
    "Heron, had also docked and that pilots were guiding vessels through a marked lane."
)
FOLLOW_UP = (
    "A week after the port of Calder reopened, fishermen in the old town say their "
    "troubles are far from over.",
    "Boat owner Teodor Vance said prices at the morning auction had fallen by a third "
    "because buyers from inland markets had found other suppliers during the closure, "
    "and some had signed contracts that run until the summer.",
    "The cooperative that runs the auction hall is asking the regional council for a "
    "marketing grant and a temporary cut in landing fees, arguing that the storm was a "
    "disaster no insurer would cover.",
    "Harbour master Ilse Marwick said the port could not waive fees on its own but "
    "would support the request, adding that the floating crane had already handled "
    "more cargo than expected.",
)


def html(paragraphs: tuple[str, ...], head: str = "", tail: str = "") -> str:
    return head + "".join(f"<p>{p}</p>" for p in paragraphs) + tail


HARBOUR_TIMES = Item(
    "ht-101",
    "Port of Calder reopens after storm | Harbour Times",
    "https://harbourtimes.example/2025/02/calder-port-reopens?utm_source=rss&utm_medium=feed",
    html(
        PARAGRAPHS,
        tail='<p>The post <a href="https://harbourtimes.example/2025/02/calder-port-reopens">'
        "Port of Calder reopens after storm</a> appeared first on "
        '<a href="https://harbourtimes.example">Harbour Times</a>.</p>',
    ),
)
COASTAL_WIRE = Item(
    "cw-7731",
    "Port of Calder reopens after storm - Coastal Wire",
    "https://coastalwire.example/news/7731?utm_campaign=wire&fbclid=IwAR0xyz",
    html(
        ("CALDER (Coastal Wire) - " + PARAGRAPHS[0], *PARAGRAPHS[1:]),
        head='<div class="share-buttons">Share: <a href="https://www.facebook.com/sharer/'
        'sharer.php?u=https://coastalwire.example/news/7731">Facebook</a> <a href="https://'
        'twitter.com/intent/tweet?url=https://coastalwire.example/news/7731">Twitter</a></div>',
        tail="<p>Reporting by Jonas Brell; editing by Mara Quint.</p>",
    ),
)
DAILY_DIGEST = Item(
    "dd-2025-02-24-3",
    "Calder port reopens after storm",
    "https://www.harbourtimes.example/2025/02/calder-port-reopens/?mc_cid=9f&mc_eid=1a",
    html(PARAGRAPHS, head="<p>From our partners at Harbour Times:</p>"),
)
FISHERMEN = Item(
    "fw-55",
    "Calder fishermen count the cost after the port reopens",
    "https://fishweekly.example/calder-fishermen",
    html(FOLLOW_UP),
)
SOURCES = {
    "/harbour.xml": ("Harbour Times", HARBOUR_TIMES),
    "/wire.xml": ("Coastal Wire", COASTAL_WIRE),
    "/digest.xml": ("Daily Digest", DAILY_DIGEST),
    "/fish.xml": ("Fish Weekly", FISHERMEN),
}
ATOM_NS = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def site(loopback: Loopback, tmp_path: Path) -> tuple[Loopback, Path]:
    for path, (title, item) in SOURCES.items():
        loopback.feed(path, rss(title, [item]), etag='"1"')
    config = write_config(
        tmp_path / "config.yaml",
        {
            "topics": {"news": {"title": "News"}},
            "sources": [{"url": loopback.url(p), "topics": ["news"]} for p in SOURCES],
        },
    )
    return loopback, config


def _story(feed: feedparser.FeedParserDict) -> feedparser.FeedParserDict:
    (story,) = [e for e in feed.entries if "fishermen" not in e.title]
    return story


def test_one_story_from_three_sources_is_one_entry_listing_all(
    site: tuple[Loopback, Path],
) -> None:
    server, config = site
    first = cli("once", "-c", str(config), cwd=config.parent)
    assert first.returncode == 0, first.stderr
    # Which copy a poll reports as a duplicate depends on the order the polls finish
    # in; the first in the config wins a tie either way.
    lines = status_lines(first.stdout)
    assert all(line.startswith("ok new=1 updated=0") for line in lines.values()), lines

    feed_path = config.parent / "feeds" / "news.xml"
    feed = topic_feed(feed_path)
    assert len(feed.entries) == 2
    story = _story(feed)
    assert story.title == "Port of Calder reopens after storm"
    # The body shown is the longest copy (here the wire's, with its dateline); the
    # other two sources are listed, each linking to its own copy without tracking.
    via = {link.title: link.href for link in story.links if link.rel == "via"}
    assert via.keys() | {story.source.title} == {"Harbour Times", "Coastal Wire", "Daily Digest"}
    assert story.source.title not in via
    links = {
        "Harbour Times": "https://harbourtimes.example/2025/02/calder-port-reopens",
        "Coastal Wire": "https://coastalwire.example/news/7731",
        "Daily Digest": "https://www.harbourtimes.example/2025/02/calder-port-reopens/",
    }
    assert story.link == links[story.source.title]
    assert via == {name: links[name] for name in via}
    content = story.content[0].value
    assert "Also reported by" in content and all(name in content for name in via)
    assert "appeared first on" not in content and "Share:" not in content

    # The first source edits its article: the merged entry changes in place.
    edited = Item(
        HARBOUR_TIMES.guid, HARBOUR_TIMES.title, HARBOUR_TIMES.link,
        html((*PARAGRAPHS, UPDATE)),
    )  # fmt: skip
    server.feed("/harbour.xml", rss("Harbour Times", [edited]), etag='"2"')
    second = cli("once", "-c", str(config), cwd=config.parent)
    assert second.returncode == 0, second.stderr
    assert status_lines(second.stdout)[server.url("/harbour.xml")] == (
        "ok new=0 updated=1 duplicates=0"
    )
    after = topic_feed(feed_path)
    assert len(after.entries) == 2
    changed = _story(after)
    assert changed.id == story.id  # the first seen keeps its id
    assert "Morning Heron" in changed.content[0].value  # now the longest copy
    assert changed.link == links["Harbour Times"]
    assert changed.updated_parsed > story.updated_parsed
    assert {link.title for link in changed.links if link.rel == "via"} == {
        "Coastal Wire",
        "Daily Digest",
    }


def test_explain_shows_the_merge_and_unmerge_splits_it(site: tuple[Loopback, Path]) -> None:
    server, config = site
    assert cli("once", "-c", str(config), cwd=config.parent).returncode == 0
    wire_link = "https://coastalwire.example/news/7731"

    explained = cli("explain", "-c", str(config), wire_link, cwd=config.parent)
    assert explained.returncode == 0, explained.stderr
    (merge,) = [line for line in explained.stdout.splitlines() if "duplicate of" in line]
    assert "[news]" in merge and "similarity" in merge and server.url("/harbour.xml") in merge

    split = cli("unmerge", "-c", str(config), wire_link, cwd=config.parent)
    assert split.returncode == 0, split.stderr
    assert "unmerged" in split.stdout
    feed = topic_feed(config.parent / "feeds" / "news.xml")
    assert len(feed.entries) == 3
    story = next(e for e in feed.entries if "harbourtimes" in e.link)
    vias = {link.title for link in story.links if link.rel == "via"}
    assert vias | {story.source.title} == {"Harbour Times", "Daily Digest"}

    again = cli("explain", "-c", str(config), wire_link, cwd=config.parent)
    assert "kept apart" in again.stdout
    refused = cli("unmerge", "-c", str(config), wire_link, cwd=config.parent)
    assert refused.returncode == 1
    assert "not a duplicate" in refused.stderr
