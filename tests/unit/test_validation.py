"""Write checks (SPEC §2.5, §4 "validate before writing", §6 scope, §7 forceId, §8 updates,
§12): every problem listed at once, with path, code, message and value."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pytest
from bson import ObjectId

from odm.errors import ValidationError
from odm.models import Entity, Model, model
from odm.properties import prop
from odm.updates import translate_update
from odm.validation import validate_create, validate_replace


@model()
class Address(Model):
    street: str
    city: str = prop(json_schema={"minLength": 2})
    zip_code: str = prop("", field_name="zip")


@model(
    collection="customers",
    strict="filter",
    hidden_properties=["password"],
    scope={"where": {"deleted": False}, "limit": 100},
    description="A shop customer",
)
class Customer(Entity):
    id: str = prop(id=True, generated=True)
    email: str = prop(index={"unique": True}, json_schema={"format": "email"})
    name: str = prop(
        json_schema={
            "minLength": 2,
            "maxLength": 40,
            "errorMessage": "name must be 2-40 characters",
        }
    )
    password: str | None = None
    age: int = prop(0, json_schema={"minimum": 0})
    created: dt.datetime = prop(default_fn="now", field_name="createdAt")
    tags: list[str] = prop(default_factory=list)
    address: Address | None = None
    deleted: bool = False


class StrictItem(Entity):
    label: str
    count: int = 0
    address: Address | None = None
    meta: dict[str, Any] = prop(default_factory=dict)
    addresses: list[Address] = prop(default_factory=list)
    notes: list[Any] = prop(default_factory=list)


@model(strict="filter")
class FilterItem(Entity):
    label: str
    count: int = 0
    address: Address | None = None
    meta: dict[str, Any] = prop(default_factory=dict)
    addresses: list[Address] = prop(default_factory=list)
    notes: list[Any] = prop(default_factory=list)


@model(strict=False)
class LooseItem(Entity):
    label: str
    count: int = 0
    address: Address | None = None
    meta: dict[str, Any] = prop(default_factory=dict)
    addresses: list[Address] = prop(default_factory=list)
    notes: list[Any] = prop(default_factory=list)


ALL_STRICT = [
    pytest.param(StrictItem, id="strict"),
    pytest.param(FilterItem, id="filter"),
    pytest.param(LooseItem, id="loose"),
]
Mode = Literal["create", "replace", "update"]
WRITE_MODES: list[Mode] = ["create", "replace", "update"]


def refused(cls: type[Model], data: Any, **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        cls.validate_input(data, **kwargs)
    assert caught.value.model == cls.__odm__.name
    return [dict(detail) for detail in caught.value.details]


# --- every problem at once (§4, §12) -------------------------------------------------------


def test_every_problem_is_listed_at_once() -> None:
    details = refused(
        Customer,
        {
            "email": "not-an-email",
            "name": "A",
            "age": -1,
            "tags": "x",
            "address": {"street": "s", "city": "P"},
        },
    )
    assert details == [
        {
            "path": "email",
            "code": "format",
            "message": "Customer.email: must be a valid email",
            "value": "not-an-email",
        },
        {
            "path": "name",
            "code": "minLength",
            "message": "name must be 2-40 characters",
            "value": "A",
        },
        {"path": "age", "code": "minimum", "message": "Customer.age: must be >= 0", "value": -1},
        {
            "path": "tags",
            "code": "type",
            "message": "Customer.tags: Input should be a valid list",
            "value": "x",
        },
        {
            "path": "address.city",
            "code": "minLength",
            "message": "Customer.address.city: must be at least 2 characters long",
            "value": "P",
        },
    ]


def test_missing_required_properties_are_all_reported() -> None:
    assert refused(Customer, {}) == [
        {
            "path": "email",
            "code": "presence",
            "message": "Customer.email: is required",
            "value": None,
        },
        {
            "path": "name",
            "code": "presence",
            "message": "Customer.name: is required",
            "value": None,
        },
    ]


def test_type_errors_name_the_model_and_path() -> None:
    details = refused(StrictItem, {"label": 5, "count": "many"})
    assert [(d["path"], d["code"], d["value"]) for d in details] == [
        ("label", "type", 5),
        ("count", "type", "many"),
    ]
    assert details[0]["message"].startswith("StrictItem.label: ")
    assert details[1]["message"].startswith("StrictItem.count: ")


def test_list_item_paths_use_the_index() -> None:
    details = refused(StrictItem, {"label": "x", "addresses": [{"street": "s", "city": "OK"}, {}]})
    assert [(d["path"], d["code"]) for d in details] == [
        ("addresses.1.street", "presence"),
        ("addresses.1.city", "presence"),
    ]
    assert details[0]["message"] == "StrictItem.addresses.1.street: is required"


def test_valid_data_is_returned_cleaned_with_defaults() -> None:
    cleaned = Customer.validate_input(
        {"email": "a@b.co", "name": "Al", "age": "41", "address": {"street": "s", "city": "Paris"}}
    )
    created = cleaned.pop("created")
    assert isinstance(created, dt.datetime) and created.tzinfo is not None
    assert cleaned == {
        "id": None,
        "email": "a@b.co",
        "name": "Al",
        "password": None,
        "age": 41,
        "tags": [],
        "address": Address(street="s", city="Paris", zip_code=""),
        "deleted": False,
    }


def test_an_instance_is_accepted_as_data() -> None:
    customer = Customer(email="a@b.co", name="Al")
    cleaned = Customer.validate_input(customer)
    assert cleaned["email"] == "a@b.co"
    assert cleaned["created"] == customer.created


def test_data_that_is_not_a_mapping_is_refused() -> None:
    assert refused(Customer, ["email"]) == [
        {
            "path": "",
            "code": "type",
            "message": "Customer: data must be a mapping or a Customer instance, not list",
            "value": ["email"],
        }
    ]


def test_input_uses_property_names_not_field_names() -> None:
    details = refused(
        StrictItem, {"label": "x", "address": {"street": "s", "city": "Paris", "zip": "1"}}
    )
    assert [(d["path"], d["code"]) for d in details] == [("address.zip", "unknown-property")]
    cleaned = StrictItem.validate_input(
        {"label": "x", "address": {"street": "s", "city": "Paris", "zip_code": "1"}}
    )
    assert cleaned["address"].zip_code == "1"


# --- strict modes on writes (§2.5) ------------------------------------------------------------


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_strict_mode_refuses_unknown_property(mode: Mode) -> None:
    details = refused(StrictItem, {"label": "x", "colour": "red"}, mode=mode)
    assert details == [
        {
            "path": "colour",
            "code": "unknown-property",
            "message": "StrictItem.colour: is not a property of the model",
            "value": "red",
        }
    ]


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_filter_mode_drops_unknown_property(mode: Mode) -> None:
    cleaned = FilterItem.validate_input({"label": "x", "colour": "red"}, mode=mode)
    assert "colour" not in cleaned
    assert cleaned["label"] == "x"


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_loose_mode_keeps_unknown_property(mode: Mode) -> None:
    cleaned = LooseItem.validate_input({"label": "x", "colour": "red"}, mode=mode)
    assert cleaned["colour"] == "red"
    assert cleaned["label"] == "x"


def test_filter_mode_drops_unknown_on_create_and_keeps_the_rest() -> None:
    cleaned = FilterItem.validate_input({"label": "x", "count": 2, "colour": "red"})
    assert cleaned == {
        "id": None,
        "label": "x",
        "count": 2,
        "address": None,
        "meta": {},
        "addresses": [],
        "notes": [],
    }


def test_strict_embedded_model_refuses_unknown_property_in_every_parent_mode() -> None:
    for cls in (StrictItem, FilterItem, LooseItem):
        details = refused(cls, {"label": "x", "address": {"street": "s", "city": "Paris", "x": 1}})
        assert [(d["path"], d["code"], d["value"]) for d in details] == [
            ("address.x", "unknown-property", 1)
        ]


def test_unknown_and_invalid_values_are_reported_together() -> None:
    details = refused(StrictItem, {"label": 1, "colour": "red"})
    assert [(d["path"], d["code"]) for d in details] == [
        ("colour", "unknown-property"),
        ("label", "type"),
    ]


# --- invalid names at any depth (§2.5) ------------------------------------------------------


INVALID_NAME_CASES = [
    pytest.param({"label": "x", "$where": "1"}, "$where", "$where", id="top-dollar"),
    pytest.param({"label": "x", "a.b": 1}, "a.b", "a.b", id="top-dotted"),
    pytest.param({"label": "x", "meta": {"$gt": 1}}, "meta.$gt", "$gt", id="dict-dollar"),
    pytest.param(
        {"label": "x", "meta": {"ok": {"x.y": 1}}}, "meta.ok.x.y", "x.y", id="deep-dict-dotted"
    ),
    pytest.param(
        {"label": "x", "address": {"street": "s", "city": "Paris", "$set": 1}},
        "address.$set",
        "$set",
        id="model-dict-dollar",
    ),
    pytest.param(
        {"label": "x", "addresses": [{"street": "s", "city": "Paris", "c.d": 1}]},
        "addresses.0.c.d",
        "c.d",
        id="list-of-models-dotted",
    ),
    pytest.param(
        {"label": "x", "notes": ["ok", {"$ne": 1}]}, "notes.1.$ne", "$ne", id="list-item-dollar"
    ),
    pytest.param(
        {"label": "x", "meta": {"items": [{"k": [{"$x": 1}]}]}},
        "meta.items.0.k.0.$x",
        "$x",
        id="list-in-dict-in-list",
    ),
]


@pytest.mark.parametrize("cls", ALL_STRICT)
@pytest.mark.parametrize("mode", WRITE_MODES)
@pytest.mark.parametrize(("data", "path", "key"), INVALID_NAME_CASES)
def test_invalid_names_are_refused_at_every_depth_in_every_mode(
    cls: type[Entity], mode: Mode, data: dict[str, Any], path: str, key: str
) -> None:
    details = refused(cls, data, mode=mode)
    assert [(d["path"], d["code"]) for d in details] == [(path, "invalid-name")]
    assert details[0]["message"] == (
        f"{cls.__name__}.{path}: name {key!r} is not allowed "
        "(names may not start with '$' or contain '.')"
    )


def test_invalid_names_in_an_instance_are_refused() -> None:
    item = LooseItem(label="x", meta={"$bad": 1})
    assert [(d["path"], d["code"]) for d in refused(LooseItem, item)] == [
        ("meta.$bad", "invalid-name")
    ]


# --- forceId (§7) ----------------------------------------------------------------------------


def test_force_id_refuses_an_id_on_create() -> None:
    oid = str(ObjectId())
    assert refused(Customer, {"id": oid, "email": "a@b.co", "name": "Al"}) == [
        {
            "path": "id",
            "code": "absence",
            "message": "Customer.id: is generated by the database and may not be given (force_id)",
            "value": oid,
        }
    ]


def test_force_id_refuses_the_stored_id_name_on_create() -> None:
    oid = ObjectId()
    details = refused(Customer, {"_id": oid, "email": "a@b.co", "name": "Al"})
    assert [(d["path"], d["code"]) for d in details] == [("id", "absence")]


def test_force_id_accepts_a_none_id_on_create() -> None:
    assert Customer.validate_input({"id": None, "email": "a@b.co", "name": "Al"})["id"] is None


def test_force_id_false_accepts_a_caller_id_on_create() -> None:
    @model(force_id=False)
    class Ticket(Entity):
        title: str

    oid = str(ObjectId())
    assert Ticket.validate_input({"id": oid, "title": "t"})["id"] == oid
    ticket = validate_create(Ticket, {"id": oid, "title": "t"})
    assert ticket.id == oid


def test_force_id_refuses_a_different_id_on_replace() -> None:
    stored_id, other_id = str(ObjectId()), str(ObjectId())
    data = {"id": other_id, "email": "a@b.co", "name": "Al"}
    with pytest.raises(ValidationError) as caught:
        validate_replace(Customer, data, target_id=stored_id)
    assert caught.value.details == [
        {
            "path": "id",
            "code": "absence",
            "message": "Customer.id: the id may not be given (force_id)",
            "value": other_id,
        }
    ]


def test_replace_accepts_the_same_id() -> None:
    stored_id = str(ObjectId())
    replaced = validate_replace(
        Customer, {"id": stored_id, "email": "a@b.co", "name": "Al"}, target_id=stored_id
    )
    assert replaced.id == stored_id
    same_as_object_id = validate_replace(
        Customer, {"id": ObjectId(stored_id), "email": "a@b.co", "name": "Al"}, target_id=stored_id
    )
    assert same_as_object_id.id == stored_id


def test_replace_without_a_target_takes_the_data_id_as_the_target() -> None:
    oid = str(ObjectId())
    cleaned = Customer.validate_input({"id": oid, "email": "a@b.co", "name": "Al"}, mode="replace")
    assert cleaned["id"] == oid


def test_replace_keeps_the_stored_caller_supplied_id() -> None:
    class Sku(Entity):
        code: str = prop(id=True)
        title: str

    assert validate_replace(Sku, {"title": "t"}, target_id="A1") == Sku(code="A1", title="t")
    assert validate_replace(Sku, {"code": "A1", "title": "t"}, target_id="A1").code == "A1"
    assert Sku.validate_input({"code": "A1", "title": "t"}, mode="replace") == {
        "code": "A1",
        "title": "t",
    }
    with pytest.raises(ValidationError) as caught:
        validate_replace(Sku, {"code": "B2", "title": "t"}, target_id="A1")
    assert caught.value.details == [
        {
            "path": "code",
            "code": "immutable",
            "message": "Sku.code: the id of a stored entity cannot change",
            "value": "B2",
        }
    ]


def test_replace_without_force_id_refuses_changing_the_id() -> None:
    @model(force_id=False)
    class Ticket(Entity):
        title: str

    stored_id, other_id = str(ObjectId()), str(ObjectId())
    with pytest.raises(ValidationError) as caught:
        validate_replace(Ticket, {"id": other_id, "title": "t"}, target_id=stored_id)
    assert [(d["path"], d["code"]) for d in caught.value.details] == [("id", "immutable")]


def test_replace_reapplies_defaults_to_missing_properties() -> None:
    cleaned = Customer.validate_input({"email": "a@b.co", "name": "Al"}, mode="replace")
    assert cleaned["age"] == 0
    assert cleaned["tags"] == []
    assert isinstance(cleaned["created"], dt.datetime)


def test_force_id_refuses_an_id_in_update_data() -> None:
    oid = str(ObjectId())
    details = refused(Customer, {"id": oid, "name": "Bo"}, mode="update")
    assert [(d["path"], d["code"], d["value"]) for d in details] == [("id", "absence", oid)]


def test_update_may_repeat_the_target_id() -> None:
    oid = str(ObjectId())
    plan = translate_update(Customer, {"id": oid, "name": "Bo"}, target_id=oid)
    assert plan.values == {"name": "Bo"}


def test_caller_supplied_id_is_required_when_not_generated() -> None:
    class Sku(Entity):
        code: str = prop(id=True)
        title: str

    assert [(d["path"], d["code"]) for d in refused(Sku, {"title": "t"})] == [("code", "presence")]
    assert Sku.validate_input({"code": "A1", "title": "t"}) == {"code": "A1", "title": "t"}


# --- default scope (§6) ---------------------------------------------------------------------------


TENANT_SCOPE = {"where": {"tenant": "a", "deleted": False, "age": {"gt": 3}}}


class Tenanted(Entity):
    label: str
    tenant: str = "none"
    deleted: bool = False
    age: int = 0


def test_scope_equalities_are_defaults_on_create() -> None:
    cleaned = Tenanted.validate_input({"label": "x"}, scope=TENANT_SCOPE)
    assert cleaned["tenant"] == "a"
    assert cleaned["deleted"] is False
    assert cleaned["age"] == 0


def test_model_scope_is_applied_by_default() -> None:
    cleaned = Customer.validate_input({"email": "a@b.co", "name": "Al"})
    assert cleaned["deleted"] is False
    details = refused(Customer, {"email": "a@b.co", "name": "Al", "deleted": True})
    assert details == [
        {
            "path": "deleted",
            "code": "scope-conflict",
            "message": "Customer.deleted: must be False in this repository's scope, not True",
            "value": True,
        }
    ]


def test_scope_none_disables_the_model_scope() -> None:
    cleaned = Customer.validate_input(
        {"email": "a@b.co", "name": "Al", "deleted": True}, scope=None
    )
    assert cleaned["deleted"] is True


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_data_outside_the_scope_is_a_scope_conflict(mode: Mode) -> None:
    details = refused(Tenanted, {"label": "x", "tenant": "b"}, mode=mode, scope=TENANT_SCOPE)
    assert details == [
        {
            "path": "tenant",
            "code": "scope-conflict",
            "message": "Tenanted.tenant: must be 'a' in this repository's scope, not 'b'",
            "value": "b",
        }
    ]


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_soft_delete_scope_refuses_writing_deleted_true(mode: Mode) -> None:
    scope = {"where": {"deleted": False}}
    assert Tenanted.validate_input({"label": "x"}, scope=scope)["deleted"] is False
    details = refused(Tenanted, {"label": "x", "deleted": True}, mode=mode, scope=scope)
    assert details == [
        {
            "path": "deleted",
            "code": "scope-conflict",
            "message": "Tenanted.deleted: must be False in this repository's scope, not True",
            "value": True,
        }
    ]


def test_data_matching_the_scope_is_accepted() -> None:
    scope = {"where": {"deleted": False}}
    cleaned = Tenanted.validate_input({"label": "x", "deleted": False}, mode="update", scope=scope)
    assert cleaned == {"label": "x", "deleted": False}


def test_scope_conflicts_are_reported_with_other_problems() -> None:
    details = refused(Tenanted, {"label": 3, "tenant": "b"}, scope=TENANT_SCOPE)
    assert sorted((d["path"], d["code"]) for d in details) == [
        ("label", "type"),
        ("tenant", "scope-conflict"),
    ]


# --- partial updates (§8) ---------------------------------------------------------------------


def test_empty_update_is_refused_with_presence() -> None:
    assert refused(Customer, {}, mode="update") == [
        {
            "path": "",
            "code": "presence",
            "message": "Customer.<root>: an update needs at least one property",
            "value": {},
        }
    ]


def test_update_with_only_dropped_properties_is_refused_with_presence() -> None:
    details = refused(FilterItem, {"colour": "red"}, mode="update")
    assert [(d["path"], d["code"]) for d in details] == [("", "presence")]


def test_update_validates_and_coerces_each_property() -> None:
    cleaned = Customer.validate_input({"age": "5", "name": "Bo"}, mode="update")
    assert cleaned == {"age": 5, "name": "Bo"}


def test_update_does_not_apply_defaults_or_require_missing_properties() -> None:
    assert Customer.validate_input({"age": 1}, mode="update") == {"age": 1}


def test_update_reports_every_bad_property() -> None:
    details = refused(Customer, {"age": -3, "name": "A", "email": "nope"}, mode="update")
    assert details == [
        {"path": "age", "code": "minimum", "message": "Customer.age: must be >= 0", "value": -3},
        {
            "path": "name",
            "code": "minLength",
            "message": "name must be 2-40 characters",
            "value": "A",
        },
        {
            "path": "email",
            "code": "format",
            "message": "Customer.email: must be a valid email",
            "value": "nope",
        },
    ]


def test_update_checks_nested_values() -> None:
    details = refused(Customer, {"address": {"street": "s", "city": "P"}}, mode="update")
    assert [(d["path"], d["code"]) for d in details] == [("address.city", "minLength")]
    assert details[0]["message"] == "Customer.address.city: must be at least 2 characters long"


def test_update_sets_none_where_allowed_and_refuses_it_elsewhere() -> None:
    assert Customer.validate_input({"password": None}, mode="update") == {"password": None}
    details = refused(Customer, {"name": None}, mode="update")
    assert [(d["path"], d["code"]) for d in details] == [("name", "type")]


def test_update_refuses_none_for_required_and_non_nullable_properties() -> None:
    class Thing(Model):
        nick: str | None = prop("x", nullable=False)
        label: str | None = prop("y", required=True)

    details = refused(Thing, {"nick": None, "label": None}, mode="update")
    assert [(d["path"], d["code"]) for d in details] == [
        ("nick", "nullable"),
        ("label", "presence"),
    ]


def test_update_plan_maps_field_names_and_bson_types() -> None:
    at = dt.datetime(2024, 1, 2, 3, 4, 5, 678901)
    plan = translate_update(Customer, {"created": at, "name": "Bo"})
    assert plan.values == {
        "created": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
        "name": "Bo",
    }
    assert plan.document(Customer.__odm__) == {
        "$set": {"createdAt": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC), "name": "Bo"}
    }


def test_update_operators_are_invalid_names_without_extended_operators() -> None:
    details = refused(Customer, {"$inc": {"age": 1}}, mode="update")
    assert [(d["path"], d["code"]) for d in details] == [("$inc", "invalid-name")]


def test_extended_update_operators_are_mapped_and_validated() -> None:
    plan = translate_update(
        Customer,
        {"$inc": {"age": 1}, "$push": {"tags": "new"}, "name": "Bo"},
        allow_extended_operators=True,
    )
    assert plan.document(Customer.__odm__) == {
        "$inc": {"age": 1},
        "$push": {"tags": "new"},
        "$set": {"name": "Bo"},
    }
    with pytest.raises(ValidationError) as caught:
        translate_update(Customer, {"$rename": {"age": "years"}}, allow_extended_operators=True)
    assert [(d["path"], d["code"]) for d in caught.value.details] == [
        ("$rename", "invalid-operator")
    ]


def test_caller_supplied_generated_id_must_be_object_id_text() -> None:
    @model(force_id=False)
    class Ticket(Entity):
        title: str

    assert refused(Ticket, {"id": "abc", "title": "t"}) == [
        {
            "path": "id",
            "code": "type",
            "message": "Ticket.id: must be an ObjectId as a 24-character hex string",
            "value": "abc",
        }
    ]
    oid = ObjectId()
    assert Ticket.validate_input({"id": oid, "title": "t"})["id"] == str(oid)


def test_a_value_bson_cannot_encode_is_a_validation_error_naming_the_property() -> None:
    class Holder(Entity):
        payload: Any = None

    with pytest.raises(ValidationError) as caught:
        Holder.validate_input({"payload": object()})
    [detail] = caught.value.details
    assert (detail["path"], detail["code"]) == ("payload", "type")
    assert detail["message"].startswith("Holder.payload: cannot be stored in MongoDB")


# --- the trust boundary of writes ------------------------------------------------------------


@model(strict=False)
class LooseOwner(Model):
    label: str = ""
    tenant: str = prop(default="a", field_name="t")


@model(strict=False, hidden_properties=["pin"])
class LooseRow(Entity):
    tenant: str = prop(default="a", field_name="t")
    owner: LooseOwner | None = None
    pin: str | None = None


@pytest.mark.parametrize("mode", WRITE_MODES)
@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"t": "b"}, "t"),
        ({"owner": {"t": "b"}}, "owner.t"),
        ({"owner": {"_id": "x"}}, "owner._id"),
    ],
)
def test_extras_named_like_declared_fields_are_invalid_names(
    mode: Mode, data: dict[str, Any], path: str
) -> None:
    details = refused(LooseRow, data, mode=mode, scope=None)
    assert [(d["path"], d["code"]) for d in details] == [(path, "invalid-name")]


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_data_nested_too_deep_is_refused_without_recursion(mode: Mode) -> None:
    deep: Any = 1
    for _ in range(1000):
        deep = {"k": deep}
    details = refused(LooseRow, {"owner": {"label": "x", "deep": deep}}, mode=mode, scope=None)
    assert [(d["path"], d["code"]) for d in details] == [("owner", "too-deep")]


def test_dotted_scope_equalities_fill_and_guard_embedded_documents() -> None:
    scope = {"where": {"owner.tenant": "a"}}
    cleaned = LooseRow.validate_input({"owner": {"label": "x"}}, scope=scope)
    assert cleaned["owner"].tenant == "a"
    assert LooseRow.validate_input({}, scope=scope)["owner"].tenant == "a"
    for data in ({"owner": {"tenant": "b"}}, {"owner": None}):
        details = refused(LooseRow, data, mode="replace", scope=scope)
        assert [(d["path"], d["code"]) for d in details] == [("owner.tenant", "scope-conflict")]


def test_hidden_values_are_left_out_of_details() -> None:
    details = refused(LooseRow, {"pin": ["s3cret"]}, scope=None)
    assert [(d["path"], d["code"], d["value"]) for d in details] == [("pin", "type", None)]
    assert "s3cret" not in details[0]["message"]


def test_names_found_good_before_never_let_a_bad_key_through() -> None:
    # the name walk remembers good names (issue 13); a bad name beside good ones and data
    # with ever new keys are still checked key by key
    for _ in range(3):
        LooseItem.validate_input({"label": "x", "meta": {"good": 1, "fine": 2}})
    details = refused(LooseItem, {"label": "x", "meta": {"good": 1, "fine": 2, "a.b": 3}})
    assert [(d["path"], d["code"]) for d in details] == [("meta.a.b", "invalid-name")]
    details = refused(LooseItem, {"label": "x", "meta": {"good": {"fine": {"": 1}}}})
    assert [(d["path"], d["code"]) for d in details] == [("meta.good.fine.", "invalid-name")]
    many = {f"k{n}": n for n in range(12_000)}  # more new names than the walk remembers
    LooseItem.validate_input({"label": "x", "meta": many})
    details = refused(LooseItem, {"label": "x", "meta": {**many, "$x": 1}})
    assert [(d["path"], d["code"]) for d in details] == [("meta.$x", "invalid-name")]
