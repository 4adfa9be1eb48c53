"""The pure checks of ``Repository.aggregate``: a pipeline's shape, the stages and
operators odm refuses at any depth, hidden fields, and the scope's ``$match`` put first.

No I/O here: every refusal is an :class:`~odm.InvalidFilterError` raised before the
pipeline reaches the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import bson

from .codec import encode_any
from .errors import InvalidFilterError
from .filters import FORBIDDEN_OPERATORS
from .filters.values import _storable
from .hidden import HIDDEN_REASON, model_holds_hidden, path_holds_hidden
from .metadata import ModelMeta
from .rules import MAX_FILTER_DEPTH, depth_exceeds

__all__ = ["REFUSED_OPERATORS", "check_pipeline", "scoped_pipeline"]

#: Stages and operators that write elsewhere or run server-side JavaScript (the ones a
#: filter refuses, and the writing stages): refused wherever they appear (a stage, an
#: expression, a sub-pipeline).
REFUSED_OPERATORS = FORBIDDEN_OPERATORS | {"$out", "$merge"}

#: Stage options whose plain string value is a field path (``$lookup``'s, ``$graphLookup``'s,
#: ``$geoNear``'s ``key``, ``$densify``'s ``field``): a join or a search on it tests it.
_FIELD_PATH_OPTIONS = frozenset(
    {"localField", "foreignField", "connectFromField", "connectToField", "key", "field"}
)

#: The variables that are the whole document (comparing them tests every field).
_WHOLE_DOCUMENT = ("$$ROOT", "$$CURRENT")


def check_pipeline(
    pipeline: Any, *, meta: ModelMeta | None = None, path: str = "pipeline"
) -> list[dict[str, Any]]:
    """``pipeline`` as a list of stage dicts, or ``InvalidFilterError``: it is not a list of
    one-key ``{"$stage": ...}`` dicts (nor are its ``$lookup``/``$unionWith``/``$facet``
    sub-pipelines), or it holds a refused stage or operator at any depth. With ``meta``
    (a repository made with ``prohibit_hidden_in_query=True``), a pipeline naming a field
    that is or holds a hidden property (a key, a ``"$field"`` reference, or a join's or
    search's field option such as ``$lookup``'s ``localField``), or the whole
    document (``$$ROOT``, ``$$CURRENT``) of a model holding one, is refused too (the
    error's path stops above the name, so it never shows a hidden name). A pipeline
    nested more than 32 levels deep is refused before it is walked.

    Its Python values are encoded as an ``Any`` property's are (``Decimal`` to
    ``Decimal128``, ``date`` to a datetime, ...), and what BSON cannot hold (an integer
    beyond 64 bits, text that is not UTF-8, a NUL byte in a name) is refused, so every
    backend gets the same pipeline or none."""
    if depth_exceeds(pipeline, MAX_FILTER_DEPTH + 2):
        raise InvalidFilterError(
            path,
            f"the pipeline nests objects and lists more than {MAX_FILTER_DEPTH} levels deep "
            f"within its stages (the limit is {MAX_FILTER_DEPTH})",
        )
    stages = _stages(pipeline, path)
    _refuse_operators(stages, path)
    if meta is not None:
        _refuse_hidden(meta, stages, path)
    return [_encoded(stage, f"{path}.{index}") for index, stage in enumerate(stages)]


def scoped_pipeline(
    scope_match: Mapping[str, Any], stages: Sequence[Mapping[str, Any]], *, collection: str
) -> list[dict[str, Any]]:
    """``stages`` restricted to the documents ``scope_match`` matches: a first ``$match``
    (or, before a ``$geoNear`` that must stay first, its ``query``). A ``$lookup``,
    ``$graphLookup`` or ``$unionWith`` reading ``collection`` itself, at any depth, reads
    only the documents in scope too."""
    if not scope_match:
        return [dict(stage) for stage in stages]
    scope = dict(scope_match)
    inner = [_scoped_stage(scope, stage, collection) for stage in stages]
    if inner and "$geoNear" in inner[0] and isinstance(inner[0]["$geoNear"], Mapping):
        near = dict(inner[0]["$geoNear"])
        near["query"] = _and(scope, near.get("query"))
        return [{"$geoNear": near}, *inner[1:]]
    return [{"$match": scope}, *inner]


def _scoped_stage(
    scope: dict[str, Any], stage: Mapping[str, Any], collection: str
) -> dict[str, Any]:
    """One stage whose reads of ``collection`` (and sub-pipelines') are in scope."""
    ((name, body),) = stage.items()
    if name == "$unionWith" and body == collection:
        return {name: {"coll": collection, "pipeline": [{"$match": scope}]}}
    if not isinstance(body, Mapping):
        return {name: body}
    body = dict(body)
    if name == "$facet":
        return {name: {key: _scoped_all(scope, value, collection) for key, value in body.items()}}
    if name in ("$lookup", "$unionWith") and "pipeline" in body:
        body["pipeline"] = _scoped_all(scope, body["pipeline"], collection)
    if body.get("from" if name != "$unionWith" else "coll") != collection:
        return {name: body}
    if name == "$graphLookup":
        body["restrictSearchWithMatch"] = _and(scope, body.get("restrictSearchWithMatch"))
    elif name in ("$lookup", "$unionWith"):
        body["pipeline"] = [{"$match": scope}, *body.get("pipeline", [])]
    return {name: body}


def _scoped_all(scope: dict[str, Any], stages: Any, collection: str) -> list[dict[str, Any]]:
    return [_scoped_stage(scope, stage, collection) for stage in stages]


def _and(scope: dict[str, Any], query: Any) -> dict[str, Any]:
    return {"$and": [scope, query]} if query else scope


def _stages(pipeline: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(pipeline, list | tuple):
        raise InvalidFilterError(
            path, f"a pipeline is a list of stages, not {type(pipeline).__name__}"
        )
    stages: list[dict[str, Any]] = []
    for index, stage in enumerate(pipeline):
        where = f"{path}.{index}"
        if not isinstance(stage, Mapping) or len(stage) != 1:
            raise InvalidFilterError(where, 'a stage is a dict of one key: {"$stage": ...}')
        ((name, body),) = stage.items()
        if not isinstance(name, str) or not name.startswith("$"):
            raise InvalidFilterError(where, f"a stage's name starts with $, not {name!r}")
        for sub_path, sub_pipeline in _sub_pipelines(name, body, f"{where}.{name}"):
            _stages(sub_pipeline, sub_path)
        stages.append({name: body})
    return stages


def _encoded(stage: dict[str, Any], path: str) -> dict[str, Any]:
    try:
        encoded: dict[str, Any] = encode_any(stage)
    except ArithmeticError as error:  # Decimal128 refuses 35+ digits
        raise InvalidFilterError(path, f"a value cannot be stored in MongoDB ({error!r})") from None
    try:  # the C encoder first; the walk only to say where a problem is
        bson.encode(encoded)
    except (bson.errors.BSONError, OverflowError, ValueError) as error:
        _storable(encoded, path)
        raise InvalidFilterError(path, f"cannot be sent to MongoDB ({error})") from None
    return encoded


def _sub_pipelines(name: str, body: Any, path: str) -> list[tuple[str, Any]]:
    """The sub-pipelines of one stage (``$lookup``, ``$unionWith``, ``$facet``)."""
    if name in ("$lookup", "$unionWith") and isinstance(body, Mapping) and "pipeline" in body:
        return [(f"{path}.pipeline", body["pipeline"])]
    if name == "$facet":
        if not isinstance(body, Mapping):
            raise InvalidFilterError(path, "$facet is a dict of named pipelines")
        return [(f"{path}.{key}", value) for key, value in body.items()]
    return []


def _refuse_operators(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in REFUSED_OPERATORS:
                raise InvalidFilterError(
                    where,
                    f"{key} is refused in a pipeline: it writes to another collection or runs "
                    "JavaScript on the server ($out, $merge, $function, $accumulator, $where)",
                )
            _refuse_operators(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_operators(item, f"{path}.{index}")


def _refuse_hidden(meta: ModelMeta, value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}"
            if isinstance(key, str) and not key.startswith("$") and _hides(meta, key):
                raise InvalidFilterError(path, HIDDEN_REASON)
            if key in _FIELD_PATH_OPTIONS and isinstance(item, str) and _hides(meta, item):
                raise InvalidFilterError(where, HIDDEN_REASON)
            _refuse_hidden(meta, item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_hidden(meta, item, f"{path}.{index}")
    elif isinstance(value, str) and value.startswith("$") and _reference_hides(meta, value):
        raise InvalidFilterError(path, HIDDEN_REASON)


def _reference_hides(meta: ModelMeta, reference: str) -> bool:
    """Whether ``"$field.path"`` (or ``"$$ROOT"``, ``"$$CURRENT.path"``) reaches a hidden
    field. The path below another variable (``"$$item.path"``, bound by ``$map``,
    ``$filter``, ``$let``) is read from the model's top: the variable's value is unknown
    here."""
    if reference in _WHOLE_DOCUMENT:
        return model_holds_hidden(meta)
    if reference.startswith("$$"):
        _, _, below = reference.partition(".")
        return _hides(meta, below)
    return _hides(meta, reference[1:])


def _hides(meta: ModelMeta, field_path: str) -> bool:
    return bool(field_path) and path_holds_hidden(meta, field_path)
