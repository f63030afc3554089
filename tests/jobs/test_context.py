"""JobContext, stop flags, errors, metering and logs: the pieces a job process uses."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from siklus.exceptions import InvalidParameter, InvalidState, JobFailed
from siklus.jobs import JobContext, Meter, StopFlag, job_dir_for, raise_for_status
from siklus.jobs._logs import read_log
from siklus.store import Job, JobStatus, WorkspaceContext


def _record(status: JobStatus, reason: str | None = None) -> Job:
    now = datetime.now(UTC)
    return Job(
        id="job-1", name="nightly", kind="etl", entrypoint="a:b",
        inputs={"dataset": "raw:3"}, parameters={"limit": 10}, resources={}, tags={},
        status=status, failure_reason=reason, created_at=now, started_at=now,
        ended_at=now if status.is_final else None, pid=None, pid_started_at=None,
        host=None, log_path="/ws/.siklus/jobs/job-1/log.txt", outputs={},
        wall_seconds=None, cpu_seconds=None, peak_rss_bytes=None, stop_requested=False,
    )  # fmt: skip


def test_context_exposes_the_spec_and_a_stop_flag(tmp_path: Path) -> None:
    workspace = WorkspaceContext.open(tmp_path)
    ctx = JobContext(
        job=_record(JobStatus.IN_PROGRESS), workspace=workspace,
        log=logging.getLogger("test"), job_dir=job_dir_for(workspace, "job-1"),
    )  # fmt: skip

    assert ctx.job_id == "job-1"
    assert ctx.inputs == {"dataset": "raw:3"} and ctx.parameters == {"limit": 10}
    assert ctx.job_dir == tmp_path / ".siklus" / "jobs" / "job-1" and ctx.job_dir.is_dir()
    assert not ctx.should_stop()
    assert ctx.stop_flag.cooperative and not ctx.stop_flag.observed
    ctx.stop_flag.request()
    assert ctx.should_stop()
    assert ctx.stop_flag.observed


def test_stop_flag_starts_clear() -> None:
    flag = StopFlag()

    assert not (flag.requested or flag.cooperative or flag.observed or flag.running)


def test_raise_for_status() -> None:
    done = _record(JobStatus.COMPLETED)
    assert raise_for_status(done) is done

    with pytest.raises(JobFailed, match=r"ended Failed: ValueError: boom\. See the log: /ws/"):
        raise_for_status(_record(JobStatus.FAILED, "ValueError: boom"))
    with pytest.raises(JobFailed, match="ended Stopped: stopped by user"):
        raise_for_status(_record(JobStatus.STOPPED, "stopped by user"))
    with pytest.raises(InvalidState, match="is still InProgress; wait for it"):
        raise_for_status(_record(JobStatus.IN_PROGRESS))


def test_meter_measures_this_process() -> None:
    usage = Meter().usage()

    assert usage["wall_seconds"] >= 0
    assert usage["cpu_seconds"] > 0
    assert usage["peak_rss_bytes"] > 1024 * 1024


def test_meter_counts_wall_time_from_process_start() -> None:
    # The job process is created before it can build its meter; start-up is billed too.
    usage = Meter(process_started_at=time.time() - 5.0).usage()

    assert 5.0 <= usage["wall_seconds"] < 60.0


def test_meter_leaves_queued_time_out() -> None:
    meter = Meter(process_started_at=time.time() - 10.0)
    meter.exclude(8.0)  # what the job process does after waiting 8 s for capacity

    assert 2.0 <= meter.usage()["wall_seconds"] < 30.0


def test_read_log_whole_and_tail(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    lines = [f"line {i}\n" for i in range(20_000)]  # larger than one read block
    log.write_text("".join(lines))

    assert read_log(log) == "".join(lines)
    assert read_log(log, tail=3) == "line 19997\nline 19998\nline 19999\n"
    assert read_log(log, tail=0) == ""
    assert read_log(log, tail=50_000) == "".join(lines)
    assert read_log(tmp_path / "missing.txt") == ""
    assert read_log(None, tail=5) == ""
    with pytest.raises(InvalidParameter, match="tail must be"):
        read_log(log, tail=-1)
