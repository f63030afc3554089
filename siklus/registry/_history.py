"""The history of a model package: registration, every approval change, card edits, exports.

The package record holds only its current approval (who, when, why); the history keeps
every change as an append-only ``model-package`` event named ``group:version``, so an
auditor can see that a version was approved, rejected and approved again, and by whom.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from siklus.registry._refs import resolve_package
from siklus.store import ModelPackage, WorkspaceContext

EVENT_KIND = "model-package"


def record_event(
    ctx: WorkspaceContext, package: ModelPackage, action: str, *, by: str | None, **details: Any
) -> None:
    """Append ``action`` (``registered``, ``approval``, ``card-updated``, ``onnx-export``)."""
    body = {"action": action, "by": by, "at": datetime.now(UTC).isoformat(), **details}
    ctx.store.append_event(EVENT_KIND, package.ref, body)


def package_history(ctx: WorkspaceContext, package: ModelPackage | str) -> list[dict[str, Any]]:
    """Every recorded change of ``package``, oldest first.

    A package registered before histories existed shows its current approval as the one
    entry it can prove (marked ``"source": "package record"``).
    """
    package = resolve_package(ctx, package)
    events = [{"seq": e.seq, **e.body} for e in ctx.store.list_events(EVENT_KIND, package.ref)]
    if not any(e.get("action") == "approval" for e in events) and package.status_at is not None:
        events.append(
            {
                "seq": None,
                "action": "approval",
                "by": package.status_by,
                "at": package.status_at.isoformat(),
                "to": package.approval_status.value,
                "reason": package.status_reason,
                "source": "package record",
            }
        )
    return events
