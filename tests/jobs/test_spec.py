"""JobSpec validation and entrypoint resolution (in this process, no jobs run)."""

from __future__ import annotations

import json
import os.path
import re
from pathlib import Path
from typing import Any

import pytest

from siklus.exceptions import InvalidParameter
from siklus.jobs import JobSpec, load_entrypoint, parse_entrypoint


def test_spec_defaults_and_copies() -> None:
    params: dict[str, Any] = {"depth": [1, 2], "lr": 0.1}
    spec = JobSpec(kind="training", entrypoint="pkg.mod:run", parameters=params)
    params["depth"].append(3)

    assert spec.parameters == {"depth": [1, 2], "lr": 0.1}  # later changes do not leak in
    assert spec.inputs == spec.resources == spec.tags == {}
    assert re.fullmatch(r"training-\d{8}-\d{6}", spec.job_name())
    assert JobSpec(kind="etl", entrypoint="a:b", name="nightly").job_name() == "nightly"


def test_spec_values_are_what_the_job_reads_back() -> None:
    spec = JobSpec(kind="etl", entrypoint="a:b", inputs={"columns": ("a", "b")})

    assert spec.inputs == {"columns": ["a", "b"]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": ""}, "JobSpec.kind must be a non-empty string"),
        ({"kind": "k" * 101}, "JobSpec.kind is longer than 100"),
        ({"entrypoint": "no_colon"}, "is not a valid reference"),
        ({"name": ""}, "JobSpec.name must be a non-empty string"),
        ({"parameters": {"f": open}}, "JobSpec.parameters is not JSON-serialisable"),
        ({"parameters": {"x": float("nan")}}, "JobSpec.parameters is not JSON-serialisable"),
        ({"inputs": ["a"]}, "JobSpec.inputs must be a dict"),
        ({"tags": {"cost_center": 7}}, "JobSpec.tags must map strings to strings"),
    ],
)
def test_spec_rejects_bad_fields(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"kind": "training", "entrypoint": "pkg.mod:run", **kwargs}

    with pytest.raises(InvalidParameter, match=re.escape(message)):
        JobSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ref", ["", "mod", "mod:", ":fn", "a:b:c", "1mod:fn", "mod:fn()", "a..b:f"]
)
def test_parse_entrypoint_rejects_malformed(ref: str) -> None:
    with pytest.raises(InvalidParameter, match=re.escape("expected 'package.module:function'")):
        parse_entrypoint(ref)


def test_parse_entrypoint_splits_module_and_attribute() -> None:
    assert parse_entrypoint("siklus.training._job:run") == ("siklus.training._job", "run")
    assert parse_entrypoint("pkg.mod:Trainer.run") == ("pkg.mod", "Trainer.run")


def test_load_entrypoint_returns_the_callable() -> None:
    assert load_entrypoint("json:dumps") is json.dumps
    assert load_entrypoint("os.path:join") is os.path.join
    assert load_entrypoint("json:JSONDecoder.decode") is json.JSONDecoder.decode


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no_such_pkg_xyz.mod:run", "module 'no_such_pkg_xyz.mod' cannot be found"),
        ("json:no_such_fn", "module 'json' has no attribute 'no_such_fn'. Callables it defines:"),
        ("math:pi", "names a float, not a function"),
    ],
)
def test_load_entrypoint_errors_say_what_is_wrong(ref: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        load_entrypoint(ref)


def test_load_entrypoint_reports_errors_inside_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "_broken_job_mod.py").write_text("raise RuntimeError('bad config')\n")
    (tmp_path / "_needs_dep_mod.py").write_text("import _missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(InvalidParameter, match="raised RuntimeError: bad config") as info:
        load_entrypoint("_broken_job_mod:run")
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(InvalidParameter, match="needs '_missing_dependency_xyz'"):
        load_entrypoint("_needs_dep_mod:run")
