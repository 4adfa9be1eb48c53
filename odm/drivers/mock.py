"""mongomock-motor's ``AsyncMongoMockClient`` (the ``mock`` extra): every mock quirk lives here.

What the mock does differently, and what odm does about it:

- no sessions or transactions: :meth:`MockDatabase.transaction` raises ``ODMError``
  saying what to use instead (any ``session=`` raises in the mock itself);
- its bulk ``UpdateOne`` fails: odm never uses ``bulk_write``;
- a test on a dotted path ignores a null parent (``{"a": None}``), which a server takes
  as a missing ``a.b`` (so null, not ``$ne`` any other value, matched by no regex): null
  tests (``{"a.b": None}``, ``$ne``/``$in``/``$nin`` with ``None``) and negations
  (``$ne``, ``$nin``, ``$not``) are widened here to the parents (in queries and in an
  aggregation's top-level ``$match`` stages);
- ``$gte``/``$lte`` with ``None`` match null but not a missing field, where a server
  matches both: they are run here as the null test they are;
- its aggregation lacks some stages and operators (``$unionWith`` among them): such a
  pipeline raises ``ODMError`` naming what it cannot run, never its
  ``NotImplementedError``;
- it has no ``$mul``: the update is run here as a ``$set`` of the products, document by
  document (a missing field becomes 0, as on a server);
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
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from pymongo.errors import WriteError

from odm._distribution import install_hint
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
from .interface import Document, FieldNames, Session

__all__ = ["MockCollection", "MockDatabase", "open_mock_client"]

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
            f"mongomock:// needs the mongomock-motor package: {install_hint('mock')}"
        ) from exc
    return AsyncMongoMockClient(**client_options(options))


class MockCollection(ServerCollection):
    """A mongomock-motor collection: queries, ``$mul`` and duplicate-key reports made to
    agree with a server's."""

    sends_raw: ClassVar[bool] = False  # mongomock takes no RawBSONDocument

    def __init__(self, collection: Any, database: ServerDatabase, names: FieldNames | None) -> None:
        super().__init__(collection, database, names)
        self._driver = _AsOnAServer(collection)

    async def aggregate(
        self, pipeline: Sequence[Mapping[str, Any]], *, session: Session | None = None
    ) -> list[Document]:
        """The server's answer, or ``ODMError`` naming what the mock cannot run (its
        ``NotImplementedError``: ``$unionWith``, some operators)."""
        try:
            return await super().aggregate(pipeline, session=session)
        except NotImplementedError as error:
            raise ODMError(
                f"mongomock-motor cannot run this aggregation pipeline ({error}); "
                "run it on a MongoDB server"
            ) from error

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


class _AsOnAServer:
    """The mock's collection, reading queries and ``$mul`` as a server does; every other
    attribute is the mock's own. Writes with ``$mul`` run document by document (a mock
    has one client: nothing runs between the read and the write but this event loop)."""

    def __init__(self, collection: Any) -> None:
        self._mock = collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mock, name)

    def find(self, query: Mapping[str, Any], *args: Any, **options: Any) -> Any:
        return self._mock.find(_null_parents(query), *args, **options)

    async def find_one(self, query: Mapping[str, Any], *args: Any, **options: Any) -> Any:
        return await self._mock.find_one(_null_parents(query), *args, **options)

    async def count_documents(self, query: Mapping[str, Any], **options: Any) -> Any:
        return await self._mock.count_documents(_null_parents(query), **options)

    def aggregate(self, pipeline: list[Mapping[str, Any]], **options: Any) -> Any:
        stages = [
            {"$match": _null_parents(stage["$match"])}
            if "$match" in stage and isinstance(stage["$match"], Mapping)
            else stage
            for stage in pipeline
        ]
        return self._mock.aggregate(stages, **options)

    async def delete_one(self, query: Mapping[str, Any], **options: Any) -> Any:
        return await self._mock.delete_one(_null_parents(query), **options)

    async def delete_many(self, query: Mapping[str, Any], **options: Any) -> Any:
        return await self._mock.delete_many(_null_parents(query), **options)

    async def replace_one(self, query: Mapping[str, Any], doc: Document, **options: Any) -> Any:
        return await self._mock.replace_one(_null_parents(query), doc, **options)

    async def update_one(
        self, query: Mapping[str, Any], update: Mapping[str, Any], **options: Any
    ) -> Any:
        return await self._update("update_one", query, update, options)

    async def update_many(
        self, query: Mapping[str, Any], update: Mapping[str, Any], **options: Any
    ) -> Any:
        return await self._update("update_many", query, update, options)

    async def find_one_and_update(
        self, query: Mapping[str, Any], update: Mapping[str, Any], **options: Any
    ) -> Any:
        return await self._update("find_one_and_update", query, update, options)

    async def _update(
        self, command: str, query: Mapping[str, Any], update: Mapping[str, Any], options: Any
    ) -> Any:
        query = _null_parents(query)
        send = getattr(self._mock, command)
        if "$mul" not in update:
            return await send(query, update, **options)
        many = command == "update_many"
        found = self._mock.find(query, sort=options.get("sort"), limit=0 if many else 1)
        targets = [doc async for doc in found]
        if not targets:  # nothing matches: the products of an upsert's new document
            return await send(query, _multiplied(update, {}), **options)
        result: Any = None
        for target in targets:
            result = await send({"_id": target["_id"]}, _multiplied(update, target), **options)
        return _Matched(len(targets)) if many else result


class _Matched:
    """The result of an ``update_many`` run document by document."""

    def __init__(self, matched_count: int) -> None:
        self.matched_count = matched_count


class MockDatabase(ServerDatabase):
    """A database of ``mongomock_motor.AsyncMongoMockClient``."""

    kind: ClassVar[str] = "mongomock"
    collection_class: ClassVar[type[ServerCollection]] = MockCollection
    supports_transactions: ClassVar[bool] = False
    supports_change_streams: ClassVar[bool] = False

    # asked before motor's in the table: the mock's classes pass for motor's
    database_class: ClassVar[tuple[str, str]] = ("mongomock_motor", "AsyncMongoMockDatabase")
    client_class: ClassVar[tuple[str, str]] = ("mongomock_motor", "AsyncMongoMockClient")

    @classmethod
    async def close_client(cls, client: Any) -> None:
        client.close()

    def with_options(self, collection: Any, options: Mapping[str, Any]) -> Any:
        """mongomock has one member and no replication: concerns and read preferences
        are accepted and ignored (its ``with_options`` would give a synchronous
        collection)."""
        return collection

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


# -- null parents ---------------------------------------------------------------------------

_NULL_TESTS = ("$eq", "$ne", "$in", "$nin")


def _null_parents(query: Mapping[str, Any]) -> Mapping[str, Any]:
    """``query`` with each null test on a dotted path widened to its parents (a server
    takes ``a.b`` as null when ``a`` is null; the mock does not). Unchanged when there is
    none, which is the common case."""
    widened: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []
    for key, condition in query.items():
        if key in ("$and", "$or", "$nor") and isinstance(condition, list):
            widened[key] = [
                _null_parents(part) if isinstance(part, Mapping) else part for part in condition
            ]
            continue
        if not key.startswith("$"):
            condition = _null_comparisons(condition)
        test = _null_test(key, condition) if "." in key and not key.startswith("$") else None
        if test is None:
            widened[key] = condition
        else:
            extra.append(test)
    if extra:
        widened["$and"] = [*widened.get("$and", []), *extra]
    return widened


_NEGATIONS = frozenset(["$ne", "$nin", "$not"])


def _null_comparisons(condition: Any) -> Any:
    """``{"$gte": None}``/``{"$lte": None}`` as the null test a server reads them as (in
    the null bracket, only null and missing compare equal to null)."""
    if not isinstance(condition, Mapping) or not (
        ("$gte" in condition and condition["$gte"] is None)
        or ("$lte" in condition and condition["$lte"] is None)
    ):
        return condition
    rest = {k: v for k, v in condition.items() if k not in ("$gte", "$lte") or v is not None}
    if "$eq" in rest and rest["$eq"] is not None:
        return {"$in": []}  # both null and not null: nothing matches
    rest["$eq"] = None
    return rest


def _null_test(path: str, condition: Any) -> dict[str, Any] | None:
    parts = path.split(".")
    parents: list[dict[str, Any]] = [{".".join(parts[:end]): None} for end in range(1, len(parts))]
    if condition is None:
        return {"$or": [{path: None}, *parents]}
    if not (
        isinstance(condition, Mapping)
        and condition
        and all(k in _NULL_TESTS or k.startswith("$") for k in condition)
    ):
        return None
    rest = dict(condition)
    clauses: list[dict[str, Any]] = []
    if "$eq" in rest and rest["$eq"] is None:
        del rest["$eq"]
        clauses.append({"$or": [{path: None}, *parents]})
    if "$ne" in rest and rest["$ne"] is None:
        del rest["$ne"]
        clauses.append({"$nor": [{path: None}, *parents]})
    if isinstance(rest.get("$in"), list | tuple) and None in rest["$in"]:
        clauses.append({"$or": [{path: {"$in": list(rest.pop("$in"))}}, *parents]})
    if isinstance(rest.get("$nin"), list | tuple) and None in rest["$nin"]:
        clauses.append({"$nor": [{path: {"$in": list(rest.pop("$nin"))}}, *parents]})
    if rest and all(k in _NEGATIONS for k in rest):  # a missing field passes a negation
        clauses.append({"$or": [{path: rest}, *parents]})
        rest = {}
    if not clauses:
        return None
    if rest:
        clauses.append({path: rest})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


# -- $mul -----------------------------------------------------------------------------------


def _multiplied(update: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` with its ``$mul`` replaced by a ``$set`` of the products on ``target``."""
    rewritten = {
        operator: dict(fields) for operator, fields in update.items() if operator != "$mul"
    }
    products = rewritten.setdefault("$set", {})
    for path, factor in update["$mul"].items():
        value = _get_path(target, path)
        if value is _MISSING:
            products[path] = type(factor)(0) if isinstance(factor, int | float) else 0
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or isinstance(factor, bool)
        ):
            raise WriteError(
                f"Cannot apply $mul to a value of non-numeric type. {{_id: {target.get('_id')!r}}} "
                f"has the field '{path}' of non-numeric type {type(value).__name__}",
                code=14,
            )
        else:
            products[path] = value * factor
    return rewritten
