"""Digests of feedparser's results over files, for comparing feedparser as it ships
with feedparser as `aggregator.parse` speeds it up (tests/test_parse.py).

Run as a script it uses feedparser as it ships: `python -m tests.feedparser_dump
FILE...` prints one digest per file, as JSON. Imported, `digest` uses whatever
feedparser the importing process has.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import feedparser
import xxhash

HEADERS = {"content-type": "application/xml", "content-location": "https://corpus.example/f"}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, time.struct_time):
        return list(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def digest(body: bytes) -> str:
    """A digest of everything feedparser returns for `body` (called as the parse
    stage calls it), or the name of the exception it raised."""
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=dict(HEADERS),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # the name is what we compare
        return f"raised {type(exc).__name__}"
    kept = {k: result.get(k) for k in ("bozo", "encoding", "version", "feed", "entries")}
    kept["bozo_exception"] = repr(result.get("bozo_exception"))
    return xxhash.xxh3_64_hexdigest(json.dumps(_plain(kept)).encode("utf-8", "surrogatepass"))


if __name__ == "__main__":
    print(json.dumps([digest(Path(name).read_bytes()) for name in sys.argv[1:]]))
