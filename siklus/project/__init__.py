"""The project file ``siklus.yaml``: business goal, success criteria, costs and tags.

Stage 1 of the lifecycle happens before any data is touched: what problem is solved,
for which business goal, how success is measured, what it may cost. This package reads,
validates and writes that file; later stages read the criteria (evaluation verdicts),
the tags (cost allocation) and the settings from it.

Example:
    >>> import tempfile
    >>> from siklus.project import load_project, scaffold_project
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     spec = load_project(scaffold_project(folder, "fraud"))
    >>> spec.problem.type
    'binary_classification'
"""

from siklus.project._loader import PROJECT_FILE, load_project, parse_project, validate_project
from siklus.project._model import (
    BusinessMetric,
    CostBenefit,
    ProblemSpec,
    ProblemType,
    ProjectSpec,
    check_project_name,
)
from siklus.project._scaffold import (
    breast_cancer_pipeline,
    breast_cancer_project,
    scaffold_project,
    write_project,
)

__all__ = [
    "PROJECT_FILE",
    "BusinessMetric",
    "CostBenefit",
    "ProblemSpec",
    "ProblemType",
    "ProjectSpec",
    "breast_cancer_pipeline",
    "breast_cancer_project",
    "check_project_name",
    "load_project",
    "parse_project",
    "scaffold_project",
    "validate_project",
    "write_project",
]
