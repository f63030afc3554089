"""``siklus pipelines``, ``siklus run``, ``siklus lineage`` and ``siklus reproduce``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.exceptions import InvalidParameter, JobFailed, NotFound
from siklus.project import breast_cancer_project

PIPELINE = {
    "name": "demo",
    "parameters": {"limit": {"type": "integer", "default": 1}},
    "steps": [
        {"name": "split", "type": "split",
         "args": {"dataset": "bc", "stratify": "diagnosis"}},
        {"name": "gate", "type": "condition",
         "conditions": [{"left": {"param": "limit"}, "op": ">=", "right": 1}],
         "if_steps": ["ok"], "else_steps": ["nope"]},
        {"name": "ok", "type": "condition", "depends_on": ["split"],
         "conditions": [{"left": 1, "op": "==", "right": 1}]},
        {"name": "nope", "type": "fail", "args": {"message": "limit below 1"}},
    ],
}  # fmt: skip


@pytest.fixture
def cli(tmp_path: Path, breast_cancer_csv: Path):
    _register_commands()
    runner = CliRunner()
    ws = tmp_path / "ws"

    def invoke(*args: str):
        return runner.invoke(app, ["-w", str(ws), *args], catch_exceptions=True)

    from siklus.data import ingest
    from siklus.store import WorkspaceContext

    ingest(WorkspaceContext.open(ws), breast_cancer_csv, "bc")
    invoke.workspace = ws  # type: ignore[attr-defined]
    return invoke


def test_create_start_describe_logs_and_errors(cli, tmp_path: Path) -> None:
    file = tmp_path / "demo.yaml"
    file.write_text(yaml.safe_dump(PIPELINE), encoding="utf-8")
    created = cli("pipelines", "create", str(file))
    assert created.exit_code == 0, created.output
    assert "Pipeline demo version 1 stored" in created.output
    listed = json.loads(cli("pipelines", "list", "--json").output)
    assert listed[0]["name"] == "demo" and listed[0]["steps"] == 4

    started = cli("pipelines", "start", "demo", "--json")
    assert started.exit_code == 0, started.output
    assert "Succeeded" in started.output  # the live table's last frame
    executions = json.loads(cli("pipelines", "executions", "demo", "--json").output)
    execution_id = executions[0]["id"]
    assert executions[0]["status"] == "Succeeded"
    described = cli("pipelines", "describe", execution_id)
    assert "split" in described.output and "Skipped" in described.output
    logs = cli("pipelines", "logs", execution_id, "--step", "gate")
    assert "==> gate:" in logs.output and "True" in logs.output

    failed = cli("pipelines", "start", "demo", "--param", "limit=0")
    assert isinstance(failed.exception, JobFailed)
    assert "limit below 1" in str(failed.exception)
    assert "siklus pipelines resume" in str(failed.exception)
    bad_type = cli("pipelines", "start", "demo", "--param", "limit=many")
    assert isinstance(bad_type.exception, InvalidParameter)
    assert "limit is a integer, got 'many'" in str(bad_type.exception)

    broken = dict(PIPELINE, steps=[*PIPELINE["steps"],
                                   {"name": "x", "type": "split",
                                    "args": {"dataset": {"from": "y.train"}}}])  # fmt: skip
    file.write_text(yaml.safe_dump(broken), encoding="utf-8")
    rejected = cli("pipelines", "create", str(file))
    assert isinstance(rejected.exception, InvalidParameter)
    assert "references 'y.train', but there is no step 'y'" in str(rejected.exception)

    scheduled = cli("pipelines", "schedule", "demo", "--cron", "0 3 * * *")
    assert scheduled.exit_code == 0, scheduled.output
    triggers = json.loads(cli("pipelines", "triggers", "--json").output)
    assert triggers[0]["cron"] == "0 3 * * *"


def test_executions_of_an_unknown_pipeline_fail_with_not_found(cli) -> None:
    result = cli("pipelines", "executions", "NOSUCH")
    assert result.exit_code != 0
    assert isinstance(result.exception, NotFound)
    assert "No pipeline 'NOSUCH'" in str(result.exception)
    assert "siklus pipelines list" in str(result.exception)


def test_run_needs_a_pipeline_in_siklus_yaml(cli) -> None:
    ws: Path = cli.workspace
    spec = breast_cancer_project().model_copy(update={"pipeline": None})
    (ws / "siklus.yaml").write_text(spec.dump_yaml(), encoding="utf-8")
    result = cli("run")
    assert isinstance(result.exception, InvalidParameter)
    assert "declares no pipeline" in str(result.exception)


def test_run_executes_the_project_pipeline_and_lineage_exports(cli) -> None:
    ws: Path = cli.workspace
    spec = breast_cancer_project().model_copy(
        update={
            "pipeline": {
                "steps": [
                    {
                        "name": "split",
                        "type": "split",
                        "args": {"dataset": "bc", "stratify": "diagnosis"},
                    },
                ]
            }
        }
    )
    (ws / "siklus.yaml").write_text(spec.dump_yaml(), encoding="utf-8")
    result = cli("run")
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    again = cli("run")
    assert "(cached)" in again.output
    out = ws / "lineage.html"
    exported = cli("lineage", "bc", "--direction", "down", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert out.read_text().startswith("<!doctype html>")
    as_json = json.loads(cli("lineage", "bc.train:1", "-d", "up", "-f", "json").output)
    assert {n["type"] for n in as_json["nodes"]} == {"dataset", "pipeline_execution"}
    tree = cli("lineage", "bc")
    assert "downstream" in tree.output and "bc.train" in tree.output


def test_lineage_out_creates_missing_folders_and_rejects_a_folder(cli) -> None:
    # Regression: --out into a missing folder, or onto a folder, ended in a traceback.
    ws: Path = cli.workspace
    out = ws / "reports" / "2026" / "bc.html"
    result = cli("lineage", "bc", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!doctype html>")
    folder = cli("lineage", "bc", "--format", "html", "--out", str(ws / "reports"))
    assert folder.exit_code != 0
    assert isinstance(folder.exception, InvalidParameter), folder.exception
    assert "is a folder" in str(folder.exception)
    assert not (ws / "reports.tmp").exists()
