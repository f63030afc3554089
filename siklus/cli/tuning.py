"""``siklus tune`` (with a live view of the trials) and ``siklus tuning-jobs list|describe``.

``siklus.tuning`` is imported inside the commands: it pulls in Optuna and scikit-learn,
which every other command would otherwise pay for at start-up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import yaml
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, fmt, print_json, print_record, print_table
from siklus.cli.training import parse_hyperparameters
from siklus.data import split_name
from siklus.exceptions import InvalidParameter

if TYPE_CHECKING:
    from siklus.tuning import TuningJob

app = typer.Typer(
    help="Tuning jobs: hyperparameter searches run as training jobs.", no_args_is_help=True
)

_POLL_S = 0.5
_LIVE_ROWS = 12
LIST_COLUMNS = (
    "id", "name", "status", "strategy", "objective", "trials", "best_value", "stop_reason",
    "created_at",
)  # fmt: skip


def read_space(text: str) -> Any:
    """``--space``: a YAML/JSON file, or an inline mapping such as ``'{C: {...}}'``."""
    from siklus.tuning import load_search_space

    if text.lstrip().startswith("{") and not Path(text).exists():
        try:
            return load_search_space(yaml.safe_load(text) or {})
        except yaml.YAMLError as exc:
            raise InvalidParameter(f"--space is not valid inline YAML/JSON: {exc}") from None
    return load_search_space(text)


def _params(params: dict[str, Any] | None) -> str:
    if not params:
        return "-"
    return ", ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in params.items())


def render(tuning: TuningJob, rows: int | None = _LIVE_ROWS) -> Group:
    """The live view: progress, best so far, and the latest ``rows`` trials (None: all)."""
    counts = tuning.counts
    done = sum(n for state, n in counts.items() if state != "Running")
    header = Text.assemble(
        (f"{tuning.name}", "bold"), f"  {tuning.id}  ", (tuning.status.value, "cyan"),
        f"  {tuning.strategy}, {tuning.direction} {tuning.objective}",
    )  # fmt: skip
    progress = Text(
        f"trials {done}/{tuning.max_jobs} done: {counts.get('Completed', 0)} completed, "
        f"{counts.get('Failed', 0)} failed, {counts.get('Pruned', 0)} pruned, "
        f"{counts.get('Stopped', 0)} stopped; {counts.get('Running', 0)} running"
    )
    best = Text(  # Text, not markup: values may contain "["
        f"best so far: {fmt(tuning.best_value)} (trial {tuning.best_trial}) "
        f"{_params(tuning.best_params)}"
        if tuning.best_trial is not None
        else "best so far: -"
    )
    table = Table(title="Trials", title_justify="left")
    for column in ("#", "state", tuning.objective, "hyperparameters", "job", "note"):
        table.add_column(column)
    styles = {"Completed": "green", "Failed": "red", "Pruned": "yellow", "Stopped": "yellow"}
    for trial in tuning.trials[-rows:] if rows else tuning.trials:
        mark = " *" if trial["number"] == tuning.best_trial else ""
        state = trial["state"]
        note = trial.get("failure_reason") or ""
        if note and trial.get("log_path"):
            note = f"{note[:120]} (log: {trial['log_path']})"
        # Text cells: hyperparameters and error messages may hold "[...]", which Rich would
        # otherwise read as markup.
        table.add_row(
            f"{trial['number']}{mark}", Text(state, styles.get(state, "cyan")),
            fmt(trial.get("value")), Text(_params(trial.get("params"))),
            fmt(trial.get("job_id")), Text(note),
        )  # fmt: skip
    return Group(header, progress, best, table)


def _follow(ws: Any, tuning: TuningJob) -> TuningJob:
    """Redraw the live view until the tuning job ends."""
    from siklus.tuning import describe_tuning_job

    try:
        with Live(render(tuning), console=console, refresh_per_second=4) as live:
            while not tuning.status.is_final:
                time.sleep(_POLL_S)
                tuning = describe_tuning_job(ws.ctx, tuning.id)
                live.update(render(tuning))
        console.line()
    except KeyboardInterrupt:
        console.print(
            f"Tuning job {tuning.id} keeps running. Follow it with `siklus tuning-jobs describe "
            f"{tuning.id}`; stop it with `siklus jobs stop {tuning.id}`."
        )
        raise
    return tuning


def tune(
    ctx: typer.Context,
    estimator: str = typer.Option(..., "--estimator", "-e", help="Dotted scikit-learn class."),
    data: str = typer.Option(
        None, "--data", "-d", help="Dataset NAME (uses NAME.train and NAME.validation)."
    ),
    train_channel: str = typer.Option(None, "--train", help="Training dataset (NAME[:VERSION])."),
    validation: str = typer.Option(None, "--validation", help="Validation dataset."),
    target_column: str = typer.Option(
        None, "--target-column", "-t", help="Target column (default: project)."
    ),
    space: str = typer.Option(
        ..., "--space", "-s", help="Search space: YAML/JSON file or inline mapping."
    ),
    objective: str = typer.Option(
        ..., "--objective", help="SPLIT:METRIC to optimise, e.g. validation:roc_auc."
    ),
    direction: str = typer.Option(None, help="maximize or minimize (default: from the metric)."),
    strategy: str = typer.Option("bayesian", help="bayesian (TPE), random, grid or hyperband."),
    max_jobs: int = typer.Option(
        None, "--max-jobs", help="At most this many trials (default 10; grid: its size)."
    ),
    max_parallel: int = typer.Option(1, "--max-parallel", help="Trials running at once."),
    no_improvement: int = typer.Option(
        None, "--no-improvement", help="Stop after N trials without improvement."
    ),
    min_delta: float = typer.Option(
        0.0, "--min-delta", help="Smallest gain that counts as improvement."
    ),
    target_value: float = typer.Option(
        None, "--target", "--target-value", help="Stop once the objective reaches this."
    ),
    warm_start: list[str] = typer.Option(
        None, "--warm-start", help="Earlier tuning job id (repeatable)."
    ),
    seed: int = typer.Option(None, help="Seeds the sampler and every trial's training."),
    hp: list[str] = typer.Option(None, "--hp", help="Fixed hyperparameter KEY=VALUE (repeatable)."),
    budget_parameter: str = typer.Option(
        None, help="Hyperband: budget hyperparameter (default n_estimators or max_iter)."
    ),
    min_budget: int = typer.Option(None, help="Hyperband: smallest budget."),
    max_budget: int = typer.Option(None, help="Hyperband: largest budget."),
    reduction_factor: int = typer.Option(None, help="Hyperband: eta (default 3)."),
    name: str = typer.Option(None, "--name", help="Tuning job (and experiment) name."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a tuning job: every trial is a training job; shows the trials live."""
    from siklus.tuning import describe_tuning_job, raise_for_result, start_tuning

    ws = open_workspace(ctx)
    if data is None and train_channel is None:
        raise InvalidParameter("Give --data NAME (after `siklus data split`) or --train DATASET.")
    problem = ws.project.problem if ws.project else None
    if target_column is None:
        if problem is None:
            raise InvalidParameter(
                "Give --target-column COLUMN (there is no siklus.yaml to take it from)."
            )
        target_column = problem.target
    hyperband = {
        key: value
        for key, value in {
            "budget_parameter": budget_parameter, "min_budget": min_budget,
            "max_budget": max_budget, "reduction_factor": reduction_factor,
        }.items()
        if value is not None
    }  # fmt: skip
    request: dict[str, Any] = {
        "estimator": estimator,
        "target": target_column,
        "train": train_channel or split_name(data, "train"),
        "validation": validation or (split_name(data, "validation") if data else None),
        "space": read_space(space),
        "objective": objective,
        "direction": direction,
        "strategy": strategy,
        "max_jobs": max_jobs,
        "max_parallel_jobs": max_parallel,
        "no_improvement_jobs": no_improvement,
        "min_delta": min_delta,
        "target_value": target_value,
        "warm_start": list(warm_start or []),
        "seed": seed,
        "hyperparameters": parse_hyperparameters(hp),
        "positive_label": problem.positive_label if problem else None,
        "hyperband": hyperband or None,
        "name": name,
    }
    tuning = start_tuning(ws.ctx, **request)
    if as_json:
        ws.jobs.wait(tuning.id, poll_interval=_POLL_S)
        tuning = describe_tuning_job(ws.ctx, tuning.id)
        print_json(tuning.to_dict())
    else:
        tuning = _follow(ws, tuning)
        _print_outcome(tuning)
    raise_for_result(tuning)


def _print_outcome(tuning: TuningJob) -> None:
    if tuning.best_model_id is None:
        return
    console.print(
        f"Best: trial {tuning.best_trial}, {tuning.objective} = {fmt(tuning.best_value)} with "
        f"{escape(_params(tuning.best_params))}; model [bold]{tuning.best_model_id}[/] "
        f"(stopped: {tuning.stop_reason}). Register it with `siklus models register "
        f"{tuning.best_model_id} --group NAME`."
    )


def _row(tuning: TuningJob) -> dict[str, Any]:
    row = tuning.to_dict()
    row.update(status=tuning.status, trials=len(tuning.trials), created_at=tuning.created_at)
    return row


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: int = typer.Option(50, help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List tuning jobs with their best objective so far."""
    from siklus.tuning import list_tuning_jobs

    jobs = list_tuning_jobs(open_workspace(ctx).ctx, limit=limit)
    if as_json:
        print_json([job.to_dict() for job in jobs])
        return
    print_table([_row(job) for job in jobs], LIST_COLUMNS, title="Tuning jobs", as_json=False)


@app.command("describe")
def describe(
    ctx: typer.Context,
    job_id: str = typer.Argument(..., help="Tuning job id."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a tuning job: settings, best trial and every trial."""
    from siklus.tuning import describe_tuning_job

    tuning = describe_tuning_job(open_workspace(ctx).ctx, job_id)
    if as_json:
        print_json(tuning.to_dict())
        return
    summary = {k: v for k, v in tuning.to_dict().items() if k != "trials"}
    print_record(summary, as_json=False)
    console.print(render(tuning, rows=None).renderables[-1])
