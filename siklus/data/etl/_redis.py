"""A Redis stream as a streaming source (``XREAD``, or ``XREADGROUP`` with ``XACK``).

The redis client is the optional extra ``siklus[redis]``; it is imported only when a
stream is read, with a message that says what to install.
"""

from __future__ import annotations

import json
from typing import Any

from siklus.data.etl._result import LoadResult
from siklus.data.etl._stream import run_stream
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.store import WorkspaceContext


def _scalar(text: str) -> Any:
    """A stream field value: a JSON number/boolean/null when it is one, else the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float | bool) or value is None else text


class RedisStreamReader:
    """``XREAD`` (or ``XREADGROUP`` with ``group``) from a Redis stream.

    Each entry's fields become columns (values that are JSON numbers/booleans become
    numbers/booleans), or, with ``json_field``, that field holds the whole row as a JSON
    object. With a consumer group, entries are acknowledged (``XACK``) only once stored.
    """

    def __init__(
        self,
        url: str,
        stream: str,
        *,
        batch_size: int,
        group: str | None = None,
        consumer: str = "siklus",
        json_field: str | None = None,
    ) -> None:
        try:
            import redis
        except ImportError:
            raise InvalidParameter(
                "Reading a Redis stream needs the redis client: pip install 'siklus[redis]'."
            ) from None
        self.client = redis.Redis.from_url(url)
        self._errors = redis.exceptions
        self.url, self.stream, self.batch_size = url, stream, batch_size
        self.group, self.consumer, self.json_field = group, consumer, json_field
        self._pending: list[bytes] = []
        self._backlog_done = False
        try:
            self.client.ping()
            if group is not None:
                try:
                    self.client.xgroup_create(stream, group, id="0", mkstream=True)
                except redis.exceptions.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise
        except redis.exceptions.ConnectionError as exc:
            raise NotFound(f"Cannot reach Redis at {url}: {exc}. Is the server running?") from None

    def _rows(self, entries: Any) -> list[dict[str, Any]]:
        rows = []
        for entry_id, fields in entries:
            decoded = {k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}
            if self.json_field is None:
                rows.append({k: _scalar(v) for k, v in decoded.items()})
                continue
            where = f"Stream {self.stream!r} entry {entry_id.decode()}"
            if self.json_field not in decoded:
                raise InvalidInput(
                    f"{where} has no field {self.json_field!r}; it has {', '.join(decoded)}. "
                    "Nothing of this batch was stored."
                )
            try:
                row = json.loads(decoded[self.json_field])
            except ValueError as exc:
                raise InvalidInput(f"{where}: field {self.json_field!r} is not JSON ({exc}). "
                                   "Nothing of this batch was stored.") from None  # fmt: skip
            if not isinstance(row, dict):
                raise InvalidInput(f"{where}: field {self.json_field!r} is not a JSON object.")
            rows.append(row)
        return rows

    def read(
        self, position: dict[str, Any], wait_s: float
    ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        last_id = str(position.get("last_id", "0-0"))
        block = max(1, int(wait_s * 1000))
        reply: Any
        if self.group is None:
            reply = self.client.xread({self.stream: last_id}, count=self.batch_size, block=block)
        else:
            # First our own delivered-but-unacknowledged entries (a crash), then new ones.
            start = "0" if not self._backlog_done else ">"
            reply = self.client.xreadgroup(self.group, self.consumer, {self.stream: start},
                                           count=self.batch_size, block=block)  # fmt: skip
            if start == "0":
                entries = reply[0][1] if reply else []
                stored = [e for e in entries if _id(e[0]) <= _id(last_id.encode())]
                if stored:  # already in the dataset: acknowledge only
                    self.client.xack(self.stream, self.group, *[e[0] for e in stored])
                entries = [e for e in entries if e not in stored]
                if not entries:
                    self._backlog_done = True
                    return None
                reply = [[self.stream, entries]]
        if not reply or not reply[0][1]:
            return None
        entries = reply[0][1]
        self._pending = [e[0] for e in entries]
        return self._rows(entries), {"last_id": entries[-1][0].decode()}

    def commit(self) -> None:
        if self.group is not None and self._pending:
            self.client.xack(self.stream, self.group, *self._pending)
        self._pending = []

    def close(self) -> None:
        self.client.close()


def _id(value: bytes) -> tuple[int, int]:
    ms, _, seq = value.decode().partition("-")
    return int(ms), int(seq or 0)


def stream_redis(
    ctx: WorkspaceContext,
    url: str,
    stream: str,
    dataset: str,
    *,
    group: str | None = None,
    consumer: str = "siklus",
    json_field: str | None = None,
    batch_size: int = 1000,
    source: str | None = None,
    **options: Any,
) -> LoadResult:
    """Append micro-batches read from the Redis stream ``stream`` to ``dataset``.

    Example:
        >>> stream_redis(ctx, "redis://127.0.0.1:6379/0", "clicks", "clicks",  # doctest: +SKIP
        ...              max_batches=10, idle_timeout=30)

    Args:
        url: ``redis://host:port/db``.
        stream: The stream key.
        dataset: Dataset each batch is appended to (one new version per batch).
        group: Read through this consumer group (created if missing) and acknowledge
            entries once stored; without it, plain ``XREAD`` from the stored entry id.
        json_field: Entries carry the row as a JSON object in this field (otherwise each
            field is a column).
        batch_size: Entries per micro-batch at most.
        source: Name of the stored position (default: the dataset name).
        **options: ``max_batches``, ``idle_timeout``, ``poll_interval``, ``should_stop``,
            ``tags``, ``job_id``, ``log``, ``work_dir`` (see :func:`stream_jsonl`).

    Raises:
        InvalidParameter: The redis client is missing (``pip install 'siklus[redis]'``).
        NotFound: The server does not answer.
        InvalidInput: An entry is not what ``json_field`` says (names the entry id).
    """
    if batch_size < 1:
        raise InvalidParameter(f"batch_size must be at least 1, got {batch_size}.")
    reader = RedisStreamReader(url, stream, batch_size=batch_size, group=group,
                               consumer=consumer, json_field=json_field)  # fmt: skip
    config = {"type": "redis", "location": f"{url.split('@')[-1]}#{stream}", "group": group}
    return run_stream(ctx, reader, dataset, source=source or dataset, config=config, **options)


__all__ = ["RedisStreamReader", "stream_redis"]
