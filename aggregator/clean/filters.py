"""Operator filters: which entries are published (`keep`, `block`) and which elements go (`remove`).

Pure decisions and tree edits on data the caller passes in; it does not read the config
(the rules arrive as `config.Rules` or the worker's plain copy), fetch, sanitise, or
decide when in the clean stage it runs. Rule ids follow `rules.py`: an operator rule is
named by its list and its position there, global rules first, then the source's
(`operator:block[0]`, `operator:keep[1]`, `operator:remove[0]`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from lxml import etree

from ..config import css_xpath
from ..models import Removal
from .html import SAMPLE, remove_keeping_tail

Element = etree._Element

# The decision's rule id when keep filters are configured and none matched.
NOT_KEPT = "operator:keep"


class FilterSpec(Protocol):
    """One configured `keep` or `block` item (`config.Filter`, or the worker's plain copy)."""

    @property
    def title(self) -> re.Pattern[str] | None: ...

    @property
    def content(self) -> re.Pattern[str] | None: ...

    @property
    def author(self) -> re.Pattern[str] | None: ...

    @property
    def category(self) -> re.Pattern[str] | None: ...


class Filterable(Protocol):
    """What a filter looks at: a cleaned entry (`models.CleanEntry`)."""

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...  # the content as plain text

    @property
    def author(self) -> str | None: ...

    @property
    def categories(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """A `keep` or `block` item with its id. It matches an entry when every pattern given
    matches (re.search): `content` against the plain text, `category` against any one
    category; an entry without an author never matches an `author` pattern."""

    id: str
    title: re.Pattern[str] | None = None
    content: re.Pattern[str] | None = None
    author: re.Pattern[str] | None = None
    category: re.Pattern[str] | None = None

    def matches(self, entry: Filterable) -> bool:
        if self.title is not None and not self.title.search(entry.title):
            return False
        if self.content is not None and not self.content.search(entry.text):
            return False
        if self.author is not None and (
            entry.author is None or not self.author.search(entry.author)
        ):
            return False
        category = self.category
        return category is None or any(category.search(c) for c in entry.categories)


def entry_filters(kind: str, specs: Sequence[FilterSpec]) -> tuple[EntryFilter, ...]:
    """The operator's `keep` or `block` items (`kind`), each under the id of its position."""
    return tuple(
        EntryFilter(f"operator:{kind}[{i}]", s.title, s.content, s.author, s.category)
        for i, s in enumerate(specs)
    )


def filter_decision(
    entry: Filterable, keep: Sequence[EntryFilter], block: Sequence[EntryFilter]
) -> tuple[bool, str | None]:
    """(publish?, id of the rule that decided). A matching `block` item wins; then, if
    any `keep` items exist, the entry must match one (else the id is `NOT_KEPT`); with
    neither, the entry is published and no rule decided (None)."""
    for rule in block:
        if rule.matches(entry):
            return False, rule.id
    if not keep:
        return True, None
    for rule in keep:
        if rule.matches(entry):
            return True, rule.id
    return False, NOT_KEPT


@dataclass(frozen=True, slots=True)
class SelectorRule:
    """A `remove` item: elements matching `selector` (compiled to `xpath`) are removed."""

    id: str
    selector: str
    xpath: etree.XPath


@lru_cache(maxsize=256)  # every source's rules compile in every worker: once per selector
def compile_selector(selector: str) -> etree.XPath:
    """`config.css_xpath`, cached: the check the config passed, compiled for use."""
    return css_xpath(selector)


def compile_selectors(selectors: Sequence[str]) -> tuple[SelectorRule, ...]:
    """The operator's `remove` selectors, compiled, each under the id of its position."""
    return tuple(
        SelectorRule(f"operator:remove[{i}]", selector, compile_selector(selector))
        for i, selector in enumerate(selectors)
    )


def remove_selected(root: Element, rules: Sequence[SelectorRule]) -> list[Removal]:
    """Remove the elements under `root` (not `root` itself) that a rule selects, each with
    its content but not its tail, and return what was removed, in rule then document
    order. An element inside one already removed is not recorded again."""
    removals = []
    for rule in rules:
        selected = rule.xpath(root)
        assert isinstance(selected, list)  # a selector's XPath selects elements
        for el in selected:
            if isinstance(el, Element) and el is not root and _under(el, root):
                removals.append(Removal(rule.id, _sample(el)))
                remove_keeping_tail(el)
    return removals


def _under(el: Element, root: Element) -> bool:
    return any(ancestor is root for ancestor in el.iterancestors())


def _sample(el: Element) -> str:
    text = " ".join(etree.tostring(el, method="text", encoding="unicode", with_tail=False).split())
    tag = el.tag if isinstance(el.tag, str) else "?"
    return f"<{tag}> {text}"[:SAMPLE] if text else f"<{tag}>"
