"""Command line: parses arguments, maps errors to exit codes. No logic of its own.

Exit codes: 0 success; 1 a runtime failure (store, publish); 2 an invalid config or usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

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
        app.pipeline.poll(app.store.sources(), now, on_result=_print_line)
        app.pipeline.publish(datetime.now(UTC))
    return EXIT_OK


def _print_line(result: PollResult) -> None:
    print(result.line(), flush=True)


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
        return cmd_run(args.config, config)
    except AggregatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
