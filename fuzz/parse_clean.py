#!/usr/bin/env python3
"""Atheris target: fuzzed bytes through parse, clean and publish; not part of the test suite.

Every input is read two ways: as a feed document (`parse_feed`, then `parse_and_clean`
as a worker runs it, then the topic feed `publish.render_topic` makes of it), and as
an HTML fragment (`clean_html`). The checks are `tests/invariants.py`, the ones
`tests/test_fuzz.py` makes; any other exception than ParseError is a finding too.
Coverage guidance covers our code and feedparser (Python); lxml and nh3 are C and Rust,
run but not instrumented. docs/fuzzing.md says how to run it and what to do with a crash:

    python fuzz/parse_clean.py fuzz/corpus ../shared/corpus/edge -max_len=65536 \\
        -max_total_time=600 -artifact_prefix=fuzz/crashes/
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `tests.invariants`

with atheris.instrument_imports(include=["aggregator", "feedparser", "tests"]):
    from aggregator.clean import clean_entry, clean_html
    from aggregator.errors import ParseError
    from aggregator.models import CleanEntry, ParsedEntry
    from aggregator.parse import parse_feed
    from aggregator.worker import PlainRules, parse_and_clean
    from tests import invariants as inv

RULES = PlainRules()


def check(found: Iterable[str], what: str, data: bytes) -> None:
    problems = list(found)
    if problems:
        raise AssertionError(f"{what}: {problems[:5]} for input {data[:300]!r}")


def again(entry: CleanEntry) -> CleanEntry:
    """The cleaned entry cleaned once more: clean/__init__.py promises no change."""
    fields = (entry.title, entry.content, entry.summary, entry.author)
    parsed = ParsedEntry("k", None, entry.link, *fields, None, None, base=entry.link)
    return clean_entry(parsed, RULES)


def feed_path(data: bytes) -> None:
    try:
        parsed = parse_feed(data, url=inv.FEED_URL)
    except ParseError:
        return
    check(inv.parsed_problems(parsed), "parsed feed", data)
    cleaned = parse_and_clean(data, inv.FEED_URL, {}, RULES)
    for entry in cleaned.entries:
        for field in ("content", "summary"):
            check(inv.html_problems(getattr(entry, field)), f"cleaned {field}", data)
        for field in ("title", "author", "text"):
            check(inv.text_problems(field, getattr(entry, field)), f"cleaned {field}", data)
        twice = again(entry)
        fields = ("content", "summary", "title", "author")
        if [getattr(twice, f) for f in fields] != [getattr(entry, f) for f in fields]:
            raise AssertionError(f"cleaning again changed {entry!r} into {twice!r}")
    check(inv.published_problems(inv.publish(cleaned)), "published feed", data)


def html_path(data: bytes) -> None:
    html, text, _ = clean_html(data.decode("utf-8", "surrogateescape"), "https://a.example/p")
    check(inv.html_problems(html), "clean_html", data)
    check(inv.text_problems("text", text), "clean_html text", data)
    if clean_html(html, "https://a.example/p")[0] != html:
        raise AssertionError(f"clean_html is not stable on {data[:300]!r}")


def test_one_input(data: bytes) -> None:
    feed_path(data)
    html_path(data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
