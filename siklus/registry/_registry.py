"""Model registry: package groups, versions and the approval gate before deployment.

A new version always starts as ``PendingManualApproval``; a person approves or rejects it
with a reason, and who/when/why is kept. Only Approved versions deploy (unless forced).
"""

from __future__ import annotations

import getpass
import re

from siklus.exceptions import InvalidParameter, InvalidState
from siklus.store import ApprovalStatus, ModelPackage, WorkspaceContext

_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def parse_package_ref(ref: str) -> tuple[str, int | None]:
    """``"group"`` → (group, None) = newest version; ``"group:2"`` → (group, 2)."""
    group, sep, version = ref.rpartition(":")
    if not sep:
        group, version = ref, ""
    if not _GROUP.match(group) or (version and not version.isdigit()):
        raise InvalidParameter(
            f"Model package reference {ref!r} is not valid: expected GROUP or GROUP:VERSION, "
            "e.g. breast-cancer:1."
        )
    return group, int(version) if version else None


def get_package(ctx: WorkspaceContext, ref: str) -> ModelPackage:
    group, version = parse_package_ref(ref)
    return ctx.store.get_model_package(group, version)


def register_model(
    ctx: WorkspaceContext,
    model_id: str,
    group: str,
    *,
    description: str = "",
    tags: dict[str, str] | None = None,
) -> ModelPackage:
    """Register model ``model_id`` as the next version of ``group`` (PendingManualApproval).

    The package carries the model's latest evaluation metrics (per split) so a reviewer
    sees the evidence next to the approval button.
    """
    parse_package_ref(group)
    model = ctx.store.get_model(model_id)
    metrics: dict = dict(model.manifest.get("metrics") or {})
    for evaluation in reversed(ctx.store.list_evaluations(model_id)):  # oldest first
        metrics[evaluation.split] = evaluation.metrics
        if evaluation.verdict is not None:
            metrics.setdefault("verdicts", {})[evaluation.split] = evaluation.verdict
    ctx.store.ensure_model_package_group(group, tags=ctx.with_tags())
    package = ctx.store.create_model_package(
        group,
        model_id=model.id,
        metrics=metrics,
        description=description,
        tags=ctx.with_tags(tags),
    )
    ctx.store.add_lineage(("model", model.id), ("model_package", package.id), "registered")
    return package


def _decide(
    ctx: WorkspaceContext, ref: str, status: ApprovalStatus, reason: str, by: str | None
) -> ModelPackage:
    if not reason or not reason.strip():
        raise InvalidParameter(
            f"A reason is required to set {ref} to {status.value}; pass --reason '...'."
        )
    package = get_package(ctx, ref)
    if package.approval_status == status:
        raise InvalidState(f"Model package {package.ref} is already {status.value}.")
    return ctx.store.set_approval(
        package.id, status, reason=reason.strip(), by=by or getpass.getuser()
    )


def approve(ctx: WorkspaceContext, ref: str, *, reason: str, by: str | None = None) -> ModelPackage:
    """Approve a version for deployment, recording who and why."""
    return _decide(ctx, ref, ApprovalStatus.APPROVED, reason, by)


def reject(ctx: WorkspaceContext, ref: str, *, reason: str, by: str | None = None) -> ModelPackage:
    """Reject a version (an endpoint can no longer be created from it without --force)."""
    return _decide(ctx, ref, ApprovalStatus.REJECTED, reason, by)
