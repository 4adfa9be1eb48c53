"""odm's errors as LoopBack's REST error bodies.

Every error a route answers has one shape,
``{"error": {"statusCode", "name", "message", "code", "details"}}``:

=============================  ======  ===========================  ====================
error                          status  name                         code
=============================  ======  ===========================  ====================
``ValidationError``            422     ``UnprocessableEntityError`` ``VALIDATION_FAILED``
a body that is not an object   422     ``UnprocessableEntityError`` ``VALIDATION_FAILED``
a body that is not JSON        400     ``BadRequestError``          ``INVALID_REQUEST_BODY``
``InvalidFilterError``         400     ``BadRequestError``          ``INVALID_FILTER``
``EntityNotFoundError``        404     ``NotFoundError``            ``ENTITY_NOT_FOUND``
``DuplicateKeyError``          409     ``ConflictError``            ``DUPLICATE_KEY``
``ConflictError`` (versions)   409     ``ConflictError``            ``VERSION_CONFLICT``
any other ``ODMError``         500     ``InternalServerError``      ``INTERNAL_ERROR``
=============================  ======  ===========================  ====================

``details`` lists ``{path, code, message}``; a detail never carries the value that was
refused (odm's messages keep hidden values out, and a body has no need of the others).
No body names a hidden property: a filter refused at a path through one (a client
testing a hidden name) is answered at the path before it, with a message that names
nothing.
A 500 says nothing of its cause (it is logged on the ``odm.rest`` logger instead).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import (
    ConflictError,
    DuplicateKeyError,
    EntityNotFoundError,
    InvalidFilterError,
    ODMError,
    ValidationError,
)
from ..hidden import path_is_hidden
from ..metadata import ModelMeta, meta_of
from ..relations.metadata import relations_of

__all__ = ["ERROR_SCHEMA", "error_body", "error_response", "request_error_response"]

logger = logging.getLogger("odm.rest")

#: The JSON Schema of an error body, for the OpenAPI document.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "LoopBackError",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "statusCode": {"type": "integer"},
                "name": {"type": "string"},
                "message": {"type": "string"},
                "code": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string"},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
            "required": ["statusCode", "name", "message"],
        }
    },
    "required": ["error"],
}

_NAMES = {
    400: "BadRequestError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    500: "InternalServerError",
}


def error_body(
    status_code: int, message: str, code: str, details: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """LoopBack's error body."""
    error: dict[str, Any] = {
        "statusCode": status_code,
        "name": _NAMES.get(status_code, "Error"),
        "message": message,
        "code": code,
    }
    if details:
        error["details"] = list(details)
    return {"error": error}


def _response(
    status_code: int, message: str, code: str, details: Sequence[dict[str, Any]] = ()
) -> JSONResponse:
    return JSONResponse(error_body(status_code, message, code, details), status_code)


def error_response(error: ODMError, meta: ModelMeta) -> JSONResponse:
    """The response for an odm error raised while serving a route of ``meta``'s model."""
    if isinstance(error, ValidationError):
        details = [
            {"path": detail["path"], "code": detail["code"], "message": detail["message"]}
            for detail in error.details
        ]
        return _response(422, str(error), "VALIDATION_FAILED", details)
    if isinstance(error, InvalidFilterError):
        return _filter_refused(error, meta)
    if isinstance(error, EntityNotFoundError):
        return _response(404, str(error), "ENTITY_NOT_FOUND")
    if isinstance(error, DuplicateKeyError):
        shown = [name for name in error.properties if not path_is_hidden(meta, name)]
        details = [
            {"path": name, "code": "duplicate-key", "message": f"another {meta.name} has it"}
            for name in shown
        ]
        if len(shown) != len(error.properties):  # the message would name a hidden one
            return _response(409, f"duplicate {meta.name}", "DUPLICATE_KEY", details)
        return _response(409, str(error), "DUPLICATE_KEY", details)
    if isinstance(error, ConflictError):
        return _response(409, str(error), "VERSION_CONFLICT")
    logger.error("odm error serving %s", meta.name, exc_info=error)
    return _response(500, "Internal Server Error", "INTERNAL_ERROR")


def _filter_refused(error: InvalidFilterError, meta: ModelMeta) -> JSONResponse:
    path, reason = error.path, error.reason
    segments = path.split(".")
    names = hidden_names(meta)
    cut = next((index for index, segment in enumerate(segments) if segment in names), None)
    if cut is not None or any(re.search(rf"\b{re.escape(name)}\b", reason) for name in names):
        path = ".".join(segments[:cut])
        reason = "names a property that cannot be queried"
    message = f"invalid filter at {path}: {reason}" if path else f"invalid filter: {reason}"
    details = [{"path": path, "code": "invalid-filter", "message": reason}]
    return _response(400, message, "INVALID_FILTER", details)


def hidden_names(meta: ModelMeta) -> frozenset[str]:
    """The names (and field names) of the hidden properties of ``meta``, of the models
    embedded in it and of its relations' targets, at any depth."""
    found = _HIDDEN_NAMES.get(id(meta))
    if found is None:
        names: set[str] = set()
        _collect_hidden(meta, names, set())
        found = _HIDDEN_NAMES[id(meta)] = frozenset(names)
    return found


def _collect_hidden(meta: ModelMeta, names: set[str], seen: set[int]) -> None:
    seen.add(id(meta))
    nested: list[ModelMeta] = []
    for prop in meta.properties.values():
        if prop.hidden:
            names.update((prop.name, prop.field_name))
        nested.extend(m for m in map(meta_of, prop.type.models) if m is not None)
    if meta.relations:
        nested.extend(relation.target for relation in relations_of(meta).values())
    for other in nested:
        if id(other) not in seen:
            _collect_hidden(other, names, seen)


_HIDDEN_NAMES: dict[int, frozenset[str]] = {}


def request_error_response(error: RequestValidationError) -> JSONResponse:
    """FastAPI's own request checks (parameters of the repository dependency, say) in
    the same shape, without the input values."""
    details = [
        {
            "path": ".".join(str(part) for part in problem.get("loc", ())),
            "code": str(problem.get("type", "invalid")),
            "message": str(problem.get("msg", "invalid")),
        }
        for problem in error.errors()
    ]
    if any(problem.get("type") == "json_invalid" for problem in error.errors()):
        return _response(400, "the request body is not valid JSON", "INVALID_REQUEST_BODY")
    return _response(422, "invalid request", "VALIDATION_FAILED", details)


def bad_body(message: str) -> JSONResponse:
    """400: a request body that is missing or is not JSON."""
    return _response(400, message, "INVALID_REQUEST_BODY")


def body_not_object(kind: str) -> JSONResponse:
    """422: a JSON body that is not an object."""
    details = [{"path": "", "code": "type", "message": f"must be an object, not {kind}"}]
    return _response(
        422, f"the request body must be a JSON object, not {kind}", "VALIDATION_FAILED", details
    )
