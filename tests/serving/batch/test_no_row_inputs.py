"""Input files without rows: skipped among files with rows, refused before any job alone."""

from __future__ import annotations

import fsspec
import pytest

from siklus.exceptions import InvalidInput
from siklus.serving.batch._sources import iter_chunks, resolve_input
from siklus.store import WorkspaceContext


def test_empty_files_among_files_with_rows_add_no_rows(ctx: WorkspaceContext, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text("")  # sorted first: its columns cannot come from it
    (folder / "b.jsonl").write_text('{"x": 1}\n{"x": 2}\n')
    (folder / "c.jsonl").write_text("\n\n")
    source = resolve_input(ctx, str(folder))
    assert source.columns == ("x",)
    assert [t.to_pylist() for _, t in iter_chunks(source, 10, ["x"])] == [[{"x": 1}, {"x": 2}]]


def test_fsspec_csv_with_a_header_only_file_without_line_end(ctx: WorkspaceContext) -> None:
    memory = fsspec.filesystem("memory")
    memory.pipe("/no-rows/a.csv", b"x,y")  # a header, no line end: no rows
    memory.pipe("/no-rows/b.csv", b"x,y\n1,2\n")
    source = resolve_input(ctx, "memory://no-rows/*.csv")
    assert source.columns == ("x", "y")
    rows = [t.to_pylist() for _, t in iter_chunks(source, 10, ["x", "y"])]
    assert rows == [[{"x": 1, "y": 2}]]
    memory.rm("/no-rows", recursive=True)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.jsonl", b""),
        ("blank.jsonl", b"\n\n"),
        ("header.csv", b"x,y"),  # no line end
        ("bom.csv", "\ufeffx,y\n".encode()),
    ],
)
def test_inputs_without_rows_are_refused_with_one_clear_message(
    ctx: WorkspaceContext, tmp_path, name: str, content: bytes
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InvalidInput, match=r"has no rows \(empty, blank lines, or only a header"):
        resolve_input(ctx, str(tmp_path / name))
