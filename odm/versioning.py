"""Timestamps and optimistic concurrency on every write (``@model(timestamps=...,
version=...)``; the properties themselves are declared by :mod:`odm.stamps`).

Where the values are set, so that ``before save`` hooks (whose changes are validated
again through the same steps) can neither skip nor forge them:

* whole-instance writes (create, create_all, save, replace, the insert of an upsert):
  in validation (:func:`stamp_whole`), after the caller's values for them are refused
  (code ``absence``): a create gets ``created_at`` = ``updated_at`` = the write's time
  and version 1; a replace gets ``updated_at`` and keeps the stored ``created_at``, and
  its version is checked and incremented in the query (:func:`replace_checked`);
* partial and bulk writes (update_by_id, update_all, find_one_and_update, the update
  of an upsert): in the update translator (:func:`take_stamps`, :func:`plan_stamps`):
  ``$set`` of ``updated_at`` and ``$inc`` of the version; an upsert's insert gets
  ``created_at`` through ``$setOnInsert`` at the same time.

A write's time is UTC at millisecond precision (what BSON keeps), so the entity a
write returns carries the values stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bson.binary import UUID_SUBTYPE, Binary
from pydantic import BaseModel

from .drivers import Collection, Document, Session
from .errors import ConflictError, ErrorDetail, ValidationError
from .metadata import ID_FIELD, ModelMeta, PropertyMeta
from .properties import now_utc_ms
from .stamps import stamp_names

__all__ = [
    "Stamps",
    "conflict",
    "copy_stamps",
    "fixed_write_time",
    "insertable",
    "plan_stamps",
    "refuse_version_check",
    "refuses_operator_path",
    "replace_checked",
    "replace_or_insert",
    "stamp_whole",
    "stamps_of",
    "take_stamps",
    "unmark",
    "update_stamped",
    "upsert_changes",
    "without_stamps",
    "write_time",
]

#: ``Problems.add`` of validation: (path, code, message, value)
Add = Callable[[str, str, str, Any], None]
_GIVEN = "is set by odm on every write (timestamps/version) and may not be given"
_REPLACE_ATTEMPTS = 3
_write_time: ContextVar[datetime | None] = ContextVar("odm_write_time", default=None)


@dataclass(frozen=True)
class Stamps:
    """The timestamp and version properties of one model (None: not maintained)."""

    created: PropertyMeta | None = None
    updated: PropertyMeta | None = None
    version: PropertyMeta | None = None

    @property
    def active(self) -> bool:
        return bool(self.created or self.updated or self.version)

    @property
    def timestamps(self) -> tuple[PropertyMeta, ...]:
        return tuple(p for p in (self.created, self.updated) if p is not None)

    @property
    def all(self) -> tuple[PropertyMeta, ...]:
        return tuple(p for p in (self.created, self.updated, self.version) if p is not None)


_NONE = Stamps()


def stamps_of(meta: ModelMeta) -> Stamps:
    """The model's :class:`Stamps`, compiled once (a ``Plans`` slot)."""
    found = meta.plans.stamps
    if found is None:
        settings = meta.settings
        if not (settings.timestamps or settings.version):
            found = _NONE
        else:
            names = stamp_names(meta.name, settings.timestamps, settings.version, entity=True)
            props = meta.properties
            found = Stamps(
                props.get(names.created or ""),
                props.get(names.updated or ""),
                props.get(names.version or ""),
            )
        meta.plans.stamps = found
    assert isinstance(found, Stamps)
    return found


def write_time() -> datetime:
    """The time of the current write: UTC, milliseconds."""
    fixed = _write_time.get()
    return fixed if fixed is not None else now_utc_ms()


@contextmanager
def fixed_write_time(at: datetime | None = None) -> Iterator[datetime]:
    """Every stamp made inside gets the same time (``at``, or now)."""
    moment = at if at is not None else now_utc_ms()
    token = _write_time.set(moment)
    try:
        yield moment
    finally:
        _write_time.reset(token)


def _given(data: Mapping[str, Any] | BaseModel, raw: Mapping[str, Any], name: str) -> Any:
    """The caller's value of a maintained property: an instance's only when it was set
    on it (not one odm stamped)."""
    if isinstance(data, BaseModel) and name not in data.model_fields_set:
        return None
    return raw.get(name)


def stamp_whole(
    meta: ModelMeta,
    data: Mapping[str, Any] | BaseModel,
    raw: dict[str, Any],
    add: Add,
    *,
    mode: Literal["create", "replace"],
) -> bool:
    """Stamp the data of a whole-instance write (``raw``, by property name) in place;
    False when the model maintains nothing. A create refuses the caller's values; a
    replace's ``created_at`` and version stay as given (conditions of the replace)."""
    stamps = stamps_of(meta)
    if not stamps.active:
        return False
    now = write_time()
    if mode == "create":
        for prop in stamps.all:
            given = _given(data, raw, prop.name)
            if given is not None:
                add(prop.name, "absence", _GIVEN, given)
        for prop in stamps.timestamps:
            raw[prop.name] = now
        if stamps.version is not None:
            raw[stamps.version.name] = 1
    elif stamps.updated is not None:
        raw[stamps.updated.name] = now
    return True


def unmark(meta: ModelMeta, instance: BaseModel) -> None:
    """The stamped values of a validated instance count as odm's, not as set by a
    caller (so validating the instance again, after a hook, accepts them)."""
    instance.__pydantic_fields_set__.difference_update(p.name for p in stamps_of(meta).all)


def take_stamps(meta: ModelMeta, raw: dict[str, Any], add: Add, *, checked: bool) -> int | None:
    """Remove the maintained properties from partial-update data (in place): the
    timestamps are refused, the version is the expected one when the write targets one
    entity (``checked``) and refused otherwise. Returns the expected version."""
    stamps = stamps_of(meta)
    if not stamps.active:
        return None
    for prop in stamps.timestamps:
        if prop.name in raw:
            add(prop.name, "absence", _GIVEN, raw.pop(prop.name))
    version = stamps.version
    if version is None or version.name not in raw:
        return None
    value = raw.pop(version.name)
    if not checked:
        add(
            version.name,
            "absence",
            "is incremented by odm; only update_by_id, update(entity), save and "
            "replace_by_id take it, to check it",
            value,
        )
    elif value is not None and (type(value) is not int or value < 1):
        add(version.name, "type", "is the version the entity was read with, an int >= 1", value)
    else:
        return value
    return None


def refuses_operator_path(meta: ModelMeta, path: str, where: str, add: Add) -> bool:
    """An update operator naming a maintained property (or a path below one) is refused."""
    stamps = stamps_of(meta)
    if stamps.active and path.split(".", 1)[0] in {p.name for p in stamps.all}:
        add(where, "absence", _GIVEN, None)
        return True
    return False


def plan_stamps(
    meta: ModelMeta, expected: int | None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], datetime | None]:
    """What a partial update adds: (operators by field path, the version's guard, the
    write's time)."""
    stamps = stamps_of(meta)
    if not stamps.active:
        return {}, {}, None
    now = write_time()
    operators: dict[str, dict[str, Any]] = {}
    guards: dict[str, dict[str, Any]] = {}
    if stamps.updated is not None:
        operators["$set"] = {stamps.updated.field_name: now}
    if stamps.version is not None:
        operators["$inc"] = {stamps.version.field_name: 1}
        if expected is not None:
            guards[stamps.version.field_name] = {"$eq": expected}
    return operators, guards, now


def conflict(meta: ModelMeta, doc: Mapping[str, Any], expected: Any) -> ConflictError:
    """The conflict of a stored document ``doc`` with the ``expected`` version."""
    version = stamps_of(meta).version
    assert version is not None and meta.id is not None
    stored_id = doc.get(ID_FIELD)
    shown = str(stored_id) if meta.id.type.python is str and stored_id is not None else stored_id
    if isinstance(stored_id, Binary) and stored_id.subtype == UUID_SUBTYPE:
        shown = stored_id.as_uuid()
    return ConflictError(meta.name, shown, expected, doc.get(version.field_name))


def without_stamps(
    meta: ModelMeta, data: dict[str, Any], *, keep_version: bool = True
) -> dict[str, Any]:
    """``data`` (by property name) without the values odm maintains."""
    stamps = stamps_of(meta)
    if not stamps.active:
        return data
    dropped = {p.name for p in (stamps.timestamps if keep_version else stamps.all)}
    return {name: value for name, value in data.items() if name not in dropped}


def copy_stamps(meta: ModelMeta, source: BaseModel, target: BaseModel) -> None:
    """Give the caller's instance the values a write stamped on its validated copy."""
    for prop in stamps_of(meta).all:
        target.__dict__[prop.name] = source.__dict__.get(prop.name)


async def update_stamped(
    repo: Any,
    entity: BaseModel,
    data: dict[str, Any],
    *,
    session: Session | None,
    options: Mapping[str, Any] | None = None,
) -> None:
    """``update(entity)``: ``update_by_id`` with the entity's data (its version checked,
    its timestamps left out); then the entity gets the stamps stored."""
    meta: ModelMeta = repo.meta
    assert meta.id is not None
    with fixed_write_time() as at:
        changes = without_stamps(meta, data)
        await repo.update_by_id(
            entity.__dict__[meta.id.name], changes, session=session, options=options
        )
    stamps = stamps_of(meta)
    if stamps.updated is not None:
        entity.__dict__[stamps.updated.name] = at
    version = stamps.version
    if version is not None and isinstance(entity.__dict__.get(version.name), int):
        entity.__dict__[version.name] += 1


def _as_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


async def replace_checked(
    repo: Any,
    id: Any,
    query: dict[str, Any],
    entity: BaseModel,
    doc: Document,
    *,
    session: Session | None,
) -> bool:
    """``replace_one`` keeping the stored ``created_at`` and checking and incrementing
    the version, atomically: both go into the query (read first when the data does not
    carry them). False when nothing is stored; ``ConflictError`` when the data's version
    is not the stored one; ``ValidationError`` (``absence``) when its ``created_at`` is
    not the stored one. Without timestamps or version: a plain ``replace_one``."""
    collection: Collection = repo._collection
    meta: ModelMeta = repo.meta
    stamps = stamps_of(meta)
    created, version = stamps.created, stamps.version
    if created is None and version is None:
        return bool(await collection.replace_one(query, doc, session=session))
    given_created = entity.__dict__.get(created.name) if created else None
    given_version = entity.__dict__.get(version.name) if version else None
    fields = {p.field_name: 1 for p in (created, version) if p is not None}
    must_read = (created and given_created is None) or (version and given_version is None)
    for _ in range(_REPLACE_ATTEMPTS):
        stored: Mapping[str, Any] = {}
        if must_read:
            found = await collection.find_one(query, projection=fields, session=session)
            if found is None:
                return False
            stored = found
        conditions: dict[str, Any] = {}
        if created is not None:
            value = given_created if given_created is not None else stored.get(created.field_name)
            conditions[created.field_name] = value
            doc[created.field_name] = value
            entity.__dict__[created.name] = _as_utc(value)
        if version is not None:
            expected = (
                given_version if given_version is not None else stored.get(version.field_name)
            )
            conditions[version.field_name] = expected
            doc[version.field_name] = entity.__dict__[version.name] = (expected or 0) + 1
        if await collection.replace_one({"$and": [query, conditions]}, doc, session=session):
            return True
        current = await collection.find_one(query, projection=fields, session=session)
        if current is None:
            return False
        if version and given_version and current.get(version.field_name) != given_version:
            entity.__dict__[version.name] = given_version
            raise conflict(meta, {ID_FIELD: id, **current}, given_version)
        if (
            created
            and given_created
            and _as_utc(current.get(created.field_name)) != _as_utc(given_created)
        ):
            entity.__dict__[created.name] = given_created
            raise ValidationError(
                meta.name,
                [
                    ErrorDetail(
                        path=created.name,
                        code="absence",
                        message=f"{meta.name}.{created.name}: is set when the entity is "
                        "created and cannot change (give the stored value, or None)",
                        value=given_created,
                    )
                ],
            )
    assert version is not None  # only a racing version change makes the replace miss
    raise conflict(meta, {ID_FIELD: id, **(current or {})}, given_version)


def refuse_version_check(meta: ModelMeta, plan: Any) -> None:
    """An upsert cannot check a version (when it does not match, it would insert)."""
    version = stamps_of(meta).version
    if version is not None and version.field_name in plan.guards:
        raise _upsert_version(meta, version, None)


def _upsert_version(meta: ModelMeta, version: PropertyMeta, value: Any) -> ValidationError:
    message = "an upsert does not check the version; leave it out, or use update_by_id"
    detail = ErrorDetail(
        path=version.name,
        code="absence",
        message=f"{meta.name}.{version.name}: {message}",
        value=value,
    )
    return ValidationError(meta.name, [detail])


def insertable(meta: ModelMeta, data: Mapping[str, Any] | BaseModel) -> Any:
    """An instance's data without the values odm stamped on it (a loaded entity's), to
    validate as a create; other data as it is."""
    if not isinstance(data, BaseModel) or not stamps_of(meta).active:
        return data
    raw = {n: v for n, v in data.__dict__.items() if n in data.model_fields_set}
    raw.update(data.__pydantic_extra__ or {})
    return without_stamps(meta, raw, keep_version=False)


async def replace_or_insert(
    repo: Any,
    id: Any,
    query: dict[str, Any],
    entity: BaseModel,
    doc: Document,
    forced: bool,
    session: Session | None,
) -> bool:
    """``replace_or_create``'s write: True when a stored entity was replaced (checked
    as :func:`replace_checked`), else, unless the id is ``forced``, the entity is
    inserted with a create's stamps. Without stamps: one ``replace_one`` upsert."""
    collection: Collection = repo._collection
    stamps = stamps_of(repo.meta)
    if not stamps.active:
        return bool(await collection.replace_one(query, doc, upsert=not forced, session=session))
    if await replace_checked(repo, id, query, entity, doc, session=session):
        return True
    if forced:
        return False
    now = entity.__dict__.get(stamps.updated.name) if stamps.updated else None
    for prop in stamps.timestamps:
        doc[prop.field_name] = entity.__dict__[prop.name] = now or write_time()
    if stamps.version is not None:
        doc[stamps.version.field_name] = entity.__dict__[stamps.version.name] = 1
    await collection.replace_one(query, doc, upsert=True, session=session)
    return False


def upsert_changes(meta: ModelMeta, raw: dict[str, Any], *, from_instance: bool) -> dict[str, Any]:
    """What ``upsert`` changes: an instance's stamped values are odm's (left out); a
    version in mapping data is refused, since an upsert cannot check it (the insert
    would run instead of a conflict)."""
    version = stamps_of(meta).version
    if not from_instance and version is not None and raw.get(version.name) is not None:
        raise _upsert_version(meta, version, raw[version.name])
    return without_stamps(meta, raw, keep_version=False) if from_instance else raw
