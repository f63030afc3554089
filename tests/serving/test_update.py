"""Blue/green updates under continuous traffic, and autoscaling of worker processes."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pandas as pd
import psutil
import pytest
from sklearn.pipeline import Pipeline

from siklus.exceptions import InvalidState
from siklus.serving import (
    EndpointError,
    create_endpoint,
    delete_endpoint,
    endpoint_config,
    endpoint_events,
    endpoint_state,
    update_endpoint,
)
from siklus.store import ModelPackage, WorkspaceContext

from ._wait import wait_for

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Setup:
    ctx: WorkspaceContext
    url: str
    port: int
    body: bytes
    a: ModelPackage
    b: ModelPackage
    pending: ModelPackage


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
    bc_xy: tuple[pd.DataFrame, pd.Series],
    bc_pipeline: Pipeline,
    bc_pipeline_b: Pipeline,
    helpers,
) -> Iterator[Setup]:
    features, _ = bc_xy
    with pytest.MonkeyPatch.context() as patch:
        for name in helpers.isolate:
            patch.delenv(name, raising=False)
        ctx = WorkspaceContext.open(tmp_path_factory.mktemp("update") / "ws")
        a = helpers.register(ctx, bc_pipeline, features)
        b = helpers.register(ctx, bc_pipeline_b, features)
        pending = helpers.register(ctx, bc_pipeline_b, features, approve=False)
        config = {
            "variants": [
                {"model": a.ref, "min_workers": 1, "initial_workers": 1, "max_workers": 3}
            ],
            "autoscaling": {
                "target_in_flight": 1,
                "window_s": 0.5,
                "scale_out_cooldown_s": 0.2,
                "scale_in_cooldown_s": 1.0,
            },
            "metrics_interval_s": 0.5,
        }
        try:
            endpoint = create_endpoint(ctx, "up", config=config)
            assert endpoint.url is not None and endpoint.port is not None
            body = json.dumps(helpers.records(features.iloc[:1])[0]).encode()
            yield Setup(ctx, endpoint.url, endpoint.port, body, a, b, pending)
        finally:
            for endpoint in ctx.store.list_endpoints():
                delete_endpoint(ctx, endpoint.name, grace_seconds=5)


def test_workers_scale_out_under_load_and_back_in_when_idle(setup: Setup) -> None:
    assert endpoint_state(setup.ctx, "up")["workers"] == 1
    stop = threading.Event()
    failures: list[str] = []

    def hammer() -> None:
        # New connections now and then, so new workers get a share of the traffic.
        while not stop.is_set():
            try:
                with httpx.Client(base_url=setup.url) as client:
                    for _ in range(20):
                        answer = client.post(
                            "/invocations",
                            content=setup.body,
                            headers={"Content-Type": "application/json"},
                        )
                        if answer.status_code != 200:
                            failures.append(answer.text)
            except httpx.HTTPError as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: endpoint_state(setup.ctx, "up")["workers"] == 3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures
    state = wait_for(
        lambda: (s := endpoint_state(setup.ctx, "up"))["workers"] == 1 and s["draining"] == 0 and s
    )
    assert isinstance(state, dict)
    supervisor = psutil.Process(state["supervisor_pid"])
    assert [c.pid for c in supervisor.children()] == state["pids"]
    scaled = [e for e in endpoint_events(setup.ctx, "up") if e["event"] == "scaled"]
    assert any(e["to"] > e["from"] for e in scaled) and scaled[-1]["to"] == 1


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class _Traffic:
    """Clients sending back to back: one keep-alive httpx client, one fresh socket each time."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.sent = 0
        self.ok = 0
        self.errors: list[str] = []
        self.models: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._keep_alive),
            threading.Thread(target=self._keep_alive),
            threading.Thread(target=self._fresh_connections),
        ]

    def _count(self, status: int, body: bytes) -> None:
        with self.lock:
            self.sent += 1
            if status == 200:
                self.ok += 1
                self.models.append(json.loads(body)["model_id"])
            else:
                self.errors.append(f"{status}: {body[:200]!r}")

    def _keep_alive(self) -> None:
        with httpx.Client(base_url=self.setup.url) as client:
            while not self.stop.is_set():
                try:
                    answer = client.post(
                        "/invocations",
                        content=self.setup.body,
                        headers={"Content-Type": "application/json"},
                    )
                    self._count(answer.status_code, answer.content)
                except httpx.HTTPError as exc:
                    self._count(0, repr(exc).encode())

    def _fresh_connections(self) -> None:
        body = self.setup.body
        request = (
            f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.setup.port), timeout=10) as sock:
                    sock.sendall(request)
                    data = b""
                    while chunk := sock.recv(65536):
                        data += chunk
                head, _, payload = data.partition(b"\r\n\r\n")
                self._count(int(head.split()[1]) if head else 0, payload)
            except OSError as exc:
                self._count(0, repr(exc).encode())

    def __enter__(self) -> _Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def test_update_under_continuous_traffic_drops_no_request(setup: Setup) -> None:
    ctx = setup.ctx
    old_pids = endpoint_state(ctx, "up")["pids"]
    with _Traffic(setup) as traffic:
        wait_for(lambda: traffic.ok >= 30)
        state = update_endpoint(ctx, "up", {"variants": [{"model": setup.b.ref, "workers": 2}]})
        assert state["revision"] == 2 and state["workers"] == 2
        sent_at_switch = traffic.sent
        wait_for(lambda: traffic.sent >= sent_at_switch + 40)
    assert traffic.errors == []
    assert traffic.sent == traffic.ok > 70
    order = list(dict.fromkeys(traffic.models))
    assert order == [setup.a.model_id, setup.b.model_id]  # old model, then only the new one
    assert Counter(traffic.models[-20:]) == Counter({setup.b.model_id: 20})
    assert endpoint_config(ctx, "up").variants[0].model == setup.b.ref
    assert ctx.store.get_endpoint("up").model_package_id == setup.b.id
    # The old workers drained and exited.
    wait_for(lambda: endpoint_state(ctx, "up")["draining"] == 0)
    assert not any(_running(pid) for pid in old_pids)


def test_refused_and_failed_updates_leave_the_endpoint_serving(setup: Setup, helpers) -> None:
    ctx = setup.ctx
    revision = ctx.store.get_resource("endpoint-config", "up").revision
    with pytest.raises(InvalidState, match="PendingManualApproval"):
        update_endpoint(ctx, "up", {"variants": [setup.pending.ref]})
    assert ctx.store.get_resource("endpoint-config", "up").revision == revision
    # A model file that cannot load: the supervisor refuses it and keeps the old workers.
    model = ctx.store.get_model(setup.pending.model_id)
    path = ctx.artifacts.local_path(model.sha256)
    path.chmod(0o644)
    original = path.read_bytes()
    try:
        path.write_bytes(b"not a skops file")
        with pytest.raises(EndpointError, match="keeps serving the previous config"):
            update_endpoint(ctx, "up", {"variants": [setup.pending.ref]}, force=True)
    finally:
        path.write_bytes(original)
    config = endpoint_config(ctx, "up")
    assert config.variants[0].model == setup.b.ref
    answer = httpx.post(
        f"{setup.url}/invocations", content=setup.body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200 and answer.json()["model_id"] == setup.b.model_id
