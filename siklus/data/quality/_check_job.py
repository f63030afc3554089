"""The data-quality check job and its API.

A check runs as a job (``kind="data-quality"``) so every verdict is recorded with its
rule set (the job's parameters), its log and its lineage. The report is a JSON artifact
whose sha256 is a job output, next to the verdict itself, so a pipeline step can branch
on ``job.outputs["passed"]`` without reading the report.

A check whose rules fail is still a *completed* job: the check worked, the data did
not pass. The job fails only when the check cannot run (a broken rule, a missing file).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from siklus.data._datasets import resolve
from siklus.data.quality._check import evaluate_rules
from siklus.data.quality._check_model import CheckReport
from siklus.data.quality._rules import RuleSet, load_rules, utc
from siklus.exceptions import InvalidParameter
from siklus.jobs import JobContext, JobSpec, LocalExecutor, raise_for_status
from siklus.store import DatasetVersion, Job, WorkspaceContext

ENTRYPOINT = "siklus.data.quality._check_job:run"


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: evaluate the rules, store the report, link the lineage."""
    ws = job.workspace
    version = ws.store.get_dataset_version_by_id(job.inputs["dataset"])
    rules = load_rules(job.parameters["rules"])
    now = job.parameters.get("now")
    job.log.info("checking %s against %d rule(s) of %r", version.ref, len(rules.rules), rules.name)
    report = evaluate_rules(
        ws.artifacts.local_path(version.sha256),
        rules,
        now=datetime.fromisoformat(now) if now else None,
        dataset=version.ref,
        dataset_id=version.id,
        sha256=version.sha256,
    )
    for result in report.results:
        state = "pass" if result.passed else f"FAIL ({result.severity})"
        job.log.info("%s %s: %s", state, result.name, result.message)
    report_sha = ws.artifacts.put_bytes(
        json.dumps(report.to_dict(), indent=1, allow_nan=False).encode("utf-8")
    )
    ws.store.add_lineage(("dataset", version.id), ("job", job.job_id), "input")
    ws.store.add_lineage(("job", job.job_id), ("artifact", report_sha), "data-quality-report")
    return {
        "dataset": version.ref,
        "dataset_id": version.id,
        "passed": report.passed,
        "report_sha256": report_sha,
        "rules": len(report.results),
        "failed_errors": len(report.failed_errors),
        "failed_warnings": len(report.failed_warnings),
    }


def check_spec(version: DatasetVersion, rules: RuleSet, *, now: datetime | None = None) -> JobSpec:
    """The :class:`JobSpec` of a check job; the rule set travels as its parameters."""
    return JobSpec(
        kind="data-quality",
        entrypoint=ENTRYPOINT,
        name=f"check-{version.ref}",
        inputs={"dataset": version.id},
        parameters={
            "rules": rules.model_dump(mode="json"),
            "now": utc(now).isoformat() if now else None,
        },
    )


def load_check_report(ctx: WorkspaceContext, job: Job) -> CheckReport:
    """Read the report a completed check job stored.

    Raises:
        InvalidParameter: ``job`` is not a completed data-quality job.
    """
    sha = job.outputs.get("report_sha256")
    if job.kind != "data-quality" or not sha:
        raise InvalidParameter(
            f"Job {job.id} ({job.kind}) has no stored check report; give a completed "
            "data-quality job."
        )
    return CheckReport.from_dict(json.loads(ctx.artifacts.get_bytes(sha)))


def check_dataset(
    ctx: WorkspaceContext,
    ref: str | DatasetVersion,
    rules: Any,
    *,
    now: datetime | None = None,
    executor: Any = None,
    timeout: float | None = None,
) -> tuple[Job, CheckReport]:
    """Check a dataset version against a rule set in a job and wait for the verdict.

    Rules are validated, and their columns checked against the dataset's schema, before
    the job starts, so a typo fails at once with the rule's name instead of in a log.

    Example:
        >>> job, report = check_dataset(ctx, "customers", "rules.yaml")  # doctest: +SKIP
        >>> report.passed, [r.name for r in report.failed_errors]  # doctest: +SKIP

    Args:
        ctx: The workspace.
        ref: ``name``, ``name:version`` or a :class:`DatasetVersion`.
        rules: A :class:`RuleSet`, a YAML/JSON file path, a dict or a list of rules.
        now: Reference time of freshness rules (default: when the job runs).
        executor: Runs the job (default :class:`~siklus.jobs.LocalExecutor`).
        timeout: Seconds to wait before :class:`~siklus.jobs.JobTimeout`.

    Returns:
        The completed job and the report; ``report.passed`` is the verdict.

    Raises:
        NotFound: No such dataset version or rule file.
        InvalidParameter: A rule is invalid or names a column the dataset lacks.
        JobFailed: The check could not run (e.g. custom SQL failed); see the job's log.
    """
    version = resolve(ctx, ref)
    ruleset = load_rules(rules)
    columns = [c["name"] for c in version.schema]
    for index, rule in enumerate(ruleset.rules):
        for column in rule.referenced_columns():
            if column not in columns:
                raise InvalidParameter(
                    f"Rule {rule.label!r} (rules[{index}], {rule.type}): dataset {version.ref} "
                    f"has no column {column!r}; columns: {columns}."
                )
    spec = check_spec(version, ruleset, now=now)
    job = raise_for_status((executor or LocalExecutor(ctx)).run(spec, timeout=timeout))
    return job, load_check_report(ctx, job)


__all__ = ["ENTRYPOINT", "check_dataset", "check_spec", "load_check_report", "run"]
