"""Local files as sources (absolute paths and file:// URLs); no HTTP."""

from __future__ import annotations

import email.utils
import os
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import xxhash

from ..errors import FetchError
from ..models import FetchResult, FetchStatus, Validators
from .reasons import size_text


def is_local(location: str) -> bool:
    return location.startswith("file:") or os.path.isabs(location)


def fetch_file(location: str, validators: Validators, cap: int) -> FetchResult:
    """Read a local feed; "unchanged" when its bytes hash as last time."""
    started = time.monotonic()
    path = Path(url2pathname(urlsplit(location).path) if location.startswith("file:") else location)
    try:
        with path.open("rb") as handle:
            modified = email.utils.formatdate(os.fstat(handle.fileno()).st_mtime, usegmt=True)
            body = handle.read(cap + 1)  # one byte more tells "exactly cap" from "too big"
    except FileNotFoundError as exc:
        raise FetchError(location, f"file not found: {path}") from exc
    except OSError as exc:
        raise FetchError(location, f"cannot read file {path}: {exc.strerror}") from exc
    if len(body) > cap:
        raise FetchError(location, f"body exceeds {size_text(cap)}")
    digest = xxhash.xxh3_128_hexdigest(body)
    status: FetchStatus = "unchanged" if digest == validators.body_hash else "ok"
    elapsed = time.monotonic() - started
    kept = body if status == "ok" else None
    return FetchResult(
        location, location, status, None, kept, {}, Validators(None, modified, digest), elapsed
    )
