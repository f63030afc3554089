"""Package references: ``"group"`` (the newest version) or ``"group:version"``."""

from __future__ import annotations

import re

from siklus.exceptions import InvalidParameter
from siklus.store import ModelPackage, WorkspaceContext

_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def parse_package_ref(ref: str) -> tuple[str, int | None]:
    """``"group"`` → (group, None) = newest version; ``"group:2"`` → (group, 2)."""
    group, sep, version = ref.rpartition(":")
    if not sep:
        group, version = ref, ""
    if not _GROUP.match(group) or (version and not version.isdigit()):
        raise InvalidParameter(
            f"Model package reference {ref!r} is not valid: expected GROUP or GROUP:VERSION, "
            "e.g. breast-cancer:1."
        )
    return group, int(version) if version else None


def get_package(ctx: WorkspaceContext, ref: str) -> ModelPackage:
    """The package ``ref`` names. Raises: InvalidParameter (bad ref), NotFound."""
    group, version = parse_package_ref(ref)
    return ctx.store.get_model_package(group, version)


def resolve_package(ctx: WorkspaceContext, package: ModelPackage | str) -> ModelPackage:
    """A package record from a record or a reference."""
    return package if isinstance(package, ModelPackage) else get_package(ctx, package)
