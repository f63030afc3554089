"""A workspace with one approved breast-cancer model package, for serverless tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .._approved_model import Model, approved_model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    yield from approved_model(tmp_path_factory, "serverless")
