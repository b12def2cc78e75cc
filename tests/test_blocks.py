"""Units of an edited tree (the lines learned patterns act on), and removing or trimming
them so that a second clean finds nothing more to change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.clean import CleanRules, clean_entries, clean_html
from aggregator.clean.blocks import Unit, drop, trim, units
from aggregator.clean.html import Element, TreePass, serialize, tree_text
from aggregator.clean.learn import LearnSettings
from aggregator.models import ParsedEntry

SEEDLIKE = (
    "<div>THE NEWS</div><div>Jun 1, 2025 | </div>"
    "<p>Real <em>para</em> one.</p>"
    "Loose text <b>bold</b> here<br>More loose"
    "<p><em>This story is part of it. Read the full package here.</em></p>"
)


def parsed(html: str) -> tuple[Element, list[Unit]]:
    tree = TreePass(None)
    root = tree.parse(html)
    tree.run(root)
    return root, units(root, tree.nested)


def test_units_are_the_lines_of_the_text() -> None:
    root, found = parsed(SEEDLIKE)

    assert [u.text for u in found] == tree_text(root).split("\n")
    assert [u.text for u in found] == [
        "THE NEWS",
        "Jun 1, 2025 |",
        "Real para one.",
        "Loose text bold here",
        "More loose",
        "This story is part of it. Read the full package here.",
    ]


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<div><p>a</p><div>b <i>c</i></div>d</div>e<ul><li>f</li></ul>", id="nested"),
        pytest.param("one<br>two<br><br>three", id="breaks"),
        pytest.param("<table><tr><td>x</td><td>y</td></tr></table>z", id="table"),
        pytest.param("<blockquote><p>q</p>tail text</blockquote>", id="quote"),
    ],
)
def test_units_match_tree_text_without_the_pass_records(html: str) -> None:
    root, found = parsed(html)

    assert [u.text for u in found] == tree_text(root).split("\n")
    assert [u.text for u in units(root)] == [u.text for u in found]


def reclean(root: Element) -> str:
    html = serialize(root)
    again, _, _ = clean_html(html, None)
    return again


def test_dropping_units_keeps_the_rest_and_leaves_nothing_for_a_second_clean() -> None:
    root, found = parsed(SEEDLIKE)

    drop(found[0])
    drop(found[3])  # loose text with an inline element: its tail text goes too

    assert tree_text(root).split("\n") == [
        "Jun 1, 2025 |",
        "Real para one.",
        "More loose",
        "This story is part of it. Read the full package here.",
    ]
    html = serialize(root)
    assert reclean(root) == clean_html(html, None)[0]


@pytest.mark.parametrize(
    ("index", "text", "at_end", "left"),
    [
        pytest.param(
            5, "Read the full package here.", True, "This story is part of it.", id="tail"
        ),
        pytest.param(1, "Jun 1, 2025 |", False, None, id="all-of-it"),
        pytest.param(2, "Real", False, "para one.", id="head-across-elements"),
        pytest.param(3, "bold here", True, "Loose text", id="tail-across-inline"),
    ],
)
def test_trimming_a_unit(index: int, text: str, at_end: bool, left: str | None) -> None:
    root, found = parsed(SEEDLIKE)
    before = tree_text(root).split("\n")

    trim(found[index], text, at_end)

    after = tree_text(root).split("\n")
    expected = before[:index] + ([left] if left else []) + before[index + 1 :]
    assert after == expected
    html = serialize(root)
    assert clean_html(html, None)[0] == clean_html(clean_html(html, None)[0], None)[0]
    assert "<em></em>" not in html and "<b></b>" not in html and "<div></div>" not in html


def _entry(key: str, html: str) -> ParsedEntry:
    return ParsedEntry(
        key=key, guid=key, link=f"https://s.example/{key}", title=f"Story {key} of the week",
        content=html, summary="", author=None,
        published=datetime(2025, 1, 1, tzinfo=UTC), updated=None,
    )  # fmt: skip


def test_learning_spares_recurring_headings_over_text_and_removes_recurring_junk() -> None:
    vocabulary = [
        "river",
        "stone",
        "cloud",
        "market",
        "harbor",
        "lantern",
        "meadow",
        "signal",
        "orchard",
        "canyon",
    ]

    def prose(n: int, shift: int) -> str:  # 30 words, different in every entry
        return " ".join(vocabulary[(n * 7 + shift * 3 + i * (n + 2)) % 10] for i in range(30))

    entries = [
        _entry(
            str(n),
            f"<p>Sponsor: Acme {n}x</p><h2>Methods</h2><p>{prose(n, 1)}.</p>"
            f"<h2>Results</h2><p>{prose(n, 2)}.</p><p>Sponsor: Acme {n}x</p>",
        )
        for n in range(5)
    ]

    cleaned, memory = clean_entries(entries, CleanRules(), memory=None, learning=LearnSettings())

    assert memory is not None and memory.entries == 5
    for entry in cleaned:
        assert entry.text.split("\n")[0] == "Methods" and "Results" in entry.text.split("\n")
        assert "Sponsor" not in entry.text
        assert any(r.rule.startswith("learned:") for r in entry.removals)
