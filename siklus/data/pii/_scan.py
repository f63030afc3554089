"""Scan a dataset's columns for personal data and report what each column holds.

DuckDB reads each text or integer column's *distinct* values with their counts (from a
deterministic sample of at most ``max_rows`` rows), so a column with a million rows but
a thousand distinct values costs a thousand detector calls. A column is flagged with the
kind found in the largest share of its values when that share reaches ``min_fraction``;
every kind seen is listed, flagged or not, so a free-text column where 5% of the values
hold an e-mail address is visible too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from siklus.data._datasets import resolve
from siklus.data.pii._detect import find_pii, is_nik
from siklus.data.pii._mask import mask_value, redact_text
from siklus.data.pii._names import is_name_column, is_version_column, looks_like_name
from siklus.data.quality import ROW, column_kind, connect, quote, scalar, schema
from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, WorkspaceContext

SAMPLES = 5
_EXAMPLES = 50  # raw examples kept per kind while scanning, to pick the samples from


@dataclass(frozen=True)
class PiiColumn:
    """What one column holds.

    Attributes:
        column: Column name.
        kind: The kind of personal data the column holds (``email``, ``phone``,
            ``credit_card``, ``ipv4``, ``ipv6``, ``id_ssn``, ``id_nik``,
            ``person_name``), or None when no kind reaches ``min_fraction``.
        match_fraction: Share of scanned values holding the top kind.
        matched_rows: Scanned rows holding the top kind.
        scanned_rows: Scanned rows with a non-blank value (the fractions' denominator).
        kinds: Every kind seen, with the share of scanned values holding it.
        samples: Up to five example values, masked.
        reason: How the kind was decided (``values``, or ``column name and values``
            for names).
    """

    column: str
    kind: str | None
    match_fraction: float
    matched_rows: int
    scanned_rows: int
    kinds: dict[str, float] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    reason: str = "values"

    @property
    def flagged(self) -> bool:
        return self.kind is not None


@dataclass(frozen=True)
class PiiReport:
    """Personal data found in a dataset version.

    Attributes:
        dataset: ``name:version`` scanned.
        dataset_id: Its id.
        rows: Rows in the dataset.
        scanned_rows: Rows scanned (all, or a sample of ``max_rows``).
        min_fraction: Share of values a kind needs for a column to be flagged.
        columns: One entry per text or integer column where anything was found.
    """

    dataset: str
    dataset_id: str
    rows: int
    scanned_rows: int
    min_fraction: float
    columns: list[PiiColumn]

    @property
    def flagged(self) -> list[PiiColumn]:
        return [c for c in self.columns if c.flagged]

    def column(self, name: str) -> PiiColumn:
        """The finding for column ``name`` (KeyError when nothing was found there)."""
        for column in self.columns:
            if column.column == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PiiReport:
        return cls(**{**data, "columns": [PiiColumn(**c) for c in data["columns"]]})


def _check_fraction(min_fraction: float) -> None:
    if not 0 < min_fraction <= 1:
        raise InvalidParameter(
            f"min_fraction={min_fraction!r} is not valid: give a share of values in (0, 1], "
            "e.g. 0.3 to flag a column when 30% of its values hold the same kind of PII."
        )


def _masked_samples(values: list[str], kind: str, ipv4: bool) -> list[str]:
    """Up to :data:`SAMPLES` distinct masked examples (two values can mask alike)."""
    samples: list[str] = []
    for value in values:
        if kind == "person_name":
            masked = mask_value(value, kind)
        else:
            masked = redact_text(value, "mask", ipv4=ipv4)
        if masked not in samples:
            samples.append(masked)
        if len(samples) == SAMPLES:
            break
    return samples


def scan_values(
    column: str,
    values: Iterable[tuple[str, int]] | Iterable[str | None],
    *,
    min_fraction: float = 0.3,
) -> PiiColumn | None:
    """Classify one column from its values, or ``(value, count)`` pairs.

    The building block of :func:`scan_pii`, usable on any iterable (a pandas Series, a
    recipe step's column). Blank values are ignored.

    Example:
        >>> scan_values("contact", ["a@b.com", "c@d.org", None]).kind
        'email'

    Returns:
        The finding, or None when no kind of personal data was seen at all.
    """
    _check_fraction(min_fraction)
    counts: Counter[str] = Counter()
    for item in values:
        value, n = item if isinstance(item, tuple) else (item, 1)
        if value is not None and str(value).strip():
            counts[str(value)] += n
    scanned = sum(counts.values())
    if not scanned:
        return None
    ipv4, names = not is_version_column(column), is_name_column(column)
    hits: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        matches = find_pii(value, ipv4=ipv4)
        kinds = {m.kind for m in matches}
        # A 16-digit number can be both a valid card and a valid NIK (Bali's 51… NIKs
        # pass Luhn one time in ten): count it for both, so the column's kind wins.
        kinds |= {"id_nik" for m in matches if m.kind == "credit_card" and is_nik(m.value)}
        if names and not kinds and looks_like_name(value):
            kinds = {"person_name"}
        for kind in kinds:
            hits[kind] += n
            seen = examples.setdefault(kind, [])
            if len(seen) < _EXAMPLES:
                seen.append(value)
    if not hits:
        return None
    top, matched = max(hits.items(), key=lambda kv: (kv[1], kv[0]))
    fraction = matched / scanned
    return PiiColumn(
        column=column,
        kind=top if fraction >= min_fraction else None,
        match_fraction=fraction,
        matched_rows=matched,
        scanned_rows=scanned,
        kinds={kind: hits[kind] / scanned for kind in sorted(hits)},
        samples=_masked_samples(examples[top], top, ipv4),
        reason="column name and values" if top == "person_name" else "values",
    )


def _scannable(duck_type: str) -> bool:
    """Text and integer columns; floats, booleans and times cannot hold these kinds."""
    kind = column_kind(duck_type)
    base = duck_type.upper()
    return (kind == "categorical" and base != "UUID") or (
        kind == "numeric" and base.split("(")[0] in {"BIGINT", "HUGEINT", "UBIGINT", "INTEGER"}
    )


def scan_pii(
    ctx: WorkspaceContext,
    ref: str | DatasetVersion,
    *,
    columns: list[str] | None = None,
    min_fraction: float = 0.3,
    max_rows: int = 100_000,
    seed: int = 0,
) -> PiiReport:
    """Find the columns of a dataset version that hold personal data.

    Example:
        >>> report = scan_pii(ctx, "customers")  # doctest: +SKIP
        >>> {c.column: c.kind for c in report.flagged}  # doctest: +SKIP
        {'email': 'email', 'phone': 'phone', 'full_name': 'person_name'}

    Args:
        ctx: The workspace.
        ref: ``name``, ``name:version`` or a :class:`DatasetVersion`.
        columns: Only these columns (default: every text and integer column).
        min_fraction: Share of a column's values one kind needs to flag the column.
        max_rows: Scan a deterministic sample of about this many rows of larger data.
        seed: Chooses the sample.

    Raises:
        NotFound: No such dataset version.
        InvalidParameter: A bad ``min_fraction``/``max_rows`` or an unknown column.
    """
    _check_fraction(min_fraction)
    if max_rows < 1:
        raise InvalidParameter(f"max_rows={max_rows!r} is not valid: give a positive integer.")
    version = resolve(ctx, ref)
    con = connect(ctx.artifacts.local_path(version.sha256))
    try:
        types = dict(schema(con))
        unknown = sorted(set(columns or []) - set(types))
        if unknown:
            raise InvalidParameter(
                f"Dataset {version.ref} has no column(s) {unknown}; columns: {list(types)}."
            )
        names = [c for c in (columns or list(types)) if _scannable(types[c])]
        rows = scalar(con, "SELECT count(*) FROM data")
        sample = f"hash({ROW} + {int(seed)}) % {rows} < {max_rows}" if rows > max_rows else "TRUE"
        scanned = scalar(con, f"SELECT count(*) FROM data_rows WHERE {sample}")
        values: dict[int, list[tuple[str, int]]] = {i: [] for i in range(len(names))}
        branches = [
            f"SELECT {i} AS col, CAST({quote(c)} AS VARCHAR) AS v, count(*) AS n "
            f"FROM data_rows WHERE {sample} AND {quote(c)} IS NOT NULL GROUP BY 2"
            for i, c in enumerate(names)
        ]
        if branches:
            for col, value, n in con.execute(" UNION ALL ".join(branches)).fetchall():
                values[col].append((value, int(n)))
    finally:
        con.close()
    found = [scan_values(c, values[i], min_fraction=min_fraction) for i, c in enumerate(names)]
    return PiiReport(
        dataset=version.ref,
        dataset_id=version.id,
        rows=rows,
        scanned_rows=scanned,
        min_fraction=min_fraction,
        columns=[f for f in found if f is not None],
    )


__all__ = ["PiiColumn", "PiiReport", "scan_pii", "scan_values"]
