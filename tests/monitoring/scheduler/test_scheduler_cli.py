"""``siklus monitor schedule …`` (as its Typer app) and ``siklus scheduler --once``."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import typer
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.cli.scheduler import parse_time, retrain, schedule_app
from siklus.exceptions import NotFound
from siklus.store import WorkspaceContext

runner = CliRunner()


def schedule_cli(ws: WorkspaceContext, *args: str) -> str:
    result = runner.invoke(schedule_app, list(args), obj={"workspace": str(ws.root)})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_schedule_commands_and_one_scheduler_tick(workspace: WorkspaceContext) -> None:
    workspace.store.put_resource("monitoring-baseline", "b", {"stand_in": True})
    out = schedule_cli(workspace, "create", "s1", "--baseline", "b", "--dataset", "scores",
                       "--interval-seconds", "60", "--kind", "data_drift")  # fmt: skip
    assert "every 60 s over dataset scores" in " ".join(out.split())
    # The stand-in job, as a bring-your-own monitoring job would be configured.
    body = {**workspace.store.get_resource("monitoring-schedule", "s1").body,
            "entrypoint": "_sched_fixtures:record"}  # fmt: skip
    workspace.store.put_resource("monitoring-schedule", "s1", body)
    [listed] = json.loads(schedule_cli(workspace, "list", "--json"))
    assert listed["kinds"] == ["data_drift"] and listed["enabled"] is True
    ran = schedule_cli(workspace, "run-now", "s1", "--window-start", "2026-01-01T00:00:00",
                       "--window-end", "1767229260", "--json")  # fmt: skip
    job = json.loads(ran)
    assert job["status"] == "Completed"
    assert job["outputs"]["parameters"]["window_start"] == 1767225600.0
    described = json.loads(schedule_cli(workspace, "describe", "s1", "--json"))
    assert [e["trigger"] for e in described["executions"]] == ["on-demand"]
    assert "disabled" in schedule_cli(workspace, "disable", "s1")
    assert "enabled" in schedule_cli(workspace, "enable", "s1")

    _register_commands()
    # The schedule was created less than a slot ago, or its first slot has just come:
    # one tick runs at most one execution and reports it.
    ticked = runner.invoke(app, ["-w", str(workspace.root), "scheduler", "--once"])
    assert ticked.exit_code == 0, ticked.output
    assert "alarm(s) evaluated" in ticked.output
    assert "Deleted" in schedule_cli(workspace, "delete", "s1")


def test_parse_time() -> None:
    assert parse_time("1767225600", "t") == 1767225600.0
    assert parse_time("2026-01-01T00:00:00+00:00", "t") == 1767225600.0
    assert parse_time(None, "t") is None
    assert abs(parse_time(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "t") - time.time()) < 5


def test_retrain_command_refuses_an_unknown_group(workspace: WorkspaceContext) -> None:
    group = typer.Typer()
    group.command("retrain")(retrain)
    group.command("noop")(lambda: None)  # two commands: Typer keeps the subcommand name
    result = runner.invoke(group, ["retrain", "nothing"], obj={"workspace": str(workspace.root)})
    assert isinstance(result.exception, NotFound) and "nothing" in str(result.exception)


def test_retrain_command_in_a_fresh_interpreter(workspace: WorkspaceContext) -> None:
    """``siklus monitor retrain`` once crashed with AttributeError in a fresh process: the
    package name ``retrain`` is the function until the submodule is imported."""
    done = subprocess.run(
        [sys.executable, "-m", "siklus", "-w", str(workspace.root), "monitor", "retrain", "x"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "Model package group 'x'" in done.stderr + done.stdout
