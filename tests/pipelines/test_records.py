"""Stored pipelines and executions: an unknown pipeline name is an error, not an empty list."""

from __future__ import annotations

import pytest

from siklus.exceptions import NotFound
from siklus.pipelines import PipelineDefinition, Step, list_executions, save_pipeline
from siklus.store import WorkspaceContext


def test_executions_of_an_unknown_pipeline_raise_not_found(ctx: WorkspaceContext) -> None:
    save_pipeline(ctx, PipelineDefinition(
        name="known", steps=[Step(name="stop", type="fail", args={"message": "x"})]))  # fmt: skip
    assert list_executions(ctx, "known") == []  # stored, never run: empty, no error
    with pytest.raises(NotFound, match=r"No pipeline 'NOSUCH'; pipelines: \['known'\]") as err:
        list_executions(ctx, "NOSUCH")
    assert "siklus pipelines list" in str(err.value)
    assert list_executions(ctx) == []
