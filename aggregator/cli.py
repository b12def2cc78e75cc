"""Command line: parses arguments, maps errors to exit codes. No logic of its own.

Exit codes: 0 success; 1 a runtime failure (store, publish); 2 an invalid config or usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from . import __version__
from .config import Config, load_config
from .errors import AggregatorError, ConfigError
from .models import PollResult

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator", description="Poll feeds, clean and deduplicate, republish per topic."
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("check", "validate the config; exit 0, or 2 with messages"),
        ("once", "poll every source once, publish, exit"),
        ("run", "run the daemon: scheduler and HTTP server"),
        ("status", "the sources: state, errors, last success, next poll"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "-c", "--config", type=Path, default=Path("config.yaml"), help="default: ./config.yaml"
        )
        command.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="log every poll, and the libraries' own INFO lines",
        )
    explain = commands.add_parser(
        "explain", help="what cleaning removed from an entry, or learned of a source"
    )
    explain.add_argument(
        "-c", "--config", type=Path, default=Path("config.yaml"), help="default: ./config.yaml"
    )
    what = explain.add_mutually_exclusive_group(required=True)
    what.add_argument("entry", nargs="?", help="an entry's output id, link or guid")
    what.add_argument("--source", metavar="NAME", help="a source's name, feed title or URL")
    explain.set_defaults(verbose=False)
    unmerge = commands.add_parser(
        "unmerge", help="split a duplicate off the story it was merged into"
    )
    unmerge.add_argument(
        "-c", "--config", type=Path, default=Path("config.yaml"), help="default: ./config.yaml"
    )
    unmerge.add_argument("entry", help="the duplicate's output id, link or guid")
    unmerge.set_defaults(verbose=False)
    importing = commands.add_parser(
        "import-opml", help="add an OPML list's feeds to config.yaml as sources"
    )
    importing.add_argument(
        "-c", "--config", type=Path, default=Path("config.yaml"), help="default: ./config.yaml"
    )
    importing.add_argument("file", type=Path, help="the OPML file")
    importing.add_argument(
        "--topic", help="topic of feeds whose OPML folder or category names no topic"
    )
    importing.set_defaults(verbose=False)
    exporting = commands.add_parser("export-opml", help="the sources as an OPML list")
    exporting.add_argument(
        "-c", "--config", type=Path, default=Path("config.yaml"), help="default: ./config.yaml"
    )
    exporting.add_argument("-o", "--output", type=Path, help="write here, not to stdout")
    exporting.set_defaults(verbose=False)
    return parser


def _setup_logging(daemon: bool, verbose: bool) -> None:
    """Our INFO lines for the daemon or with -v; other libraries' only with -v."""
    logging.basicConfig(
        level=logging.INFO if daemon or verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # their INFO lines (every job run, every migration step) drown ours
        for noisy in ("apscheduler", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # A tick that runs long (a big poll, a locked store) makes the scheduler skip the
        # next ones with a warning each, every 2 s while it lasts: expected, not news.
        # A job that raises is still logged (`apscheduler.executors`, ERROR).
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


def cmd_check(config: Config) -> int:
    print(
        f"ok: {len(config.sources)} sources, {len(config.topics)} topics; "
        f"feeds in {config.output_dir}"
    )
    return EXIT_OK


def cmd_once(config: Config) -> int:
    from .app import open_app

    now = datetime.now(UTC)
    with open_app(config, now) as app:
        sources = app.store.sources()
        if sys.stdout.isatty():  # a person watching: a progress bar, problems above it
            progress = Progress(len(sources), sys.stdout)
            app.pipeline.poll(sources, now, on_result=progress.add)
            progress.finish()
        else:  # a log or another program: one plain line per source
            app.pipeline.poll(sources, now, on_result=_print_line)
        app.pipeline.publish(datetime.now(UTC))
    return EXIT_OK


def _print_line(result: PollResult) -> None:
    print(result.line(), flush=True)


class Progress:
    """A one-line progress bar over a poll's sources, redrawn at most ten times a
    second; the line of a source that failed or warned is printed above it."""

    WIDTH = 30

    def __init__(self, total: int, out: TextIO, clock: Callable[[], float] = time.monotonic):
        self.total, self.out, self.clock = total, out, clock
        self.started = self._drawn = clock()
        self.done = 0
        self.counts: dict[str, int] = {}
        self.new = 0
        self._draw()

    def add(self, result: PollResult) -> None:
        self.done += 1
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        self.new += result.new
        if result.status in ("error", "gone") or result.warning:
            self.out.write("\r\x1b[K" + result.line() + "\n")
            self._draw()
        elif self.clock() - self._drawn >= 0.1 or self.done == self.total:
            self._draw()

    def finish(self) -> None:
        self._draw()
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in sorted(self.counts.items())]
        self.out.write(
            f"\n{self.done} sources: {', '.join(parts) or 'none'}; {self.new} new entries "
            f"in {self.clock() - self.started:.1f}s\n"
        )
        self.out.flush()

    def _draw(self) -> None:
        self._drawn = self.clock()
        share = self.done / self.total if self.total else 1.0
        filled = round(share * self.WIDTH)
        errors = self.counts.get("error", 0) + self.counts.get("gone", 0)
        self.out.write(
            f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} sources"
            f"{f', {errors} failed' if errors else ''}, {self.clock() - self.started:.0f}s\x1b[K"
        )
        self.out.flush()


def cmd_explain(config: Config, entry: str | None, source: str | None) -> int:
    from .explain import explain_entry, explain_source, learn_settings
    from .store import Store

    store = Store(config.storage_url)
    try:
        settings = learn_settings(config)
        if source is not None:
            lines = list(explain_source(store, source, settings))
        else:
            assert entry is not None
            lines = list(explain_entry(store, entry, settings))
    finally:
        store.close()
    print("\n".join(lines))
    return EXIT_OK


def cmd_unmerge(config: Config, entry: str) -> int:
    """Split the entry off its story, then republish the topics it changed."""
    from .app import open_app
    from .explain import unmerge

    now = datetime.now(UTC)
    with open_app(config, now) as app:
        lines = list(unmerge(app.store, entry, now))
        app.pipeline.publish(datetime.now(UTC))
    print("\n".join(lines))
    return EXIT_OK


def cmd_import_opml(config_path: Path, file: Path, topic: str | None) -> int:
    from .config_edit import add_sources
    from .opml import read_opml

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    done = add_sources(config_path, read_opml(data, str(file)), topic)
    for url in done.added:
        print(f"added {url}")
    for url, why in done.skipped:
        print(f"skipped {url}: {why}")
    print(f"{len(done.added)} added, {len(done.skipped)} skipped; {config_path} updated"
          if done.added else f"nothing added; {config_path} unchanged")  # fmt: skip
    return EXIT_OK


def cmd_export_opml(config: Config, output: Path | None) -> int:
    from .app import subscriptions
    from .opml import export_opml
    from .store import Store

    store = Store(config.storage_url)
    try:
        data = export_opml(subscriptions(config, store), datetime.now(UTC))
    finally:
        store.close()
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
    return EXIT_OK


def cmd_status(config: Config) -> int:
    from .status import source_lines
    from .store import Store

    store = Store(config.storage_url)
    try:
        lines = source_lines(store.sources(), datetime.now(UTC))
    finally:
        store.close()
    print("\n".join(lines))
    return EXIT_OK


def cmd_run(config_path: Path, config: Config) -> int:
    from .daemon import Daemon

    return Daemon(config_path, config).run()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.command == "run", args.verbose)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "check":
            return cmd_check(config)
        if args.command == "once":
            return cmd_once(config)
        if args.command == "explain":
            return cmd_explain(config, args.entry, args.source)
        if args.command == "unmerge":
            return cmd_unmerge(config, args.entry)
        if args.command == "status":
            return cmd_status(config)
        if args.command == "import-opml":
            return cmd_import_opml(args.config, args.file, args.topic)
        if args.command == "export-opml":
            return cmd_export_opml(config, args.output)
        return cmd_run(args.config, config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except AggregatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
