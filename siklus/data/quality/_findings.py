"""Profile warnings: what in the statistics deserves a person's attention.

Each warning names its columns, the number behind it and what to consider doing, so the
report reads as advice rather than a dump of numbers. The thresholds are module
constants, documented in docs/data-quality.md.
"""

from __future__ import annotations

from siklus.data.quality._profile_model import ColumnProfile, Correlations, ProfileWarning

#: A column with at least this share of missing values (percent) is flagged.
HIGH_MISSING_PCT = 20.0
#: Pairs with at least this absolute Pearson r (or Cramér's V) are flagged.
HIGH_CORRELATION = 0.9
#: Text columns with more distinct values than this, and more than half of their values
#: distinct, are flagged: one-hot encoding them would explode the feature count.
HIGH_CARDINALITY = 50


def _column_warnings(rows: int, column: ColumnProfile) -> list[ProfileWarning]:
    name = column.name
    if rows and column.count == 0:
        return [
            ProfileWarning(
                "all_missing",
                [name],
                f"Column {name!r} has no values at all; drop it.",
                100.0,
            )
        ]
    out = []
    if column.distinct == 1 and rows > 1:
        out.append(
            ProfileWarning(
                "constant",
                [name],
                f"Column {name!r} has one value ({column.top_values[0]['value']!r}) in every "
                "non-missing row; it carries no information for a model.",
                1.0,
            )
        )
    if column.missing_pct >= HIGH_MISSING_PCT:
        out.append(
            ProfileWarning(
                "high_missing",
                [name],
                f"Column {name!r} is missing in {column.missing_pct:.1f}% of rows; impute it, "
                "add a missing-indicator feature or drop it.",
                column.missing_pct,
            )
        )
    if column.distinct == column.count == rows and rows > 1:
        out.append(
            ProfileWarning(
                "unique",
                [name],
                f"Every value of {name!r} is different: it looks like an identifier; keep "
                "it out of the features.",
                float(column.distinct),
            )
        )
    elif (
        column.kind == "categorical"
        and column.distinct > HIGH_CARDINALITY
        and column.distinct > 0.5 * column.count
    ):
        out.append(
            ProfileWarning(
                "high_cardinality",
                [name],
                f"Column {name!r} has {column.distinct} distinct values; group rare ones or "
                "use target/hash encoding instead of one-hot.",
                float(column.distinct),
            )
        )
    return out


def _correlation_warnings(matrix: Correlations | None) -> list[ProfileWarning]:
    if matrix is None:
        return []
    label = "Pearson r" if matrix.method == "pearson" else "Cramér's V"
    return [
        ProfileWarning(
            "high_correlation",
            [a, b],
            f"{a!r} and {b!r} are highly associated ({label} = {value:.3f}); one of them is "
            "probably redundant (see siklus data select-features).",
            value,
        )
        for a, b, value in matrix.pairs()
        if abs(value) >= HIGH_CORRELATION
    ]


def find_warnings(
    rows: int,
    columns: list[ColumnProfile],
    duplicate_rows: int | None,
    pearson: Correlations | None,
    cramers_v: Correlations | None,
) -> list[ProfileWarning]:
    """All warnings of a profile: per column, then correlations, then duplicate rows."""
    out = [w for column in columns for w in _column_warnings(rows, column)]
    out += _correlation_warnings(pearson) + _correlation_warnings(cramers_v)
    if duplicate_rows:
        pct = 100.0 * duplicate_rows / rows
        out.append(
            ProfileWarning(
                "duplicate_rows",
                [],
                f"{duplicate_rows} rows ({pct:.1f}%) repeat an earlier row exactly; "
                "deduplicate unless repeats are real events.",
                float(duplicate_rows),
            )
        )
    return out


__all__ = ["HIGH_CARDINALITY", "HIGH_CORRELATION", "HIGH_MISSING_PCT", "find_warnings"]
