"""Dependencies point down the layers of DESIGN.md §2, never up.

Every ``siklus/**/*.py`` is parsed with :mod:`ast`; every import of ``siklus.*`` (absolute
or relative, at module level, inside functions or under ``TYPE_CHECKING``) is checked
against the layering below, together with three more rules: only ``siklus.store`` knows
SQLAlchemy/Alembic, only ``siklus.serving``/``siklus.server`` know HTTP (the CLI may use
the httpx client), and nobody imports another package's ``_private`` modules.

When a new package appears, add it to ``LAYERS`` (and to DESIGN.md) in the same change.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "siklus"

#: Each top-level part of siklus (a package or a root module) and its layer; lower
#: layers never import higher ones. ``__init__`` (the public facade) and ``__main__``
#: (``python -m siklus``) sit above everything.
LAYERS: dict[str, int] = {
    "exceptions": 0,
    "_lazy": 0,
    "config": 0,
    "store": 1,
    "testing": 1,
    "jobs": 2,
    "lineage": 2,
    "evaluation": 2,
    # Layer 3: the lifecycle stages, in STAGES order.
    "project": 3,
    "data": 3,
    "experiments": 3,
    "labeling": 3,
    "features": 3,
    "training": 3,
    "tuning": 3,
    "zoo": 3,
    "registry": 3,
    "serving": 3,
    "monitoring": 3,
    "costs": 3,
    "workspace": 4,
    "pipelines": 4,
    "cli": 5,
    "server": 5,
    "__init__": 6,
    "__main__": 6,
}

#: Lifecycle order: a stage may import an earlier stage, never a later one.
STAGES = [
    "project",
    "data",
    "experiments",
    "labeling",
    "features",
    "training",
    "tuning",
    "zoo",
    "registry",
    "serving",
    "monitoring",
    "costs",
]

#: Stages that must not import each other in either direction (DESIGN.md §2):
#: monitoring reads captured data through the store, not through serving.
INDEPENDENT_STAGES = frozenset({"serving", "monitoring", "tuning"})

#: Packages that may import only the listed parts of siklus (besides themselves).
ONLY_IMPORTS: dict[str, frozenset[str]] = {
    # Reusable test suites exercise the store through its public API only.
    "testing": frozenset({"store", "exceptions", "config"}),
    # Evaluation is pure computation (numpy/scikit-learn): no store, no jobs.
    "evaluation": frozenset({"exceptions", "config"}),
}

#: Parts of siklus that production code never imports (only tests do).
TEST_ONLY = frozenset({"testing"})

#: Third-party packages only some parts of siklus may import.
RESTRICTED_LIBRARIES: dict[str, frozenset[str]] = {
    # data: the SQL connector reads the user's own databases (not the metadata store).
    "sqlalchemy": frozenset({"store", "data"}),
    "alembic": frozenset({"store"}),
    "starlette": frozenset({"serving", "server"}),
    "fastapi": frozenset({"serving", "server"}),
    "uvicorn": frozenset({"serving", "server"}),
    # monitoring: alarm webhooks; pipelines: webhook steps and endpoint health checks.
    "httpx": frozenset({"serving", "server", "cli", "monitoring", "pipelines"}),
}

#: Private modules imported from outside their package, allowed for now.
PRIVATE_IMPORT_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # TODO: remove once siklus.training exports the model loader and the input
        # signature check (load_model, LoadedModel, conform) from its __init__ and
        # serving imports them from there.
        ("serving", "siklus.training._artifact"),
        ("serving", "siklus.training._signature"),
    }
)

#: Parts the facade (``siklus/__init__.py``) may import eagerly; the rest only lazily
#: (inside a function such as ``__getattr__``, or under ``TYPE_CHECKING``), so that
#: ``import siklus`` stays cheap and never imports a layer that imports ``siklus`` back.
FACADE_EAGER = frozenset({"exceptions", "config"})


@dataclass(frozen=True)
class Module:
    """One source file of the package."""

    name: str  # dotted, e.g. "siklus.store._sql.store"; a package's __init__ is the package
    path: str  # for messages, e.g. "siklus/store/_sql/store.py"
    is_package: bool
    source: str

    @property
    def part(self) -> str:
        """The top-level part of siklus this module belongs to (``store``, ``__init__``)."""
        pieces = self.name.split(".")
        return pieces[1] if len(pieces) > 1 else "__init__"


@dataclass(frozen=True)
class Import:
    """One imported module, resolved to an absolute dotted name."""

    module: Module
    line: int
    target: str
    eager: bool  # runs at import time: module level, not under TYPE_CHECKING

    @property
    def where(self) -> str:
        return f"{self.module.path}:{self.line}"

    @property
    def target_part(self) -> str | None:
        """The part of siklus imported (``None`` for a third-party import)."""
        pieces = self.target.split(".")
        if pieces[0] != "siklus":
            return None
        return pieces[1] if len(pieces) > 1 else "__init__"


def discover(package_dir: Path = PACKAGE_DIR) -> list[Module]:
    """Every ``.py`` file under ``package_dir``, as modules of the ``siklus`` package."""
    modules = []
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir.parent)
        pieces = list(relative.with_suffix("").parts)
        is_package = pieces[-1] == "__init__"
        if is_package:
            pieces = pieces[:-1]
        modules.append(
            Module(
                name=".".join(pieces),
                path=relative.as_posix(),
                is_package=is_package,
                source=path.read_text(encoding="utf-8"),
            )
        )
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, eager: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Yield every import statement below ``node`` and whether it runs at import time."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, eager
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, eager=False)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield from _walk(ast.Module(body=[statement], type_ignores=[]), eager=False)
            for statement in child.orelse:
                yield from _walk(ast.Module(body=[statement], type_ignores=[]), eager=eager)
        else:
            yield from _walk(child, eager)


def imports_of(module: Module, known: Iterable[str]) -> list[Import]:
    """Resolve every import in ``module`` to the absolute name of the module it loads.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module in
    ``known``, else as importing ``pkg``.
    """
    known = set(known)
    found = []
    tree = ast.parse(module.source, filename=module.path)
    for node, eager in _walk(tree, eager=True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(module, node.lineno, alias.name, eager))
            continue
        if node.level:
            package = module.name.split(".")
            if not module.is_package:
                package = package[:-1]
            if node.level > 1:
                package = package[: -(node.level - 1)]
            base = ".".join([*package, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            target = candidate if candidate in known else base
            found.append(Import(module, node.lineno, target, eager))
    return found


def _is_private(piece: str) -> bool:
    return piece.startswith("_") and not (piece.startswith("__") and piece.endswith("__"))


def _layer_problem(importer: str, target: str) -> str | None:
    """Why part ``importer`` may not import part ``target``, or None when it may."""
    if importer in ("__init__", "__main__") or importer == target:
        return None
    if target in TEST_ONLY:
        return f"siklus.{target} is for test suites; production code never imports it"
    allowed = ONLY_IMPORTS.get(importer)
    if allowed is not None and target not in allowed:
        return f"siklus.{importer} may import only " + ", ".join(
            f"siklus.{part}" for part in sorted(allowed)
        )
    if LAYERS[target] > LAYERS[importer]:
        return (
            f"upward import: siklus.{importer} (layer {LAYERS[importer]}) imports "
            f"siklus.{target} (layer {LAYERS[target]})"
        )
    if importer in INDEPENDENT_STAGES and target in INDEPENDENT_STAGES:
        return (
            f"siklus.{importer} imports siklus.{target}: "
            + ", ".join(sorted(INDEPENDENT_STAGES))
            + " do not import each other"
        )
    if importer in STAGES and target in STAGES and STAGES.index(target) > STAGES.index(importer):
        return (
            f"stage siklus.{importer} imports the later stage siklus.{target} "
            f"(stage order: {', '.join(STAGES)})"
        )
    return None


def _facade_problem(target: str) -> str | None:
    """Why the facade may not import part ``target`` at import time, or None."""
    if target in FACADE_EAGER or target == "__init__":
        return None
    return (
        f"the facade imports siklus.{target} eagerly; import it inside __getattr__ "
        "(or under TYPE_CHECKING) so `import siklus` stays cheap"
    )


def violations(modules: list[Module]) -> list[str]:
    """Every broken rule in ``modules``, one line each: ``path:line: what is wrong``."""
    known = {module.name for module in modules}
    problems = []
    for module in modules:
        importer = module.part
        if importer not in LAYERS:
            problems.append(
                f"{module.path}: siklus.{importer} has no layer; add it to LAYERS in "
                "tests/test_architecture.py and to DESIGN.md §2"
            )
            continue
        for imp in imports_of(module, known):
            target = imp.target_part
            if target is None:
                library = imp.target.split(".")[0]
                allowed = RESTRICTED_LIBRARIES.get(library)
                if allowed is not None and importer not in allowed:
                    problems.append(
                        f"{imp.where}: {module.name} imports {imp.target}; only "
                        + ", ".join(f"siklus.{part}" for part in sorted(allowed))
                        + f" may import {library}"
                    )
                continue
            if target not in LAYERS:
                problems.append(
                    f"{imp.where}: {module.name} imports {imp.target}, which has no layer; "
                    "add it to LAYERS in tests/test_architecture.py"
                )
                continue
            problem = _layer_problem(importer, target)
            if problem is None and importer == "__init__" and imp.eager:
                problem = _facade_problem(target)
            if problem is not None:
                problems.append(f"{imp.where}: {module.name} imports {imp.target}: {problem}")
            pieces = imp.target.split(".")
            private = any(_is_private(piece) for piece in pieces[2:])
            if (
                private
                and target != importer
                and (importer, imp.target) not in PRIVATE_IMPORT_ALLOWED
            ):
                problems.append(
                    f"{imp.where}: {module.name} imports the private module {imp.target}; "
                    f"import from siklus.{target} (its __init__) instead"
                )
    return problems


# -- the real package ----------------------------------------------------------------------
def test_the_walker_sees_the_package() -> None:
    modules = {module.name: module for module in discover()}
    assert "siklus.store._sql.store" in modules
    assert modules["siklus"].is_package and modules["siklus"].path == "siklus/__init__.py"
    targets = {imp.target for imp in imports_of(modules["siklus.store._sql.store"], modules)}
    assert "sqlalchemy" in targets
    assert "siklus.store._sql.models" in targets


def test_every_part_of_siklus_has_a_layer() -> None:
    parts = {module.part for module in discover()}
    missing = sorted(parts - set(LAYERS))
    assert not missing, f"add {missing} to LAYERS in tests/test_architecture.py and DESIGN.md"


def test_imports_point_down_the_layers() -> None:
    problems = violations(discover())
    assert not problems, (
        f"{len(problems)} import(s) break the layering of DESIGN.md §2:\n  " + "\n  ".join(problems)
    )


# -- the walker, on made-up sources ----------------------------------------------------------
def fake(name: str, source: str, *, is_package: bool = False) -> Module:
    path = name.replace(".", "/") + ("/__init__.py" if is_package else ".py")
    return Module(name=name, path=path, is_package=is_package, source=source)


BASE = [
    fake("siklus", "", is_package=True),
    fake("siklus.exceptions", ""),
    fake("siklus.config", "from siklus.exceptions import SiklusError\n"),
    fake("siklus.store", "", is_package=True),
    fake("siklus.store._base", ""),
    fake("siklus.workspace", "from siklus.store import BaseStore\n"),
    fake("siklus.cli", "", is_package=True),
    fake("siklus.training", "", is_package=True),
    fake("siklus.training._artifact", ""),
    fake("siklus.data", "", is_package=True),
]


def check(*extra: Module) -> list[str]:
    return violations([*BASE, *extra])


def test_clean_fake_package_has_no_violations() -> None:
    assert check() == []


def test_upward_import_inside_a_function_is_found() -> None:
    source = "def f():\n    from siklus.workspace import Workspace\n    return Workspace\n"
    [problem] = check(fake("siklus.store.fake", source))
    assert problem.startswith("siklus/store/fake.py:2: siklus.store.fake imports siklus.workspace")
    assert "upward import" in problem and "layer 1" in problem and "layer 4" in problem


@pytest.mark.parametrize(
    ("name", "source", "is_package"),
    [
        ("siklus.store._sql.fake", "from ...workspace import Workspace\n", False),
        ("siklus.store.fake", "from .. import workspace\n", False),
        ("siklus.store", "from ..cli import app\n", True),
        ("siklus.store.fake", "import siklus.cli\n", False),
        ("siklus.store.fake", "from siklus import workspace\n", False),
    ],
)
def test_relative_and_absolute_forms_resolve(name: str, source: str, is_package: bool) -> None:
    problems = check(fake(name, source, is_package=is_package))
    assert len(problems) == 1 and "upward import" in problems[0], problems


def test_type_checking_imports_count_too() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import siklus.cli\n"
    assert len(check(fake("siklus.store.fake", source))) == 1


def test_stage_order_and_independent_stages() -> None:
    assert check(fake("siklus.training.fake", "import siklus.data\n")) == []
    [later] = check(fake("siklus.data.fake", "import siklus.training\n"))
    assert "later stage" in later
    [sideways] = check(fake("siklus.monitoring.fake", "import siklus.serving\n"))
    assert "do not import each other" in sideways


def test_restricted_libraries() -> None:
    [problem] = check(fake("siklus.training.fake", "import sqlalchemy.orm as orm\n"))
    assert "only siklus.data, siklus.store may import sqlalchemy" in problem
    assert check(fake("siklus.store.fake", "from alembic import op\n")) == []
    assert check(fake("siklus.cli.fake", "import httpx\n")) == []
    [server_lib] = check(fake("siklus.cli.fake", "from starlette.routing import Route\n"))
    assert "starlette" in server_lib


def test_private_modules_of_other_packages() -> None:
    [problem] = check(fake("siklus.data.fake", "from siklus.store._base import BaseStore\n"))
    assert "private module siklus.store._base" in problem
    assert check(fake("siklus.store.fake", "from siklus.store._base import BaseStore\n")) == []
    allowed = "from siklus.training._artifact import load_model\n"
    assert check(fake("siklus.serving.fake", allowed)) == []
    [not_allowed] = check(fake("siklus.registry.fake", allowed))
    assert "private module siklus.training._artifact" in not_allowed
    [by_name] = check(fake("siklus.registry.fake", "from siklus.training import _artifact\n"))
    assert "private module" in by_name


def test_testing_and_evaluation_import_little() -> None:
    assert check(fake("siklus.testing.fake", "from siklus.store import get_store\n")) == []
    [jobs] = check(fake("siklus.testing.fake", "import siklus.jobs\n"))
    assert "siklus.testing may import only" in jobs
    [prod] = check(fake("siklus.data.fake", "from siklus.testing import StoreContract\n"))
    assert "for test suites" in prod
    [store] = check(fake("siklus.evaluation.fake", "from siklus.store import Model\n"))
    assert "siklus.evaluation may import only" in store


def test_facade_imports_lazily() -> None:
    lazy = (
        "from siklus.exceptions import SiklusError\n"
        "def __getattr__(name):\n    from siklus.workspace import Workspace\n"
    )
    assert violations([fake("siklus", lazy, is_package=True), *BASE[1:]]) == []
    eager = "from siklus.workspace import Workspace\n"
    [problem] = violations([fake("siklus", eager, is_package=True), *BASE[1:]])
    assert "eagerly" in problem


def test_unknown_parts_are_reported() -> None:
    [problem] = check(fake("siklus.mystery", "import siklus.store\n"))
    assert "has no layer" in problem
