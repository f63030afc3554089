"""``siklus alarms``: put, list, describe, evaluate, history, set-state, delete; errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from siklus.cli import _register_commands, app, main
from siklus.store import WorkspaceContext

runner = CliRunner()


def cli(ws: WorkspaceContext, *args: str) -> str:
    _register_commands()
    result = runner.invoke(app, ["-w", str(ws.root), "alarms", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_alarm_commands(workspace: WorkspaceContext, hook) -> None:
    out = cli(workspace, "put", "psi-age", "--metric", "feature_psi", "-d", "feature=age",
              "--statistic", "Maximum", "--period", "60", "--threshold", "0.2",
              "--comparison", "GreaterThanThreshold", "--evaluation-periods", "3",
              "--datapoints-to-alarm", "2", "--action", "log", "--action",
              f"webhook:{hook.url}")  # fmt: skip
    assert "Maximum(siklus/monitoring/feature_psi) > 0.2 for 2 of 3" in " ".join(out.split())
    listed = json.loads(cli(workspace, "list", "--json"))
    assert [(a["name"], a["state"]) for a in listed] == [("psi-age", "INSUFFICIENT_DATA")]
    workspace.store.put_metric_data(
        "siklus/monitoring", "feature_psi", [(60.0, 0.5), (130.0, 0.4)],
        dimensions={"feature": "age"},
    )  # fmt: skip
    evaluated = json.loads(cli(workspace, "evaluate", "--at", "180", "--json"))
    assert evaluated[0]["state"] == "ALARM" and evaluated[0]["changed"] is True
    assert [b["new_state"] for b in hook.bodies] == ["ALARM"]
    described = json.loads(cli(workspace, "describe", "psi-age", "--json"))
    assert described["dimensions"] == {"feature": "age"} and described["state"] == "ALARM"
    history = json.loads(cli(workspace, "history", "psi-age", "--type", "StateUpdate", "--json"))
    assert [h["summary"].split(":")[0] for h in history] == ["INSUFFICIENT_DATA -> ALARM"]
    assert "webhook" in cli(workspace, "history", "psi-age")
    assert "actions fired: none" in cli(workspace, "set-state", "psi-age", "OK", "--reason", "t")
    assert "Deleted" in cli(workspace, "delete", "psi-age")
    assert json.loads(cli(workspace, "list", "--json")) == []


def test_bad_input_is_one_clean_line(workspace: WorkspaceContext, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["-w", str(workspace.root), "alarms", "put", "a", "--metric", "m",
              "--threshold", "1", "--comparison", "Bigger"])  # fmt: skip
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert err.startswith("Error:") and "GreaterThanThreshold" in err


def test_history_names_the_pipeline_of_a_pipeline_action(workspace: WorkspaceContext) -> None:
    cli(workspace, "put", "a", "--metric", "m", "--threshold", "1",
        "--comparison", "GreaterThanThreshold")  # fmt: skip
    workspace.store.append_event(
        "alarm", "a",
        {"type": "Action", "transition": 1, "state": "ALARM", "timestamp": 1.0,
         "action": {"type": "pipeline", "pipeline": "nightly", "parameters": {}},
         "status": "Failed", "job_id": None, "error": "boom"},
    )  # fmt: skip
    history = json.loads(cli(workspace, "history", "a", "--type", "Action", "--json"))
    assert [h["summary"] for h in history] == ["pipeline nightly Failed: boom"]
