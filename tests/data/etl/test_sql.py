"""SQL connector against a real SQLite file and the real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from siklus.data import read_frame
from siklus.data.etl import list_sources, load_sql, masked_url
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.testing import postgres_schema, postgres_test_url

ORDERS = [
    (1, 10.5, "ann", "2024-01-01 09:00:00"),
    (2, None, "bob", "2024-01-02 09:00:00"),
    (3, 7.25, "cy", "2024-01-03 09:00:00"),
]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, customer TEXT, "
            "placed_at DATETIME)"
        )
        con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    return path


def test_a_sqlite_table_in_chunks_with_reflected_types(ctx, shop):
    result = load_sql(ctx, f"sqlite:///{shop}", "orders", table="orders", chunk_size=2)
    assert result.created and result.new_rows == 3
    _, loaded = read_frame(ctx, result.version)
    expected = pd.read_sql("SELECT * FROM orders", sa.create_engine(f"sqlite:///{shop}"))
    expected["placed_at"] = pd.to_datetime(expected["placed_at"])
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False)
    types = {c["name"]: c["type"] for c in result.version.schema}
    assert types == {"id": "int64", "amount": "double", "customer": "string",
                     "placed_at": "timestamp[us]"}  # fmt: skip
    again = load_sql(ctx, f"sqlite:///{shop}", "orders", table="orders", chunk_size=3)
    assert again.version.id == result.version.id and not again.created


def test_a_query(ctx, shop):
    result = load_sql(
        ctx, f"sqlite:///{shop}", "big", query="SELECT customer, amount * 2 AS double_amount "
        "FROM orders WHERE amount IS NOT NULL ORDER BY id",
    )  # fmt: skip
    _, loaded = read_frame(ctx, result.version)
    assert loaded.to_dict("records") == [
        {"customer": "ann", "double_amount": 21.0},
        {"customer": "cy", "double_amount": 14.5},
    ]


def test_incremental_by_an_integer_watermark(ctx, shop):
    url = f"sqlite:///{shop}"
    first = load_sql(ctx, url, "orders", table="orders", watermark="id", incremental=True)
    assert first.new_rows == 3 and first.watermark == 3
    with sqlite3.connect(shop) as con:
        con.execute("INSERT INTO orders VALUES (4, 1.0, 'dee', '2024-01-04 09:00:00')")
        con.execute("INSERT INTO orders VALUES (5, 2.0, 'eve', '2024-01-05 09:00:00')")
    second = load_sql(ctx, url, "orders", table="orders", watermark="id", incremental=True)
    assert second.new_rows == 2 and second.watermark == 5
    assert second.version.parent_id == first.version.id
    _, loaded = read_frame(ctx, second.version)
    assert loaded["id"].tolist() == [1, 2, 3, 4, 5]
    none = load_sql(ctx, url, "orders", table="orders", watermark="id", incremental=True)
    assert none.new_rows == 0 and none.version.id == second.version.id and none.watermark == 5
    [state] = list_sources(ctx)
    assert state["watermark"] == {"type": "int", "value": 5}


def test_incremental_by_a_timestamp_watermark_on_a_query(ctx, shop):
    url = f"sqlite:///{shop}"
    query = "SELECT id, customer, placed_at FROM orders"
    load_sql(ctx, url, "o", query=query, watermark="placed_at", incremental=True)
    with sqlite3.connect(shop) as con:
        con.execute("INSERT INTO orders VALUES (9, 1.0, 'zed', '2024-02-01 00:00:00')")
    second = load_sql(ctx, url, "o", query=query, watermark="placed_at", incremental=True)
    assert second.new_rows == 1 and second.watermark == "2024-02-01 00:00:00"
    assert read_frame(ctx, second.version)[1]["id"].tolist() == [1, 2, 3, 9]


def test_sql_errors_store_nothing(ctx, shop):
    url = f"sqlite:///{shop}"
    with sqlite3.connect(shop) as con:
        con.execute("INSERT INTO orders VALUES (4, 'lots', 'dee', '2024-01-04 09:00:00')")
    with pytest.raises(InvalidInput, match=r"Row 4 of table 'orders', column 'amount'.*'lots'"):
        load_sql(ctx, url, "orders", table="orders", chunk_size=2)
    with pytest.raises(NotFound, match="Table 'nope' does not exist"):
        load_sql(ctx, url, "orders", table="nope")
    with pytest.raises(InvalidInput, match="no such table"):
        load_sql(ctx, url, "orders", query="SELECT * FROM nope")
    with pytest.raises(InvalidParameter, match="exactly one of"):
        load_sql(ctx, url, "orders")
    with pytest.raises(InvalidParameter, match="needs a watermark"):
        load_sql(ctx, url, "orders", table="orders", incremental=True)
    with pytest.raises(InvalidParameter, match="not a column of table"):
        load_sql(ctx, url, "orders", table="orders", watermark="nope", incremental=True)
    with pytest.raises(InvalidParameter, match="not a SQLAlchemy URL"):
        load_sql(ctx, "not a url", "orders", table="orders")
    assert ctx.store.list_dataset_versions() == []


def test_the_password_is_never_stored():
    assert masked_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"


@pytest.mark.postgres
def test_postgres_table_incremental_by_timestamp(ctx):
    with postgres_schema(postgres_test_url()) as url:
        engine = sa.create_engine(url)
        with engine.begin() as con:
            con.execute(sa.text(
                "CREATE TABLE events (id bigint PRIMARY KEY, kind text, price numeric(10, 2), "
                "at timestamptz NOT NULL)"
            ))  # fmt: skip
            con.execute(
                sa.text("INSERT INTO events VALUES (:i, :k, :p, :a)"),
                [{"i": i, "k": f"k{i % 3}", "p": i * 1.25,
                  "a": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i)}
                 for i in range(25)],
            )  # fmt: skip
        first = load_sql(ctx, url, "events", table="events", watermark="at", incremental=True,
                         chunk_size=10)  # fmt: skip
        assert first.new_rows == 25
        with engine.begin() as con:
            con.execute(sa.text(
                "INSERT INTO events VALUES (100, 'new', 1.00, '2024-03-01T00:00:00Z')"
            ))  # fmt: skip
        second = load_sql(ctx, url, "events", table="events", watermark="at", incremental=True)
        assert second.new_rows == 1 and second.version.row_count == 26
        _, loaded = read_frame(ctx, second.version)
        expected = pd.read_sql("SELECT * FROM events ORDER BY at", engine)
        assert loaded["id"].tolist() == expected["id"].tolist()
        assert [float(v) for v in loaded["price"]] == [float(v) for v in expected["price"]]
        types = {c["name"]: c["type"] for c in second.version.schema}
        assert types["price"] == "decimal128(10, 2)" and types["at"] == "timestamp[us, tz=UTC]"
        [state] = list_sources(ctx)
        assert "secret" not in str(state) and state["url"] == masked_url(url)
        engine.dispose()
