"""The worker's reading and predicting, in process: chunked CSV, JSON, fsspec URLs, paths."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import fsspec
import pytest

from siklus.exceptions import InvalidInput
from siklus.serving.asynchronous import InferenceMessage, InferenceStatus, _io, open_queue
from siklus.serving.asynchronous._io import NotPlainNumbers
from siklus.serving.asynchronous._worker import predict_message, serve
from siklus.training import LoadedModel, infer_signature


@pytest.fixture(scope="module")
def loaded(model: Any) -> LoadedModel:
    manifest = {"input_signature": infer_signature(model.features), "classes": [0, 1]}
    return LoadedModel("m1", model.pipeline, manifest)


def _message(location: str, content_type: str, out: Path) -> InferenceMessage:
    body = {"input_location": location, "content_type": content_type, "output_location": str(out)}
    return InferenceMessage("i1", InferenceStatus.IN_PROGRESS, body)


@pytest.mark.parametrize("header", [True, False])
def test_csv_is_predicted_in_chunks_with_or_without_header(
    model: Any, loaded: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, header: bool
) -> None:
    monkeypatch.setattr(_io, "CHUNK_ROWS", 50)  # 569 rows → 12 chunks
    path = tmp_path / "rows.csv"
    model.features.to_csv(path, index=False, header=header)
    out = tmp_path / "results" / "i1.json"
    assert predict_message(loaded, _message(str(path), "text/csv", out)) == {"rows": 569}
    result = json.loads(out.read_text())
    assert result["predictions"] == model.pipeline.predict(model.features).tolist()
    assert len(result["probabilities"]) == 569 and result["inference_id"] == "i1"
    assert [p.name for p in out.parent.iterdir()] == ["i1.json"]  # no temporary file left


def test_json_from_an_fsspec_url(model: Any, loaded: LoadedModel, tmp_path: Path) -> None:
    rows = model.features.iloc[:9]
    with fsspec.open("memory://bucket/rows.json", "wb") as handle:
        handle.write(json.dumps(rows.to_dict(orient="records")).encode())
    location = _io.resolve_location(None, "memory://bucket/rows.json")  # type: ignore[arg-type]
    kind = _io.content_type_for(location, None)
    out = tmp_path / "r.json"
    predict_message(loaded, _message(location, kind, out))
    assert json.loads(out.read_text())["predictions"] == model.pipeline.predict(rows).tolist()
    with pytest.raises(InvalidInput, match="does not exist"):
        _io.resolve_location(None, "memory://bucket/missing.csv")  # type: ignore[arg-type]


def test_bad_csv_content_fails_with_the_reason(
    model: Any, loaded: LoadedModel, tmp_path: Path
) -> None:
    path = tmp_path / "short.csv"
    model.features.iloc[:3, :5].to_csv(path, index=False)
    with pytest.raises(InvalidInput, match="Missing column"):
        predict_message(loaded, _message(str(path), "text/csv", tmp_path / "o.json"))
    path.write_text(",".join(model.features.columns) + "\n")
    with pytest.raises(InvalidInput, match="zero data rows"):
        predict_message(loaded, _message(str(path), "text/csv", tmp_path / "o.json"))
    assert not (tmp_path / "o.json").exists()


def test_relative_locations_resolve_against_the_workspace(model: Any) -> None:
    ctx = model.ctx
    (ctx.root / "data").mkdir(exist_ok=True)
    (ctx.root / "data" / "x.csv").write_text("a\n1\n")
    assert _io.resolve_location(ctx, "data/x.csv") == str(ctx.root / "data" / "x.csv")
    with pytest.raises(InvalidInput, match="relative to the workspace"):
        _io.resolve_location(ctx, "data/y.csv")
    # Regression: a folder was reported as "does not exist".
    with pytest.raises(InvalidInput, match="is a folder"):
        _io.resolve_location(ctx, "data")


def test_a_worker_whose_front_is_gone_takes_no_more_work_and_exits(
    model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a front killed by SIGKILL left its forkserver workers serving the queue
    of an endpoint that `delete` could no longer reach. A worker now exits once the front
    (pid, start time) is gone, leaving queued requests untouched."""
    monkeypatch.setenv("SIKLUS_WORKSPACE", str(model.ctx.root))
    stored = model.ctx.store.list_models()[0]
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    queue = open_queue(queue_url)
    source = tmp_path / "rows.json"
    source.write_text(model.features.iloc[:2].to_json(orient="records"))
    body = {
        "input_location": str(source),
        "content_type": "application/json",
        "output_location": str(tmp_path / "out.json"),
    }
    queue.put("i1", body)
    record = {
        "queue_url": queue_url,
        "max_attempts": 3,
        "worker_idle_timeout": 60.0,  # without the check it would predict, then idle 60 s
        "visibility_timeout": 5.0,
        "model_id": stored.id,
    }
    dead_front = (os.getpid(), 1.0)  # this pid, but not the process that started at 1.0
    assert serve("bc-async", record, stored, front=dead_front) == 0
    assert queue.get("i1").status == InferenceStatus.QUEUED
    assert not (tmp_path / "out.json").exists()
    queue.close()


def _csv_chunks(path: Path, signature: list, typed: bool) -> list:
    return list(_io.read_frames(str(path), "text/csv", signature, typed=typed))


def test_typed_csv_reading_gives_what_the_general_path_gives(
    bc_xy, bc_pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Number columns parsed by Arrow, a text column with gaps, numbers with gaps: after
    ``conform`` the chunks are the general path's, and so are the answers."""
    import pandas as pd

    from siklus.training import conform

    features, _ = bc_xy
    signature = infer_signature(features)
    monkeypatch.setattr(_io, "CHUNK_ROWS", 100)  # 569 rows → 6 chunks
    path = tmp_path / "mixed.csv"
    features.to_csv(path, index=False)
    typed, general = _csv_chunks(path, signature, True), _csv_chunks(path, signature, False)
    assert [len(c) for c in typed] == [len(c) for c in general] == [100] * 5 + [69]
    for fast, slow in zip(typed, general, strict=True):
        pd.testing.assert_frame_equal(
            conform(fast.reset_index(drop=True), signature),
            conform(slow.reset_index(drop=True), signature),
        )
    loaded = LoadedModel("m", bc_pipeline, {"input_signature": signature, "classes": [0, 1]})
    out = tmp_path / "r.json"
    assert predict_message(loaded, _message(str(path), "text/csv", out)) == {"rows": 569}
    result = json.loads(out.read_text())
    assert result["predictions"] == bc_pipeline.predict(features).tolist()
    assert result["probabilities"] == bc_pipeline.predict_proba(features).tolist()
    assert (result["classes"], result["model_id"], result["inference_id"]) == ([0, 1], "m", "i1")


@pytest.mark.parametrize("value", ["True", "false", "0x10"])
def test_a_value_arrow_refuses_is_judged_by_conform(
    model: Any, loaded: LoadedModel, tmp_path: Path, value: str
) -> None:
    """Arrow refuses booleans in a number column (pandas' CSV parser would read True as
    1.0); the file is read again the general way, and ``conform`` refuses them."""
    rows = model.features.iloc[:300].astype(object)
    rows.iloc[250, 1] = value
    path = tmp_path / "bad.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(NotPlainNumbers):
        _csv_chunks(path, loaded.signature, True)
    out = tmp_path / "results" / "o.json"
    with pytest.raises(InvalidInput, match=r"mean texture.* must be a number"):
        predict_message(loaded, _message(str(path), "text/csv", out))
    assert not out.parent.exists() or list(out.parent.iterdir()) == []  # nothing left


def test_the_result_is_streamed_as_json_dumps_would_write_it(tmp_path: Path) -> None:
    classes = ["a", "b"]
    parts = [
        {"predictions": ["a", "b"], "probabilities": [[0.1, 0.9], [0.8, 0.2]], "classes": classes},
        {"predictions": ["b"], "probabilities": [[0.3, 0.7]], "classes": classes},
    ]
    path = tmp_path / "r.json"
    with _io.ResultWriter(path) as writer:
        for part in parts:
            writer.add(part)
        writer.commit(model_id="m", inference_id="i")
    whole = {"predictions": ["a", "b", "b"], "probabilities": [[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]],
             "classes": ["a", "b"], "model_id": "m", "inference_id": "i"}  # fmt: skip
    assert path.read_text() == json.dumps(whole)
    with _io.ResultWriter(tmp_path / "reg.json") as writer:  # a regressor: no probabilities
        writer.add({"predictions": [1.5, 2.5]})
        writer.commit(model_id="m")
    assert json.loads((tmp_path / "reg.json").read_text()) == {
        "predictions": [1.5, 2.5], "model_id": "m"
    }  # fmt: skip
    with pytest.raises(RuntimeError), _io.ResultWriter(tmp_path / "x.json") as writer:
        writer.add(parts[0])
        raise RuntimeError("the payload failed half-way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "reg.json"]


def test_a_parquet_reference_is_read_in_chunks(
    model: Any, loaded: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_io, "CHUNK_ROWS", 100)
    path = tmp_path / "rows.parquet"
    model.features.to_parquet(path, index=False, row_group_size=64)
    chunks = list(_io.read_frames(str(path), "application/x-parquet", loaded.signature))
    assert [len(c) for c in chunks] == [100] * 5 + [69]
    kind = _io.content_type_for(str(path), None)
    out = tmp_path / "r.json"
    assert predict_message(loaded, _message(str(path), kind, out)) == {"rows": 569}
    assert json.loads(out.read_text())["predictions"] == (
        model.pipeline.predict(model.features).tolist()
    )
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        predict_message(loaded, _message(str(path), kind, out))


def test_a_reference_with_a_content_type_no_worker_reads_is_refused() -> None:
    from siklus.serving import UnsupportedMediaType

    assert _io.content_type_for("x.bin", "text/csv; charset=utf-8") == "text/csv; charset=utf-8"
    with pytest.raises(UnsupportedMediaType, match="application/x-parquet"):
        _io.content_type_for("x.bin", "text/plain")
    with pytest.raises(UnsupportedMediaType, match=r"\.parquet"):
        _io.content_type_for("x.bin", None)
    with pytest.raises(UnsupportedMediaType, match="Unknown charset 'klingon'"):
        _io.content_type_for("x.csv", "text/csv; charset=klingon")


_SMALL = [
    {"name": "a", "type": "number", "nullable": True},
    {"name": "b", "type": "integer", "nullable": True},
    {"name": "c", "type": "string", "nullable": True},
]


def _outcome(path: Path, typed: bool) -> Any:
    """What the worker makes of the file: the conformed rows (with the sign of zeros),
    or the refusal's message; None where the typed path hands over to the general one."""
    import numpy as np
    import pandas as pd

    from siklus.training import conform

    try:
        frames = [conform(chunk, _SMALL) for chunk in _csv_chunks(path, _SMALL, typed)]
    except NotPlainNumbers:
        return None
    except InvalidInput as exc:
        return exc.message
    except Exception as exc:  # the typed path must never fail otherwise
        return f"unexpected {type(exc).__name__}: {exc}"
    rows = pd.concat(frames)
    return rows.to_dict("list"), np.signbit(rows["a"].to_numpy(dtype=float)).tolist()


@pytest.mark.parametrize(
    "content",
    [
        b"a,b,c\nnan,2,x\n",  # conform refuses the text 'nan'; Arrow reads NaN
        b"a,b,c\n1,NaN,x\n",
        b"a,b,c\n-nan,2,x\n",
        b"a,b,c\ninf ,2,x\n",  # conform refuses 'inf ' (pandas), Arrow trims it
        b"a,b,c\n-0,2,x\n",  # conform reads 0.0, Arrow -0.0
        b"a,b,c,a\n1,2,x,5\n",  # a column twice: pandas names the second a.1
        b"a,b,c,d\n1,2,x,\xe9\n",  # a column the model lacks, not UTF-8
        b"a,b,c\n1,2,x\n3,4,y\n",  # plain: both paths read it
        b"\xef\xbb\xbf1,2,x\r\n-1.5,4,\r\n",  # BOM, no header, CRLF, an empty text cell
    ],
    ids=[
        "nan",
        "NaN",
        "-nan",
        "inf-space",
        "minus-zero",
        "duplicate",
        "extra-latin1",
        "plain",
        "bom-crlf",
    ],
)
def test_the_typed_path_never_answers_otherwise_than_the_general_one(
    tmp_path: Path, content: bytes
) -> None:
    """Whatever the typed path accepts, refuses or hands over, the worker's answer is the
    general path's: the same rows (to the sign of zero) or the same refusal."""
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    general = _outcome(path, typed=False)
    typed = _outcome(path, typed=True)
    assert typed is None or typed == general, (typed, general)


def test_a_writer_removes_what_a_killed_worker_left_of_the_same_result(tmp_path: Path) -> None:
    """A worker killed while writing leaves its temporary files; the worker that takes
    the message over after the visibility timeout removes them (and only them)."""
    stale = [tmp_path / ".i1.json.k1ll3d.tmp", tmp_path / ".i1.json.k1ll3d.proba.tmp"]
    other = tmp_path / ".i2.json.4l1v3.tmp"  # another inference, maybe being written
    for path in [*stale, other]:
        path.write_text('{"predictions": [1')
    with _io.ResultWriter(tmp_path / "i1.json") as writer:
        writer.add({"predictions": [1]})
        writer.commit(inference_id="i1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "i1.json"]


def test_a_csv_in_the_charset_its_content_type_names_is_read_in_it(tmp_path: Path) -> None:
    """The front accepts an inline ``text/csv; charset=latin-1`` body (parse_payload
    decodes it so); the worker reads the stored file in that charset too, instead of
    failing the inference as malformed UTF-8 after the 202."""
    from siklus.serving import parse_payload
    from siklus.training import conform

    content = "a,b,c\n1.5,2,café\n-1,3,ÿ\n".encode("latin-1")
    kind = "text/csv; charset=latin-1"
    expected = conform(parse_payload(content, kind, _SMALL), _SMALL)
    path = tmp_path / "latin.csv"
    path.write_bytes(content)
    for typed in (True, False):
        chunks = list(_io.read_frames(str(path), kind, _SMALL, typed=typed))
        got = conform(chunks[0], _SMALL)
        assert got.to_dict("list") == expected.to_dict("list") == {
            "a": [1.5, -1.0], "b": [2.0, 3.0], "c": ["café", "ÿ"]
        }  # fmt: skip


@pytest.mark.parametrize(
    "content",
    [
        b'a,b,c\n1,2,x\n3,4,"y\n',  # cut inside a quoted field: pandas refuses it
        b"a,b,c\r1,2,x\r3,4,y\r",  # classic Mac line ends: the header is the first line
    ],
    ids=["unterminated-quote", "cr-line-ends"],
)
def test_a_file_cut_in_a_quote_or_with_cr_line_ends_reads_as_the_general_path_does(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    general = _outcome(path, typed=False)
    typed = _outcome(path, typed=True)
    assert typed is None or typed == general, (typed, general)
    if b"\r1" in content:  # the header is found in a file that only has CR line ends
        assert general == ({"a": [1.0, 3.0], "b": [2.0, 4.0], "c": ["x", "y"]}, [False] * 2)


def test_a_bad_row_after_the_first_chunk_is_placed_in_the_file(
    model: Any, loaded: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conform numbers rows within a chunk; the message says where the chunk starts."""
    monkeypatch.setattr(_io, "CHUNK_ROWS", 100)
    rows = model.features.iloc[:300].astype(object)
    rows.iloc[250, 1] = "abc"  # data row 250: row 50 of the third chunk
    path = tmp_path / "bad.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(InvalidInput, match=r"data rows 200-299 .*add 200.*row 50: 'abc'"):
        predict_message(loaded, _message(str(path), "text/csv", tmp_path / "o.json"))
    rows.iloc[250, 1] = rows.iloc[251, 1]
    rows.iloc[7, 1] = "abc"  # in the first chunk the numbers are the file's already
    rows.to_csv(path, index=False)
    with pytest.raises(InvalidInput, match=r"^Column 'mean texture' must be a number; got row 7"):
        predict_message(loaded, _message(str(path), "text/csv", tmp_path / "o.json"))
