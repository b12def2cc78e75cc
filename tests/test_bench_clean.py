"""The cleaning benchmark's instrument (bench/clean): its labels agree with its HTML, and
its figures are computed right. Quick; the benchmark itself is `make bench-clean`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from aggregator.clean import html_to_text
from aggregator.worker import PlainRules, parse_and_clean

BENCH_CLEAN = Path(__file__).resolve().parent.parent / "bench" / "clean"


def _load(name: str) -> ModuleType:
    """A bench/clean module, imported the way run.py imports it (by its plain name)."""
    sys.path.insert(0, str(BENCH_CLEAN))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH_CLEAN))


generate = _load("generate")
scoring = _load("scoring")
Block = scoring.Block


def test_generator_is_deterministic_and_its_feeds_parse() -> None:
    built = generate.corpus(sources=2, seed=3, entries=(3, 3))
    again = generate.corpus(sources=2, seed=3, entries=(3, 3))
    assert [s.body for s in built.sources] == [s.body for s in again.sources]
    assert [len(s.entries) for s in built.sources] == [3, 3]
    for source in built.sources:
        feed = parse_and_clean(source.body, source.url, {}, PlainRules())
        assert [e.guid for e in feed.entries] == [g.guid for g in source.entries]


def test_labels_agree_with_the_html() -> None:
    """Scored against its own uncleaned text, every labelled block is found."""
    sources = generate.corpus(sources=2, seed=3, entries=(3, 3)).sources
    assert {s.profile for s in sources} == {"own", "catalogue"}  # junk of both sorts
    for source in sources:
        for entry in source.entries:
            assert {b.label for b in entry.blocks} <= {scoring.CONTENT, scoring.JUNK}
            text = html_to_text(entry.html)
            assert text.splitlines() == scoring.gold_lines(entry.blocks)
            tally, verdicts = scoring.score_entry(
                entry.blocks, entry.title, text, entry.html, entry.title
            )
            assert all(v.survived for v in verdicts), [v.block for v in verdicts]
            assert tally.retention == 1.0


def _blocks() -> list[Block]:
    return [
        Block("junk", "own-nav", "Back to Science", 0),
        Block("content", "paragraph", "Alpha beta gamma delta epsilon.", 1),
        Block("content", "caption", "A quiet Science harbour at dawn.", 2),
        Block("junk", "own-credit", "Photo: Staff", 2),  # inline, on the caption's line
        Block("content", "paragraph", "Zeta eta theta iota kappa lambda.", 3),
        Block("junk", "own-copyright", "© 2025 Site. All rights reserved.", 4),
        Block("junk", "read-more", "Read more", 5),
        Block("junk", "pixel", "", -1, "/px/1.gif"),
        Block("content", "image", "", -1, "/img/harbour.jpg"),
    ]


def test_one_false_removal_among_four_and_an_inline_tail() -> None:
    # Removed: the nav line, the copyright line (junk) and the first paragraph (content);
    # the credit is trimmed from the caption; "Read more" and the pixel stay.
    text = "A quiet Science harbour at dawn.\nZeta eta theta iota kappa lambda.\nRead more"
    html = '<img src="https://x.example/px/1.gif"><img src="https://x.example/img/harbour.jpg">'
    tally, verdicts = scoring.score_entry(_blocks(), "Gold  title", text, html, "Gold title")
    kept = {v.block.text or v.block.marker for v in verdicts if v.survived}
    assert kept == {
        "A quiet Science harbour at dawn.",
        "Zeta eta theta iota kappa lambda.",
        "Read more",
        "/px/1.gif",
        "/img/harbour.jpg",
    }
    assert (tally.removed_junk, tally.removed_content, tally.junk) == (3, 1, 5)
    assert tally.precision == 3 / 4
    assert tally.recall == 3 / 5
    # 4-grams: 2 of "Alpha …" (lost), 3 of the caption, 3 of "Zeta …" (kept).
    assert (tally.kept_grams, tally.grams) == (6, 8)
    assert tally.title_accuracy == 1.0


def test_precision_two_thirds_and_partial_trims() -> None:
    blocks = [
        Block("junk", "own-dateline", "Jun 1, 2025 | Lisbon", 0),
        Block("content", "paragraph", "One two three four five six.", 1),
        Block("junk", "own-promo", "This story is part of our series.", 2),
        Block("content", "paragraph", "Seven eight nine ten.", 3),
    ]
    # The dateline and promo go, and so does the last paragraph: 2 of 3 removals right.
    # The first paragraph is trimmed to four of its six words: it survived (majority).
    tally, _ = scoring.score_entry(blocks, "T", "One two three four", "", "T | Site")
    assert tally.precision == 2 / 3
    assert tally.recall == 1.0
    assert tally.title_accuracy == 0.0
    total = scoring.Tally()
    total.add(tally)
    total.add(tally)
    assert (total.removed_junk, total.removed_content, total.precision) == (4, 2, 2 / 3)


def test_nothing_removed_is_vacuously_precise() -> None:
    tally = scoring.Tally(junk=3)
    assert (tally.precision, tally.recall) == (1.0, 0.0)
