"""Partial instances: what a read with ``fields`` (a projection) returns.

A projected read never invents data. A property the projection left out is *unset* on
the instance: it is absent from the instance's ``__dict__`` (so pydantic's
``model_dump()``, ``to_json()`` and every serializer built on them omit it, and
``model_fields_set`` does not list it), and reading the attribute gives ``None``
(``Model.__getattr__``). Nothing is filled with a default or a generated value; a
property the projection asked for that the stored document lacks gets its default, as
a whole read gives it.

A projection on a sub-path (``fields: ["address.city"]``) leaves the embedded model
(each item of a list of models) partial the same way.

A partial instance cannot be saved whole: :func:`refuse_partial` raises
``ValidationError`` (code ``partial-instance``) for ``create``, ``save`` and
``replace_by_id``; :func:`update_data` gives ``update(entity)`` the properties it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .errors import ErrorDetail, ValidationError
from .hidden import path_is_hidden
from .metadata import ID_FIELD, ModelMeta, PropertyMeta, meta_of
from .properties import loading

__all__ = [
    "decode_partial",
    "decode_partial_many",
    "is_partial",
    "missing_properties",
    "refuse_partial",
    "update_data",
]

T = TypeVar("T", bound=BaseModel)
#: field name -> None (the whole value) or the selection below it
Selection = dict[str, "Selection | None"]


def _selection(projection: Mapping[str, Any]) -> tuple[Selection, bool]:
    """The tree of a MongoDB projection's field paths, and whether it includes them."""
    # the id is always read (and mongomock adds ``_id: 1`` to the projection it is given)
    paths = [path for path in projection if path != ID_FIELD]
    include = any(bool(projection[path]) for path in paths) if paths else True
    tree: Selection = {}
    for path in paths:
        node = tree
        *parents, last = path.split(".")
        for part in parents:
            child = node.get(part, {})
            if child is None:  # a parent path covers its children
                break
            node[part] = child
            node = child
        else:
            node[last] = None
    return tree, include


def decode_partial(cls: type[T], doc: Mapping[str, Any], projection: Mapping[str, Any]) -> T:
    """A stored document read with ``projection`` (``{field path: 1}`` or ``{field
    path: 0}``) as a validated instance of ``cls`` holding only the projected
    properties (the id always)."""
    return decode_partial_many(cls, [doc], projection)[0]


def decode_partial_many(
    cls: type[T], docs: Iterable[Mapping[str, Any]], projection: Mapping[str, Any]
) -> list[T]:
    """:func:`decode_partial` of several documents read with one projection."""
    plan = _plan_of(cls, projection)
    token = loading.set(True)
    try:
        return [plan.build(doc) for doc in docs]
    finally:
        loading.reset(token)


_PLANS: dict[tuple[type, tuple[tuple[str, Any], ...]], _Plan] = {}
_MAX_PLANS = 512


def _plan_of(cls: type[BaseModel], projection: Mapping[str, Any]) -> _Plan:
    key = (cls, tuple(projection.items()))
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:  # projections come from callers: keep it bounded
            _PLANS.clear()
        tree, include = _selection(projection)
        plan = _PLANS[key] = _Plan(cls, tree, include, top=True)
    return plan


_WHOLE: Any = object()
_NEW = object.__new__
_SLOTS = BaseModel.__dict__
_SET_DICT = _SLOTS["__dict__"].__set__
_SET_FIELDS = _SLOTS["__pydantic_fields_set__"].__set__
_SET_EXTRA = _SLOTS["__pydantic_extra__"].__set__
_SET_PRIVATE = _SLOTS["__pydantic_private__"].__set__


class _Plan:
    """How one model class is read under one selection: per held property its stored
    field, its validator and, for an embedded model read in part, the nested plan."""

    def __init__(self, cls: type[BaseModel], tree: Selection, include: bool, top: bool) -> None:
        self.cls = cls
        meta = meta_of(cls)
        self.meta = meta
        self.rows: list[tuple[str, str, PropertyMeta, Callable[[Any], Any]]] = []
        if meta is None:
            return
        self.plain = not (cls.__pydantic_post_init__ or cls.__private_attributes__)
        for prop in meta.properties.values():
            field = prop.field_name
            if top and prop.is_id:
                below: Selection | None = None
            elif include:
                if field not in tree:
                    continue
                below = tree[field]
            else:
                if field in tree and tree[field] is None:
                    continue
                below = tree.get(field)
            stored = ID_FIELD if top and prop.is_id else field
            self.rows.append((prop.name, stored, prop, self._reader(prop, below, include)))

    @staticmethod
    def _reader(prop: PropertyMeta, below: Selection | None, include: bool) -> Callable[[Any], Any]:
        validate = prop.adapter.validator.validate_python

        def whole(value: Any) -> Any:
            return validate(value, by_alias=True, by_name=False, extra="ignore")

        if not below:
            return whole
        info = prop.type
        if info.kind == "model" and info.model is not None:
            nested = _Plan(info.model, below, include, top=False)
            return lambda value: nested.build(value) if isinstance(value, Mapping) else whole(value)
        item = info.item
        if info.kind == "list" and item is not None and item.kind == "model" and item.model:
            each = _Plan(item.model, below, include, top=False)
            container = info.container or list

            def items(value: Any) -> Any:
                if not isinstance(value, list):
                    return whole(value)
                return container([None if v is None else each.build(v) for v in value])

            return items
        return whole  # a dict or ``Any`` value holds what the projection kept

    def build(self, doc: Mapping[str, Any]) -> Any:
        cls, meta = self.cls, self.meta
        if meta is None:
            return cls.model_validate(doc)
        values: dict[str, Any] = {}
        for name, stored, prop, read in self.rows:
            if stored in doc:
                value = doc[stored]
                values[name] = None if value is None else read(value)
                continue
            default = prop.rewritten.get_default(call_default_factory=True, validated_data={})
            if default is not PydanticUndefined:
                values[name] = default
        extra: dict[str, Any] | None = None
        if meta.strict is False:
            extra = {k: v for k, v in doc.items() if k not in meta.by_field and k != ID_FIELD}
        if self.plain:
            instance = _NEW(cls)
            _SET_DICT(instance, values)
            _SET_FIELDS(instance, set(values))
            _SET_EXTRA(instance, extra)
            _SET_PRIVATE(instance, None)
            return instance
        instance = cls.model_construct(_fields_set=set(values), **values)
        for name in cls.__pydantic_fields__:
            if name not in values:
                instance.__dict__.pop(name, None)
        if extra is not None:
            object.__setattr__(instance, "__pydantic_extra__", extra)
        return instance


# --- what a partial instance is -------------------------------------------------------

_EMBEDDING: dict[type, tuple[str, ...]] = {}


def _embedding(meta: ModelMeta) -> tuple[str, ...]:
    found = _EMBEDDING.get(meta.cls)
    if found is None:
        found = tuple(p.name for p in meta.properties.values() if p.type.models)
        _EMBEDDING[meta.cls] = found
    return found


def missing_properties(instance: BaseModel, prefix: str = "") -> list[str]:
    """The property paths a projection left out of ``instance`` (embedded models
    included); empty for a whole instance."""
    values = instance.__dict__
    fields = type(instance).__pydantic_fields__
    missing = [prefix + name for name in fields if name not in values]
    meta = meta_of(type(instance))
    if meta is None:
        return missing
    for name in _embedding(meta):
        value = values.get(name)
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, BaseModel):
                below = missing_properties(item, f"{prefix}{name}.")
                missing.extend(path for path in below if path not in missing)
    return missing


def is_partial(instance: BaseModel) -> bool:
    """True for an instance read with a projection that left properties out."""
    return bool(missing_properties(instance))


def _error(meta: ModelMeta, missing: list[str], what: str, path: str = "") -> ValidationError:
    shown = [name for name in missing if not _hidden(meta, name)]
    lacks = f" (it lacks {', '.join(shown)})" if shown else ""
    return ValidationError(
        meta.name,
        [
            ErrorDetail(
                path=path,
                code="partial-instance",
                message=f"{meta.name}{'.' + path if path else ''}: this instance was read "
                f"with fields{lacks}; {what}",
                value=None,
            )
        ],
    )


def _hidden(meta: ModelMeta, path: str) -> bool:
    return path_is_hidden(meta, path)


def refuse_partial(meta: ModelMeta, data: Any) -> None:
    """``ValidationError`` (``partial-instance``) when ``data`` is a partial instance:
    creating, saving or replacing it would erase (or never store) what it lacks."""
    if not isinstance(data, BaseModel):
        return
    missing = missing_properties(data)
    if missing:
        raise _error(
            meta,
            missing,
            "saving or replacing it would erase what the projection left out: "
            "use update(entity) to write the properties it holds, or read it whole",
        )


def update_data(meta: ModelMeta, entity: BaseModel) -> dict[str, Any]:
    """What ``update(entity)`` writes: the properties ``entity`` holds but its id (a
    partial instance's left-out ones never), and a ``strict=False`` model's extras. An
    embedded model read in part cannot be written whole: ``partial-instance``."""
    assert meta.id is not None
    id_name = meta.id.name
    data: dict[str, Any] = {}
    embedding = _embedding(meta)
    for name, value in entity.__dict__.items():
        if name == id_name or name not in meta.properties:
            continue
        if name in embedding:
            items = value if isinstance(value, list | tuple) else [value]
            for item in items:
                if isinstance(item, BaseModel) and missing_properties(item):
                    raise _error(
                        meta,
                        missing_properties(entity),
                        f"{name} was read in part and writing it would erase the rest: "
                        f"update it with update_by_id and a whole {name}",
                        name,
                    )
        data[name] = value
    if entity.__pydantic_extra__:
        data.update(entity.__pydantic_extra__)
    return data
