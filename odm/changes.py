"""Typed change streams: ``repo.watch()`` yields :class:`ChangeEvent` objects.

Events come in property names: the entity is hydrated through the codec (as ``find``
loads it), ``updated`` maps the changed property paths (field names mapped back at every
depth, ``"addr.zip"`` for a stored ``"address.zip_code"``) to their decoded values and
``removed`` names the removed property paths.

``where`` (the LoopBack where language) and the repository's default scope filter the
full document: the server matches ``fullDocument.<field>`` for every field path of the
translated query. A delete has no full document, so a filtered stream (a ``where`` or a
scope) leaves deletes out: it could not tell whether the deleted entity matched. An
unfiltered stream (``repo.unscoped().watch()`` on a scoped model) sees every delete.

A change stream never joins a transaction; mongomock-motor has none (``ODMError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar, get_args

from bson import ObjectId
from pydantic import BaseModel

from .codec import decode_trusted
from .drivers import Collection, Database
from .drivers.streams import open_change_stream
from .errors import InvalidFilterError, ODMError
from .metadata import ModelMeta
from .models import Entity
from .types import object_id_hex

__all__ = ["ChangeEvent", "ChangeStream", "ChangeStreams"]

E = TypeVar("E", bound=Entity)
Operation = Literal["insert", "update", "replace", "delete"]
OPERATIONS: tuple[str, ...] = get_args(Operation)
FullDocument = Literal["updateLookup", "default", "whenAvailable", "required"]
#: the query operators that combine clauses: their clauses get the prefix too
_LOGICAL = ("$and", "$or", "$nor")
_PREFIX = "fullDocument."


@dataclass(frozen=True, eq=False, repr=False)
class ChangeEvent(Generic[E]):
    """One change of a watched collection, in property names.

    ``operation`` is ``insert``, ``update``, ``replace`` or ``delete``; ``id`` the
    entity's id (its Python type: ``str`` for ObjectId ids declared ``str``);
    ``entity`` the document after the change, hydrated (for an update, as the server
    looked it up when the event was read; None for a delete, or when the document is
    already gone); ``updated`` the changed property paths and their new values (updates
    only); ``removed`` the removed property paths; ``resume_token`` what
    ``repo.watch(resume_after=...)`` takes to continue after this event.
    """

    operation: Operation
    id: Any
    entity: E | None
    resume_token: Mapping[str, Any]
    updated: dict[str, Any] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        # property names only: a value may be hidden (the entity's repr hides its own)
        return (
            f"ChangeEvent({self.operation!r}, id={self.id!r}, "
            f"updated={sorted(self.updated)}, removed={self.removed})"
        )


class _Watched(Protocol[E]):
    """What :meth:`ChangeStreams.watch` needs of the repository (``Repository``)."""

    meta: ModelMeta
    entity_class: type[E]
    _collection: Collection

    @property
    def database(self) -> Database: ...
    def _where(self, where: Any) -> dict[str, Any]: ...
    def _load(self, doc: Mapping[str, Any], *, partial: bool = False) -> E: ...


class ChangeStreams(Generic[E]):
    """``watch``, part of every :class:`~odm.Repository`."""

    def watch(
        self: _Watched[E],
        where: Mapping[str, Any] | None = None,
        *,
        resume_after: Mapping[str, Any] | None = None,
        full_document: FullDocument = "updateLookup",
    ) -> ChangeStream[E]:
        """The changes of this repository's entities from now on (or after
        ``resume_after``, an event's ``resume_token``), as :class:`ChangeEvent` objects.

        ``async with repo.watch({"status": "open"}) as changes:`` then
        ``async for event in changes:``. ``where`` and the default scope filter the
        document after the change (deletes are then left out: they have no document).
        ``full_document`` is the server's option: ``"updateLookup"`` (updates carry the
        current document), ``"default"`` (updates carry none: no filtering then),
        ``"whenAvailable"`` or ``"required"`` (post-images the collection records).
        On mongomock-motor it raises ``ODMError``: it has no change streams.
        """
        if not self.database.supports_change_streams:
            raise ODMError(
                "the mongomock backend has no change streams: watch() needs a MongoDB "
                "replica set or the embedded server (odm.connect('embedded://'), or "
                "ODM_TEST_BACKEND=embedded in tests)"
            )
        if full_document not in get_args(FullDocument):
            raise ODMError(f"full_document must be one of {get_args(FullDocument)}")
        query = self._where(where)
        if query and full_document == "default":
            raise ODMError(
                "a where clause or a scope filters the full document, which "
                "full_document='default' leaves out of updates: use 'updateLookup'"
            )
        match: dict[str, Any] = {"operationType": {"$in": list(OPERATIONS)}}
        if query:
            written = {"operationType": {"$in": ["insert", "update", "replace"]}}
            match = {"$and": [written, _on_full_document(query)]}
        options: dict[str, Any] = {
            "full_document": None if full_document == "default" else full_document,
            "resume_after": resume_after,
        }
        return ChangeStream(self, [{"$match": match}], options)


class ChangeStream(Generic[E]):
    """An open change stream of one repository: an async context manager (closes the
    server cursor at the end) and an async iterator of :class:`ChangeEvent` objects.
    Iterating without ``async with`` opens it at the first event; :meth:`close` it."""

    def __init__(
        self, repository: _Watched[E], pipeline: list[dict[str, Any]], options: dict[str, Any]
    ) -> None:
        self._repository = repository
        self._pipeline = pipeline
        self._options = options
        self._stream: Any = None

    async def __aenter__(self) -> ChangeStream[E]:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> ChangeStream[E]:
        return self

    async def __anext__(self) -> ChangeEvent[E]:
        """The next change, waiting for it (``StopAsyncIteration`` once closed)."""
        stream = await self._open()
        while True:
            event = self._event(await stream.next())
            if event is not None:
                return event

    async def try_next(self) -> ChangeEvent[E] | None:
        """The next change if the server has one now (one round trip), else None."""
        stream = await self._open()
        while True:
            change = await stream.try_next()
            if change is None:
                return None
            event = self._event(change)
            if event is not None:
                return event

    @property
    def resume_token(self) -> Mapping[str, Any] | None:
        """Where the stream is now (it moves even when no event comes): store it and pass
        it as ``resume_after`` to continue from here. None before the stream is open."""
        if self._stream is None:
            return None
        token: Mapping[str, Any] | None = self._stream.resume_token
        return token

    async def close(self) -> None:
        """Close the server cursor (a stream closed stops its ``async for``)."""
        if self._stream is not None:
            await self._stream.close()

    async def _open(self) -> Any:
        if self._stream is None:
            self._stream = await open_change_stream(
                self._repository._collection, self._pipeline, **self._options
            )
        return self._stream

    def _event(self, change: Mapping[str, Any]) -> ChangeEvent[E] | None:
        operation = change.get("operationType")
        if operation not in OPERATIONS:
            return None  # invalidate (the stream then ends), drop, rename...
        repository = self._repository
        full = change.get("fullDocument")
        entity = None if full is None else repository._load(full)
        description: Mapping[str, Any] = change.get("updateDescription") or {}
        meta = repository.meta
        updated = {
            meta.property_path(path): _decoded(repository.entity_class, meta, path, value)
            for path, value in (description.get("updatedFields") or {}).items()
        }
        removed = [meta.property_path(path) for path in description.get("removedFields") or ()]
        return ChangeEvent(
            operation=operation,
            id=_id_of(meta, (change.get("documentKey") or {}).get("_id")),
            entity=entity,
            resume_token=change["_id"],
            updated=updated,
            removed=removed,
        )


def _on_full_document(query: Mapping[str, Any]) -> dict[str, Any]:
    """``query`` on the change's full document: every field path gets the prefix."""
    prefixed: dict[str, Any] = {}
    for key, value in query.items():
        if key in _LOGICAL:
            prefixed[key] = [_on_full_document(clause) for clause in value]
        elif key == "$comment":
            prefixed[key] = value
        elif key.startswith("$"):
            raise InvalidFilterError(
                "where", f"{key} cannot filter a change stream; use the where language"
            )
        else:
            prefixed[_PREFIX + key] = value
    return prefixed


def _id_of(meta: ModelMeta, value: Any) -> Any:
    if meta.id is not None and meta.id.type.python is str and value is not None:
        return object_id_hex(value) if type(value) is ObjectId else str(value)
    return value


def _decoded(cls: type[BaseModel], meta: ModelMeta, field_path: str, value: Any) -> Any:
    """The value stored at ``field_path`` as the codec loads it: the path is rebuilt as a
    document around the value (a list index as a one-item list), loaded, and read back."""
    fields = field_path.split(".")
    node = value
    for part in reversed(fields[1:]):
        node = [node] if part.isdigit() else {part: node}
    try:
        current: Any = decode_trusted(cls, {fields[0]: node})
        for part in meta.property_path(field_path).split("."):
            if isinstance(current, BaseModel):
                current = getattr(current, part)
            elif isinstance(current, list | tuple):
                current = current[0]
            elif isinstance(current, Mapping):
                current = current[part]
            else:
                return value
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return value  # a path the model does not describe (a dict with number keys...)
    return current
