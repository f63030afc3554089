"""Row steps against pandas: duplicates, missing rows, filter, sample, sort, limit, numbering."""

from __future__ import annotations

import pandas as pd
import pytest

from siklus.data.recipes import Step


def test_drop_duplicates_all_columns(run, same, frame):
    df = frame[["grp", "key"]]
    same(run(df, Step("drop_duplicates")), df.drop_duplicates())


@pytest.mark.parametrize("keep", ["first", "last"])
def test_drop_duplicates_by_key(run, same, frame, keep):
    expected = frame.drop_duplicates(subset=["grp", "key"], keep=keep)
    same(run(frame, Step("drop_duplicates", columns=["grp", "key"], keep=keep)), expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, lambda df: df.dropna()),
        ({"columns": ["num", "cat"]}, lambda df: df.dropna(subset=["num", "cat"])),
        (
            {"columns": ["num", "cat"], "how": "all"},
            lambda df: df.dropna(subset=["num", "cat"], how="all"),
        ),
    ],
)
def test_drop_missing(run, same, frame, params, expected):
    same(run(frame, Step("drop_missing", **params)), expected(frame))


def test_filter(run, same, frame):
    out = run(frame, Step("filter", expression="int > 40 AND grp <> 'x' AND num IS NOT NULL"))
    same(out, frame[(frame["int"] > 40) & (frame["grp"] != "x") & frame["num"].notna()])


def test_sample_fraction_is_a_seeded_subset_in_input_order(run, same, frame):
    big = pd.concat([frame] * 20, ignore_index=True).assign(order=range(len(frame) * 20))
    out = run(big, Step("sample", fraction=0.3, seed=1))
    # The sample is exactly the input rows it kept, in input order (pandas' boolean mask).
    same(out, big[big["order"].isin(out["order"])])
    assert 0.2 * len(big) < len(out) < 0.4 * len(big)
    assert run(big, Step("sample", fraction=0.3, seed=1))["order"].tolist() == out["order"].tolist()
    assert run(big, Step("sample", fraction=0.3, seed=2))["order"].tolist() != out["order"].tolist()


def test_sample_rows(run, same, frame):
    out = run(frame, Step("sample", rows=10, seed=3))
    assert len(out) == 10
    same(out, frame[frame["order"].isin(out["order"])])
    assert run(frame, Step("sample", rows=10, seed=3))["order"].tolist() == out["order"].tolist()


def test_sort_single_column_descending_nulls_last(run, same, frame):
    out = run(frame, Step("sort", by=["num"], descending=True))
    same(out, frame.sort_values("num", ascending=False, na_position="last", kind="stable"))


def test_sort_several_columns_is_stable(run, same, frame):
    out = run(frame, Step("sort", by=["grp", "key"], descending=[False, True], nulls="first"))
    expected = frame.sort_values(
        ["grp", "key"], ascending=[True, False], na_position="first", kind="stable"
    )
    same(out, expected)


def test_limit_and_offset_follow_the_current_order(run, same, frame):
    same(run(frame, Step("limit", rows=5, offset=3)), frame.iloc[3:8])
    sorted_then_limited = run(frame, Step("sort", by=["order"]), Step("limit", rows=4))
    same(sorted_then_limited, frame.sort_values("order").head(4))


def test_row_number(run, same, frame):
    same(run(frame, Step("row_number")), frame.assign(row_number=range(1, len(frame) + 1)))
    out = run(frame, Step("row_number", into="rank", order_by=["order"], start=0))
    same(out, frame.assign(rank=frame["order"].rank(method="first").astype(int) - 1))
    descending = run(frame, Step("row_number", into="r", order_by=["int"], descending=True))
    expected = frame["int"].rank(method="first", ascending=False).astype(int)
    # Ties keep input order, like rank(method="first").
    same(descending, frame.assign(r=expected))
