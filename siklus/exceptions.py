"""The one error hierarchy of siklus.

Every error a user can cause is a :class:`SiklusError`. Each subclass also inherits the
matching builtin (so ``except KeyError`` still works for callers who expect it) and
carries the HTTP status the REST API and the endpoints answer with, so servers need a
single handler. Messages name the thing, quote the bad value and say how to fix it.
"""

from __future__ import annotations


class SiklusError(Exception):
    """Root of every error siklus raises on purpose.

    Args:
        message: What went wrong, where, and how to fix it.
    """

    http_status: int = 500
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError's str() would add quotes; keep the plain message.
        return self.message


class InvalidParameter(SiklusError, ValueError):
    """A value given by the user is wrong (bad type, out of range, unknown name)."""

    http_status = 400
    exit_code = 2


class InvalidInput(InvalidParameter):
    """Input data (a file, a payload) cannot be used as it is."""


class NotFound(SiklusError, KeyError):
    """A named resource (dataset, job, model, endpoint, file) does not exist."""

    http_status = 404


class AlreadyExists(SiklusError):
    """Creating a resource whose name is already taken."""

    http_status = 409


class InvalidState(SiklusError):
    """The resource exists but is in the wrong state for this operation.

    For example deploying a model version that is not Approved.
    """

    http_status = 409


class PayloadTooLarge(InvalidInput):
    """A request body exceeds the configured limit."""

    http_status = 413


class CorruptArtifact(SiklusError):
    """A stored artifact's content does not match its sha256: it was changed on disk."""

    http_status = 500


class UntrustedModel(SiklusError):
    """A model file holds a type outside the allow-list and will not be loaded."""

    http_status = 400


class JobFailed(SiklusError):
    """A job the caller waited for ended Failed or Stopped."""


class StoreError(SiklusError):
    """The metadata database could not be reached or migrated."""


__all__ = [
    "AlreadyExists",
    "CorruptArtifact",
    "InvalidInput",
    "InvalidParameter",
    "InvalidState",
    "JobFailed",
    "NotFound",
    "PayloadTooLarge",
    "SiklusError",
    "StoreError",
    "UntrustedModel",
]
