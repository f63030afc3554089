"""The job process's stop handling and failure reasons, exercised in this process."""

from __future__ import annotations

import pytest

from siklus.exceptions import InvalidParameter
from siklus.jobs import JobStopped, StopFlag
from siklus.jobs._runner import _check_outputs, _on_sigterm, describe_exception, main


def test_sigterm_interrupts_a_running_entrypoint_that_does_not_poll() -> None:
    flag = StopFlag()
    flag.running = True

    with pytest.raises(JobStopped):
        _on_sigterm(flag, 15, None)
    assert flag.requested and flag.interrupted and not flag.running


def test_sigterm_lets_a_polling_entrypoint_return_until_asked_twice() -> None:
    flag = StopFlag()
    flag.running = True
    flag.check()  # the entrypoint polls should_stop()

    _on_sigterm(flag, 15, None)
    assert flag.requested and not flag.interrupted
    with pytest.raises(JobStopped):
        _on_sigterm(flag, 15, None)


def test_sigterm_outside_the_entrypoint_only_sets_the_flag() -> None:
    flag = StopFlag()

    _on_sigterm(flag, 15, None)

    assert flag.requested and not flag.interrupted


def test_jobstopped_escapes_broad_except_exception() -> None:
    assert not issubclass(JobStopped, Exception)


def test_failure_reasons() -> None:
    assert describe_exception(ValueError("boom")) == "ValueError: boom"
    assert describe_exception(InvalidParameter("Fix the column.")) == "Fix the column."
    assert len(describe_exception(RuntimeError("x" * 10_000))) == 2000


def test_outputs_must_be_a_json_dict() -> None:
    assert _check_outputs("a:b", None) == {}
    assert _check_outputs("a:b", {"n": (1, 2)}) == {"n": [1, 2]}
    with pytest.raises(TypeError, match="returned a list"):
        _check_outputs("a:b", [1])
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        _check_outputs("a:b", {"model": object()})


def test_runner_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: python -m siklus.jobs._runner JOB_ID" in capsys.readouterr().err
