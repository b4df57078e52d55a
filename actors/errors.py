"""Errors entities raise when a command cannot be carried out: a stable ``code`` each, which
the edge maps to an HTTP status (``serve_app.errors.STATUS_BY_CODE``).

They cross process boundaries (Ray pickles them), so each one rebuilds from its class, message
and details through ``__reduce__`` whatever its constructor looks like.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[EntityError], message: str, details: dict[str, Any]) -> EntityError:
    error = cls.__new__(cls)
    EntityError.__init__(error, message, **details)
    return error


class EntityError(Exception):
    """Base: a command was refused. ``code`` is stable and machine-readable."""

    code = "command_rejected"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.details))


class NotFound(EntityError):
    code = "not_found"


class Conflict(EntityError):
    """The entity is not in a state that allows the command."""

    code = "conflict"


class VersionMismatch(Conflict):
    """``If-Match`` / ``expected_version`` differs from the entity's version."""

    code = "version_conflict"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"expected version {expected}, but it is at version {actual}",
            expected=expected,
            actual=actual,
        )


class Fenced(Conflict):
    """Another writer appended to the entity's stream: this copy of it is stale (a zombie, or
    two hosts during a reshard) and must be dropped; the entity's holder reloads it from the
    journal and tries the command once more."""


class Unavailable(EntityError):
    """Storage failed or the actor could not be reached; retrying may help."""

    code = "unavailable"


class Overloaded(Unavailable):
    """The entity has more commands waiting than it may queue, or this one waited too long:
    refused without running (nothing recorded), so the caller may retry after a pause."""

    code = "overloaded"
