"""`aggregator explain`: what cleaning removed from an entry, and what it has learned of
a source. Reads the store and formats text; changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from .clean.learn import LearnSettings, Memory, Pattern, patterns
from .config import Config
from .errors import AggregatorError
from .store import Store
from .store.reads import Explained

SAMPLES = 70  # characters of a sample shown per line


class NotFound(AggregatorError):
    """Nothing in the store answers to what was asked for."""


def learn_settings(config: Config) -> LearnSettings:
    """The learner's settings from the config's `learning` section."""
    from .worker import PlainLearning

    return PlainLearning.of(config.learning).settings()


def explain_entry(store: Store, ident: str, settings: LearnSettings) -> Iterator[str]:
    """Lines describing each stored entry whose output id, link or guid is `ident`."""
    found = store.explain(ident)
    if not found:
        raise NotFound(f"no stored entry has the id, link or guid {ident!r}")
    learned: dict[int, dict[str, Pattern]] = {}
    for entry in found:
        if entry.source_id not in learned:
            memory = Memory.from_json(store.memory(entry.source_id))
            learned[entry.source_id] = {p.id: p for p in patterns(memory, settings)}
        yield from _entry_lines(entry, learned[entry.source_id])


def _entry_lines(entry: Explained, learned: dict[str, Pattern]) -> Iterator[str]:
    yield f"entry {entry.output_id}: {entry.title}"
    yield f"  source: {_source(entry.source_url, entry.source_name)}"
    yield f"  link:   {entry.link or '(none)'}"
    yield from _merge_lines(entry)
    if not entry.removals:
        yield "  removed: nothing"
        return
    yield f"  removed ({len(entry.removals)}):"
    width = max(len(rule) for rule, _ in entry.removals)
    for rule, sample in entry.removals:
        pattern = learned.get(rule)
        support = f" (support {pattern.support})" if pattern else ""
        if rule.startswith("learned:template:"):
            support = " (a frame shared by entries of the poll that brought it)"
        elif rule.startswith("learned:") and pattern is None:
            support = " (no longer learned)"
        yield f"    {rule:<{width}}  {_quote(sample)}{support}"


def _merge_lines(entry: Explained) -> Iterator[str]:
    if not entry.merges:
        yield "  merges: none"
        return
    yield f"  merges ({len(entry.merges)}):"
    for m in entry.merges:
        if m.role == "kept apart":
            yield f"    [{m.topic_id}] kept apart: {m.detail or 'split off by an operator'}"
            continue
        how = m.rule or "?"
        if m.similarity is not None:
            how += f", similarity {m.similarity:.2f}"
        if m.detail:
            how += f": {m.detail}"
        yield f"    [{m.topic_id}] {m.role} {m.other_output_id} ({m.other_source}) by {how}"


def unmerge(store: Store, ident: str, now: datetime) -> Iterator[str]:
    """Split the entry `ident` (output id, link or guid) off the story it was merged
    into; lines saying what changed. A published copy cannot be split off: its
    duplicates can, each by its own id."""
    found = store.explain(ident)
    if not found:
        raise NotFound(f"no stored entry has the id, link or guid {ident!r}")
    copies = [e for e in found if any(m.role == "duplicate of" for m in e.merges)]
    if not copies:
        merged = sorted(
            {m.other_output_id for e in found for m in e.merges if m.role == "merged into it"}
        )
        hint = f"; its duplicates: {', '.join(merged)}" if merged else ""
        raise NotFound(f"{ident!r} is not a duplicate of another entry{hint}")
    for entry in copies:
        topics = store.unmerge(entry.entry_id, now)
        roots = sorted({m.other_output_id for m in entry.merges if m.role == "duplicate of"})
        yield (
            f"unmerged {entry.output_id} from {', '.join(roots)}; "
            f"republishing {', '.join(sorted(topics))}"
        )


def explain_source(store: Store, name: str, settings: LearnSettings) -> Iterator[str]:
    """Lines listing the patterns learned of each source called `name`."""
    found = store.find_sources(name)
    if not found:
        raise NotFound(f"no source is named {name!r} (by config name, feed title or URL)")
    for source_id, url, source_name in found:
        memory = Memory.from_json(store.memory(source_id))
        learned = patterns(memory, settings)
        yield (
            f"source {_source(url, source_name)}: {memory.entries} entries remembered, "
            f"{len(learned)} pattern(s) learned"
        )
        if learned:
            yield f"  {'support':>7}  {'kind':<12}  {'id':<24}  sample"
        for pattern in learned:
            share = f"{pattern.support}/{memory.entries}"
            yield f"  {share:>7}  {pattern.kind:<12}  {pattern.id:<24}  {_quote(pattern.sample)}"


def _source(url: str, name: str | None) -> str:
    return f"{name} ({url})" if name else url


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= SAMPLES else text[: SAMPLES - 1] + "…")
