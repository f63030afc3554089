"""Write a redacted copy of a dataset version: PII masked, hashed or dropped, per column.

The result is a new dataset version (the source is never changed) whose parent and
lineage edge point at the source, so "where did this redacted table come from?" has an
answer. The salt is a secret, so it is passed in, used and forgotten: it is not written
to the dataset's source description, to job parameters or anywhere else; that is also
why redaction runs in the caller's process rather than as a job, whose parameters are
stored in the metadata database.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from siklus.data._datasets import read_table, resolve, store_table
from siklus.data.pii._detect import KINDS
from siklus.data.pii._mask import ACTIONS, check_salt, redact_text
from siklus.data.pii._names import is_version_column
from siklus.data.pii._scan import PiiReport, scan_pii
from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, WorkspaceContext

ALL_KINDS = (*KINDS, "person_name")


def _check_action(action: str, where: str) -> str:
    if action not in ACTIONS:
        raise InvalidParameter(
            f"PII action {action!r} for {where} is not valid; use one of {', '.join(ACTIONS)}."
        )
    return action


def plan_actions(
    report: PiiReport, columns: list[str], action: str | Mapping[str, str]
) -> dict[str, tuple[str, str | None, bool]]:
    """Decide what happens to each column: ``{column: (action, kind, whole_value)}``.

    ``action`` is one action for every flagged column, or a mapping whose keys are
    column names (which win), kinds, or ``"default"`` (flagged columns not otherwise
    covered; ``mask`` if absent). A column named in the mapping but not flagged is
    redacted as a whole value. Columns left out of the plan are kept as they are.

    Raises:
        InvalidParameter: An unknown action, column or kind.
    """
    flagged = {c.column: c.kind for c in report.flagged}
    if isinstance(action, str):
        act = _check_action(action, "all flagged columns")
        return {c: (act, kind, kind == "person_name") for c, kind in flagged.items()}
    unknown = [k for k in action if k not in columns and k not in ALL_KINDS and k != "default"]
    if unknown:
        raise InvalidParameter(
            f"PII action key(s) {unknown} are neither columns ({columns}) nor kinds "
            f"({', '.join(ALL_KINDS)}) nor 'default'."
        )
    default = _check_action(action.get("default", "mask"), "'default'")
    plan: dict[str, tuple[str, str | None, bool]] = {}
    for column, kind in flagged.items():
        chosen = action.get(column) or (action.get(kind) if kind else None) or default
        plan[column] = (_check_action(chosen, f"column {column!r}"), kind, kind == "person_name")
    for column in columns:
        if column in action and column not in flagged:
            plan[column] = (_check_action(action[column], f"column {column!r}"), None, True)
    return {c: p for c, p in plan.items() if p[0] != "keep"}


def _redact_column(
    values: pa.ChunkedArray,
    action: str,
    *,
    kind: str | None,
    whole: bool,
    salt: bytes | None,
    ipv4: bool,
) -> pa.Array:
    """Redact each *distinct* value once and rebuild the column from the dictionary."""
    text = pc.cast(values, pa.string()).combine_chunks()
    encoded = text.dictionary_encode()
    mapped = [
        redact_text(v, action, kind=kind, salt=salt, ipv4=ipv4, whole=whole)
        for v in encoded.dictionary.to_pylist()
    ]
    return pc.take(pa.array(mapped, pa.string()), encoded.indices)


def redact_pii(
    ctx: WorkspaceContext,
    ref: str | DatasetVersion,
    *,
    action: str | Mapping[str, str] = "mask",
    salt: str | bytes | None = None,
    output_name: str | None = None,
    report: PiiReport | None = None,
    min_fraction: float = 0.3,
) -> DatasetVersion:
    """Store a copy of a dataset version with its personal data masked, hashed or dropped.

    Example:
        >>> redacted = redact_pii(
        ...     ctx, "customers", action={"email": "hash", "id_nik": "drop"}, salt=secret
        ... )  # doctest: +SKIP

    Args:
        ctx: The workspace.
        ref: ``name``, ``name:version`` or a :class:`DatasetVersion`.
        action: ``mask``, ``hash``, ``drop`` or ``keep`` for every flagged column, or a
            mapping from column names and/or kinds (and ``"default"``) to actions.
        salt: Secret key of ``hash`` (HMAC-SHA256); required when anything is hashed.
        output_name: Dataset name of the result (default ``<name>.redacted``).
        report: A :func:`scan_pii` report to act on (default: scan now).
        min_fraction: Passed to :func:`scan_pii` when scanning here.

    Returns:
        The new dataset version; redacted columns become text columns.

    Raises:
        InvalidParameter: An unknown action, column or kind, or ``hash`` without a salt.
    """
    version = resolve(ctx, ref)
    report = report or scan_pii(ctx, version, min_fraction=min_fraction)
    columns = [c["name"] for c in version.schema]
    plan = plan_actions(report, columns, action)
    key = check_salt(salt) if any(a == "hash" for a, _, _ in plan.values()) else None
    table = read_table(ctx, version)
    for column, (act, kind, whole) in plan.items():
        if act == "drop":
            table = table.drop_columns([column])
            continue
        index = table.schema.get_field_index(column)
        redacted = _redact_column(
            table.column(column),
            act,
            kind=kind,
            whole=whole,
            salt=key,
            ipv4=not is_version_column(column),
        )
        table = table.set_column(index, pa.field(column, pa.string()), redacted)
    summary = ",".join(f"{c}={a}" for c, (a, _, _) in sorted(plan.items())) or "nothing"
    new, _created = store_table(
        ctx,
        table,
        output_name or f"{version.name}.redacted",
        source=f"pii-redact:{version.ref}:{summary}",
        parent_id=version.id,
        tags={"pii": "redacted"},
    )
    ctx.store.add_lineage(("dataset", version.id), ("dataset", new.id), "pii-redact")
    return new


__all__ = ["ALL_KINDS", "plan_actions", "redact_pii"]
