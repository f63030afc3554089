"""The Redis queue backend (``pip install 'siklus[redis]'``), for a queue shared by machines.

Layout under a key prefix ``P``: ``P:queue`` (list of Queued ids, oldest first),
``P:inflight`` (sorted set: InProgress id → visibility deadline), ``P:m:<id>`` (hash: the
message) and ``P:done`` (hash: Completed/Failed counters). Every state change is one Lua
script, which Redis runs atomically, so a claim can never hand one message to two
workers. The scripts touch keys derived from the prefix, so use a standalone server (or
one hash slot), not a cluster.
"""

from __future__ import annotations

import json
import time
from typing import Any

from siklus.exceptions import AlreadyExists, InvalidState, NotFound
from siklus.serving.asynchronous._queue import (
    DEFAULT_MAX_ATTEMPTS,
    InferenceMessage,
    InferenceQueue,
    InferenceStatus,
)
from siklus.serving.asynchronous._sqlite_queue import _gave_up

_PUT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'status', 'Queued', 'body', ARGV[2],
           'attempts', 0, 'owner', '', 'reason', '', 'result', '{}',
           'created_at', ARGV[3], 'updated_at', ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
"""

_CLAIM = """
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for i = #expired, 1, -1 do
  local id = expired[i]
  local key = ARGV[6] .. id
  redis.call('ZREM', KEYS[2], id)
  if tonumber(redis.call('HGET', key, 'attempts')) >= tonumber(ARGV[4]) then
    redis.call('HSET', key, 'status', 'Failed', 'reason', ARGV[5], 'owner', '',
               'updated_at', ARGV[1])
    redis.call('HINCRBY', KEYS[3], 'Failed', 1)
  else
    redis.call('HSET', key, 'status', 'Queued', 'owner', '', 'updated_at', ARGV[1])
    redis.call('LPUSH', KEYS[1], id)
  end
end
local id = redis.call('LPOP', KEYS[1])
if not id then return false end
local key = ARGV[6] .. id
redis.call('HSET', key, 'status', 'InProgress', 'owner', ARGV[3], 'updated_at', ARGV[1])
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
return id
"""

_SETTLE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'InProgress'
   or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then
  return 0
end
if ARGV[3] == 'extend' then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[5]), ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] == 'complete' then
  redis.call('HSET', KEYS[1], 'status', 'Completed', 'result', ARGV[5], 'owner', '')
  redis.call('HINCRBY', KEYS[3], 'Completed', 1)
else
  redis.call('HSET', KEYS[1], 'status', 'Failed', 'reason', ARGV[5], 'owner', '')
  redis.call('HINCRBY', KEYS[3], 'Failed', 1)
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[4])
return 1
"""


class RedisQueue(InferenceQueue):
    """:class:`InferenceQueue` on a Redis server; see the module docstring.

    Args:
        url: ``redis://host:port/db`` (or ``rediss://``, ``unix://``).
        prefix: Key prefix; one per endpoint.
        max_attempts: Claims after which a message whose worker keeps dying is Failed.

    Raises:
        InvalidState: The ``redis`` package is not installed.
    """

    def __init__(self, url: str, *, prefix: str, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        try:
            import redis
        except ImportError:
            raise InvalidState(
                f"Queue URL {url!r} needs the redis client: pip install 'siklus[redis]'."
            ) from None
        self.max_attempts = max_attempts
        self._client = redis.Redis.from_url(url, decode_responses=True)
        self._p = prefix
        self._put = self._client.register_script(_PUT)
        self._claim = self._client.register_script(_CLAIM)
        self._settle_script = self._client.register_script(_SETTLE)
        self._keys = (f"{prefix}:queue", f"{prefix}:inflight", f"{prefix}:done")

    def _msg(self, message_id: str) -> str:
        return f"{self._p}:m:{message_id}"

    def put(self, message_id: str, body: dict[str, Any]) -> InferenceMessage:
        added = self._put(
            keys=[self._msg(message_id), self._keys[0]],
            args=[message_id, json.dumps(body), repr(time.time())],
        )
        if not added:
            raise AlreadyExists(f"Inference {message_id!r} was queued before.")
        return self.get(message_id)

    def claim(self, owner: str, *, visibility_timeout: float) -> InferenceMessage | None:
        message_id = self._claim(
            keys=list(self._keys),
            args=[
                repr(time.time()),
                repr(float(visibility_timeout)),
                owner,
                self.max_attempts,
                _gave_up(self.max_attempts),
                f"{self._p}:m:",
            ],
        )
        return None if message_id is None else self.get(message_id)

    def _settle(self, message_id: str, owner: str, action: str, payload: str) -> bool:
        done = self._settle_script(
            keys=[self._msg(message_id), self._keys[1], self._keys[2]],
            args=[message_id, owner, action, repr(time.time()), payload],
        )
        return bool(done)

    def extend(self, message_id: str, owner: str, *, visibility_timeout: float) -> bool:
        return self._settle(message_id, owner, "extend", repr(time.time() + visibility_timeout))

    def complete(self, message_id: str, owner: str, result: dict[str, Any]) -> bool:
        return self._settle(message_id, owner, "complete", json.dumps(result))

    def fail(self, message_id: str, owner: str, reason: str) -> bool:
        return self._settle(message_id, owner, "fail", reason)

    def get(self, message_id: str) -> InferenceMessage:
        fields = self._client.hgetall(self._msg(message_id))
        if not fields:
            raise NotFound(f"No inference {message_id!r} in this endpoint's queue.")
        return InferenceMessage(
            id=fields["id"],
            status=InferenceStatus(fields["status"]),
            body=json.loads(fields["body"]),
            attempts=int(fields["attempts"]),
            owner=fields["owner"] or None,
            reason=fields["reason"] or None,
            result=json.loads(fields["result"]),
            created_at=float(fields["created_at"]),
            updated_at=float(fields["updated_at"]),
        )

    def counts(self) -> dict[str, int]:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.llen(self._keys[0])
            pipe.zcard(self._keys[1])
            pipe.hgetall(self._keys[2])
            queued, in_progress, done = pipe.execute()
        return {
            InferenceStatus.QUEUED.value: int(queued),
            InferenceStatus.IN_PROGRESS.value: int(in_progress),
            InferenceStatus.COMPLETED.value: int(done.get("Completed", 0)),
            InferenceStatus.FAILED.value: int(done.get("Failed", 0)),
        }

    def close(self) -> None:
        self._client.close()


__all__ = ["RedisQueue"]
