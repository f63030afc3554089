"""Model registry: package groups, versions, approval status with who/when/why."""

from siklus.registry._registry import (
    approve,
    get_package,
    parse_package_ref,
    register_model,
    reject,
)

__all__ = ["approve", "get_package", "parse_package_ref", "register_model", "reject"]
