"""The clean stage's rule catalogue as data: what is removed and the id it is recorded under.

No tree or text code lives here; `html.py` and `text.py` apply these rules. Every
`Removal` names one of these ids (or an operator rule by its config index), so a
reader can always find out why something disappeared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .filters import EntryFilter, SelectorRule


class OperatorRules(Protocol):
    """The operator's rules as configured (`config.Rules`, or the plain copy the
    pipeline sends to worker processes, which never load the config's models)."""

    @property
    def drop_blocks(self) -> Sequence[re.Pattern[str]]: ...

    @property
    def title_strip(self) -> Sequence[re.Pattern[str]]: ...


@dataclass(frozen=True, slots=True)
class UrlRule:
    """An image whose absolute, tracking-stripped `src` matches `pattern` is removed."""

    id: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class TextRule:
    """A match of `pattern` (re.search) in some text: a leaf block, or a part of a title."""

    id: str
    pattern: re.Pattern[str]


# Rule ids recorded by the tree pass (tracker images add `tracker-image:<name>`).
UNSAFE_LINK = "unsafe-link"  # an href that is not http(s)/mailto, or relative without a base
UNSAFE_IMAGE = "unsafe-image"  # an img without a usable absolute http(s) src
PIXEL_IMAGE = "pixel-image"  # 0/1-pixel images are beacons, never illustrations
HIDDEN_ELEMENT = "hidden-element"  # hidden in the source; sanitising drops `style`, un-hiding it
EMPTY_BLOCK = "empty-block"  # blocks left with no text and no image
TRUNCATED = "truncated-html"  # libxml2 gave up (nesting deeper than 256): the rest is lost

# Elements removed with their content. The sanitiser would strip most of these tags
# but keep their text (a script's source, a form's option labels): not content.
DROPPED_ELEMENTS: Mapping[str, str] = {
    **dict.fromkeys(
        ("script", "style", "template", "iframe", "frame", "frameset", "noframes"),
        "unsafe-element",
    ),
    **dict.fromkeys(
        ("object", "embed", "applet", "param", "base", "link", "meta"), "unsafe-element"
    ),
    **dict.fromkeys(
        ("input", "button", "select", "option", "optgroup", "textarea", "datalist", "output"),
        "form-control",
    ),
    **dict.fromkeys(
        ("svg", "math", "canvas", "audio", "video", "source", "track", "map", "area"),
        "unsupported-element",
    ),
    **dict.fromkeys(("head", "title", "col", "colgroup", "dialog"), "unsupported-element"),
}

# Known tracking pixels and share-button images injected by feed services.
TRACKER_IMAGES: tuple[UrlRule, ...] = tuple(
    UrlRule(f"tracker-image:{name}", re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        # ~r: per-item pixel, ~ff: "flare" share buttons, ~a/~at: ad slots
        (
            "feedburner",
            r"^https?://(?:feeds\d*\.feedburner\.com|feedproxy\.google\.com)/~(?:r|ff|a|at)/",
        ),
        ("wordpress", r"^https?://(?:stats\.wordpress\.com|pixel\.wp\.com)/"),
        ("wordpress-share", r"^https?://feeds\.wordpress\.com/1\.0/"),
        ("medium", r"^https?://medium\.com/_/stat"),
        ("feedsportal", r"^https?://(?:[\w-]+\.)*feedsportal\.com/"),
        ("blogger", r"^https?://(?:blogger\.googleusercontent\.com|www\.blogger\.com)/tracker/"),
        ("google-analytics", r"^https?://(?:www\.|ssl\.)?google-analytics\.com/"),
        ("quantserve", r"^https?://pixel\.quantserve\.com/"),
    )
)


def drop_block_rules(rules: OperatorRules) -> tuple[TextRule, ...]:
    """The operator's `drop_blocks`, each under the id of its position in the config."""
    return tuple(
        TextRule(f"operator:drop_blocks[{i}]", pattern)
        for i, pattern in enumerate(rules.drop_blocks)
    )


def title_strip_rules(rules: OperatorRules) -> tuple[TextRule, ...]:
    """The operator's `title_strip`, each under the id of its position in the config."""
    return tuple(
        TextRule(f"operator:title_strip[{i}]", pattern)
        for i, pattern in enumerate(rules.title_strip)
    )


@dataclass(frozen=True, slots=True)
class CleanRules:
    """An operator's rules as the clean stage applies them, with their ids: made once
    per source or feed, not per entry."""

    drop_blocks: tuple[TextRule, ...] = ()
    title_strip: tuple[TextRule, ...] = ()
    remove: tuple[SelectorRule, ...] = ()  # elements removed by CSS selector
    keep: tuple[EntryFilter, ...] = ()  # if any, an entry must match one to be published
    block: tuple[EntryFilter, ...] = ()  # an entry matching one is never published

    @classmethod
    def of(cls, rules: OperatorRules | CleanRules) -> CleanRules:
        if isinstance(rules, CleanRules):
            return rules
        from .filters import compile_selectors, entry_filters

        return cls(
            drop_block_rules(rules),
            title_strip_rules(rules),
            # Optional on the protocol: older callers and tests pass only the first two.
            compile_selectors(getattr(rules, "remove", ())),
            entry_filters("keep", getattr(rules, "keep", ())),
            entry_filters("block", getattr(rules, "block", ())),
        )
