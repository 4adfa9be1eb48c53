"""The OpenAPI parts of each route of a CRUD router: parameters, request bodies and
responses (the components themselves are :mod:`odm.rest.openapi`'s)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from ..metadata import ModelMeta
from .errors import ERROR_SCHEMA
from .openapi import Components, filter_schema, where_schema

__all__ = ["RouteDocs"]


class RouteDocs:
    """The OpenAPI parts of each route: parameters, request body, responses."""

    def __init__(self, meta: ModelMeta, components: Components) -> None:
        self.meta = meta
        self.components = components

    def _errors(self, *statuses: int) -> dict[int | str, dict[str, Any]]:
        texts = {
            400: "a malformed filter or body",
            404: f"no {self.meta.name} with this id",
            409: "a unique index or a version refuses the write",
            422: "the data is invalid",
        }
        return {
            status: {
                "description": texts[status],
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            }
            for status in statuses
        }

    @staticmethod
    def _ok(description: str) -> dict[int | str, dict[str, Any]]:
        return {200: {"description": description}}

    def _parameter(self, name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }

    def _filter(self, *, with_where: bool) -> dict[str, Any]:
        return self._parameter(
            "filter",
            filter_schema(self.meta, with_where=with_where),
            "a LoopBack filter, as JSON or in bracket form (filter[where][name]=Ada)",
        )

    def _where(self) -> dict[str, Any]:
        return self._parameter(
            "where",
            where_schema(self.meta),
            "a LoopBack where clause, as JSON or in bracket form (where[name]=Ada)",
        )

    def _body(self, component: str) -> dict[str, Any]:
        return {
            "required": True,
            "content": {"application/json": {"schema": self.components.ref(component)}},
        }

    def _count(self, description: str) -> dict[int | str, dict[str, Any]]:
        schema = {
            "title": "loopback.Count",
            "type": "object",
            "properties": {"count": {"type": "integer"}},
        }
        return {
            200: {"description": description, "content": {"application/json": {"schema": schema}}}
        }

    @property
    def _entity(self) -> Any:
        return self.components.entity

    def create(self) -> dict[str, Any]:
        return {
            "response_model": self.components.entity,
            "responses": {
                **self._ok(f"the created {self.meta.name}"),
                **self._errors(400, 409, 422),
            },
            "summary": f"create a {self.meta.name}",
            "openapi_extra": {"requestBody": self._body("new")},
        }

    def find(self) -> dict[str, Any]:
        return {
            "response_model": list.__class_getitem__(self.components.related),
            "responses": {
                **self._ok(f"the matching {self.meta.name} instances"),
                **self._errors(400, 422),
            },
            "summary": f"the {self.meta.name} instances matching the filter",
            "openapi_extra": {"parameters": [self._filter(with_where=True)]},
        }

    def count(self) -> dict[str, Any]:
        return {
            "responses": {
                **self._count(f"how many {self.meta.name} match"),
                **self._errors(400, 422),
            },
            "summary": f"how many {self.meta.name} instances match the where clause",
            "openapi_extra": {"parameters": [self._where()]},
        }

    def update_all(self) -> dict[str, Any]:
        return {
            "responses": {
                **self._count(f"how many {self.meta.name} matched"),
                **self._errors(400, 409, 422),
            },
            "summary": f"update every {self.meta.name} matching the where clause",
            "openapi_extra": {"parameters": [self._where()], "requestBody": self._body("partial")},
        }

    def find_by_id(self) -> dict[str, Any]:
        return {
            "response_model": self.components.related,
            "responses": {**self._ok(f"the {self.meta.name}"), **self._errors(400, 404, 422)},
            "summary": f"the {self.meta.name} with this id",
            "openapi_extra": {"parameters": [self._filter(with_where=False)]},
        }

    def by_id(self, status: int, component: str | None, summary: str) -> dict[str, Any]:
        extra: dict[str, Any] = {"summary": summary}
        if component is not None:
            extra["openapi_extra"] = {"requestBody": self._body(component)}
        errors = (400, 404, 409, 422) if component is not None else (404, 422)
        return {
            "status_code": status,
            "response_class": Response,
            "responses": {status: {"description": "done"}, **self._errors(*errors)},
            **extra,
        }
