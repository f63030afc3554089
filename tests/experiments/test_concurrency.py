"""Eight processes log at once into one workspace, through the tracking API, and lose
nothing: no "database is locked", no missing point, no lost key of a shared run."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from siklus.experiments import get_metric_history, get_run, search_runs, start_run
from siklus.store import RunStatus, WorkspaceContext

PROCESSES = 8
POINTS = 2000

_WORKER = f"""
import sys, time
from pathlib import Path
from siklus.experiments import attach_run, start_run

worker, shared_id, go = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
shared = attach_run(shared_id)
shared.flush_every = 250
(go.parent / f"ready-{{worker}}").touch()
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:  # start all together
    time.sleep(0.005)
with start_run("concurrent", name=f"worker-{{worker}}") as own:
    own.flush_every = 250
    for step in range({POINTS}):
        own.log_metrics({{"loss": 1.0 / (step + 1), "acc": step / {POINTS}}})
        shared.log_metric(f"w{{worker}}", float(step), step=step)
shared.set_tag(f"worker{{worker}}", "done")
print(own.run_id)
"""


def _wait_for_all_ready(folder: Path, workers: list[subprocess.Popen[str]]) -> None:
    """Wait until every worker has started and opened the store (or one has died)."""
    deadline = time.monotonic() + 90
    while len(list(folder.glob("ready-*"))) < len(workers):
        if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
            break  # the assertions below report the worker's error
        time.sleep(0.01)


def test_eight_processes_logging_at_once_lose_nothing(
    any_ws: WorkspaceContext,
    spawn_python: Callable[..., subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    with start_run("concurrent", name="shared", ctx=any_ws) as shared:
        workers = [
            spawn_python(any_ws, _WORKER, str(i), shared.run_id, str(go)) for i in range(PROCESSES)
        ]
        _wait_for_all_ready(tmp_path, workers)
        go.touch()
        outputs = [worker.communicate(timeout=120) for worker in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err
            assert "locked" not in err
    own_ids = [out.split()[0] for out, _ in outputs]

    steps = list(range(POINTS))
    for run_id in own_ids:
        run = get_run(run_id, any_ws)
        assert run.status is RunStatus.COMPLETED
        for key in ("loss", "acc"):
            assert [p.step for p in get_metric_history(run_id, key, any_ws)] == steps
    got = get_run(shared.run_id, any_ws)
    keys = {f"w{i}" for i in range(PROCESSES)}
    assert set(got.metrics) == keys, "a concurrent flush lost another process's key"
    assert got.tags == {f"worker{i}": "done" for i in range(PROCESSES)}
    for key in keys:
        assert [p.value for p in get_metric_history(shared.run_id, key, any_ws)] == steps
    found = search_runs("concurrent", "metrics.acc > 0.9 and name != 'shared'", ctx=any_ws)
    assert {r.id for r in found} == set(own_ids)
