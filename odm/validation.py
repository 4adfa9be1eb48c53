"""Write checks: data in, a validated instance (or a validated partial update) out, or
``odm.ValidationError`` listing every problem found. Nothing here does I/O.

Order of the checks for a write: names (``$``/dots at any depth), unknown properties
(by the model's strict mode), forceId, the default scope, then pydantic validation of
types, ``required``, ``nullable`` and the enforced JSON Schema keywords. All problems
are collected before raising.
"""

from __future__ import annotations

import decimal
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import bson
import bson.errors
from bson import Binary, Decimal128, ObjectId
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .codec import encode_any, encode_value
from .errors import ErrorDetail, ValidationError
from .metadata import ID_FIELD, ModelMeta, PropertyMeta, meta_of

__all__ = [
    "UPDATE_OPERATORS",
    "UpdatePlan",
    "validate_create",
    "validate_input",
    "validate_replace",
    "validate_update",
]

T = TypeVar("T", bound=BaseModel)
Mode = Literal["create", "replace", "update"]

#: The update operators accepted with ``allow_extended_operators=True``.
UPDATE_OPERATORS = frozenset(
    [
        "$set",
        "$inc",
        "$mul",
        "$min",
        "$max",
        "$unset",
        "$push",
        "$pull",
        "$addToSet",
        "$currentDate",
    ]
)
_NUMERIC_OPERATORS = frozenset(["$inc", "$mul"])
_ARRAY_OPERATORS = frozenset(["$push", "$addToSet", "$pull"])

_NO_ID = object()
_MIN_INT64 = -(2**63)
_MAX_INT64 = 2**63 - 1


class _Problems:
    """Collects the details of one write."""

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.details: list[ErrorDetail] = []

    def add(
        self, path: str, code: str, message: str, value: Any, *, verbatim: bool = False
    ) -> None:
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


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as JSON's "\ud800" gives
        return False
    return True


def _name_problem(key: Any) -> str | None:
    """Why ``key`` cannot be a stored name, or None when it can."""
    if not isinstance(key, str) or key.startswith("$") or "." in key:
        return "names may not start with '$' or contain '.'"
    if not key:
        return "names may not be empty"
    if "\x00" in key:
        return "names may not contain a NUL byte"
    if not _is_utf8(key):
        return "names must be valid UTF-8 text"
    return None


def _bad_name(key: Any) -> bool:
    return _name_problem(key) is not None


# Types whose values hold no names and need no walking.
_LEAVES: frozenset[type] = frozenset(
    [str, int, float, bool, type(None), datetime, date, uuid.UUID, ObjectId, decimal.Decimal]
)
_LEAVES |= {bytes, Decimal128, Binary}


def _has_bad_name(value: Any) -> bool:
    """Whether any key of ``value`` (at any depth) is refused; walks containers only."""
    pending = [value]
    while pending:
        current = pending.pop()
        kind = type(current)
        if kind is dict:
            for key, item in current.items():
                if (
                    key.__class__ is not str
                    or not key
                    or key[0] == "$"
                    or "." in key
                    or "\x00" in key
                    or not (key.isascii() or _is_utf8(key))
                ):
                    return True
                if type(item) not in _LEAVES:
                    pending.append(item)
        elif kind is list or kind is tuple:
            pending.extend(item for item in current if type(item) not in _LEAVES)
        elif isinstance(current, BaseModel):
            pending.append(current.__dict__)
            if current.__pydantic_extra__:
                pending.append(current.__pydantic_extra__)
        elif isinstance(current, Mapping):
            pending.append(dict(current))
        elif isinstance(current, set | frozenset):
            pending.append(list(current))
    return False


def check_names(value: Any, path: str, problems: _Problems) -> Any:
    """Refuse keys that start with ``$`` or contain ``.`` (or are empty, hold a NUL byte or
    are not valid UTF-8), at any depth of the data; returns the data without them (so each
    problem is reported once). Clean data (the usual case) is returned as it is after one
    walk over its containers."""
    if not _has_bad_name(value):
        return value
    return _clean_names(value, path, problems)


def _clean_names(value: Any, path: str, problems: _Problems) -> Any:
    """The slow path of :func:`check_names`: reports each refused key with its path and
    returns the data without them (so each problem is reported once)."""
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
            reason = _name_problem(key)
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


def check_storable(value: Any, path: str, problems: _Problems) -> None:
    """Report validated values BSON cannot hold, at any depth: integers beyond 64 bits,
    text that is not valid UTF-8, decimals beyond Decimal128's 34 digits. The BSON encoder
    (C) tries the value first; the walk in Python runs only to say where a problem is."""
    try:
        bson.encode({"value": encode_any(value)})
    except (bson.errors.BSONError, OverflowError, decimal.DecimalException, ValueError) as error:
        before = len(problems.details)
        _find_unstorable(value, path, problems)
        if len(problems.details) == before:  # a value of a type BSON does not know
            _locate_unencodable(value, path, problems, error)


def _locate_unencodable(value: Any, path: str, problems: _Problems, error: Exception) -> None:
    items: Any = ()
    if isinstance(value, BaseModel):
        items = value.__dict__.items()
    elif isinstance(value, Mapping):
        items = value.items()
    found = False
    for key, item in items:
        try:
            bson.encode({"value": encode_any(item)})
        except (
            bson.errors.BSONError,
            OverflowError,
            decimal.DecimalException,
            ValueError,
        ) as inner:
            where = f"{path}.{key}" if path else str(key)
            problems.add(where, "type", f"cannot be stored in MongoDB ({inner})", item)
            found = True
    if not found:
        problems.add(path, "type", f"cannot be stored in MongoDB ({error})", value)


def _find_unstorable(value: Any, path: str, problems: _Problems) -> None:
    """Report validated values BSON cannot hold, at any depth: integers beyond 64 bits,
    text that is not valid UTF-8, decimals beyond Decimal128's 34 digits."""
    if isinstance(value, str):
        if not _is_utf8(value):
            problems.add(path, "type", "is not valid UTF-8 text (a lone surrogate)", value)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not _MIN_INT64 <= value <= _MAX_INT64:
            problems.add(path, "type", "is beyond the 64-bit integers MongoDB stores", value)
    elif isinstance(value, decimal.Decimal):
        try:
            Decimal128(value)
        except decimal.DecimalException:
            problems.add(path, "type", "has more digits than Decimal128 stores (34)", value)
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


def _raw_data(meta: ModelMeta, data: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
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


def _unknown(meta: ModelMeta, raw: dict[str, Any], problems: _Problems) -> None:
    """Apply the strict mode to the top-level names of ``raw`` (in place)."""
    for key in list(raw):
        if key in meta.properties or _bad_name(key):
            continue
        if key == ID_FIELD and meta.id is not None:
            raw.setdefault(meta.id.name, raw.pop(key))
            continue
        if meta.strict is True:
            problems.add(key, "unknown-property", "is not a property of the model", raw[key])
        if meta.strict is not False:
            raw.pop(key)


def _same_id(given: Any, target: Any) -> bool:
    return given == target or str(given) == str(target)


def _check_id(
    meta: ModelMeta, raw: dict[str, Any], problems: _Problems, *, mode: Mode, target_id: Any
) -> None:
    prop = meta.id
    if prop is None or prop.name not in raw:
        return
    given = raw[prop.name]
    forced = prop.generated and meta.settings.force_id
    if mode == "replace" and target_id is _NO_ID:
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
    if target_id is not _NO_ID and given is not None and _same_id(given, target_id):
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


def _scope_conflicts(
    meta: ModelMeta, values: Mapping[str, Any], scope_values: Mapping[str, Any], problems: _Problems
) -> None:
    for name, expected in scope_values.items():
        if name in values and values[name] != expected:
            problems.add(
                name,
                "scope-conflict",
                f"must be {expected!r} in this repository's scope, not {values[name]!r}",
                values[name],
            )


def _scoped_values(
    meta: ModelMeta, raw: Mapping[str, Any], scope_values: Mapping[str, Any]
) -> dict[str, Any]:
    """The scoped properties' values of data that failed validation elsewhere, so a scope
    conflict is reported with the other problems."""
    values: dict[str, Any] = {}
    for name in scope_values:
        prop = meta.properties.get(name)
        if prop is None or name not in raw:
            continue
        try:
            values[name] = prop.adapter.validate_python(raw[name])
        except PydanticValidationError:
            continue  # already reported by the whole-instance validation
    return values


def _validate_whole(cls: type[T], raw: dict[str, Any], problems: _Problems) -> T | None:
    try:
        return cls.model_validate(raw, by_alias=False, by_name=True)
    except PydanticValidationError as error:
        problems.add_pydantic(error)
        return None


def _prepare(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    mode: Literal["create", "replace"],
    scope_values: Mapping[str, Any] | None,
    target_id: Any,
) -> T:
    meta = _meta(cls)
    problems = _Problems(meta)
    raw = check_names(_raw_data(meta, data), "", problems)
    _unknown(meta, raw, problems)
    _check_id(meta, raw, problems, mode=mode, target_id=target_id)
    id_prop = meta.id
    if mode == "replace" and target_id is not _NO_ID and id_prop and not id_prop.generated:
        # a caller-supplied id is required: replacing keeps the stored one
        raw.setdefault(id_prop.name, target_id)
    for name, value in (scope_values or {}).items():
        raw.setdefault(name, value)
    instance = _validate_whole(cls, raw, problems)
    if instance is not None:
        check_storable(instance, "", problems)
    if scope_values:
        values = (
            instance.__dict__ if instance is not None else _scoped_values(meta, raw, scope_values)
        )
        _scope_conflicts(meta, values, scope_values, problems)
    problems.raise_if_any()
    assert instance is not None
    return instance


def _meta(cls: type[Any]) -> ModelMeta:
    meta = meta_of(cls)
    if meta is None:
        raise TypeError(f"{cls.__name__} is not an odm model class")
    return meta


def validate_create(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    scope_values: Mapping[str, Any] | None = None,
) -> T:
    """Data for a new entity as a validated instance (defaults and generators applied)."""
    return _prepare(cls, data, mode="create", scope_values=scope_values, target_id=_NO_ID)


def validate_replace(
    cls: type[T],
    data: Mapping[str, Any] | BaseModel,
    *,
    target_id: Any = _NO_ID,
    scope_values: Mapping[str, Any] | None = None,
) -> T:
    """Data replacing a stored entity as a validated instance; missing properties get
    their defaults again."""
    return _prepare(cls, data, mode="replace", scope_values=scope_values, target_id=target_id)


@dataclass
class UpdatePlan:
    """A validated partial update: ``values`` by property for ``$set``, and the extended
    operators already in MongoDB form (field paths, BSON values)."""

    values: dict[str, Any]
    operators: dict[str, dict[str, Any]] = field(default_factory=dict)

    def document(self, meta: ModelMeta) -> dict[str, Any]:
        """The MongoDB update document."""
        from .codec import encode_partial

        update: dict[str, Any] = {op: dict(paths) for op, paths in self.operators.items()}
        if self.values:
            update.setdefault("$set", {}).update(encode_partial(meta, self.values))
        return update


def validate_update(
    cls: type[Any],
    data: Mapping[str, Any] | BaseModel,
    *,
    target_id: Any = _NO_ID,
    scope_values: Mapping[str, Any] | None = None,
    allow_extended_operators: bool = False,
) -> UpdatePlan:
    """A partial update validated property by property."""
    meta = _meta(cls)
    problems = _Problems(meta)
    raw = _raw_data(meta, data)
    if not raw:
        problems.add("", "presence", "an update needs at least one property", raw)
        problems.raise_if_any()
    operators: dict[str, dict[str, Any]] = {}
    if allow_extended_operators:
        for key in [k for k in raw if isinstance(k, str) and k.startswith("$")]:
            _operator(meta, key, raw.pop(key), operators, problems, scope_values or {})
    raw = check_names(raw, "", problems)
    _unknown(meta, raw, problems)
    _check_id(meta, raw, problems, mode="update", target_id=target_id)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        prop = meta.properties.get(name)
        if prop is None:
            values[name] = value
            continue
        try:
            values[name] = prop.adapter.validate_python(value)
        except PydanticValidationError as error:
            problems.add_pydantic(error, prefix=name)
    check_storable(values, "", problems)
    if scope_values:
        _scope_conflicts(meta, values, scope_values, problems)
    if not values and not operators and not problems.details:
        problems.add("", "presence", "an update needs at least one property", dict(raw))
    problems.raise_if_any()
    return UpdatePlan(values, operators)


def _operator(
    meta: ModelMeta,
    operator: str,
    argument: Any,
    operators: dict[str, dict[str, Any]],
    problems: _Problems,
    scope_values: Mapping[str, Any],
) -> None:
    if operator not in UPDATE_OPERATORS:
        problems.add(
            operator,
            "invalid-operator",
            f"update operator {operator!r} is not allowed; "
            f"allowed: {', '.join(sorted(UPDATE_OPERATORS))}",
            argument,
        )
        return
    if not isinstance(argument, Mapping) or not argument:
        problems.add(operator, "type", "must be a non-empty mapping of property paths", argument)
        return
    out = operators.setdefault(operator, {})
    for path, value in argument.items():
        where = f"{operator}.{path}"
        resolved = meta.resolve_path(path) if isinstance(path, str) else None
        if resolved is None or not isinstance(path, str) or path.startswith("$"):
            problems.add(
                where, "unknown-property", f"{path!r} is not a property path of the model", value
            )
            continue
        bad = [reason for segment in path.split(".") if (reason := _name_problem(segment))]
        if bad:
            # below a dict or Any every segment passes: "extra.$where", "extra..x"
            problems.add(where, "invalid-name", f"path {path!r} is not allowed ({bad[0]})", value)
            continue
        prop = resolved.property
        if prop is not None and prop.is_id:
            problems.add(where, "immutable", "the id of a stored entity cannot change", value)
            continue
        top = resolved.chain[0].name if resolved.chain else path
        if top in scope_values:
            problems.add(where, "scope-conflict", "is fixed by this repository's scope", value)
            continue
        converted = _operator_value(meta, operator, path, resolved, prop, value, where, problems)
        if converted is not _INVALID:
            check_storable(converted, where, problems)
            out[resolved.field_path] = converted


_INVALID = object()


def _operator_value(
    meta: ModelMeta,
    operator: str,
    path: str,
    resolved: Any,
    prop: PropertyMeta | None,
    value: Any,
    where: str,
    problems: _Problems,
) -> Any:
    info = resolved.type
    if operator == "$unset":
        if prop is not None and (prop.required or (not prop.has_default and not prop.nullable)):
            problems.add(where, "presence", "is required and cannot be removed", value)
            return _INVALID
        return ""
    if operator == "$currentDate":
        if value is True or value in ({"$type": "date"}, {"$type": "timestamp"}):
            return value
        problems.add(where, "type", "must be True or {'$type': 'date' | 'timestamp'}", value)
        return _INVALID
    if operator in _NUMERIC_OPERATORS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.add(where, "type", f"{operator} takes a number", value)
            return _INVALID
        if info.kind == "scalar" and info.python not in (int, float) and info.python is not None:
            problems.add(where, "type", f"{operator} needs a numeric property", value)
            return _INVALID
        return value
    if operator in _ARRAY_OPERATORS:
        is_condition = isinstance(value, Mapping) and not isinstance(value, BaseModel)
        if operator == "$pull" and is_condition and info.kind in ("list", "any"):
            return _pull_condition(meta, path, resolved, value, where, problems)
        if info.kind != "list" or info.item is None:
            if info.kind == "any":
                if is_condition and set(value) == {"$each"}:
                    return {"$each": check_names(value["$each"], f"{where}.$each", problems)}
                return check_names(value, where, problems)
            problems.add(where, "type", f"{operator} needs a list property", value)
            return _INVALID
        from pydantic import TypeAdapter

        item_info = info.item
        annotation = item_info.model or item_info.python or Any
        adapter = TypeAdapter(annotation)
        if isinstance(value, Mapping) and "$each" in value and operator != "$pull":
            items = value["$each"]
            if not isinstance(items, list | tuple):
                problems.add(where, "type", "$each takes a list", items)
                return _INVALID
            return {"$each": [_one(adapter, item_info, v, where, problems) for v in items]}
        return _one(adapter, item_info, value, where, problems)
    # $set, $min, $max: one value of the property's type.
    if prop is not None:
        try:
            return _storable_encoded(info, prop.adapter.validate_python(value), where, problems)
        except PydanticValidationError as error:
            problems.add_pydantic(error, prefix=where)
            return _INVALID
    return check_names(value, where, problems)


def _storable_encoded(info: Any, value: Any, where: str, problems: _Problems) -> Any:
    """The BSON form of a validated value, or _INVALID when BSON cannot hold it."""
    before = len(problems.details)
    check_storable(value, where, problems)
    return encode_value(info, value) if len(problems.details) == before else _INVALID


def _one(adapter: Any, info: Any, value: Any, where: str, problems: _Problems) -> Any:
    try:
        return _storable_encoded(info, adapter.validate_python(value), where, problems)
    except PydanticValidationError as error:
        problems.add_pydantic(error, prefix=where)
        return None


def _pull_condition(
    meta: ModelMeta,
    path: str,
    resolved: Any,
    condition: Mapping[str, Any],
    where: str,
    problems: _Problems,
) -> Any:
    """A ``$pull`` condition is a query on the array's items, translated as a filter is:
    a where clause on the items' model, else the operators of the property itself
    (names mapped, values coerced; server-side JavaScript refused)."""
    from .errors import InvalidFilterError
    from .filters import translate_where

    item = resolved.type.item
    try:
        if item is not None and item.kind == "model" and item.model is not None:
            item_meta = meta_of(item.model)
            assert item_meta is not None
            return translate_where(item_meta, condition, allow_extended_operators=True)
        query = translate_where(meta, {path: condition}, allow_extended_operators=True)
    except InvalidFilterError as error:
        problems.add(where, "invalid-condition", f"{error.reason} (at {error.path})", condition)
        return _INVALID
    if set(query) != {resolved.field_path}:
        problems.add(
            where, "invalid-condition", "conflicting operators in one condition", condition
        )
        return _INVALID
    return query[resolved.field_path]


def validate_input(
    cls: type[Any],
    data: Mapping[str, Any] | BaseModel,
    *,
    mode: Mode = "create",
    scope: Mapping[str, Any] | Literal["model"] | None = "model",
) -> dict[str, Any]:
    """The public check behind ``Model.validate_input``: cleaned data by property name."""
    meta = _meta(cls)
    if scope == "model":
        scope = meta.settings.scope
    from .filters import scope_defaults

    scope_values = scope_defaults(meta, scope) if scope else None
    if mode == "update":
        return validate_update(cls, data, scope_values=scope_values).values
    if mode == "replace":
        instance = validate_replace(cls, data, scope_values=scope_values)
    elif mode == "create":
        instance = validate_create(cls, data, scope_values=scope_values)
    else:
        raise ValueError(f"mode must be 'create', 'replace' or 'update', not {mode!r}")
    cleaned = {name: instance.__dict__[name] for name in meta.properties}
    if instance.__pydantic_extra__:
        cleaned.update(instance.__pydantic_extra__)
    return cleaned
