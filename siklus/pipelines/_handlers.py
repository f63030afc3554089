"""What each step type does: a function from resolved arguments to JSON outputs.

Steps whose work is long run it as a siklus job, through the stage's own public function
(``run_recipe``, ``check_dataset``, ``train``, ``tune``, the custom-step entrypoint), so
the job's log, metering and lineage are the stage's. Steps that only read or write a few
records run in the pipeline's process: ``ingest``, ``split``, ``evaluation``,
``condition``, ``register``, ``deploy``, ``fail`` (see docs/pipelines.md).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter, InvalidState, NotFound, SiklusError
from siklus.jobs import JobSpec, LocalExecutor, parse_entrypoint
from siklus.pipelines._model import Condition, Step
from siklus.store import Job, WorkspaceContext

CUSTOM_ENTRYPOINT = "siklus.pipelines.jobs:run_custom_step"


class StepFailure(SiklusError, RuntimeError):
    """A step failed in a way a retry cannot fix (a ``fail`` step, failed data checks)."""

    http_status = 422


@dataclass
class StepRun:
    """What a handler gets: the workspace, the step, its resolved arguments, callbacks."""

    ctx: WorkspaceContext
    step: Step
    args: dict[str, Any]
    log: logging.Logger
    on_job: Callable[[Job], None]
    project: Any = None
    jobs: list[str] = field(default_factory=list)

    def arg(self, name: str, default: Any = ...) -> Any:
        if name in self.args:
            return self.args[name]
        if default is ...:
            raise InvalidParameter(
                f"Step {self.step.name!r} ({self.step.type}) needs argument {name!r}."
            )
        return default

    def only(self, *allowed: str) -> None:
        unknown = sorted(set(self.args) - set(allowed))
        if unknown:
            raise InvalidParameter(
                f"Step {self.step.name!r} ({self.step.type}) has unknown argument(s) "
                f"{unknown}; allowed: {sorted(allowed)}."
            )


class _PollingExecutor:
    """A LocalExecutor whose ``run`` reports each poll (for stages that take ``executor=``)."""

    def __init__(self, ctx: WorkspaceContext, on_poll: Callable[[Job], None]) -> None:
        self._inner = LocalExecutor(ctx)
        self._on_poll = on_poll

    def run(self, spec: JobSpec, **kwargs: Any) -> Job:
        kwargs.setdefault("on_poll", self._on_poll)
        return self._inner.run(spec, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _ingest(run: StepRun) -> dict[str, Any]:
    from siklus import data

    run.only("path", "name", "format")
    path = Path(run.arg("path"))
    if not path.is_absolute():
        path = run.ctx.root / path
    version, created = data.ingest(run.ctx, path, run.arg("name"), format=run.arg("format", None))
    run.log.info("ingested %s as %s (created: %s)", path, version.ref, created)
    return {"dataset": version.ref, "dataset_id": version.id, "sha256": version.sha256}


def _recipe(run: StepRun) -> dict[str, Any]:
    from siklus.data.recipes import Recipe, run_recipe

    run.only("recipe", "dataset", "output_name", "fit", "threads", "memory_limit")
    recipe = run.arg("recipe")
    if isinstance(recipe, Mapping):
        recipe = Recipe.from_dict(recipe)
    elif isinstance(recipe, str) and recipe.endswith((".yaml", ".yml", ".json")):
        recipe = str(run.ctx.root / recipe) if not Path(recipe).is_absolute() else recipe
    job, version = run_recipe(
        run.ctx, recipe, run.arg("dataset"), output_name=run.arg("output_name"),
        fit=run.arg("fit", True), threads=run.arg("threads", 1),
        memory_limit=run.arg("memory_limit", None), on_poll=run.on_job,
    )  # fmt: skip
    run.on_job(job)
    return {
        "dataset": version.ref,
        "dataset_id": version.id,
        "job_id": job.id,
        "recipe_version": job.outputs.get("recipe_version"),
    }


def _quality(run: StepRun) -> dict[str, Any]:
    from siklus.data.quality import check_dataset

    run.only("dataset", "rules", "fail_on_error")
    job, report = check_dataset(
        run.ctx,
        run.arg("dataset"),
        run.arg("rules"),
        executor=_PollingExecutor(run.ctx, run.on_job),
    )
    run.on_job(job)
    failed = [r.name for r in report.failed_errors]
    outputs = {"passed": bool(report.passed), "job_id": job.id, "failed_rules": failed}
    if not report.passed and run.arg("fail_on_error", True):
        raise StepFailure(
            f"Data-quality check of {run.arg('dataset')} failed rule(s) {failed}; see the "
            f"report of job {job.id}. Fix the data (or the rules) and resume the execution."
        )
    return outputs


def _split(run: StepRun) -> dict[str, Any]:
    from siklus import data

    run.only("dataset", "fractions", "seed", "stratify")
    options: dict[str, Any] = {"seed": run.arg("seed", 42), "stratify": run.arg("stratify", None)}
    if "fractions" in run.args:
        options["fractions"] = tuple(run.args["fractions"])
    parts = data.split_dataset(run.ctx, run.arg("dataset"), **options)
    outputs: dict[str, Any] = {}
    for part, version in parts.items():
        outputs[part] = version.ref
        outputs[f"{part}_id"] = version.id
    return outputs


def _problem_defaults(run: StepRun, request: dict[str, Any]) -> dict[str, Any]:
    problem = getattr(run.project, "problem", None)
    if problem is not None:
        request.setdefault("target", problem.target)
        request.setdefault("positive_label", problem.positive_label)
    return request


def _training(run: StepRun) -> dict[str, Any]:
    from siklus import training

    request = _problem_defaults(run, dict(run.args))
    job, model = training.train(run.ctx, on_poll=run.on_job, **request)
    run.on_job(job)
    return {
        "model_id": model.id,
        "sha256": model.sha256,
        "job_id": job.id,
        "metrics": job.outputs.get("metrics", {}),
    }


def _tuning(run: StepRun) -> dict[str, Any]:
    from siklus import tuning

    request = _problem_defaults(run, dict(run.args))
    result = tuning.tune(run.ctx, on_poll=run.on_job, **request)
    run.on_job(run.ctx.store.get_job(result.id))
    if result.best_model_id is None:
        raise InvalidState(f"Tuning job {result.id} produced no model.")
    model = run.ctx.store.get_model(result.best_model_id)
    return {
        "model_id": model.id,
        "sha256": model.sha256,
        "job_id": result.id,
        "best_params": result.best_params,
        "best_value": result.best_value,
    }


def _evaluation(run: StepRun) -> dict[str, Any]:
    from siklus.evaluation import as_criterion
    from siklus.training import evaluate_model

    run.only("model", "dataset", "split", "criteria")
    criteria = run.arg("criteria", None)
    if criteria is None:
        criteria = list(getattr(run.project, "success_criteria", []) or [])
    parsed = [as_criterion(c) for c in criteria]
    evaluation = evaluate_model(
        run.ctx, run.arg("model"), run.arg("dataset"), split=run.arg("split", "test"),
        criteria=parsed,
    )  # fmt: skip
    verdict = evaluation.verdict
    return {
        "evaluation_id": evaluation.id,
        "metrics": evaluation.metrics,
        "passed": None if verdict is None else bool(verdict["passed"]),
        **{k: v for k, v in evaluation.metrics.items() if isinstance(v, int | float)},
    }


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def evaluate_conditions(
    step: Step, resolved: list[tuple[Any, Any]], log: logging.Logger
) -> dict[str, Any]:
    """All conditions of a condition step hold? ``resolved`` is ``(left, right)`` values."""
    results = []
    for condition, (left, right) in zip(step.conditions, resolved, strict=True):
        try:
            holds = bool(_OPS[condition.op](left, right))
        except TypeError:
            raise InvalidParameter(
                f"Condition step {step.name!r}: cannot compare {left!r} {condition.op} "
                f"{right!r}; both sides must be numbers (or both text)."
            ) from None
        log.info("%r %s %r: %s", left, condition.op, right, holds)
        results.append({"left": left, "op": condition.op, "right": right, "holds": holds})
    outcome = all(r["holds"] for r in results)
    return {"outcome": outcome, "branch": "if" if outcome else "else", "conditions": results}


def _register(run: StepRun) -> dict[str, Any]:
    from siklus import registry

    run.only("model", "group", "description", "approve", "reject", "reason")
    model_id, group = run.arg("model"), run.arg("group")
    existing = [p for p in run.ctx.store.list_model_packages(group) if p.model_id == model_id]
    if existing:  # re-running the pipeline on the same model must not add versions
        package = existing[0]
        run.log.info("model %s is already %s:%d", model_id, group, package.version)
    else:
        package = registry.register_model(
            run.ctx, model_id, group, description=run.arg("description", "")
        )
    ref = f"{package.group}:{package.version}"
    reason = run.arg("reason", "pipeline step " + run.step.name)
    if run.arg("approve", False) and package.approval_status.value != "Approved":
        package = registry.approve(run.ctx, ref, reason=reason, by="siklus pipelines")
    elif run.arg("reject", False) and package.approval_status.value != "Rejected":
        package = registry.reject(run.ctx, ref, reason=reason, by="siklus pipelines")
    return {
        "package": ref,
        "package_id": package.id,
        "group": package.group,
        "version": package.version,
        "approval_status": package.approval_status.value,
    }


def _deploy(run: StepRun) -> dict[str, Any]:
    from siklus import registry, serving

    run.only("endpoint", "package", "port", "force")
    name = run.arg("endpoint")
    package = registry.get_package(run.ctx, run.arg("package"))
    try:
        current = serving.describe_endpoint(run.ctx, name)
    except NotFound:
        current = None
    if current is not None and current.status.value != "Deleted":
        if current.model_package_id == package.id and current.status.value == "InService":
            run.log.info("endpoint %s already serves %s", name, package.id)
            endpoint = current
        else:  # update: replace the server with one for the new version
            run.log.info("updating endpoint %s to %s:%d", name, package.group, package.version)
            serving.delete_endpoint(run.ctx, name)
            current = None
    if current is None or current.status.value == "Deleted":
        endpoint = serving.create_endpoint(
            run.ctx, name, package.group, package.version, port=run.arg("port", None),
            force=run.arg("force", False),
        )  # fmt: skip
    # Serving does not record this edge itself; the pipeline does (see docs/lineage.md).
    run.ctx.store.add_lineage(("model_package", package.id), ("endpoint", name), "deployed")
    return {
        "endpoint": name,
        "url": endpoint.url,
        "package": f"{package.group}:{package.version}",
        "package_id": package.id,
    }


def _batch_transform(run: StepRun) -> dict[str, Any]:
    from siklus.data import resolve
    from siklus.serving.batch import transform

    options = {k: v for k, v in run.args.items() if k not in ("model", "input", "output_name")}
    for reserved in ("wait", "on_poll", "tags"):
        options.pop(reserved, None)
    result = transform(
        run.ctx, run.arg("model"), run.arg("input"), run.arg("output_name"),
        on_poll=run.on_job, **options,
    )  # fmt: skip
    if result.status != "Completed" or result.output_dataset is None:
        raise InvalidState(
            f"Batch transform {result.id} ended {result.status}: {result.failure_reason}. "
            f"Resume it with `siklus transform resume {result.id}` or resume this execution."
        )
    return {
        "transform_id": result.id,
        "dataset": result.output_dataset,
        "dataset_id": resolve(run.ctx, result.output_dataset).id,
        "job_ids": list(result.job_ids),
    }


def _monitoring_baseline(run: StepRun) -> dict[str, Any]:
    from siklus.monitoring import create_baseline

    options = {k: v for k, v in run.args.items() if k not in ("dataset", "name")}
    job, baseline = create_baseline(
        run.ctx, run.arg("dataset"), run.arg("name"), on_poll=run.on_job, **options
    )
    run.on_job(job)
    model = run.args.get("model")
    if isinstance(model, str):  # the baseline's model quality comes from this package
        from siklus import registry

        package = registry.get_package(run.ctx, model)
        run.ctx.store.add_lineage(
            ("model_package", package.id), ("monitoring-baseline", baseline.name), "baseline"
        )
    return {"baseline": baseline.name, "revision": baseline.revision, "job_id": job.id}


def _monitoring_schedule(run: StepRun) -> dict[str, Any]:
    from siklus.monitoring.scheduler import create_schedule, delete_schedule, get_schedule

    name = run.arg("name")
    options = {k: v for k, v in run.args.items() if k != "name"}
    try:
        get_schedule(run.ctx, name)
        delete_schedule(run.ctx, name)  # update: the new definition replaces the old one
        run.log.info("replacing monitoring schedule %s", name)
    except NotFound:
        pass
    schedule = create_schedule(run.ctx, name, **options)
    store = run.ctx.store
    node = ("monitoring-schedule", name)
    store.add_lineage(("monitoring-baseline", run.arg("baseline")), node, "baseline")
    if run.args.get("endpoint"):
        store.add_lineage(("endpoint", run.args["endpoint"]), node, "monitored-by")
    if run.args.get("dataset"):
        store.add_lineage(("dataset", str(run.args["dataset"])), node, "monitored-by")
    return {"schedule": schedule.name, "baseline": run.arg("baseline")}


def _fail(run: StepRun) -> dict[str, Any]:
    run.only("message")
    raise StepFailure(run.arg("message", f"pipeline reached fail step {run.step.name!r}"))


def load_function(dotted: str) -> Callable[..., Any]:
    """``"pkg.mod:fn"`` or ``"pkg.mod.fn"`` → the function."""
    entry = dotted if ":" in dotted else ":".join(dotted.rsplit(".", 1))
    module_name, attr = parse_entrypoint(entry)
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidParameter(f"Custom step function {dotted!r} cannot be loaded: {exc}") from None
    if not callable(fn):
        raise InvalidParameter(f"Custom step function {dotted!r} is not callable.")
    return fn  # type: ignore[no-any-return]


def function_version(dotted: str) -> str:
    """sha256 of the function's source: a code change invalidates cached outputs."""
    fn = load_function(dotted)
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = f"{fn.__module__}.{fn.__qualname__}"
    return hashlib.sha256(source.encode()).hexdigest()


def _custom(run: StepRun) -> dict[str, Any]:
    function = run.arg("function")
    load_function(function)  # a typo fails here, not in the job's log
    spec = JobSpec(
        kind="pipeline-step",
        entrypoint=CUSTOM_ENTRYPOINT,
        name=f"step-{run.step.name}",
        parameters={"function": function, "args": run.arg("args", {})},
        resources=dict(run.arg("resources", {"cpus": 1})),
    )
    job = LocalExecutor(run.ctx).run(spec, on_poll=run.on_job)
    run.on_job(job)
    if job.status.value != "Completed":
        raise InvalidState(
            f"Custom step {run.step.name!r} ({function}) ended {job.status.value}: "
            f"{job.failure_reason}. Log: {job.log_path}"
        )
    return {**job.outputs, "job_id": job.id}


HANDLERS: dict[str, Callable[[StepRun], dict[str, Any]]] = {
    "ingest": _ingest,
    "recipe": _recipe,
    "quality": _quality,
    "split": _split,
    "training": _training,
    "tuning": _tuning,
    "evaluation": _evaluation,
    "register": _register,
    "deploy": _deploy,
    "batch_transform": _batch_transform,
    "monitoring_baseline": _monitoring_baseline,
    "monitoring_schedule": _monitoring_schedule,
    "fail": _fail,
    "custom": _custom,
}

#: Where each step type runs (documentation and ``siklus pipelines describe``).
RUNS_AS: dict[str, str] = {
    "ingest": "in-process",
    "recipe": "job (recipe)",
    "quality": "job (data-quality check)",
    "split": "in-process",
    "training": "job (training)",
    "tuning": "job (tuning, trials as training jobs)",
    "evaluation": "in-process",
    "condition": "in-process",
    "register": "in-process",
    "deploy": "in-process (endpoint server process)",
    "batch_transform": "job (batch transform, resumable)",
    "monitoring_baseline": "job (monitoring baseline)",
    "monitoring_schedule": "in-process",
    "fail": "in-process",
    "custom": "job (pipeline-step)",
}


#: Arguments that name datasets: the cache key holds the version they resolve to, so a
#: new version of ``customers`` (referenced by name) is a cache miss.
DATASET_ARGS = ("dataset", "train", "validation")


def input_versions(ctx: WorkspaceContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset versions (id and sha256) that dataset-naming arguments resolve to now."""
    from siklus import data

    found: dict[str, Any] = {}
    for key in DATASET_ARGS:
        value = args.get(key)
        if isinstance(value, str):
            try:
                version = data.resolve(ctx, value)
            except (NotFound, InvalidParameter):
                continue  # a file path or a bad name: the handler reports it
            found[key] = [version.id, version.sha256]
    return found


def code_version(step: Step, args: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """What, besides the arguments, decides a step's output: versions of the code."""
    from importlib import metadata

    try:
        siklus_version = metadata.version("siklus")
    except metadata.PackageNotFoundError:
        siklus_version = "unknown"
    version: dict[str, Any] = {"siklus": siklus_version, "step_type": step.type}
    if step.type == "custom":
        version["function_sha256"] = function_version(args["function"])
    for key in ("recipe", "rules", "space"):
        value = args.get(key)
        if isinstance(value, str) and value.endswith((".yaml", ".yml", ".json")):
            path = Path(value) if Path(value).is_absolute() else root / value
            if path.is_file():
                version[f"{key}_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return version


__all__ = [
    "CUSTOM_ENTRYPOINT",
    "HANDLERS",
    "RUNS_AS",
    "Condition",
    "StepFailure",
    "StepRun",
    "code_version",
    "evaluate_conditions",
    "function_version",
    "load_function",
]
