"""The profile job and its API: profile a dataset version as a recorded, metered job.

Profiling runs as a job (``kind="profile"``) like every batch computation in siklus, so
it has a log, usage and lineage, and it runs wherever jobs run. Its results are two
content-addressed artifacts, the profile as JSON and the HTML report, whose sha256 are
the job's outputs; nothing in the metadata schema is specific to profiles.
"""

from __future__ import annotations

import json
from typing import Any

from siklus.data._datasets import resolve
from siklus.data.quality._html import render_html
from siklus.data.quality._profile import check_profile_options, compute_profile
from siklus.data.quality._profile_model import Profile
from siklus.exceptions import InvalidParameter
from siklus.jobs import JobContext, JobSpec, LocalExecutor, raise_for_status
from siklus.store import DatasetVersion, Job, WorkspaceContext

ENTRYPOINT = "siklus.data.quality._profile_job:run"


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: profile the input dataset, store JSON + HTML, link the lineage."""
    ws = job.workspace
    version = ws.store.get_dataset_version_by_id(job.inputs["dataset"])
    options = job.parameters
    job.log.info(
        "profiling %s (%d rows, %d columns)", version.ref, version.row_count, len(version.schema)
    )
    profile = compute_profile(
        ws.artifacts.local_path(version.sha256),
        dataset=version.ref,
        dataset_id=version.id,
        sha256=version.sha256,
        top_k=int(options.get("top_k", 10)),
        bins=int(options.get("bins", 20)),
        cramers_v=bool(options.get("cramers_v", True)),
    )
    profile_sha = ws.artifacts.put_bytes(
        json.dumps(profile.to_dict(), indent=1, allow_nan=False).encode("utf-8")
    )
    report_sha = ws.artifacts.put_bytes(render_html(profile).encode("utf-8"))
    ws.store.add_lineage(("dataset", version.id), ("job", job.job_id), "input")
    ws.store.add_lineage(("job", job.job_id), ("artifact", profile_sha), "profile")
    ws.store.add_lineage(("job", job.job_id), ("artifact", report_sha), "profile-report")
    for warning in profile.warnings:
        job.log.info("warning: %s", warning.message)
    job.log.info("stored profile %s and report %s", profile_sha[:12], report_sha[:12])
    return {
        "dataset": version.ref,
        "dataset_id": version.id,
        "profile_sha256": profile_sha,
        "report_sha256": report_sha,
        "rows": profile.rows,
        "columns": len(profile.columns),
        "warnings": len(profile.warnings),
    }


def profile_spec(
    version: DatasetVersion, *, top_k: int = 10, bins: int = 20, cramers_v: bool = True
) -> JobSpec:
    """The :class:`JobSpec` of a profile job (for pipelines that submit it themselves)."""
    check_profile_options(top_k, bins)
    return JobSpec(
        kind="profile",
        entrypoint=ENTRYPOINT,
        name=f"profile-{version.ref}",
        inputs={"dataset": version.id},
        parameters={"top_k": top_k, "bins": bins, "cramers_v": cramers_v},
    )


def load_profile(ctx: WorkspaceContext, job: Job) -> Profile:
    """Read the profile a completed profile job stored.

    Raises:
        InvalidParameter: ``job`` is not a completed profile job.
    """
    sha = job.outputs.get("profile_sha256")
    if job.kind != "profile" or not sha:
        raise InvalidParameter(
            f"Job {job.id} ({job.kind}) has no stored profile; give a completed profile job."
        )
    return Profile.from_dict(json.loads(ctx.artifacts.get_bytes(sha)))


def load_profile_html(ctx: WorkspaceContext, job: Job) -> str:
    """The HTML report a completed profile job stored."""
    sha = job.outputs.get("report_sha256")
    if job.kind != "profile" or not sha:
        raise InvalidParameter(
            f"Job {job.id} ({job.kind}) has no stored report; give a completed profile job."
        )
    return ctx.artifacts.get_bytes(sha).decode("utf-8")


def profile_dataset(
    ctx: WorkspaceContext,
    ref: str | DatasetVersion,
    *,
    top_k: int = 10,
    bins: int = 20,
    cramers_v: bool = True,
    executor: Any = None,
    timeout: float | None = None,
) -> tuple[Job, Profile]:
    """Profile a dataset version in a job and wait for it.

    Example:
        >>> job, profile = profile_dataset(ctx, "customers")  # doctest: +SKIP
        >>> [w.message for w in profile.warnings]  # doctest: +SKIP
        >>> html = load_profile_html(ctx, job)  # doctest: +SKIP

    Args:
        ctx: The workspace.
        ref: ``name``, ``name:version`` or a :class:`DatasetVersion`.
        top_k: Most frequent values kept per column.
        bins: Histogram bins of numeric and time columns.
        cramers_v: Also compute Cramér's V between categorical columns.
        executor: Runs the job (default :class:`~siklus.jobs.LocalExecutor`).
        timeout: Seconds to wait before :class:`~siklus.jobs.JobTimeout`.

    Returns:
        The completed job (outputs hold ``profile_sha256`` and ``report_sha256``) and
        the profile.

    Raises:
        NotFound: No such dataset version.
        InvalidParameter: ``top_k`` or ``bins`` out of range.
        JobFailed: The job failed; the message points at its log.
    """
    version = resolve(ctx, ref)
    spec = profile_spec(version, top_k=top_k, bins=bins, cramers_v=cramers_v)
    job = raise_for_status((executor or LocalExecutor(ctx)).run(spec, timeout=timeout))
    return job, load_profile(ctx, job)


__all__ = [
    "ENTRYPOINT",
    "load_profile",
    "load_profile_html",
    "profile_dataset",
    "profile_spec",
    "run",
]
