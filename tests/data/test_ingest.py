from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siklus.data import ingest, read_frame
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound


def test_same_content_same_version_different_content_new_version(ctx, breast_cancer_csv):
    first, created = ingest(ctx, breast_cancer_csv, "bc")
    assert created and first.version == 1
    again, created_again = ingest(ctx, breast_cancer_csv, "bc")
    assert not created_again
    assert again.id == first.id and again.sha256 == first.sha256
    frame = pd.read_csv(breast_cancer_csv)
    frame.loc[0, "mean radius"] = 99.0
    changed = breast_cancer_csv.with_name("changed.csv")
    frame.to_csv(changed, index=False)
    second, created_second = ingest(ctx, changed, "bc")
    assert created_second and second.version == 2 and second.sha256 != first.sha256
    assert [v.version for v in ctx.store.list_dataset_versions("bc")] == [1, 2]


def test_ingested_rows_schema_and_hash(ctx, breast_cancer_csv, breast_cancer_frame):
    version, _ = ingest(ctx, breast_cancer_csv, "bc")
    assert version.row_count == len(breast_cancer_frame) == 569
    assert [c["name"] for c in version.schema] == list(breast_cancer_frame.columns)
    assert ctx.artifacts.local_path(version.sha256).stat().st_size == version.size_bytes
    _, frame = read_frame(ctx, "bc:1")
    pd.testing.assert_frame_equal(
        frame.reset_index(drop=True), breast_cancer_frame, check_dtype=False
    )


def test_csv_and_parquet_of_same_data_both_ingest(ctx, tmp_path, breast_cancer_frame):
    parquet = tmp_path / "bc.parquet"
    breast_cancer_frame.to_parquet(parquet, index=False)
    version, created = ingest(ctx, parquet, "bcp")
    assert created and version.row_count == 569


def test_missing_file(ctx, tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        ingest(ctx, tmp_path / "nope.csv", "x")


def test_malformed_csv_names_the_row_and_stores_nothing(ctx, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidInput, match=r"bad\.csv") as info:
        ingest(ctx, bad, "bad")
    assert "Expected 2 columns, got 3" in str(info.value)
    assert ctx.store.list_dataset_versions("bad") == []


def test_empty_file_and_bad_extension_and_bad_name(ctx, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidInput, match="empty"):
        ingest(ctx, empty, "e")
    odd = tmp_path / "data.xyz"
    odd.write_text("a\n1\n")
    with pytest.raises(InvalidParameter, match="--format"):
        ingest(ctx, odd, "e")
    good = tmp_path / "good.csv"
    good.write_text("a\n1\n")
    with pytest.raises(InvalidParameter, match="not valid"):
        ingest(ctx, good, "bad name!")


def test_unknown_dataset_reference(ctx):
    with pytest.raises(NotFound, match="siklus data ingest"):
        read_frame(ctx, "missing")
    with pytest.raises(InvalidParameter, match="NAME:VERSION"):
        read_frame(ctx, "missing:x")


def test_ingest_tags_carry_project_tags(tmp_path: Path, breast_cancer_csv):
    from siklus.store import WorkspaceContext

    tagged = WorkspaceContext.open(tmp_path / "tagged", tags={"cost-center": "ml"})
    version, _ = ingest(tagged, breast_cancer_csv, "bc")
    assert version.tags == {"cost-center": "ml"}


def test_a_header_only_csv_gives_an_empty_version_with_string_columns(ctx, tmp_path):
    header_only = tmp_path / "header.csv"
    header_only.write_text("age,city,income\n")
    version, created = ingest(ctx, header_only, "h")
    assert created and version.row_count == 0
    # Not Arrow's `null` type, which no recipe step accepts: `string`, as `data load` gives.
    assert [(c["name"], c["type"]) for c in version.schema] == [
        ("age", "string"), ("city", "string"), ("income", "string")]  # fmt: skip
    _, frame = read_frame(ctx, version)
    assert list(frame.columns) == ["age", "city", "income"] and len(frame) == 0


def test_a_header_without_a_line_end_ingests_as_data_load_reads_it(ctx, tmp_path):
    # Arrow alone cannot tell the columns of "a,b" with no line end; `data load` (DuckDB)
    # reads two columns and no rows, and ingest must agree.
    header_only = tmp_path / "header.csv"
    header_only.write_bytes(b'age,"city, town"')
    version, _ = ingest(ctx, header_only, "h")
    assert version.row_count == 0
    assert [(c["name"], c["type"]) for c in version.schema] == [
        ("age", "string"), ("city, town", "string")]  # fmt: skip
    one_row = tmp_path / "one.csv"
    one_row.write_bytes(b"a,b\n1,2")  # rows, no final line end: read as before
    version, _ = ingest(ctx, one_row, "one")
    assert version.row_count == 1
