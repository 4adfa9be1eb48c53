"""The filter translator: LoopBack filters to exact MongoDB queries, with no database."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from bson import Binary, Decimal128, ObjectId

from odm.errors import InvalidFilterError
from odm.filters import (
    Query,
    like_to_regex,
    merge_scope,
    projection_spec,
    sort_spec,
    translate_filter,
    translate_where,
)
from odm.metadata import ModelMeta
from odm.models import Entity, Model, model
from odm.properties import prop
from odm.scoping import scope_values

OID = "0123456789abcdef01234567"


class Status(Enum):
    ACTIVE = "active"
    CLOSED = "closed"


class Address(Model):
    street: str = ""
    city: str = ""
    zip_code: str = prop(default="", field_name="zip")
    code: str | None = prop(default=None, hidden=True)


@model(collection="customers", hidden_properties=["password"])
class Customer(Entity):
    email: str = ""
    name: str = prop(default="", json_schema={"minLength": 2})
    age: int = 0
    score: float = 0.0
    password: str | None = None
    token: uuid.UUID | None = None
    created: datetime = prop(default_fn="now", field_name="createdAt")
    birthday: date | None = None
    price: Decimal | None = None
    status: Status = Status.ACTIVE
    owner: ObjectId | None = None
    tags: list[str] = prop(default_factory=list)
    address: Address | None = None
    addresses: list[Address] = prop(default_factory=list)
    counts: dict[str, int] = prop(default_factory=dict)
    deleted: bool = False


@model(strict="filter")
class Lenient(Entity):
    name: str = ""


@model(strict=False)
class Loose(Entity):
    name: str = ""
    address: Address | None = None


class Product(Entity):
    sku: str = prop(id=True)
    name: str = ""


class Document(Entity):
    id: ObjectId = prop(id=True, generated=True)


class Ticket(Entity):
    id: int = prop(id=True)


@model(scope={"where": {"deleted": False, "and": [{"tenant": "a"}, {"rank": "3"}]}})
class Scoped(Entity):
    tenant: str = ""
    rank: int = 0
    deleted: bool = False
    name: str = ""


CUSTOMER = Customer.odm_meta()


def where(clause: dict[str, Any], meta: ModelMeta = CUSTOMER, **options: Any) -> dict[str, Any]:
    return translate_where(meta, clause, **options)


def refused(clause: Any, meta: ModelMeta = CUSTOMER, **options: Any) -> InvalidFilterError:
    with pytest.raises(InvalidFilterError) as caught:
        translate_where(meta, clause, **options)
    return caught.value


def refused_filter(filter: Any, meta: ModelMeta = CUSTOMER, **options: Any) -> InvalidFilterError:
    with pytest.raises(InvalidFilterError) as caught:
        translate_filter(meta, filter, **options)
    return caught.value


# --- operators ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (30, 30),
        ({"eq": 30}, 30),
        ({"neq": 30}, {"$ne": 30}),
        ({"gt": 30}, {"$gt": 30}),
        ({"gte": 30}, {"$gte": 30}),
        ({"lt": 30}, {"$lt": 30}),
        ({"lte": 30}, {"$lte": 30}),
        ({"inq": [1, 2]}, {"$in": [1, 2]}),
        ({"nin": [1, 2]}, {"$nin": [1, 2]}),
        ({"inq": []}, {"$in": []}),
        ({"between": [18, 65]}, {"$gte": 18, "$lte": 65}),
        ({"exists": True}, {"$exists": True}),
        ({"exists": "false"}, {"$exists": False}),
        ({"gte": 18, "lt": 65}, {"$gte": 18, "$lt": 65}),
        ({"eq": 30, "exists": True}, {"$eq": 30, "$exists": True}),
    ],
)
def test_each_comparison_operator(condition: Any, expected: Any) -> None:
    assert where({"age": condition}) == {"age": expected}


def test_none_matches_null_and_missing() -> None:
    assert where({"age": None}) == {"age": None}
    assert where({"age": {"eq": None}}) == {"age": None}
    assert where({"age": {"neq": None}}) == {"age": {"$ne": None}}
    assert where({"age": {"inq": [None, "1"]}}) == {"age": {"$in": [None, 1]}}


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("like", {"$regex": "^Jo.*$", "$options": "s"}),
        ("ilike", {"$regex": "^Jo.*$", "$options": "is"}),
        ("nlike", {"$not": {"$regex": "(?s)^Jo.*$"}}),
        ("nilike", {"$not": {"$regex": "(?is)^Jo.*$"}}),
    ],
)
def test_like_operators(operator: str, expected: dict[str, Any]) -> None:
    assert where({"name": {operator: "Jo%"}}) == {"name": expected}


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("J_e", "^J.e$"),
        ("%son", "^.*son$"),
        ("a.b", r"^a\.b$"),
        ("a*b", r"^a\*b$"),
        ("f(x)", r"^f\(x\)$"),
        ("1+1", r"^1\+1$"),
        ("why?", r"^why\?$"),
        ("[ab]", r"^\[ab\]$"),
        ("^start", r"^\^start$"),
        ("end$", r"^end\$$"),
        ("a|b", r"^a\|b$"),
        ("{2}", r"^\{2\}$"),
        ("100\\%", "^100%$"),
        ("snake\\_case%", "^snake_case.*$"),
        ("back\\\\slash", r"^back\\slash$"),
        ("trailing\\", r"^trailing\\$"),
        ("a\\.b", r"^a\.b$"),
        ("", "^$"),
    ],
)
def test_like_escapes_metacharacters(pattern: str, regex: str) -> None:
    assert like_to_regex(pattern) == regex


def test_like_pattern_matches_whole_value_literally() -> None:
    regex = re.compile(like_to_regex("a.c%"), re.DOTALL)
    assert regex.search("a.cdef\nghi")
    assert not regex.search("abcdef")
    assert not regex.search("xa.c")


def test_like_refuses_non_string_pattern() -> None:
    error = refused({"name": {"like": 5}})
    assert error.path == "where.name.like"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("^Jo", {"$regex": "^Jo"}),
        ("/^jo/i", {"$regex": "^jo", "$options": "i"}),
        ("/a/b/xsmi", {"$regex": "a/b", "$options": "imsx"}),
        ("/^jo/gi", {"$regex": "^jo", "$options": "i"}),
        ("/^jo/", {"$regex": "^jo"}),
        (re.compile("^jo", re.IGNORECASE | re.MULTILINE), {"$regex": "^jo", "$options": "im"}),
        (re.compile(r"\d+"), {"$regex": r"\d+"}),
    ],
)
def test_regexp_operator(value: Any, expected: dict[str, Any]) -> None:
    assert where({"name": {"regexp": value}}) == {"name": expected}


def test_compiled_pattern_as_value_is_a_regexp() -> None:
    assert where({"name": re.compile("^a", re.I)}) == {"name": {"$regex": "^a", "$options": "i"}}


@pytest.mark.parametrize("value", ["/a/q", 5, re.compile(b"x"), re.compile("a", re.ASCII)])
def test_regexp_refuses_bad_values(value: Any) -> None:
    assert refused({"name": {"regexp": value}}).path == "where.name.regexp"


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ({"between": [1]}, "where.age.between"),
        ({"between": [1, 2, 3]}, "where.age.between"),
        ({"between": 5}, "where.age.between"),
        ({"inq": 5}, "where.age.inq"),
        ({"nin": "1,2"}, "where.age.nin"),
        ({"exists": "maybe"}, "where.age.exists"),
        ({"near": 5}, "where.age.near"),
        ({}, "where.age"),
        ({"gt": 1, "bogus": 2}, "where.age.bogus"),
        ({"and": [{"age": 1}]}, "where.age.and"),
    ],
)
def test_malformed_operator_values_are_refused(condition: Any, path: str) -> None:
    assert refused({"age": condition}).path == path


def test_colliding_operators_are_anded() -> None:
    assert where({"name": {"like": "a%", "regexp": "b$"}}) == {
        "$and": [
            {"name": {"$regex": "^a.*$", "$options": "s"}},
            {"name": {"$regex": "b$"}},
        ]
    }
    assert where({"age": {"between": [1, 9], "gte": 3}}) == {
        "$and": [{"age": {"$gte": 1, "$lte": 9}}, {"age": {"$gte": 3}}]
    }


# --- logical operators --------------------------------------------------------------


def test_and_or_nor_nesting() -> None:
    clause = {
        "and": [
            {"age": {"gte": 18}},
            {"or": [{"address.city": "Paris"}, {"name": {"like": "Jo%"}}]},
            {"nor": [{"deleted": True}]},
        ],
        "email": "a@b.co",
    }
    assert where(clause) == {
        "$and": [
            {"age": {"$gte": 18}},
            {"$or": [{"address.city": "Paris"}, {"name": {"$regex": "^Jo.*$", "$options": "s"}}]},
            {"$nor": [{"deleted": True}]},
        ],
        "email": "a@b.co",
    }


@pytest.mark.parametrize("value", [[], {}, "x", [1], None])
def test_logical_operators_need_non_empty_lists_of_clauses(value: Any) -> None:
    error = refused({"or": value})
    assert error.path.startswith("where.or")


def test_error_path_points_into_nested_clauses() -> None:
    error = refused({"and": [{"age": 1}, {"or": [{"age": {"gte": "old"}}]}]})
    assert error.path == "where.and.1.or.0.age.gte"
    assert "Customer.age" in error.reason
    assert "'old'" in error.reason
    assert "int" in error.reason


def test_empty_and_missing_where() -> None:
    assert where({}) == {}
    assert translate_where(CUSTOMER, None) == {}


def test_where_must_be_an_object() -> None:
    assert refused(["age"]).path == "where"
    assert refused_filter({"where": "age=1"}).path == "where"


# --- names and paths ----------------------------------------------------------------


def test_renamed_fields_at_every_depth() -> None:
    assert where(
        {
            "created": {"gt": "2024-01-01T00:00:00Z"},
            "address.zip_code": "75001",
            "addresses.zip_code": {"inq": ["1", "2"]},
        }
    ) == {
        "createdAt": {"$gt": datetime(2024, 1, 1, tzinfo=UTC)},
        "address.zip": "75001",
        "addresses.zip": {"$in": ["1", "2"]},
    }


def test_id_maps_to_underscore_id_with_object_id_coercion() -> None:
    assert where({"id": OID}) == {"_id": ObjectId(OID)}
    assert where({"id": ObjectId(OID)}) == {"_id": ObjectId(OID)}
    assert where({"_id": OID}) == {"_id": ObjectId(OID)}
    assert where({"id": {"inq": [OID, ObjectId(OID)]}}) == {
        "_id": {"$in": [ObjectId(OID), ObjectId(OID)]}
    }
    assert where({"id": {"neq": None}}) == {"_id": {"$ne": None}}


@pytest.mark.parametrize("value", ["abc", 12, "0123456789abcdef0123456z"])
def test_generated_str_id_refuses_non_object_ids(value: Any) -> None:
    error = refused({"id": value})
    assert error.path == "where.id"
    assert "Customer.id" in error.reason


def test_other_id_types_keep_their_type() -> None:
    assert where({"id": "A-1"}, Product.odm_meta()) == {"_id": "A-1"}
    assert where({"sku": "A-1"}, Product.odm_meta()) == {"_id": "A-1"}
    assert where({"id": "7"}, Ticket.odm_meta()) == {"_id": 7}
    assert where({"id": OID}, Document.odm_meta()) == {"_id": ObjectId(OID)}
    assert refused({"id": "nope"}, Document.odm_meta()).path == "where.id"


def test_only_object_id_typed_properties_turn_hex_into_object_ids() -> None:
    assert where({"email": OID}) == {"email": OID}
    assert where({"owner": OID}) == {"owner": ObjectId(OID)}


# --- coercion -----------------------------------------------------------------------


def test_values_are_coerced_and_encoded() -> None:
    token = uuid.UUID(int=1)
    assert where(
        {
            "age": "5",
            "score": "1.5",
            "deleted": "true",
            "token": str(token),
            "birthday": "2024-01-02",
            "price": "9.99",
            "status": "closed",
            "created": {"between": ["2024-01-01", "2024-01-01T12:00:00+02:00"]},
        }
    ) == {
        "age": 5,
        "score": 1.5,
        "deleted": True,
        "token": Binary(token.bytes, 4),
        "birthday": datetime(2024, 1, 2, tzinfo=UTC),
        "price": Decimal128("9.99"),
        "status": "closed",
        "createdAt": {
            "$gte": datetime(2024, 1, 1, tzinfo=UTC),
            "$lte": datetime(2024, 1, 1, 10, tzinfo=UTC),
        },
    }


def test_uuid_is_binary_subtype_4() -> None:
    token = uuid.uuid4()
    result = where({"token": {"inq": [token, str(token)]}})
    assert result == {"token": {"$in": [Binary(token.bytes, 4), Binary(token.bytes, 4)]}}
    assert result["token"]["$in"][0].subtype == 4


def test_list_property_compared_with_a_scalar_uses_the_item_type() -> None:
    assert where({"tags": "a"}) == {"tags": "a"}
    assert where({"tags": {"inq": ["a", "b"]}}) == {"tags": {"$in": ["a", "b"]}}
    assert where({"tags": ["a", "b"]}) == {"tags": ["a", "b"]}
    assert refused({"tags": 5}).path == "where.tags"


def test_values_below_a_dict_property_use_its_value_type() -> None:
    assert where({"counts.visits": {"gt": "3"}}) == {"counts.visits": {"$gt": 3}}


def test_embedded_document_equality_is_encoded_with_field_names() -> None:
    assert where({"address": {"street": "1 rue", "city": "Paris", "zip_code": "75001"}}) == {
        "address": {"street": "1 rue", "city": "Paris", "zip": "75001", "code": None}
    }


def test_constraints_do_not_apply_to_filter_values() -> None:
    assert where({"name": {"gt": "A"}}) == {"name": {"$gt": "A"}}


@pytest.mark.parametrize(
    ("clause", "path"),
    [
        ({"age": "five"}, "where.age"),
        ({"age": {"inq": [1, "x"]}}, "where.age.inq.1"),
        ({"age": {"between": [1, "x"]}}, "where.age.between.1"),
        ({"created": "yesterday"}, "where.created"),
        ({"token": "not-a-uuid"}, "where.token"),
        ({"status": "gone"}, "where.status"),
        ({"owner": "xyz"}, "where.owner"),
        ({"address": {"street": 5}}, "where.address"),
    ],
)
def test_values_that_cannot_be_coerced_are_refused(clause: dict[str, Any], path: str) -> None:
    error = refused(clause)
    assert error.path == path


# --- strict modes -------------------------------------------------------------------


@pytest.mark.parametrize("meta", [CUSTOMER, Lenient.odm_meta()])
def test_unknown_property_is_refused_under_strict_true_and_filter(meta: ModelMeta) -> None:
    error = refused({"nickname": "x"}, meta)
    assert error.path == "where.nickname"
    assert "nickname" in error.reason
    assert refused({"address.country": "FR"}).path == "where.address.country"


def test_unknown_property_passes_through_when_not_strict() -> None:
    loose = Loose.odm_meta()
    assert where({"nickname": "x", "extra.deep": {"gt": 1}}, loose) == {
        "nickname": "x",
        "extra.deep": {"$gt": 1},
    }
    assert where({"address.zip_code": "1", "name": "n"}, loose) == {"address.zip": "1", "name": "n"}
    assert translate_filter(loose, {"order": "nickname DESC", "fields": ["nickname"]}) == Query(
        where={}, projection={"nickname": 1}, sort=[("nickname", -1)], skip=0, limit=None
    )


# --- $ keys and forbidden operators -------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "path"),
    [
        ({"$or": [{"age": 1}]}, "where.$or"),
        ({"age": {"$gt": 1}}, "where.age.$gt"),
        ({"and": [{"age": {"$ne": 1}}]}, "where.and.0.age.$ne"),
        ({"or": [{"and": [{"$expr": {}}]}]}, "where.or.0.and.0.$expr"),
        ({"counts": {"a": {"$gt": 1}}}, "where.counts.a.$gt"),
        ({"address": {"city": {"$ne": "x"}}}, "where.address.city.$ne"),
        ({"age": {"inq": [{"$gt": 1}]}}, "where.age.inq.0.$gt"),
        ({"$text": {"$search": "x"}}, "where.$text"),
        ({"tags.$": "a"}, "where.tags.$"),
    ],
)
def test_dollar_keys_are_refused_by_default(clause: dict[str, Any], path: str) -> None:
    error = refused(clause)
    assert error.path == path
    assert "allow_extended_operators" in error.reason


FORBIDDEN_CLAUSES = [
    ({"$where": "this.age > 1"}, "where.$where"),
    ({"mapReduce": {}}, "where.mapReduce"),
    ({"and": [{"$function": {}}]}, "where.and.0.$function"),
    ({"or": [{"age": {"$accumulator": {}}}]}, "where.or.0.age.$accumulator"),
    ({"age": {"mapReduce": 1}}, "where.age.mapReduce"),
    ({"$expr": {"$function": {"body": "x"}}}, "where.$expr.$function"),
    (
        {"$expr": {"$and": [{"$gt": ["$age", 1]}, {"$accumulator": {}}]}},
        "where.$expr.$and.1.$accumulator",
    ),
    ({"nor": [{"$expr": {"$eq": [{"$where": 1}, 1]}}]}, "where.nor.0.$expr.$eq.0.$where"),
    ({"age": {"$not": {"$where": "x"}}}, "where.age.$not.$where"),
    ({"tags": {"$elemMatch": {"$where": "x"}}}, "where.tags.$elemMatch.$where"),
    ({"counts": {"$in": [{"k": {"$function": {}}}]}}, "where.counts.$in.0.k.$function"),
]


@pytest.mark.parametrize(("clause", "path"), FORBIDDEN_CLAUSES)
@pytest.mark.parametrize("allow", [False, True])
def test_forbidden_operators_are_refused_at_any_depth(
    clause: dict[str, Any], path: str, allow: bool
) -> None:
    error = refused(clause, allow_extended_operators=allow)
    if allow:
        assert error.path == path
        assert "never allowed" in error.reason


def test_forbidden_operators_in_scope_are_refused() -> None:
    error = refused_filter({}, scope={"where": {"$where": "1"}})
    assert error.path == "scope.where.$where"


def test_extended_operators_pass_with_names_mapped_and_values_coerced() -> None:
    clause = {
        "$or": [{"created": {"$gte": "2024-01-01"}}, {"id": {"$in": [OID]}}],
        "age": {"$ne": "3", "$type": "int"},
        "tags": {"$all": ["a"], "$size": 2},
        "addresses": {"$elemMatch": {"zip_code": "1", "city": {"$ne": "x"}}},
        "address.zip_code": {"$not": {"$gt": "5"}},
        "$expr": {"$gt": ["$age", 1]},
    }
    assert where(clause, allow_extended_operators=True) == {
        "$or": [
            {"createdAt": {"$gte": datetime(2024, 1, 1, tzinfo=UTC)}},
            {"_id": {"$in": [ObjectId(OID)]}},
        ],
        "age": {"$ne": 3, "$type": "int"},
        "tags": {"$all": ["a"], "$size": 2},
        "addresses": {"$elemMatch": {"zip": "1", "city": {"$ne": "x"}}},
        "address.zip": {"$not": {"$gt": "5"}},
        "$expr": {"$gt": ["$age", 1]},
    }


def test_extended_elem_match_on_scalar_items_coerces_with_the_item_type() -> None:
    result = where(
        {"tags": {"$elemMatch": {"$gte": "a", "$lt": "m"}}}, allow_extended_operators=True
    )
    assert result == {"tags": {"$elemMatch": {"$gte": "a", "$lt": "m"}}}


def test_extended_elem_match_on_untyped_documents_is_kept() -> None:
    assert where(
        {"items": {"$elemMatch": {"a": 1}}}, Loose.odm_meta(), allow_extended_operators=True
    ) == {"items": {"$elemMatch": {"a": 1}}}


def test_extended_unknown_names_still_checked_under_strict() -> None:
    assert (
        refused(
            {"addresses": {"$elemMatch": {"country": "FR"}}}, allow_extended_operators=True
        ).path
        == "where.addresses.$elemMatch.country"
    )
    assert (
        refused({"$or": [{"nickname": 1}]}, allow_extended_operators=True).path
        == "where.$or.0.nickname"
    )


# --- hidden properties --------------------------------------------------------------


def test_unknown_property_error_lists_no_hidden_property() -> None:
    error = refused({"nope": 1})
    assert "known: " in error.reason and "email" in error.reason
    assert "password" not in error.reason  # the message may reach a REST client


def test_hidden_properties_may_be_queried_by_default() -> None:
    assert where({"password": "x", "address.code": "c"}) == {"password": "x", "address.code": "c"}


@pytest.mark.parametrize(
    ("clause", "path"),
    [
        ({"password": "x"}, "where.password"),
        ({"or": [{"age": 1}, {"password": {"exists": True}}]}, "where.or.1.password"),
        ({"address.code": "c"}, "where.address.code"),
        ({"addresses.code": "c"}, "where.addresses.code"),
    ],
)
def test_hidden_properties_are_refused_when_prohibited(clause: dict[str, Any], path: str) -> None:
    error = refused(clause, prohibit_hidden=True)
    assert error.path == path
    assert "hidden" in error.reason


def test_hidden_in_elem_match_is_refused_when_prohibited() -> None:
    error = refused(
        {"addresses": {"$elemMatch": {"code": "c"}}},
        allow_extended_operators=True,
        prohibit_hidden=True,
    )
    assert error.path == "where.addresses.$elemMatch.code"


def test_hidden_in_order_is_refused_when_prohibited() -> None:
    assert sort_spec(CUSTOMER, "password") == [("password", 1)]
    error = refused_filter({"order": "password DESC"}, prohibit_hidden=True)
    assert error.path == "order.0"
    assert "hidden" in error.reason


def test_hidden_in_fields_is_allowed_when_prohibited() -> None:
    query = translate_filter(CUSTOMER, {"fields": {"password": False}}, prohibit_hidden=True)
    assert query.projection == {"password": 0}


# --- order --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("created DESC, name ASC", [("createdAt", -1), ("name", 1)]),
        (["created desc", "name"], [("createdAt", -1), ("name", 1)]),
        ("age", [("age", 1)]),
        ("  age   Desc ", [("age", -1)]),
        (["id DESC", "address.zip_code"], [("_id", -1), ("address.zip", 1)]),
        ("", None),
        ([], None),
        (None, None),
    ],
)
def test_order(order: Any, expected: Any) -> None:
    assert sort_spec(CUSTOMER, order) == expected


@pytest.mark.parametrize(
    ("order", "path"),
    [
        ("age UP", "order.0"),
        ("age DESC extra", "order.0"),
        ("age,,name", "order.1"),
        (5, "order"),
        ({"age": "DESC"}, "order"),
        ([5], "order"),
        ("nickname", "order.0"),
        ("age, age DESC", "order.1"),
        ("$natural", "order.0"),
    ],
)
def test_bad_order_is_refused(order: Any, path: str) -> None:
    assert refused_filter({"order": order}).path == path


# --- fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (["email", "name"], {"email": 1, "name": 1}),
        ({"email": True, "created": True}, {"email": 1, "createdAt": 1}),
        ({"password": False, "address": False}, {"password": 0, "address": 0}),
        ({"email": "true", "name": 1}, {"email": 1, "name": 1}),
        ("email, name", {"email": 1, "name": 1}),
        (["address.zip_code", "address"], {"address": 1}),
        (["id"], {"_id": 1}),
        ({"id": False, "password": False}, {"password": 0}),
        ({"id": False}, None),
        ([], None),
        (None, None),
    ],
)
def test_fields(fields: Any, expected: Any) -> None:
    assert projection_spec(CUSTOMER, fields) == expected


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"email": True, "password": False}, "fields"),
        (["nickname"], "fields.0"),
        ({"nickname": True}, "fields.nickname"),
        ({"email": "maybe"}, "fields.email"),
        ([5], "fields.0"),
        (5, "fields"),
        (["$where"], "fields.0"),
    ],
)
def test_bad_fields_are_refused(fields: Any, path: str) -> None:
    assert refused_filter({"fields": fields}).path == path


# --- limit, skip, top-level keys -----------------------------------------------------


def test_full_filter() -> None:
    query = translate_filter(
        CUSTOMER,
        {
            "where": {"age": {"gte": "18"}},
            "fields": ["email"],
            "order": "created DESC",
            "limit": "10",
            "skip": "20",
        },
    )
    assert query == Query(
        where={"age": {"$gte": 18}},
        projection={"email": 1},
        sort=[("createdAt", -1)],
        skip=20,
        limit=10,
    )


def test_no_filter() -> None:
    assert translate_filter(CUSTOMER, None) == Query({}, None, None, 0, None)
    assert translate_filter(CUSTOMER, {}) == Query({}, None, None, 0, None)


def test_skip_without_limit_has_no_implicit_limit() -> None:
    query = translate_filter(CUSTOMER, {"skip": 5})
    assert (query.skip, query.limit) == (5, None)
    assert translate_filter(CUSTOMER, {"offset": 7}).skip == 7
    assert translate_filter(CUSTOMER, {"skip": 0, "limit": None}).skip == 0


@pytest.mark.parametrize(
    ("filter", "path"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": [1]}, "limit"),
        ({"limit": 2**63}, "limit"),
        ({"skip": -1}, "skip"),
        ({"skip": False}, "skip"),
        ({"skip": "1.0"}, "skip"),
        ({"offset": "x"}, "offset"),
        ({"skip": 1, "offset": 2}, "offset"),
        ({"where": {}, "sort": "age"}, "sort"),
        ({"$where": "x"}, "$where"),
    ],
)
def test_bad_filter_parts_are_refused(filter: dict[str, Any], path: str) -> None:
    assert refused_filter(filter).path == path


def test_include_is_left_to_the_repository_the_query_is_the_same() -> None:
    # the repository reads the relations (and refuses unknown ones); the query ignores it
    assert translate_filter(CUSTOMER, {"include": "orders", "limit": 2}) == translate_filter(
        CUSTOMER, {"limit": 2}
    )


def test_filter_must_be_an_object() -> None:
    assert refused_filter(["where"]).path == ""


# --- scope --------------------------------------------------------------------------


def test_merge_scope_rules() -> None:
    scope = {
        "where": {"deleted": False},
        "limit": 100,
        "order": "name",
        "skip": 1,
        "fields": ["name"],
    }
    assert merge_scope(scope, None) == {
        "where": {"deleted": False},
        "limit": 100,
        "order": "name",
        "skip": 1,
        "fields": ["name"],
    }
    assert merge_scope(
        scope, {"where": {"age": 1}, "limit": "500", "order": "age", "offset": 0}
    ) == {
        "where": {"and": [{"deleted": False}, {"age": 1}]},
        "limit": 100,
        "order": "age",
        "skip": 0,
        "fields": ["name"],
    }
    assert merge_scope({"limit": 100}, {"limit": 10, "fields": {"email": True}}) == {
        "limit": 10,
        "fields": {"email": True},
    }
    assert merge_scope(None, {"where": {"age": 1}}) == {"where": {"age": 1}}
    assert merge_scope(None, None) == {}


def test_scope_where_is_anded_with_the_call_where() -> None:
    scope = {"where": {"deleted": False}, "limit": 100}
    query = translate_filter(CUSTOMER, {"where": {"age": 3}, "limit": 10}, scope=scope)
    assert query == Query({"deleted": False, "age": 3}, None, None, 0, 10)
    query = translate_filter(CUSTOMER, {"where": {"deleted": True}}, scope=scope)
    assert query.where == {"$and": [{"deleted": False}, {"deleted": True}]}
    assert query.limit == 100
    assert translate_filter(CUSTOMER, None, scope=scope).where == {"deleted": False}


def test_scope_order_skip_fields_apply_unless_the_call_gives_them() -> None:
    scope = {"order": "name DESC", "skip": 3, "fields": ["name"]}
    assert translate_filter(CUSTOMER, None, scope=scope) == Query(
        {}, {"name": 1}, [("name", -1)], 3, None
    )
    assert translate_filter(
        CUSTOMER, {"order": ["age"], "skip": 0, "fields": {"password": False}}, scope=scope
    ) == Query({}, {"password": 0}, [("age", 1)], 0, None)


def test_scope_is_trusted_configuration() -> None:
    scope = {"where": {"password": {"$exists": False}}, "order": "password"}
    query = translate_filter(CUSTOMER, {"where": {"age": 1}}, scope=scope, prohibit_hidden=True)
    assert query.where == {"password": {"$exists": False}, "age": 1}
    assert query.sort == [("password", 1)]


def test_translate_where_with_scope_where() -> None:
    assert translate_where(CUSTOMER, {"age": "1"}, scope_where={"deleted": False}) == {
        "deleted": False,
        "age": 1,
    }
    assert translate_where(CUSTOMER, None, scope_where={"deleted": False}) == {"deleted": False}


def test_scope_errors_name_the_scope() -> None:
    assert refused_filter(None, scope={"limit": 0}).path == "scope.limit"
    assert refused_filter(None, scope={"where": {"nickname": 1}}).path == "scope.where.nickname"


def test_scope_values_are_the_scalar_equalities_of_the_scope() -> None:
    scoped = Scoped.odm_meta()
    assert scope_values(scoped, scoped.settings.scope) == {
        "deleted": False,
        "tenant": "a",
        "rank": 3,
    }
    assert scope_values(
        CUSTOMER,
        {
            "where": {
                "deleted": {"eq": False},
                "age": {"gt": 3},
                "tags": ["a"],
                "address.city": "Paris",
                "or": [{"email": "x"}],
                "and": [{"and": [{"name": "Nina"}]}],
            }
        },
    ) == {"deleted": False, "address.city": "Paris", "name": "Nina"}
    assert scope_values(CUSTOMER, None) == {}
    assert scope_values(CUSTOMER, {"limit": 3}) == {}


def test_scope_defaults_refuse_unknown_and_bad_values() -> None:
    with pytest.raises(InvalidFilterError) as caught:
        scope_values(CUSTOMER, {"where": {"tenant": "a"}})
    assert caught.value.path == "scope.where.tenant"
    with pytest.raises(InvalidFilterError) as caught:
        scope_values(CUSTOMER, {"where": {"and": [{"age": "old"}]}})
    assert caught.value.path == "scope.where.and.0.age"
    assert scope_values(Loose.odm_meta(), {"where": {"tenant": "a"}}) == {"tenant": "a"}


# --- the trust boundary: reads ----------------------------------------------------------

from odm.errors import EntityNotFoundError  # noqa: E402
from odm.filters import MAX_LIKE_LENGTH, MAX_LIKE_WILDCARDS, Filter, Where  # noqa: E402
from odm.hidden import HIDDEN_REASON, path_holds_hidden, path_is_hidden  # noqa: E402
from odm.ids import coerce_id, id_condition  # noqa: E402


class Other(Model):
    label: str = ""


@model(strict=False)
class Vaulted(Entity):
    name: str = ""
    age: int = prop(default=0, field_name="ag")
    password: str = prop(default="", hidden=True, field_name="pw")
    address: Address | None = None
    either: Address | Other | None = None
    by_name: dict[str, Address] = prop(default_factory=dict)
    addresses: list[Address] = prop(default_factory=list)


VAULTED = Vaulted.odm_meta()


@pytest.mark.parametrize(
    ("path", "names", "holds"),
    [
        ("name", False, False),
        ("password", True, True),
        ("pw", True, True),  # the stored field name reaches it too
        ("address", False, True),
        ("address.code", True, True),
        ("address.city", False, False),
        ("either", False, True),
        ("either.code", True, True),
        ("either.label", False, False),
        ("by_name", False, True),
        ("by_name.home", False, True),
        ("by_name.home.code", True, True),
        ("addresses.code", True, True),
        ("addresses.0", False, True),
        ("addresses.0.code", True, True),
        ("addresses.0.city", False, False),
        ("undeclared.code", False, False),
    ],
)
def test_the_hidden_analysis_reads_every_path(path: str, names: bool, holds: bool) -> None:
    assert path_is_hidden(VAULTED, path) is names
    assert path_holds_hidden(VAULTED, path) is holds


@pytest.mark.parametrize(
    ("clause", "path"),
    [
        ({"pw": "x"}, "where.pw"),
        ({"either.code": "x"}, "where.either.code"),
        ({"either": {"city": "P"}}, "where.either"),
        ({"either": {"inq": [{"city": "P"}]}}, "where.either.inq.0"),
        ({"by_name": {"home": {"city": "P"}}}, "where.by_name"),
        ({"by_name.home.code": "x"}, "where.by_name.home.code"),
        ({"addresses.0": {"city": "P"}}, "where.addresses.0"),
        ({"address": {"nin": [{"city": "P"}]}}, "where.address.nin.0"),
        ({"$expr": {"$eq": ["$pw", "x"]}}, "where.$expr"),
        ({"$jsonSchema": {"required": ["pw"]}}, "where.$jsonSchema"),
        ({"address": {"$gt": {"city": ""}}}, "where.address.$gt"),
        ({"either": {"$elemMatch": {"code": "x"}}}, "where.either.$elemMatch"),
    ],
    ids=repr,
)
def test_prohibited_hidden_has_no_bypass(clause: dict[str, Any], path: str) -> None:
    error = refused(clause, VAULTED, prohibit_hidden=True, allow_extended_operators=True)
    assert error.path == path
    assert "code" not in error.reason
    if clause == {"pw": "x"}:  # the stored field name is refused on its own, always
        assert "stored name" in error.reason
        return
    assert "hidden" in error.reason
    where(clause, VAULTED, allow_extended_operators=True)  # allowed without prohibit_hidden


def test_safe_extended_operators_pass_under_prohibit_hidden() -> None:
    assert where(
        {"$comment": "why", "address": {"$type": "object"}, "addresses": {"$size": 2}},
        VAULTED,
        prohibit_hidden=True,
        allow_extended_operators=True,
    ) == {"$comment": "why", "address": {"$type": "object"}, "addresses": {"$size": 2}}
    # A model with no hidden property anywhere keeps $expr.
    assert where({"$expr": {"$gt": ["$age", 1]}}, Lenient.odm_meta(), allow_extended_operators=True)


@pytest.mark.parametrize("order", ["address", "either DESC", "by_name.home", "addresses.0"])
def test_order_by_a_value_holding_a_hidden_field_is_refused(order: str) -> None:
    error = refused_filter({"order": order}, VAULTED, prohibit_hidden=True)
    assert error.reason == HIDDEN_REASON
    assert translate_filter(VAULTED, {"order": order}).sort  # allowed when not prohibited


@pytest.mark.parametrize(
    "filter",
    [
        {"where": {"ag": 1}},
        {"where": {"_id": "0123456789abcdef01234567"}},
        {"where": {"address.zip": "1"}},  # a field name below a strict=False root
        {"where": {"or": [{"name": "a"}, {"ag": 1}]}},
        {"order": "ag"},
        {"fields": ["ag"]},
    ],
    ids=repr,
)
def test_stored_field_names_are_refused_on_loose_models(filter: dict[str, Any]) -> None:
    error = refused_filter(filter, VAULTED)
    assert "stored name of a declared property" in error.reason


def test_property_names_and_extras_still_pass_on_loose_models() -> None:
    assert where({"age": 1, "address.zip_code": "1", "other": 2}, VAULTED) == {
        "ag": 1,
        "address.zip": "1",
        "other": 2,
    }
    # On a strict model _id stays the id's field.
    assert where({"_id": OID}) == {"_id": ObjectId(OID)}


def test_deep_filters_are_refused_naming_the_limit() -> None:
    deep: dict[str, Any] = {"age": 1}
    for _ in range(400):
        deep = {"and": [deep]}
    error = refused(deep)
    assert "32" in error.reason
    value: dict[str, Any] = {"x": 1}
    for _ in range(1000):
        value = {"k": value}
    assert "32" in refused({"counts": value}).reason
    shallow: dict[str, Any] = {"age": 1}
    for _ in range(10):
        shallow = {"and": [shallow]}
    assert where(shallow)


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("%%%a", "^.*a$"),
        ("a%%b%%%c", "^a(?>.*?b).*c$"),
        ("%a%b%", "^(?>.*?a)(?>.*?b).*$"),
        ("x_%y\\%", "^x..*y%$"),
        ("%", "^.*$"),
    ],
)
def test_like_collapses_runs_and_uses_atomic_groups(pattern: str, regex: str) -> None:
    assert like_to_regex(pattern) == regex


def test_like_translation_matches_as_before_and_never_backtracks() -> None:
    import time

    for pattern, value, expected in [
        ("%a%b", "xxaxxb", True),
        ("%a%b", "xxbxxa", False),
        ("a_c%d", "abcxxd", True),
        ("%ab%ab", "abab", True),
        ("%aba%", "xabax", True),
        ("%" * 20 + "x", "a" * 14, False),
    ]:
        compiled = re.compile(like_to_regex(pattern), re.DOTALL)
        assert bool(compiled.search(value)) is expected, pattern
    hostile = re.compile(like_to_regex("%a" * 30 + "%b"), re.DOTALL)
    started = time.perf_counter()
    assert not hostile.search("a" * 200)
    assert time.perf_counter() - started < 0.5


def test_like_patterns_are_bounded() -> None:
    assert str(MAX_LIKE_LENGTH) in refused({"name": {"like": "a" * 1025}}).reason
    error = refused({"name": {"ilike": "%a" * (MAX_LIKE_WILDCARDS + 1)}})
    assert str(MAX_LIKE_WILDCARDS) in error.reason
    assert where({"name": {"like": "%a" * MAX_LIKE_WILDCARDS}})
    assert where({"name": {"like": "%" * 1000 + "a"}}) == {
        "name": {"$regex": "^.*a$", "$options": "s"}
    }


def test_regexp_can_be_refused() -> None:
    for clause in (
        {"name": {"regexp": "^a"}},
        {"name": re.compile("^a")},
        {"name": {"$regex": "^a"}},
        {"and": [{"name": {"nlike": "a%"}}, {"email": {"regexp": "/x/i"}}]},
    ):
        error = refused(clause, allow_regexp=False, allow_extended_operators=True)
        assert "allow_regexp=False" in error.reason
        where(clause, allow_extended_operators=True)  # allowed by default
    assert where({"name": {"like": "a%"}}, allow_regexp=False)


def test_eq_compares_with_the_value_itself() -> None:
    assert where({"age": {"eq": "40"}}) == {"age": 40}
    assert where({"email": {"neq": None}}) == {"email": {"$ne": None}}  # an operator object
    for value in ({"neq": None}, {"$ne": None}, ["a@b.c"], {"a": 1}):
        refused({"email": {"eq": value}}, allow_extended_operators=True)


@pytest.mark.parametrize(
    "filter",
    [
        {"order": "nope"},
        {"fields": ["nope"]},
        {"fields": {"nope": True}},
        {"where": {"nope": 1}},
        {"where": {"address": {"city": "P"}}},
        {"where": {"address.nope": 1}},
    ],
    ids=repr,
)
def test_no_error_message_lists_hidden_names(filter: dict[str, Any]) -> None:
    error = refused_filter(filter, prohibit_hidden=True)
    assert "password" not in str(error) and "code" not in str(error)


@pytest.mark.parametrize(
    ("meta", "value", "expected"),
    [
        (CUSTOMER, OID, ObjectId(OID)),
        (CUSTOMER, OID.upper(), ObjectId(OID)),
        (CUSTOMER, ObjectId(OID), ObjectId(OID)),
        (Document.odm_meta(), OID, ObjectId(OID)),
        (Ticket.odm_meta(), "5", 5),
        (Ticket.odm_meta(), 5, 5),
        (Product.odm_meta(), "sku-1", "sku-1"),
    ],
)
def test_ids_are_coerced_to_the_id_type(meta: ModelMeta, value: Any, expected: Any) -> None:
    assert coerce_id(meta, value) == expected
    assert id_condition(meta, value) == {meta.id.name: expected}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value",
    [
        {"exists": True},
        {"neq": None},
        {"regexp": "^adm"},
        {"$ne": None},
        [OID],
        (OID,),
        None,
        True,
        "not-an-id",
        OID + "0",
        re.compile("."),
    ],
    ids=repr,
)
def test_anything_else_is_not_an_id(value: Any) -> None:
    for meta in (CUSTOMER, Document.odm_meta(), Product.odm_meta()):
        if meta is Product.odm_meta() and isinstance(value, str):
            continue  # any text is a text id
        with pytest.raises(EntityNotFoundError):
            coerce_id(meta, value)
    with pytest.raises(EntityNotFoundError):
        coerce_id(Ticket.odm_meta(), 2**64)


def test_filter_and_where_types_name_every_key() -> None:
    assert set(Filter.__annotations__) == {
        "where",
        "fields",
        "order",
        "limit",
        "skip",
        "offset",
        "include",
    }
    assert set(Where.__annotations__) == {"and", "or", "nor"}
    assert not Filter.__total__ and not Where.__total__


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("part", ["fields", "order", "limit", "skip", "where"])
def test_every_part_of_a_filter_is_depth_checked(part: str) -> None:
    error = refused_filter({part: _deep_list(5000)})
    assert "32" in error.reason


def test_a_deep_value_as_id_is_not_found() -> None:
    with pytest.raises(EntityNotFoundError) as caught:
        coerce_id(CUSTOMER, {"k": _deep_list(5000)})
    assert "deeply nested" in str(caught.value)


@pytest.mark.parametrize(
    "clause",
    [{"anything.name.$ne": 1}, {"anything": {"name.$ne": ""}}, {"address.$gt": 1}],
)
def test_a_dollar_segment_inside_a_path_is_refused_even_with_extended_operators(
    clause: dict[str, Any],
) -> None:
    error = refused(clause, Loose.odm_meta(), allow_extended_operators=True)
    assert "cannot start with '$'" in error.reason
