"""Scratch folders of killed loads are removed by the next load; live ones never are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from siklus.data.etl import _write, load_files
from siklus.jobs import process_create_time
from siklus.store import WorkspaceContext


def _dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _scratch(base: Path, pid: int, created_ms: int, host: str | None = None) -> Path:
    name = f"{_write.SCRATCH_PREFIX}{host or _write._host_tag()}-{pid}-{created_ms}-x1y2z3"
    folder = base / name
    (folder / "spill").mkdir(parents=True)
    (folder / "part-000001.parquet").write_bytes(b"staged rows")
    return folder


def test_a_load_removes_scratch_of_dead_processes_only(ctx: WorkspaceContext, tmp_path) -> None:
    me = os.getpid()
    mine_ms = round(process_create_time(me) * 1000)
    dead = _dead_pid()
    state, job_dir = ctx.state_dir, ctx.state_dir / "jobs" / "job-killed"
    stale = [
        _scratch(state, dead, 1_700_000_000_000),
        _scratch(job_dir, dead, 1_700_000_000_000),  # a load run as a job, then SIGKILLed
        _scratch(state, me, mine_ms - 60_000),  # this pid, but another process's start time
    ]
    kept = [
        _scratch(state, me, mine_ms),  # a live load's scratch (this test process)
        _scratch(state, dead, 1_700_000_000_000, host="other-host"),  # cannot judge it here
        state / ".etl-abc12345",  # no owner in its name
    ]
    kept[-1].mkdir()

    pd.DataFrame({"id": [1, 2]}).to_csv(tmp_path / "a.csv", index=False)
    result = load_files(ctx, str(tmp_path / "a.csv"), "events")
    assert result.version.row_count == 2
    assert [p.exists() for p in stale] == [False, False, False]
    assert [p.exists() for p in kept] == [True, True, True]
    assert (kept[0] / "part-000001.parquet").read_bytes() == b"staged rows"
    # The load's own scratch is gone too, and named after this process while it ran.
    assert sorted(p.name for p in state.glob(".etl-*")) == sorted(p.name for p in kept)


def test_scratch_is_named_after_its_process(ctx: WorkspaceContext) -> None:
    with _write.scratch_dir(ctx) as scratch:
        owner = _write._OWNED.match(scratch.name)
        assert owner is not None and int(owner["pid"]) == os.getpid()
        assert _write.remove_stale_scratch(ctx) == []  # alive: kept
        assert scratch.is_dir()
    assert not scratch.exists()


def test_symbolic_links_are_never_followed_out_of_the_workspace(
    ctx: WorkspaceContext, tmp_path
) -> None:
    dead = _dead_pid()
    outside = tmp_path / "outside"
    outside.mkdir()
    # A dead process's scratch, by name, outside the workspace, reached two ways: through
    # a job folder that is a link, and through a link named like a scratch folder.
    behind_job_link = _scratch(outside, dead, 1_700_000_000_000)
    target = outside / "precious"
    target.mkdir()
    (target / "data.txt").write_text("keep me")
    jobs = ctx.state_dir / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    (jobs / "job-linked").symlink_to(outside, target_is_directory=True)
    link = (
        ctx.state_dir / f"{_write.SCRATCH_PREFIX}{_write._host_tag()}-{dead}-1700000000000-l1n2k3"
    )
    link.symlink_to(target, target_is_directory=True)

    assert _write.remove_stale_scratch(ctx) == []
    assert (behind_job_link / "part-000001.parquet").read_bytes() == b"staged rows"
    assert (target / "data.txt").read_text() == "keep me"
    assert link.is_symlink()


def test_scratch_of_another_pid_namespace_on_the_same_host_is_kept(ctx: WorkspaceContext) -> None:
    # Containers on the host's network share its host name, not its process ids: a pid
    # dead here may be a running load there.
    if not _write._pid_namespace():
        return  # no pid namespaces on this system: the host name alone tells
    host = _write._host_tag().rsplit("_ns", 1)[0]
    dead = _dead_pid()
    theirs = _scratch(ctx.state_dir, dead, 1_700_000_000_000, host=f"{host}_ns1")
    plain = _scratch(ctx.state_dir, dead, 1_700_000_000_000, host=host)
    assert _write.remove_stale_scratch(ctx) == []
    assert theirs.is_dir() and plain.is_dir()
