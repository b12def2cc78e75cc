"""`make corpus-report`: what boilerplate removal does to the real-world corpus.

Every file of `../shared/corpus/real` (and `edge`) is parsed and cleaned as one
source's first poll (catalogue, learning from its own entries; no operator rules).
Prints how many blocks each catalogue rule and each kind of learned pattern removed,
how many entries lost something, the words kept, and the entries that had at least
50 words before cleaning and were emptied (the acceptance says: none).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from lxml import html as lxml_html

from aggregator.clean import CleanRules, clean_entries, html_to_text
from aggregator.clean.learn import LearnSettings
from aggregator.errors import ParseError
from aggregator.parse import parse_feed

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
MIN_WORDS = 50
# Rules that only make output safe (not boilerplate): counted apart.
SAFETY = ("unsafe-", "form-control", "unsupported-element", "hidden-element", "truncated")


def raw_words(html: str) -> int:
    """Words of `html` as a browser shows it (scripts and styles aside)."""
    if not html.strip():
        return 0
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    for code in list(root.iter("script", "style", "template")):
        code.drop_tree()
    return len(root.text_content().split())


def kind(rule: str) -> str:
    """`learned:block:1a2b3c4d` → `learned:block`; catalogue and other ids as they are."""
    return ":".join(rule.split(":")[:2]) if rule.startswith("learned:") else rule


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    files = sorted([*args.corpus.glob("real/*"), *args.corpus.glob("edge/*")])
    if not files:
        print(f"no corpus under {args.corpus}", file=sys.stderr)
        return 2
    removed: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    emptied: list[str] = []
    started = time.perf_counter()
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), url=f"https://corpus.test/{path.name}", headers={})
        except ParseError:
            totals["files not feeds"] += 1
            continue
        totals["files"] += 1
        cleaned, _ = clean_entries(
            feed.entries, CleanRules(), site=feed.title, memory=None, learning=LearnSettings()
        )
        for before, after in zip(feed.entries, cleaned, strict=True):
            totals["entries"] += 1
            rules = [kind(r.rule) for r in after.removals]
            removed.update(rules)
            if any(not r.startswith(SAFETY) for r in rules):
                totals["entries with boilerplate removed"] += 1
            words = max(raw_words(before.content), raw_words(before.summary))
            kept = len(html_to_text(after.content or after.summary).split())
            totals["words before"] += words
            totals["words after"] += kept
            if words >= MIN_WORDS and kept == 0:
                emptied.append(f"{path.name}: {before.title[:60]!r} ({words} words)")
    seconds = time.perf_counter() - started
    print(f"{totals['files']} feeds ({totals['files not feeds']} files not feeds), "
          f"{totals['entries']} entries, {seconds:.1f}s")  # fmt: skip
    share = totals["words after"] / max(totals["words before"], 1)
    print(f"entries with boilerplate removed: {totals['entries with boilerplate removed']}")
    print(f"words kept: {totals['words after']} of {totals['words before']} ({share:.1%})")
    print("\nblocks removed, by rule (learned patterns by kind):")
    for rule, count in sorted(removed.items(), key=lambda item: (-item[1], item[0])):
        note = "  (safety, not boilerplate)" if rule.startswith(SAFETY) else ""
        print(f"  {count:>7}  {rule}{note}")
    print(f"\nentries of {MIN_WORDS}+ words emptied: {len(emptied)}")
    for line in emptied:
        print(f"  {line}")
    return 1 if emptied else 0


if __name__ == "__main__":
    sys.exit(main())
