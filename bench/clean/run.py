"""`make bench-clean`: how well the clean stage removes labelled junk, and how fast.

Builds the labelled corpus in memory (`generate.py`), cleans each source's feed with
one `parse_and_clean` call (all its entries at once, so what is learned within a poll
counts), and scores every gold block (`scoring.py`): block precision and recall of
junk removal, retention of the content's word 4-grams, title accuracy, misses by junk
kind and by source. Then times `parse_and_clean` alone, in this process, one thread,
best of N passes over the corpus. Prints PASS/FAIL per target; a report, so it exits
0 whatever the figures (1 only if the harness itself breaks).

    python bench/clean/run.py [--sources 36] [--seed 1] [--repeat 7] [--worst 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from generate import Corpus, Source, corpus
from scoring import Block, Tally, gold_lines, missing_entry, normalise, score_entry

from aggregator.clean import CleanRules, clean_entries, html_to_text
from aggregator.clean.learn import LearnSettings
from aggregator.errors import ParseError
from aggregator.models import CleanFeed, ParsedFeed
from aggregator.parse import parse_feed
from aggregator.worker import PlainRules, parse_and_clean

PRECISION, RECALL, RETENTION, RATE = 0.99, 0.95, 0.995, 1000.0
BUSY = 1.15  # wall / CPU time of the timed pass above which the machine was not idle
_CONTENT_TYPES = {
    "atom": "application/atom+xml",
    "rss-cdata": "application/rss+xml",
    "rss-encoded": "application/rss+xml",
}


T = TypeVar("T")
RULES = CleanRules()
LEARNING = LearnSettings()  # the defaults of config.yaml's `learning` section


def clean_source(source: Source) -> CleanFeed:
    """The one call into the clean stage: every entry of a source in one feed, as its
    first poll (nothing learned before: what is learned comes from these entries)."""
    headers = {"content-type": _CONTENT_TYPES[source.fmt]}
    return parse_and_clean(source.body, source.url, headers, PlainRules(), None, LEARNING)


def parsed(source: Source) -> ParsedFeed:
    headers = {"content-type": _CONTENT_TYPES[source.fmt]}
    return parse_feed(source.body, url=source.url, headers=headers)


def clean_parsed(feed: ParsedFeed) -> None:
    """The clean stage alone (what `parse_and_clean` does after parsing)."""
    clean_entries(feed.entries, RULES, site=feed.title, memory=None, learning=LEARNING)


@dataclass
class SourceScore:
    source: Source
    tally: Tally = field(default_factory=Tally)
    missed: list[Block] = field(default_factory=list)  # junk left in
    false: list[Block] = field(default_factory=list)  # content taken out
    titles: list[tuple[str, str]] = field(default_factory=list)  # (cleaned, gold) that differ
    error: str = ""
    missing: int = 0  # gold entries the cleaned feed lacks (scored as all content lost)

    @property
    def misses(self) -> int:
        return len(self.missed) + len(self.false) + len(self.titles)


def score_source(source: Source) -> SourceScore:
    score = SourceScore(source)
    try:
        feed = clean_source(source)
    except ParseError as exc:  # the cleaner's failure, scored as every entry lost
        score.error = str(exc)
        score.missing = len(source.entries)
        for gold in source.entries:
            score.tally.add(missing_entry(gold.blocks))
        return score
    cleaned = {entry.guid: entry for entry in feed.entries}
    for gold in source.entries:
        entry = cleaned.get(gold.guid)
        if entry is None:
            score.missing += 1
            score.tally.add(missing_entry(gold.blocks))
            score.false.extend(b for b in gold.blocks if not b.junk)
            continue
        html = entry.content or entry.summary  # an RSS description arrives as the summary
        tally, verdicts = score_entry(gold.blocks, gold.title, entry.text, html, entry.title)
        score.tally.add(tally)
        score.missed.extend(v.block for v in verdicts if v.block.junk and v.survived)
        score.false.extend(v.block for v in verdicts if not v.block.junk and not v.survived)
        if not tally.right_titles:
            score.titles.append((entry.title, gold.title))
    return score


def throughput(work: Callable[[T], object], items: Sequence[T], repeat: int) -> tuple[float, float]:
    """Best wall and best CPU seconds of one pass of `work` over every item.

    One thread, so one core at a time. Not pinned to a core: a pinned process waits
    whenever something else runs there. CPU time shows how much waiting there was.
    """
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.thread_time()
        for item in items:
            work(item)
        cpu = min(cpu, time.thread_time() - started_cpu)
        wall = min(wall, time.perf_counter() - started)
    return wall, cpu


def check_labels(built: Corpus) -> int:
    """Entries whose uncleaned plain text does not read exactly as their gold lines.

    Not zero means the generator's labels and its HTML disagree: the figures are off.
    """
    wrong = 0
    for source in built.sources:
        for entry in source.entries:
            lines = [normalise(line) for line in html_to_text(entry.html).splitlines()]
            wrong += lines != gold_lines(entry.blocks)
    return wrong


def describe(built: Corpus) -> None:
    blocks = [b for s in built.sources for e in s.entries for b in e.blocks]
    junk = sum(b.junk for b in blocks)
    html = [len(e.html.encode()) for s in built.sources for e in s.entries]
    profiles = Counter(s.profile for s in built.sources)
    mix = ", ".join(f"{profiles[p]} {p}" for p in ("clean", "catalogue", "own", "both"))
    print(
        f"corpus: {len(built.sources)} sources ({mix}), {built.entries} entries, "
        f"{len(blocks)} blocks ({junk} junk, {junk / len(blocks):.1%}), "
        f"{sum(html) / len(html) / 1024:.1f} KB of HTML per entry, seed {built.seed}"
    )


def report_kinds(total: Tally) -> None:
    print("\njunk by kind          blocks  removed  recall")
    for kind in sorted(total.by_kind):
        count, removed = total.by_kind[kind], total.removed_by_kind[kind]
        print(f"  {kind:<20} {count:6d} {removed:8d} {removed / count:7.1%}")


def report_worst(scores: Sequence[SourceScore], worst: int) -> None:
    ranked = sorted((s for s in scores if s.misses), key=lambda s: -s.misses)[:worst]
    print(f"\nworst sources ({len(ranked)} of {sum(1 for s in scores if s.misses)} with misses)")
    for s in ranked:
        src = s.source
        kinds = ",".join(src.kinds) or "-"
        print(
            f"  #{src.index} {src.name} [{src.profile}: {kinds}] {len(src.entries)} entries: "
            f"{len(s.missed)} junk kept, {len(s.false)} content removed, "
            f"{len(s.titles)} titles wrong"
        )
        if s.error:
            print(f"      parse error: {s.error[:100]}")
        if s.missed:
            print(f"      kept  {s.missed[0].kind}: {_sample(s.missed[0])}")
        if s.false:
            print(f"      lost  {s.false[0].kind}: {_sample(s.false[0])}")
        if s.titles:
            print(f"      title {s.titles[0][0]!r} (gold {s.titles[0][1]!r})")


def _sample(block: Block) -> str:
    text = block.text or f"<img …{block.marker}…>"
    return repr(text if len(text) <= 90 else text[:87] + "...")


def report_targets(total: Tally, rate: float) -> None:
    removed = total.removed_junk + total.removed_content
    rows = [
        (
            f"block precision >= {PRECISION}",
            total.precision >= PRECISION,
            f"{total.precision:.4f} ({total.removed_junk}/{removed} removed blocks were junk)",
        ),
        (
            f"block recall >= {RECALL}",
            total.recall >= RECALL,
            f"{total.recall:.4f} ({total.removed_junk}/{total.junk} junk blocks removed)",
        ),
        (
            f"content retention >= {RETENTION}",
            total.retention >= RETENTION,
            f"{total.retention:.4f} ({total.kept_grams}/{total.grams} content 4-grams kept)",
        ),
        (
            "title accuracy (no target)",
            None,
            f"{total.title_accuracy:.4f} ({total.right_titles}/{total.titles})",
        ),
        (
            f"clean throughput >= {RATE:.0f} entries/s",
            rate >= RATE,
            f"{rate:.0f} entries/s, one thread",
        ),
    ]
    print()
    for name, passed, value in rows:
        verdict = "    " if passed is None else ("PASS" if passed else "FAIL")
        print(f"{verdict}  {name:<34} {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=36)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7, help="timed passes; the best counts")
    parser.add_argument("--worst", type=int, default=10, help="sources listed with misses")
    args = parser.parse_args()
    built = corpus(args.sources, args.seed)
    describe(built)
    if wrong := check_labels(built):
        print(f"WARNING: the labels of {wrong} entries disagree with their HTML")
    scores = [score_source(source) for source in built.sources]
    total = Tally()
    for score in scores:
        total.add(score.tally)
    missing, errors = sum(s.missing for s in scores), sum(bool(s.error) for s in scores)
    if missing or errors:
        print(f"WARNING: {errors} feeds failed to parse; {missing} entries missing (scored lost)")
    report_kinds(total)
    report_worst(scores, args.worst)
    print(f"\ntiming, best of {args.repeat} passes ...", flush=True)
    both, both_cpu = throughput(clean_source, built.sources, args.repeat)
    print(
        f"  parse + clean (parse_and_clean): {built.entries} entries in {both * 1000:.0f} ms "
        f"wall, {both_cpu * 1000:.0f} ms CPU ({built.entries / both:.0f} entries/s)"
    )
    feeds = [parsed(source) for source in built.sources]
    seconds, cpu = throughput(clean_parsed, feeds, args.repeat)
    rate = built.entries / seconds
    print(
        f"  clean alone (catalogue, rules, learning, sanitising): {built.entries} entries in "
        f"{seconds * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"
    )
    if seconds > BUSY * cpu:
        print(
            f"WARNING: wall time is {seconds / cpu:.2f}x CPU time: other processes took the "
            f"core (CPU-time rate {built.entries / cpu:.0f} entries/s). Run on an idle machine."
        )
    report_targets(total, rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
