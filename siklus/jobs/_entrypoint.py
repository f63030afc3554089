"""Entrypoint references: ``"package.module:function"``.

Stages above ``siklus.jobs`` plug their work in by naming a function rather than passing
it, so the job process can import it by name and ``siklus.jobs`` never imports a stage.
Parsing (syntax only) happens when a spec is built; importing happens in the job process,
where a failure becomes the job's ``failure_reason``.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from typing import Any

from siklus.exceptions import InvalidParameter

_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_ENTRYPOINT = re.compile(rf"^(?P<module>{_DOTTED}):(?P<attr>{_DOTTED})$")


def parse_entrypoint(ref: str) -> tuple[str, str]:
    """Split ``"package.module:function"`` into ``(module, attribute path)``.

    Raises:
        InvalidParameter: ``ref`` does not have that shape.
    """
    match = _ENTRYPOINT.match(ref) if isinstance(ref, str) else None
    if match is None:
        raise InvalidParameter(
            f"Job entrypoint {ref!r} is not a valid reference: expected "
            "'package.module:function' (a dotted module path, a colon, then the name of "
            "a function in it), e.g. 'siklus.training._job:run'."
        )
    return match["module"], match["attr"]


def load_entrypoint(ref: str) -> Callable[..., Any]:
    """Import the module named in ``ref`` and return the callable it names.

    Raises:
        InvalidParameter: The reference is malformed, the module is not importable, it
            has no such attribute, or the attribute is not callable. Errors raised by the
            module's own code while importing are chained (``raise ... from``) so their
            traceback reaches the job log.
    """
    module_name, attr_path = parse_entrypoint(ref)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if module_name == missing or module_name.startswith(missing + "."):
            raise InvalidParameter(
                f"Job entrypoint {ref!r}: module {module_name!r} cannot be found "
                f"(no module named {missing!r}). Check the spelling, and that it is "
                f"installed for {sys.executable} or on PYTHONPATH."
            ) from None
        raise InvalidParameter(
            f"Job entrypoint {ref!r}: importing module {module_name!r} failed because "
            f"it needs {missing!r}, which is not installed for {sys.executable}."
        ) from exc
    except Exception as exc:
        raise InvalidParameter(
            f"Job entrypoint {ref!r}: importing module {module_name!r} raised "
            f"{type(exc).__name__}: {exc}. Fix the module (traceback in the job log)."
        ) from exc
    target: Any = module
    for part in attr_path.split("."):
        if not hasattr(target, part):
            public = sorted(
                name for name, value in vars(module).items()
                if callable(value) and not name.startswith("_")
            )  # fmt: skip
            hint = f" Callables it defines: {', '.join(public)}." if public else ""
            raise InvalidParameter(
                f"Job entrypoint {ref!r}: module {module_name!r} has no attribute "
                f"{attr_path!r}.{hint}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise InvalidParameter(
            f"Job entrypoint {ref!r} names a {type(target).__name__}, not a function; it "
            "must name a function taking a JobContext."
        )
    return target  # type: ignore[no-any-return]


__all__ = ["load_entrypoint", "parse_entrypoint"]
