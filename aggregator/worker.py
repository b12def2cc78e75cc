"""The CPU-bound half of a poll, run in worker processes: parse a body, clean its entries.

`parse_and_clean` is the job; `WorkerPool` runs it in child processes (`serve` is their
main loop). Kept apart from `pipeline` so a worker process imports only the parse and
clean stages (not the store, HTTP client, publisher or config models): less memory per
worker, faster start. Importing this module is cheap: the stages load on first use,
so the polling process, which only submits jobs, never holds feedparser, lxml and nh3.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from queue import SimpleQueue
from typing import IO, TYPE_CHECKING, Any

from .errors import ParseError
from .models import CleanFeed

if TYPE_CHECKING:
    from .clean.filters import FilterSpec
    from .clean.learn import LearnSettings
    from .clean.rules import CleanRules, OperatorRules
    from .config import Learning, Rules

_HEADER = struct.Struct("!Q")  # the byte length of the pickle that follows
# A child runs `serve`, finding this very package first (whatever the parent's path).
_CHILD = "from aggregator.worker import serve; serve()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True, slots=True)
class PlainFilter:
    """A `keep` or `block` item (`config.Filter`) as plain values."""

    title: re.Pattern[str] | None = None
    content: re.Pattern[str] | None = None
    author: re.Pattern[str] | None = None
    category: re.Pattern[str] | None = None

    @classmethod
    def of(cls, spec: FilterSpec) -> PlainFilter:
        return cls(spec.title, spec.content, spec.author, spec.category)


@dataclass(frozen=True, slots=True)
class PlainRules:
    """An operator's rules (`config.Rules`) as plain values: what the pipeline sends to
    worker processes, which then need not load the config's models to unpickle them.
    CSS selectors travel as strings: a worker compiles them (`clean.filters`), since
    compiled XPath does not pickle."""

    drop_blocks: tuple[re.Pattern[str], ...] = ()
    title_strip: tuple[re.Pattern[str], ...] = ()
    remove: tuple[str, ...] = ()
    keep: tuple[PlainFilter, ...] = ()
    block: tuple[PlainFilter, ...] = ()

    @classmethod
    def of(cls, rules: Rules) -> PlainRules:
        return cls(
            drop_blocks=tuple(rules.drop_blocks),
            title_strip=tuple(rules.title_strip),
            remove=tuple(rules.remove),
            keep=tuple(PlainFilter.of(spec) for spec in rules.keep),
            block=tuple(PlainFilter.of(spec) for spec in rules.block),
        )


@dataclass(frozen=True, slots=True)
class PlainLearning:
    """The `learning` settings (`config.Learning`) as plain values, for workers."""

    min_entries: int
    min_support: int
    min_share: float
    max_removed_share: float
    window: int

    @classmethod
    def of(cls, learning: Learning) -> PlainLearning:
        return cls(
            learning.min_entries,
            learning.min_support,
            learning.min_share,
            learning.max_removed_share,
            learning.window,
        )

    def settings(self) -> LearnSettings:
        from .clean.learn import LearnSettings

        return LearnSettings(
            min_entries=self.min_entries,
            min_support=self.min_support,
            min_share=self.min_share,
            max_removed_share=self.max_removed_share,
            window=self.window,
        )


def parse_and_clean(
    body: bytes,
    url: str,
    headers: Mapping[str, str],
    rules: OperatorRules | CleanRules,
    memory: str | None = None,
    learning: LearnSettings | PlainLearning | None = None,
) -> CleanFeed:
    """Parse a fetched body and clean every entry, with its content hash set.

    With `learning` settings, `memory` (what was learned of the source before, as JSON,
    or None) is updated with this poll's entries and applied to them; the result
    carries the new memory when it changed. Raises ParseError for a body that is not a
    usable feed.
    """
    from .clean import CleanRules, clean_entries
    from .clean.learn import Memory
    from .clean.text import plain_text
    from .dedupe.hashing import content_hash
    from .dedupe.shingles import signature
    from .parse import parse_feed
    from .urls import story_url

    feed = parse_feed(body, url=url, headers=headers)
    if isinstance(learning, PlainLearning):
        learning = learning.settings()
    site = plain_text(feed.title)  # republished in atom:source: never markup
    old = Memory.from_json(memory) if learning is not None else None
    cleaned, learned = clean_entries(
        feed.entries, CleanRules.of(rules), site=site, memory=old, learning=learning
    )
    # Hashes, signatures and story URLs are made here, in parallel worker processes,
    # off the polling process's path (pure Python: see tests/conftest.py on what
    # workers may load).
    entries = tuple(
        replace(
            e,
            content_hash=content_hash(e.title, e.text),
            signature=signature(e.text),
            story_url=story_url(e.link),
        )
        for e in cleaned
    )
    new = learned.to_json() if learned is not None else None
    return CleanFeed(
        title=site,
        link=feed.link,
        subtitle=plain_text(feed.subtitle),
        entries=entries,
        warning=feed.warning,
        feed_id=_safe_id(feed.feed_id),
        memory=new if new != memory else None,
        hints=feed.hints,
    )


_SCRIPT_SCHEME = re.compile(r"\s*(?:javascript|vbscript|livescript|data)\s*:", re.IGNORECASE)


def _safe_id(feed_id: str | None) -> str | None:
    """The feed's own id for atom:source, unless it is a script URL a reader might
    turn into a link (the source's URL stands in then)."""
    return None if feed_id is None or _SCRIPT_SCHEME.match(feed_id) else feed_id


# --- the pool ----------------------------------------------------------------------

_Job = tuple[Future[CleanFeed], tuple[Any, ...]]


class WorkerPool(Executor):
    """Runs `parse_and_clean` in up to `size` child processes, started on first use and
    each fed by one thread of this process, over pipes (length-prefixed pickles).

    Not `ProcessPoolExecutor`: its children re-import the program's main script (for
    `aggregator` the CLI and its config models) and it needs a resource-tracker
    process, together some 40 MB more resident memory for two workers. A child that
    dies (a crash in a C library) fails its job with ParseError and is replaced; when
    this process dies, the children see their pipe close and exit.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._children: set[_Child] = set()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the worker processes running now (for monitoring and tests)."""
        with self._lock:
            return sorted(child.process.pid for child in self._children)

    def submit(  # type: ignore[override]
        self, fn: Callable[..., CleanFeed], /, *args: Any, **kwargs: Any
    ) -> Future[CleanFeed]:
        if fn is not parse_and_clean or kwargs:
            raise ValueError("WorkerPool runs parse_and_clean(*args) only")
        future: Future[CleanFeed] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a closed WorkerPool")
            self._jobs.put((future, args))
            if len(self._threads) < self.size:
                thread = threading.Thread(target=self._feed, name="parse-worker", daemon=True)
                thread.start()
                self._threads.append(thread)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        if cancel_futures:
            while not self._jobs.empty():
                job = self._jobs.get()
                if job is not None:
                    job[0].cancel()
        for _ in threads:
            self._jobs.put(None)  # one stop sign per thread, after the jobs left
        if wait:
            for thread in threads:
                thread.join()

    def _feed(self) -> None:
        child: _Child | None = None
        try:
            while (job := self._jobs.get()) is not None:
                future, args = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    child = child or self._start()
                    future.set_result(child.call(args))
                except _ChildDied as exc:
                    self._forget(exc.child)
                    child = None
                    future.set_exception(ParseError(str(exc)))
                except BaseException as exc:  # handed to the caller through the future
                    future.set_exception(exc)
        finally:
            if child is not None:
                child.close()
                self._forget(child)

    def _start(self) -> _Child:
        child = _Child()
        with self._lock:
            self._children.add(child)
        return child

    def _forget(self, child: _Child) -> None:
        with self._lock:
            self._children.discard(child)


class RemoteTraceback(Exception):
    """Where in the worker process an unexpected exception was raised."""

    def __str__(self) -> str:
        return f"\n\n{self.args[0]}"


class _ChildDied(Exception):
    def __init__(self, child: _Child, message: str) -> None:
        super().__init__(message)
        self.child = child


class _Child:
    """One worker process and its pipes; used by one thread at a time."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )

    def call(self, args: tuple[Any, ...]) -> CleanFeed:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            _send(self.process.stdin, pickle.dumps(args, pickle.HIGHEST_PROTOCOL))
            ok, value, trace = pickle.loads(_receive(self.process.stdout))
        except (OSError, EOFError) as exc:
            self.close()
            raise _ChildDied(
                self, f"parser process died ({_how(self.process.returncode)})"
            ) from exc
        if not ok:
            raise value from (RemoteTraceback(trace) if trace else None)
        assert isinstance(value, CleanFeed)
        return value

    def close(self) -> None:
        if self.process.stdin is not None:
            with suppress(OSError):
                self.process.stdin.close()  # the child's read ends: it exits
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _how(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit code {code}"


def _send(pipe: IO[bytes], data: bytes) -> None:
    pipe.write(_HEADER.pack(len(data)))
    pipe.write(data)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> bytes:
    header = pipe.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("pipe closed")
    (size,) = _HEADER.unpack(header)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError("pipe closed")
    return data


def serve() -> None:
    """A worker process's main loop: run each job read from stdin, write its outcome
    (a result, or the exception it raised) to stdout; exit when stdin closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    jobs, outcomes = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the protocol
    while True:
        try:
            args = pickle.loads(_receive(jobs))
        except EOFError:
            return
        try:
            outcome: tuple[bool, object, str | None] = (True, parse_and_clean(*args), None)
        except ParseError as exc:  # an expected outcome: no trace needed
            outcome = (False, exc, None)
        except Exception as exc:  # a bug: its trace goes along
            outcome = (False, exc, traceback.format_exc())
        _send(outcomes, _pickled(outcome))


def _pickled(outcome: tuple[bool, object, str | None]) -> bytes:
    try:
        return pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: keep its text
        _, value, trace = outcome
        return pickle.dumps((False, RuntimeError(repr(value)), trace), pickle.HIGHEST_PROTOCOL)
