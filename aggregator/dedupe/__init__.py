"""Dedupe stage: content hashes, output ids, near-duplicate detection and the poll plan.
Pure: no IO, no clock.

Modules: `hashing` (the versioned content hash, output ids), `near` (near-duplicate
signatures, the LSH index and the pairwise verdict), `plan` (what a poll changes:
new entries, updates, and where each new entry goes in each topic).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .hashing import (
    EMPTY_HASH,
    HASH_VERSION,
    content_hash,
    hash_text,
    hash_version,
    is_dedupable,
    normalize_text,
    output_id,
)

# The rest serves the polling process (near-duplicate matching and the poll plan):
# loaded on first use, so a worker process that needs `content_hash` never loads it
# (see tests/conftest.py: worker processes stay small).
_LAZY = {
    "Doc": "near",
    "Match": "near",
    "NearSettings": "near",
    "best_match": "near",
    "Candidate": "plan",
    "DedupeSettings": "plan",
    "Demotion": "plan",
    "EntryUpdate": "plan",
    "KnownEntry": "plan",
    "NewEntry": "plan",
    "Placement": "plan",
    "PollInput": "plan",
    "PollPlan": "plan",
    "Rehash": "plan",
    "Root": "plan",
    "advance": "plan",
    "entry_dates": "plan",
    "entry_doc": "plan",
    "plan_poll": "plan",
    "story_of": "plan",
    "unique_by_key": "plan",
}

if TYPE_CHECKING:
    from .near import Doc, Match, NearSettings, best_match
    from .plan import (
        Candidate,
        DedupeSettings,
        Demotion,
        EntryUpdate,
        KnownEntry,
        NewEntry,
        Placement,
        PollInput,
        PollPlan,
        Rehash,
        Root,
        advance,
        entry_dates,
        entry_doc,
        plan_poll,
        story_of,
        unique_by_key,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EMPTY_HASH",
    "HASH_VERSION",
    "Candidate",
    "DedupeSettings",
    "Demotion",
    "Doc",
    "EntryUpdate",
    "KnownEntry",
    "Match",
    "NearSettings",
    "NewEntry",
    "Placement",
    "PollInput",
    "PollPlan",
    "Rehash",
    "Root",
    "advance",
    "best_match",
    "content_hash",
    "entry_dates",
    "entry_doc",
    "hash_text",
    "hash_version",
    "is_dedupable",
    "normalize_text",
    "output_id",
    "plan_poll",
    "story_of",
    "unique_by_key",
]
