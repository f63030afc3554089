"""The model of ``siklus.yaml``: problem, business goal, success criteria, costs, tags.

The project file is written by people, so every model forbids unknown fields (a
misspelled ``succes_criteria`` must be an error, not a silently ignored key) and every
check says what a valid value looks like. :mod:`siklus.project._loader` turns pydantic's
errors into messages that also carry the line in the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from siklus.config import SETTINGS
from siklus.evaluation import Criterion, Verdict, as_criterion, evaluate_criteria
from siklus.exceptions import InvalidParameter

ProblemType = Literal["binary_classification", "multiclass_classification", "regression"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_MAX_NAME = 63  # fits a DNS label, so a project name can name hosts and buckets unchanged
_MAX_TAG_KEY = 128
_MAX_TAG_VALUE = 256

# Criteria are written either as text ("recall >= 0.90 on test") or as a mapping; both
# become a Criterion, and it is written back as text because that is what people read.
CriterionField = Annotated[
    Criterion,
    PlainValidator(as_criterion, json_schema_input_type=str | dict[str, Any]),
    PlainSerializer(str, return_type=str),
]


def check_project_name(name: str) -> str:
    """Return ``name`` if it is a valid project slug.

    Raises:
        InvalidParameter: It is not; the message shows a valid example.
    """
    if not isinstance(name, str) or not _SLUG.match(name) or len(name) > _MAX_NAME:
        raise InvalidParameter(
            f"project name {name!r} is not a slug; use up to {_MAX_NAME} lowercase "
            "letters, digits, '-' and '_', starting with a letter or digit, e.g. "
            "'breast-cancer'"
        )
    return name


def _check_tag_key(key: str) -> str:
    if not key.strip():
        raise ValueError("a tag key must not be empty or blank; use e.g. 'cost-center'")
    if len(key) > _MAX_TAG_KEY:
        raise ValueError(
            f"tag key {key[:20]!r}... has {len(key)} characters; the limit is {_MAX_TAG_KEY}"
        )
    return key


def _check_tag_value(value: str) -> str:
    if not value.strip():
        raise ValueError("a tag value must not be empty or blank; remove the tag or give a value")
    if len(value) > _MAX_TAG_VALUE:
        raise ValueError(
            f"tag value {value[:20]!r}... has {len(value)} characters; the limit is "
            f"{_MAX_TAG_VALUE}"
        )
    return value


def _check_setting_name(name: str) -> str:
    if name not in SETTINGS:
        known = ", ".join(sorted(SETTINGS))
        raise ValueError(f"unknown setting {name!r}; known settings: {known}")
    return name


TagKey = Annotated[str, AfterValidator(_check_tag_key)]
TagValue = Annotated[str, AfterValidator(_check_tag_value)]
SettingName = Annotated[str, AfterValidator(_check_setting_name)]


class _Spec(BaseModel):
    """Shared configuration: no unknown fields, no NaN/inf, immutable values."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ProblemSpec(_Spec):
    """What is predicted, and what kind of machine-learning problem that is.

    Attributes:
        statement: The problem in one or two sentences, for people reading the project.
        type: ``binary_classification``, ``multiclass_classification`` or ``regression``;
            it decides which metrics evaluation computes.
        target: The column that holds the value to predict.
        positive_label: Binary classification only: the class whose detection precision
            and recall measure (default: the greater label, see
            :func:`siklus.evaluation.classification_metrics`).
    """

    statement: str = Field(min_length=1)
    type: ProblemType
    target: str = Field(min_length=1)
    positive_label: str | int | None = None

    @field_validator("positive_label")
    @classmethod
    def _binary_only(cls, value: str | int | None, info: ValidationInfo) -> str | int | None:
        problem_type = info.data.get("type")
        if value is not None and problem_type not in (None, "binary_classification"):
            raise ValueError(
                f"positive_label {value!r} applies only to binary_classification, but type "
                f"is {problem_type!r}; remove positive_label"
            )
        return value


class BusinessMetric(_Spec):
    """A number the business tracks, with where it is today and where it should go.

    Attributes:
        name: Short identifier, e.g. ``missed_cancer_rate``.
        unit: Unit for reports, e.g. ``fraction``, ``USD``, ``hours/week``.
        baseline: The value today, before the model.
        target: The value the project aims for, if one was agreed.
        direction: Whether a better value is higher (``increase``) or lower
            (``decrease``); checked against ``baseline`` and ``target``.
        description: How the metric is measured.
    """

    name: str = Field(min_length=1)
    unit: str = ""
    baseline: float
    target: float | None = None
    direction: Literal["increase", "decrease"]
    description: str = ""

    @model_validator(mode="after")
    def _target_moves_the_right_way(self) -> BusinessMetric:
        if self.target is None:
            return self
        better = self.target > self.baseline
        if self.direction == "decrease":
            better = self.target < self.baseline
        if not better:
            word = "above" if self.direction == "increase" else "below"
            raise ValueError(
                f"business metric {self.name!r} should {self.direction}, but target "
                f"{self.target!r} is not {word} baseline {self.baseline!r}; fix the target "
                "or the direction"
            )
        return self


class CostBenefit(_Spec):
    """The cost-benefit estimate that justifies building the model.

    Attributes:
        currency: ISO 4217 code of the amounts, e.g. ``USD``.
        estimated_monthly_cost: Running cost per month (compute, storage, people).
        estimated_monthly_benefit: Value created per month (savings, revenue).
        notes: Assumptions behind the numbers.
    """

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    estimated_monthly_cost: float = Field(ge=0)
    estimated_monthly_benefit: float = Field(ge=0)
    notes: str = ""

    @property
    def monthly_net_benefit(self) -> float:
        """Benefit minus cost per month."""
        return self.estimated_monthly_benefit - self.estimated_monthly_cost

    @property
    def roi(self) -> float | None:
        """Return on investment, ``(benefit - cost) / cost``; ``None`` when cost is 0.

        A ratio over zero cost is undefined rather than infinite, so reports show "n/a"
        instead of a misleading number.
        """
        if self.estimated_monthly_cost == 0:
            return None
        return self.monthly_net_benefit / self.estimated_monthly_cost


class ProjectSpec(_Spec):
    """The whole ``siklus.yaml``: one project's goal, success criteria and costs.

    Build it with :func:`siklus.project.load_project` (from a file),
    :func:`siklus.project.parse_project` (from text) or directly in code; it is
    immutable and compares by value, and :meth:`dump_yaml` writes it back.

    Attributes:
        name: Slug of lowercase letters, digits, ``-`` and ``_``; names resources.
        description: Free text.
        problem: See :class:`ProblemSpec`.
        business_goal: The business outcome the model serves.
        success_criteria: At least one criterion; a model is accepted when all hold.
        business_metrics: See :class:`BusinessMetric`; names are unique.
        cost_benefit: See :class:`CostBenefit`.
        stakeholders: People or teams who sign off the project.
        tags: Cost-allocation tags every resource of the project carries; keys up to 128
            and values up to 256 characters, neither empty.
        settings: Overrides of :data:`siklus.config.SETTINGS`, lower precedence than
            environment variables. Values are parsed to the setting's type.
        pipeline: The project's pipeline, run by ``siklus run``: a pipeline definition
            (``parameters:``, ``steps:``; ``name:`` defaults to the project's name).
            Only its outline is checked here; :mod:`siklus.pipelines` validates the steps
            (this package sits below it and cannot import it).

    Example:
        >>> from siklus.project import breast_cancer_project
        >>> spec = breast_cancer_project()
        >>> spec.problem.positive_label, [str(c) for c in spec.success_criteria][0]
        ('malignant', 'recall >= 0.9 on test')
    """

    name: str
    description: str = ""
    problem: ProblemSpec
    business_goal: str = Field(min_length=1)
    success_criteria: list[CriterionField] = Field(min_length=1)
    business_metrics: list[BusinessMetric] = []
    cost_benefit: CostBenefit
    stakeholders: list[str] = []
    tags: dict[TagKey, TagValue] = {}
    settings: dict[SettingName, Any] = {}
    pipeline: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        return check_project_name(value)

    @field_validator("business_metrics")
    @classmethod
    def _unique_metric_names(cls, value: list[BusinessMetric]) -> list[BusinessMetric]:
        seen: set[str] = set()
        for metric in value:
            if metric.name in seen:
                raise ValueError(
                    f"business metric name {metric.name!r} is used twice; give each a unique name"
                )
            seen.add(metric.name)
        return value

    @field_validator("settings")
    @classmethod
    def _parse_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        for name, raw in value.items():
            setting = SETTINGS[name]
            if raw is None or isinstance(raw, list | dict):
                raise ValueError(
                    f"setting {name!r} needs a single value, got {raw!r}; remove the key to "
                    f"use the default ({setting.default!r})"
                )
            try:
                # Settings parse from text (their environment-variable form), so the
                # YAML value goes through the same parser: one notion of "valid".
                parsed[name] = setting.parse(str(raw))
            except ValueError as exc:
                raise ValueError(f"setting {name!r} = {raw!r} is not valid: {exc}") from None
            if isinstance(parsed[name], float) and not math.isfinite(parsed[name]):
                raise ValueError(f"setting {name!r} = {raw!r} must be a finite number")
        return parsed

    @field_validator("pipeline")
    @classmethod
    def _pipeline_outline(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        steps = value.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ValueError(
                "pipeline needs a non-empty steps: list, e.g. steps: [{name: train, type: "
                "training, args: {...}}]; see docs/pipelines.md"
            )
        return value

    def pipeline_definition(self) -> dict[str, Any] | None:
        """The pipeline section as a definition mapping, named after the project if unnamed."""
        if self.pipeline is None:
            return None
        return {"name": self.name, **self.pipeline}

    def verdict(self, metrics_by_split: Mapping[str, Mapping[str, Any]]) -> Verdict:
        """Check metrics against this project's success criteria.

        Args:
            metrics_by_split: Metrics dicts keyed by split, e.g. ``{"test": {...}}``.

        Returns:
            The :class:`siklus.evaluation.Verdict`.
        """
        return evaluate_criteria(self.success_criteria, metrics_by_split)

    def dump_yaml(self) -> str:
        """Return the project as YAML text that :func:`parse_project` reads back equal.

        Criteria are written in their text form; comments of a hand-written file are not
        kept (use the file itself when they matter).
        """
        data = self.model_dump(mode="json")
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
