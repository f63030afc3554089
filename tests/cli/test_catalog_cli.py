"""``siklus data crawl | tables | table | databases | crawlers`` through the command tree."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.exceptions import InvalidParameter


def invoke(workspace: Path, *args: str):
    _register_commands()
    return CliRunner().invoke(app, ["-w", str(workspace), "data", *args])


def test_crawl_list_show_versions_and_diff(ctx, tmp_path):
    lake = tmp_path / "lake" / "users"
    lake.mkdir(parents=True)
    pd.DataFrame({"id": [1, 2], "age": [30, 40]}).to_csv(lake / "u.csv", index=False)
    first = invoke(ctx.root, "crawl", str(tmp_path / "lake"), "--database", "crm")
    assert first.exit_code == 0, first.output
    assert "crm.users" in first.output and "created" in first.output

    pd.DataFrame({"id": [1, 2], "age": [30.5, 40.0], "email": ["a@x", "b@x"]}).to_csv(
        lake / "u.csv", index=False
    )
    second = invoke(ctx.root, "crawl", str(tmp_path / "lake"), "-d", "crm", "--json")
    [table] = json.loads(second.stdout)["tables"]
    assert table["action"] == "updated" and table["version"] == 2
    assert table["changes"]["retyped"] == [{"name": "age", "from": "int64", "to": "double"}]

    listed = invoke(ctx.root, "tables", "crm", "--json")
    [row] = json.loads(listed.stdout)
    assert row["name"] == "users" and row["stats"]["rows"] == 2 and row["version"] == 2
    shown = invoke(ctx.root, "table", "crm.users")
    assert shown.exit_code == 0 and "email" in shown.output and "version 2" in shown.output
    versions = invoke(ctx.root, "table", "crm.users", "--versions")
    assert versions.exit_code == 0 and "+email:string" in versions.output
    assert "~age:int64→double" in versions.output
    one = json.loads(invoke(ctx.root, "table", "crm.users", "--version", "1", "--json").stdout)
    assert [c["name"] for c in one["columns"]] == ["id", "age"]
    diff = json.loads(invoke(ctx.root, "table", "crm.users", "--diff", "1:2", "--json").stdout)
    assert diff["changes"]["added"] == [{"name": "email", "type": "string"}]
    assert "crm" in invoke(ctx.root, "databases").output
    crawlers = json.loads(invoke(ctx.root, "crawlers", "--json").stdout)
    assert crawlers[0]["name"] == "crm" and crawlers[0]["last_run"]["updated"] == 1


def test_bad_references(ctx):
    result = invoke(ctx.root, "table", "no-dot")
    assert result.exit_code != 0 and "DATABASE.TABLE" in str(result.exception)
    result = invoke(ctx.root, "table", "a.b", "--diff", "x")
    assert result.exit_code != 0


def test_schema_on_a_folder_is_refused(ctx, tmp_path):
    lake = tmp_path / "lake" / "users"
    lake.mkdir(parents=True)
    pd.DataFrame({"id": [1, 2]}).to_csv(lake / "u.csv", index=False)
    result = invoke(ctx.root, "crawl", str(tmp_path / "lake"), "-d", "crm", "--schema", "public")
    assert isinstance(result.exception, InvalidParameter)
    assert "a folder of files has no schemas" in str(result.exception)
    assert json.loads(invoke(ctx.root, "crawlers", "--json").stdout) == []
