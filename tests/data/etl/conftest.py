"""Fixtures of the connector tests: a fresh in-memory filesystem per test."""

from __future__ import annotations

from collections.abc import Iterator

import fsspec
import pytest


@pytest.fixture
def memfs() -> Iterator[fsspec.AbstractFileSystem]:
    """fsspec's memory filesystem, emptied before and after the test (it is global)."""
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    yield fs
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
