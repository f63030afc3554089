"""The engine's own guarantees: limits, clean-up, stopping, progress, input edge cases."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from siklus.data.recipes import Recipe, RecipeDataError, RecipeError, Step, preview_recipe
from siklus.data.recipes._engine import Engine, RecipeStopped, memory_limit_mib
from siklus.data.recipes._progress import reporting


def test_memory_limit_and_spill_folder_are_set_and_cleaned_up(tmp_path: Path):
    with Engine(tmp_path, memory_limit="300MB", threads=1) as engine:
        limit, spill, threads = engine.con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
            "current_setting('threads')"
        ).fetchone()
        assert limit.startswith("286") and spill.startswith(str(tmp_path)) and threads == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("text", "mib"), [("512MB", 488), ("2GB", 1907), ("1GiB", 1024)])
def test_memory_limit_sizes(text, mib):
    assert memory_limit_mib(text) == mib


def test_a_bad_memory_limit_is_refused(tmp_path):
    with pytest.raises(RecipeError, match="not a size"):
        memory_limit_mib("lots")
    with pytest.raises(RecipeError, match="Cannot start DuckDB with memory_limit='lots'"):
        Engine(tmp_path, memory_limit="lots")
    assert list(tmp_path.iterdir()) == []


def test_stop_interrupts_a_running_query(tmp_path):
    requested = time.monotonic() + 0.3
    with Engine(tmp_path, stop=lambda: time.monotonic() > requested) as engine:
        frame = engine.load_arrow(pa.table({"x": [1]}))
        endless = "(SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3)"
        slow = Recipe("slow", steps=[Step("derive", into="y", expression=endless)])
        last, _ = engine.compile(slow, frame)
        with pytest.raises(RecipeStopped):
            engine.write_parquet(last, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_progress_is_logged_while_a_query_runs(tmp_path, caplog):
    log = logging.getLogger("siklus.test.recipes")
    with (
        Engine(tmp_path) as engine,
        caplog.at_level(logging.INFO, logger=log.name),
        reporting(engine.con, log, "counting", every=0.1),
    ):
        engine.con.execute("SELECT count(*) FROM range(300000000) t(i) WHERE i % 7 = 3")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-1].startswith("progress: counting done in")
    assert any(line.startswith("progress: counting") and "%" in line for line in lines[:-1]), lines


def test_two_statements_in_an_expression_are_refused(tmp_path):
    with Engine(tmp_path) as engine:
        frame = engine.load_arrow(pa.table({"x": [1]}))
        sneaky = Recipe("r", steps=[Step("derive", into="y", expression="1; SELECT 2")])
        with pytest.raises(RecipeError, match=r"step 1 \(derive\): .*(statement|syntax)"):
            engine.compile(sneaky, frame)


def test_reserved_column_names_are_refused(tmp_path):
    with Engine(tmp_path) as engine, pytest.raises(RecipeDataError, match="reserved for siklus"):
        engine.load_arrow(pa.table({"__siklus_x": [1]}))
    recipe = Recipe("r", steps=[Step("copy_column", column="x", into="__siklus_row")])
    with Engine(tmp_path) as engine:
        frame = engine.load_arrow(pa.table({"x": [1]}))
        with pytest.raises(RecipeError, match=r"step 1 \(copy_column\): cannot create column"):
            engine.compile(recipe, frame)


def test_parquet_with_a_file_row_number_column_keeps_its_rows_in_order(tmp_path):
    path = tmp_path / "odd.parquet"
    pd.DataFrame({"file_row_number": [9, 8, 7], "v": ["a", "b", "c"]}).to_parquet(path)
    out, _ = preview_recipe(None, Recipe("r", steps=[Step("row_number")]), path)
    assert out.to_pydict() == {
        "file_row_number": [9, 8, 7],
        "v": ["a", "b", "c"],
        "row_number": [1, 2, 3],
    }


def test_preview_reads_only_the_first_rows_and_names_a_malformed_line(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1, x\n2,y \n3,z\n")
    out, _ = preview_recipe(None, Recipe("r", steps=[Step("trim", column="b")]), good, rows=2)
    assert out.to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n1\tx\n2\ty\t3\n")
    with pytest.raises(RecipeDataError, match=r"'bad\.tsv' \(before step 1\): line 3 is malformed"):
        preview_recipe(None, Recipe("r", steps=[Step("trim", column="b")]), bad)


def test_late_type_change_in_a_big_csv_names_the_line_and_column(tmp_path):
    path = tmp_path / "late.csv"
    rows = "".join(f"{i},{i}\n" for i in range(30000))
    path.write_text("a,b\n" + rows + "x,5\n")
    with pytest.raises(RecipeDataError) as info, Engine(tmp_path / "work") as engine:
        engine.load_csv(path, "late.csv")
    assert "line 30002 is malformed: column 'a': Could not convert string \"x\" to 'BIGINT'" in str(
        info.value
    )
    assert (info.value.column, info.value.row) == ("a", 30001)
