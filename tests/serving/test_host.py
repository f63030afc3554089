"""The warm host: start/status/stop, endpoints forked from it, fallback, stale sockets."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import time
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from siklus.cli import endpoints as endpoints_cli
from siklus.exceptions import NotFound
from siklus.jobs import process_alive
from siklus.serving import create_endpoint, delete_endpoint, describe_endpoint, invoke_endpoint
from siklus.serving._host import (
    _request,
    host_socket_path,
    host_status,
    spawn_via_host,
    start_host,
    stop_host,
)
from siklus.store import EndpointStatus, WorkspaceContext


@pytest.fixture
def ctx(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, helpers):
    for name in helpers.isolate:
        monkeypatch.delenv(name, raising=False)
    # A short path: a Unix socket path has at most 107 bytes.
    context = WorkspaceContext.open(tmp_path_factory.mktemp("h") / "ws")
    yield context
    stop_host(context)


def _wait_gone(pid: int, started_at: float | None, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid, started_at):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
def test_start_status_stop_and_refusals(ctx: WorkspaceContext) -> None:
    assert host_status(ctx)["running"] is False
    status = start_host(ctx)
    assert status["running"] is True
    pid = status["pid"]
    sock = host_socket_path(ctx)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert json.loads(sock.with_name("host.pid").read_text())["pid"] == pid
    assert start_host(ctx)["pid"] == pid  # already running: unchanged
    assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    assert os.getsid(pid) == pid  # detached: its own session
    # Requests it must refuse, without dying.
    outside = {
        "op": "spawn",
        "name": "x",
        "port": None,
        "env": {},
        "log_path": "/tmp/elsewhere.log",
        "cwd": str(ctx.root),
    }
    answer = _request(sock, outside, 5.0)
    assert answer["ok"] is False and "outside the workspace" in answer["error"]
    assert _request(sock, {"op": "nope"}, 5.0)["ok"] is False
    assert _request(sock, {"op": "spawn", "name": "x", "env": [1]}, 5.0)["ok"] is False
    assert host_status(ctx)["pid"] == pid
    assert stop_host(ctx) is True
    assert not process_alive(pid)
    assert not sock.exists()
    assert host_status(ctx)["running"] is False
    assert stop_host(ctx) is False


@pytest.mark.slow
def test_endpoint_through_the_host(
    ctx: WorkspaceContext, bc_xy: tuple[pd.DataFrame, pd.Series], bc_pipeline: Pipeline, helpers
) -> None:
    features, _ = bc_xy
    package = helpers.register(ctx, bc_pipeline, features)
    host_pid = start_host(ctx)["pid"]
    endpoint = create_endpoint(ctx, "warm", package.group, package.version)
    try:
        assert endpoint.status == EndpointStatus.IN_SERVICE
        # The record names the forked child, which the host started and reaps.
        child = psutil.Process(endpoint.pid)
        assert child.ppid() == host_pid
        assert os.getsid(endpoint.pid) == endpoint.pid
        assert endpoint.pid in host_status(ctx)["children"]
        assert child.create_time() == pytest.approx(endpoint.pid_started_at, abs=0.01)
        rows = features.iloc[:5]
        answer = invoke_endpoint(ctx, "warm", json.dumps(helpers.records(rows)).encode())
        assert answer["predictions"] == bc_pipeline.predict(rows).tolist()
        # Over a real socket, without siklus in between.
        ping = httpx.get(f"{endpoint.url}/ping", timeout=5)
        assert ping.status_code == 200
        log = Path(endpoint.log_path).read_text()
        assert "serves at" in log
        # The child runs with the caller's environment and workspace.
        assert child.cwd() == str(ctx.root.resolve())
        assert child.environ().get("SIKLUS_WORKSPACE") == str(ctx.root)
        # Deleted while the host runs: stopped and reaped by the host (no zombie left).
        delete_endpoint(ctx, "warm", grace_seconds=5)
        assert _wait_gone(endpoint.pid, endpoint.pid_started_at)
        deadline = time.monotonic() + 10
        while endpoint.pid in host_status(ctx)["children"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert endpoint.pid not in host_status(ctx)["children"]
        assert not psutil.pid_exists(endpoint.pid)
        endpoint = create_endpoint(ctx, "warm2", package.group, package.version)
        assert psutil.Process(endpoint.pid).ppid() == host_pid
        # Killing the host does not kill the endpoint.
        os.kill(host_pid, signal.SIGKILL)
        assert _wait_gone(host_pid, None)
        assert describe_endpoint(ctx, "warm2").status == EndpointStatus.IN_SERVICE
        again = invoke_endpoint(ctx, "warm2", json.dumps(helpers.records(rows)).encode())
        assert again["predictions"] == answer["predictions"]
        # The host is gone: its socket is stale and is cleaned up; new endpoints fall back.
        status = host_status(ctx)
        assert status["running"] is False and status["stale_removed"] is True
    finally:
        for name in ("warm", "warm2"):
            with contextlib.suppress(NotFound):
                deleted = delete_endpoint(ctx, name, grace_seconds=5)
    assert deleted.status == EndpointStatus.DELETED
    assert _wait_gone(endpoint.pid, endpoint.pid_started_at)


def test_fallback_when_no_host(ctx: WorkspaceContext) -> None:
    log = ctx.state_dir / "endpoints" / "x" / "server.log"
    assert spawn_via_host("x", port=None, env={}, log_path=log, cwd=ctx.root) is None


def test_stale_socket_is_removed(ctx: WorkspaceContext) -> None:
    sock_path = host_socket_path(ctx)
    sock_path.parent.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(sock_path))  # a socket file nobody listens on any more
    dead = psutil.Popen(["true"])
    dead.wait()
    sock_path.with_name("host.pid").write_text(json.dumps({"pid": dead.pid, "started_at": 1.0}))
    assert sock_path.exists()
    status = host_status(ctx)
    assert status["running"] is False and status["stale_removed"] is True
    assert not sock_path.exists()
    assert not sock_path.with_name("host.pid").exists()
    log = ctx.state_dir / "endpoints" / "x" / "server.log"
    assert spawn_via_host("x", port=None, env={}, log_path=log, cwd=ctx.root) is None


def test_cli_status_without_host(ctx: WorkspaceContext) -> None:
    env = {"SIKLUS_WORKSPACE": str(ctx.root)}
    result = CliRunner().invoke(endpoints_cli.app, ["host", "status", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["running"] is False
    result = CliRunner().invoke(endpoints_cli.app, ["host", "stop"], env=env)
    assert result.exit_code == 0 and "No warm host" in result.output
