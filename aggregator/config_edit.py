"""Edits of the operator's config.yaml that keep its comments, order and quoting:
`add_sources` (for `aggregator import-opml`). The edited file is validated as
`load_config` would before it replaces the old one (atomically); nothing is written
when the result would be invalid.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .config import Config, load_config
from .errors import ConfigError
from .opml import Subscription


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import did: the sources added, and the ones left out with the reason."""

    added: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


def add_sources(path: Path, subscriptions: Sequence[Subscription], topic: str | None) -> Imported:
    """Add each subscription not already in the config at `path` as a source, at the end
    of `sources`. Its topics are its OPML categories that name a topic (by id, or by
    title in any case), else `topic`; one with neither is skipped. ConfigError if
    `topic` is no topic of the config, or the result would not be a valid config."""
    config = load_config(path)
    if topic is not None and topic not in config.topics:
        raise ConfigError(f"--topic {topic}: no such topic in {path}")
    yaml = _yaml()
    document = yaml.load(path.read_text(encoding="utf-8"))
    existing = {source.url for source in config.sources}
    added: list[str] = []
    skipped: list[tuple[str, str]] = []
    entries = _sources_list(document)
    for sub in subscriptions:
        if sub.url in existing:
            skipped.append((sub.url, "already a source"))
            continue
        topics = _topics_for(sub, config) or ([topic] if topic else [])
        if not topics:
            where = ", ".join(sub.categories) or "none"
            skipped.append((sub.url, f"no topic (its categories: {where}); give --topic"))
            continue
        entry = CommentedMap()
        entry["url"] = sub.url
        if sub.title:
            entry["name"] = sub.title
        listed = CommentedSeq(topics)
        listed.fa.set_flow_style()
        entry["topics"] = listed
        entries.append(entry)
        existing.add(sub.url)
        added.append(sub.url)
    if added:
        _replace(path, yaml, document)
    return Imported(tuple(added), tuple(skipped))


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the operator wrote on one
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _sources_list(document: Any) -> CommentedSeq:
    if not isinstance(document, CommentedMap):
        raise ConfigError("the config is not a mapping")
    entries = document.get("sources")
    if entries is None or (isinstance(entries, list) and not entries):
        entries = CommentedSeq()
        document["sources"] = entries
    if not isinstance(entries, CommentedSeq):
        raise ConfigError("sources: not a list")
    return entries


def _topics_for(sub: Subscription, config: Config) -> list[str]:
    names = {topic_id.casefold(): topic_id for topic_id in config.topics}
    names.update((t.title.casefold(), topic_id) for topic_id, t in config.topics.items())
    found = []
    for category in sub.categories:
        topic_id = category if category in config.topics else names.get(category.casefold())
        if topic_id is not None and topic_id not in found:
            found.append(topic_id)
    return found


def _replace(path: Path, yaml: YAML, document: Any) -> None:
    """Write the document beside `path`, check it loads as a valid config, then put it
    in place with one rename (a reader sees the old file or the new, never a part)."""
    text = io.StringIO()
    yaml.dump(document, text)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text.getvalue())
            out.flush()
            os.fsync(out.fileno())
        load_config(temporary)  # relative paths resolve the same: same directory
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
