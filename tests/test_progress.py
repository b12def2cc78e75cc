"""`aggregator once` on a terminal: a progress bar over sources; plain lines otherwise."""

from __future__ import annotations

import io
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from aggregator.cli import Progress
from aggregator.models import PollResult
from tests.feeds import ROOT


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_counts_sources_and_prints_problems_above_it() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(4, out, clock)
    clock.now += 1
    progress.add(PollResult("https://a/", "ok", new=2))
    clock.now += 1
    progress.add(PollResult("https://b/", "error", error="connection refused"))
    progress.add(PollResult("https://c/", "not_modified"))  # within 0.1 s: not redrawn
    clock.now += 1
    progress.add(PollResult("https://d/", "ok", new=1))
    progress.finish()
    text = out.getvalue()
    frames = [frame.removesuffix("\x1b[K") for frame in text.split("\r") if frame]
    assert frames[0] == "[" + "." * 30 + "] 0/4 sources, 0s"
    assert "[" + "#" * 8 + "." * 22 + "] 1/4 sources, 1s" in frames
    assert any(f.startswith("\x1b[Kerror https://b/ ") for f in frames)  # above the bar
    assert "[" + "#" * 30 + "] 4/4 sources, 1 failed, 3s" in text
    assert text.endswith("\n4 sources: 1 error, 1 not modified, 2 ok; 3 new entries in 3.0s\n")


def test_once_on_a_terminal_shows_the_bar(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    parent, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "aggregator.cli", "once", "-c", "config.yaml"],
        cwd=tmp_path, stdout=child, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(parent, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(parent)
    _, stderr = process.communicate(timeout=60)
    output = b"".join(chunks).decode()
    assert process.returncode == 0, stderr
    assert "\r[" in output and "] 3/3 sources" in output
    assert "3 sources: 3 ok;" in output
    assert "new=" not in output  # no plain lines on a terminal
