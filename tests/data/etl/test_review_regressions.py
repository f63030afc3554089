"""Regressions found by reviewing the connectors with the inputs users produce."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from siklus.data import read_frame
from siklus.data.etl import _state, list_sources, load_files, load_sql, source_runs, stream_jsonl
from siklus.exceptions import InvalidInput, InvalidState, NotFound


def test_hidden_and_underscore_folders_are_skipped(ctx, tmp_path):
    raw = tmp_path / "raw"
    (raw / ".ipynb_checkpoints").mkdir(parents=True)
    (raw / "_temporary" / "0").mkdir(parents=True)
    (raw / "a.csv").write_text("id,x\n1,2\n")
    (raw / ".ipynb_checkpoints" / "a-checkpoint.csv").write_text("id,x\n1,2\n")
    (raw / "_temporary" / "0" / "part.csv").write_text("id,x\n9,9\n")
    result = load_files(ctx, str(raw), "events")
    assert result.files == [str(raw / "a.csv")]
    assert read_frame(ctx, result.version)[1].to_dict("list") == {"id": [1], "x": [2]}
    # a file named explicitly is loaded even when its name starts with "_"
    (raw / "_manual.csv").write_text("id,x\n5,6\n")
    assert load_files(ctx, str(raw / "_manual.csv"), "manual").new_rows == 1


def test_jsonl_values_of_mixed_types_are_stored_without_json_quotes(ctx, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"a": 1, "b": "x"}\n{"a": "s", "b": "y"}\n{"a": null, "b": "z"}\n')
    _, frame = read_frame(ctx, load_files(ctx, str(path), "mixed").version)
    assert frame["a"].tolist()[:2] == ["1", "s"]
    assert frame["a"].isna().tolist() == [False, False, True]
    assert frame["b"].tolist() == ["x", "y", "z"]


def test_a_csv_that_is_not_utf8_names_the_encoding_and_the_right_line(ctx, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,city\nann,Paris\nbob,Z\xfcrich\n")
    with pytest.raises(InvalidInput, match=r"line 3 is not UTF-8.*0xfc.*iconv"):
        load_files(ctx, str(path), "people")
    assert ctx.store.list_dataset_versions("people") == []


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE orders (id INTEGER, amount REAL)")
        con.execute("INSERT INTO orders VALUES (1, 2.5), (2, 3.5)")
        con.execute('CREATE TABLE "sales.2024" (id INTEGER)')
        con.execute('INSERT INTO "sales.2024" VALUES (7)')
    return path


def test_a_query_with_no_rows_keeps_its_columns(ctx, shop):
    result = load_sql(
        ctx, f"sqlite:///{shop}", "none", query="SELECT id, amount FROM orders WHERE 1 = 0"
    )
    _, frame = read_frame(ctx, result.version)
    assert list(frame.columns) == ["id", "amount"] and len(frame) == 0


def test_a_table_name_with_a_dot(ctx, shop):
    result = load_sql(ctx, f"sqlite:///{shop}", "sales", table="sales.2024")
    assert read_frame(ctx, result.version)[1]["id"].tolist() == [7]
    with pytest.raises(NotFound, match=r"'nope\.orders' does not exist"):
        load_sql(ctx, f"sqlite:///{shop}", "x", table="nope.orders")


def test_a_file_that_is_not_a_database_or_does_not_exist(ctx, tmp_path):
    notdb = tmp_path / "notes.db"
    notdb.write_text("just some text, not SQLite\n")
    with pytest.raises(InvalidInput, match="file is not a database"):
        load_sql(ctx, f"sqlite:///{notdb}", "x", table="orders")
    missing = tmp_path / "missing.db"
    with pytest.raises(NotFound, match="does not exist"):
        load_sql(ctx, f"sqlite:///{missing}", "x", table="orders")
    assert not missing.exists()  # SQLite would have created an empty file


def test_an_incremental_run_with_nothing_new_is_recorded(ctx, tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    first = load_files(ctx, str(tmp_path / "*.csv"), "events", incremental=True)
    again = load_files(ctx, str(tmp_path / "*.csv"), "events", incremental=True)
    assert again.version == first.version and not again.created and again.new_rows == 0
    runs = source_runs(ctx, "events")
    assert [r["new_rows"] for r in runs] == [1, 0]
    assert list_sources(ctx)[0]["runs"] == 2
    assert [v.version for v in ctx.store.list_dataset_versions("events")] == [1]


def test_two_first_runs_of_one_source_at_once_give_the_clear_conflict_error(ctx, tmp_path):
    state = _state.load_state(ctx, "events")  # both runs read "no state yet"
    other = _state.load_state(ctx, "events")
    _state.save_state(ctx, state, {"new_rows": 1})
    with pytest.raises(InvalidState, match="advanced by another run"):
        _state.save_state(ctx, other, {"new_rows": 1})


def test_a_jsonl_file_that_is_not_utf8_names_the_right_line(ctx, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    with pytest.raises(InvalidInput, match=r"line 2 is not UTF-8"):
        load_files(ctx, str(path), "events")


def test_a_tailed_jsonl_line_that_is_not_utf8_stops_instead_of_storing_mangled_text(ctx, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"city": "Paris"}\n{"city": "Z\xfcrich"}\n')
    with pytest.raises(InvalidInput, match=r"line 2 is not UTF-8 \(byte 0xfc"):
        stream_jsonl(ctx, path, "events", max_batches=1, idle_timeout=0.1, poll_interval=0.05)
    assert ctx.store.list_dataset_versions() == []
