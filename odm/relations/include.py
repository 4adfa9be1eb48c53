"""``include``: related entities read with one query per relation per level.

:func:`parse_include` checks an include (names, ``{"relation", "scope"}`` items, nested
includes, the depth limit) against the model before anything is read;
:func:`attach` reads each relation of a list of parents with one query (``$in`` on the
keys; one aggregation when a scope limits each parent: ``$group`` + ``$slice``) and sets
the typed results on the parents' navigational attributes. The queries run through a
repository of the target with the parent repository's options, so the target's default
scope, strict mode, hidden properties and ``prohibit_hidden_in_query`` apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from ..errors import InvalidFilterError
from ..filters.query import count_part
from ..metadata import ModelMeta
from ..operations import Operation
from .metadata import Relation, relation_of

__all__ = ["IncludeItem", "attach", "include_keys", "parse_include"]

#: the include level being read (0: the caller's own read)
_level: ContextVar[int] = ContextVar("odm_include_level", default=0)
#: the ``options=`` of the read being included for: every query it makes passes them on
_options: ContextVar[Mapping[str, Any] | None] = ContextVar("odm_include_options", default=None)
_SCOPE_KEYS = frozenset(["where", "fields", "order", "limit", "skip", "offset", "include"])
#: ``$slice`` needs a count: "no limit" after a skip
_NO_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class IncludeItem:
    """One relation to include and the scope its targets are read with."""

    relation: Relation
    scope: Mapping[str, Any] = field(default_factory=dict)
    nested: tuple[IncludeItem, ...] = ()


def _items(include: Any, path: str) -> list[tuple[Any, str]]:
    if isinstance(include, str | Mapping):
        return [(include, path)]
    if isinstance(include, Sequence) and not isinstance(include, bytes):
        return [(item, f"{path}.{index}") for index, item in enumerate(include)]
    raise InvalidFilterError(
        path,
        f"include is a relation name, a list of them or {{'relation', 'scope'}} items, "
        f"not {type(include).__name__}",
    )


def parse_include(
    meta: ModelMeta, include: Any, *, max_depth: int, depth: int = 1, path: str = "include"
) -> tuple[IncludeItem, ...]:
    """The include of a filter checked against ``meta``: every relation known, scopes
    well-formed, nesting no deeper than ``max_depth`` levels."""
    if include is None:
        return ()
    if depth > max_depth:
        raise InvalidFilterError(
            path, f"includes nest at most {max_depth} levels deep (max_include_depth)"
        )
    parsed: list[IncludeItem] = []
    for item, where in _items(include, path):
        name: Any = item
        scope: Mapping[str, Any] = {}
        if isinstance(item, Mapping):
            unknown = set(item) - {"relation", "scope"}
            if unknown or "relation" not in item:
                raise InvalidFilterError(
                    where, "an include item is {'relation': name, 'scope': {...}}"
                )
            name, scope = item["relation"], item.get("scope") or {}
            if not isinstance(scope, Mapping) or set(scope) - _SCOPE_KEYS:
                raise InvalidFilterError(
                    f"{where}.scope",
                    f"an include scope has the keys {', '.join(sorted(_SCOPE_KEYS))}",
                )
            scope = _counted(scope, f"{where}.scope")
        relation = relation_of(meta, name) if isinstance(name, str) else None
        if relation is None:
            known = ", ".join(sorted(meta.relations)) or "none"
            raise InvalidFilterError(
                where, f"{meta.name} has no relation {name!r} (its relations: {known})"
            )
        nested = parse_include(
            relation.target,
            scope.get("include"),
            max_depth=max_depth,
            depth=depth + 1,
            path=f"{where}.scope.include",
        )
        parsed.append(IncludeItem(relation, scope, nested))
    return tuple(parsed)


def _counted(scope: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """``scope`` with its ``limit``/``skip``/``offset`` checked and made ints, as a filter's."""
    counts = {"limit": 1, "skip": 0, "offset": 0}
    if not any(key in scope for key in counts):
        return scope
    checked = dict(scope)
    for key, minimum in counts.items():
        if checked.get(key) is not None:
            checked[key] = count_part(checked[key], f"{path}.{key}", minimum)
    return checked


def include_keys(meta: ModelMeta, filter: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``filter`` with the parents' keys an include needs added to its ``fields`` (a
    projection that left one out still joins; the key stays on the instances)."""
    if not filter or not filter.get("include") or filter.get("fields") is None:
        return filter
    needed = set()
    for item, _ in _items(filter["include"], "include"):
        name = item.get("relation") if isinstance(item, Mapping) else item
        relation = relation_of(meta, name) if isinstance(name, str) else None
        if relation is not None:
            needed.add(relation.key_from)
    return {**filter, "fields": _with_fields(filter["fields"], needed)}


def _with_fields(fields: Any, needed: set[str]) -> Any:
    if isinstance(fields, str):
        fields = [name.strip() for name in fields.split(",") if name.strip()]
    if isinstance(fields, Mapping):
        if any(value is True for value in fields.values()):
            return {**fields, **dict.fromkeys(needed, True)}
        return {key: value for key, value in fields.items() if key not in needed}
    if isinstance(fields, Sequence):
        return [*fields, *(name for name in needed if name not in fields)]
    return fields


def _key(value: Any) -> Any:
    return str(value) if isinstance(value, ObjectId) else value


def _and(condition: Mapping[str, Any], where: Any) -> Mapping[str, Any]:
    return {"and": [condition, where]} if where else condition


async def attach(
    repository: Any,
    filter: Mapping[str, Any] | None,
    parents: list[Any],
    *,
    session: Any,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Read the relations ``filter`` includes for ``parents`` and set them on each."""
    if not filter or filter.get("include") is None:
        return
    level = _level.get()
    items = parse_include(
        repository.meta,
        filter["include"],
        max_depth=repository.max_include_depth,
        depth=level + 1,
    )
    if not parents:
        return
    token = _level.set(level + 1)
    passed = _options.set(options) if options is not None else None
    try:
        for item in items:
            await _attach_one(repository, item, parents, session)
    finally:
        _level.reset(token)
        if passed is not None:
            _options.reset(passed)


async def _attach_one(repository: Any, item: IncludeItem, parents: list[Any], session: Any) -> None:
    relation = item.relation
    scope = dict(item.scope)
    limit = scope.pop("limit", None)
    skip = scope.pop("skip", None) or scope.pop("offset", None) or 0
    scope.pop("offset", None)
    target = repository._repository_for(relation.target.cls)
    scope_limit = _per_parent_scope_limit(target)
    if scope_limit is not None:
        limit = scope_limit if limit is None else min(limit, scope_limit)
    if relation.kind == "has_many_through":
        assert relation.through is not None and relation.key_through is not None
        through = repository._repository_for(relation.through.cls)
        keys = _values(parents, relation.key_from)
        links = (
            await through.find(
                {"where": {relation.key_to: {"inq": keys}}},
                session=session,
                options=_options.get(),
            )
            if keys
            else []
        )
        ids = list(dict.fromkeys(_key(getattr(link, relation.key_through)) for link in links))
        assert relation.target.id is not None
        found = await _read(target, scope, relation.target.id.name, ids, session)
        by_id = {_key(entity.get_id()): entity for entity in found}
        rank = {id(entity): position for position, entity in enumerate(found)}
        linked: dict[Any, list[Any]] = {}
        for link in links:
            entity = by_id.get(_key(getattr(link, relation.key_through)))
            if entity is not None:
                linked.setdefault(_key(getattr(link, relation.key_to)), []).append(entity)
        for parent in parents:
            chosen = linked.get(_key(getattr(parent, relation.key_from)), [])
            if scope.get("order"):
                chosen = sorted(chosen, key=lambda entity: rank[id(entity)])
            _set(parent, relation, _window(chosen, skip, limit))
        return
    if relation.kind == "references_many":
        keys = list(
            dict.fromkeys(
                _key(value)
                for parent in parents
                for value in getattr(parent, relation.key_from) or ()
            )
        )
        found = await _read(target, scope, relation.key_to, keys, session)
        by_key = {_key(getattr(entity, relation.key_to)): entity for entity in found}
        rank = {id(entity): position for position, entity in enumerate(found)}
        for parent in parents:
            listed = getattr(parent, relation.key_from) or ()
            chosen = [by_key[k] for k in dict.fromkeys(map(_key, listed)) if k in by_key]
            if scope.get("order"):
                chosen = sorted(chosen, key=lambda entity: rank[id(entity)])
            _set(parent, relation, _window(chosen, skip, limit))
        return
    keys = _values(parents, relation.key_from)
    per_parent = relation.kind == "has_one" or limit is not None or skip
    if relation.kind == "belongs_to" or not per_parent:
        found = await _read(target, scope, relation.key_to, keys, session)
    else:
        found = await _read_per_parent(
            target, scope, relation, keys, skip, 1 if relation.kind == "has_one" else limit, session
        )
    grouped: dict[Any, list[Any]] = {}
    for entity in found:
        grouped.setdefault(_key(getattr(entity, relation.key_to)), []).append(entity)
    for parent in parents:
        chosen = grouped.get(_key(getattr(parent, relation.key_from)), [])
        if relation.many:
            _set(parent, relation, chosen)
        else:
            _set(parent, relation, chosen[0] if chosen else None)


def _per_parent_scope_limit(target: Any) -> int | None:
    """The target's default-scope limit, taken off its repository: in an include it
    limits each parent's targets, not the one query all parents share."""
    if not target.scope or target.scope.get("limit") is None:
        return None
    limit = int(target.scope["limit"])
    target._set_scope({key: value for key, value in target.scope.items() if key != "limit"})
    return limit


def _values(parents: list[Any], name: str) -> list[Any]:
    values = (getattr(parent, name) for parent in parents)
    return list(dict.fromkeys(_key(value) for value in values if value is not None))


def _window(items: list[Any], skip: int, limit: int | None) -> list[Any]:
    return items[skip : None if limit is None else skip + limit]


def _set(parent: Any, relation: Relation, value: Any) -> None:
    parent.__dict__[relation.name] = value


async def _read(
    target: Any, scope: Mapping[str, Any], key: str, keys: list[Any], session: Any
) -> list[Any]:
    """The targets whose ``key`` is one of ``keys``, in one query with the scope."""
    if not keys:
        return []
    filter = {
        **scope,
        "where": _and({key: {"inq": keys}}, scope.get("where")),
    }
    if scope.get("fields") is not None:
        filter["fields"] = _with_fields(scope["fields"], {key})
    return list(await target.find(filter, session=session, options=_options.get()))


async def _read_per_parent(
    target: Any,
    scope: Mapping[str, Any],
    relation: Relation,
    keys: list[Any],
    skip: int,
    limit: int | None,
    session: Any,
) -> list[Any]:
    """The targets of each parent, ``skip``/``limit`` applied per parent, in one
    aggregation: match, sort, group by the key, slice each group."""
    if not keys:
        return []
    filter = {key: value for key, value in scope.items() if key in ("where", "fields", "order")}
    filter["where"] = _and({relation.key_to: {"inq": keys}}, scope.get("where"))
    if scope.get("fields") is not None:
        filter["fields"] = _with_fields(scope["fields"], {relation.key_to})
    operation = Operation("find", target, session, query=filter, options=_options.get())
    await target._access(operation)
    query = target._translate(operation.query)
    key_field = relation.target.properties[relation.key_to].field_name
    pipeline: list[dict[str, Any]] = [{"$match": query.where}]
    if query.sort:
        pipeline.append({"$sort": dict(query.sort)})
    if query.projection:
        pipeline.append({"$project": query.projection})
    pipeline += [
        {"$group": {"_id": f"${key_field}", "docs": {"$push": "$$ROOT"}}},
        {"$project": {"docs": {"$slice": ["$docs", skip, limit or _NO_LIMIT]}}},
    ]
    groups = await target._collection.aggregate(pipeline, session=session)
    docs = [doc for group in groups for doc in group["docs"]]
    entities = await target._loaded_all(operation, docs, partial=query.projection)
    await attach(target, scope, entities, session=session)
    return list(entities)
