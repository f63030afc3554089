"""Pipeline definitions: one model in Python, YAML and JSON; rejected before anything runs."""

from __future__ import annotations

import json

import pytest

from siklus.exceptions import InvalidParameter
from siklus.pipelines import (
    PipelineDefinition,
    Step,
    param,
    parse_definition,
    parse_parameter_text,
    ref,
    resolve_parameters,
)
from siklus.project import breast_cancer_project


def _pipeline() -> PipelineDefinition:
    return PipelineDefinition(
        name="retrain",
        parameters={
            "min_recall": {"type": "float", "default": 0.9},
            "seed": {"type": "integer", "default": 7},
            "group": {"type": "string", "default": "bc"},
            "approve": {"type": "boolean", "default": True},
        },
        steps=[
            Step(name="split", type="split", args={"dataset": "bc", "seed": param("seed")}),
            Step(
                name="train",
                type="training",
                args={
                    "estimator": "sklearn.linear_model.LogisticRegression",
                    "train": ref("split.train"),
                    "validation": ref("split.validation"),
                },
                retry={"max_attempts": 3, "backoff_seconds": 0.5},
            ),
            Step(
                name="evaluate",
                type="evaluation",
                args={"model": ref("train.model_id"), "dataset": ref("split.test")},
            ),
            Step(
                name="gate",
                type="condition",
                conditions=[
                    {"left": ref("evaluate.recall"), "op": ">=", "right": param("min_recall")}
                ],
                if_steps=["register"],
                else_steps=["stop"],
            ),
            Step(
                name="register",
                type="register",
                args={
                    "model": ref("train.model_id"),
                    "group": param("group"),
                    "approve": param("approve"),
                },
            ),
            Step(name="stop", type="fail", args={"message": "recall too low"}),
            Step(name="custom", type="custom", args={"function": "pkg.mod:fn"}, cache=False),
        ],
    )


def test_python_yaml_json_round_trip_is_equal() -> None:
    pipeline = _pipeline()
    text = pipeline.to_yaml()
    assert "from: train.model_id" in text  # references read naturally in YAML
    assert PipelineDefinition.from_yaml(text) == pipeline
    assert parse_definition(json.loads(pipeline.to_json())) == pipeline
    assert pipeline.step("train").retry.max_attempts == 3
    assert pipeline.step("train").retry.delay(2) == pytest.approx(1.0)


def test_the_project_pipeline_is_a_valid_definition() -> None:
    definition = parse_definition(breast_cancer_project().pipeline_definition())
    assert [s.type for s in definition.steps][:5] == [
        "ingest", "recipe", "quality", "split", "tuning"
    ]  # fmt: skip
    assert definition.name == "breast-cancer"


def _with_steps(steps: list[dict], **extra: object) -> dict:
    return {"name": "p", "steps": steps, **extra}


def test_a_cycle_is_rejected_before_anything_runs() -> None:
    data = _with_steps([
        {"name": "a", "type": "split", "args": {"dataset": {"from": "c.train"}}},
        {"name": "b", "type": "split", "args": {"dataset": {"from": "a.train"}}},
        {"name": "c", "type": "split", "args": {"dataset": {"from": "b.train"}}},
    ])  # fmt: skip
    with pytest.raises(InvalidParameter, match=r"cycle: a -> c -> b -> a"):
        parse_definition(data)


def test_a_reference_to_a_missing_step_is_rejected() -> None:
    data = _with_steps([{"name": "train", "type": "training",
                         "args": {"train": {"from": "splitt.train"}}}])  # fmt: skip
    with pytest.raises(InvalidParameter, match=r"references 'splitt.train', but there is no step"):
        parse_definition(data)
    with pytest.raises(InvalidParameter, match="depends_on unknown step 'x'"):
        parse_definition(_with_steps([{"name": "a", "type": "fail", "depends_on": ["x"]}]))
    with pytest.raises(InvalidParameter, match="names unknown step 'nope'"):
        parse_definition(
            _with_steps(
                [
                    {
                        "name": "c",
                        "type": "condition",
                        "else_steps": ["nope"],
                        "conditions": [{"left": 1, "op": ">", "right": 0}],
                    }
                ]
            )
        )


def test_a_parameter_of_the_wrong_type_is_rejected() -> None:
    bad_default = _with_steps(
        [{"name": "a", "type": "fail"}], parameters={"n": {"type": "integer", "default": "5"}}
    )
    with pytest.raises(InvalidParameter, match=r"parameters.n.default.*'5' is not a integer"):
        parse_definition(bad_default)
    with pytest.raises(InvalidParameter, match="uses parameter 'nope', which is not declared"):
        parse_definition(_with_steps([{"name": "a", "type": "fail",
                                       "args": {"message": {"param": "nope"}}}]))  # fmt: skip
    pipeline = _pipeline()
    with pytest.raises(InvalidParameter, match=r"'min_recall' .* is a float, got 'high'"):
        resolve_parameters(pipeline, {"min_recall": "high"})
    with pytest.raises(InvalidParameter, match="is a integer, got True"):
        resolve_parameters(pipeline, {"seed": True})  # a bool is not an integer
    with pytest.raises(InvalidParameter, match="has no parameter"):
        resolve_parameters(pipeline, {"typo": 1})
    assert resolve_parameters(pipeline, {"min_recall": 1})["min_recall"] == 1.0
    assert parse_parameter_text(pipeline, "approve=false") == ("approve", False)
    with pytest.raises(InvalidParameter, match="seed is a integer, got 'x'"):
        parse_parameter_text(pipeline, "seed=x")


def test_shape_errors_name_the_field() -> None:
    with pytest.raises(InvalidParameter, match=r"steps.0.type"):
        parse_definition(_with_steps([{"name": "a", "type": "trainning"}]))
    with pytest.raises(InvalidParameter, match=r"steps.0.retry.max_attempts"):
        parse_definition(_with_steps([{"name": "a", "type": "fail", "retry": {"max_attempts": 0}}]))
    with pytest.raises(InvalidParameter, match="used twice"):
        parse_definition(
            _with_steps([{"name": "a", "type": "fail"}, {"name": "a", "type": "fail"}])
        )
    with pytest.raises(InvalidParameter, match="belong to condition steps"):
        parse_definition(_with_steps([{"name": "a", "type": "fail", "if_steps": ["a"]}]))
    with pytest.raises(InvalidParameter, match="must be a mapping"):
        parse_definition(["not", "a", "mapping"])


def test_unknown_or_missing_step_arguments_are_rejected_before_anything_runs() -> None:
    # Regression: a typo in a later step's arguments was found only when that step ran,
    # after the earlier steps (training, tuning) had done their work.
    steps = [
        {"name": "split", "type": "split", "args": {"dataset": "bc"}},
        {"name": "evaluate", "type": "evaluation",
         "args": {"modle": {"from": "split.train"}, "dataset": {"from": "split.test"}}},
        {"name": "register", "type": "register", "args": {"model": "m"}},
    ]  # fmt: skip
    with pytest.raises(InvalidParameter) as info:
        parse_definition({"name": "typos", "steps": steps})
    message = str(info.value)
    assert "step 'evaluate' (evaluation) has unknown argument(s) ['modle']" in message
    assert "step 'evaluate' (evaluation) needs argument(s) ['model']" in message
    assert "step 'register' (register) needs argument(s) ['group']" in message
    # Arguments given as references or parameters count as given; custom steps are free.
    parse_definition(
        {
            "name": "ok",
            "parameters": {"d": {"type": "string", "default": "bc"}},
            "steps": [
                {"name": "split", "type": "split", "args": {"dataset": {"param": "d"}}},
                {"name": "c", "type": "custom", "args": {"function": "m:f", "x": 1}},
            ],
        }
    )
