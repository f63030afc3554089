"""Reading job logs, whole or just the end, without loading a huge file to show 20 lines."""

from __future__ import annotations

import os
from pathlib import Path

from siklus.exceptions import InvalidParameter

_BLOCK = 64 * 1024


def read_log(path: str | os.PathLike[str] | None, *, tail: int | None = None) -> str:
    """Return the text of a job log, or its last ``tail`` lines.

    A job that has not written anything yet (or whose log was removed) has an empty log,
    not an error: callers poll logs while jobs start.

    Args:
        path: The job's ``log_path``.
        tail: Number of lines from the end; None for the whole log.

    Raises:
        InvalidParameter: ``tail`` is negative.
    """
    if tail is not None and tail < 0:
        raise InvalidParameter(f"tail must be a number of lines >= 0, got {tail}.")
    if path is None or not Path(path).is_file():
        return ""
    if tail is None:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    if tail == 0:
        return ""
    with open(path, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        data = b""
        position = end
        # Read blocks backwards until there are more line breaks than lines wanted.
        while position > 0 and data.count(b"\n") <= tail:
            step = min(_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    return "".join(lines[-tail:])


__all__ = ["read_log"]
