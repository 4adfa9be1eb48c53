"""How the REST routes read a request: ``filter`` / ``where`` in either encoding (made
canonical, ``include`` scopes too) and bodies (JSON objects, refused in LoopBack's shape
before any repository call when malformed or when they set a hidden property)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from ..errors import ErrorDetail, ValidationError
from ..filters.query import normalize_filter
from ..hidden import model_holds_hidden, path_is_hidden
from ..metadata import ModelMeta
from ..repository import Repository
from ..rules import MAX_DATA_DEPTH
from .errors import bad_body, body_not_object
from .query import clamp_limit, decode_query

__all__ = ["PrepareData", "RequestReader", "RequestRefused", "canonical_filter"]

#: ``prepare_data(data, operation)`` of a router: a write's body (checked: a JSON object
#: setting no hidden property) mapped before the repository validates it.
PrepareData = Callable[[dict[str, Any], str], dict[str, Any] | Awaitable[dict[str, Any]]]


class RequestRefused(Exception):
    """A request refused before any repository call; carries its response."""

    def __init__(self, response: JSONResponse) -> None:
        self.response = response


class RequestReader:
    """How the routes of one model read a request: its ``filter`` / ``where`` and its
    body (a JSON object that sets no hidden property)."""

    def __init__(
        self, meta: ModelMeta, max_limit: int, prepare_data: PrepareData | None = None
    ) -> None:
        self.meta = meta
        self.max_limit = max_limit
        self.prepare_data = prepare_data
        self.holds_hidden = model_holds_hidden(meta)
        self.top_hidden = [prop.name for prop in meta.properties.values() if prop.hidden]

    def filter(self, request: Request, *, clamp: bool) -> dict[str, Any] | None:
        decoded = decode_query(request.query_params.multi_items(), "filter")
        if decoded is None and not clamp:
            return None
        canonical = canonical_filter(decoded, "")
        return clamp_limit(canonical, self.max_limit) if clamp else canonical

    def where(self, request: Request) -> Any:
        return decode_query(request.query_params.multi_items(), "where")

    async def body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            raise RequestRefused(bad_body("a request body (a JSON object) is required"))
        try:
            data = json.loads(raw)
        except RecursionError:
            raise RequestRefused(bad_body("the request body nests too deep")) from None
        except ValueError as error:
            raise RequestRefused(bad_body(f"the request body is not valid JSON: {error}")) from None
        if not isinstance(data, dict):
            raise RequestRefused(body_not_object(_json_kind(data)))
        if self.holds_hidden:
            self._refuse_hidden(data)
        return data

    async def data(self, request: Request, operation: str) -> dict[str, Any]:
        """A write's body, through the router's ``prepare_data`` (which may set hidden
        properties: the client's own were refused before)."""
        data = await self.body(request)
        if self.prepare_data is None:
            return data
        prepared = self.prepare_data(data, operation)
        if inspect.isawaitable(prepared):
            prepared = await prepared
        if not isinstance(prepared, dict):
            raise TypeError(f"prepare_data returned {type(prepared).__name__}, not a dict")
        return prepared

    def _refuse_hidden(self, data: dict[str, Any]) -> None:
        """A client may not write a hidden property: refused as not a property of the
        model, at the path of the object holding it, without its name."""
        details: list[ErrorDetail] = []
        self._walk_hidden(data, "", details, 0)
        if details:
            raise ValidationError(self.meta.name, details)

    def _walk_hidden(self, value: Any, path: str, details: list[ErrorDetail], depth: int) -> None:
        if depth > MAX_DATA_DEPTH:  # validation refuses it as too deep
            return
        if isinstance(value, list):
            for item in value:
                self._walk_hidden(item, path, details, depth + 1)
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if path_is_hidden(self.meta, here):
                where = f"{self.meta.name}.{path}" if path else self.meta.name
                details.append(
                    ErrorDetail(
                        path=path,
                        code="unknown-property",
                        message=f"{where}: holds a name that is not a property of the model",
                        value=None,
                    )
                )
            else:
                self._walk_hidden(item, here, details, depth + 1)

    async def with_stored_hidden(
        self, repo: Repository[Any], id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """A replace's data with the stored entity's hidden properties it does not set
        (a client can neither read nor send them, so a ``PUT`` must not erase them; only
        the router's ``prepare_data`` can set one)."""
        if not self.top_hidden:
            return data
        stored = await repo.find_by_id(id)
        kept = {
            name: getattr(stored, name)
            for name in self.top_hidden
            if name in stored.model_fields_set
        }
        return {**kept, **data}


def canonical_filter(filter: Any, path: str) -> dict[str, Any]:
    """A filter made canonical (``normalize_filter``: ints for ``limit``/``skip`` of the
    bracket form...) with its ``include`` kept, each include scope made canonical too."""
    canonical = normalize_filter(filter, path)
    include = filter.get("include") if isinstance(filter, dict) else None
    if include is not None:
        canonical["include"] = _canonical_include(include, f"{path}.include".lstrip("."))
    return canonical


def _canonical_include(include: Any, path: str) -> Any:
    if isinstance(include, list):
        return [_canonical_include(item, f"{path}.{index}") for index, item in enumerate(include)]
    if isinstance(include, dict) and isinstance(include.get("scope"), dict):
        return {**include, "scope": canonical_filter(include["scope"], f"{path}.scope")}
    return include


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
