"""Fuzzing in the default suite: hostile feeds, HTML and configs (`tests/strategies/`)
through parse, clean, publish and config validation, checked by `tests/invariants.py`.

Example counts are modest so the file runs in seconds; `AGGREGATOR_FUZZ_SCALE=50`
multiplies them for a long run (docs/fuzzing.md). The atheris target
`fuzz/parse_clean.py` checks the same invariants on bytes a coverage-guided fuzzer makes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aggregator.clean import clean_entry, clean_html
from aggregator.config import parse_config
from aggregator.errors import ConfigError, ParseError
from aggregator.models import ParsedEntry
from aggregator.parse import parse_feed
from aggregator.worker import PlainRules, parse_and_clean
from tests import invariants as inv
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.strategies import (
    config_mappings,
    feed_documents,
    html_fragments,
    rules_configs,
    texts,
)

SCALE = float(os.environ.get("AGGREGATOR_FUZZ_SCALE", "1"))
BASE = "https://site.example/2025/a.html"


def fuzz(examples: int) -> settings:
    """`examples` (times AGGREGATOR_FUZZ_SCALE) examples, without Hypothesis's deadline:
    the first parse in a process is slow, and slowness is not what these look for."""
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- parse ----------------------------------------------------------------------------


@fuzz(120)
@given(feed_documents())
def test_any_document_parses_to_clean_strings_or_raises_parse_error(body: bytes) -> None:
    try:
        feed = parse_feed(body, url=inv.FEED_URL)
    except ParseError as exc:
        event("refused: ParseError")
        assert str(exc)
        return
    event(f"parsed: {len(feed.entries)} entries")
    event("parsed: malformed (a warning)" if feed.warning else "parsed: well-formed")
    assert list(inv.parsed_problems(feed)) == []


# --- clean ----------------------------------------------------------------------------


@fuzz(150)
@given(html_fragments(), st.sampled_from([BASE, None, "javascript:alert(1)"]))
def test_cleaned_html_is_safe(fragment: str, base: str | None) -> None:
    html, text, _ = clean_html(fragment, base)
    assert inv.html_problems(html) == []
    assert inv.text_problems("text", text) == []


def _entry(content: str, summary: str, title: str, author: str | None) -> ParsedEntry:
    return ParsedEntry("k", "k", BASE, title, content, summary, author, None, None, base=BASE)


@fuzz(100)
@given(html_fragments(), html_fragments(6), st.one_of(texts, html_fragments(4)), texts)
def test_cleaning_a_cleaned_entry_changes_nothing(
    content: str, summary: str, title: str, author: str
) -> None:
    # What the clean stage promises (clean/__init__.py): a cleaned entry is a fixpoint.
    first = clean_entry(_entry(content, summary, title, author), PlainRules())
    again = clean_entry(
        _entry(first.content, first.summary, first.title, first.author), PlainRules()
    )
    fields = ("content", "summary", "title", "author", "text")
    assert [getattr(again, f) for f in fields] == [getattr(first, f) for f in fields]
    for field in fields:
        assert inv.text_problems(field, getattr(first, field)) == []


# --- parse → clean → publish ------------------------------------------------------------


def _published(body: bytes) -> bytes | None:
    """The Atom a document ends up in, None when it is refused (ParseError)."""
    try:
        cleaned = parse_and_clean(body, inv.FEED_URL, {}, PlainRules())
    except ParseError:
        event("refused: ParseError")
        return None
    event(f"published: {len(cleaned.entries)} entries")
    data = inv.publish(cleaned)
    assert inv.publish(cleaned) == data  # rendering is deterministic
    return data


@fuzz(80)
@given(feed_documents(corrupt=False))
def test_published_feed_is_well_formed_and_safe(body: bytes) -> None:
    data = _published(body)
    if data is not None:
        assert list(inv.published_problems(data)) == []


@pytest.mark.skipif(not SCHEMA_AVAILABLE, reason="needs ../shared/corpus/schema")
@fuzz(25)
@given(feed_documents(corrupt=False))
def test_published_feed_is_valid_atom(body: bytes) -> None:
    data = _published(body)
    if data is not None:
        assert validate_atom(data) == []


# --- config -------------------------------------------------------------------------------


def _resolves(node: Any, path: str, missing: bool) -> bool:
    """Whether a key path as `config.format_loc` writes it (`sources[0].rules.remove[1]`)
    leads into `node`; if `missing`, its last key is absent instead. Keys may hold dots
    and brackets themselves, so every key of a mapping is tried as a prefix. pydantic
    ends the path of a key that is not a string with `[key]` (`topics[3].[key]`)."""
    if not path or path == ".[key]":
        return not missing
    index = re.match(r"\[(\d+)\]", path)
    listed = isinstance(node, Sequence) and not isinstance(node, str)
    if index and listed and int(index[1]) < len(node):
        return _resolves(node[int(index[1])], path[index.end() :], missing)
    if not isinstance(node, Mapping):
        return False
    if index and int(index[1]) in node:
        return _resolves(node[int(index[1])], path[index.end() :], missing)
    path = path.removeprefix(".")
    for key in (k for k in node if isinstance(k, str) and path.startswith(k)):
        rest = path[len(key) :]
        if rest[:1] in ("", ".", "[") and _resolves(node[key], rest, missing):
            return True
    return missing and path not in node and not re.search(r"[.\[]", path)


def _names_a_key_path(problem: str, data: object) -> bool:
    """Whether `problem` starts with `(top level)` or a key path into `data`."""
    for colon in re.finditer(": ", problem):
        path, message = problem[: colon.start()], problem[colon.end() :]
        missing = message == "required key is missing"
        if path == "(top level)" or _resolves(data, path, missing):
            return True
    return False


@fuzz(250)
@given(st.one_of(config_mappings(), rules_configs()))
def test_any_config_is_accepted_or_refused_naming_key_paths(data: object) -> None:
    try:
        parse_config(data)
    except ConfigError as exc:
        event("refused")
        assert exc.problems
        assert [p for p in exc.problems if not _names_a_key_path(p, data)] == []
    else:
        event("accepted")


FEED = (
    b"<rss version='2.0'><channel><title>Site</title><item><title>Sponsor: a story</title>"
    b"<guid>g</guid><description>&lt;div class='share'&gt;&lt;a href='/x'&gt;Share&lt;/a&gt;"
    b"&lt;/div&gt;&lt;p&gt;Read more of the story.&lt;/p&gt;</description></item></channel></rss>"
)


@fuzz(120)
@given(rules_configs())
def test_rules_of_an_accepted_config_run_in_the_clean_stage(data: object) -> None:
    # The config check is the only one: a worker cannot report a bad rule to the operator.
    try:
        config = parse_config(data)
    except ConfigError:
        event("refused")
        return
    for rules in (config.rules, *(config.rules_of(s) for s in config.sources)):
        event("rules ran")
        parse_and_clean(FEED, inv.FEED_URL, {}, PlainRules.of(rules))


# --- the checkers find what they look for ---------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "problem"),
    [
        ("<p>a<script>x</script></p>", "element <script>"),
        ("<svg><a>x</a></svg>", "element <svg>"),
        ('<img src="https://a.example/i" onerror="x">', "event handler"),
        ('<a href=" java&#x09;script:x">a</a>', "javascript URL"),
        ('<a href="&#106;avascript:x">a</a>', "javascript URL"),
        ('<img src="data:image/png;base64,AA">', "data URL"),
        ('<img src="mailto:a@b.example">', "mailto URL"),
        ('<a href="/relative">a</a>', "relative URL"),
        ('<p style="color:red">a</p>', "attribute style"),
        ('<a href="https://a.example/" rel="opener">a</a>', "rel="),
        ("<!-- c --><p>a</p>", "comment"),
        ("<p>a\x00b</p>", "XML-illegal"),
    ],
)
def test_the_html_checker_finds_problems(fragment: str, problem: str) -> None:
    assert any(problem in found for found in inv.html_problems(fragment))


@pytest.mark.parametrize(
    ("problem", "found"),
    [
        ("sources[1].rules.remove[0]: bad", True),
        ("topics.a.b: invalid topic id", True),
        ("topics[3].[key]: Input should be a valid string", True),
        ("topics[4].[key]: Input should be a valid string", False),
        ("sources[0].topics: required key is missing", True),
        ("sources[5].url: bad", False),
        ("poll.interval.function-before[x]: bad", False),
        ("colour: unknown key", False),
    ],
)
def test_the_key_path_checker(problem: str, found: bool) -> None:
    data = {"topics": {"a.b": {}, 3: {}}, "sources": [{"url": "u"}, {"rules": {"remove": ["x"]}}]}
    data["poll"] = {"interval": 3}
    assert _names_a_key_path(problem, data) is found
