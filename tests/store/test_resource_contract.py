"""Run the resource contract (:class:`siklus.testing.ResourceContract`) over every backend."""

from __future__ import annotations

from siklus.testing import ResourceContract


class TestResourceContract(ResourceContract):
    """The whole resource contract, once per backend of the ``store`` fixture."""
