"""Partial updates: plain data and update operators in, one validated MongoDB update
document out (or ``odm.ValidationError`` listing every problem). Used by ``update_all``,
``update_by_id``, ``find_one_and_update`` and every upsert; nothing here does I/O.

Plain data (property -> value) becomes ``$set``. With ``allow_extended_operators=True``
the data may use :data:`UPDATE_OPERATORS` with property paths as keys; each value keeps
the property's type, so no accepted update stores a document odm then refuses to load:

* ``$set``/``$min``/``$max``: a value of the property's type (its keywords enforced);
* ``$inc``/``$mul``: a number the property's type keeps (an ``int`` takes ints only), on a
  numeric property with no enum or literal; ``$mul`` never by a factor that could pass a
  bound; an ``$inc`` of a property with ``minimum``/``maximum`` carries a guard (the
  condition its stored value must meet, added to the query by the repository) so it only
  changes documents it keeps within bounds (upserts refuse it);
* ``$currentDate``: on a date property, ``True`` or ``{"$type": "date"}``;
* ``$push``/``$addToSet``/``$pull``/``$pullAll``/``$pop``: on a list property, items of
  its item type (``$each`` wraps several), ``$pull`` also a condition (a where clause
  translated as a filter is), ``$pop`` 1 or -1; never past ``maxItems``/``minItems``;
* ``$unset``: not on a required property, nor one with neither a default nor ``None``.

A property named twice (plainly and under an operator, or under two operators, or a
path and its parent) is ``conflicting-update``; the id is immutable; the default scope's
values cannot be changed (``scope-conflict``); ``$rename``, ``$setOnInsert`` and every
other ``$`` key are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import ge, gt, le, lt
from typing import Any, Literal

import bson
import bson.errors
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .codec import encode_partial
from .errors import ErrorDetail, ODMError, ValidationError
from .metadata import ModelMeta, meta_of
from .rules import MAX_DATA_DEPTH, depth_exceeds
from .scoping import scope_conflicts, scope_values, value_at
from .update_operators import (
    ABSENT,
    BY_NAME,
    INVALID,
    increment_guard,
    operator_value,
    resolve_operator_path,
)
from .validation import (
    NO_ID,
    Problems,
    apply_strict,
    check_extras,
    check_id,
    check_names,
    check_size,
    locate_unstorable,
    raw_data,
    too_deep,
    validate_create_document,
    validate_replace_document,
)
from .versioning import (
    conflict,
    fixed_write_time,
    plan_stamps,
    refuse_version_check,
    refuses_operator_path,
    take_stamps,
)

__all__ = [
    "UPDATE_OPERATORS",
    "UpdatePlan",
    "translate_update",
    "upsert_document",
    "validate_input",
]

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
        "$pop",
        "$pullAll",
    ]
)


@dataclass
class UpdatePlan:
    """A validated partial update: ``values`` by property for ``$set``, the operators in
    MongoDB form (field paths, BSON values), and ``inserted``: the value each operator
    path gives a document an upsert inserts (property paths, Python values)."""

    values: dict[str, Any]
    operators: dict[str, dict[str, Any]] = field(default_factory=dict)
    inserted: dict[str, Any] = field(default_factory=dict)
    encoded_values: dict[str, Any] = field(default_factory=dict)
    #: field path -> the condition its stored value must meet for an ``$inc`` to keep the
    #: property's bounds; the repository adds it to the query, so a document whose value
    #: would leave them is not updated
    guards: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: what odm adds on every write (``odm.versioning``): ``$set`` of ``updated_at``,
    #: ``$inc`` of the version, by field path; and the write's time
    stamps: dict[str, dict[str, Any]] = field(default_factory=dict)
    stamped_at: datetime | None = None

    def guard(self, query: dict[str, Any]) -> dict[str, Any]:
        """``query`` restricted to the documents this update keeps within bounds."""
        if not self.guards:
            return query
        return {"$and": [query, *({path: cond} for path, cond in self.guards.items())]}

    def out_of_bounds(self, meta: ModelMeta, doc: Mapping[str, Any]) -> ODMError:
        """The error of a stored document (``doc``) that a guard left out: a
        ``ConflictError`` when it holds another version than the one the data carried."""
        details: list[ErrorDetail] = []
        for path, condition in self.guards.items():
            if "$eq" in condition:  # the version check (``odm.versioning``)
                if doc.get(path) != condition["$eq"]:
                    return conflict(meta, doc, condition["$eq"])
                continue
            value: Any = doc
            for part in path.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            for comparison, limit in condition.items():
                if isinstance(value, int | float) and _COMPARE[comparison](value, limit):
                    continue
                name = meta.property_path(path)
                keyword = _BOUND_OF[comparison]
                details.append(
                    ErrorDetail(
                        path=f"$inc.{name}",
                        code=keyword,
                        message=f"{meta.name}.$inc.{name}: the stored value would break "
                        f"the property's {keyword} rule",
                        value=None,
                    )
                )
        return ValidationError(meta.name, details)

    def document(self, meta: ModelMeta | None = None) -> dict[str, Any]:
        """The MongoDB update document."""
        update: dict[str, Any] = {op: dict(paths) for op, paths in self.operators.items()}
        if self.encoded_values:
            update.setdefault("$set", {}).update(self.encoded_values)
        for operator, paths in self.stamps.items():
            update.setdefault(operator, {}).update(paths)
        return update


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gte": ge,
    "$gt": gt,
    "$lte": le,
    "$lt": lt,
}
_BOUND_OF = {
    "$gte": "minimum",
    "$gt": "exclusiveMinimum",
    "$lte": "maximum",
    "$lt": "exclusiveMaximum",
}


def translate_update(
    cls: type[Any],
    data: Mapping[str, Any] | BaseModel,
    *,
    target_id: Any = NO_ID,
    scope_values: Mapping[str, Any] | None = None,
    allow_extended_operators: bool = False,
) -> UpdatePlan:
    """A partial update validated property by property (see the module's docstring)."""
    meta = meta_of(cls)
    if meta is None:
        raise TypeError(f"{cls.__name__} is not an odm model class")
    problems = Problems(meta)
    raw = raw_data(meta, data)
    if not raw:
        problems.add("", "presence", "an update needs at least one property", raw)
        problems.raise_if_any()
    if depth_exceeds(raw, MAX_DATA_DEPTH + 1):
        raise too_deep(meta, raw)
    scope = scope_values or {}
    plan = UpdatePlan({})
    named: list[tuple[str, str]] = []  # (where it was named, property path)
    if allow_extended_operators:
        for key in [k for k in raw if isinstance(k, str) and k.startswith("$")]:
            _operator(meta, key, raw.pop(key), plan, named, problems, scope)
    raw = check_names(raw, "", problems)
    apply_strict(meta, raw, problems)
    check_id(meta, raw, problems, mode="update", target_id=target_id)
    expected_version = take_stamps(meta, raw, problems.add, checked=target_id is not NO_ID)
    for name, value in raw.items():
        named.append(("data", name))
        prop = meta.properties.get(name)
        if prop is None:
            plan.values[name] = value
            continue
        try:
            plan.values[name] = prop.adapter.validate_python(value, **BY_NAME)
        except PydanticValidationError as error:
            problems.add_pydantic(error, prefix=name)
    check_extras(plan.values, "", problems)
    _conflicts(named, problems)
    if scope:
        for path, message, value in scope_conflicts(plan.values, scope):
            problems.add(path, "scope-conflict", message, value)
    if not plan.values and not plan.operators and not problems.details:
        problems.add("", "presence", "an update needs at least one property", dict(raw))
    problems.raise_if_any()
    plan.stamps, version_guard, plan.stamped_at = plan_stamps(meta, expected_version)
    plan.guards.update(version_guard)
    _check_document(meta, plan, problems)
    problems.raise_if_any()
    return plan


def _check_document(meta: ModelMeta, plan: UpdatePlan, problems: Problems) -> None:
    """The update document through the BSON encoder once: what MongoDB cannot store, and
    a document over the size limit, are refused before any I/O."""
    try:
        plan.encoded_values = encode_partial(meta, plan.values)
        size = len(bson.encode(plan.document()))
    except (bson.errors.BSONError, OverflowError, ValueError, ArithmeticError) as error:
        locate_unstorable(plan.values, "", problems, error)
        if not problems.details:  # in an operator's value
            problems.add("", "type", f"cannot be stored in MongoDB ({error})", None)
        return
    check_size(size, problems)


def _overlap(one: str, other: str) -> bool:
    return one == other or one.startswith(other + ".") or other.startswith(one + ".")


def _conflicts(named: list[tuple[str, str]], problems: Problems) -> None:
    reported: set[str] = set()
    for index, (source, path) in enumerate(named):
        for other_source, other in named[index + 1 :]:
            if _overlap(path, other) and path not in reported:
                reported.add(path)
                shown = "plainly" if source == "data" else f"under {source}"
                other_shown = "plainly" if other_source == "data" else f"under {other_source}"
                problems.add(
                    path if source == "data" else f"{source}.{path}",
                    "conflicting-update",
                    f"is updated twice ({shown} and, as {other!r}, {other_shown})",
                    None,
                )


def _operator(
    meta: ModelMeta,
    operator: str,
    argument: Any,
    plan: UpdatePlan,
    named: list[tuple[str, str]],
    problems: Problems,
    scope: Mapping[str, Any],
) -> None:
    if operator not in UPDATE_OPERATORS:
        problems.add(
            operator,
            "invalid-operator",
            f"update operator {operator!r} is not allowed; "
            f"allowed: {', '.join(sorted(UPDATE_OPERATORS))}",
            None,
        )
        return
    if not isinstance(argument, Mapping) or not argument:
        problems.add(operator, "type", "must be a non-empty mapping of property paths", argument)
        return
    out = plan.operators.setdefault(operator, {})
    for path, value in argument.items():
        where = f"{operator}.{path}"
        resolved = resolve_operator_path(meta, path, where, value, problems)
        if resolved is None:
            continue
        named.append((operator, path))
        prop = resolved.property
        if prop is not None and prop.is_id:
            problems.add(where, "immutable", "the id of a stored entity cannot change", value)
            continue
        if refuses_operator_path(meta, path, where, problems.add):
            continue
        converted, inserted = operator_value(meta, operator, path, resolved, value, where, problems)
        if converted is INVALID:
            continue
        if _scope_touched(operator, path, inserted, scope, where, problems):
            continue
        out[resolved.field_path] = converted
        if operator == "$inc" and (guard := increment_guard(prop, value)) is not None:
            plan.guards[resolved.field_path] = guard
        if inserted is not ABSENT:
            plan.inserted[path] = inserted
    if not out:
        del plan.operators[operator]


def _scope_touched(
    operator: str,
    path: str,
    inserted: Any,
    scope: Mapping[str, Any],
    where: str,
    problems: Problems,
) -> bool:
    """Report an operator that could move a document out of the scope: any operator on a
    scope path, its parent or below it, except ``$set`` keeping the scope's value."""
    for scope_path, expected in scope.items():
        if not _overlap(path, scope_path):
            continue
        if operator == "$set" and (scope_path == path or scope_path.startswith(path + ".")):
            rest = scope_path[len(path) + 1 :]
            actual = value_at(inserted, rest) if rest else inserted
            if actual == expected:
                continue
        problems.add(where, "scope-conflict", "is fixed by this repository's scope", None)
        return True
    return False


# --- upserts --------------------------------------------------------------------------


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        inner = data.get(part)
        if isinstance(inner, BaseModel):
            inner = {k: v for k, v in inner.__dict__.items() if k in inner.model_fields_set}
        elif not isinstance(inner, Mapping):
            inner = {}
        data[part] = dict(inner)
        data = data[part]
    data[parts[-1]] = value


def upsert_document(
    cls: type[Any],
    where: Mapping[str, Any] | None,
    data: Mapping[str, Any] | BaseModel,
    *,
    scope_values: Mapping[str, Any] | None = None,
    allow_extended_operators: bool = False,
    plan: UpdatePlan | None = None,
) -> dict[str, Any]:
    """The update document of an upsert: the validated update, plus ``$setOnInsert``
    with what creating the entity would store besides (defaults, generated values).

    The document an upsert inserts is validated as a create: the where's scalar
    equalities (which MongoDB copies into it), the update's values and what each operator
    gives a missing field; so ``required``, the keywords, forceId (a where or data
    choosing a generated id on a ``force_id`` model) and the scope hold for it.
    """
    meta = meta_of(cls)
    if meta is None:
        raise TypeError(f"{cls.__name__} is not an odm model class")
    if plan is None:
        plan = translate_update(
            cls,
            data,
            scope_values=scope_values,
            allow_extended_operators=allow_extended_operators,
        )
    refuse_version_check(meta, plan)
    if plan.guards:  # a document the guard leaves out would be inserted again instead
        raise ValidationError(
            meta.name,
            [
                {
                    "path": f"$inc.{meta.property_path(path)}",
                    "code": "invalid-operator",
                    "message": f"{meta.name}.$inc.{meta.property_path(path)}: an upsert "
                    "cannot increment a property with a minimum or maximum; set the value",
                    "value": None,
                }
                for path in plan.guards
            ],
        )
    created: dict[str, Any] = {}
    for path, value in scope_values_of(meta, where).items():
        _put(created, path, value)
    for name, value in plan.values.items():
        created[name] = value
    for path, value in plan.inserted.items():
        _put(created, path, value)
    try:
        with fixed_write_time(plan.stamped_at):  # created_at = the update's updated_at
            _, doc = validate_create_document(cls, created, scope_values=scope_values)
    except ValidationError as error:
        raise ValidationError(
            meta.name,
            [
                {**detail, "message": f"{detail['message']} (in the document an upsert inserts)"}
                for detail in error.details
            ],
        ) from None
    update = plan.document()
    touched = [path for paths in update.values() for path in paths]
    on_insert = {
        name: value
        for name, value in doc.items()
        if not any(_overlap(name, path) for path in touched)
    }
    if on_insert:
        update["$setOnInsert"] = on_insert
    return update


def scope_values_of(meta: ModelMeta, where: Mapping[str, Any] | None) -> dict[str, Any]:
    """The scalar equalities of a where clause by property path (what MongoDB copies into
    the document an upsert inserts)."""
    return scope_values(meta, {"where": where}, coerce=False) if where else {}


def validate_input(
    cls: type[Any],
    data: Mapping[str, Any] | BaseModel,
    *,
    mode: Literal["create", "replace", "update"] = "create",
    scope: Mapping[str, Any] | Literal["model"] | None = "model",
) -> dict[str, Any]:
    """The public check behind ``Model.validate_input``: cleaned data by property name."""
    meta = meta_of(cls)
    if meta is None:
        raise TypeError(f"{cls.__name__} is not an odm model class")
    if scope == "model":
        scope = meta.settings.scope
    values = scope_values(meta, scope) if scope else None
    if mode == "update":
        return translate_update(cls, data, scope_values=values).values
    if mode == "replace":
        instance = validate_replace_document(cls, data, scope_values=values)[0]
    elif mode == "create":
        instance = validate_create_document(cls, data, scope_values=values)[0]
    else:
        raise ValueError(f"mode must be 'create', 'replace' or 'update', not {mode!r}")
    cleaned = {name: instance.__dict__[name] for name in meta.properties}
    if instance.__pydantic_extra__:
        cleaned.update(instance.__pydantic_extra__)
    return cleaned
