"""The built-in boilerplate catalogue (`clean/catalogue.py`): every rule removes what it
names, records it under its id and keeps the article; look-alike content survives.

Named cases, positive and negative, per rule; a cleaned case cleans to itself; and the
catalogue is complete: every rule has a description and a case here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.clean import catalogue as C
from aggregator.clean import clean_entry
from aggregator.clean.catalogue import CATALOGUE, RULES
from aggregator.clean.rules import CleanRules
from aggregator.models import CleanEntry, ParsedEntry

LINK = "https://blog.example/2025/01/post.html"
BODY = "<p>Article text stays.</p>"
KEPT = "<p>Article text stays.</p>"
REL = 'rel="noopener noreferrer"'


def entry(content: str, title: str = "An article title", site: str | None = None) -> CleanEntry:
    return clean_entry(parse_entry(content, title), CleanRules(), site=site)


def parse_entry(content: str, title: str = "An article title") -> ParsedEntry:
    return ParsedEntry(
        key="k",
        guid="k",
        link=LINK,
        title=title,
        content=content,
        summary="",
        author=None,
        published=datetime(2025, 1, 1, tzinfo=UTC),
        updated=None,
    )


def a(href: str, text: str) -> str:
    return f'<a href="{href}">{text}</a>'


def kept_a(href: str, text: str) -> str:
    return f'<a href="{href}" {REL}>{text}</a>'


# name: (rule id, content HTML, expected content HTML, removed by that rule?)
HTML_CASES: dict[str, tuple[str, str, str, bool]] = {
    "wordpress footer removed": (
        "wordpress-appeared-first",
        BODY + f"<p>The post {a(LINK, 'A post')} appeared first on {a(LINK, 'My Blog')}.</p>",
        KEPT,
        True,
    ),
    "wordpress: a sentence mentioning a post that appeared first is kept": (
        "wordpress-appeared-first",
        BODY + "<p>The post appeared first on Hacker News and then spread widely.</p>",
        KEPT + "<p>The post appeared first on Hacker News and then spread widely.</p>",
        False,
    ),
    "medium footer removed": (
        "medium-footer",
        BODY + f"<hr><p>{a(LINK, 'A post')} was originally published in "
        f"{a('https://medium.com/pub', 'Pub')} on Medium, where people are continuing the "
        "conversation by highlighting and responding to this story.</p>",
        KEPT,
        True,
    ),
    "medium: 'originally published in' of an editor's note is kept": (
        "medium-footer",
        BODY + "<p>This post was originally published in 2015 and has been updated.</p>",
        KEPT + "<p>This post was originally published in 2015 and has been updated.</p>",
        False,
    ),
    "medium teaser link removed": (
        "medium-teaser",
        BODY + f'<p class="medium-feed-link">{a(LINK, "Continue reading on Medium »")}</p>',
        KEPT,
        True,
    ),
    "medium teaser text without its class removed": (
        "medium-teaser",
        BODY + f"<p>{a(LINK, 'Continue reading on Medium »')}</p>",
        KEPT,
        True,
    ),
    "medium: a paragraph about reading on Medium is kept": (
        "medium-teaser",
        BODY + "<p>Continue reading on Medium if you like long essays.</p>",
        KEPT + "<p>Continue reading on Medium if you like long essays.</p>",
        False,
    ),
    "substack subscribe widget and button removed": (
        "substack-widget",
        BODY + '<div class="subscription-widget-wrap"><p>Thanks for reading!</p>'
        '<form><input type="email"></form></div><p class="button-wrapper">'
        '<a class="button primary" href="https://x.substack.com/subscribe?utm_source=substack'
        '&utm_medium=email"><span>Subscribe now</span></a></p>',
        KEPT,
        True,
    ),
    "substack share link removed": (
        "substack-widget",
        BODY + '<p><a href="https://x.substack.com/p/post?utm_source=substack&utm_medium=email'
        '&utm_content=share&action=share"><span>Share</span></a></p>',
        KEPT,
        True,
    ),
    "substack: a link to a substack post is kept": (
        "substack-widget",
        BODY + f"<p>See {a('https://x.substack.com/p/post', 'her essay')}.</p>",
        KEPT + f"<p>See {kept_a('https://x.substack.com/p/post', 'her essay')}.</p>",
        False,
    ),
    "feedflare removed": (
        "feedflare",
        BODY + '<div class="feedflare"><a href="http://feeds.feedburner.com/~ff/Blog?a=x">'
        '<img src="http://feeds.feedburner.com/~ff/Blog?d=y" border="0"></a></div>',
        KEPT,
        True,
    ),
    "feedflare: a link to a feedburner feed is kept": (
        "feedflare",
        BODY + f"<p>Subscribe at {a('http://feeds.feedburner.com/Blog', 'our feed')}.</p>",
        KEPT + f"<p>Subscribe at {kept_a('http://feeds.feedburner.com/Blog', 'our feed')}.</p>",
        False,
    ),
    "feedburner ad link and doubleclick ad removed": (
        "feedburner-ad",
        BODY + '<p><a href="http://feeds.feedburner.com/~a/Blog?a=1">'
        '<img src="http://feeds.feedburner.com/~a/Blog?i=1"></a>'
        '<a href="http://feedads.g.doubleclick.net/~a/x/0/da">'
        '<img src="http://feedads.g.doubleclick.net/~a/x/0/di" border="0"></a></p>',
        KEPT,
        True,
    ),
    "feedburner: a click-tracked article link is kept": (
        "feedburner-ad",
        BODY + f"<p>{a('http://feeds.feedburner.com/~r/Blog/~3/abc/post', 'The story')}</p>",
        KEPT + f"<p>{kept_a('http://feeds.feedburner.com/~r/Blog/~3/abc/post', 'The story')}</p>",
        False,
    ),
    "wordpress.com share links removed": (
        "wordpress-share",
        BODY
        + '<a rel="nofollow" href="http://feeds.wordpress.com/1.0/gocomments/b.wordpress.com/1/">'
        '<img alt="" src="http://feeds.wordpress.com/1.0/comments/b.wordpress.com/1/"></a> '
        '<a href="http://feeds.wordpress.com/1.0/gofacebook/b.wordpress.com/1/">'
        '<img src="http://feeds.wordpress.com/1.0/facebook/b.wordpress.com/1/"></a>',
        KEPT,
        True,
    ),
    "wordpress.com: a link to a blog is kept": (
        "wordpress-share",
        BODY + f"<p>{a('https://b.wordpress.com/2025/01/x/', 'Her post')} says so.</p>",
        KEPT + f"<p>{kept_a('https://b.wordpress.com/2025/01/x/', 'Her post')} says so.</p>",
        False,
    ),
    "feedsportal ad and viral box removed": (
        "feedsportal-ad",
        BODY + '<div class="mf-viral"><table><tr><td>'
        '<a href="http://res.feedsportal.com/viral/sendemail2.html">Email</a></td></tr></table>'
        '</div><a href="http://da.feedsportal.com/r/1/1.htm"><img src="https://img.example/a.png">'
        "</a>",
        KEPT,
        True,
    ),
    "feedsportal: text naming it is kept": (
        "feedsportal-ad",
        BODY + "<p>Feedsportal closed in 2016.</p>",
        KEPT + "<p>Feedsportal closed in 2016.</p>",
        False,
    ),
    "jetpack share bar removed": (
        "share-bar",
        BODY + '<div class="sharedaddy sd-sharing-enabled"><h3>Share this:</h3><ul><li>'
        f"{a(LINK + '?share=twitter', 'Twitter')}</li></ul></div>",
        KEPT,
        True,
    ),
    "addtoany share bar removed": (
        "share-bar",
        BODY + '<p class="addtoany_share_save_container addtoany_content">'
        '<a href="https://www.addtoany.com/share#url=x"><img src="https://static.addtoany.com/'
        'buttons/share_save_171_16.png" alt="Share"></a></p>',
        KEPT,
        True,
    ),
    "share-intent links removed anywhere": (
        "share-bar",
        "<p>Article text stays."
        + a("https://twitter.com/intent/tweet?url=x", "Tweet")
        + a("https://www.facebook.com/sharer/sharer.php?u=x", "Share")
        + a("mailto:?subject=x&body=y", "Email")
        + "</p>",
        KEPT,
        True,
    ),
    "social icon row removed": (
        "share-bar",
        BODY + f"<p>{a('https://www.facebook.com/acme', 'Facebook')} | "
        f"{a('https://twitter.com/acme', 'Twitter')} | {a('https://acme.example/x', 'Email')}</p>",
        KEPT,
        True,
    ),
    "social: a closing link to a thread is kept": (
        "share-bar",
        BODY + f"<p>{a('https://twitter.com/jane/status/1', 'Jane on the launch')} and "
        f"{a('https://www.linkedin.com/in/jane', 'her profile')}</p>",
        KEPT + f"<p>{kept_a('https://twitter.com/jane/status/1', 'Jane on the launch')} and "
        f"{kept_a('https://www.linkedin.com/in/jane', 'her profile')}</p>",
        False,
    ),
    "social: a mailto to a person is kept": (
        "share-bar",
        BODY + f"<p>Write to {a('mailto:jane@example.org', 'Jane')}.</p>",
        KEPT + f"<p>Write to {kept_a('mailto:jane@example.org', 'Jane')}.</p>",
        False,
    ),
    "continue reading block removed": (
        "read-more-tail",
        BODY + f"<p>{a(LINK, 'Continue reading &rarr;')}</p>",
        KEPT,
        True,
    ),
    "read more link ending a paragraph removed, the paragraph kept": (
        "read-more-tail",
        f"<p>Article text stays. {a(LINK, 'Read more')}</p>",
        KEPT,
        True,
    ),
    "trailing loose continue reading link removed": (
        "read-more-tail",
        BODY + f" {a(LINK, 'Continue reading&hellip;')}",
        KEPT,
        True,
    ),
    "read more in a sentence is kept": (
        "read-more-tail",
        BODY + f"<p>You can {a(LINK, 'read more')}</p>",
        KEPT + f"<p>You can {kept_a(LINK, 'read more')}</p>",
        False,
    ),
    "read more as plain text in a last sentence is kept": (
        "read-more-tail",
        BODY + "<p>Read more.</p>",
        KEPT + "<p>Read more.</p>",
        False,
    ),
    "a read more link alone is kept": (
        "read-more-tail",
        f"<p>{a(LINK, 'Read more')}</p>",
        f"<p>{kept_a(LINK, 'Read more')}</p>",
        False,
    ),
    "newsletter sign-up removed": (
        "newsletter-signup",
        BODY + "<p>Sign up for our weekly newsletter to get stories like this.</p>",
        KEPT,
        True,
    ),
    "newsletter: an article about newsletters keeps its paragraphs": (
        "newsletter-signup",
        "<p>Subscribe to our newsletter, the banner said.</p>" + BODY,
        "<p>Subscribe to our newsletter, the banner said.</p>" + KEPT,
        False,
    ),
    "related posts list with its heading removed": (
        "related-posts",
        BODY + f"<h3>You may also like</h3><ul><li>{a(LINK, 'One')}</li><li>{a(LINK, 'Two')}"
        "</li></ul>",
        KEPT,
        True,
    ),
    "inline related posts removed": (
        "related-posts",
        BODY + f"<p><strong>Related posts: </strong>{a(LINK, 'One')}<strong>, </strong>"
        f"{a(LINK, 'Two')}</p>",
        KEPT,
        True,
    ),
    "yarpp related block removed": (
        "related-posts",
        BODY + f'<div class="yarpp-related-rss"><p>{a(LINK, "One")}</p></div>',
        KEPT,
        True,
    ),
    "related: a list of links after an ordinary heading is kept": (
        "related-posts",
        BODY + f"<h3>Sources</h3><ul><li>{a(LINK, 'One')}</li></ul>",
        KEPT + f"<h3>Sources</h3><ul><li>{kept_a(LINK, 'One')}</li></ul>",
        False,
    ),
    "br runs collapsed, end breaks removed": (
        "br-run",
        "<br><p>Article text stays.</p>one<br><br><br><br>two<hr><br><hr><br>",
        "<p>Article text stays.</p>one<br><br>two",
        True,
    ),
    "a double br is kept": (
        "br-run",
        "<p>Article text stays.<br><br>More text.</p>",
        "<p>Article text stays.<br><br>More text.</p>",
        False,
    ),
    "first heading repeating the title removed": (
        "title-repeat-heading",
        "<h2>An Article Title!</h2>" + BODY,
        KEPT,
        True,
    ),
    "first bold-only block repeating the title removed": (
        "title-repeat-heading",
        "<div><p><strong>an article  title</strong></p>" + BODY + "</div>",
        "<div>" + KEPT + "</div>",
        True,
    ),
    "a heading that differs from the title is kept": (
        "title-repeat-heading",
        "<h2>An article title, part two</h2>" + BODY,
        "<h2>An article title, part two</h2>" + KEPT,
        False,
    ),
    "a title heading that is all there is is kept": (
        "title-repeat-heading",
        "<h2>An article title</h2>",
        "<h2>An article title</h2>",
        False,
    ),
}

# name: (rule id, title, site, expected title, removed by that rule?)
TITLE_CASES: dict[str, tuple[str, str, str | None, str, bool]] = {
    "site suffix after a bar removed": (
        "title-site-name",
        "Rust 2.0 is out | The Daily Example",
        "The Daily Example",
        "Rust 2.0 is out",
        True,
    ),
    "site suffix after a dash, compared without case and punctuation": (
        "title-site-name",
        "Rust 2.0 is out — the daily example!",
        "The Daily Example",
        "Rust 2.0 is out",
        True,
    ),
    "site prefix with a colon removed": (
        "title-site-name",
        "Daily Example: Rust 2.0 is out",
        "Daily Example",
        "Rust 2.0 is out",
        True,
    ),
    "a suffix that is not the site is kept": (
        "title-site-name",
        "Rust 2.0 is out | Part 2",
        "The Daily Example",
        "Rust 2.0 is out | Part 2",
        False,
    ),
    "a site strip leaving under three words is not made": (
        "title-site-name",
        "Rust 2.0 | The Daily Example",
        "The Daily Example",
        "Rust 2.0 | The Daily Example",
        False,
    ),
    "NextImg prefix removed": (
        "title-junk-prefix",
        "NextImg:Putin’s Real Motivation",
        None,
        "Putin’s Real Motivation",
        True,
    ),
    "a junk prefix strip leaving under three words is not made": (
        "title-junk-prefix",
        "NextImg: Motivation",
        None,
        "NextImg: Motivation",
        False,
    ),
}


@pytest.mark.parametrize(
    ("rule", "html", "expected", "removed"), HTML_CASES.values(), ids=HTML_CASES
)
def test_catalogue_html(rule: str, html: str, expected: str, removed: bool) -> None:
    cleaned = entry(html)
    assert cleaned.content == expected
    assert (rule in {r.rule for r in cleaned.removals}) is removed
    assert "Article text stays" in cleaned.text or not removed


@pytest.mark.parametrize(
    ("rule", "title", "site", "expected", "removed"), TITLE_CASES.values(), ids=TITLE_CASES
)
def test_catalogue_title(
    rule: str, title: str, site: str | None, expected: str, removed: bool
) -> None:
    cleaned = entry(BODY, title=title, site=site)
    assert cleaned.title == expected
    assert (rule in {r.rule for r in cleaned.removals}) is removed


@pytest.mark.parametrize("case", [*HTML_CASES.values(), *TITLE_CASES.values()])
def test_catalogue_case_cleans_to_itself(case: tuple[Any, ...]) -> None:
    site = None if len(case) == 4 else case[2]
    first = entry(case[1]) if site is None and len(case) == 4 else entry(BODY, case[1], site)
    second = entry(first.content, title=first.title, site=site)
    assert (second.content, second.title, second.text) == (first.content, first.title, first.text)
    assert second.removals == ()


# name: (rule id, content HTML, categories, expected content HTML, removed by that rule?)
LABEL_CASES: dict[str, tuple[str, str, tuple[str, ...], str, bool]] = {
    "category-label-above-the-article": (
        C.CATEGORY_LABEL,
        "<div>Energy</div><div>ENERGY</div>" + BODY,
        ("Energy", "Markets"),
        KEPT,
        True,
    ),
    "category-label-first-line-of-loose-text": (
        C.CATEGORY_LABEL,
        "Markets<br>" + BODY,
        ("Markets",),
        KEPT,
        True,
    ),
    "category-word-inside-the-article-kept": (
        C.CATEGORY_LABEL,
        BODY + "<p>Energy</p>",
        ("Energy",),
        BODY + "<p>Energy</p>",
        False,
    ),
    "first-line-only-mentioning-the-category-kept": (
        C.CATEGORY_LABEL,
        "<p>Energy prices rose again.</p>" + BODY,
        ("Energy",),
        "<p>Energy prices rose again.</p>" + BODY,
        False,
    ),
}


@pytest.mark.parametrize(
    ("rule", "html", "categories", "expected", "removed"), LABEL_CASES.values(), ids=LABEL_CASES
)
def test_catalogue_category_labels(
    rule: str, html: str, categories: tuple[str, ...], expected: str, removed: bool
) -> None:
    parsed = replace(parse_entry(html), categories=categories)
    cleaned = clean_entry(parsed, CleanRules())
    assert cleaned.content == expected
    assert (rule in {r.rule for r in cleaned.removals}) is removed
    again = clean_entry(replace(parsed, content=cleaned.content), CleanRules())
    assert again.content == cleaned.content


def test_every_rule_is_described_and_has_cases() -> None:
    cases = [*HTML_CASES.values(), *TITLE_CASES.values(), *LABEL_CASES.values()]
    tested = {case[0] for case in cases}
    assert len(RULES) == len(CATALOGUE)  # ids are unique
    for rule in CATALOGUE:
        assert rule.description.strip(), rule.id
        assert rule.id in tested, f"{rule.id} has no test case"
    positive = {case[0] for case in cases if case[-1]}
    negative = {case[0] for case in cases if not case[-1]}
    assert positive == negative == set(RULES)


def test_heading_repeating_a_site_stripped_title_is_removed() -> None:
    cleaned = entry("<h1>Rust 2.0 is out</h1>" + BODY, "Rust 2.0 is out | Example", "Example")
    assert (cleaned.title, cleaned.content) == ("Rust 2.0 is out", KEPT)


# Catalogue cases, their parts and look-alikes, in any order and nesting.
PIECES = st.sampled_from(
    [case[1] for case in HTML_CASES.values()]
    + ["<h2>An article title</h2>", "<p><strong>An article title</strong></p>", "<br>", "<hr>"]
    + ["<div>", "</div>", "<p>", "</p>", "Loose text. ", "<p>Plain words.</p>", "<ul><li>"]
    + [f"<p>{a(LINK, 'Read more')}</p>", f" {a(LINK, 'Continue reading')}", "<h3>Related:</h3>"]
    + [f"<p>{a('https://twitter.com/x', 'Twitter')} {a('https://fb.com/x', 'Facebook')}</p>"]
)
TITLES = st.sampled_from(["An article title", "", "Read more", "Plain words", "NextImg: a b c"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=8).map("".join), TITLES, st.sampled_from([None, "Example"]))
def test_catalogue_cleaning_is_idempotent(html: str, title: str, site: str | None) -> None:
    first = entry(html, title, site)
    second = entry(first.content, first.title, site)
    assert (second.content, second.title, second.text) == (first.content, first.title, first.text)
