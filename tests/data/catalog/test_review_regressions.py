"""Regressions found by reviewing the crawler with the inputs users produce."""

from __future__ import annotations

import sqlite3

import pytest

from siklus.data.catalog import crawl, get_table
from siklus.exceptions import NotFound


def test_semicolon_csv_gets_its_columns_like_the_loader(ctx, tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "a.csv").write_text("\ufeffid;price;name\n1;2.5;x\n2;3.5;y\n", encoding="utf-8")
    crawl(ctx, str(lake), "shop")
    table = get_table(ctx, "shop", "lake")
    assert [(c.name, c.type) for c in table.columns] == [
        ("id", "int64"),
        ("price", "double"),
        ("name", "string"),
    ]


def test_hidden_folders_are_not_tables(ctx, tmp_path):
    lake = tmp_path / "lake"
    (lake / "orders").mkdir(parents=True)
    (lake / ".cache").mkdir()
    (lake / "orders" / "a.csv").write_text("id\n1\n")
    (lake / ".cache" / "b.csv").write_text("id\n2\n")
    result = crawl(ctx, str(lake), "shop")
    assert [t["table"] for t in result.tables] == ["shop.orders"]


def test_a_missing_sqlite_file_is_not_created(ctx, tmp_path):
    missing = tmp_path / "app.db"
    with pytest.raises(NotFound, match="does not exist"):
        crawl(ctx, f"sqlite:///{missing}", "app")
    assert not missing.exists()


def test_a_csv_column_that_changes_type_after_the_first_block_becomes_string(ctx, tmp_path):
    lake = tmp_path / "big"
    lake.mkdir()
    lines = ["id,v"] + [f"{i},{i}" for i in range(200_000)] + ["A-17,5"]
    (lake / "b.csv").write_text("\n".join(lines) + "\n")
    result = crawl(ctx, str(lake), "big")
    assert result.errors == []
    table = get_table(ctx, "big", "big")
    assert [(c.name, c.type) for c in table.columns] == [("id", "string"), ("v", "int64")]
    assert table.stats["rows"] == 200_001


def test_sql_tables_whose_names_clean_to_the_same_name_stay_apart(ctx, tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as con:
        con.execute('CREATE TABLE "my.t" (x INTEGER)')
        con.execute("CREATE TABLE my_t (y TEXT)")
    for _ in range(2):
        result = crawl(ctx, f"sqlite:///{path}", "app")
    assert [(t["table"], t["action"]) for t in result.tables] == [
        ("app.my_t", "unchanged"),
        ("app.my_t_2", "unchanged"),
    ]
    assert get_table(ctx, "app", "my_t").location.endswith("#my.t")
    assert [c.name for c in get_table(ctx, "app", "my_t_2").columns] == ["y"]


def test_jsonl_with_a_key_of_mixed_types_is_cataloged_like_the_loader_reads_it(ctx, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1, "n": {"x": 1}}\n{"a": "s", "n": {"x": 2}}\n{"a": null}\n')
    result = crawl(ctx, str(path), "ev")
    assert result.errors == []
    table = get_table(ctx, "ev", "events")
    assert [(c.name, c.type) for c in table.columns] == [("a", "string"), ("n", "struct<x: int64>")]
    assert table.stats["rows"] == 3
