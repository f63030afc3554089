"""Fixtures for alarm tests: a workspace whose job processes are cleaned up, and a local
HTTP server that records webhook calls."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from siklus.jobs import process_alive
from siklus.store import WorkspaceContext


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkspaceContext]:
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    ws = WorkspaceContext.open(tmp_path / "ws")
    yield ws
    for job in ws.store.list_jobs(limit=1000):
        if job.status.is_final or not job.pid or job.pid == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError):
            if process_alive(job.pid, job.pid_started_at) and os.getpgid(job.pid) == job.pid:
                os.killpg(job.pid, signal.SIGKILL)
    ws.store.close()


class Hook:
    """A webhook receiver on 127.0.0.1: records each JSON body; answers ``statuses`` in
    order (then 200)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with hook.lock:
                    hook.bodies.append(body)
                    status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    yield receiver
    receiver.close()
