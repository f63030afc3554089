"""File connector: CSV / Parquet / JSON Lines, globs, fsspec URLs, errors, incremental loads."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from siklus.data import read_frame
from siklus.data.etl import list_files, list_sources, load_files, source_runs
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound


def frame(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(start, start + n),
            "x": [i * 0.5 for i in range(n)],
            "s": ["a", "b"] * (n // 2),
        }
    )


def test_a_glob_of_csv_files_loads_in_path_order(ctx, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    frame(0, 4).to_csv(raw / "a.csv", index=False)
    frame(4, 6).to_csv(raw / "b.csv", index=False)
    (raw / "notes.md").write_text("ignored: not a data file")
    result = load_files(ctx, str(raw / "*.csv"), "events")
    assert result.created and result.new_rows == 10 and len(result.files) == 2
    _, loaded = read_frame(ctx, result.version)
    expected = pd.concat([frame(0, 4), frame(4, 6)], ignore_index=True)
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False)
    assert result.version.row_count == 10
    assert result.version.source == f"files:{raw / '*.csv'}"


def test_same_content_gives_the_same_version(ctx, tmp_path):
    frame(0, 6).to_csv(tmp_path / "a.csv", index=False)
    first = load_files(ctx, str(tmp_path / "a.csv"), "events")
    again = load_files(ctx, str(tmp_path), "events")  # the folder holds the same one file
    assert again.version.id == first.version.id and not again.created
    assert [v.version for v in ctx.store.list_dataset_versions("events")] == [1]


def test_parquet_and_jsonl_with_format_inference(ctx, tmp_path):
    frame(0, 4).to_parquet(tmp_path / "a.parquet", index=False)
    frame(4, 2).to_json(tmp_path / "b.jsonl", orient="records", lines=True)
    parquet = load_files(ctx, str(tmp_path / "a.parquet"), "p")
    jsonl = load_files(ctx, str(tmp_path / "b.jsonl"), "j")
    pd.testing.assert_frame_equal(read_frame(ctx, parquet.version)[1], frame(0, 4))
    pd.testing.assert_frame_equal(
        read_frame(ctx, jsonl.version)[1], frame(4, 2).reset_index(drop=True), check_dtype=False
    )
    (tmp_path / "c.data").write_text('{"id": 1}\n')
    forced = load_files(ctx, str(tmp_path / "c.data"), "forced", format="jsonl")
    assert forced.version.row_count == 1
    with pytest.raises(InvalidParameter, match="Cannot tell the format"):
        load_files(ctx, str(tmp_path / "c.data"), "forced")
    with pytest.raises(InvalidParameter, match="not supported"):
        load_files(ctx, str(tmp_path / "c.data"), "forced", format="xml")


def test_memory_urls_and_hive_partitions(ctx, memfs):
    memfs.pipe("/lake/sales/year=2023/part-0.jsonl", b'{"amount": 1.5}\n{"amount": 2.0}\n')
    memfs.pipe("/lake/sales/year=2024/part-0.jsonl", b'{"amount": 3.0, "note": "x"}\n')
    result = load_files(ctx, "memory://lake/sales", "sales")
    _, loaded = read_frame(ctx, result.version)
    assert loaded["amount"].tolist() == [1.5, 2.0, 3.0]
    assert loaded["year"].tolist() == ["2023", "2023", "2024"]
    assert loaded["note"].isna().tolist() == [True, True, False]
    globbed = load_files(ctx, "memory://lake/sales/year=2024/*.jsonl", "sales2024")
    assert globbed.version.row_count == 1


def test_a_malformed_csv_row_names_the_file_and_line_and_stores_nothing(ctx, tmp_path):
    good = tmp_path / "good.csv"
    frame(0, 4).to_csv(good, index=False)
    bad = tmp_path / "later.csv"
    bad.write_text("id,x,s\n1,0.5,a\n2,1.0,b\n3,1.5,c,EXTRA\n4,2.0,d\n")
    with pytest.raises(InvalidInput) as caught:
        load_files(ctx, str(tmp_path / "*.csv"), "events")
    assert str(bad) in caught.value.message and "line 4" in caught.value.message
    assert "4 fields where the header has 3" in caught.value.message
    assert ctx.store.list_dataset_versions() == []
    assert not [p for p in ctx.state_dir.iterdir() if p.name.startswith(".etl-")]


def test_a_long_csv_with_a_bad_value_late_names_the_line(ctx, tmp_path):
    path = tmp_path / "long.csv"
    # Past DuckDB's type-sniffing sample (20,480 lines), so the type is already fixed.
    lines = ["id,value"] + [f"{i},{i}" for i in range(30000)] + ["30000,not-a-number"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInput, match=r"line 30002 .*column 'value'"):
        load_files(ctx, str(path), "long")
    assert ctx.store.list_dataset_versions() == []


def test_a_bad_jsonl_line_and_a_missing_file(ctx, tmp_path, memfs):
    memfs.pipe("/in/a.jsonl", b'{"a": 1}\n{"a": 2\n{"a": 3}\n')
    with pytest.raises(InvalidInput, match=r"memory:///in/a.jsonl'?: line 2 is not valid JSON"):
        load_files(ctx, "memory://in/a.jsonl", "j")
    (tmp_path / "list.jsonl").write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(InvalidInput, match="line 2 is a JSON list"):
        load_files(ctx, str(tmp_path / "list.jsonl"), "j")
    with pytest.raises(NotFound, match="Nothing exists"):
        load_files(ctx, str(tmp_path / "absent.csv"), "j")
    with pytest.raises(NotFound, match="No CSV, Parquet or JSON Lines file"):
        load_files(ctx, str(tmp_path / "*.parquet"), "j")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidInput, match="is empty"):
        load_files(ctx, str(tmp_path / "empty.csv"), "j")
    assert ctx.store.list_dataset_versions() == []


def test_header_only_csv_files_give_an_empty_version_with_their_columns(ctx, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("id,x,s\n")
    (raw / "b.csv").write_text("id,x,s,extra\n")
    empty = load_files(ctx, str(raw), "empty")
    assert empty.created and empty.new_rows == 0 and empty.version.row_count == 0
    # As an empty SQL table or query: the columns, typed string.
    assert [(c["name"], c["type"]) for c in empty.version.schema] == [
        ("id", "string"), ("x", "string"), ("s", "string"), ("extra", "string")]  # fmt: skip

    frame(0, 4).to_csv(raw / "c.csv", index=False)  # a file with rows: header-only ones add none
    mixed = load_files(ctx, str(raw / "*.csv"), "mixed")
    pd.testing.assert_frame_equal(read_frame(ctx, mixed.version)[1], frame(0, 4))
    assert {c["name"]: c["type"] for c in mixed.version.schema}["id"] == "int64"

    (tmp_path / "a.jsonl").write_text("")  # no rows and no columns to take
    with pytest.raises(InvalidInput, match="hold no rows"):
        load_files(ctx, str(tmp_path / "a.jsonl"), "j")
    # Blank lines: no rows and no columns either (not DuckDB's stand-in column "json").
    (tmp_path / "b.jsonl").write_text("\n\n")
    with pytest.raises(InvalidInput, match="hold no rows"):
        load_files(ctx, str(tmp_path / "b.jsonl"), "j")
    assert ctx.store.list_dataset_versions("j") == []


def test_an_incremental_load_of_only_header_lines_stores_nothing_yet(ctx, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "day0.csv").write_text("id,x,s\n")
    first = load_files(ctx, str(raw), "events", incremental=True)
    assert first.version is None and not first.created and first.new_rows == 0
    assert ctx.store.list_dataset_versions("events") == []
    frame(0, 4).to_csv(raw / "day1.csv", index=False)
    second = load_files(ctx, str(raw), "events", incremental=True)
    assert second.version.version == 1 and second.new_rows == 4
    assert {c["name"]: c["type"] for c in second.version.schema}["x"] == "double"


def test_incremental_loads_only_new_files_and_appends(ctx, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    frame(0, 4).to_csv(raw / "day1.csv", index=False)
    first = load_files(ctx, str(raw), "events", incremental=True)
    assert first.version.version == 1 and first.new_rows == 4 and first.source == "events"

    frame(4, 2).to_csv(raw / "day2.csv", index=False)
    second = load_files(ctx, str(raw), "events", incremental=True)
    assert second.files == [str(raw / "day2.csv")] and second.skipped_files == 1
    assert second.new_rows == 2 and second.version.version == 2
    assert second.version.parent_id == first.version.id
    _, loaded = read_frame(ctx, second.version)
    expected = pd.concat([frame(0, 4), frame(4, 2)], ignore_index=True)
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False)

    nothing = load_files(ctx, str(raw), "events", incremental=True)
    assert nothing.new_rows == 0 and not nothing.created and nothing.version.id == second.version.id

    edges = {
        (e.source_type, e.target_id, e.relation)
        for e in ctx.store.list_lineage(second.version.id, "upstream")
    }
    assert ("dataset", second.version.id, "appended") in edges
    assert ("etl-source", second.version.id, "loaded") in edges
    [state] = list_sources(ctx)
    assert state["version_id"] == second.version.id and len(state["files"]) == 2
    assert [run["new_rows"] for run in source_runs(ctx, "events")] == [
        4,
        2,
        0,
    ]  # the run with nothing new too

    # A rewritten file (new size and mtime) counts as new and is loaded again.
    frame(100, 2).to_csv(raw / "day2.csv", index=False)
    os.utime(raw / "day2.csv", (1, 1))
    third = load_files(ctx, str(raw), "events", incremental=True)
    assert third.new_rows == 2 and third.version.row_count == 8


def test_incremental_memory_files_and_a_name_clash(ctx, memfs):
    memfs.pipe("/in/a.csv", b"k,v\n1,2\n")
    load_files(ctx, "memory://in/*.csv", "mem", incremental=True)
    memfs.pipe("/in/b.csv", b"k,v\n3,4\n")
    result = load_files(ctx, "memory://in/*.csv", "mem", incremental=True)
    assert result.new_rows == 1 and result.version.row_count == 2
    entry = list_files("memory://in/b.csv")[0]
    assert "sha256" in entry.fingerprint or "mtime" in entry.fingerprint
    with pytest.raises(InvalidParameter, match="own source name"):
        load_files(ctx, "memory://other/*.csv", "mem", incremental=True)


def test_locations_that_are_not_files(ctx):
    with pytest.raises(InvalidParameter, match=r"is a database URL.*--table / --query"):
        load_files(ctx, "sqlite:///x.db", "d")
    with pytest.raises(InvalidParameter, match="not a path or a URL fsspec knows"):
        load_files(ctx, "nosuchproto://x/*.csv", "d")


def test_bad_names(ctx, tmp_path: Path):
    frame(0, 2).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(InvalidParameter, match="Dataset name"):
        load_files(ctx, str(tmp_path / "a.csv"), "bad name")
    with pytest.raises(InvalidParameter, match="Source name"):
        load_files(ctx, str(tmp_path / "a.csv"), "ok", incremental=True, source="../x")


def test_how_rows_are_split_into_files_does_not_change_the_version(ctx, tmp_path, monkeypatch):
    import siklus.data.etl._write as write

    monkeypatch.setattr(write, "BATCH_ROWS", 3)  # several row groups from a few rows
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    rows = frame(0, 10)
    rows.to_csv(one / "all.csv", index=False)
    rows.iloc[:4].to_csv(two / "a.csv", index=False)
    rows.iloc[4:].to_csv(two / "b.csv", index=False)
    first = load_files(ctx, str(one), "same")
    second = load_files(ctx, str(two), "same")
    assert second.version.sha256 == first.version.sha256 and not second.created
    import pyarrow.parquet as pq

    meta = pq.read_metadata(ctx.artifacts.local_path(first.version.sha256))
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3, 3, 1]


def test_two_runs_of_one_source_cannot_both_advance_it(ctx, tmp_path):
    from siklus.data.etl._state import load_state, save_state
    from siklus.exceptions import InvalidState

    frame(0, 2).to_csv(tmp_path / "a.csv", index=False)
    load_files(ctx, str(tmp_path), "events", incremental=True)
    mine, theirs = load_state(ctx, "events"), load_state(ctx, "events")
    save_state(ctx, theirs, {"new_rows": 0})
    with pytest.raises(InvalidState, match="advanced by another run"):
        save_state(ctx, mine, {"new_rows": 0})


def test_the_package_exports_load_lazily(ctx, tmp_path):
    import siklus.data

    frame(0, 2).to_csv(tmp_path / "a.csv", index=False)
    assert siklus.data.load_files(ctx, str(tmp_path / "a.csv"), "lazy").new_rows == 2
    with pytest.raises(AttributeError):
        siklus.data.no_such_name  # noqa: B018
