"""Profiling and data-quality rules for versioned datasets (Glue DataBrew's two halves).

* **Profiling** (:func:`profile_dataset`) runs a job that computes, with DuckDB straight
  from the dataset's Parquet file, per-column statistics, top values, histograms,
  correlations and warnings, and stores them as JSON plus a self-contained HTML report.
* **Rules** (:class:`RuleSet`, :func:`check_dataset`) say what good data means —
  completeness, uniqueness, ranges, allowed values, patterns, row counts, freshness,
  custom SQL — and a check job reports each rule's offending rows and an overall verdict.

Example:
    >>> from siklus.data.quality import check_dataset, profile_dataset
    >>> job, profile = profile_dataset(ctx, "customers")  # doctest: +SKIP
    >>> job, report = check_dataset(ctx, "customers", "rules.yaml")  # doctest: +SKIP
"""

from siklus.data.quality._check import evaluate_rules
from siklus.data.quality._check_job import check_dataset, check_spec, load_check_report
from siklus.data.quality._check_model import CheckReport, RuleResult
from siklus.data.quality._correlation import cramers_v
from siklus.data.quality._duck import ROW, column_kind, connect, quote, scalar, schema
from siklus.data.quality._html import render_html
from siklus.data.quality._profile import compute_profile
from siklus.data.quality._profile_job import (
    load_profile,
    load_profile_html,
    profile_dataset,
    profile_spec,
)
from siklus.data.quality._profile_model import (
    QUANTILES,
    ColumnProfile,
    Correlations,
    Histogram,
    Profile,
    ProfileWarning,
)
from siklus.data.quality._rules import (
    RULE_TYPES,
    AllowedValuesRule,
    CompletenessRule,
    FreshnessRule,
    NotNullRule,
    RangeRule,
    RegexRule,
    RowCountRule,
    Rule,
    RuleSet,
    SqlRule,
    UniquenessRule,
    load_rules,
)

__all__ = [
    "QUANTILES",
    "ROW",
    "RULE_TYPES",
    "AllowedValuesRule",
    "CheckReport",
    "ColumnProfile",
    "CompletenessRule",
    "Correlations",
    "FreshnessRule",
    "Histogram",
    "NotNullRule",
    "Profile",
    "ProfileWarning",
    "RangeRule",
    "RegexRule",
    "RowCountRule",
    "Rule",
    "RuleResult",
    "RuleSet",
    "SqlRule",
    "UniquenessRule",
    "check_dataset",
    "check_spec",
    "column_kind",
    "compute_profile",
    "connect",
    "cramers_v",
    "evaluate_rules",
    "load_check_report",
    "load_profile",
    "load_profile_html",
    "load_rules",
    "profile_dataset",
    "profile_spec",
    "quote",
    "render_html",
    "scalar",
    "schema",
]
