"""What a profile is: frozen records for a dataset's statistics, and their JSON form.

A profile is computed once by a job, stored as a JSON artifact and read back by whoever
asks (CLI, pipelines, monitoring baselines). The records here are that JSON's schema, so
``Profile.from_dict(profile.to_dict()) == profile`` always holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The quantiles every numeric column reports, and their names in the profile.
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p1", 0.01),
    ("p5", 0.05),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p95", 0.95),
    ("p99", 0.99),
)


@dataclass(frozen=True)
class Histogram:
    """The shape of a column's values.

    Attributes:
        kind: ``"bins"`` (equal-width bins over [min, max], for numbers and times) or
            ``"top"`` (the most frequent values, for everything else).
        counts: Rows per bin or per value.
        edges: ``len(counts) + 1`` bin edges for ``"bins"`` (times as epoch seconds);
            the last bin includes its right edge, as in ``numpy.histogram``.
        labels: The values for ``"top"``; a last label ``"(other)"`` counts the rest.
    """

    kind: str
    counts: list[int]
    edges: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column; see docs/data-quality.md for each definition.

    Attributes:
        name: Column name.
        type: DuckDB type of the column (``BIGINT``, ``DOUBLE``, ``VARCHAR``, …).
        kind: ``numeric``, ``categorical``, ``boolean``, ``temporal`` or ``other``.
        count: Non-missing values.
        missing: Missing values (NULL, and NaN in floating-point columns).
        missing_pct: ``100 * missing / rows``.
        distinct: Distinct non-missing values (exact).
        min, max: Smallest and largest value (numbers and times).
        mean, std: Arithmetic mean and sample standard deviation (``ddof=1``).
        quantiles: ``p1 … p99`` with linear interpolation (pandas' default).
        top_values: ``[{"value": v, "count": n}, …]``, most frequent first (ties by value).
        histogram: See :class:`Histogram`.
        length: For text: ``{"min": …, "mean": …, "max": …}`` characters per value.
    """

    name: str
    type: str
    kind: str
    count: int
    missing: int
    missing_pct: float
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float | None] = field(default_factory=dict)
    top_values: list[dict[str, Any]] = field(default_factory=list)
    histogram: Histogram | None = None
    length: dict[str, float | None] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        histogram = data.get("histogram")
        return cls(**{**data, "histogram": Histogram(**histogram) if histogram else None})


@dataclass(frozen=True)
class Correlations:
    """A symmetric matrix of pairwise association between columns.

    Attributes:
        method: ``"pearson"`` (numbers, -1..1) or ``"cramers_v"`` (categories, 0..1).
        columns: Row and column labels of ``matrix``.
        matrix: ``matrix[i][j]``; None where undefined (a constant column).
    """

    method: str
    columns: list[str]
    matrix: list[list[float | None]]

    def value(self, a: str, b: str) -> float | None:
        return self.matrix[self.columns.index(a)][self.columns.index(b)]

    def pairs(self) -> list[tuple[str, str, float]]:
        """Every defined pair once (``i < j``), strongest first."""
        out = [
            (a, self.columns[j], value)
            for i, a in enumerate(self.columns)
            for j, value in enumerate(self.matrix[i])
            if j > i and value is not None
        ]
        return sorted(out, key=lambda pair: -abs(pair[2]))


@dataclass(frozen=True)
class ProfileWarning:
    """Something in the data a person should look at before training on it.

    Attributes:
        kind: ``constant``, ``all_missing``, ``high_missing``, ``high_cardinality``,
            ``unique``, ``high_correlation`` or ``duplicate_rows``.
        columns: The columns concerned (two for a correlation, none for duplicates).
        message: One sentence saying what was seen and what to consider doing.
        value: The number behind it (missing %, correlation, distinct count…).
    """

    kind: str
    columns: list[str]
    message: str
    value: float | None = None


@dataclass(frozen=True)
class Profile:
    """The exploratory-data-analysis view of one dataset version.

    Attributes:
        dataset: ``name:version`` of the profiled dataset.
        dataset_id: Its id.
        sha256: Hash of its Parquet file.
        rows: Row count.
        missing_cells: Missing values over all columns.
        duplicate_rows: Rows identical to an earlier row (``rows - distinct rows``).
        columns: One :class:`ColumnProfile` per column, in file order.
        pearson: Pearson correlations between numeric columns.
        cramers_v: Cramér's V between low-cardinality categorical columns.
        warnings: See :class:`ProfileWarning`.
        created_at: When the profile was computed (ISO 8601, UTC).
    """

    dataset: str
    dataset_id: str
    sha256: str
    rows: int
    missing_cells: int
    duplicate_rows: int | None
    columns: list[ColumnProfile]
    pearson: Correlations | None
    cramers_v: Correlations | None
    warnings: list[ProfileWarning]
    created_at: str

    @property
    def missing_cells_pct(self) -> float:
        cells = self.rows * len(self.columns)
        return 100.0 * self.missing_cells / cells if cells else 0.0

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name`` (KeyError when there is none)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        pearson, cramers = data.get("pearson"), data.get("cramers_v")
        return cls(
            **{
                **data,
                "columns": [ColumnProfile.from_dict(c) for c in data["columns"]],
                "pearson": Correlations(**pearson) if pearson else None,
                "cramers_v": Correlations(**cramers) if cramers else None,
                "warnings": [ProfileWarning(**w) for w in data["warnings"]],
            }
        )


__all__ = [
    "QUANTILES",
    "ColumnProfile",
    "Correlations",
    "Histogram",
    "Profile",
    "ProfileWarning",
]
