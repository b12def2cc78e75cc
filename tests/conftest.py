"""Shared fixtures. Keep this file small: stage-specific fixtures live in their test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.loopback import Loopback


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    """A started loopback HTTP server, stopped (threads joined) after the test."""
    with Loopback() as server:
        yield server


# The worker processes that parse and clean must not load numpy, scipy or datasketch,
# and the polling process never scipy or datasketch: importing datasketch pulls scipy,
# +64 MB of RSS and 0.6 s per process (measured), numpy alone +20 MB, while `make
# bench` holds its three processes under 200 MB together. So near-duplicate
# signatures and their index are pure Python (xxhash), made in the workers; datasketch
# is only a reference for tests and benchmarks.
WORKER_FORBIDDEN = ("numpy", "scipy", "datasketch")
MAIN_FORBIDDEN = ("scipy", "datasketch")
_WORKER_IMPORTS = (
    "import sys\n"
    "from aggregator.config import Rules\n"
    "from aggregator.worker import PlainRules, parse_and_clean\n"
    "body = b'<rss version=\"2.0\"><channel><title>t</title><item><title>a</title>'"
    " + b'<description>' + b'word ' * 80 + b'</description></item></channel></rss>'\n"
    "parse_and_clean(body, 'https://x.example/f', {}, PlainRules.of(Rules()))\n"
    f"print(' '.join(m for m in {WORKER_FORBIDDEN!r} if m in sys.modules))"
)
_MAIN_IMPORTS = (
    "import sys, aggregator.pipeline, aggregator.store, aggregator.dedupe.near,"
    " aggregator.dedupe.plan, aggregator.daemon\n"
    f"print(' '.join(m for m in {MAIN_FORBIDDEN!r} if m in sys.modules))"
)


def _loaded(code: str) -> str:
    import subprocess
    import sys

    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or (found.stderr.strip()[-300:] if found.returncode else "")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop at once, with the reason, when near-duplicate tests run and a process loads
    a module it must not (see WORKER_FORBIDDEN and MAIN_FORBIDDEN)."""
    if not any(item.path.name == "test_near.py" for item in session.items):
        return
    for where, code in (("worker", _WORKER_IMPORTS), ("polling process", _MAIN_IMPORTS)):
        if loaded := _loaded(code):
            pytest.exit(
                f"the {where} loads {loaded}: worker processes (parse_and_clean) must not "
                "import numpy, scipy or datasketch, the polling process never scipy or "
                "datasketch. datasketch costs +64 MB RSS and 0.6 s per process, numpy "
                "+20 MB, and the ingest benchmark must stay under 200 MB over 3 "
                "processes. Keep signatures and the index pure Python (xxhash is fine); use "
                "datasketch only in tests/bench as a reference. See tests/conftest.py.",
                returncode=3,
            )
