"""Templated edge lines (`clean/templates.py`): the same frame in enough entries of a
poll, above or below the article body, goes; the article and look-alikes stay."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.clean.learn import BlockCut, LearnSettings, Pattern
from aggregator.clean.templates import _recurs, edges_recur, template_cuts

BODY = " ".join(["The council met on Tuesday and argued about the budget for hours."] * 3)
SETTINGS = LearnSettings()
CITIES = ["OSLO", "LA PALMA", "SAN JOSE", "LIMA", "KYIV", "PORTO"]


def cut_texts(
    entries: list[list[str]], done: list[tuple[BlockCut, ...]] | None = None
) -> list[set[str]]:
    done = done or [() for _ in entries]
    return [{c.text for c in cuts} for cuts in template_cuts(entries, done, SETTINGS)]


def test_datelines_of_one_shape_above_the_body_go() -> None:
    endings = ["Ask us.", "More soon", "Write in!", "Vote early", "Be well", "Go outside"]
    entries = [
        [f"{city} — {day} Jun 2025", BODY, ending]  # the endings share no frame: they stay
        for day, (city, ending) in enumerate(zip(CITIES, endings, strict=True), 1)
    ]

    cut = cut_texts(entries)

    assert cut == [{entry[0]} for entry in entries]


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(lambda n: f"Photo: Person {'ABCDEF'[n]}/The Gazette", id="credit-label"),
        pytest.param(lambda n: f"Filed under: Topic {n} / Sub {n}", id="filing-label"),
        pytest.param(lambda n: f"Name{n} writes about travel for The Gazette.", id="bio-end"),
        pytest.param(lambda n: f"Sponsored by Brand{n}. Proud supporter of news.", id="sponsor"),
    ],
)
def test_framed_lines_below_the_body_go(frame: object) -> None:
    make = frame  # type: ignore[assignment]
    entries = [[BODY, make(n)] for n in range(6)]  # type: ignore[operator]

    assert cut_texts(entries) == [{entry[1]} for entry in entries]


@pytest.mark.parametrize(
    ("entries", "why"),
    [
        pytest.param([[BODY, f"Photo: P{n}/G"] for n in range(2)], "too few entries", id="few"),
        pytest.param(
            [[BODY, f"Photo: P{n}/G"] for n in range(2)] + [[BODY, "Thanks."] for _ in range(4)],
            "in too few of the entries",
            id="rare",
        ),
        pytest.param(
            [[BODY, f"Photo: P{n}/The Gazette", BODY] for n in range(6)],
            "between paragraphs of the body",
            id="middle",
        ),
        pytest.param(
            [["Background", BODY] for _ in range(6)], "one word: no frame to share", id="heading"
        ),
        pytest.param(
            [[f"Photo: P{n}/G"] for n in range(6)], "no article body to frame", id="no-body"
        ),
        pytest.param(
            [[f"Photo: {'x ' * 14}{n}", "y " * 20] for n in range(6)],
            "more than the share of text allowed",
            id="share",
        ),
    ],
)
def test_lines_that_stay(entries: list[list[str]], why: str) -> None:
    assert cut_texts(entries) == [set() for _ in entries], why


def test_lines_already_cut_whole_count_toward_the_frame() -> None:
    entries = [[f"{city} — 1 Jun 2025", BODY] for city in ["OSLO"] * 4 + ["LIMA", "KYIV"]]
    learned = Pattern("block", "oslo — <date>", 4, "OSLO — 1 Jun 2025")
    done = [(BlockCut(0, learned, e[0], whole=True),) if "OSLO" in e[0] else () for e in entries]

    cut = cut_texts(entries, done)

    assert cut == [set()] * 4 + [{"LIMA — 1 Jun 2025"}, {"KYIV — 1 Jun 2025"}]


def test_a_frame_on_many_lines_of_one_entry_is_a_list_and_stays() -> None:
    notes = [f"WP: Topic {n}" for n in range(8)]  # a podcast's show notes
    entries = [[BODY, *notes] for _ in range(6)]

    assert cut_texts(entries) == [set() for _ in entries]


# --- the cheap look before learning -----------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sets(st.sampled_from("abcdefgh"), max_size=4), max_size=12),
    st.integers(min_value=1, max_value=8),
)
def test_recurs_answers_as_a_full_count_does(sets: list[set[str]], needed: int) -> None:
    counts = Counter(key for keys in sets for key in keys)
    expected = any(n >= needed for n in counts.values())
    assert _recurs(iter(sets), needed, len(sets)) is expected


def test_recurs_stops_reading_once_no_key_can_reach_the_bar() -> None:
    read = []

    def sets() -> Iterator[set[str]]:
        for i in range(50):
            read.append(i)
            yield {f"line {i}", "shared" if i < 3 else f"other {i}"}

    assert not _recurs(sets(), 25, 50)
    assert len(read) == 29  # "shared" in 3, 21 sets left: it cannot reach 25


def test_edges_recur_finds_a_dated_footer_and_nothing_in_distinct_entries() -> None:
    learning = LearnSettings()
    names = [chr(97 + n % 26) + chr(97 + n // 26) + "x" for n in range(40)]  # no digits
    distinct = [
        [f"{name} {w} wrote {w}{name} here {name}{w}" for w in "abcdefghij"] for name in names
    ]
    untitled = [f"t{n}" for n in range(40)]  # one word: no title key
    assert not edges_recur(distinct, untitled, learning)
    footed = [[*lines, f"Updated {1 + n % 28} June 2025"] for n, lines in enumerate(distinct)]
    assert edges_recur(footed, untitled, learning)
    titles = [f"{w} story {name}" for name, w in zip(names, ["Big", "Small"] * 20, strict=True)]
    assert edges_recur(distinct, titles, learning)  # half the titles start "big"
