"""Time the boilerplate learner alone (`clean/learn.py`) on the labelled corpus.

Blocks are the plain-text lines of each entry (built before timing). Per source, times
`remember(Memory(), entries)` then `decide` on each entry: cold (the learner's caches
cleared first, as for a source polled for the first time) and warm (the same entries
remembered again into that memory, as a re-poll of an unchanged feed; also with the
caches cleared first). CPU time of one process, best of N passes.

    python bench/clean/learn_speed.py [--sources 36] [--seed 1] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from generate import corpus

from aggregator.clean import html_to_text, learn
from aggregator.clean.learn import EntryBlocks, LearnSettings, Memory, decide, remember

Feed = Sequence[EntryBlocks]


def feeds(sources: int, seed: int) -> list[Feed]:
    built = corpus(sources, seed)
    return [
        [
            EntryBlocks(e.guid, e.raw_title, tuple(html_to_text(e.html).split("\n")))
            for e in source.entries
        ]
        for source in built.sources
    ]


def clear_caches() -> None:
    for value in vars(learn).values():
        clear = getattr(value, "cache_clear", None)
        if callable(clear):
            clear()


def cold(feed: Feed, settings: LearnSettings) -> Memory:
    memory = remember(Memory(), feed, settings)
    for item in feed:
        decide(item, memory, settings)
    return memory


def warm(feed: Feed, memory: Memory, settings: LearnSettings) -> None:
    again = remember(memory, feed, settings)
    for item in feed:
        decide(item, again, settings)


def best(repeat: int, run: Callable[[], None]) -> float:
    fastest = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        fastest = min(fastest, time.process_time() - started)
    return fastest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=36)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = LearnSettings()
    built = feeds(args.sources, args.seed)
    entries = sum(len(feed) for feed in built)
    blocks = sum(len(item.blocks) for feed in built for item in feed)

    def cold_pass() -> None:
        for feed in built:
            clear_caches()
            cold(feed, settings)

    memories = [cold(feed, settings) for feed in built]

    def warm_pass() -> None:
        for feed, memory in zip(built, memories, strict=True):
            warm(feed, memory, settings)

    def evicted_pass() -> None:  # a re-poll after the caches lost the feed's blocks
        for feed, memory in zip(built, memories, strict=True):
            clear_caches()
            warm(feed, memory, settings)

    print(f"{len(built)} sources, {entries} entries, {blocks} blocks")
    warm_pass()  # fill the caches
    for name, run in (("cold", cold_pass), ("warm", warm_pass), ("re-poll, evicted", evicted_pass)):
        seconds = best(args.repeat, run)
        per = seconds / entries * 1e6
        print(f"{name:17} {seconds * 1e3:7.1f} ms  {per:6.1f} µs/entry")


if __name__ == "__main__":
    main()
