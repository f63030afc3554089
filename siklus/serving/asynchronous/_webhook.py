"""Success/failure notifications: an HTTP POST per finished inference, retried with backoff.

A webhook is best effort: the result is already stored when it is sent, and a receiver
that stays down only loses the notification (the outcome is logged and recorded as an
event of the endpoint), never the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

logger = logging.getLogger("siklus.serving")

#: Statuses worth retrying: the receiver is overloaded or briefly broken.
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def notify(
    url: str,
    payload: Mapping[str, Any],
    *,
    attempts: int = 4,
    backoff_s: float = 0.2,
    timeout_s: float = 5.0,
) -> tuple[bool, str]:
    """POST ``payload`` as JSON to ``url``; retry transport errors and 5xx/429.

    Waits ``backoff_s``, then twice that, and so on between attempts.

    Returns:
        ``(delivered, detail)``: whether a 2xx answer came back, and what happened last.
    """
    detail = "not sent"
    delay = backoff_s
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(url, json=dict(payload), timeout=timeout_s)
        except httpx.HTTPError as exc:
            detail = f"attempt {attempt}: {type(exc).__name__}: {exc}"
        else:
            if 200 <= response.status_code < 300:
                return True, f"HTTP {response.status_code} on attempt {attempt}"
            detail = f"attempt {attempt}: HTTP {response.status_code}"
            if response.status_code not in _RETRY_STATUSES:
                break
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    logger.warning("Webhook %s not delivered: %s", url, detail)
    return False, detail


__all__ = ["notify"]
