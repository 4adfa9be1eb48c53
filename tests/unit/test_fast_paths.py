"""find_by_id's plain-id plan (odm.by_id) gives the query the usual translation gives, and
an inserted document's kept BSON (odm.encoded) is what the driver would have encoded."""

from __future__ import annotations

import uuid
from typing import Any

import bson
import pytest
from bson import ObjectId
from bson.codec_options import CodecOptions, TypeEncoder, TypeRegistry
from bson.raw_bson import RawBSONDocument
from mongomock_motor import AsyncMongoMockClient

from odm import EntityNotFoundError, Repository
from odm.by_id import id_lookup
from odm.encoded import EncodedDocument, encodes_like_odm, ensure_id, sendable
from odm.validation import validate_create_document

from ..integration.models import Customer, FreeId, OidThing, TenantRow, Thing

OID = "65a1f0c2e4b0a1b2c3d4e5f6"
IDS: list[Any] = [OID, ObjectId(OID), "plain text", 42, uuid.UUID(int=7)]
NOT_IDS: list[Any] = [None, {"neq": None}, {"$ne": None}, [OID], (OID,), True, "65a1f0c2"]


def repo(cls: Any, scope: Any = "model") -> Repository[Any]:
    repository: Repository[Any] = Repository(cls, AsyncMongoMockClient()["fast_paths"])
    if scope != "model":
        repository._set_scope(scope)
    return repository


CASES: list[tuple[Any, Any]] = [
    *[(cls, "model") for cls in (Customer, OidThing, FreeId, Thing, TenantRow)],
    (TenantRow, None),
    (TenantRow, {"where": {"rank": {"gt": 1}}, "fields": ["rank"]}),
    (OidThing, {"where": {"id": OID}}),  # the scope's where on the id itself: an $and
    (FreeId, {"where": {"label": {"inq": ["a", "b"]}}}),
    (TenantRow, {"where": {"or": [{"tenant": "a"}, {"tenant": "b"}]}, "order": "rank DESC"}),
]


@pytest.mark.parametrize(("cls", "scope"), CASES)
def test_the_plan_gives_the_translated_query(cls: Any, scope: Any) -> None:
    repository = repo(cls, scope)
    lookup = id_lookup(repository)
    assert lookup is not None  # (Customer has a hidden property, not the id)
    for value in IDS:
        try:
            expected = repository._query(None, id=value)
        except EntityNotFoundError:
            with pytest.raises(EntityNotFoundError):
                lookup.query(repository.meta, value)
            continue
        fast = lookup.query(repository.meta, value)
        if fast is not None:  # None: an id the translation converts (a UUID): the usual path
            assert (fast.where, fast.projection) == (expected.where, expected.projection)
    for value in NOT_IDS:
        with pytest.raises(EntityNotFoundError):
            repository._query(None, id=value)
        with pytest.raises(EntityNotFoundError):
            lookup.query(repository.meta, value)


def test_the_plan_follows_the_scope() -> None:
    repository = repo(TenantRow)
    first = id_lookup(repository)
    assert first is not None and first.where == {"tenant": "a"}
    assert id_lookup(repository) is first  # made once
    unscoped = repository.unscoped()
    plan = id_lookup(unscoped)
    assert plan is not None and plan.where == {}
    assert id_lookup(repository) is first


def test_a_scope_with_near_takes_the_usual_path() -> None:
    repository = repo(TenantRow, {"where": {"spot": {"near": [0, 0]}}})
    assert id_lookup(repository) is None


def test_kept_bytes_are_the_documents_bson_with_its_generated_id() -> None:
    _, doc = validate_create_document(Customer, {"email": "a@b.c", "name": "Ada"})
    assert type(doc) is EncodedDocument and doc.bson == bson.encode(doc)
    sent = sendable(doc, True)
    assert isinstance(sent, RawBSONDocument)
    assert isinstance(doc["_id"], ObjectId)
    assert sent.raw == bson.encode(dict(doc))  # what the driver would send: _id first
    assert list(bson.decode(sent.raw)) == ["_id", *[key for key in doc if key != "_id"]]
    assert sendable(doc, False) is doc  # mongomock: the dict


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.__setitem__("name", "B"),
        lambda d: d.pop("name"),
        lambda d: d.update(name="B"),
        lambda d: d.setdefault("extra", 1),
        lambda d: d.__delitem__("name"),
        lambda d: d.__ior__({"name": "B"}),
        lambda d: d.popitem(),
        lambda d: d.clear(),
    ],
)
def test_a_changed_document_is_encoded_again(change: Any) -> None:
    _, doc = validate_create_document(Customer, {"email": "a@b.c", "name": "Ada"})
    change(doc)
    assert isinstance(doc, EncodedDocument) and doc.bson is None
    assert sendable(doc, True) is doc
    assert "_id" in doc


def test_an_id_given_is_kept_and_copies_are_plain_dicts() -> None:
    doc = EncodedDocument({"_id": 1, "a": 2}, bson.encode({"_id": 1, "a": 2}))
    ensure_id(doc)
    assert doc == {"_id": 1, "a": 2} and doc.bson == bson.encode({"_id": 1, "a": 2})
    import copy

    assert type(copy.deepcopy(doc)) is dict and type(copy.copy(doc)) is dict


class _Encoder(TypeEncoder):
    python_type = complex

    def transform_python(self, value: Any) -> Any:
        return str(value)


def test_a_client_with_type_encoders_gets_dicts() -> None:
    assert encodes_like_odm(CodecOptions())
    assert not encodes_like_odm(CodecOptions(type_registry=TypeRegistry([_Encoder()])))
