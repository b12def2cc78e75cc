"""What the operator sees: the sources table of `aggregator status` and the daemon's
status page at `/`. Pure: rows in, text or HTML out (everything from feeds escaped).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .config import Config
from .models import SourceRow
from .schedule import span_text
from .store.reads import TopicOverview


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the status page shows."""

    topics: Sequence[TopicOverview]
    sources: Sequence[SourceRow]
    now: datetime
    problems: Sequence[str] = ()  # config errors of a rejected reload, say


def source_lines(sources: Sequence[SourceRow], now: datetime) -> list[str]:
    """The sources as a terminal table, one line each, then what is worth a look."""
    header = ("STATUS", "ERRORS", "LAST SUCCESS", "NEXT POLL", "SOURCE")
    rows = [
        (
            row.status or "new",
            str(row.error_count),
            _ago(row.last_success_at, now),
            "never" if row.status == "gone" else _until(row.next_poll_at, now),
            row.name or row.title or row.url,
        )
        for row in sources
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
             for r in (header, *rows)]  # fmt: skip
    notes = [note for row in sources for note in _notes(row)]
    return [*lines, *(["", *notes] if notes else [])]


def _notes(row: SourceRow) -> list[str]:
    name = row.name or row.url
    notes = []
    if row.moved_to:
        notes.append(f"{name}: moved permanently to {row.moved_to} (update config.yaml)")
    if row.last_error and row.status in ("error", "gone"):
        notes.append(f"{name}: {row.last_error}")
    return notes


def status_page(config: Config, overview: Overview) -> bytes:
    """The HTML status page: topics with subscribe links (and feed autodiscovery),
    their stories and last update; every source with its state."""
    now = overview.now
    shown = [(t, _e(t.title), _e(f"/feeds/{t.id}.xml")) for t in overview.topics
             if t.id in config.topics]  # fmt: skip
    links = "".join(
        f'<link rel="alternate" type="application/atom+xml" title="{title}" href="{href}">'
        for _, title, href in shown
    )
    topic_rows = "".join(
        f'<tr><td><a href="{href}">{title}</a></td><td><code>{href}</code></td>'
        f"<td>{t.entries}</td><td>{_e(_ago(t.published_at, now))}</td></tr>"
        for t, title, href in shown
    )
    source_rows = "".join(
        f'<tr class="{_e(row.status or "new")}"><td>{_e(row.name or row.title or row.url)}'
        f"<br><small>{_e(row.url)}</small></td><td>{_e(row.status or 'new')}</td>"
        f"<td>{_e(_ago(row.last_success_at, now))}</td><td>{row.error_count}</td>"
        f"<td>{_e('never' if row.status == 'gone' else _until(row.next_poll_at, now))}</td>"
        f"<td>{_e(' '.join(_notes(row)))}</td></tr>"
        for row in overview.sources
    )
    problems = "".join(f"<li>{_e(p)}</li>" for p in overview.problems)
    failing = sum(1 for row in overview.sources if row.status in ("error", "gone"))
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>aggregator</title>{links}<style>{_STYLE}</style></head><body>"
        "<h1>aggregator</h1>"
        + (f'<section id="problems"><h2>Config problems</h2><ul>{problems}</ul>'
           "<p>The last valid config is still running.</p></section>" if problems else "")
        + f'<h2>Topics</h2><table id="topics"><tr><th>Topic</th><th>Subscribe</th>'
        f"<th>Stories</th><th>Updated</th></tr>{topic_rows}</table>"
        f'<h2>Sources <small>{len(overview.sources)}, {failing} failing</small></h2>'
        '<table id="sources"><tr><th>Source</th><th>Status</th><th>Last success</th>'
        f"<th>Errors</th><th>Next poll</th><th>Notes</th></tr>{source_rows}</table>"
        f'<p><a href="/opml">Subscriptions (OPML)</a> · <a href="/healthz">health</a></p>'
        "</body></html>"
    )  # fmt: skip
    return page.encode()


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
    "table{border-collapse:collapse;width:100%}td,th{padding:.3em .6em;text-align:left;"
    "border-bottom:1px solid #ddd;vertical-align:top}tr.error td,tr.gone td{color:#a00}"
    "small{color:#666}#problems{border:2px solid #a00;padding:0 1em}"
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _ago(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else f"{span_text((now - when).total_seconds())} ago"


def _until(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "now"
    seconds = (when - now).total_seconds()
    return "now" if seconds <= 0 else f"in {span_text(seconds)}"
