"""Operator filters: which entries are published (keep/block), which elements go (remove)."""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass

import pytest

from aggregator.clean.filters import (
    NOT_KEPT,
    EntryFilter,
    compile_selector,
    compile_selectors,
    entry_filters,
    filter_decision,
    remove_selected,
)
from aggregator.clean.html import SAMPLE, parse_fragment, serialize, tree_text
from aggregator.config import parse_config
from aggregator.models import Removal
from aggregator.worker import PlainFilter, PlainRules


@dataclass(frozen=True)
class Entry:
    title: str = "Budget talks resume"
    text: str = "Ministers met on Monday to discuss the budget."
    author: str | None = "Ann Lee"
    categories: tuple[str, ...] = ("Politics", "Europe")


def rule(id: str, **fields: str) -> EntryFilter:
    return EntryFilter(id, **{name: re.compile(p) for name, p in fields.items()})


SPONSORED = rule("operator:block[0]", title="^Sponsored")
POLITICS = rule("operator:keep[0]", category="^Politics$")
ANN_BUDGET = rule("operator:keep[1]", author="Lee", content="budget")

DECISIONS = {
    "no rules: published, nobody decided": (Entry(), (), (), (True, None)),
    "block matches title": (
        Entry(title="Sponsored: a car"),
        (),
        (SPONSORED,),
        (False, SPONSORED.id),
    ),
    "block does not match": (Entry(), (), (SPONSORED,), (True, None)),
    "block wins over keep": (
        Entry(title="Sponsored: politics"),
        (POLITICS,),
        (SPONSORED,),
        (False, SPONSORED.id),
    ),
    "keep matches one category of several": (Entry(), (POLITICS,), (), (True, POLITICS.id)),
    "keep configured, none matches": (
        Entry(categories=("Sport",)),
        (POLITICS,),
        (),
        (False, NOT_KEPT),
    ),
    "no categories never match a category filter": (
        Entry(categories=()),
        (POLITICS,),
        (),
        (False, NOT_KEPT),
    ),
    "first matching keep decides": (Entry(), (ANN_BUDGET, POLITICS), (), (True, ANN_BUDGET.id)),
    "all fields must match": (
        Entry(text="Ministers met on Monday."),
        (ANN_BUDGET,),
        (),
        (False, NOT_KEPT),
    ),
    "author None never matches": (Entry(author=None), (ANN_BUDGET,), (), (False, NOT_KEPT)),
    "author None does not trip a block": (
        Entry(author=None),
        (),
        (rule("operator:block[0]", author=".*"),),
        (True, None),
    ),
    "case-sensitive by default": (
        Entry(title="sponsored: a car"),
        (),
        (SPONSORED,),
        (True, None),
    ),
    "(?i) makes it case-insensitive": (
        Entry(title="sponsored: a car"),
        (),
        (rule("operator:block[0]", title="(?i)^sponsored"),),
        (False, "operator:block[0]"),
    ),
    "content is searched, not matched whole": (
        Entry(),
        (rule("operator:keep[0]", content="Monday"),),
        (),
        (True, "operator:keep[0]"),
    ),
}


@pytest.mark.parametrize("entry, keep, block, expected", DECISIONS.values(), ids=DECISIONS.keys())
def test_filter_decision(
    entry: Entry,
    keep: tuple[EntryFilter, ...],
    block: tuple[EntryFilter, ...],
    expected: tuple[bool, str | None],
) -> None:
    assert filter_decision(entry, keep, block) == expected


def test_filters_from_config_and_plain_rules_have_position_ids() -> None:
    config = parse_config(
        {
            "topics": {"w": {"title": "W"}},
            "sources": [
                {
                    "url": "https://a.example/feed",
                    "topics": ["w"],
                    "rules": {"block": [{"author": "Bot$"}], "remove": ["p.byline"]},
                }
            ],
            "rules": {"block": [{"title": "^Ad:"}], "keep": [{"category": "x"}]},
        }
    )
    rules = config.rules_of(config.sources[0])
    plain = pickle.loads(pickle.dumps(PlainRules.of(rules)))
    assert plain.remove == ("p.byline",)
    assert plain.block == (
        PlainFilter(title=re.compile("^Ad:")),
        PlainFilter(author=re.compile("Bot$")),
    )
    # Global rules first, then the source's: the ids count across both.
    block = entry_filters("block", plain.block)
    assert [f.id for f in block] == ["operator:block[0]", "operator:block[1]"]
    assert entry_filters("block", rules.block) == block
    keep = entry_filters("keep", plain.keep)
    assert filter_decision(Entry(author="News Bot", categories=("x",)), keep, block) == (
        False,
        "operator:block[1]",
    )


def removed(html: str, *selectors: str) -> tuple[str, list[Removal]]:
    root = parse_fragment(html)
    removals = remove_selected(root, compile_selectors(selectors))
    return serialize(root), removals


def test_remove_selected_records_the_rule_and_a_sample() -> None:
    html, removals = removed(
        '<p>Story.</p><div class="share">Share on <a href="#">X</a></div><p>More.</p>',
        "p.byline",
        "div.share",
    )
    assert html == "<p>Story.</p><p>More.</p>"
    assert removals == [Removal("operator:remove[1]", "<div> Share on X")]


def test_remove_selected_keeps_the_tail_text() -> None:
    root = parse_fragment('<p>Hello<span class="ad">BUY</span> world</p><div id=c>x</div>after')
    removals = remove_selected(root, compile_selectors(["span.ad", "#c"]))
    assert [r.rule for r in removals] == ["operator:remove[0]", "operator:remove[1]"]
    assert serialize(root) == "<p>Hello world</p> after"
    assert tree_text(root).split() == ["Hello", "world", "after"]


def test_remove_selected_nested_matches_are_removed_once() -> None:
    html, removals = removed(
        '<div class="share"><div class="share">inner</div>outer</div><p>Kept</p>',
        ".share",
        "div div",
    )
    assert html == "<p>Kept</p>"
    assert removals == [Removal("operator:remove[0]", "<div> innerouter")]


def test_remove_selected_never_removes_the_root() -> None:
    html, removals = removed("<p>One</p><p>Two</p>", "body", "body > p:first-child")
    assert html == "<p>Two</p>"
    assert removals == [Removal("operator:remove[1]", "<p> One")]


def test_remove_selected_element_names_match_any_case() -> None:
    html, removals = removed("<P>Gone</P><aside>Kept</aside>", "P")
    assert html == "<aside>Kept</aside>"
    assert removals == [Removal("operator:remove[0]", "<p> Gone")]


def test_remove_selected_sample_is_short() -> None:
    _, removals = removed(f"<p class=x>{'word ' * 100}</p>", ".x")
    assert len(removals[0].text) == SAMPLE


def test_remove_selected_without_matches_changes_nothing() -> None:
    html, removals = removed('<p class="lead">Text</p>', "p.byline", "#comments")
    assert (html, removals) == ('<p class="lead">Text</p>', [])


INVALID_SELECTORS = {
    "unclosed attribute": ("div[", "invalid CSS selector 'div[': Expected ident"),
    "empty": ("", "invalid CSS selector '': Expected selector"),
    "pseudo-element": ("p::before", "invalid CSS selector 'p::before': Pseudo-elements"),
    "dangling combinator": ("div >", "invalid CSS selector 'div >'"),
    "namespace prefix": ("ns|a", "invalid CSS selector 'ns|a': Undefined namespace prefix"),
}


@pytest.mark.parametrize(
    "selector, message", INVALID_SELECTORS.values(), ids=INVALID_SELECTORS.keys()
)
def test_invalid_selectors(selector: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        compile_selectors(["p", selector])


def test_compiled_selectors_are_cached() -> None:
    assert compile_selector("div.share") is compile_selector("div.share")
    rules = compile_selectors(["div.share"])
    assert rules[0].xpath is compile_selector("div.share")
    assert rules[0].selector == "div.share"


def test_the_worker_applies_remove_keep_and_block_to_a_feed() -> None:
    """Operator rules through the real path: parse, clean with the rules as the pipeline
    sends them to workers, filter; a blocked entry never reaches the store."""
    from aggregator.worker import PlainFilter, PlainRules, parse_and_clean
    from tests.feeds import Item, rss

    items = [
        Item("a", "Harbour plan approved", "https://n.example/a",
             '<p>The plan passed.</p><div class="ad">Buy now</div>'),
        Item("b", "Sponsored: a new phone", "https://n.example/b", "<p>Advert.</p>"),
        Item("c", "Weather", "https://n.example/c", "<p>Rain again.</p>"),
    ]  # fmt: skip
    rules = PlainRules(
        remove=("div.ad",),
        keep=(PlainFilter(content=re.compile("plan|Advert")),),
        block=(PlainFilter(title=re.compile("^Sponsored")),),
    )

    feed = parse_and_clean(rss("News", items), "https://n.example/feed", {}, rules)

    assert [e.key for e in feed.entries] == ["a"]  # b blocked, c not kept
    (entry,) = feed.entries
    assert "Buy now" not in entry.summary and "The plan passed." in entry.summary  # RSS description
    assert ("operator:remove[0]", "<div> Buy now") in {(r.rule, r.text) for r in entry.removals}
