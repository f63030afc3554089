"""Write new project files: a commented template, and the quickstart's breast-cancer project.

The template is the documentation most people will read first, so it explains each
section in comments and holds example values that already validate: ``siklus init``
followed by ``siklus`` commands works before anything is edited. Files are written to a
temporary name and renamed, so an interrupted write never leaves half a project file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, get_args

import yaml

from siklus.evaluation import parse_criterion
from siklus.exceptions import AlreadyExists, InvalidParameter
from siklus.project._loader import PROJECT_FILE, parse_project
from siklus.project._model import (
    BusinessMetric,
    CostBenefit,
    ProblemSpec,
    ProblemType,
    ProjectSpec,
    check_project_name,
)

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

_CRITERIA: dict[str, list[str]] = {
    "binary_classification": [
        "recall >= 0.80 on test",
        "precision >= 0.70 on test",
        "roc_auc >= 0.85 on test",
    ],
    "multiclass_classification": [
        "f1_macro >= 0.80 on test",
        "accuracy >= 0.85 on test",
    ],
    "regression": [
        "rmse <= 10.0 on test",
        "r2 >= 0.70 on test",
    ],
}

_METRIC_NAMES: dict[str, str] = {
    "binary_classification": "accuracy, precision, recall, f1, roc_auc, false_positive_rate,\n"
    "#   true_negative_rate (precision/recall/f1 are those of positive_label).",
    "multiclass_classification": "accuracy, f1_macro, f1_weighted, precision_macro,\n"
    "#   recall_macro, roc_auc_macro, per_class.<label>.recall, ...",
    "regression": "mse, rmse, mae, r2.",
}

_TEMPLATE = """\
# siklus project file: the business goal of this model and how success is measured.
# Every siklus command reads it; a mistake is reported with its field and line number.

name: {name}
description: ""

# 1. The problem: what is predicted, from which data, for whom.
problem:
  statement: Predict <what> from <which data> so that <who> can <decide what>.
  # binary_classification | multiclass_classification | regression
  type: {problem_type}
  # The column that holds the value to predict.
  target: {target}
{positive_label}
# 2. The business goal, in business terms: which decision improves, and by how much.
business_goal: Replace with the business outcome this model serves.

# 3. Success criteria: a model is accepted only when every one holds.
#   Form: "<metric> <op> <number> on <split>", op one of >=, >, <=, <, ==.
#   Metrics: {metric_names}
success_criteria:
{criteria}
# 4. Business metrics: what the business measures today (baseline) and aims for (target).
business_metrics:
  - name: example_error_rate
    unit: fraction
    baseline: 0.20
    target: 0.10
    direction: decrease  # increase | decrease: which way is better
    description: Replace with a number the business already tracks.

# 5. Cost-benefit: estimated monthly running cost against the monthly benefit.
cost_benefit:
  currency: USD
  estimated_monthly_cost: 500
  estimated_monthly_benefit: 2000
  notes: Replace with the assumptions behind these numbers.

# People or teams who sign off the project.
stakeholders: []

# Cost-allocation tags copied onto every resource this project creates.
tags:
  project: {name}

# Overrides of siklus settings (list them with `siklus config`); SIKLUS_* environment
# variables take precedence over these.
settings: {{}}
"""

_POSITIVE_LABEL = """\
  # The class you most need to find; precision and recall are measured for it.
  # Default: the greater label in sorted order (1 of 0/1).
  positive_label: null
"""


def scaffold_project(
    folder: str | os.PathLike[str],
    name: str,
    *,
    problem_type: ProblemType = "binary_classification",
    target: str = "target",
    overwrite: bool = False,
) -> Path:
    """Write a commented, valid ``siklus.yaml`` template into ``folder``.

    Args:
        folder: The workspace folder; created if missing.
        name: The project name, a slug such as ``"churn-model"``.
        problem_type: ``binary_classification``, ``multiclass_classification`` or
            ``regression``; picks example criteria that fit.
        target: The column the model will predict.
        overwrite: Replace an existing ``siklus.yaml`` (its content is lost).

    Returns:
        The path of the written file.

    Raises:
        InvalidParameter: ``name``, ``problem_type`` or ``target`` is not valid.
        AlreadyExists: The file exists and ``overwrite`` is false.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     scaffold_project(folder, "churn", target="churned").name
        'siklus.yaml'
    """
    check_project_name(name)
    allowed_types = get_args(ProblemType)
    if problem_type not in allowed_types:
        raise InvalidParameter(
            f"problem_type {problem_type!r} is not supported; use one of "
            f"{', '.join(allowed_types)}."
        )
    if not isinstance(target, str) or not target.strip():
        raise InvalidParameter(
            f"target {target!r} must name the column to predict, e.g. 'churned'."
        )
    text = _TEMPLATE.format(
        name=_scalar(name),
        problem_type=problem_type,
        target=_scalar(target),
        positive_label=_POSITIVE_LABEL if problem_type == "binary_classification" else "",
        metric_names=_METRIC_NAMES[problem_type],
        criteria="".join(f"  - {c}\n" for c in _CRITERIA[problem_type]),
    )
    path = Path(folder) / PROJECT_FILE
    # The template must always validate; checking here keeps a broken one off disk.
    parse_project(text, source=str(path))
    _write_atomically(path, text, overwrite=overwrite)
    return path


def write_project(
    spec: ProjectSpec, folder: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``spec`` as ``siklus.yaml`` into ``folder``.

    Args:
        spec: The project, e.g. from :func:`breast_cancer_project`.
        folder: The workspace folder; created if missing.
        overwrite: Replace an existing ``siklus.yaml``.

    Returns:
        The path of the written file.

    Raises:
        AlreadyExists: The file exists and ``overwrite`` is false.
    """
    path = Path(folder) / PROJECT_FILE
    header = "# siklus project file (see `siklus init` for a commented template).\n\n"
    _write_atomically(path, header + spec.dump_yaml(), overwrite=overwrite)
    return path


def breast_cancer_project() -> ProjectSpec:
    """The project of the quickstart: find malignant tumours from cell measurements.

    It frames scikit-learn's Wisconsin breast cancer data set (30 measurements of cell
    nuclei from a fine-needle aspirate, labels ``malignant``/``benign``) as the seed
    does: a missed cancer costs far more than a false alarm, so recall on ``malignant``
    comes first and precision keeps the extra biopsies bounded. The business numbers are
    illustrative.

    Returns:
        The validated :class:`ProjectSpec`.
    """
    return ProjectSpec(
        name="breast-cancer",
        description="Quickstart: the whole lifecycle on the Wisconsin breast cancer data.",
        problem=ProblemSpec(
            statement=(
                "Classify breast tumours as malignant or benign from measurements of cell "
                "nuclei in a fine-needle aspirate image."
            ),
            type="binary_classification",
            target="diagnosis",
            positive_label="malignant",
        ),
        business_goal=(
            "Catch malignant tumours early so that fewer cancers are missed, while keeping "
            "the number of unnecessary follow-up biopsies low."
        ),
        success_criteria=[
            parse_criterion("recall >= 0.90 on test"),
            parse_criterion("precision >= 0.85 on test"),
            parse_criterion("roc_auc >= 0.95 on test"),
        ],
        business_metrics=[
            BusinessMetric(
                name="missed_cancer_rate",
                unit="fraction",
                baseline=0.12,
                target=0.05,
                direction="decrease",
                description="Share of malignant cases first read as benign (false negatives).",
            ),
            BusinessMetric(
                name="unnecessary_biopsy_rate",
                unit="fraction",
                baseline=0.20,
                target=0.15,
                direction="decrease",
                description="Share of biopsies ordered for tumours that turn out benign.",
            ),
        ],
        cost_benefit=CostBenefit(
            currency="USD",
            estimated_monthly_cost=1500.0,
            estimated_monthly_benefit=12000.0,
            notes=(
                "Illustrative: cost is compute, storage and a share of an ML engineer; "
                "benefit is later-stage treatment avoided for cancers caught earlier."
            ),
        ),
        stakeholders=["oncology", "radiology", "ml-research"],
        tags={"project": "breast-cancer", "cost-center": "ml-research"},
        pipeline=breast_cancer_pipeline(),
    )


def breast_cancer_pipeline() -> dict[str, Any]:
    """The quickstart's pipeline, from raw CSV to a served model (``siklus run``).

    ingest → recipe → data-quality check → split → tune → evaluate → condition on the
    project's success criteria → register and approve → deploy → monitoring baseline →
    hourly monitoring schedule of the endpoint's captured data; when the criteria fail,
    the model is registered as Rejected and the execution fails with the reason.
    """
    model = {"from": "tune.model_id"}
    return {
        "description": "Ingest, prepare, check, split, tune, evaluate, register, deploy.",
        "parameters": {
            "data_file": {"type": "string", "default": "data/breast_cancer.csv"},
            "endpoint": {"type": "string", "default": "breast-cancer"},
            "max_tuning_jobs": {"type": "integer", "default": 4},
            "seed": {"type": "integer", "default": 42},
        },
        "steps": [
            {"name": "ingest", "type": "ingest",
             "args": {"path": {"param": "data_file"}, "name": "breast_cancer"}},
            {"name": "prepare", "type": "recipe",
             "args": {"dataset": {"from": "ingest.dataset"},
                      "output_name": "breast_cancer.prepared",
                      "recipe": {"name": "breast-cancer-prepare",
                                 "steps": [{"step": "drop_duplicates"}]}}},
            {"name": "check", "type": "quality",
             "args": {"dataset": {"from": "prepare.dataset"},
                      "rules": [{"type": "completeness", "column": "diagnosis",
                                 "min_fraction": 1.0},
                                {"type": "allowed_values", "column": "diagnosis",
                                 "values": ["malignant", "benign"]}]}},
            {"name": "split", "type": "split", "depends_on": ["check"],
             "args": {"dataset": {"from": "prepare.dataset"}, "stratify": "diagnosis",
                      "seed": {"param": "seed"}}},
            {"name": "tune", "type": "tuning",
             "args": {"estimator": "sklearn.linear_model.LogisticRegression",
                      "train": {"from": "split.train"},
                      "validation": {"from": "split.validation"},
                      "space": {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True}},
                      "hyperparameters": {"max_iter": 2000},
                      "objective": "validation:f1", "strategy": "bayesian",
                      "max_jobs": {"param": "max_tuning_jobs"}, "seed": {"param": "seed"}}},
            {"name": "evaluate", "type": "evaluation",
             "args": {"model": model, "dataset": {"from": "split.test"}, "split": "test"}},
            {"name": "criteria", "type": "condition",
             "conditions": [{"left": {"from": "evaluate.passed"}, "op": "==", "right": True}],
             "if_steps": ["register"], "else_steps": ["reject", "not-good-enough"]},
            {"name": "register", "type": "register",
             "args": {"model": model, "group": "breast-cancer", "approve": True,
                      "reason": "all success criteria passed on test"}},
            {"name": "deploy", "type": "deploy",
             "args": {"endpoint": {"param": "endpoint"}, "package": {"from": "register.package"}}},
            {"name": "baseline", "type": "monitoring_baseline",
             "args": {"dataset": {"from": "split.train"}, "name": "breast-cancer",
                      "label": "diagnosis", "model": {"from": "register.package"}}},
            {"name": "monitor", "type": "monitoring_schedule",
             "args": {"name": "breast-cancer-hourly", "baseline": {"from": "baseline.baseline"},
                      "endpoint": {"from": "deploy.endpoint"}, "cron": "0 * * * *",
                      "kinds": ["data_quality", "data_drift"]}},
            {"name": "reject", "type": "register",
             "args": {"model": model, "group": "breast-cancer", "reject": True,
                      "reason": "success criteria not met on test"}},
            {"name": "not-good-enough", "type": "fail", "depends_on": ["reject"],
             "args": {"message": "the model did not meet the success criteria; not deployed"}},
        ],
    }  # fmt: skip


def _scalar(value: str) -> str:
    """Write a string as a YAML scalar: plain when that reads back unchanged, else quoted."""
    if _PLAIN.match(value) and yaml.safe_load(value) == value:
        return value
    return yaml.safe_dump(value, default_style='"').strip()


def _write_atomically(path: Path, text: str, *, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise _exists(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the name was taken since the check above: no clobbering.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise _exists(path) from None
            except OSError:
                # No hard links on this filesystem: fall back to check-then-rename.
                if path.exists():
                    raise _exists(path) from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _exists(path: Path) -> AlreadyExists:
    return AlreadyExists(
        f"{str(path)!r} already exists. Edit it, or pass overwrite=True (`siklus init "
        "--overwrite`) to replace it; its content is then lost."
    )
