"""Script mode end to end: a user's own script trains in a job under the SIKLUS_* contract."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import joblib
import pytest

from siklus.data import read_frame
from siklus.exceptions import InvalidParameter, JobFailed
from siklus.jobs import LocalExecutor
from siklus.store import DatasetVersion, JobStatus, WorkspaceContext
from siklus.training import load_model, train, training_spec
from siklus.training._archive import pack_directory

FIXTURES = Path(__file__).resolve().parent / "script_fixtures"
Parts = dict[str, DatasetVersion]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of the fixture scripts the test may edit."""
    folder = tmp_path / "src"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_script_trains_and_its_model_folder_is_stored(
    ctx: WorkspaceContext, bc_parts: Parts, source: Path, tmp_path: Path
) -> None:
    spec = training_spec(
        ctx, script="train_sgd.py", source_dir=source, target="diagnosis",
        train=bc_parts["train"], validation=bc_parts["validation"],
        hyperparameters={"epochs": 4, "lr": 0.01}, run_id="run-123",
    )  # fmt: skip
    # The job runs the source as it was at submission, not later edits.
    (source / "train_sgd.py").write_text("raise SystemExit('edited after submit')\n")

    job = LocalExecutor(ctx).run(spec, timeout=120)

    assert job.status == JobStatus.COMPLETED, job.failure_reason
    out = job.outputs
    assert out["exit_code"] == 0
    assert list(out["history"]) == ["validation_accuracy"]
    assert len(out["history"]["validation_accuracy"]) == 4
    assert out["history_steps"] == {"validation_accuracy": [0, 1, 2, 3]}
    assert out["metrics"]["validation_accuracy"] == out["history"]["validation_accuracy"][-1]
    assert out["metric_lines_skipped"] == 1  # the script's "not json" line
    assert out["output_sha256"] and "tracking" in out
    log = LocalExecutor(ctx).logs(job.id)
    assert "training for 4 epochs at lr 0.01" in log
    assert "Metrics file line 5 skipped" in log

    model = ctx.store.get_model(out["model_id"])
    manifest = model.manifest
    assert manifest["format"] == "directory" and manifest["archive"] == "tar.gz"
    assert [f["path"] for f in manifest["files"]] == ["contract.json", "model.joblib"]
    assert manifest["entry_point"] == "train_sgd.py"
    assert manifest["source_sha256"] == spec.parameters["script"]["sha256"]
    assert manifest["channels"] == {"train": bc_parts["train"].ref,
                                    "validation": bc_parts["validation"].ref}  # fmt: skip
    unpacked = tmp_path / "unpacked"
    with tarfile.open(ctx.artifacts.local_path(model.sha256), "r:gz") as tar:
        tar.extractall(unpacked, filter="data")
    assert json.loads((unpacked / "contract.json").read_text()) == {
        "SIKLUS_CHANNELS": '["train", "validation"]',
        "SIKLUS_HYPERPARAMETERS": '{"epochs": 4, "lr": 0.01}',
        "SIKLUS_NUM_CPUS": "1", "SIKLUS_NUM_GPUS": "0", "SIKLUS_RUN_ID": "run-123",
        "SIKLUS_SEED": "42", "SIKLUS_TARGET": "diagnosis",
    }  # fmt: skip
    # The archive is deterministic: the same files give the same sha256.
    again = tmp_path / "again.tar.gz"
    pack_directory(unpacked, again)
    assert ctx.artifacts.put_file(again) == model.sha256
    trained = joblib.load(unpacked / "model.joblib")
    _, test = read_frame(ctx, bc_parts["test"])
    x = trained["scaler"].transform(test.drop(columns=["diagnosis"]).to_numpy(dtype=float))
    assert (trained["model"].predict(x) == test["diagnosis"].to_numpy()).mean() > 0.8

    upstream = {e.source_id for e in ctx.store.list_lineage(job.id, "upstream")}
    assert upstream == {bc_parts["train"].id, bc_parts["validation"].id}
    with pytest.raises(InvalidParameter, match="has format 'directory'"):
        load_model(ctx, model)
    assert not (Path(job.log_path or "").parent / "input").exists()  # private copies removed


def test_failing_script_fails_the_job_with_its_stderr(
    ctx: WorkspaceContext, bc_parts: Parts, tmp_path: Path
) -> None:
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys\nprint('loading', flush=True)\n"
        "print('ValueError: the data has no rows', file=sys.stderr)\nsys.exit(3)\n"
    )

    with pytest.raises(JobFailed, match="exited with code 3"):
        train(ctx, script=str(script), train=bc_parts["train"])

    (job,) = ctx.store.list_jobs()
    assert job.status == JobStatus.FAILED
    assert job.failure_reason is not None
    assert job.failure_reason.startswith("Training script crash.py exited with code 3.")
    assert "ValueError: the data has no rows" in job.failure_reason
    assert "loading" in LocalExecutor(ctx).logs(job.id)


def test_stopping_a_script_job(
    ctx: WorkspaceContext, bc_parts: Parts, tmp_path: Path, wait_until: Callable[..., None]
) -> None:
    script = tmp_path / "slow.py"
    script.write_text("import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    executor = LocalExecutor(ctx)
    job = executor.submit(training_spec(ctx, script=script, train=bc_parts["train"]))
    wait_until(lambda: "ready" in executor.logs(job.id))

    stopped = executor.stop(job.id)

    assert stopped.status == JobStatus.STOPPED
    assert stopped.failure_reason == "stopped by user"
    assert stopped.outputs["exit_code"] == -15  # the script got SIGTERM with its job


def test_script_that_saves_nothing_fails(ctx: WorkspaceContext, bc_parts: Parts, source: Path):
    with pytest.raises(JobFailed, match="wrote nothing to SIKLUS_MODEL_DIR"):
        train(
            ctx, script="train_sgd.py", source_dir=source, target="diagnosis",
            train=bc_parts["train"], validation=bc_parts["validation"],
            hyperparameters={"epochs": 1, "save": False},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"script": "missing.py"}, "Training script 'missing.py' does not exist in source"),
        ({"script": "train_sgd.py", "source_dir": "/no/such/dir"}, "Source folder '/no/such/dir'"),
        ({"script": "../outside.py"}, "is outside the source folder"),
        ({"script": "train_sgd.py", "hyperparameters": {"learning-rate": 0.1}},
         "['learning-rate'] are not simple identifiers"),
        ({"script": "train_sgd.py", "estimator": "ridge"}, "Give exactly one algorithm"),
        ({}, "Give exactly one algorithm"),
        ({"script": "train_sgd.py", "stopping": {"max_iterations": 3}},
         "a training script implements its own stopping"),
        ({"script": "train_sgd.py", "channels": {"Test!": "bc.test"}},
         "Channel name 'Test!' is not valid"),
        ({"script": "train_sgd.py", "resources": {"gpu": 1}}, "unknown key(s) ['gpu']"),
    ],
)  # fmt: skip
def test_bad_script_requests_fail_before_a_job(
    ctx: WorkspaceContext, bc_parts: Parts, source: Path, request_: dict, message: str
) -> None:
    request_ = {"source_dir": source, **request_}
    with pytest.raises(InvalidParameter) as info:
        training_spec(ctx, train=bc_parts["train"], **request_)
    assert message in str(info.value)
    assert ctx.store.list_jobs() == []


def test_extra_channels_reach_the_script(
    ctx: WorkspaceContext, bc_parts: Parts, tmp_path: Path
) -> None:
    script = tmp_path / "channels.py"
    script.write_text(
        "import os, pathlib, json\n"
        "out = pathlib.Path(os.environ['SIKLUS_MODEL_DIR']) / 'channels.json'\n"
        "names = json.loads(os.environ['SIKLUS_CHANNELS'])\n"
        "out.write_text(json.dumps({n: os.path.getsize(os.environ['SIKLUS_CHANNEL_' + n.upper()])"
        " for n in names}))\n"
    )

    job, model = train(ctx, script=script, train=bc_parts["train"],
                       channels={"test": bc_parts["test"]})  # fmt: skip

    assert model.manifest["channels"] == {"train": bc_parts["train"].ref,
                                          "test": bc_parts["test"].ref}  # fmt: skip
    assert set(job.inputs) == {"train", "test"}
