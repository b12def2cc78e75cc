"""The systemd unit in packaging/: what it runs, how it restarts, reloads and stops."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "packaging" / "aggregator.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(UNIT)
    return parser


def test_the_unit_runs_the_daemon_and_restarts_it_on_failure() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["ExecStart"].split()[1:] == ["run", "-c", "/etc/aggregator/config.yaml"]
    assert service["ExecStart"].split()[0].endswith("/.venv/bin/aggregator")
    assert service["Restart"] == "on-failure"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # the daemon reloads on SIGHUP
    assert service["KillSignal"] == "SIGTERM"  # it finishes in-flight polls and exits 0
    assert service["User"] != "root"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit() -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, check=False
    )
    problems = [
        line for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "is not executable" not in line  # not installed on this machine
    ]  # fmt: skip
    assert problems == []
