"""Batch transform end to end: real job processes, real worker pools, real files.

Predictions are compared with scikit-learn's own ``predict``/``predict_proba`` of the
same pipeline on the same rows (the independent reference).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siklus.data import read_frame
from siklus.exceptions import InvalidInput, InvalidParameter, InvalidState, NotFound
from siklus.jobs import LocalExecutor, process_alive
from siklus.serving.batch import describe_transform, list_transforms, resume_transform, transform
from siklus.store import JobStatus

from .conftest import Setup, register, replicated, store_frame


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in ("id", "site") if c in frame.columns])


def test_dataset_transform_matches_sklearn(batch_env: Setup) -> None:
    frame = replicated(3000)
    ref = store_frame(batch_env.ctx, frame, "bc.in")
    bt = transform(batch_env.ctx, "bc", ref, "bc.scored", id_column="id", chunk_rows=700)
    assert bt.status == "Completed", bt.failure_reason
    assert (bt.chunks_done, bt.rows_done, bt.total_rows) == (5, 3000, 3000)
    version, out = read_frame(batch_env.ctx, bt.output_dataset)
    assert list(out.columns) == ["id", "prediction", "probability_benign", "probability_malignant"]
    assert out["id"].tolist() == frame["id"].tolist()
    x = _features(frame)
    assert out["prediction"].tolist() == batch_env.pipeline.predict(x).tolist()
    np.testing.assert_allclose(
        out[["probability_benign", "probability_malignant"]].to_numpy(),
        batch_env.pipeline.predict_proba(x),
        rtol=1e-12,
    )
    # A new dataset version, derived from the input, linked to the model package.
    store = batch_env.ctx.store
    source = store.get_dataset_version(*ref.split(":")[:1])
    assert version.parent_id == source.id
    upstream = {
        (e.source_type, e.source_id, e.relation) for e in store.list_lineage(version.id, "upstream")
    }
    assert ("dataset", source.id, "batch-transform:input") in upstream
    assert ("model_package", batch_env.package.id, "batch-transform:model") in upstream
    assert ("job", bt.job_id, "output") in upstream
    assert [t.id for t in list_transforms(batch_env.ctx)] == [bt.id]
    assert describe_transform(batch_env.ctx, bt.job_id).id == bt.id


@pytest.mark.slow
def test_killed_midway_and_resumed_has_each_row_once(batch_env: Setup, rf_pipeline) -> None:
    """SIGKILL the whole job (process group: job and workers) after some chunks, resume."""
    ctx = batch_env.ctx
    register(ctx, rf_pipeline, batch_env.features, "forest")
    frame = replicated(30_000, seed=11)
    ref = store_frame(ctx, frame, "big")
    started = transform(
        ctx, "forest", ref, "big.scored", id_column="id", chunk_rows=250, workers=2, wait=False
    )
    executor = LocalExecutor(ctx)
    deadline = time.monotonic() + 120
    while describe_transform(ctx, started.id).chunks_done < 6:
        assert time.monotonic() < deadline, "no chunk finished in time"
        assert not executor.describe(started.job_id).status.is_final
        time.sleep(0.02)
    job = executor.describe(started.job_id)
    os.killpg(job.pid, signal.SIGKILL)
    while process_alive(job.pid, job.pid_started_at):
        time.sleep(0.02)
    killed = describe_transform(ctx, started.id)
    assert killed.status == JobStatus.FAILED  # the dead process is reconciled as Failed
    assert 6 <= killed.chunks_done < 120, "the kill must land mid-way"
    assert killed.output_dataset is None

    # A second attempt, stopped politely (SIGTERM to the group) mid-way: ends Stopped.
    second = resume_transform(ctx, started.job_id, wait=False)
    while describe_transform(ctx, started.id).chunks_done < killed.chunks_done + 6:
        assert time.monotonic() < deadline, "the resumed attempt made no progress"
        time.sleep(0.02)
    stopped = executor.stop(second.job_id)
    assert stopped.status == JobStatus.STOPPED, stopped.failure_reason
    assert stopped.outputs["stopped"] is True
    assert describe_transform(ctx, started.id).output_dataset is None

    resumed = resume_transform(ctx, started.job_id)
    assert resumed.status == "Completed", resumed.failure_reason
    assert len(resumed.job_ids) == 3
    assert resumed.outputs["chunks_resumed"] >= killed.chunks_done + 6
    assert resumed.outputs["chunks_computed"] == 120 - resumed.outputs["chunks_resumed"]
    _, out = read_frame(ctx, resumed.output_dataset)
    assert len(out) == len(frame)
    assert not out["id"].duplicated().any()
    assert set(out["id"]) == set(frame["id"])
    joined = frame.merge(out, on="id", validate="one_to_one")
    assert (
        joined["prediction"].tolist()
        == rf_pipeline.predict(_features(joined[frame.columns])).tolist()
    )
    np.testing.assert_allclose(
        joined[["probability_benign", "probability_malignant"]].to_numpy(),
        rf_pipeline.predict_proba(_features(joined[frame.columns])),
    )
    with pytest.raises(InvalidState, match="already completed"):
        resume_transform(ctx, started.id)
    # Chunks handed to the pool worker as files, some left by the kill, are all gone.
    assert list((ctx.state_dir / "transforms" / started.id / "chunks").iterdir()) == []


def _with_bad_row(rows: int, bad: int) -> pd.DataFrame:
    frame = replicated(rows, seed=5)
    column = frame["mean area"].astype(object)
    column.iloc[bad] = "not a number"
    frame["mean area"] = column.astype(str)  # a text column: the signature wants numbers
    return frame


def test_bad_row_fails_naming_chunk_and_row(batch_env: Setup) -> None:
    ref = store_frame(batch_env.ctx, _with_bad_row(2500, 1234), "bad")
    bt = transform(batch_env.ctx, "bc", ref, "bad.scored", id_column="id", chunk_rows=1000)
    assert bt.status == "Failed"
    reason = bt.failure_reason
    assert "Chunk 1" in reason and "input row 1234" in reason and "id='p001234'" in reason
    assert "mean area" in reason and "not a number" in reason and "--on-error skip" in reason
    assert bt.output_dataset is None


@pytest.mark.slow
def test_bad_rows_skipped_and_reported(batch_env: Setup) -> None:
    frame = _with_bad_row(2500, 1234)
    column = frame["mean area"].copy()
    column.iloc[7] = "??"
    frame["mean area"] = column
    ref = store_frame(batch_env.ctx, frame, "bad")
    bt = transform(
        batch_env.ctx, "bc", ref, "bad.scored", keep_columns=["id", "mean radius"],
        chunk_rows=1000, on_error="skip", workers=2,
    )  # fmt: skip
    assert bt.status == "Completed", bt.failure_reason
    assert bt.skipped_rows == 2 and bt.outputs["rows_out"] == 2498
    _, out = read_frame(batch_env.ctx, bt.output_dataset)
    good = frame.drop(index=[7, 1234])
    assert out["id"].tolist() == good["id"].tolist()
    assert out["mean radius"].tolist() == good["mean radius"].tolist()
    x = _features(good).astype({"mean area": float})
    assert out["prediction"].tolist() == batch_env.pipeline.predict(x).tolist()
    lines = Path(bt.outputs["skipped_file"]).read_text().splitlines()
    skipped = [json.loads(line) for line in lines]
    assert [(s["chunk"], s["row"]) for s in skipped] == [(0, 7), (1, 1234)]
    assert "mean area" in skipped[1]["error"]


@pytest.mark.slow
def test_file_globs_csv_jsonl_parquet(batch_env: Setup, tmp_path: Path) -> None:
    frame = replicated(1800, seed=9)
    frame.insert(1, "site", np.where(np.arange(1800) % 2, "north", "south"))
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        part = frame.iloc[i * 600 : (i + 1) * 600]
        part.to_csv(folder / f"part-{i}.csv", index=False)
        part.to_json(folder / f"part-{i}.jsonl", orient="records", lines=True)
        part.to_parquet(folder / f"part-{i}.parquet", index=False, row_group_size=250)
    x = _features(frame)
    for pattern in ("*.csv", "*.jsonl", "*.parquet"):
        bt = transform(
            batch_env.ctx, "bc", str(folder / pattern), f"files{pattern[1:]}",
            keep_columns=["id", "site"], chunk_rows=400, probabilities=False,
        )  # fmt: skip
        assert bt.status == "Completed", (pattern, bt.failure_reason)
        assert bt.chunks_done == 5
        _, out = read_frame(batch_env.ctx, bt.output_dataset)
        assert list(out.columns) == ["id", "site", "prediction"]
        assert out["id"].tolist() == frame["id"].tolist(), pattern
        assert out["site"].tolist() == frame["site"].tolist()
        assert out["prediction"].tolist() == batch_env.pipeline.predict(x).tolist()


def test_checks_before_any_job(batch_env: Setup, tmp_path: Path, lr_pipeline) -> None:
    ctx = batch_env.ctx
    frame = replicated(50)
    ref = store_frame(ctx, frame, "small")
    with pytest.raises(InvalidInput, match="lacks column"):
        transform(ctx, "bc", store_frame(ctx, frame.drop(columns="mean area"), "partial"), "o")
    with pytest.raises(InvalidParameter, match="--id-column"):
        transform(ctx, "bc", ref, "o", id_column="patient")
    with pytest.raises(InvalidParameter, match="clash"):
        transform(
            ctx,
            "bc",
            store_frame(ctx, frame.assign(prediction=1), "clash"),
            "o",
            keep_columns=["prediction"],
        )
    with pytest.raises(InvalidParameter, match="chunk_rows"):
        transform(ctx, "bc", ref, "o", chunk_rows=0)
    with pytest.raises(InvalidParameter, match="on_error"):
        transform(ctx, "bc", ref, "o", on_error="ignore")
    with pytest.raises(InvalidParameter, match="runtime"):
        transform(ctx, "bc", ref, "o", runtime="tensorrt")
    with pytest.raises(NotFound, match="matches no file"):
        transform(ctx, "bc", str(tmp_path / "nothing" / "*.parquet"), "o")
    # Regression: an output named like the input dataset became its latest version.
    with pytest.raises(InvalidParameter, match="is the input dataset"):
        transform(ctx, "bc", ref, ref.rsplit(":", 1)[0])
    with pytest.raises(NotFound):
        transform(ctx, "bc", "no-such-dataset", "o")
    register(ctx, lr_pipeline, batch_env.features, "pending", approve=False)
    with pytest.raises(InvalidState, match="not Approved"):
        transform(ctx, "pending", ref, "o")
    with pytest.raises(NotFound, match="No batch transform"):
        resume_transform(ctx, "bt-000000000000")
    with pytest.raises(InvalidParameter, match="CPU"):
        transform(ctx, "bc", ref, "o", workers=(os.cpu_count() or 1) + 1000)
    assert ctx.store.list_jobs() == []
    assert list_transforms(ctx) == []


@pytest.mark.slow
def test_onnx_runtime_matches_native(batch_env: Setup) -> None:
    frame = replicated(2000, seed=21)
    ref = store_frame(batch_env.ctx, frame, "onnx.in")
    bt = transform(
        batch_env.ctx, "bc", ref, "onnx.scored", id_column="id", chunk_rows=600, runtime="onnx",
        workers=2,
    )  # fmt: skip
    assert bt.status == "Completed", bt.failure_reason
    _, out = read_frame(batch_env.ctx, bt.output_dataset)
    x = _features(frame)
    assert out["id"].tolist() == frame["id"].tolist()
    np.testing.assert_allclose(
        out[["probability_benign", "probability_malignant"]].to_numpy(),
        batch_env.pipeline.predict_proba(x),
        atol=1e-5,
    )
    agree = (out["prediction"].to_numpy() == batch_env.pipeline.predict(x)).mean()
    assert agree >= 0.999  # only rows within float rounding of the boundary may differ


@pytest.mark.slow
def test_auto_runtime_is_recorded_and_follows_the_export(batch_env: Setup) -> None:
    """Without an export record "auto" runs natively; after ``export-onnx`` through ONNX."""
    from siklus.registry import export_onnx

    ctx = batch_env.ctx
    frame = replicated(900, seed=5)
    ref = store_frame(ctx, frame, "auto.in")
    x = _features(frame)
    runtimes = []
    for output in ("auto.native", "auto.onnx"):
        if output == "auto.onnx":
            assert export_onnx(ctx, "bc:1")["status"] == "exported"
        bt = transform(ctx, "bc", ref, output, id_column="id", chunk_rows=400)
        assert bt.status == "Completed", bt.failure_reason
        runtimes.append(bt.runtime)
        _, out = read_frame(ctx, bt.output_dataset)
        assert out["id"].tolist() == frame["id"].tolist()
        np.testing.assert_allclose(
            out[["probability_benign", "probability_malignant"]].to_numpy(),
            batch_env.pipeline.predict_proba(x),
            atol=1e-5,
        )
    assert runtimes == ["native", "onnx"]


@pytest.mark.slow
def test_auto_predicts_gaps_the_export_was_not_verified_for_natively(
    batch_env: Setup, bc_training
) -> None:
    """A bare forest's export is verified only without gaps (its training data had none).
    "auto" must still give what its native run gives for rows with gaps; an explicit
    "onnx" refuses them, naming the row."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    from siklus.registry import approve, get_onnx_export, register_model
    from siklus.training import log_model

    ctx = batch_env.ctx
    x, y = bc_training
    forest = make_pipeline(RandomForestClassifier(n_estimators=20, random_state=0)).fit(x, y)
    model = log_model(ctx, forest, x, name="forest", target="target")
    package = register_model(ctx, model.id, "forest")
    approve(ctx, package.ref, reason="test", by="pytest")
    assert get_onnx_export(ctx, package)["missing_values"] == "nullable"
    frame = replicated(900, seed=8)
    frame.loc[[5, 450, 899], "mean texture"] = np.nan
    ref = store_frame(ctx, frame, "gaps.in")

    bt = transform(ctx, "forest", ref, "gaps.auto", id_column="id", chunk_rows=400)
    assert bt.status == "Completed", bt.failure_reason
    assert bt.runtime == "onnx"
    _, out = read_frame(ctx, bt.output_dataset)
    assert out["id"].tolist() == frame["id"].tolist()
    assert out["prediction"].tolist() == forest.predict(_features(frame)).tolist()

    bt = transform(ctx, "forest", ref, "gaps.onnx", id_column="id", chunk_rows=400, runtime="onnx")
    assert bt.status == "Failed"
    assert "input row 5" in bt.failure_reason and "mean texture" in bt.failure_reason
