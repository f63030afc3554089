"""Every built-in step: at least 40, documented, and compared with pandas in a test.

Like scikit-learn's ``test_common``: a step added without a test, a summary or parameter
descriptions fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from siklus.data.recipes import available_steps

HERE = Path(__file__).resolve().parent
STEP_TESTS = sorted(HERE.glob("test_steps_*.py"))


def test_there_are_at_least_40_steps():
    assert len(available_steps()) >= 40


@pytest.mark.parametrize("name", sorted(available_steps()))
def test_every_step_is_compared_with_pandas(name):
    sources = "\n".join(path.read_text() for path in STEP_TESTS)
    assert re.search(rf'Step\(\s*"{name}"', sources), (
        f"no test_steps_*.py test uses Step({name!r}, ...)"
    )


@pytest.mark.parametrize("name", sorted(available_steps()))
def test_every_step_is_documented(name):
    cls = available_steps()[name]
    assert cls.family, f"{name} has no family"
    assert cls.summary().endswith((".", "…")), f"{name}'s summary is not a sentence"
    undocumented = [f for f, info in cls.model_fields.items() if not info.description]
    assert not undocumented, f"{name}: parameters without a description: {undocumented}"
    assert name in (HERE.parents[2] / "docs" / "recipes.md").read_text(), f"{name} not in docs"
