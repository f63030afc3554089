"""Crawlers and the catalog: tables, partitions, statistics, schema versions and diffs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from siklus.data.catalog import (
    crawl,
    crawler_runs,
    diff_versions,
    get_table,
    get_table_version,
    list_crawlers,
    list_databases,
    list_tables,
    table_versions,
)
from siklus.exceptions import InvalidParameter, NotFound
from siklus.testing import postgres_schema, postgres_test_url


def write_orders(lake: Path, frame: pd.DataFrame) -> None:
    for year, part in frame.groupby("year"):
        folder = lake / "orders" / f"year={year}"
        folder.mkdir(parents=True, exist_ok=True)
        part.drop(columns="year").to_parquet(folder / "part-0.parquet", index=False)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    write_orders(lake, pd.DataFrame(
        {"id": [1, 2, 3], "amount": [1.5, 2.5, 4.0], "year": [2023, 2023, 2024]}
    ))  # fmt: skip
    (lake / "customers").mkdir()
    pd.DataFrame({"cid": [1, 2], "name": ["a", "b"]}).to_csv(
        lake / "customers" / "c.csv", index=False
    )
    return lake


def test_a_folder_becomes_tables_with_partitions_and_statistics(ctx, lake):
    result = crawl(ctx, str(lake), "shop")
    assert [(t["table"], t["action"], t["version"]) for t in result.tables] == [
        ("shop.customers", "created", 1),
        ("shop.orders", "created", 1),
    ]
    orders = get_table(ctx, "shop", "orders")
    assert orders.format == "parquet" and orders.location == str(lake / "orders")
    assert [(c.name, c.type) for c in orders.columns] == [("id", "int64"), ("amount", "double")]
    assert [(c.name, c.type) for c in orders.partition_keys] == [("year", "int64")]
    files = sorted((lake / "orders").rglob("*.parquet"))
    assert orders.stats["rows"] == sum(pq.read_metadata(f).num_rows for f in files) == 3
    assert orders.stats["bytes"] == sum(f.stat().st_size for f in files)
    assert orders.stats["files"] == 2 and orders.stats["partitions"] == 2
    assert orders.stats["last_crawled"]
    customers = get_table(ctx, "shop", "customers")
    assert customers.format == "csv" and customers.stats["rows"] == 2
    assert [d["name"] for d in list_databases(ctx)] == ["shop"]
    assert list_databases(ctx)[0]["tables"] == 2
    [crawler] = list_crawlers(ctx)
    assert crawler["name"] == "shop" and crawler["last_run"]["created"] == 2


def test_schema_changes_are_table_versions_with_the_diff(ctx, lake):
    crawl(ctx, str(lake), "shop")
    again = crawl(ctx, str(lake), "shop")
    assert {t["action"] for t in again.tables} == {"unchanged"}
    assert len(table_versions(ctx, "shop", "orders")) == 1

    # A column was added: a new version with the change.
    write_orders(lake, pd.DataFrame(
        {"id": [1, 2, 3], "amount": [1.5, 2.5, 4.0], "channel": ["web", "shop", "web"],
         "year": [2023, 2023, 2024]}
    ))  # fmt: skip
    added = crawl(ctx, str(lake), "shop")
    change = next(t for t in added.tables if t["table"] == "shop.orders")
    assert change["action"] == "updated" and change["version"] == 2
    assert change["changes"] == {
        "added": [{"name": "channel", "type": "string"}],
        "removed": [],
        "retyped": [],
    }

    # A column retyped (int → string) and one removed.
    write_orders(lake, pd.DataFrame(
        {"id": ["a1", "a2", "a3"], "channel": ["web", "shop", "web"], "year": [2023, 2023, 2024]}
    ))  # fmt: skip
    crawl(ctx, str(lake), "shop")
    versions = table_versions(ctx, "shop", "orders")
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[2].changes == {
        "added": [],
        "removed": [{"name": "amount", "type": "double"}],
        "retyped": [{"name": "id", "from": "int64", "to": "string"}],
    }
    assert [c.name for c in versions[0].columns] == ["id", "amount"]
    assert get_table_version(ctx, "shop", "orders").version == 3
    assert get_table(ctx, "shop", "orders").version == 3
    whole = diff_versions(ctx, "shop", "orders", 1, 3)["changes"]
    assert whole["added"] == [{"name": "channel", "type": "string"}]
    assert whole["removed"] == [{"name": "amount", "type": "double"}]

    # Re-crawling with no change adds no version (statistics are refreshed).
    before = get_table(ctx, "shop", "orders").stats["last_crawled"]
    crawl(ctx, str(lake), "shop")
    assert len(table_versions(ctx, "shop", "orders")) == 3
    assert get_table(ctx, "shop", "orders").stats["last_crawled"] >= before
    assert [run["tables"][1]["action"] for run in crawler_runs(ctx, "shop")] == [
        "created", "unchanged", "updated", "updated", "unchanged",
    ]  # fmt: skip


def test_partition_keys_and_missing_tables(ctx, lake):
    crawl(ctx, str(lake), "shop")
    for folder in (lake / "customers",):
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    (lake / "orders" / "year=2025" / "region=eu").mkdir(parents=True)
    pd.DataFrame({"id": [9], "amount": [1.0]}).to_parquet(
        lake / "orders" / "year=2025" / "region=eu" / "p.parquet", index=False
    )
    result = crawl(ctx, str(lake), "shop")
    assert result.missing == ["shop.customers"]
    assert get_table(ctx, "shop", "customers").missing_since
    orders = get_table(ctx, "shop", "orders")
    assert [c.name for c in orders.partition_keys] == ["year", "region"]
    assert table_versions(ctx, "shop", "orders")[-1].changes["partition_keys"]["to"] == [
        {"name": "year", "type": "int64"}, {"name": "region", "type": "string"},
    ]  # fmt: skip


def test_unreadable_files_are_reported_not_fatal(ctx, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "good.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    (folder / "bad.parquet").write_bytes(b"not parquet at all")
    result = crawl(ctx, str(folder), "raw")
    assert [t["table"] for t in result.tables] == ["raw.raw_jsonl"]
    assert result.errors and result.errors[0]["file"].endswith("bad.parquet")
    assert get_table(ctx, "raw", "raw_jsonl").stats["rows"] == 2


def test_an_fsspec_url_and_a_glob(ctx):
    fs = fsspec.filesystem("memory")
    fs.pipe("/crawl/events/day=1/a.jsonl", b'{"e": "x", "v": 1}\n')
    fs.pipe("/crawl/events/day=2/b.jsonl", b'{"e": "y", "v": 2.5}\n')
    try:
        crawl(ctx, "memory://crawl", "mem")
        events = get_table(ctx, "mem", "events")
        assert [(c.name, c.type) for c in events.columns] == [("e", "string"), ("v", "double")]
        assert events.location == "memory:///crawl/events" and events.stats["rows"] == 2
        crawl(ctx, "memory://crawl/events/*/*.jsonl", "glob")
        assert [t.name for t in list_tables(ctx, "glob")] == ["events"]
    finally:
        fs.rm("/crawl", recursive=True)


def test_a_sqlite_database(ctx, tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        con.execute("CREATE TABLE visits (user_id INTEGER, at DATETIME)")
        con.executemany("INSERT INTO users VALUES (?, ?)", [(1, "a@x"), (2, "b@x")])
    url = f"sqlite:///{path}"
    crawl(ctx, url, "app")
    users = get_table(ctx, "app", "users")
    assert users.format == "sql" and users.location == f"{url}#users"
    assert [(c.name, c.type) for c in users.columns] == [("id", "INTEGER"), ("email", "TEXT")]
    assert users.stats["rows"] == 2 and get_table(ctx, "app", "visits").stats["rows"] == 0
    with sqlite3.connect(path) as con:
        con.execute("ALTER TABLE users ADD COLUMN age INTEGER")
    result = crawl(ctx, url, "app")
    assert next(t for t in result.tables if t["table"] == "app.users")["changes"]["added"] == [
        {"name": "age", "type": "INTEGER"}
    ]


def test_errors(ctx, lake, tmp_path):
    crawl(ctx, str(lake), "shop")
    with pytest.raises(InvalidParameter, match="own name"):
        crawl(ctx, str(tmp_path), "shop")
    with pytest.raises(NotFound, match="Nothing exists"):
        crawl(ctx, str(tmp_path / "absent"), "other")
    with pytest.raises(NotFound, match="does not exist in catalog database 'shop'"):
        get_table(ctx, "shop", "nope")
    with pytest.raises(NotFound, match="has no version 7"):
        get_table_version(ctx, "shop", "orders", 7)
    with pytest.raises(NotFound, match="Catalog database 'none'"):
        list_tables(ctx, "none")
    with pytest.raises(InvalidParameter, match="Database name"):
        crawl(ctx, str(lake), "a.b")


def test_schema_is_for_sql_and_format_for_files(ctx, lake, tmp_path):
    with pytest.raises(InvalidParameter, match="--schema 'public' names a schema of a SQL"):
        crawl(ctx, str(lake), "shop", schema="public")
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(InvalidParameter, match="--format 'csv' applies to data files"):
        crawl(ctx, f"sqlite:///{path}", "app", format="csv")
    # Refused before anything is scanned or recorded.
    assert list_crawlers(ctx) == [] and list_databases(ctx) == []
    crawl(ctx, f"sqlite:///{path}", "app", schema="main")
    assert [t.name for t in list_tables(ctx, "app")] == ["users"]


@pytest.mark.postgres
def test_a_postgres_database(ctx):
    with postgres_schema(postgres_test_url()) as url:
        engine = sa.create_engine(url)
        with engine.begin() as con:
            con.execute(sa.text("CREATE TABLE items (id int, price numeric(8, 2), name text)"))
            con.execute(sa.text("INSERT INTO items VALUES (1, 2.50, 'a'), (2, 3.00, 'b')"))
        crawl(ctx, url, "pg")
        items = get_table(ctx, "pg", "items")
        assert [(c.name, c.type) for c in items.columns] == [
            ("id", "INTEGER"), ("price", "NUMERIC(8, 2)"), ("name", "TEXT"),
        ]  # fmt: skip
        assert items.stats["rows"] == 2 and items.stats["bytes"] > 0
        password = sa.engine.make_url(url).password
        assert f":{password}@" not in items.location
        with engine.begin() as con:
            con.execute(sa.text("ALTER TABLE items ALTER COLUMN id TYPE bigint"))
            con.execute(sa.text("ALTER TABLE items DROP COLUMN name"))
        crawl(ctx, url, "pg")
        assert table_versions(ctx, "pg", "items")[-1].changes == {
            "added": [],
            "removed": [{"name": "name", "type": "TEXT"}],
            "retyped": [{"name": "id", "from": "INTEGER", "to": "BIGINT"}],
        }
        engine.dispose()
