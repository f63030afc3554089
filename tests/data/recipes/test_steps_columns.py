"""Column steps against pandas: select, drop, rename, cast, derive, combine, replace, flags."""

from __future__ import annotations

import pandas as pd
import pytest

from siklus.data.recipes import Step


def test_select_keeps_listed_columns_in_order(run, same, frame):
    same(run(frame, Step("select", columns=["grp", "int", "num"])), frame[["grp", "int", "num"]])


def test_drop_columns(run, same, frame):
    out = run(frame, Step("drop_columns", columns=["pair", "contact"]))
    same(out, frame.drop(columns=["pair", "contact"]))
    same(run(frame, Step("drop_columns", column="ts")), frame.drop(columns=["ts"]))


def test_rename_keeps_positions(run, same, frame):
    mapping = {"int": "integer", "grp": "group"}
    same(run(frame, Step("rename", mapping=mapping)), frame.rename(columns=mapping))


def test_cast_to_text_and_to_timestamp(run, same, frame):
    out = run(
        frame,
        Step("cast", column="int", to="VARCHAR"),
        Step("cast", column="ts_text", to="TIMESTAMP"),
    )
    expected = frame.assign(int=frame["int"].astype(str), ts_text=pd.to_datetime(frame["ts_text"]))
    same(out, expected)


def test_cast_with_on_error_null_matches_to_numeric_coerce(run, same, frame):
    df = frame.assign(s=[str(i) if i % 5 else "bad" for i in range(len(frame))])
    out = run(df, Step("cast", column="s", to="BIGINT", on_error="null", suffix="_n"))
    same(out, df.assign(s_n=pd.to_numeric(df["s"], errors="coerce").astype("Int64")))


def test_derive(run, same, frame):
    out = run(frame, Step("derive", into="total", expression="int * 2 + pos"))
    same(out, frame.assign(total=frame["int"] * 2 + frame["pos"]), exact=False)
    overwritten = run(frame, Step("derive", into="int", expression="int + 1"))
    same(overwritten, frame.assign(int=frame["int"] + 1))


def test_copy_column(run, same, frame):
    same(run(frame, Step("copy_column", column="grp", into="g2")), frame.assign(g2=frame["grp"]))


def test_coalesce_treats_nan_as_missing(run, same, frame):
    out = run(frame, Step("coalesce", columns=["num", "neg"], into="num"))
    same(out, frame.assign(num=frame["num"].fillna(frame["neg"])), exact=False)


def test_concat_skips_missing_values(run, same, frame):
    out = run(frame, Step("concat", columns=["grp", "int", "cat"], into="label", separator="-"))

    def join(row: pd.Series) -> str:
        return "-".join(str(v) for v in row if v is not None and v == v)

    same(out, frame.assign(label=frame[["grp", "int", "cat"]].astype(object).apply(join, axis=1)))


def test_replace_values_text(run, same, frame):
    mapping = {"a": "A", "b": None}
    out = run(frame, Step("replace_values", column="cat", mapping=mapping))
    expected = frame["cat"].map(lambda v: mapping.get(v, v) if v is not None else None)
    same(out, frame.assign(cat=expected))


def test_replace_values_numeric_keeps_numbers(run, same, frame):
    out = run(frame, Step("replace_values", columns=["key"], mapping={"1": 100, "2": -2}))
    same(out, frame.assign(key=frame["key"].replace({1: 100, 2: -2})))
    assert pd.api.types.is_integer_dtype(out["key"])


@pytest.mark.parametrize("suffix", ["_missing", "_isna"])
def test_missing_indicator(run, same, frame, suffix):
    out = run(frame, Step("missing_indicator", columns=["num", "cat"], suffix=suffix))
    expected = frame.assign(
        **{
            f"num{suffix}": frame["num"].isna().astype(int),
            f"cat{suffix}": frame["cat"].isna().astype(int),
        }
    )
    same(out, expected)
