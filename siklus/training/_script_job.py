"""Script mode, inside the job: run the user's own training script in a subprocess.

The job process unpacks the source snapshot, gives each input channel a private copy of
its Parquet file, runs ``python <entry point> --name value ...`` with the ``SIKLUS_*``
contract in its environment (``docs/script-mode.md``), and then stores what the script
left in ``SIKLUS_MODEL_DIR`` as one deterministic ``.tar.gz`` artifact with a Model record
(``"format": "directory"``). The script's stdout and stderr go to the job log; a non-zero
exit fails the job with the exit code and the end of its stderr.

The subprocess inherits the job's capacity lease (``pass_fds``) and process group, so a
stop reaches it and, should the job process die first, the machine stays reserved for
as long as the script runs.
"""

from __future__ import annotations

import collections
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from siklus.exceptions import JobFailed
from siklus.jobs import JobContext, JobStopped
from siklus.training._archive import pack_directory, unpack_archive
from siklus.training._artifact import library_versions
from siklus.training._script_spec import hyperparameter_args
from siklus.training._tracking import RUN_ID_ENV, Tracker, run_id_of

_POLL_S = 0.1
_STDERR_LINES = 12
_REASON_TAIL = 1500
_MANIFEST_FILES = 1000
Series = dict[str, list[tuple[int | None, float | None]]]


class ScriptFailed(JobFailed):
    """The training script exited with an error or did not keep the script-mode contract."""


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _tee_stderr(stream: IO[bytes], tail: collections.deque[str]) -> None:
    """Copy the script's stderr into the job log (fd 2) and keep its last lines."""
    for line in iter(stream.readline, b""):
        os.write(2, line)
        tail.append(line.decode("utf-8", errors="replace").rstrip()[:300])
    stream.close()


def _run_script(
    ctx: JobContext, command: list[str], cwd: Path, env: dict[str, str]
) -> tuple[int, bool, list[str]]:
    """Run the script to its end; ``(exit code, stopped, last stderr lines)``."""
    tail: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
    # Polling once marks this entrypoint cooperative: a stop is then never raised into
    # this function; the script gets the SIGTERM and this loop records how it ended.
    if ctx.should_stop():
        raise JobStopped("stopped before the training script started")
    stopped = False
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
        pass_fds=ctx.lease_fds,
    )  # fmt: skip
    assert proc.stderr is not None
    reader = threading.Thread(target=_tee_stderr, args=(proc.stderr, tail), daemon=True)
    reader.start()
    while True:
        try:
            code = proc.wait(timeout=_POLL_S)
            break
        except subprocess.TimeoutExpired:
            pass
        if not stopped and ctx.should_stop():
            # A stop through the executor already signalled the whole process group;
            # this covers a SIGTERM sent to the job process alone.
            stopped = True
            ctx.log.info("Stop requested: SIGTERM to the training script (pid %d).", proc.pid)
            proc.send_signal(signal.SIGTERM)
    reader.join(timeout=5)
    # A stop through the executor signals the script directly; it may exit before the
    # loop above ever saw the request. Either way the job was stopped, not failed.
    stopped = stopped or ctx.should_stop()
    return code, stopped, list(tail)


def _failure(entry: str, code: int, tail: list[str]) -> ScriptFailed:
    if code < 0:
        how = f"was killed by {signal.Signals(-code).name}"
        if -code == signal.SIGKILL:
            how += " (out of memory, or stopped from outside)"
    else:
        how = f"exited with code {code}"
    text = "\n".join(tail)[-_REASON_TAIL:] or "(nothing)"
    return ScriptFailed(
        f"Training script {entry} {how}. Last lines of its stderr:\n{text}\n"
        "Fix the script (the whole output is in the job log) and submit it again."
    )


def read_metrics_file(path: Path, log: Any) -> tuple[Series, int]:
    """Parse ``SIKLUS_METRICS_FILE``: JSON lines ``{"key": str, "value": number, "step": int}``.

    Returns:
        ``({key: [(step, value), ...]}, number of lines skipped)``. Malformed lines are
        skipped with a warning in the job log rather than failing a finished training.
    """
    series: Series = {}
    skipped = 0
    if not path.is_file():
        return series, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            point = json.loads(line)
            key, value, step = point["key"], point["value"], point.get("step")
            if not isinstance(key, str) or isinstance(value, bool):
                raise TypeError("key must be a string and value a number")
            value = float(value)
            if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
                raise TypeError("step must be an integer")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            skipped += 1
            if skipped <= 5:
                log.warning("Metrics file line %d skipped (%s): %.200s", number, exc, line)
            continue
        series.setdefault(key, []).append((step, value if math.isfinite(value) else None))
    return series, skipped


def _script_env(
    ctx: JobContext, folders: dict[str, Path], channels: dict[str, Path], run_id: str | None
) -> dict[str, str]:
    parameters = ctx.parameters
    env = {
        **os.environ,
        "SIKLUS_JOB_ID": ctx.job_id,
        "SIKLUS_CHANNELS": json.dumps(sorted(channels)),
        "SIKLUS_MODEL_DIR": str(folders["model"]),
        "SIKLUS_OUTPUT_DIR": str(folders["output"]),
        "SIKLUS_METRICS_FILE": str(folders["metrics"]),
        "SIKLUS_HYPERPARAMETERS": json.dumps(parameters.get("hyperparameters") or {}),
        "SIKLUS_SOURCE_DIR": str(folders["source"]),
        **ctx.allocation.env(),
    }
    for name, path in channels.items():
        env[f"SIKLUS_CHANNEL_{name.upper()}"] = str(path)
    for key, var in (("target", "SIKLUS_TARGET"), ("seed", "SIKLUS_SEED")):
        if parameters.get(key) is not None:
            env[var] = str(parameters[key])
    if run_id is not None:
        env[RUN_ID_ENV] = run_id
    return env


def _store_folder(ctx: JobContext, folder: Path) -> tuple[str, Any]:
    with tempfile.TemporaryDirectory(dir=ctx.workspace.state_dir) as tmp:
        archive = Path(tmp) / "folder.tar.gz"
        info = pack_directory(folder, archive)
        return ctx.workspace.artifacts.put_file(archive), info


def run(ctx: JobContext) -> dict[str, Any]:
    """Job entrypoint: run the script, then store its model folder and metrics."""
    ws, parameters, log = ctx.workspace, ctx.parameters, ctx.log
    source = parameters["script"]
    base = ctx.job_dir
    folders = {name: _fresh(base / name) for name in ("source", "input", "model", "output")}
    folders["metrics"] = base / "metrics.jsonl"
    folders["metrics"].unlink(missing_ok=True)
    try:
        unpack_archive(ws.artifacts.local_path(source["sha256"]), folders["source"])
        channels, refs = {}, {}
        for name, version_id in ctx.inputs.items():
            version = ws.store.get_dataset_version_by_id(version_id)
            channels[name] = folders["input"] / f"{name}.parquet"
            # A private copy: the script cannot damage the content-addressed original.
            shutil.copyfile(ws.artifacts.local_path(version.sha256), channels[name])
            refs[name] = version.ref
        run_id = run_id_of(parameters)
        tracker = Tracker(run_id, log)
        entry = source["entry_point"]
        command = [
            sys.executable, str(folders["source"] / entry),
            *hyperparameter_args(parameters.get("hyperparameters") or {}),
        ]  # fmt: skip
        log.info("Running training script %s (source sha256 %s).", entry, source["sha256"])
        env = _script_env(ctx, folders, channels, run_id)
        code, stopped, tail = _run_script(ctx, command, folders["source"], env)
    finally:
        shutil.rmtree(folders["input"], ignore_errors=True)
    series, skipped = read_metrics_file(folders["metrics"], log)
    tracker.log_series(series)
    history = {key: [value for _, value in points] for key, points in series.items()}
    outputs: dict[str, Any] = {
        "exit_code": code,
        "metrics": {key: values[-1] for key, values in history.items()},
        "history": history,
        "tracking": tracker.status,
    }
    steps = {key: [step for step, _ in points] for key, points in series.items()}
    if any(step is not None for values in steps.values() for step in values):
        outputs["history_steps"] = steps
    if skipped:
        outputs["metric_lines_skipped"] = skipped
    if stopped:
        log.info("Training script ended after the stop request (exit code %d).", code)
        return outputs
    if code != 0:
        raise _failure(entry, code, tail)
    if not any(folders["model"].iterdir()):
        raise ScriptFailed(
            f"Training script {entry} finished but wrote nothing to SIKLUS_MODEL_DIR "
            f"({folders['model']}). Save the trained model's files into the folder that "
            "variable names; siklus stores that folder as the model."
        )
    sha, info = _store_folder(ctx, folders["model"])
    if any(folders["output"].iterdir()):
        outputs["output_sha256"], _ = _store_folder(ctx, folders["output"])
    manifest = {
        "format": "directory",
        "archive": "tar.gz",
        "file_count": len(info.files),
        "total_bytes": info.total_bytes,
        "files": info.files[:_MANIFEST_FILES],
        "entry_point": entry,
        "source_sha256": source["sha256"],
        "hyperparameters": parameters.get("hyperparameters") or {},
        "target": parameters.get("target"),
        "training_dataset": refs.get("train"),
        "channels": refs,
        "metrics": outputs["metrics"],
        "library_versions": library_versions(),
    }
    model = ws.store.create_model(
        name=parameters.get("model_name") or Path(entry).stem, sha256=sha, manifest=manifest,
        training_job_id=ctx.job_id, tags=dict(ctx.job.tags),
    )  # fmt: skip
    for name, version_id in ctx.inputs.items():
        ws.store.add_lineage(("dataset", version_id), ("job", ctx.job_id), f"input:{name}")
    ws.store.add_lineage(("job", ctx.job_id), ("model", model.id), "output")
    for name in ("source", "model", "output"):
        shutil.rmtree(folders[name], ignore_errors=True)  # stored in the artifact store
    log.info("Stored model %s: %d file(s), sha256 %s.", model.id, len(info.files), sha)
    return {"model_id": model.id, "sha256": sha, **outputs}


__all__ = ["ScriptFailed", "read_metrics_file", "run"]
