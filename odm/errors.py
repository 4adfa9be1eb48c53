"""odm's exceptions, all under one root.

::

    ODMError
    ├── ValidationError        .details: list of {path, code, message, value}
    ├── EntityNotFoundError    .model, .id
    ├── DuplicateKeyError      .properties, .index, .value
    ├── InvalidFilterError     .path, .reason
    ├── ModelDefinitionError
    └── ConflictError          .model, .id, .expected, .actual

Driver errors that are none of these are raised as they come from the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

__all__ = [
    "ConflictError",
    "DuplicateKeyError",
    "EntityNotFoundError",
    "ErrorDetail",
    "InvalidFilterError",
    "ModelDefinitionError",
    "ODMError",
    "ValidationError",
]


class ErrorDetail(TypedDict):
    """One problem found in written data."""

    path: str
    code: str
    message: str
    value: Any


class ODMError(Exception):
    """The root of every error odm raises itself."""


class ValidationError(ODMError, ValueError):
    """Data refused before anything was written; ``details`` lists every problem found.

    ``code`` of a detail is one of ``unknown-property``, ``presence``, ``nullable``,
    ``absence``, ``immutable``, ``scope-conflict``, ``invalid-name``, ``type`` or the
    JSON Schema keyword that failed (``minLength``, ``format``, ...).
    """

    def __init__(self, model: str, details: Sequence[ErrorDetail]) -> None:
        self.model = model
        self.details: list[ErrorDetail] = list(details)
        lines = "; ".join(detail["message"] for detail in self.details)
        super().__init__(f"invalid {model} data ({len(self.details)} problem(s)): {lines}")

    @property
    def codes(self) -> list[str]:
        """The codes of the details, in order."""
        return [detail["code"] for detail in self.details]


class EntityNotFoundError(ODMError, LookupError):
    """No entity of ``model`` with ``id`` (in the repository's scope)."""

    def __init__(self, model: str, id: Any) -> None:
        self.model = model
        self.id = id
        super().__init__(f"{model} with id {id!r} not found")


class DuplicateKeyError(ODMError):
    """A write broke a unique index; ``properties`` are property names, not field names."""

    def __init__(
        self,
        model: str,
        *,
        properties: Sequence[str],
        index: str | None,
        value: Mapping[str, Any] | None,
        index_in_batch: int | None = None,
    ) -> None:
        self.model = model
        self.properties = list(properties)
        self.index = index
        self.value = dict(value) if value is not None else None
        self.index_in_batch = index_in_batch
        where = f" (item {index_in_batch} of the batch)" if index_in_batch is not None else ""
        shown = ", ".join(self.properties) or "key"
        value_text = f" {self.value!r}" if self.value is not None else ""
        index_text = f"unique index {index!r}" if index is not None else "a unique index"
        super().__init__(f"duplicate {model} {shown}{value_text}: {index_text} refuses it{where}")


class InvalidFilterError(ODMError, ValueError):
    """A filter odm refuses to translate; ``path`` locates the part, ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"invalid filter at {path or '<root>'}: {reason}")


class ModelDefinitionError(ODMError, TypeError):
    """A model declaration odm cannot accept; raised when the class is created."""


class ConflictError(ODMError):
    """A write carrying a version (``@model(version=True)``) found another one stored:
    the entity was changed since it was read, and nothing was written. ``expected`` is
    the version the write carried, ``actual`` the stored one."""

    def __init__(self, model: str, id: Any, expected: Any, actual: Any) -> None:
        self.model = model
        self.id = id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{model} with id {id!r} was changed by another write: the write carried "
            f"version {expected!r}, the stored version is {actual!r}; nothing was written "
            "(read the entity again and retry)"
        )
