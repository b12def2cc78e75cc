"""The built-in boilerplate catalogue: what feed services inject, as data with ids.

Each `Rule` names what it removes (`description`) and how it is recognised: class
tokens (an element carrying one goes with its content), link patterns (a link to
such a URL goes), image patterns, and text patterns that only apply to the leaf
blocks at the edges of a fragment (the first or last ones: footers, teasers and
sign-up calls sit there, while a sentence in the middle saying "read more" is
content). No tree or title code lives here: `html.py` and `text.py` apply these
rules, and the named cases in `tests/test_catalogue.py` show each one at work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Rule ids recorded by code that is not a pattern (structure, titles).
BR_RUN = "br-run"
TITLE_REPEAT_HEADING = "title-repeat-heading"
TITLE_SITE_NAME = "title-site-name"
TITLE_JUNK_PREFIX = "title-junk-prefix"
SHARE_BAR = "share-bar"
RELATED_POSTS = "related-posts"
READ_MORE_TAIL = "read-more-tail"
CATEGORY_LABEL = "category-label"


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of boilerplate: the id its removals are recorded under, and its signs.

    `links` and `images` match (case-insensitively) an http(s) href (as written) or an
    absolute src right after its `scheme://`: anchored there, they fail fast on the
    many links that are content;
    `tail_text` must match the whole whitespace-collapsed text of a trailing leaf block.
    """

    id: str
    description: str
    classes: tuple[str, ...] = ()
    links: str | None = None
    images: str | None = None
    tail_text: str | None = None


_FEEDBURNER = r"(?:feeds\d*\.feedburner\.com|feedproxy\.google\.com)/"
_SHARE_HOSTS = (
    r"(?:www\.)?facebook\.com/(?:sharer|share\.php|dialog/share)",
    r"(?:www\.)?(?:twitter|x)\.com/(?:intent/(?:tweet|retweet|like|favorite)\b|share\b|home\?status=)",
    r"(?:www\.)?linkedin\.com/(?:shareArticle|sharing/|cws/share)",
    r"(?:www\.|old\.)?reddit\.com/submit",
    r"(?:\w+\.)?pinterest\.\w+/pin/create",
    r"(?:api\.|web\.)?whatsapp\.com/send",
    r"wa\.me/\?",
    r"t\.me/share",
    r"(?:www\.)?tumblr\.com/(?:share|widgets/share)",
    r"news\.ycombinator\.com/submitlink",
    r"getpocket\.com/(?:save|edit)",
    r"(?:www\.)?addtoany\.com/(?:share|add_to)",
    r"static\.addtoany\.com/",
    r"(?:www\.)?(?:digg|stumbleupon|delicious)\.com/(?:submit|save|post)",
)

CATALOGUE: tuple[Rule, ...] = (
    Rule(
        "wordpress-appeared-first",
        'WordPress/Yoast footer: "The post <title> appeared first on <site>."',
        tail_text=r"the post .{1,300} appeared first on .{1,120}",
    ),
    Rule(
        "medium-footer",
        'Medium footer: "<title> was originally published in <publication> on Medium, '
        'where people are continuing the conversation…"',
        tail_text=r".{0,200}\bwas originally published in .{1,120} on medium, where people "
        r"are continuing the conversation\b.{0,120}",
    ),
    Rule(
        "medium-teaser",
        'Medium teaser link: "Continue reading on Medium »"',
        classes=("medium-feed-link",),
        tail_text=r"continue reading on medium\W*",
    ),
    Rule(
        "substack-widget",
        "Substack subscribe, share and comment buttons and widgets",
        classes=(
            "subscription-widget-wrap",
            "subscription-widget-wrap-editor",
            "subscription-widget",
            "subscribe-widget",
            "button-wrapper",
            "captioned-button-wrap",
        ),
        # Substack's own share links carry `action=share` (custom domains too).
        links=r"[\w.-]+\.substack\.com/subscribe\b|[^?#\s]*\?(?:[^#\s]*&)?action=share\b",
    ),
    Rule(
        "feedflare",
        "FeedBurner FeedFlare: the row of share and count links under each item",
        classes=("feedflare",),
        links=_FEEDBURNER + r"~ff/",
    ),
    Rule(
        "feedburner-ad",
        "FeedBurner and FeedAds advertising links and images",
        links=_FEEDBURNER + r"~a/|feedads\.g\.doubleclick\.net/",
        images=r"feedads\.g\.doubleclick\.net/",
    ),
    Rule(
        "wordpress-share",
        "WordPress.com share links (feeds.wordpress.com/1.0/gocomments, gofacebook, …)",
        links=r"feeds\.wordpress\.com/1\.0/go",
    ),
    Rule(
        "feedsportal-ad",
        "Feedsportal advertising links and its mf-viral share box",
        classes=("mf-viral",),
        links=r"(?:[\w-]+\.)*feedsportal\.com/(?:r|c)/",
    ),
    Rule(
        SHARE_BAR,
        "Share bars (Jetpack, AddToAny, ShareThis) and share-intent links to social networks",
        classes=(
            "sharedaddy",
            "sd-sharing-enabled",
            "sd-sharing",
            "sd-social",
            "addtoany_share_save_container",
            "addtoany_content",
            "a2a_kit",
            "a2a_dd",
            "sharethis-inline-share-buttons",
            "social-share",
            "share-buttons",
        ),
        links="|".join(_SHARE_HOSTS),
    ),
    Rule(
        READ_MORE_TAIL,
        'A trailing "Continue reading" / "Read more" / "Read the full article" link',
        tail_text=r"(?:continue reading|keep reading|read more|read on|more"
        r"|read the (?:full|whole|complete|entire) (?:article|story|post|piece|entry|review)"
        r"|read (?:the )?full (?:article|story|post)|full (?:article|story)"
        r"|read the rest(?: of (?:this|the) (?:article|story|post|entry))?)"
        r"(?: (?:on|at) [^.!?]{1,60})?",
    ),
    Rule(
        "newsletter-signup",
        'Newsletter sign-up calls ("Sign up for our newsletter", "Subscribe to our newsletter")',
        classes=("newsletter-signup", "mc4wp-form", "mailchimp-signup"),
        tail_text=r"(?:(?:sign up|subscribe|register)(?: now| today)?(?: for| to)"
        r"|get|join)(?: (?:our|my|the|this))?(?: [\w-]+){0,3} (?:newsletter|mailing list"
        r"|e-?mail list|e-?mail updates)\b.{0,160}",
    ),
    Rule(
        RELATED_POSTS,
        'Related-posts blocks ("Related posts:", "You may also like" and their links)',
        classes=(
            "yarpp-related",
            "yarpp-related-rss",
            "jp-relatedposts",
            "related-posts",
            "crp_related",
            "wp_rp_wrap",
        ),
    ),
    Rule(
        BR_RUN,
        "Runs of <br>/<hr> collapsed, and <br>/<hr> at either end of a fragment",
    ),
    Rule(
        TITLE_REPEAT_HEADING,
        "A first heading (or bold-only block) that repeats the entry's title",
    ),
    Rule(
        CATEGORY_LABEL,
        "Short lines at the head of an entry that only repeat one of its categories",
    ),
    Rule(
        TITLE_SITE_NAME,
        'The feed\'s own name around a title ("Title | Site", "Site: Title")',
    ),
    Rule(
        TITLE_JUNK_PREFIX,
        'Known junk title prefixes ("NextImg:")',
    ),
)

RULES: Mapping[str, Rule] = {rule.id: rule for rule in CATALOGUE}

# What the tree pass looks up: class token → rule id, one alternation per URL kind
# (the matching group's name is the rule's index), and the tail texts in order.
CLASS_RULES: Mapping[str, str] = {token: rule.id for rule in CATALOGUE for token in rule.classes}
_IDS = {f"{kind}{i}": rule.id for i, rule in enumerate(CATALOGUE) for kind in "re"}


def _alternation(patterns: Mapping[str, str | None], other: str = "") -> re.Pattern[str]:
    parts = "|".join(f"(?P<{name}>{pattern})" for name, pattern in patterns.items() if pattern)
    return re.compile(f"https?://(?:{parts}){other}", re.IGNORECASE)


_SHARE_INDEX = next(i for i, rule in enumerate(CATALOGUE) if rule.id == SHARE_BAR)
# An email share button is a mailto: without an address ("mailto:?subject=…&body=…").
LINK_PATTERN = _alternation(
    {f"r{i}": rule.links for i, rule in enumerate(CATALOGUE)}, rf"|(?P<e{_SHARE_INDEX}>mailto:\?)"
)
IMAGE_PATTERN = _alternation({f"r{i}": rule.images for i, rule in enumerate(CATALOGUE)})
TAIL_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (rule.id, re.compile(rule.tail_text, re.IGNORECASE | re.DOTALL))
    for rule in CATALOGUE
    if rule.tail_text
)


def rule_of(match: re.Match[str]) -> str:
    """The id of the rule whose pattern matched (`LINK_PATTERN.match`, `IMAGE_PATTERN.match`)."""
    assert match.lastgroup is not None
    return _IDS[match.lastgroup]


# A block heading a related-posts list, or opening an inline one ("Related: <a>…</a>").
RELATED_HEADING = re.compile(
    r"(?:related(?: posts| articles| stories| reading| content| links)?|you (?:may|might)"
    r" also like|more from [^.!?]{1,40}|read (?:also|next))\s*:?",
    re.IGNORECASE,
)
# Words a share-row link may say instead of pointing at a known share URL.
SHARE_WORDS = frozenset(
    [
        "share",
        "tweet",
        "email",
        "print",
        "facebook",
        "twitter",
        "x",
        "linkedin",
        "reddit",
        "pinterest",
        "whatsapp",
        "telegram",
        "tumblr",
        "pocket",
        "mastodon",
        "bluesky",
        "threads",
        "hacker",
        "news",
        "flipboard",
    ]
)
# Hosts of social networks: a block of nothing but links to these is a share/follow row.
SOCIAL_LINK = re.compile(
    r"^(?:https?://(?:[\w-]+\.)*(?:facebook\.com|fb\.com|twitter\.com|x\.com|linkedin\.com"
    r"|reddit\.com|pinterest\.\w+|whatsapp\.com|wa\.me|t\.me|tumblr\.com|instagram\.com)"
    r"(?:[/?#]|$)|mailto:)",
    re.IGNORECASE,
)
# Site names are compared without case, punctuation or extra whitespace.
TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|·|::|»|/)\s+")
SITE_PREFIX_SEPARATORS = re.compile(r"\s*:\s+|\s+\|\s+")  # "Site: Title", "Site | Title"
TITLE_JUNK_PREFIXES = re.compile(r"^(?:NextImg:|\[RSS\]|RSS:)\s*", re.IGNORECASE)
MIN_TITLE_WORDS = 3  # a catalogue strip never leaves a title shorter than this
