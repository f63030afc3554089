"""``siklus endpoints`` with variants, shadow, capture, update, describe and metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from siklus.cli import endpoints
from siklus.exceptions import InvalidParameter
from siklus.serving import delete_endpoint
from siklus.store import WorkspaceContext

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_create_update_describe_metrics_invoke_delete(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bc_xy: tuple[pd.DataFrame, pd.Series],
    bc_pipeline: Pipeline,
    bc_pipeline_b: Pipeline,
    helpers,
) -> None:
    features, _ = bc_xy
    for name in helpers.isolate:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    a = helpers.register(ctx, bc_pipeline, features)
    b = helpers.register(ctx, bc_pipeline_b, features)
    env = {"SIKLUS_WORKSPACE": str(root)}

    def cli(*args: str) -> str:
        result = runner.invoke(endpoints.app, list(args), env=env)
        if result.exit_code != 0:
            raise AssertionError(f"{args}: {result.output}\n{result.exception!r}")
        return result.output

    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps(helpers.records(features.iloc[:3])))
    parquet = tmp_path / "rows.parquet"
    features.iloc[:3].to_parquet(parquet, index=False)
    fast_metrics = tmp_path / "config.json"
    fast_metrics.write_text(json.dumps({"metrics_interval_s": 0.3}))
    try:
        created = json.loads(
            cli(
                "create",
                "cli-ep",
                "--variant",
                f"{a.ref},name=blue,weight=2",
                "--variant",
                f"{b.ref},name=green,weight=1,workers=1",
                "--shadow",
                f"{b.ref},name=shadow",
                "--capture-percent",
                "50",
                "--config",
                str(fast_metrics),
                "--json",
            )
        )
        assert created["status"] == "InService"
        answer = json.loads(cli("invoke", "cli-ep", "--file", str(rows), "--variant", "green"))
        assert answer["variant"] == "green"
        assert answer["predictions"] == bc_pipeline_b.predict(features.iloc[:3]).tolist()
        answer = json.loads(cli("invoke", "cli-ep", "--file", str(parquet), "--variant", "blue"))
        assert answer["predictions"] == bc_pipeline.predict(features.iloc[:3]).tolist()

        described = json.loads(cli("describe", "cli-ep", "--json"))
        assert [v["name"] for v in described["config"]["variants"]] == ["blue", "green"]
        assert described["config"]["shadow"]["model"] == b.ref
        assert described["config"]["capture_percent"] == 50
        assert described["state"]["workers"] == 2 and described["state"]["revision"] == 1
        table = cli("describe", "cli-ep")
        assert "shadow" in table and "blue" in table

        state = json.loads(
            cli("update", "cli-ep", "--model", b.ref, "--config", str(fast_metrics), "--json")
        )
        assert state["revision"] == 2 and state["workers"] == 1
        answer = json.loads(cli("invoke", "cli-ep", "--file", str(rows)))
        assert answer["model_id"] == b.model_id

        deadline = time.monotonic() + 20
        while True:
            metrics = json.loads(cli("metrics", "cli-ep", "--json"))
            counts = {row["variant"]: row["invocations"] for row in metrics}
            if counts.get("green", 0) >= 1 and counts.get("blue", 0) >= 1:
                break
            assert time.monotonic() < deadline, metrics
            time.sleep(0.5)
        assert "Endpoint cli-ep" in cli("metrics", "cli-ep")
        assert "cli-ep" in cli("list")

        bad = runner.invoke(
            endpoints.app, ["update", "cli-ep", "--variant", "bc:1,speed=3"], env=env
        )
        assert isinstance(bad.exception, InvalidParameter)
        assert "Bad variant option 'speed=3'" in bad.exception.message
        cli("delete", "cli-ep")
        assert ctx.store.get_endpoint("cli-ep").status.value == "Deleted"
    finally:
        for endpoint in ctx.store.list_endpoints():
            delete_endpoint(ctx, endpoint.name, grace_seconds=5)
