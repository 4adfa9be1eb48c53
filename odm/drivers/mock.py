"""mongomock-motor's ``AsyncMongoMockClient`` (the ``mock`` extra): every mock quirk lives here.

What the mock does differently, and what odm does about it:

- no sessions or transactions: :meth:`MockDatabase.transaction` raises ``ODMError``
  saying what to use instead (any ``session=`` raises in the mock itself);
- its bulk ``UpdateOne`` fails: odm never uses ``bulk_write``;
- its duplicate-key reports never name the index, carry no details for a duplicate
  ``_id``, keep an ``insert_many``'s key pattern only in the message's text, and after an
  update name the first unique index holding the document's value rather than the one
  that was broken: the broken index is searched for here with the documents the write
  wanted to store, so that ``DuplicateKeyError`` is the same as on a server.
"""

from __future__ import annotations

import ast
import copy
import re
import sys
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from odm.errors import ODMError

from .common import (
    DuplicateKey,
    ServerCollection,
    ServerDatabase,
    WriteAttempt,
    as_dict,
    client_options,
    index_name_in,
    parse_key_value,
    plain_number,
    resolve,
)
from .interface import Document, Session

__all__ = ["MockCollection", "MockDatabase", "open_mock_client"]

_MODULE = "mongomock_motor"
# Bounds the scan that recomputes a duplicate-key report after update_many.
_MAX_CANDIDATES_SCANNED = 1000
_KEY_PATTERN_IN_MESSAGE = re.compile(r"'keyPattern':\s*(?P<pattern>\{[^{}]*\})")

#: a document the write wanted to store, with the ``_id`` of the stored one it replaces
Candidate = tuple[Document, Any]


def open_mock_client(**options: Any) -> Any:
    """Create an in-memory ``mongomock_motor.AsyncMongoMockClient`` with odm's client
    defaults (``CLIENT_DEFAULTS``)."""
    try:
        from mongomock_motor import AsyncMongoMockClient
    except ImportError as exc:
        raise ODMError(
            "mongomock:// needs the mongomock-motor package: pip install 'odm[mock]'"
        ) from exc
    return AsyncMongoMockClient(**client_options(options))


def _loaded_class(name: str) -> type[Any] | None:
    found: type[Any] | None = getattr(sys.modules.get(_MODULE), name, None)
    return found


class MockCollection(ServerCollection):
    """A mongomock-motor collection: duplicate-key reports are completed here."""

    async def _duplicate_key(
        self, report: dict[str, Any], attempt: WriteAttempt, batch_index: int | None
    ) -> DuplicateKey:
        message = str(report.get("errmsg") or "")
        duplicate = DuplicateKey(
            index_name=index_name_in(message),
            key_pattern=as_dict(report.get("keyPattern")) or _key_pattern_in(message),
            key_value=as_dict(report.get("keyValue")),
            message=message,
            batch_index=batch_index,
        )
        if None not in (duplicate.index_name, duplicate.key_pattern, duplicate.key_value):
            return duplicate
        indexes = await self.index_information()
        wanted = await self._candidates(attempt, batch_index)
        if duplicate.index_name is None:
            # The mock's report may name the wrong index: the broken one is searched for.
            found = await self._locate_broken_index(indexes, wanted)
            if found is not None:
                duplicate.index_name, duplicate.key_pattern, duplicate.key_value = found
            elif duplicate.key_pattern is not None:
                duplicate.index_name = _index_named_by_keys(indexes, duplicate.key_pattern)
        if duplicate.key_pattern is None and duplicate.index_name in indexes:
            duplicate.key_pattern = dict(indexes[duplicate.index_name]["key"])
        if duplicate.key_value is None and duplicate.key_pattern is not None:
            duplicate.key_value = (
                _key_value_of(wanted[0][0], duplicate.key_pattern)
                if wanted
                else parse_key_value(message, duplicate.key_pattern)
            )
        return duplicate

    async def _candidates(self, attempt: WriteAttempt, batch_index: int | None) -> list[Candidate]:
        """The documents as the failed write wanted them stored."""
        if attempt.replacement:
            return await self._replaced(attempt)
        if attempt.update is not None:
            return await self._updated(attempt)
        if batch_index is not None:
            return [(dict(attempt.documents[batch_index]), _NO_ID)]
        return [(dict(doc), _NO_ID) for doc in attempt.documents[:1]]

    async def _replaced(self, attempt: WriteAttempt) -> list[Candidate]:
        doc = dict(attempt.documents[0])
        target = await self.raw.find_one(attempt.query or {}, {"_id": 1})
        if target is None:
            return [(doc, _NO_ID)]
        return [({**doc, "_id": target["_id"]}, target["_id"])]

    async def _updated(self, attempt: WriteAttempt) -> list[Candidate]:
        # Only plain $set / $setOnInsert updates can be replayed here; for other operators
        # the mock's own report is used.
        update = attempt.update or {}
        query = attempt.query or {}
        if not set(update) <= {"$set", "$setOnInsert"}:
            return []
        found: list[Candidate] = []
        cursor = self.raw.find(query, sort=list(attempt.sort) if attempt.sort else None)
        try:
            async for target in cursor:
                found.append((_apply_set(target, update.get("$set", {})), target["_id"]))
                if not attempt.many or len(found) >= _MAX_CANDIDATES_SCANNED:
                    break
        finally:
            await resolve(cursor.close())
        if not found and attempt.upsert:
            inserted = {k: v for k, v in query.items() if not k.startswith("$")}
            inserted = _apply_set(inserted, update.get("$setOnInsert", {}))
            found.append((_apply_set(inserted, update.get("$set", {})), _NO_ID))
        return found

    async def _locate_broken_index(
        self, indexes: dict[str, dict[str, Any]], candidates: list[Candidate]
    ) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        """The first unique index under which another stored document has a candidate's key."""
        for candidate, own_id in candidates:
            for name, spec in indexes.items():
                if not (spec.get("unique") or name == "_id_"):
                    continue
                pattern = dict(spec["key"])
                value = _key_value_of(candidate, pattern)
                if spec.get("sparse") and all(not _has_path(candidate, field) for field in pattern):
                    continue
                clauses: list[dict[str, Any]] = [value]
                if own_id is not _NO_ID:
                    clauses.append({"_id": {"$ne": own_id}})
                if spec.get("partialFilterExpression"):
                    clauses.append(spec["partialFilterExpression"])
                if await self.raw.count_documents({"$and": clauses}, limit=1):
                    return name, pattern, value
        return None


class MockDatabase(ServerDatabase):
    """A database of ``mongomock_motor.AsyncMongoMockClient``."""

    kind: ClassVar[str] = "mongomock"
    collection_class: ClassVar[type[ServerCollection]] = MockCollection
    supports_transactions: ClassVar[bool] = False

    @classmethod
    def owns_database(cls, db: object) -> bool:
        # checked before motor's: the mock's classes pass for motor's
        database_class = _loaded_class("AsyncMongoMockDatabase")
        return database_class is not None and isinstance(db, database_class)

    @classmethod
    def owns_client(cls, client: object) -> bool:
        client_class = _loaded_class("AsyncMongoMockClient")
        return client_class is not None and isinstance(client, client_class)

    @classmethod
    async def close_client(cls, client: Any) -> None:
        client.close()

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        raise ODMError(
            "transactions are not available on this database: mongomock-motor has no "
            "transactions; use the embedded server or a MongoDB replica set "
            "(odm.connect('embedded://') or ODM_TEST_BACKEND=embedded)"
        )


class _NoId:
    """Marks a candidate document that is not stored (so no stored document to exclude)."""


_NO_ID: Any = _NoId()
_MISSING = object()


def _key_pattern_in(message: str) -> dict[str, Any] | None:
    # The mock's BulkWriteError carries its details only as the repr in the message.
    match = _KEY_PATTERN_IN_MESSAGE.search(message)
    if match is None:
        return None
    try:
        pattern = ast.literal_eval(match.group("pattern"))
    except (ValueError, SyntaxError):
        return None
    return pattern if isinstance(pattern, dict) else None


def _index_named_by_keys(
    indexes: dict[str, dict[str, Any]], key_pattern: Mapping[str, Any]
) -> str | None:
    wanted = [(field, plain_number(direction)) for field, direction in key_pattern.items()]
    for name, spec in indexes.items():
        if list(spec["key"]) == wanted:
            return name
    return None


def _get_path(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def _has_path(doc: Mapping[str, Any], path: str) -> bool:
    return _get_path(doc, path) is not _MISSING


def _key_value_of(doc: Mapping[str, Any], key_pattern: Mapping[str, Any]) -> dict[str, Any]:
    # A missing field is indexed as null, as the server does.
    values = {field: _get_path(doc, field) for field in key_pattern}
    return {field: (None if value is _MISSING else value) for field, value in values.items()}


def _apply_set(doc: Mapping[str, Any], assignments: Mapping[str, Any]) -> Document:
    updated = copy.deepcopy(dict(doc))
    for path, value in assignments.items():
        target = updated
        *parents, last = path.split(".")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[last] = value
    return updated
