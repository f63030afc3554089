"""Pipelines: DAGs of lifecycle steps, defined in Python or YAML/JSON, run on jobs.

A :class:`PipelineDefinition` names typed parameters and steps (recipe, data-quality
check, split, training, tuning, evaluation, condition, register, deploy, batch transform,
monitoring baseline and schedule, fail, custom Python). It is validated as a graph before
anything runs; executions run independent steps in parallel, retry per step policy,
reuse cached step outputs, stop, and resume from the failed step. Triggers start
executions on a cron schedule, on a new dataset version, or from an alarm (a job).

Example:
    >>> from siklus.pipelines import PipelineDefinition, Step, ref, param
    >>> pipeline = PipelineDefinition(
    ...     name="retrain",
    ...     parameters={"min_recall": {"type": "float", "default": 0.9}},
    ...     steps=[
    ...         Step(name="split", type="split", args={"dataset": "bc", "stratify": "diagnosis"}),
    ...         Step(name="train", type="training", args={
    ...             "estimator": "sklearn.linear_model.LogisticRegression",
    ...             "train": ref("split.train"), "validation": ref("split.validation")}),
    ...         Step(name="evaluate", type="evaluation", args={
    ...             "model": ref("train.model_id"), "dataset": ref("split.test")}),
    ...         Step(name="good", type="condition", conditions=[
    ...             {"left": ref("evaluate.recall"), "op": ">=", "right": param("min_recall")}],
    ...             if_steps=["register"], else_steps=["stop"]),
    ...         Step(name="register", type="register", args={
    ...             "model": ref("train.model_id"), "group": "bc"}),
    ...         Step(name="stop", type="fail", args={"message": "recall too low"}),
    ...     ],
    ... )
    >>> PipelineDefinition.from_yaml(pipeline.to_yaml()) == pipeline
    True
"""

from siklus.pipelines._api import (
    EXECUTION_ENTRYPOINT,
    create_execution,
    describe_execution,
    raise_for_execution,
    resume_execution,
    start_execution,
    stop_execution,
    submit_execution,
)
from siklus.pipelines._executor import cache_key, run_execution
from siklus.pipelines._handlers import RUNS_AS, StepFailure
from siklus.pipelines._model import (
    STEP_TYPES,
    UNCACHEABLE,
    Condition,
    Parameter,
    PipelineDefinition,
    RetryPolicy,
    Step,
)
from siklus.pipelines._records import (
    get_execution,
    get_pipeline,
    list_executions,
    list_pipelines,
    save_pipeline,
)
from siklus.pipelines._reproduce import reproduce
from siklus.pipelines._triggers import (
    TRIGGER,
    create_dataset_trigger,
    create_schedule,
    delete_trigger,
    list_triggers,
    run_due_triggers,
)
from siklus.pipelines._validate import (
    param,
    parse_definition,
    parse_parameter_text,
    ref,
    resolve_parameters,
    validate,
)

PIPELINE_JOB_ENTRYPOINT = "siklus.pipelines.jobs:run_pipeline_job"

__all__ = [
    "EXECUTION_ENTRYPOINT",
    "PIPELINE_JOB_ENTRYPOINT",
    "RUNS_AS",
    "STEP_TYPES",
    "TRIGGER",
    "UNCACHEABLE",
    "Condition",
    "Parameter",
    "PipelineDefinition",
    "RetryPolicy",
    "Step",
    "StepFailure",
    "cache_key",
    "create_dataset_trigger",
    "create_execution",
    "create_schedule",
    "delete_trigger",
    "describe_execution",
    "get_execution",
    "get_pipeline",
    "list_executions",
    "list_pipelines",
    "list_triggers",
    "param",
    "parse_definition",
    "parse_parameter_text",
    "raise_for_execution",
    "ref",
    "reproduce",
    "resolve_parameters",
    "resume_execution",
    "run_due_triggers",
    "run_execution",
    "save_pipeline",
    "start_execution",
    "stop_execution",
    "submit_execution",
    "validate",
]
