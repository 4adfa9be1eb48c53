"""Filter values and property paths: what a path names, and a value coerced to its type.

A property path resolves once per model to a :class:`_Target` (field path, type, the
coercers of a whole value and of one list element); values are coerced with the
property's own pydantic annotation and encoded with the codec's converter, and nothing
BSON cannot hold passes (the limits are :mod:`odm.rules`'). Shared by where, order,
fields and scope translation, and by id coercion (:mod:`odm.ids`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ..codec import encoder_for
from ..errors import InvalidFilterError
from ..hidden import path_holds_hidden, path_is_hidden
from ..metadata import ID_FIELD, ModelMeta, PropertyMeta, meta_of
from ..rules import is_utf8, value_problem
from ..types import TypeInfo, bson_annotation

_SEQUENCES = (list, tuple)
_TARGET_CACHE_SIZE = 2048
_TRUE_WORDS = {"true": True, "1": True, "false": False, "0": False}


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:  # deep values are refused first; never crash on showing one
        return "a deeply nested value"
    return text if len(text) <= 80 else text[:77] + "..."


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _check_text(text: str, path: str, what: str) -> None:
    if not is_utf8(text):
        raise InvalidFilterError(
            path, f"{what} {_show(text)} is not valid UTF-8 (a lone surrogate)"
        )


def _check_name(name: Any, path: str) -> None:
    """Refuse a field name MongoDB cannot hold: not text, a NUL byte, not valid UTF-8."""
    if not isinstance(name, str):
        raise InvalidFilterError(path, f"field names are strings, not {_show(name)}")
    if "\x00" in name:
        raise InvalidFilterError(path, f"the name {_show(name)} contains a NUL byte")
    _check_text(name, path, "the name")


def _check_path(name: str, path: str) -> None:
    """Refuse a property path that cannot name a field: what ``_check_name`` refuses, and
    an empty segment (``a..b``, which the server refuses in a sort)."""
    _check_name(name, path)
    if "" in name.split("."):
        raise InvalidFilterError(path, f"{_show(name)} has an empty segment")


def _storable(value: Any, path: str) -> Any:
    """``value`` when BSON can hold it: integers within 64 bits, valid UTF-8 text and
    names, no Python sets, at any depth; else ``InvalidFilterError``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = _join(path, key)
            _check_name(key, here)
            _storable(item, here)
    elif isinstance(value, _SEQUENCES):
        for index, item in enumerate(value):
            _storable(item, _join(path, index))
    elif isinstance(value, (set, frozenset)):
        raise InvalidFilterError(
            path, f"a set cannot be sent to MongoDB, use a list: {_show(value)}"
        )
    else:
        problem = value_problem(value)
        if problem is not None:
            raise InvalidFilterError(path, f"{_show(value)} {problem}")
    return value


# --- values -------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _adapter_for(info: TypeInfo) -> TypeAdapter[Any] | None:
    """A type-only validator for a value of ``info`` (None: the value is kept as given)."""
    annotation = _annotation_of(info)
    return None if annotation is Any else TypeAdapter(annotation)


def _annotation_of(info: TypeInfo) -> Any:
    if info.kind == "scalar" and info.literals:
        return Literal.__getitem__(info.literals)
    if info.kind == "scalar" and info.python is not None:
        return bson_annotation(info.python)
    if info.kind == "model" and info.model is not None:
        return info.model
    if info.kind == "list" and info.item is not None:
        return list[_annotation_of(info.item)]  # type: ignore[misc]
    if info.kind == "dict" and info.item is not None:
        return dict[str, _annotation_of(info.item)]  # type: ignore[misc]
    return Any


def _type_name(info: TypeInfo) -> str:
    if info.kind == "scalar":
        if info.literals:
            return "one of " + ", ".join(repr(v) for v in info.literals)
        return info.python.__name__ if info.python is not None else "a value"
    if info.kind == "model" and info.model is not None:
        return info.model.__name__
    if info.kind == "list":
        return f"list of {_type_name(info.item)}" if info.item is not None else "list"
    if info.kind == "dict":
        return "object"
    if info.kind == "union":
        return " | ".join(_type_name(option) for option in info.options)
    return "any value"


def _object_id(value: Any) -> ObjectId:
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and len(value) == 24:
        try:
            return ObjectId(value)  # parsed once (``ObjectId.is_valid`` parses it too)
        except InvalidId:
            pass
    raise ValueError("expected an ObjectId or a 24-character hex string")


@dataclass(frozen=True, slots=True)
class _Coercer:
    """Validates a filter value for one type and encodes it to BSON (``encode`` is the
    codec's converter of that type, None when BSON keeps the value)."""

    info: TypeInfo
    validate: Callable[[Any], Any] | None
    encode: Callable[[Any], Any] | None

    def __call__(self, value: Any, path: str, label: str) -> Any:
        if self.validate is not None:
            try:
                value = self.validate(value)
            except PydanticValidationError as error:
                reason = error.errors()[0]["msg"] if error.errors() else str(error)
                raise InvalidFilterError(
                    path,
                    f"{label}: {_show(value)} is not a valid {_type_name(self.info)} ({reason})",
                ) from None
            except ValueError as error:
                raise InvalidFilterError(
                    path, f"{label}: {_show(value)} is not a valid id ({error})"
                ) from None
        if self.encode is None or value is None:
            return value
        try:
            return self.encode(value)
        except (ArithmeticError, ValueError) as error:  # Decimal128 refuses 35+ digits
            raise InvalidFilterError(
                path, f"{label}: {_show(value)} cannot be stored in MongoDB ({error!r})"
            ) from None


def _coercer(info: TypeInfo) -> _Coercer:
    adapter = _adapter_for(info)
    validate = adapter.validate_python if adapter is not None else None
    return _Coercer(info, validate, encoder_for(info))


def _property_coercer(prop: PropertyMeta) -> _Coercer:
    if prop.is_id and prop.generated and prop.type.python is str:
        # A generated id typed str is the hex text of the ObjectId stored in _id.
        return _Coercer(prop.type, _object_id, None)
    annotation = prop.rewritten.annotation
    if annotation is None:
        return _coercer(prop.type)
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    return _Coercer(prop.type, adapter.validate_python, encoder_for(prop.type))


@dataclass(frozen=True, slots=True)
class _Target:
    """A property path resolved once for filters: field path, type, coercers, and what
    it reveals (``hidden``: the path names a hidden field; ``holds_hidden``: a whole
    value of it holds one, see :mod:`odm.hidden`)."""

    field: str
    type: TypeInfo
    label: str
    hidden: bool
    holds_hidden: bool
    whole: _Coercer
    element: _Coercer | None  # one item of a list-typed target
    item_meta: ModelMeta | None  # the model of the target's documents ($elemMatch)

    def coerce(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if self.element is not None and not isinstance(value, (*_SEQUENCES, set, frozenset)):
            # MongoDB compares a scalar with each element of an array.
            return self.element(value, path, self.label)
        return self.whole(value, path, self.label)

    def item_target(self) -> _Target:
        item = self.type.item if self.type.kind == "list" and self.type.item else self.type
        element = self.element or self.whole
        return _Target(
            self.field, item, self.label, self.hidden, self.holds_hidden, element, None, None
        )

    @property
    def holds_documents(self) -> bool:
        info = self.type.item if self.type.kind == "list" and self.type.item else self.type
        return info.kind in ("model", "dict", "any", "union")


def _make_target(meta: ModelMeta, path: str) -> _Target | None:
    first, dot, rest = path.partition(".")
    if first == "id" and meta.id is not None and "id" not in meta.properties:
        path = meta.id.name + dot + rest
    info = meta.resolve_path(path)
    if info is None:
        return None
    label = f"{meta.name}.{path}"
    whole = _property_coercer(info.property) if info.property is not None else _coercer(info.type)
    element = None
    item_meta = None
    if info.type.kind == "list" and info.type.item is not None:
        element = _coercer(info.type.item)
        if info.type.item.kind == "model" and info.type.item.model is not None:
            item_meta = meta_of(info.type.item.model)
    elif info.type.kind == "model" and info.type.model is not None:
        item_meta = meta_of(info.type.model)
    hidden, holds = path_is_hidden(meta, path), path_holds_hidden(meta, path)
    return _Target(info.field_path, info.type, label, hidden, holds, whole, element, item_meta)


def _target(meta: ModelMeta, path: str) -> _Target | None:
    cache: dict[str, _Target] = meta.plans.targets
    found = cache.get(path)
    if found is None:
        found = _make_target(meta, path)
        if found is not None and len(cache) < _TARGET_CACHE_SIZE:
            cache[path] = found
    return found


def _passthrough_target(meta: ModelMeta, path: str) -> _Target:
    """An undeclared path of a ``strict=False`` model, sent as given."""
    anything = TypeInfo("any", True)
    hidden, holds = path_is_hidden(meta, path), path_holds_hidden(meta, path)
    label = f"{meta.name}.{path}"
    return _Target(path, anything, label, hidden, holds, _coercer(anything), None, None)


def _refuse_field_name(meta: ModelMeta, path: str, where: str) -> None:
    """``InvalidFilterError`` at ``where`` when :func:`_field_name_collision` holds, or
    when ``path`` names a navigational property (a relation is never stored)."""
    if path.partition(".")[0] in meta.relations:
        raise InvalidFilterError(
            where, f"{path!r} is a navigational property (a relation), never stored or queried"
        )
    if _field_name_collision(meta, path):
        raise InvalidFilterError(
            where,
            f"{path!r} is the stored name of a declared property (or _id), not a "
            "property name: use the property's name",
        )


def _field_name_collision(meta: ModelMeta, path: str) -> bool:
    """Whether a segment of ``path`` is a declared property's stored field name that is
    not also a property name, or ``_id``, where the path is sent as given (at or below a
    ``strict=False`` model, at any depth): such a name would reach a declared field past
    its property (and its rules)."""
    current: ModelMeta | None = meta
    info: TypeInfo | None = None
    loose = False
    for part in path.split("."):
        if current is None:
            if info is None:
                return False
            info = _below(info, part)
            current = _model_meta(info)
            continue
        loose = loose or current.strict is False
        prop = current.properties.get(part)
        if prop is None:
            if part.isdigit() and info is not None and info.kind == "list":
                continue  # an index into a list of documents
            if part != "id" or current.id is None:
                return loose and (part == ID_FIELD or part in current.by_field)
            prop = current.id
        info = prop.type
        current = _model_meta(info)
    return False


def _below(info: TypeInfo | None, part: str) -> TypeInfo | None:
    while info is not None and info.kind == "list":
        if part.isdigit():
            return info.item
        info = info.item
    if info is not None and info.kind == "dict":
        return info.item
    return None


def _model_meta(info: TypeInfo | None) -> ModelMeta | None:
    while info is not None and info.kind == "list":
        info = info.item
    if info is not None and info.kind == "model" and info.model is not None:
        return meta_of(info.model)
    return None
