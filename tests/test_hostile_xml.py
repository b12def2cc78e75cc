"""Hostile XML (issue 6): each document is polled beside a well-behaved source, over
real HTTP. Nothing is read or fetched through an entity, nothing forbidden reaches the
published Atom (validated), the other source is unaffected, and the poll ends as a
result or a recorded error in bounded time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from aggregator.models import PollResult
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.feeds import Item, article, poll_over_http, rss
from tests.loopback import Loopback

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
GOOD = rss("Good", [Item("good-1", "A good story", "https://good.example/1", article("good"))])
HEAD = '<?xml version="1.0" encoding="utf-8"?>'


def _rss(items: str, doctype: str = "", head: str = HEAD) -> bytes:
    return (
        f'{head}{doctype}<rss version="2.0"><channel><title>Hostile</title>'
        f"<link>https://hostile.example/</link>{items}</channel></rss>"
    ).encode()


def _item(title: str, description: str = "text", guid: str = "h-1") -> str:
    return (
        f"<item><title>{title}</title><guid>{guid}</guid>"
        f"<description>{description}</description></item>"
    )


def _laughs(levels: int) -> str:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, levels + 1))
    return f'<!DOCTYPE rss [<!ENTITY l0 "lol">{entities}]>'


def _documents(secret: Path, loopback: Loopback) -> dict[str, bytes]:
    leak = loopback.url("/leak")
    return {
        "billion-laughs": _rss(_item("&l10;"), _laughs(10)),
        "external-file-entity": _rss(
            _item("&x;", "&x;"), f'<!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        ),
        "external-loopback-entity": _rss(
            _item("&x;", "&x;"), f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{leak}">]>'
        ),
        "parameter-entity": _rss(
            _item("param"), f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{leak}"> %p;]>'
        ),
        "external-dtd": _rss(_item("dtd"), f'<!DOCTYPE rss SYSTEM "{leak}">'),
        "xinclude": _rss(
            _item(
                "xi",
                f'<x xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://{secret}" '
                'parse="text"/></x>',
            )
        ),
        "deep-elements": _rss(_item("deep", "<x>" * 100_000 + "</x>" * 100_000)),
        "deep-html": _rss(
            _item("deep html", "&lt;div&gt;" * 5000 + "text" + "&lt;/div&gt;" * 5000)
        ),
        "invalid-utf8": _rss(_item("caf\xe9 \xff\xfe", "bytes \xc3\x28 \xa0"))
        .replace("caf\xe9 \xff\xfe".encode(), b"caf\xe9 \xff\xfe")
        .replace("bytes \xc3\x28 \xa0".encode(), b"bytes \xc3\x28 \xa0"),
        "nul-and-controls": _rss(
            _item("a&#0;b&#1;c\x01d\x08", "x&#11;y&#x1F;z &#xFFFE; &#55357;&#56832;")
        ),
        "huge-attribute": _rss(
            _item("attr", "text").replace(
                "<guid>", f'<category domain="{"a" * 5_000_000}">c</category><guid>'
            )
        ),
    }


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("root:x:0:0:TOP-SECRET-LINE")
    return path


@pytest.fixture
def polled(tmp_path: Path, loopback: Loopback, secret: Path) -> Iterator[dict[str, PollResult]]:
    documents = _documents(secret, loopback)
    loopback.route("/good.xml", GOOD)
    loopback.route("/leak", b"<!ENTITY x 'LEAKED-OVER-HTTP'>")
    for name, body in documents.items():
        loopback.route(f"/{name}.xml", body)
    urls = [loopback.url("/good.xml")] + [loopback.url(f"/{name}.xml") for name in documents]
    results, took = poll_over_http(tmp_path, urls, {"per_host": 8}, NOW)
    assert took < 60  # bounded, all of it
    yield results


def test_hostile_documents_end_as_results_or_recorded_errors(
    polled: dict[str, PollResult], loopback: Loopback
) -> None:
    # Each document still carries one usable item: the hostile part is neutralised
    # (entities left unexpanded, controls dropped, bytes decoded as a guess) and the
    # entry kept, with a warning where the XML was broken.
    assert {name: (r.status, r.new) for name, r in polled.items()} == {
        name: ("ok", 1) for name in polled
    }
    assert "amplification" in (polled["billion-laughs.xml"].warning or "")
    assert "windows-1252" in (polled["invalid-utf8.xml"].warning or "")
    assert loopback.requests_to("/leak") == []  # no entity, DTD or include was fetched


def test_nothing_hostile_reaches_the_published_feed(
    polled: dict[str, PollResult], tmp_path: Path
) -> None:
    data = (tmp_path / "feeds" / "t.xml").read_bytes()
    if SCHEMA_AVAILABLE:
        assert validate_atom(data) == []
    text = data.decode("utf-8")
    for forbidden in (
        "TOP-SECRET",
        "LEAKED-OVER-HTTP",
        "lollollol",
        "\x00",
        "\x01",
        "\x08",
        "\ufffe",
    ):
        assert forbidden not in text, forbidden
    titles = [e.title for e in feedparser.parse(data).entries]
    assert "A good story" in titles
