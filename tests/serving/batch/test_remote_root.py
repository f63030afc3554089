"""Batch transform in the job's own code path (``execute``, in this process) over a
remote (fsspec ``memory://``) artifact root: the pool worker opens the hash-checked local
copies the job resolved, chunk files are gone afterwards, and a dataset whose data left
the store is refused by name before any job.

``memory://`` lives in one process, so this runs the engine directly instead of a job.
"""

from __future__ import annotations

import logging
import os
import uuid

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from siklus.data import read_frame
from siklus.exceptions import InvalidInput, NotFound
from siklus.serving.batch._engine import execute
from siklus.serving.batch._manifest import locked, work_dir
from siklus.serving.batch._sources import resolve_input
from siklus.store import WorkspaceContext

from .conftest import register, replicated, store_frame

_ISOLATE = ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL")


def _record(package, source, transform_id: str, runtime: str) -> dict:
    return {
        "id": transform_id,
        "model_package": package.ref,
        "model_package_id": package.id,
        "model_id": package.model_id,
        "input": source.to_dict(),
        "output_name": f"{transform_id}.out",
        "id_column": "id",
        "keep_columns": [],
        "chunk_rows": 150,
        "workers": 2,
        "runtime": runtime,
        "requested_runtime": runtime,
        "on_error": "fail",
        "probabilities": True,
        "tags": {},
    }


@pytest.mark.slow
def test_a_remote_artifact_root_with_a_pool_worker(
    tmp_path, monkeypatch, lr_pipeline: Pipeline, bc_training
) -> None:
    for name in _ISOLATE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIKLUS_ARTIFACT_ROOT", f"memory://bt-{uuid.uuid4().hex}")
    ctx = WorkspaceContext.open(tmp_path / "ws")
    assert not ctx.artifacts.is_local
    package = register(ctx, lr_pipeline, bc_training[0], "bc")
    frame = replicated(1200, seed=5)
    source = resolve_input(ctx, store_frame(ctx, frame, "in"))
    assert source.files == ()  # the job finds (and checks) the data, not the caller
    x = frame.drop(columns=["id"])
    log = logging.getLogger("test")
    for runtime in ("onnx", "native"):
        record = _record(package, source, f"bt-{runtime}", runtime)
        folder = work_dir(ctx, record["id"])
        outputs = execute(ctx, record, job_id=f"job-{runtime}", log=log)
        assert (outputs["rows_in"], outputs["chunks"]) == (1200, 8)
        assert outputs["peak_rss_bytes"]["workers_sum"] > 0  # the pool worker took part
        _, out = read_frame(ctx, outputs["output_dataset"])
        assert out["id"].tolist() == frame["id"].tolist()
        assert out["prediction"].tolist() == lr_pipeline.predict(x).tolist()
        np.testing.assert_allclose(
            out[["probability_benign", "probability_malignant"]].to_numpy(),
            lr_pipeline.predict_proba(x),
            rtol=1e-5,
        )
        assert list((folder / "chunks").iterdir()) == []

    # A failing attempt (a row the signature refuses) leaves no chunk file, no lock.
    bad = frame.copy()
    column = bad["mean area"].astype(object)
    column.iloc[1100] = "not a number"
    bad["mean area"] = column.astype(str)  # a text column: the signature wants numbers
    bad_source = resolve_input(ctx, store_frame(ctx, bad, "bad"))
    record = _record(package, bad_source, "bt-bad", "onnx")
    folder = work_dir(ctx, record["id"])
    with pytest.raises(InvalidInput, match="Chunk 7"):
        execute(ctx, record, job_id="job-bad", log=log)
    assert list((folder / "chunks").iterdir()) == []
    with locked(folder, record["id"]):
        pass

    # The dataset's data deleted from the store: refused by name at create time.
    version = ctx.store.get_dataset_version_by_id(str(source.dataset_version_id))
    ctx.artifacts.fs.rm(ctx.artifacts._path(version.sha256))
    with pytest.raises(NotFound, match=r"data of dataset in:1 .* not in the artifact store"):
        resolve_input(ctx, "in:1")
    # ... and by name at run time, for a transform created before the data went.
    record = _record(package, source, "bt-gone", "onnx")
    with pytest.raises(NotFound, match=r"data of dataset in:1 .* no longer in the artifact"):
        execute(ctx, record, job_id="job-gone", log=log)
    assert list((work_dir(ctx, record["id"]) / "chunks").iterdir()) == []


@pytest.mark.slow
def test_workers_that_fail_to_start_leave_the_job_process_to_finish_alone(
    tmp_path, monkeypatch, lr_pipeline: Pipeline, bc_training, caplog
) -> None:
    """A pool worker whose initializer fails (here: its model file is gone) never gets a
    chunk; the job process predicts them all and says so in the log."""
    from dataclasses import replace

    from siklus.serving.batch._engine import _plan, _Pool, _Progress, _run_chunks
    from siklus.serving.batch._manifest import Manifest

    for name in _ISOLATE:
        monkeypatch.delenv(name, raising=False)
    ctx = WorkspaceContext.open(tmp_path / "ws")
    package = register(ctx, lr_pipeline, bc_training[0], "bc")
    frame = replicated(900, seed=3)
    source = resolve_input(ctx, store_frame(ctx, frame, "in"))
    record = _record(package, source, "bt-start", "native")
    folder = work_dir(ctx, record["id"])
    plan = _plan(ctx, record, folder)
    source = replace(source, files=(str(ctx.artifacts.local_path(
        ctx.store.get_dataset_version_by_id(str(source.dataset_version_id)).sha256)),))  # fmt: skip
    broken = replace(plan, model_path=str(tmp_path / "gone.skops"))
    progress = _Progress({}, source.total_rows, logging.getLogger("bt-start"))
    manifest = Manifest(folder)
    try:
        with caplog.at_level(logging.WARNING, logger="bt-start"), _Pool(broken, 2) as pool:
            pool.ready_checks[0].exception(timeout=60)  # wait until the worker gave up
            last, stopped = _run_chunks(source, plan, ["id", *frame.columns[1:]], pool,
                                        manifest, progress, lambda: False)  # fmt: skip
    finally:
        manifest.close()
    assert (last, stopped, progress.computed_chunks) == (5, False, 6)
    assert set(progress.worker_peaks) == {os.getpid()}  # every chunk predicted here
    assert "failed to start" in caplog.text
