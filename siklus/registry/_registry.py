"""Model registry: package groups, versions and the approval gate before deployment.

A new version always starts as ``PendingManualApproval``; a person approves or rejects it
with a reason, and who/when/why is kept (the current decision on the package, every
change in its history). Only Approved versions deploy (unless forced). Registration also
writes the model card and, best effort, the ONNX export.
"""

from __future__ import annotations

import getpass

from siklus.exceptions import InvalidParameter, InvalidState, SiklusError
from siklus.registry._cards import create_model_card
from siklus.registry._history import record_event
from siklus.registry._onnx_export import ONNX_KIND, export_onnx
from siklus.registry._refs import get_package, parse_package_ref
from siklus.store import ApprovalStatus, ModelPackage, WorkspaceContext


def register_model(
    ctx: WorkspaceContext,
    model_id: str,
    group: str,
    *,
    description: str = "",
    tags: dict[str, str] | None = None,
    by: str | None = None,
    onnx: bool = True,
) -> ModelPackage:
    """Register model ``model_id`` as the next version of ``group`` (PendingManualApproval).

    The package carries the model's latest evaluation metrics (per split) so a reviewer
    sees the evidence next to the approval button. Registration also writes the model
    card (from the metrics, the lineage and the manifest) and a ``registered`` history
    entry, and, when ``onnx`` is true, tries the ONNX export: a pipeline that does not
    convert is recorded with the reason, not refused.

    Args:
        ctx: The workspace.
        model_id: A model from a training or tuning job.
        group: The package group (created when missing).
        description: What this version changes (also the card's first intended use).
        tags: Tags of the package (over the workspace's).
        by: Who registers (default: the OS user).
        onnx: Try the ONNX export now (``siklus models export-onnx`` does it later).

    Raises:
        InvalidParameter: A bad group name.
        NotFound: No such model.
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
    record_event(
        ctx, package, "registered", by=by or getpass.getuser(), model_id=model.id,
        to=package.approval_status.value,
    )  # fmt: skip
    create_model_card(ctx, package)
    if onnx:
        _try_onnx(ctx, package)
    return package


def _try_onnx(ctx: WorkspaceContext, package: ModelPackage) -> None:
    """Best-effort export at registration: any reason it cannot happen is recorded.

    Registration never fails because of the export; the reason is shown by
    ``siklus models describe`` and the history.
    """
    if "input_signature" not in ctx.store.get_model(package.model_id).manifest:
        _unavailable(ctx, package, "the model manifest has no input signature (not a siklus "
                     "skops model)")  # fmt: skip
        return
    try:
        export_onnx(ctx, package)
    except SiklusError as exc:  # e.g. an untrusted type or a missing artifact
        _unavailable(ctx, package, exc.message)
    except Exception as exc:  # a converter bug must not undo a registration
        _unavailable(ctx, package, f"the export failed ({type(exc).__name__}: {exc})")


def _unavailable(ctx: WorkspaceContext, package: ModelPackage, reason: str) -> None:
    record = {"package": package.ref, "model_id": package.model_id, "status": "unavailable",
              "sha256": None, "reason": reason}  # fmt: skip
    ctx.store.put_resource(ONNX_KIND, package.ref, record)
    record_event(ctx, package, "onnx-export", by=None, status="unavailable", reason=reason)


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
    who = by or getpass.getuser()
    updated = ctx.store.set_approval(package.id, status, reason=reason.strip(), by=who)
    record_event(
        ctx, updated, "approval", by=who, reason=reason.strip(),
        **{"from": package.approval_status.value, "to": status.value},
    )  # fmt: skip
    return updated


def approve(ctx: WorkspaceContext, ref: str, *, reason: str, by: str | None = None) -> ModelPackage:
    """Approve a version for deployment, recording who and why."""
    return _decide(ctx, ref, ApprovalStatus.APPROVED, reason, by)


def reject(ctx: WorkspaceContext, ref: str, *, reason: str, by: str | None = None) -> ModelPackage:
    """Reject a version (an endpoint can no longer be created from it without --force)."""
    return _decide(ctx, ref, ApprovalStatus.REJECTED, reason, by)
