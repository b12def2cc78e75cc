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
