"""A throwaway redis-server for tests: a fresh process on a free port, nothing persisted.

Tests of Redis-backed features (the async-inference queue, the streaming connector)
start one with :func:`redis_server_url`; where no ``redis-server`` binary exists they are
skipped with how to get one (``scripts/ensure-redis.sh`` installs it on CI).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server_url(workdir: Path) -> Iterator[str]:
    """Start ``redis-server`` bound to 127.0.0.1 and yield ``redis://127.0.0.1:PORT/0``.

    Skips the calling test when the binary is missing or the server does not answer
    within 10 s. The server is stopped (and its files left in ``workdir``) on exit.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "redis-server is not installed (apt-get install redis-server, or run "
            "scripts/ensure-redis.sh as root)"
        )
    try:
        import redis
    except ImportError:
        pytest.skip("the redis client is not installed: pip install 'siklus[redis]'")
    port = _free_port()
    log = (workdir / "redis.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.skip(f"redis-server did not start; see {workdir / 'redis.log'}")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
