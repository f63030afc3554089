"""``siklus data profile | check | pii | select-features``.

``profile`` and ``check`` run the real command in a subprocess (the real entry point,
``siklus.cli.main``, through ``_cli_main.py``, which attaches the four commands to
``siklus data`` exactly as the registration will): they start jobs, print to a real
terminal stream and set the exit code. ``pii`` and ``select-features`` run no job, so
they are driven in-process through ``typer.testing.CliRunner`` on a small app with the
same ``--workspace`` option, which is much faster.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from siklus.cli import quality
from siklus.data import ingest, read_frame, store_table
from siklus.data.pii import hash_value
from siklus.exceptions import InvalidParameter
from siklus.store import WorkspaceContext

MAIN = Path(__file__).with_name("_cli_main.py")


def siklus(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAIN), "-w", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def workspace(tmp_path: Path, breast_cancer_csv: Path) -> Path:
    root = tmp_path / "ws"
    ingest(WorkspaceContext.open(root), breast_cancer_csv, "bc")
    return root


def test_profile_writes_html_and_json(workspace: Path, tmp_path: Path):
    html = tmp_path / "report.html"
    result = siklus(workspace, "data", "profile", "bc", "--html", str(html), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["profile"]["rows"] == 569 and payload["outputs"]["report_sha256"]
    columns = {c["name"]: c for c in payload["profile"]["columns"]}
    assert columns["diagnosis"]["top_values"][0] == {"value": "benign", "count": 357}
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Profile of bc:1" in page


def test_check_exits_1_when_an_error_rule_fails(workspace: Path, tmp_path: Path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "name: bc-rules\n"
        "rules:\n"
        "  - {type: not_null, column: mean radius}\n"
        "  - {type: range, column: mean radius, min: 0, max: 25}\n"
        "  - {type: allowed_values, column: diagnosis, values: [benign], severity: warning}\n"
    )
    result = siklus(workspace, "data", "check", "bc", "--rules", str(rules))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    stderr = " ".join(result.stderr.split())
    assert (
        "Data-quality check failed: 1 error-severity rule(s) failed ('range(mean radius)')"
        in stderr
    )
    assert "Warning: rule 'allowed_values(diagnosis)' failed" in stderr
    assert "FAIL" in result.stdout and "pass" in result.stdout


# -- in-process commands -------------------------------------------------------------------
def data_app() -> typer.Typer:
    """A ``siklus``-like app: root ``--workspace`` option, the four commands under ``data``."""
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context, workspace: str = typer.Option(None, "--workspace", "-w")) -> None:
        ctx.obj = {"workspace": workspace}

    data = typer.Typer()
    data.command("profile")(quality.profile)
    data.command("check")(quality.check)
    data.command("pii")(quality.pii)
    data.command("select-features")(quality.select_features)
    root.add_typer(data, name="data")
    return root


@pytest.fixture
def people(tmp_path: Path) -> Path:
    root = tmp_path / "people-ws"
    frame = pd.DataFrame(
        {
            "name": ["John Smith", "Dewi Lestari", "Budi Santoso", "Anne Garcia"],
            "email": ["john@example.com", "dewi@mail.co.id", "budi@x.id", "anne@y.org"],
            "card": [
                "4111 1111 1111 1111",
                "5555555555554444",
                "378282246310005",
                "4012888888881881",
            ],
            "order_id": ["ORD-1", "ORD-2", "ORD-3", "ORD-4"],
        }
    )
    store_table(WorkspaceContext.open(root), pa.Table.from_pandas(frame), "people", source="t")
    return root


def test_pii_scan_and_hash_redaction(people: Path, tmp_path: Path):
    salt_file = tmp_path / "salt.txt"
    salt_file.write_text("pepper\n")
    runner = CliRunner()
    scan = runner.invoke(data_app(), ["-w", str(people), "data", "pii", "people"])
    assert scan.exit_code == 0, scan.output
    assert "person_name" in scan.output and "credit_card" in scan.output
    assert "john@example.com" not in scan.output  # samples are masked
    args = ["--redact", "--action", "hash", "--column-action", "card=drop", "--salt-file"]
    redact = runner.invoke(
        data_app(),
        [
            "-w",
            str(people),
            "data",
            "pii",
            "people",
            *args,
            str(salt_file),
            "-o",
            "people.safe",
            "--json",
        ],
    )
    assert redact.exit_code == 0, redact.output
    payload = json.loads(redact.stdout)
    assert {c["column"]: c["kind"] for c in payload["columns"]} == {
        "name": "person_name", "email": "email", "card": "credit_card",
    }  # fmt: skip
    assert payload["redacted"]["name"] == "people.safe"
    _, out = read_frame(WorkspaceContext.open(people), "people.safe")
    assert list(out.columns) == ["name", "email", "order_id"]
    assert out["email"][0] == hash_value("john@example.com", "pepper")
    missing_salt = runner.invoke(
        data_app(), ["-w", str(people), "data", "pii", "people", "--redact", "--action", "hash"]
    )
    assert isinstance(missing_salt.exception, InvalidParameter)


def test_select_features_stores_the_selection(tmp_path: Path, breast_cancer_frame):
    root = tmp_path / "sel-ws"
    frame = breast_cancer_frame.assign(
        constant=1.0, noise=np.random.default_rng(0).normal(size=569)
    )
    store_table(WorkspaceContext.open(root), pa.Table.from_pandas(frame), "bc", source="t")
    runner = CliRunner()
    args = [
        "-w",
        str(root),
        "data",
        "select-features",
        "bc",
        "--target",
        "diagnosis",
        "-o",
        "bc.sel",
    ]
    table = runner.invoke(data_app(), args)
    assert table.exit_code == 0, table.output
    assert "features kept" in table.output and "constant" in table.output
    assert "Selection stored as bc.sel:1" in " ".join(table.output.split())
    as_json = runner.invoke(data_app(), [*args, "--json", "--top-k", "4"])
    payload = json.loads(as_json.stdout)
    assert len(payload["kept"]) == 4 and payload["output"] == "bc.sel:2"


def test_check_rejects_a_bad_rule_file_before_running(workspace: Path, tmp_path: Path):
    rules = tmp_path / "bad.yaml"
    rules.write_text("rules:\n  - {type: range, column: mean radius}\n")
    result = CliRunner().invoke(
        data_app(), ["-w", str(workspace), "data", "check", "bc", "-r", str(rules)]
    )
    assert isinstance(result.exception, InvalidParameter)
    assert "give min, max or both" in str(result.exception)
