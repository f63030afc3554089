"""The read-ahead of the batch engine: order, errors in order, stopping the reader."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from siklus.serving.batch._engine import _read_ahead


def test_items_come_in_order_and_at_most_depth_ahead() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for i in range(10):
            produced.append(i)
            yield i

    reader = _read_ahead(source(), depth=2)  # type: ignore[arg-type]
    assert next(reader) == 0
    time.sleep(0.3)  # the reader runs ahead, as far as the queue allows
    assert len(produced) <= 1 + 2 + 1  # the one taken, two queued, one waiting to go in
    assert [0, *reader] == list(range(10))


def test_an_error_of_the_reader_is_raised_after_what_came_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("chunk 2 is unreadable")

    got: list[int] = []
    with pytest.raises(ValueError, match="unreadable"):
        for item in _read_ahead(source()):  # type: ignore[arg-type]
            got.append(item)
    assert got == [1, 2]


def test_closing_early_stops_the_reader_and_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    reader = _read_ahead(source(), depth=1)  # type: ignore[arg-type]
    assert [next(reader), next(reader)] == [0, 1]
    reader.close()  # a stop, or an error while predicting
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "siklus-read-ahead"]
