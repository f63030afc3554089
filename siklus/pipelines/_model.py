"""The pipeline definition: one pydantic model, written in Python, YAML or JSON.

A pipeline is a named list of steps plus typed parameters. Each step has a ``type``
(``training``, ``condition``, ...) and arguments; an argument may be a literal, a
reference to an earlier step's output (``{"from": "train.model_id"}``) or a parameter
(``{"param": "min_recall"}``). The model is the same whichever way it was written, so a
definition built in Python dumps to YAML and loads back equal.

Validation here covers the shape of each step (pydantic) and the whole graph
(:mod:`siklus.pipelines._validate`): names, references, cycles and parameter types are
checked before anything runs.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from siklus.exceptions import InvalidParameter

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
ParameterType = Literal["string", "integer", "float", "boolean"]
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "float": (float, int),
    "boolean": (bool,),
}

#: Step types and what they call (see docs/pipelines.md for each one's arguments).
STEP_TYPES: tuple[str, ...] = (
    "ingest",
    "recipe",
    "quality",
    "split",
    "training",
    "tuning",
    "evaluation",
    "condition",
    "register",
    "deploy",
    "batch_transform",
    "monitoring_baseline",
    "monitoring_schedule",
    "fail",
    "custom",
)
#: Steps with side effects outside the workspace's immutable records: never cached.
UNCACHEABLE: frozenset[str] = frozenset(
    {
        "ingest",
        "condition",
        "register",
        "deploy",
        "fail",
        "monitoring_baseline",
        "monitoring_schedule",
    }
)
CONDITION_OPS: tuple[str, ...] = (">=", ">", "<=", "<", "==", "!=")


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a slug usable as a pipeline, step or parameter name."""
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 63:
        raise ValueError(
            f"{kind} name {name!r} is not valid; use up to 63 lowercase letters, digits, "
            "'-' and '_', starting with a letter or digit, e.g. 'train'"
        )
    return name


def check_value_type(type_: str, value: Any) -> bool:
    """Whether ``value`` is a valid value of parameter type ``type_`` (bool is no integer)."""
    if type_ != "boolean" and isinstance(value, bool):
        return False
    return isinstance(value, _PYTHON_TYPES[type_])


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Parameter(_Spec):
    """A typed pipeline parameter; executions may override ``default``.

    Attributes:
        type: ``string``, ``integer``, ``float`` or ``boolean``.
        default: The value when an execution does not give one; ``None`` makes the
            parameter required.
        description: What it controls.
    """

    type: ParameterType
    default: str | bool | int | float | None = None
    description: str = ""

    @field_validator("default", mode="before")
    @classmethod
    def _default_matches(cls, value: Any, info: Any) -> Any:
        type_ = info.data.get("type")
        if value is not None and type_ and not check_value_type(type_, value):
            raise ValueError(f"default {value!r} is not a {type_}")
        if type_ == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value


class RetryPolicy(_Spec):
    """Retry a failing step: ``max_attempts`` tries, waiting ``backoff_seconds`` then
    ``backoff_seconds * backoff_rate`` ... between them (a ``fail`` step never retries)."""

    max_attempts: int = Field(default=1, ge=1, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0, le=3600)
    backoff_rate: float = Field(default=2.0, ge=1, le=10)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(self.backoff_seconds * self.backoff_rate ** (attempt - 1))


class Condition(_Spec):
    """``left op right``; each side a literal or a reference, e.g. ``recall >= 0.9``."""

    left: Any
    op: Literal[">=", ">", "<=", "<", "==", "!="]
    right: Any


class Step(_Spec):
    """One step of a pipeline.

    Attributes:
        name: Unique in the pipeline; outputs are referenced as ``"<name>.<output>"``.
        type: One of :data:`STEP_TYPES`.
        args: The step type's arguments; values may be ``{"from": "step.output"}`` or
            ``{"param": "name"}``.
        depends_on: Extra ordering edges (references already imply dependencies).
        retry: See :class:`RetryPolicy`.
        cache: Reuse an earlier output when inputs, code version and arguments are
            unchanged (ignored for steps with outside side effects, see
            :data:`UNCACHEABLE`).
        conditions: ``condition`` steps only: all must hold for the ``if`` branch.
        if_steps: ``condition`` steps only: steps run when the conditions hold.
        else_steps: ``condition`` steps only: steps run otherwise.
    """

    name: str
    type: Literal[
        "ingest",
        "recipe",
        "quality",
        "split",
        "training",
        "tuning",
        "evaluation",
        "condition",
        "register",
        "deploy",
        "batch_transform",
        "monitoring_baseline",
        "monitoring_schedule",
        "fail",
        "custom",
    ]
    args: dict[str, Any] = {}
    depends_on: list[str] = []
    retry: RetryPolicy = RetryPolicy()
    cache: bool = True
    conditions: list[Condition] = []
    if_steps: list[str] = []
    else_steps: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name("step", value)

    @property
    def cacheable(self) -> bool:
        return self.cache and self.type not in UNCACHEABLE


class PipelineDefinition(_Spec):
    """A whole pipeline: name, parameters, steps (see :func:`siklus.pipelines.validate`).

    Example:
        >>> from siklus.pipelines import PipelineDefinition, Step
        >>> p = PipelineDefinition(name="demo", steps=[Step(name="f", type="fail")])
        >>> PipelineDefinition.from_yaml(p.to_yaml()) == p
        True
    """

    name: str
    description: str = ""
    parameters: dict[str, Parameter] = {}
    steps: Annotated[list[Step], Field(min_length=1)]
    max_parallel_steps: int = Field(default=2, ge=1, le=64)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name("pipeline", value)

    @field_validator("parameters")
    @classmethod
    def _param_names(cls, value: dict[str, Parameter]) -> dict[str, Parameter]:
        for name in value:
            check_name("parameter", name)
        return value

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise InvalidParameter(f"Pipeline {self.name!r} has no step {name!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, minus defaults, that :meth:`from_dict` reads back equal."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=88)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> PipelineDefinition:
        from siklus.pipelines._validate import parse_definition

        return parse_definition(data)

    @classmethod
    def from_yaml(cls, text: str) -> PipelineDefinition:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidParameter(f"Pipeline definition is not valid YAML: {exc}") from None
        return cls.from_dict(data)


__all__ = [
    "CONDITION_OPS",
    "STEP_TYPES",
    "UNCACHEABLE",
    "Condition",
    "Parameter",
    "PipelineDefinition",
    "RetryPolicy",
    "Step",
    "check_name",
    "check_value_type",
]
