"""Packages with lazy exports import their heavy modules only when a name is used."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import siklus.monitoring
import siklus.registry
import siklus.serving
import siklus.training

LAZY_PACKAGES = [siklus.training, siklus.registry, siklus.serving, siklus.monitoring]


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_resolves_and_is_listed(package) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(
        AttributeError, match=re.escape("'siklus.training' has no attribute 'nope'")
    ):
        siklus.training.nope  # noqa: B018
    with pytest.raises(ImportError):
        from siklus.registry import nope  # noqa: F401


def test_importing_the_packages_does_not_import_scikit_learn() -> None:
    code = (
        "import sys\n"
        "import siklus.training, siklus.registry, siklus.serving, siklus.monitoring\n"
        "from siklus.training import conform, infer_signature\n"
        "from siklus.registry import onnx_outputs, get_package\n"
        "from siklus.serving import EndpointConfig\n"
        "print(sorted(m for m in ('sklearn', 'skops', 'scipy') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
