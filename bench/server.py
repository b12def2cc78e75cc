"""Benchmark feed server: serves a generated corpus on 127.0.0.1 from its own process.

`GET /feed/<i>.xml` answers with the file, an ETag and a Last-Modified, and `304 Not
Modified` to a matching If-None-Match (or, without one, an If-Modified-Since not older
than the file). HTTP/1.1 keep-alive; bodies go out with sendfile, so the server costs
little CPU next to the process being measured (the machine has two cores).

Control endpoints, for the harness:
- `POST /_bench/validators/on|off`: with `off`, validators are ignored and every
  request gets the identical 200 body again (a server that does not do conditional GET);
- `GET /_bench/stats`: JSON request counts by status, and bytes sent;
- `POST /_bench/reset`: zero the counts.

It does not generate the corpus (generate.py) or time anything. `ServerProcess` runs it
as a subprocess:

    python bench/server.py --root bench/out/corpus --port 8765
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.request import Request, urlopen


class _State:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.validators = True
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bench-feeds/1"
    state: _State  # set on the subclass built by `serve`

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would cost more than serving it

    def do_GET(self) -> None:
        if self.path == "/_bench/stats":
            with self.state.lock:
                self._send_small(200, json.dumps(dict(self.state.counts)).encode())
            return
        path = self._feed_file()
        if path is None:
            self.state.count("404")
            self._send_small(404, b"not found\n")
            return
        self._send_feed(path)

    def do_POST(self) -> None:
        if self.path in ("/_bench/validators/on", "/_bench/validators/off"):
            self.state.validators = self.path.endswith("/on")
        elif self.path == "/_bench/reset":
            with self.state.lock:
                self.state.counts.clear()
        else:
            self._send_small(404, b"not found\n")
            return
        self._send_small(200, b"ok\n")

    def _feed_file(self) -> Path | None:
        name = self.path.split("?", 1)[0].removeprefix("/feed/")
        if name == self.path or "/" in name or not name.endswith(".xml"):
            return None
        if not name.removesuffix(".xml").isdigit():
            return None
        path = self.state.root / "feed" / name
        return path if path.is_file() else None

    def _send_feed(self, path: Path) -> None:
        stat = path.stat()
        etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        if self.state.validators and self._fresh(etag, stat.st_mtime):
            self.state.count("304")
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(stat.st_mtime, usegmt=True))
        self.end_headers()
        with path.open("rb") as body:
            self.connection.sendfile(body)
        self.state.count("200")
        self.state.count("bytes", stat.st_size)

    def _fresh(self, etag: str, mtime: float) -> bool:
        """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since only without it."""
        if (tags := self.headers.get("If-None-Match")) is not None:
            return any(t.strip().removeprefix("W/") in (etag, "*") for t in tags.split(","))
        if (since := self.headers.get("If-Modified-Since")) is not None:
            try:
                return int(mtime) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _send_small(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(root: Path, port: int) -> None:
    handler = type("Handler", (_Handler,), {"state": _State(root)})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.5)


class ServerProcess:
    """The server in a subprocess on a free port; a context manager."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> Self:
        command = [sys.executable, __file__, "--root", str(self.root), "--port", "0"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"bench server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def feed_url(self, index: int) -> str:
        return f"{self.base}/feed/{index}.xml"

    def _call(self, path: str, method: str) -> bytes:
        with urlopen(Request(self.base + path, method=method), timeout=10) as response:
            body: bytes = response.read()
            return body

    def set_validators(self, on: bool) -> None:
        self._call(f"/_bench/validators/{'on' if on else 'off'}", "POST")

    def reset(self) -> None:
        self._call("/_bench/reset", "POST")

    def stats(self) -> dict[str, int]:
        counts: dict[str, int] = json.loads(self._call("/_bench/stats", "GET"))
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="a corpus from generate.py")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    args = parser.parse_args()
    try:
        serve(args.root, args.port)
    except KeyboardInterrupt:
        os._exit(0)


if __name__ == "__main__":
    main()
