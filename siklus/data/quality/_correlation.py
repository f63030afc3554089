"""Pairwise association between columns: Pearson's r and Cramér's V.

Pearson's r comes from DuckDB's ``corr`` over pairwise-complete rows (as pandas'
``DataFrame.corr()``), all pairs in one aggregate query. Cramér's V needs a contingency
table per pair: DuckDB counts every pair's cells in one grouped query and numpy does the
chi-squared arithmetic on those small tables.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np

from siklus.data.quality._duck import value_expr
from siklus.data.quality._profile_model import Correlations

#: At most this many columns enter a matrix (the first ones in file order); the pairs
#: grow with the square, and a matrix wider than this is no longer readable anyway.
MAX_PEARSON_COLUMNS = 100
MAX_CRAMERS_COLUMNS = 30

Column = tuple[str, str]


def _empty(n: int) -> list[list[float | None]]:
    return [[1.0 if i == j else None for j in range(n)] for i in range(n)]


def pearson_matrix(con: duckdb.DuckDBPyConnection, columns: list[Column]) -> Correlations | None:
    """Pearson correlation of every pair of numeric ``columns`` (non-constant ones).

    Returns None for fewer than two columns. A pair whose overlap has no variance gets
    None, where pandas would give NaN.
    """
    columns = columns[:MAX_PEARSON_COLUMNS]
    if len(columns) < 2:
        return None
    exprs = [f"CAST({value_expr(name, t)} AS DOUBLE)" for name, t in columns]
    pairs = [(i, j) for i in range(len(columns)) for j in range(i + 1, len(columns))]
    items = ", ".join(f"corr({exprs[i]}, {exprs[j]})" for i, j in pairs)
    values = con.execute(f"SELECT {items} FROM data").fetchone() or ()
    matrix = _empty(len(columns))
    for (i, j), r in zip(pairs, values, strict=True):
        if r is not None and math.isfinite(r):
            matrix[i][j] = matrix[j][i] = max(-1.0, min(1.0, float(r)))
    return Correlations("pearson", [name for name, _ in columns], matrix)


def cramers_v(table: np.ndarray) -> float | None:
    """Cramér's V of a contingency table, without bias correction.

    The same value as ``scipy.stats.contingency.association(table, method="cramer")``.

    ``V = sqrt(chi2 / (n * (min(rows, cols) - 1)))``, 0 for independent columns and 1
    when one determines the other. Rows and columns that are all zero are ignored;
    None when fewer than two categories remain on either side.
    """
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return None
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(chi2 / (n * (min(table.shape) - 1)))


def cramers_v_matrix(con: duckdb.DuckDBPyConnection, columns: list[Column]) -> Correlations | None:
    """Cramér's V of every pair of categorical ``columns``, over rows where both are present."""
    columns = columns[:MAX_CRAMERS_COLUMNS]
    if len(columns) < 2:
        return None
    exprs = [f"CAST({value_expr(name, t)} AS VARCHAR)" for name, t in columns]
    pairs = [(i, j) for i in range(len(columns)) for j in range(i + 1, len(columns))]
    branches = [
        f"SELECT {p} AS pair, {exprs[i]} AS x, {exprs[j]} AS y, count(*) AS n FROM data "
        f"WHERE x IS NOT NULL AND y IS NOT NULL GROUP BY 2, 3"
        for p, (i, j) in enumerate(pairs)
    ]
    cells: dict[int, list[tuple[str, str, int]]] = {p: [] for p in range(len(pairs))}
    for pair, x, y, n in con.execute(" UNION ALL ".join(branches)).fetchall():
        cells[pair].append((x, y, int(n)))
    matrix = _empty(len(columns))
    for p, (i, j) in enumerate(pairs):
        xs = sorted({x for x, _, _ in cells[p]})
        ys = sorted({y for _, y, _ in cells[p]})
        table = np.zeros((len(xs), len(ys)))
        for x, y, n in cells[p]:
            table[xs.index(x), ys.index(y)] = n
        matrix[i][j] = matrix[j][i] = cramers_v(table) if table.size else None
    return Correlations("cramers_v", [name for name, _ in columns], matrix)


__all__ = [
    "MAX_CRAMERS_COLUMNS",
    "MAX_PEARSON_COLUMNS",
    "cramers_v",
    "cramers_v_matrix",
    "pearson_matrix",
]
