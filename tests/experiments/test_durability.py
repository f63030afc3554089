"""Buffered logging loses nothing when a script exits, cleanly or not, and a job's child
process logs into the job's run through ``SIKLUS_RUN_ID``. Each case is a real child
interpreter, so exit hooks run exactly as they do for a user's script."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from siklus.experiments import FAILURE_TAG, RUN_ID_ENV, get_metric_history, get_run, start_run
from siklus.store import RunStatus, WorkspaceContext

# More points than one buffer holds, so the last ones are written by the exit path.
POINTS = 12_345

_SCRIPT = """
import sys
from siklus.experiments import log_metric, start_run
{start}
    print(run.run_id, flush=True)
    for step in range({points}):
        log_metric("loss", 1.0 / (step + 1))
    log_metric("accuracy", 0.9)
    {ending}
"""


@pytest.mark.parametrize(
    ("start", "ending", "status", "exit_code"),
    [
        ("if True:\n    run = start_run('durable')", "pass", RunStatus.COMPLETED, 0),
        ("with start_run('durable') as run:", "raise RuntimeError('boom')", RunStatus.FAILED, 1),
        (
            "if True:\n    run = start_run('durable')",
            "raise RuntimeError('boom')",
            RunStatus.FAILED,
            1,
        ),
        (
            "if True:\n    run = start_run('durable')",
            "raise KeyboardInterrupt",
            RunStatus.KILLED,
            1,
        ),
        ("with start_run('durable') as run:", "sys.exit(3)", RunStatus.FAILED, 3),
    ],
    ids=["exit-without-end", "exception-in-with", "uncaught", "ctrl-c", "sys-exit"],
)
def test_nothing_is_lost_at_exit(
    ws: WorkspaceContext,
    python: Callable[..., object],
    start: str,
    ending: str,
    status: RunStatus,
    exit_code: int,
) -> None:
    code = _SCRIPT.format(start=start, points=POINTS, ending=ending)
    result = python(ws, code)
    assert (result.returncode == 0) == (exit_code == 0), result.stderr
    run_id = result.stdout.split()[0]
    run = get_run(run_id, ws)
    assert run.status is status, result.stderr
    history = get_metric_history(run_id, "loss", ws)
    assert len(history) == POINTS
    assert [p.step for p in history] == list(range(POINTS))
    assert run.metrics == {"loss": 1.0 / POINTS, "accuracy": 0.9}
    if "RuntimeError" in ending and "with" in start:
        assert run.tags[FAILURE_TAG] == "RuntimeError: boom"


_CHILD = f"""
from siklus.experiments import active_run, log_metric, set_tag, start_run
for step in range(1000):
    log_metric("loss", float(step))
set_tag("from", "child")
with start_run("ignored-name", params={{"lr": 0.1}}) as run:
    run.log_metric("inner", 1.0)
print(active_run().run_id)
import os; assert os.environ["{RUN_ID_ENV}"] == run.run_id
"""


def test_a_child_process_attaches_to_siklus_run_id(
    any_ws: WorkspaceContext, python: Callable[..., object]
) -> None:
    with start_run("jobs", ctx=any_ws) as parent:
        parent.log_metric("setup", 1.0)
        result = python(any_ws, _CHILD, env={RUN_ID_ENV: parent.run_id})
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [parent.run_id]
        during = get_run(parent.run_id, any_ws)
        assert during.status is RunStatus.RUNNING, "the child must not end its parent's run"
        assert during.tags["from"] == "child" and during.params == {"lr": 0.1}
        assert len(get_metric_history(parent.run_id, "loss", any_ws)) == 1000
    after = get_run(parent.run_id, any_ws)
    assert after.status is RunStatus.COMPLETED
    assert set(after.metrics) == {"setup", "loss", "inner"}


def test_siklus_run_id_errors_say_what_to_do(
    ws: WorkspaceContext, python: Callable[..., object]
) -> None:
    code = "from siklus.experiments import log_metric\nlog_metric('x', 1.0)"
    missing = python(ws, code, env={RUN_ID_ENV: "run-nope"})
    assert missing.returncode == 1 and f"{RUN_ID_ENV}='run-nope' names no run" in missing.stderr
    with start_run("jobs", ctx=ws) as ended:
        pass
    late = python(ws, code, env={RUN_ID_ENV: ended.run_id})
    assert late.returncode == 1 and "has ended (Completed)" in late.stderr
