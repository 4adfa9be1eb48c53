"""Write checks: data in, a validated instance out, or ``odm.ValidationError`` listing
every problem found. Nothing here does I/O. Partial updates are :mod:`odm.updates`'.

Order of the checks for a write: nesting depth, names (``$``/dots at any depth), unknown
properties (by the model's strict mode), forceId, the default scope, then pydantic
validation of types, ``required``, ``nullable`` and the enforced JSON Schema keywords,
then what MongoDB can store (extras that collide with declared field names, 64-bit
integers, UTF-8, Decimal128, the 16 MiB document size). All problems are collected
before raising. The rules themselves are :mod:`odm.rules`'.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import bson
import bson.errors
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .codec import encode, encode_any
from .decoding import validator_of
from .encoded import EncodedDocument
from .errors import ErrorDetail, ValidationError
from .metadata import ID_FIELD, ModelMeta, meta_of
from .rules import (
    MAX_DATA_DEPTH,
    MAX_DOCUMENT_SIZE,
    depth_exceeds,
    is_bad_name,
    name_problem,
    value_problem,
)
from .scoping import apply_scope_defaults, scope_conflicts
from .types import LEAF_TYPES
from .versioning import stamp_whole, unmark

__all__ = [
    "NO_ID",
    "Problems",
    "check_extras",
    "check_names",
    "check_size",
    "check_storable",
    "too_deep",
    "validate_create",
    "validate_create_document",
    "validate_replace",
    "validate_replace_document",
]

T = TypeVar("T", bound=BaseModel)
Mode = Literal["create", "replace", "update"]

#: The ``target_id`` of a write that has none.
NO_ID: Any = object()
_ENCODE_ERRORS = (bson.errors.BSONError, OverflowError, decimal.DecimalException, ValueError)
# BSON bytes the server adds for a generated ``_id``: type, "_id\0", 12 bytes.
_GENERATED_ID_SIZE = 17
HIDDEN_VALUE = "<hidden>"


def _is_hidden_path(meta: ModelMeta, path: str) -> bool:
    """Whether a detail path (property names, list indexes, an operator first) ends in or
    passes through a hidden property."""
    current: ModelMeta | None = meta
    for part in path.split("."):
        if current is None:
            return False
        if part.startswith("$") or part.isdigit():
            continue
        prop = current.properties.get(part)
        if prop is None:
            return False
        if prop.hidden:
            return True
        models = prop.type.models
        current = meta_of(models[0]) if len(models) == 1 else None
    return False


def _embeds_models(meta: ModelMeta) -> bool:
    return bool(_embedded(meta.cls)[0])


class Problems:
    """Collects the details of one write. Values of hidden properties never reach a
    detail: the ``value`` is left out and the message does not quote it."""

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.details: list[ErrorDetail] = []

    def add(
        self, path: str, code: str, message: str, value: Any, *, verbatim: bool = False
    ) -> None:
        hidden = self.meta.hidden or _embeds_models(self.meta)
        if hidden and _is_hidden_path(self.meta, path):
            if value is not None:
                for shown in {repr(value), str(value)}:
                    message = message.replace(shown, HIDDEN_VALUE)
            value = None
        text = message if verbatim else f"{self.meta.name}.{path or '<root>'}: {message}"
        self.details.append({"path": path, "code": code, "message": text, "value": value})

    def add_pydantic(self, error: PydanticValidationError, prefix: str = "") -> None:
        for item in error.errors(include_url=False):
            path = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
            kind = item["type"]
            ctx = item.get("ctx") or {}
            if kind == "missing":
                self.add(path, "presence", "is required", None)
            elif kind == "extra_forbidden":
                self.add(path, "unknown-property", "is not a property of the model", item["input"])
            elif kind == "recursion_loop":
                self.add(path, "too-deep", f"nests deeper than {MAX_DATA_DEPTH} levels", None)
            elif "message" in ctx:
                self.add(
                    path,
                    kind,
                    str(ctx["message"]),
                    item["input"],
                    verbatim=bool(ctx.get("verbatim")),
                )
            else:
                self.add(path, "type", item["msg"], item["input"])

    def raise_if_any(self) -> None:
        if self.details:
            raise ValidationError(self.meta.name, self.details)


# Names already found good: the walk over clean data then checks a dict's keys in one C
# call, names repeating from item to item. Bounded, so data with ever new keys is still
# checked key by key; a key that is no exact str (a str subclass equal to a good name)
# never takes the shortcut.
_GOOD_NAMES: set[str] = set()
_GOOD_NAMES_MAX = 10_000
_STR_ONLY = frozenset([str])


def _has_bad_name(mapping: dict[Any, Any]) -> bool:
    if _GOOD_NAMES.issuperset(mapping) and _STR_ONLY.issuperset(map(type, mapping)):
        return False
    if any(map(is_bad_name, mapping)):
        return True
    if len(_GOOD_NAMES) < _GOOD_NAMES_MAX:
        _GOOD_NAMES.update(mapping)
    return False


def _scan(value: Any) -> tuple[bool, bool]:
    """(any key refused, nested beyond the data limit) for ``value``, in one walk over its
    containers only."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    push, pop = pending.append, pending.pop
    leaves = LEAF_TYPES
    # the shortcut of ``_has_bad_name``, inlined: the walk's per-mapping cost on clean data
    good, str_only = _GOOD_NAMES.issuperset, _STR_ONLY.issuperset
    bad = False
    while pending:
        current, depth = pop()
        kind = type(current)
        if kind is dict:
            if depth > MAX_DATA_DEPTH:
                return bad, True
            depth += 1
            if not bad and not (good(current) and str_only(map(type, current))):
                bad = _has_bad_name(current)
            for item in current.values():
                if type(item) not in leaves:
                    push((item, depth))
        elif kind is list or kind is tuple:
            if depth > MAX_DATA_DEPTH:
                return bad, True
            depth += 1
            for item in current:
                if type(item) not in leaves:
                    push((item, depth))
        elif isinstance(current, BaseModel):
            push((current.__dict__, depth))
            if current.__pydantic_extra__:
                push((current.__pydantic_extra__, depth))
        elif isinstance(current, Mapping):
            push((dict(current), depth))
        elif isinstance(current, set | frozenset):
            push((list(current), depth))
    return bad, False


def too_deep(meta: ModelMeta, value: Any, path: str = "") -> ValidationError:
    """The ``too-deep`` error of ``value``, naming its top-level key that nests too deep."""
    if isinstance(value, Mapping):
        path = next((str(k) for k, v in value.items() if depth_exceeds(v, MAX_DATA_DEPTH)), path)
    return _too_deep(meta, path)


def _too_deep(meta: ModelMeta, path: str) -> ValidationError:
    problems = Problems(meta)
    problems.add(path, "too-deep", f"nests deeper than {MAX_DATA_DEPTH} levels", None)
    return ValidationError(meta.name, problems.details)


def check_names(value: Any, path: str, problems: Problems) -> Any:
    """Refuse keys that start with ``$`` or contain ``.`` (or are empty, hold a NUL byte or
    are not valid UTF-8), at any depth of the data; returns the data without them (so each
    problem is reported once). Clean data (the usual case) is returned as it is after one
    walk over its containers. Data nested beyond the limit raises ``too-deep`` at once, so
    no later step recurses that deep."""
    bad, deep = _scan(value)
    if deep:
        raise too_deep(problems.meta, value, path)
    if not bad:
        return value
    return _clean_names(value, path, problems)


def _clean_names(value: Any, path: str, problems: Problems) -> Any:
    if isinstance(value, BaseModel):
        extra = value.__pydantic_extra__
        if extra:
            _clean_names(extra, path, problems)
        for name in type(value).model_fields:
            _clean_names(value.__dict__.get(name), f"{path}.{name}" if path else name, problems)
        return value
    if isinstance(value, Mapping):
        clean: dict[Any, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            reason = name_problem(key)
            if reason is not None:
                problems.add(where, "invalid-name", f"name {key!r} is not allowed ({reason})", item)
            else:
                clean[key] = _clean_names(item, where, problems)
        return clean
    if isinstance(value, list | tuple):
        return type(value)(
            _clean_names(item, f"{path}.{index}" if path else str(index), problems)
            for index, item in enumerate(value)
        )
    return value


def _embedded(cls: type[BaseModel]) -> tuple[tuple[str, ...], bool]:
    """The properties of ``cls`` that hold models, and whether any model reachable from
    ``cls`` is ``strict=False`` (only those keep extras); computed once per class."""
    meta = meta_of(cls)
    if meta is None:
        return (), False
    found = meta.plans.embedded
    if found is None:
        found = meta.plans.embedded = _find_embedded(meta)
    return found


def _find_embedded(meta: ModelMeta) -> tuple[tuple[str, ...], bool]:
    cls = meta.cls
    holding = tuple(p.name for p in meta.properties.values() if p.type.models)
    seen: set[type[BaseModel]] = {cls}
    pending = [meta]
    while pending:
        current = pending.pop()
        if current.strict is False:
            return holding, True
        for prop in current.properties.values():
            for nested in prop.type.models:
                nested_meta = meta_of(nested)
                if nested not in seen and nested_meta is not None:
                    seen.add(nested)
                    pending.append(nested_meta)
    return holding, False


def check_extras(value: Any, path: str, problems: Problems) -> None:
    """Refuse the extras of ``strict=False`` models (at any depth) that would be stored
    under a declared property's field name or as ``_id``: one name, one field."""
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:
        current, where = pending.pop()
        if isinstance(current, BaseModel):
            holding, loose = _embedded(type(current))
            if not loose:
                continue
            extra = current.__pydantic_extra__
            meta = meta_of(type(current))
            if meta is not None and extra:
                for key in extra:
                    if key in meta.by_field or key == ID_FIELD:
                        problems.add(
                            f"{where}.{key}" if where else key,
                            "invalid-name",
                            f"name {key!r} is the stored name of a declared property",
                            None,
                        )
            for name in holding:
                item = current.__dict__.get(name)
                if item is not None:
                    pending.append((item, f"{where}.{name}" if where else name))
        elif isinstance(current, list | tuple):
            pending.extend((item, _join(where, i)) for i, item in enumerate(current))
        elif isinstance(current, dict):
            pending.extend((item, _join(where, key)) for key, item in current.items())


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def check_storable(value: Any, path: str, problems: Problems) -> None:
    """Report validated values BSON cannot hold, at any depth: integers beyond 64 bits,
    text that is not valid UTF-8, decimals beyond Decimal128's 34 digits. The BSON encoder
    (C) tries the value first; the walk in Python runs only to say where a problem is."""
    try:
        bson.encode({"value": encode_any(value)})
    except _ENCODE_ERRORS as error:
        locate_unstorable(value, path, problems, error)


def locate_unstorable(value: Any, path: str, problems: Problems, error: Exception) -> None:
    """Say where in ``value`` the BSON encoder's ``error`` comes from."""
    before = len(problems.details)
    _find_unstorable(value, path, problems)
    if len(problems.details) == before:  # a value of a type BSON does not know
        _locate_unencodable(value, path, problems, error)


def _locate_unencodable(value: Any, path: str, problems: Problems, error: Exception) -> None:
    items: Any = ()
    if isinstance(value, BaseModel):
        items = value.__dict__.items()
    elif isinstance(value, Mapping):
        items = value.items()
    found = False
    for key, item in items:
        try:
            bson.encode({"value": encode_any(item)})
        except _ENCODE_ERRORS as inner:
            where = f"{path}.{key}" if path else str(key)
            problems.add(where, "type", f"cannot be stored in MongoDB ({inner})", item)
            found = True
    if not found:
        problems.add(path, "type", f"cannot be stored in MongoDB ({error})", value)


def _find_unstorable(value: Any, path: str, problems: Problems) -> None:
    problem = value_problem(value)
    if problem is not None:
        problems.add(path, "type", problem, value)
    elif isinstance(value, BaseModel):
        _find_unstorable(value.__dict__, path, problems)
        if value.__pydantic_extra__:
            _find_unstorable(value.__pydantic_extra__, path, problems)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _find_unstorable(item, f"{path}.{key}" if path else str(key), problems)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _find_unstorable(item, f"{path}.{index}" if path else str(index), problems)


def check_size(size: int, problems: Problems, path: str = "") -> None:
    """Refuse a document of ``size`` BSON bytes that MongoDB would refuse."""
    if size > MAX_DOCUMENT_SIZE:
        problems.add(
            path,
            "document-too-large",
            f"the document is {size} bytes of BSON; MongoDB stores at most "
            f"{MAX_DOCUMENT_SIZE} (16 MiB)",
            None,
        )


def raw_data(meta: ModelMeta, data: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    """Write data as a dict by property name (an instance's set values and extras)."""
    if isinstance(data, BaseModel):
        raw = {
            name: data.__dict__[name] for name in type(data).model_fields if name in data.__dict__
        }
        if data.__pydantic_extra__:
            raw.update(data.__pydantic_extra__)
        if meta.id is not None and meta.id.generated and raw.get(meta.id.name) is None:
            raw.pop(meta.id.name, None)
        return raw
    if not isinstance(data, Mapping):
        raise ValidationError(
            meta.name,
            [
                {
                    "path": "",
                    "code": "type",
                    "message": f"{meta.name}: data must be a mapping or a {meta.name} instance, "
                    f"not {type(data).__name__}",
                    "value": data,
                }
            ],
        )
    return dict(data)


NAVIGATIONAL_MESSAGE = (
    "is a navigational property (a relation), never stored; write the related entities "
    "through their repository (repo.related(entity, name))"
)


def apply_strict(meta: ModelMeta, raw: dict[str, Any], problems: Problems) -> None:
    """Apply the strict mode to the top-level names of ``raw`` (in place); a
    ``strict=False`` extra named like a declared property's field is refused."""
    for key in list(raw):
        if key in meta.properties or is_bad_name(key):
            continue
        if key in meta.relations:
            if raw.pop(key) is not None:  # None: not set
                problems.add(key, "navigational-property", NAVIGATIONAL_MESSAGE, None)
            continue
        if key == ID_FIELD and meta.id is not None:
            raw.setdefault(meta.id.name, raw.pop(key))
            continue
        if meta.strict is True:
            problems.add(key, "unknown-property", "is not a property of the model", raw[key])
        elif meta.strict is False and key in meta.by_field:
            problems.add(
                key,
                "invalid-name",
                f"name {key!r} is the stored name of a declared property",
                raw[key],
            )
        if meta.strict is not False or key in meta.by_field:
            raw.pop(key)


def _same_id(given: Any, target: Any) -> bool:
    return given == target or str(given) == str(target)


def check_id(
    meta: ModelMeta, raw: dict[str, Any], problems: Problems, *, mode: Mode, target_id: Any
) -> None:
    """forceId: a generated id may not be chosen by the caller; a stored id never changes."""
    prop = meta.id
    if prop is None or prop.name not in raw:
        return
    given = raw[prop.name]
    forced = prop.generated and meta.settings.force_id
    if mode == "replace" and target_id is NO_ID:
        return  # no stored id to compare with: the data's id is the target
    if mode == "create":
        if forced and given is not None:
            problems.add(
                prop.name,
                "absence",
                "is generated by the database and may not be given (force_id)",
                given,
            )
        return
    if target_id is not NO_ID and given is not None and _same_id(given, target_id):
        if mode == "update":
            raw.pop(prop.name)
        return
    if given is None and mode == "replace":
        raw.pop(prop.name)
        return
    if forced:
        problems.add(prop.name, "absence", "the id may not be given (force_id)", given)
    else:
        problems.add(prop.name, "immutable", "the id of a stored entity cannot change", given)
    raw.pop(prop.name)


# --- whole documents ------------------------------------------------------------------


def _validate_whole(cls: type[T], raw: dict[str, Any], problems: Problems) -> T | None:
    try:
        validated: T = validator_of(cls)(raw, by_alias=False, by_name=True)
        return validated
    except PydanticValidationError as error:
        problems.add_pydantic(error)
        return None


def _scoped_values(meta: ModelMeta, raw: Mapping[str, Any], scope: Mapping[str, Any]) -> Any:
    """The scoped properties' values of data that failed validation elsewhere, so a scope
    conflict is reported with the other problems."""
    values: dict[str, Any] = {}
    for name in {path.split(".", 1)[0] for path in scope}:
        prop = meta.properties.get(name)
        if prop is None or name not in raw:
            continue
        try:
            values[name] = prop.adapter.validate_python(raw[name])
        except PydanticValidationError:
            continue  # already reported by the whole-instance validation
    return values


def _prepare(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    mode: Literal["create", "replace"],
    scope: Mapping[str, Any] | None,
    target_id: Any,
) -> tuple[T, dict[str, Any]]:
    meta = _meta(cls)
    problems = Problems(meta)
    raw = check_names(raw_data(meta, data), "", problems)
    apply_strict(meta, raw, problems)
    check_id(meta, raw, problems, mode=mode, target_id=target_id)
    stamped = stamp_whole(meta, data, raw, problems.add, mode=mode)
    id_prop = meta.id
    if mode == "replace" and target_id is not NO_ID and id_prop and not id_prop.generated:
        # a caller-supplied id is required: replacing keeps the stored one
        raw.setdefault(id_prop.name, target_id)
    if scope:
        apply_scope_defaults(raw, scope)
    instance = _validate_whole(cls, raw, problems)
    doc: dict[str, Any] = {}
    if instance is not None and stamped:
        unmark(meta, instance)
    if instance is not None:
        check_extras(instance, "", problems)
        doc = _encoded(instance, problems)
    if scope:
        values = instance if instance is not None else _scoped_values(meta, raw, scope)
        for path, message, value in scope_conflicts(values, scope):
            problems.add(path, "scope-conflict", message, value)
    problems.raise_if_any()
    assert instance is not None
    return instance, doc


def _encoded(instance: BaseModel, problems: Problems) -> dict[str, Any]:
    """The document of ``instance`` as it will be sent, checked once by the BSON encoder
    for what MongoDB can store and for its size."""
    try:
        doc = encode(instance)
        data = bson.encode(doc)
    except _ENCODE_ERRORS as error:
        locate_unstorable(instance, "", problems, error)
        return {}
    size = len(data)
    meta = meta_of(type(instance))
    if meta is not None and meta.id is not None and ID_FIELD not in doc:
        size += _GENERATED_ID_SIZE
    check_size(size, problems)
    return EncodedDocument(doc, data)  # sent as these bytes: odm.encoded


def _meta(cls: type[Any]) -> ModelMeta:
    meta = meta_of(cls)
    if meta is None:
        raise TypeError(f"{cls.__name__} is not an odm model class")
    return meta


def validate_create_document(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    scope_values: Mapping[str, Any] | None = None,
) -> tuple[T, dict[str, Any]]:
    """Data for a new entity as a validated instance (defaults and generators applied)
    and the document to insert, already checked for size and storability."""
    return _prepare(cls, data, mode="create", scope=scope_values, target_id=NO_ID)


def validate_create(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    scope_values: Mapping[str, Any] | None = None,
) -> T:
    """Data for a new entity as a validated instance (defaults and generators applied)."""
    return validate_create_document(cls, data, scope_values=scope_values)[0]


def validate_replace_document(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    target_id: Any = NO_ID,
    scope_values: Mapping[str, Any] | None = None,
) -> tuple[T, dict[str, Any]]:
    """Data replacing a stored entity as a validated instance (missing properties get
    their defaults again) and its document."""
    return _prepare(cls, data, mode="replace", scope=scope_values, target_id=target_id)


def validate_replace(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    target_id: Any = NO_ID,
    scope_values: Mapping[str, Any] | None = None,
) -> T:
    """Data replacing a stored entity as a validated instance; missing properties get
    their defaults again."""
    return validate_replace_document(cls, data, target_id=target_id, scope_values=scope_values)[0]
