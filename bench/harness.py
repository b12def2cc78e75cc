"""Benchmark harness shared by run.py and peers.py: config, measured runs, baseline.

`measure` runs a command as a subprocess and reports its wall time, CPU time and the
peak of the RSS summed over its process tree (the aggregator starts parser worker processes),
sampled every 50 ms with psutil. `run_once` does that for `aggregator once` and tallies
its per-source stdout lines. `feedparser_baseline` times plain `feedparser.parse`
(default settings, one process) over the corpus bytes.

It does not generate or serve the corpus (generate.py, server.py) or print reports.
"""

from __future__ import annotations

import contextlib
import io
import resource
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml
from generate import Manifest, feed_path

BENCH_DIR = Path(__file__).resolve().parent
AGGREGATOR = Path(sys.executable).parent / "aggregator"
SAMPLE_EVERY = 0.05  # seconds between RSS samples
CHILDREN_EVERY = 5  # re-list the process tree every this many samples
MB = 1024 * 1024


@dataclass(frozen=True)
class Measured:
    """What one subprocess run cost."""

    wall: float  # seconds
    cpu: float  # user + system seconds summed over the process tree
    peak_rss: int  # bytes: the largest sum of RSS over the process tree seen at once
    peak_parts: tuple[int, ...]  # each process's RSS in that sample, the root first
    other_cpu: float  # CPU seconds every other process on the machine used meanwhile
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Tally:
    """Counts from `aggregator once` stdout: `STATUS URL new=N updated=N duplicates=N`."""

    statuses: Counter[str] = field(default_factory=Counter)
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        head, _, error = line.partition(" error=")
        parts = head.split()
        fields = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        if len(parts) < 2 or not {"new", "updated", "duplicates"} <= fields.keys():
            self.unparsed.append(line)
            return
        self.statuses[parts[0]] += 1
        self.new += int(fields["new"])
        self.updated += int(fields["updated"])
        self.duplicates += int(fields["duplicates"])
        if error or parts[0] == "error":
            self.errors.append(f"{parts[1]}: {error}")

    @property
    def sources(self) -> int:
        return sum(self.statuses.values())


@dataclass(frozen=True)
class OnceRun:
    measured: Measured
    tally: Tally


class _Sampler:
    """Samples a process tree: RSS sum (keeping the peak) and each process's CPU time."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.tree: list[psutil.Process] = [self.root]
        self.cpu: dict[int, float] = {}
        self.peak = 0
        self.peak_parts: tuple[int, ...] = ()
        self.ticks = 0

    def sample(self) -> None:
        if self.ticks % CHILDREN_EVERY == 0:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.tree = [self.root, *self.root.children(recursive=True)]
        self.ticks += 1
        parts = []
        for process in self.tree:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                with process.oneshot():
                    rss, times = process.memory_info().rss, process.cpu_times()
                parts.append(rss)
                self.cpu[process.pid] = times.user + times.system
        if sum(parts) > self.peak:
            self.peak, self.peak_parts = sum(parts), tuple(parts)


def _busy_cpu() -> float:
    """CPU seconds the whole machine has spent busy (all cores, since boot)."""
    times = psutil.cpu_times()
    busy: float = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    return busy


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], cwd: Path, timeout: float = 1800.0) -> Measured:
    """Run `command`, sampling its process tree; stdout/stderr go to files in `cwd`.

    CPU is the larger of two lower bounds: the last sample of each process (misses at
    most a sampling period per process) and getrusage of reaped children (misses
    workers reaped by an orphaned parent)."""
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before, own_before = _busy_cpu(), _own_cpu()
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        sampler = _Sampler(child.pid)
        while child.poll() is None:
            sampler.sample()
            if time.perf_counter() - started > timeout:
                child.kill()
            time.sleep(SAMPLE_EVERY)
        wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(reaped, sum(sampler.cpu.values()))
    busy = _busy_cpu() - busy_before
    return Measured(
        wall=wall,
        cpu=cpu,
        peak_rss=sampler.peak,
        peak_parts=sampler.peak_parts,
        other_cpu=max(0.0, busy - cpu - (_own_cpu() - own_before)),
        returncode=child.returncode,
        stdout=out_path.read_text(),
        stderr=err_path.read_text(),
    )


def write_config(work: Path, manifest: Manifest, feed_urls: list[str]) -> Path:
    """An aggregator config for the corpus. All feeds share one host (127.0.0.1), so the
    per-host limits that keep us polite to real servers are lifted: per_host 16 and no
    host_spacing, else the bench would measure the politeness delay."""
    config = {
        "storage": f"sqlite:///{work / 'aggregator.db'}",
        "output": {"dir": str(work / "feeds"), "base_url": "http://127.0.0.1:8080/"},
        "topics": {name: {"title": name.capitalize()} for name in manifest.topic_names},
        "sources": [
            {"url": url, "topics": manifest.topics_of(index)} for index, url in enumerate(feed_urls)
        ],
        "poll": {
            "timeout": "60s",
            "workers": 16,
            "per_host": 16,
            "host_spacing": "0s",
        },
    }
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_once(config: Path, run_dir: Path) -> OnceRun:
    """`aggregator once -c config`, measured; run_dir keeps its stdout and stderr."""
    run_dir.mkdir(parents=True, exist_ok=True)
    measured = measure([str(AGGREGATOR), "once", "-c", str(config)], run_dir)
    tally = Tally()
    for line in measured.stdout.splitlines():
        if line.strip():
            tally.add(line)
    return OnceRun(measured, tally)


def feedparser_baseline(root: Path, manifest: Manifest) -> tuple[float, int]:
    """Seconds plain `feedparser.parse` (default settings) takes over every feed's bytes
    in this one process, and the number of entries it found. Bytes are read first."""
    import feedparser

    bodies = [feed_path(root, i).read_bytes() for i in range(manifest.feeds)]
    entries = 0
    started = time.perf_counter()
    for body in bodies:
        # A file object: given bytes, feedparser first tries them as a path or URL.
        entries += len(feedparser.parse(io.BytesIO(body)).entries)
    return time.perf_counter() - started, entries


def corpus_bytes(root: Path, manifest: Manifest) -> int:
    return sum(feed_path(root, i).stat().st_size for i in range(manifest.feeds))


def check_aggregator() -> str | None:
    """Why `aggregator once` cannot be run, or None."""
    if not AGGREGATOR.exists():
        return f"{AGGREGATOR} not found: install the project into this venv"
    done = subprocess.run(
        [str(AGGREGATOR), "once", "--help"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return f"`aggregator once --help` failed: {done.stderr.strip()[-300:]}"
    return None
