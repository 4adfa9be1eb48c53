"""The model layer (SPEC §2): settings, property options, ids, defaults and generators,
declaration errors, hidden properties and equality. No database anywhere."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Binary, ObjectId
from pydantic import TypeAdapter

from odm.codec import decode, decode_trusted, encode
from odm.definition_export import model_definition
from odm.definitions import ModelRegistry, define_model
from odm.errors import ModelDefinitionError, ValidationError
from odm.indexes import declared_indexes
from odm.models import Entity, Model, model
from odm.properties import GENERATORS, prop
from odm.schema import get_json_schema


@model()
class Address(Model):
    street: str
    city: str
    zip_code: str = prop(field_name="zip")


@model(
    collection="customers",
    strict="filter",
    hidden_properties=["password"],
    scope={"where": {"deleted": False}, "limit": 100},
    indexes={"city_created": {"keys": {"address.city": 1, "created": -1}}},
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
    token: str = prop(default_fn="uuidv4")
    created: datetime = prop(default_fn="now", field_name="createdAt")
    tags: list[str] = prop(default_factory=list)
    address: Address | None = None
    deleted: bool = False


def details_of(cls: type[Model], data: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        cls.validate_input(data, **kwargs)
    return [dict(detail) for detail in caught.value.details]


def codes_of(cls: type[Model], data: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
    return [(d["path"], d["code"]) for d in details_of(cls, data, **kwargs)]


# --- model settings (§2.2) -------------------------------------------------------------


def test_model_settings_are_recorded_on_the_class() -> None:
    definition = model_definition(Customer)
    assert definition["name"] == "Customer"
    assert definition["settings"] == {
        "strict": "filter",
        "hiddenProperties": ["password"],
        "scope": {"where": {"deleted": False}, "limit": 100},
        "indexes": {"city_created": {"keys": {"address.city": 1, "created": -1}}},
        "mongodb": {"collection": "customers"},
    }
    schema = get_json_schema(Customer)
    assert (schema["title"], schema["description"]) == ("Customer", "A shop customer")
    assert Customer.odm_meta().collection == "customers"
    # strict="filter": an unknown property is dropped; force_id: a given id is refused
    assert "nope" not in Customer.validate_input({"email": "a@b.co", "name": "Al", "nope": 1})
    assert codes_of(Customer, {"email": "a@b.co", "name": "Al", "id": str(ObjectId())}) == [
        ("id", "absence")
    ]


def test_settings_defaults_without_decorator() -> None:
    class Plain(Entity):
        label: str

    assert "settings" not in model_definition(Plain)  # every setting at its default
    schema = get_json_schema(Plain)
    assert (schema["title"], schema.get("description")) == ("Plain", None)
    assert schema["additionalProperties"] is False  # strict=True
    assert codes_of(Plain, {"label": "a", "nope": 1}) == [("nope", "unknown-property")]
    assert codes_of(Plain, {"label": "a", "id": str(ObjectId())}) == [("id", "absence")]
    assert Plain(label="a").to_json() == {"id": None, "label": "a"}  # nothing hidden
    assert Plain.odm_meta().collection == "Plain"


def test_collection_defaults_to_the_model_name() -> None:
    @model(name="Person")
    class PersonRecord(Entity):
        label: str

    assert model_definition(PersonRecord)["name"] == "Person"
    assert "settings" not in model_definition(PersonRecord)  # no collection given
    assert PersonRecord.odm_meta().collection == "Person"


def test_model_name_is_the_json_schema_title() -> None:
    @model(name="Person", description="someone")
    class PersonRecord(Entity):
        label: str

    schema = PersonRecord.model_json_schema()
    assert schema["title"] == "Person"


def test_decorator_settings_keep_the_property_declarations() -> None:
    # @model(...) compiles the class again with its settings; the prop() options survive.
    customer = Customer(
        email="a@b.co", name="Al", address={"street": "s", "city": "c", "zip_code": "1"}
    )
    doc = encode(customer)
    assert "_id" not in doc and customer.id is None  # the generated id, unset until stored
    assert doc["createdAt"] == customer.created
    assert doc["address"] == {"street": "s", "city": "c", "zip": "1"}
    assert len(customer.token) == 36


def test_settings_are_inherited_and_replaced_by_the_subclass() -> None:
    @model(strict=False, force_id=False, collection="base_things", scope={"limit": 5})
    class Base(Entity):
        label: str

    class Child(Base):
        extra: int = 0

    @model(strict="filter", collection="kids", scope={"limit": 9}, force_id=True)
    class Kid(Base):
        pass

    assert model_definition(Child)["name"] == "Child"
    assert "settings" not in model_definition(Child)  # all inherited from Base
    assert Child.odm_meta().settings.scope == {"limit": 5}
    assert Child.validate_input({"label": "a", "id": str(ObjectId()), "more": 1})["more"] == 1
    assert model_definition(Kid)["settings"] == {
        "strict": "filter",
        "scope": {"limit": 9},
        "mongodb": {"collection": "kids"},
    }
    assert codes_of(Kid, {"label": "a", "id": str(ObjectId())}) == [("id", "absence")]
    assert (Child.odm_meta().collection, Kid.odm_meta().collection) == ("base_things", "kids")
    assert Kid.model_config["extra"] == "ignore"
    assert Child.model_config["extra"] == "allow"
    assert Base.model_config["extra"] == "allow"


def test_hidden_properties_and_indexes_are_unions_in_subclasses() -> None:
    @model(hidden_properties=["secret"], indexes={"by_label": {"keys": {"label": 1}}})
    class Base(Entity):
        label: str
        secret: str | None = None
        pin: str | None = None

    @model(hidden_properties=["pin"], indexes={"by_pin": {"keys": {"pin": 1}}})
    class Child(Base):
        pass

    class Grandchild(Child):
        pass

    for cls in (Child, Grandchild):
        assert [index.name for index in declared_indexes(cls.odm_meta())] == [
            "by_label",
            "by_pin",
        ]
        assert set(get_json_schema(cls)["properties"]) == {"id", "label"}
        obj = cls(label="x", secret="s", pin="1234")
        assert obj.to_json() == {"id": None, "label": "x"}
    assert Base(label="x", secret="s", pin="1").to_json() == {"id": None, "label": "x", "pin": "1"}


def test_subclass_inherits_property_options() -> None:
    class Child(Customer):
        nickname: str | None = None

    oid = ObjectId()
    assert encode(Child(id=str(oid), email="a@b.co", name="Al"))["_id"] == oid
    child = Child(email="a@b.co", name="Al", password="pw", nickname="al")
    doc = encode(child)
    assert "createdAt" in doc
    assert doc["password"] == "pw"
    assert "password" not in child.to_json()


# --- property options (§2.3) -----------------------------------------------------------


def test_default_and_default_factory_apply_when_missing() -> None:
    class Thing(Model):
        size: int = prop(3)
        labels: list[str] = prop(default_factory=list)

    a, b = Thing(), Thing()
    assert a.size == 3
    assert a.labels == [] and b.labels == []
    a.labels.append("x")
    assert b.labels == []
    assert Thing.validate_input({}) == {"size": 3, "labels": []}


@pytest.mark.parametrize("name", ["uuid", "guid"])
def test_default_fn_uuid_and_guid_give_uuid_v1(name: str) -> None:
    class Thing(Model):
        as_uuid: uuid.UUID = prop(default_fn=name)
        as_text: str = prop(default_fn=name)

    thing = Thing()
    assert isinstance(thing.as_uuid, uuid.UUID)
    assert thing.as_uuid.version == 1
    assert isinstance(thing.as_text, str)
    assert str(uuid.UUID(thing.as_text)) == thing.as_text
    assert uuid.UUID(thing.as_text).version == 1


def test_default_fn_uuidv4_gives_uuid_v4() -> None:
    class Thing(Model):
        as_uuid: uuid.UUID = prop(default_fn="uuidv4")
        as_text: str = prop(default_fn="uuidv4")

    thing = Thing()
    assert isinstance(thing.as_uuid, uuid.UUID)
    assert thing.as_uuid.version == 4
    assert str(uuid.UUID(thing.as_text)) == thing.as_text
    assert uuid.UUID(thing.as_text).version == 4
    assert Thing().as_uuid != thing.as_uuid


def test_default_fn_uuidv7_gives_time_ordered_uuid_v7() -> None:
    class Thing(Model):
        as_uuid: uuid.UUID = prop(default_fn="uuidv7")
        as_text: str = prop(default_fn="uuidv7")

    before = time.time_ns() // 1_000_000
    first = Thing()
    time.sleep(0.003)
    second = Thing()
    after = time.time_ns() // 1_000_000
    assert first.as_uuid.version == 7
    assert uuid.UUID(first.as_text).version == 7
    assert str(uuid.UUID(first.as_text)) == first.as_text
    assert first.as_uuid.variant == uuid.RFC_4122
    assert before <= first.as_uuid.int >> 80 <= after
    assert first.as_uuid < second.as_uuid
    assert first.as_text < second.as_text


def test_default_fn_now_is_utc_aware_and_truncated_to_milliseconds() -> None:
    class Thing(Model):
        at: datetime = prop(default_fn="now")

    before = datetime.now(UTC) - timedelta(milliseconds=1)
    thing = Thing()
    assert thing.at.tzinfo is not None
    assert thing.at.utcoffset() == timedelta(0)
    assert thing.at.microsecond % 1000 == 0
    assert before <= thing.at <= datetime.now(UTC)


def test_default_fn_objectid_by_type() -> None:
    class Thing(Model):
        as_oid: ObjectId = prop(default_fn="objectid")
        as_text: str = prop(default_fn="objectid")

    thing = Thing()
    assert isinstance(thing.as_oid, ObjectId)
    assert isinstance(thing.as_text, str)
    assert re.fullmatch(r"[0-9a-f]{24}", thing.as_text)
    assert encode(thing) == {"as_oid": thing.as_oid, "as_text": thing.as_text}


def test_default_fn_nanoid_gives_21_url_safe_chars() -> None:
    class Thing(Model):
        key: str = prop(default_fn="nanoid")

    keys = {Thing().key for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert re.fullmatch(r"[A-Za-z0-9_-]{21}", key)


def test_default_fn_runs_on_validate_input_create() -> None:
    cleaned = Customer.validate_input({"email": "a@b.co", "name": "Al"})
    assert str(uuid.UUID(cleaned["token"])) == cleaned["token"]
    assert isinstance(cleaned["created"], datetime)
    assert cleaned["created"].tzinfo is not None


def test_given_value_replaces_the_default_fn() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, 10000, tzinfo=UTC)
    customer = Customer(email="a@b.co", name="Al", token="mine", created=at)
    assert customer.token == "mine"
    assert customer.created == at


def test_required_refuses_missing_and_none() -> None:
    class Thing(Model):
        label: str | None = prop("x", required=True)

    assert Thing.validate_input({}) == {"label": "x"}
    details = details_of(Thing, {"label": None})
    assert details == [
        {
            "path": "label",
            "code": "presence",
            "message": "Thing.label: is required and may not be None",
            "value": None,
        }
    ]


def test_property_without_default_is_required() -> None:
    class Thing(Model):
        label: str

    assert details_of(Thing, {}) == [
        {"path": "label", "code": "presence", "message": "Thing.label: is required", "value": None}
    ]


def test_nullable_false_refuses_none_even_when_the_type_allows_it() -> None:
    class Thing(Model):
        nick: str | None = prop("x", nullable=False)
        other: str | None = None

    assert Thing.validate_input({"other": None}) == {"nick": "x", "other": None}
    assert details_of(Thing, {"nick": None}) == [
        {
            "path": "nick",
            "code": "nullable",
            "message": "Thing.nick: may not be None",
            "value": None,
        }
    ]
    assert get_json_schema(Thing)["properties"]["other"] == {"type": ["string", "null"]}


def test_hidden_option_hides_like_hidden_properties() -> None:
    class Thing(Model):
        label: str
        secret: str = prop(hidden=True)

    thing = Thing(label="a", secret="s")
    assert "secret" not in get_json_schema(Thing)["properties"]
    assert "secret" not in thing.model_dump() and "secret" not in thing.model_dump_json()
    assert thing.secret == "s"
    assert thing.to_json() == {"label": "a"}
    assert encode(thing) == {"label": "a", "secret": "s"}


def test_field_name_maps_the_stored_name() -> None:
    address = Address(street="1 rue", city="Paris", zip_code="75001")
    assert encode(address) == {"street": "1 rue", "city": "Paris", "zip": "75001"}
    assert decode(Address, {"street": "1 rue", "city": "Paris", "zip": "75001"}) == address
    assert address.to_json() == {"street": "1 rue", "city": "Paris", "zip_code": "75001"}


def test_index_and_unique_are_recorded() -> None:
    class Thing(Entity):
        email: str = prop(index={"unique": True, "sparse": True})
        code: str = prop(unique=True)
        city: str = prop(index=True)
        other: str = ""

    properties = model_definition(Thing)["properties"]
    assert properties["email"]["index"] == {"unique": True, "sparse": True}
    assert properties["code"]["unique"] is True
    assert properties["city"]["index"] is True
    assert "index" not in properties["other"] and "unique" not in properties["other"]


def test_description_as_string_or_list_joined_with_spaces() -> None:
    class Thing(Model):
        one: str = prop(description="a single line")
        many: str = prop(description=["first part,", "second part"])

    assert Thing.model_fields["one"].description == "a single line"
    assert Thing.model_fields["many"].description == "first part, second part"
    assert model_definition(Thing)["properties"]["many"]["description"] == "first part, second part"
    schema = Thing.model_json_schema()
    assert schema["properties"]["many"]["description"] == "first part, second part"


def test_json_schema_extra_keywords_reach_the_pydantic_schema() -> None:
    schema = Customer.model_json_schema()
    assert schema["properties"]["email"]["format"] == "email"
    assert schema["properties"]["name"]["minLength"] == 2
    assert "errorMessage" not in schema["properties"]["name"]


# --- enforced json_schema keywords ------------------------------------------------------


class Checked(Model):
    short: str = prop("ok", json_schema={"minLength": 2})
    capped: str = prop("ok", json_schema={"maxLength": 3})
    code: str = prop("ABC", json_schema={"pattern": "^[A-Z]{3}$"})
    low: int = prop(5, json_schema={"minimum": 1})
    high: float = prop(5.0, json_schema={"maximum": 10})
    above: int = prop(5, json_schema={"exclusiveMinimum": 0})
    below: int = prop(5, json_schema={"exclusiveMaximum": 10})
    some: list[int] = prop(default_factory=lambda: [1], json_schema={"minItems": 1})
    few: list[int] = prop(default_factory=list, json_schema={"maxItems": 2})
    color: str = prop("red", json_schema={"enum": ["red", "green"]})
    email: str = prop("a@example.com", json_schema={"format": "email"})
    site: str = prop("https://example.com/x", json_schema={"format": "uri"})
    ref: str = prop("0b9fbc8e-3c3b-4d57-8a6c-2f8d5f8fb4c1", json_schema={"format": "uuid"})
    when: str = prop("2024-01-02T03:04:05Z", json_schema={"format": "date-time"})


def test_valid_values_pass_every_enforced_keyword() -> None:
    cleaned = Checked.validate_input(
        {
            "short": "ab",
            "capped": "abc",
            "code": "XYZ",
            "low": 1,
            "high": 10,
            "above": 1,
            "below": 9,
            "some": [1],
            "few": [1, 2],
            "color": "green",
            "email": "someone@example.org",
            "site": "http://example.org",
            "ref": str(uuid.uuid4()),
            "when": "2024-01-02T03:04:05+02:00",
        }
    )
    assert cleaned["short"] == "ab"
    assert cleaned["few"] == [1, 2]


@pytest.mark.parametrize(
    ("name", "value", "code", "message"),
    [
        ("short", "a", "minLength", "must be at least 2 characters long"),
        ("capped", "abcd", "maxLength", "must be at most 3 characters long"),
        ("code", "AB1", "pattern", "must match the pattern '^[A-Z]{3}$'"),
        ("low", 0, "minimum", "must be >= 1"),
        ("high", 10.5, "maximum", "must be <= 10"),
        ("above", 0, "exclusiveMinimum", "must be > 0"),
        ("below", 10, "exclusiveMaximum", "must be < 10"),
        ("some", [], "minItems", "must have at least 1 items"),
        ("few", [1, 2, 3], "maxItems", "must have at most 2 items"),
        ("color", "blue", "enum", "must be one of ['red', 'green']"),
        ("email", "not-an-email", "format", "must be a valid email"),
        ("site", "not a uri", "format", "must be a valid uri"),
        ("ref", "not-a-uuid", "format", "must be a valid uuid"),
        ("when", "yesterday", "format", "must be a valid date-time"),
    ],
)
def test_each_enforced_keyword_is_checked(name: str, value: Any, code: str, message: str) -> None:
    assert details_of(Checked, {name: value}) == [
        {"path": name, "code": code, "message": f"Checked.{name}: {message}", "value": value}
    ]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024-01-02T03:04:05Z", True),
        ("2024-01-02t03:04:05.123z", True),
        ("2024-01-02 03:04:05+02:00", True),
        ("2024-01-02", False),
        ("2024-01-02T03:04:05", False),
        ("2024-13-02T03:04:05Z", False),
        ("2024-01-02T25:00:00Z", False),
    ],
)
def test_format_date_time_follows_rfc_3339(value: str, valid: bool) -> None:
    if valid:
        assert Checked.validate_input({"when": value})["when"] == value
    else:
        assert codes_of(Checked, {"when": value}) == [("when", "format")]


def test_format_is_not_checked_on_typed_values() -> None:
    class Thing(Model):
        at: datetime = prop(json_schema={"format": "date-time"})
        key: uuid.UUID = prop(json_schema={"format": "uuid"})

    at = datetime(2024, 1, 2, tzinfo=UTC)
    key = uuid.uuid4()
    assert Thing.validate_input({"at": at, "key": str(key)}) == {"at": at, "key": key}


def test_enforced_keywords_apply_on_construction() -> None:
    from pydantic import ValidationError as PydanticValidationError

    with pytest.raises(PydanticValidationError) as caught:
        Checked(short="a")
    assert caught.value.errors()[0]["type"] == "minLength"


def test_error_message_string_replaces_every_keyword_message() -> None:
    assert details_of(Customer, {"email": "a@b.co", "name": "A"}) == [
        {
            "path": "name",
            "code": "minLength",
            "message": "name must be 2-40 characters",
            "value": "A",
        }
    ]
    long_name = "x" * 41
    assert details_of(Customer, {"email": "a@b.co", "name": long_name}) == [
        {
            "path": "name",
            "code": "maxLength",
            "message": "name must be 2-40 characters",
            "value": long_name,
        }
    ]


def test_error_message_map_replaces_the_message_of_its_keyword_only() -> None:
    class Thing(Model):
        code: str = prop(
            json_schema={
                "minLength": 2,
                "pattern": "^[a-z]+$",
                "errorMessage": {"pattern": "code: lower-case letters only"},
            }
        )

    assert details_of(Thing, {"code": "AB"}) == [
        {
            "path": "code",
            "code": "pattern",
            "message": "code: lower-case letters only",
            "value": "AB",
        }
    ]
    assert details_of(Thing, {"code": "a"}) == [
        {
            "path": "code",
            "code": "minLength",
            "message": "Thing.code: must be at least 2 characters long",
            "value": "a",
        }
    ]


def test_enforced_keywords_skip_none() -> None:
    class Thing(Model):
        nick: str | None = prop(None, json_schema={"minLength": 3})

    assert Thing.validate_input({"nick": None}) == {"nick": None}


def test_error_message_with_braces_is_shown_verbatim() -> None:
    class Thing(Model):
        code: str = prop(json_schema={"minLength": 2, "errorMessage": "use {two} chars"})

    assert details_of(Thing, {"code": "a"})[0]["message"] == "use {two} chars"


# --- ids (§2.4) -----------------------------------------------------------------------


def test_entity_without_declared_id_gets_a_generated_str_id() -> None:
    class Note(Entity):
        text: str

    assert model_definition(Note)["properties"]["id"] == {
        "type": "string",
        "id": True,
        "generated": True,
    }
    note = Note(text="hi")
    assert note.id is None
    assert note.get_id() is None
    assert encode(note) == {"text": "hi"}
    oid = ObjectId()
    stored = Note(id=str(oid), text="hi")
    assert encode(stored) == {"_id": oid, "text": "hi"}
    loaded = decode(Note, {"_id": oid, "text": "hi"})
    assert loaded.id == str(oid)
    assert isinstance(loaded.id, str)
    trusted = decode_trusted(Note, {"_id": oid, "text": "hi"})
    assert trusted.id == str(oid)


def test_generated_object_id_typed_id_stays_an_object_id() -> None:
    class Note(Entity):
        id: ObjectId = prop(id=True, generated=True)
        text: str

    oid = ObjectId()
    assert Note(text="hi").id is None
    note = Note(id=oid, text="hi")
    assert encode(note) == {"_id": oid, "text": "hi"}
    assert Note(id=str(oid), text="hi").id == oid
    for loaded in (
        decode(Note, {"_id": oid, "text": "hi"}),
        decode_trusted(Note, {"_id": oid, "text": "hi"}),
    ):
        assert isinstance(loaded.id, ObjectId)
        assert loaded.id == oid
    assert note.to_json() == {"id": str(oid), "text": "hi"}


def test_non_generated_ids_are_stored_as_their_own_type() -> None:
    class ByText(Entity):
        id: str = prop(id=True)

    class ByNumber(Entity):
        id: int = prop(id=True)

    class ByUuid(Entity):
        id: uuid.UUID = prop(id=True)

    key = uuid.uuid4()
    assert encode(ByText(id="abc")) == {"_id": "abc"}
    assert encode(ByNumber(id=7)) == {"_id": 7}
    assert encode(ByUuid(id=key)) == {"_id": Binary(key.bytes, 4)}
    assert decode(ByText, {"_id": "abc"}).id == "abc"
    assert decode(ByNumber, {"_id": 7}).id == 7
    assert decode(ByUuid, {"_id": Binary(key.bytes, 4)}).id == key
    assert decode_trusted(ByUuid, {"_id": Binary(key.bytes, 4)}).id == key


def test_non_generated_id_without_default_is_required() -> None:
    class ByText(Entity):
        id: str = prop(id=True)
        label: str = ""

    assert "id" in get_json_schema(ByText)["required"]
    assert details_of(ByText, {"label": "x"}) == [
        {"path": "id", "code": "presence", "message": "ByText.id: is required", "value": None}
    ]
    assert ByText.validate_input({"id": "k1"}) == {"id": "k1", "label": ""}


def test_plain_id_annotation_on_an_entity_is_the_id_and_required() -> None:
    class ByNumber(Entity):
        id: int
        label: str = ""

    assert model_definition(ByNumber)["properties"]["id"] == {
        "type": "integer",
        "id": True,
    }
    assert ByNumber(id=3).get_id() == 3
    assert encode(ByNumber(id=3)) == {"_id": 3, "label": ""}
    assert codes_of(ByNumber, {}) == [("id", "presence")]


def test_id_with_default_fn_is_not_required() -> None:
    class ByUuid(Entity):
        id: uuid.UUID = prop(id=True, default_fn="uuidv4")

    thing = ByUuid()
    assert thing.id.version == 4
    assert encode(thing) == {"_id": Binary(thing.id.bytes, 4)}
    assert ByUuid.validate_input({})["id"].version == 4


# --- defaults on create and on load -------------------------------------------------------


class Defaults(Entity):
    label: str = "plain"
    nick: str | None = "nick"
    token: str = prop(default_fn="uuidv4")
    created: datetime = prop(default_fn="now")
    tags: list[str] = prop(default_factory=list)


def test_missing_values_get_defaults_and_generators() -> None:
    cleaned = Defaults.validate_input({})
    assert cleaned["label"] == "plain"
    assert cleaned["nick"] == "nick"
    assert cleaned["tags"] == []
    assert uuid.UUID(cleaned["token"]).version == 4
    assert isinstance(cleaned["created"], datetime)


def test_explicit_none_is_kept_not_replaced_by_the_default() -> None:
    assert Defaults(nick=None).nick is None
    assert Defaults.validate_input({"nick": None})["nick"] is None
    assert encode(Defaults(nick=None))["nick"] is None


def test_explicit_none_on_a_non_nullable_property_is_refused() -> None:
    assert details_of(Defaults, {"label": None, "token": None}) == [
        {
            "path": "label",
            "code": "type",
            "message": "Defaults.label: Input should be a valid string",
            "value": None,
        },
        {
            "path": "token",
            "code": "type",
            "message": "Defaults.token: Input should be a valid string",
            "value": None,
        },
    ]


@pytest.mark.parametrize("load", [decode, decode_trusted], ids=["decode", "decode_trusted"])
def test_loading_never_runs_generators_for_missing_fields(load: Any) -> None:
    oid = ObjectId()
    loaded = load(Defaults, {"_id": oid})
    assert loaded.id == str(oid)
    assert loaded.token is None
    assert loaded.created is None
    # static defaults do apply to a missing field
    assert loaded.label == "plain"
    assert loaded.nick == "nick"
    assert loaded.tags == []


@pytest.mark.parametrize("load", [decode, decode_trusted], ids=["decode", "decode_trusted"])
def test_loading_never_replaces_stored_values(load: Any) -> None:
    oid = ObjectId()
    at = datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    doc = {"_id": oid, "label": "L", "nick": None, "token": "stored", "created": at, "tags": ["t"]}
    loaded = load(Defaults, doc)
    assert loaded.model_dump() == {
        "id": str(oid),
        "label": "L",
        "nick": None,
        "token": "stored",
        "created": at,
        "tags": ["t"],
    }


def test_generators_run_again_after_loading() -> None:
    decode(Defaults, {"_id": ObjectId()})
    assert Defaults().token is not None


# --- declaration errors (§2.3) --------------------------------------------------------------


@pytest.mark.parametrize("default_fn", sorted(GENERATORS))
def test_every_generator_of_the_table_works_in_prop_and_in_definitions(default_fn: str) -> None:
    class Thing(Model):
        text: str = prop(default_fn=default_fn)

    defined = define_model(
        {
            "name": f"Gen_{default_fn}",
            "properties": {"text": {"type": "any", "defaultFn": default_fn}},
        },
        registry=ModelRegistry(),
    )
    assert Thing().text is not None and defined().text is not None  # type: ignore[attr-defined]
    assert model_definition(defined)["properties"]["text"]["defaultFn"] == default_fn


def test_unknown_default_fn_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="unknown default_fn 'uuid5'"):

        class Thing(Model):
            key: str = prop(default_fn="uuid5")


def test_two_id_properties_are_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="more than one id property"):

        class Thing(Entity):
            a: str = prop(id=True)
            b: str = prop(id=True)


def test_id_with_field_name_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="cannot have a field_name"):

        class Thing(Entity):
            key: str = prop(id=True, field_name="key")


def test_generated_on_a_non_id_property_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="generated=True is only for the id property"):

        class Thing(Entity):
            counter: int = prop(0, generated=True)


def test_nested_list_without_json_schema_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="nested list property needs a json_schema"):

        class Thing(Model):
            grid: list[list[int]]

    class Described(Model):
        grid: list[list[int]] = prop(json_schema={"type": "array", "items": {"type": "array"}})

    assert Described(grid=[[1, 2], [3]]).grid == [[1, 2], [3]]


def test_two_properties_mapped_to_one_field_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="both mapped to field 'x'"):

        class Thing(Model):
            a: str = prop(field_name="x")
            b: str = prop(field_name="x")

    with pytest.raises(ModelDefinitionError, match="both mapped to field 'a'"):

        class Other(Model):
            a: str
            b: str = prop(field_name="a")

    with pytest.raises(ModelDefinitionError, match="but 'b' is stored under the name 'a'"):

        class Swapped(Model):
            a: str = prop(field_name="b")
            b: str = prop(field_name="a")


@pytest.mark.parametrize("field_name", ["$set", "a.b", ""])
def test_invalid_field_name_is_a_definition_error(field_name: str) -> None:
    with pytest.raises(ModelDefinitionError, match="is not a valid MongoDB field name"):

        class Thing(Model):
            a: str = prop(field_name=field_name)


def test_id_on_a_plain_model_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="only an Entity has an id property"):

        class Thing(Model):
            key: str = prop(id=True)


def test_unknown_model_setting_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match=r"unknown model setting\(s\) \['hidden'\]"):

        @model(hidden=["x"])
        class Thing(Model):
            x: str


def test_unknown_prop_option_is_a_definition_error() -> None:
    with pytest.raises(
        ModelDefinitionError, match=r"Thing.email: unknown prop\(\) option\(s\) \['uniqe'\]"
    ):

        class Thing(Entity):
            email: str = prop(uniqe=True)  # type: ignore[call-arg]


def test_pydantic_field_options_prop_passes_on_are_enforced() -> None:
    class Thing(Model):
        size: int = prop(0, ge=0, title="Size")
        code: str = prop("", max_length=3)

    assert Thing.model_json_schema()["properties"]["size"]["title"] == "Size"
    assert [d["path"] for d in details_of(Thing, {"size": -1, "code": "abcd"})] == ["size", "code"]


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({"where": {"nope": 1}}, r"scope\.where\.nope: Thing has no property 'nope'"),
        ({"where": {"size": {"gt": "big"}}}, r"scope\.where\.size\.gt: .*not a valid"),
        ({"where": {"size": {"between": 3}}}, r"scope\.where\.size\.between"),
        ({"order": "nope DESC"}, r"scope\.order"),
        ({"fields": ["nope"]}, r"scope\.fields"),
        ({"limit": 0}, r"scope\.limit"),
        ({"wher": {}}, r"unknown filter key 'wher'"),
    ],
)
def test_bad_scope_is_a_definition_error_when_the_class_is_created(
    scope: dict[str, Any], message: str
) -> None:
    with pytest.raises(
        ModelDefinitionError, match=r"Thing: the default scope is not valid: .*" + message
    ):

        @model(scope=scope)
        class Thing(Entity):
            size: int = 0


def test_scope_is_checked_once_forward_references_resolve() -> None:
    @model(scope={"where": {"part.weight": {"gt": 1}}})
    class Crate(Entity):
        part: Part | None = None  # not defined yet: the scope waits for it

    class Part(Model):
        weight: int = prop(field_name="w")

    with pytest.raises(ModelDefinitionError, match="Box: the default scope is not valid"):

        @model(scope={"where": {"part.height": 1}})
        class Box(Entity):
            part: Part | None = None

    Crate.model_rebuild()
    assert Crate.model_validate({"part": {"weight": 3}}).part == Part(weight=3)


def test_bad_scope_on_a_forward_reference_fails_when_the_class_is_completed() -> None:
    @model(scope={"where": {"item.height": 1}})
    class Tray(Entity):
        item: Item | None = None

    class Item(Model):
        weight: int = 0

    with pytest.raises(ModelDefinitionError, match="Tray: the default scope is not valid"):
        Tray.model_rebuild()


@pytest.mark.parametrize("strict", ["yes", None, 1.5, "FILTER"])
def test_bad_strict_value_is_a_definition_error(strict: Any) -> None:
    with pytest.raises(ModelDefinitionError, match="strict must be True, False or 'filter'"):

        @model(strict=strict)
        class Thing(Model):
            x: str


def test_unknown_hidden_property_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="hidden property 'pasword'"):

        @model(hidden_properties=["pasword"])
        class Thing(Model):
            password: str


def test_definition_errors_are_odm_errors() -> None:
    from odm.errors import ODMError

    assert issubclass(ModelDefinitionError, ODMError)


# --- hidden properties (§2.6) -----------------------------------------------------------------


@model(hidden_properties=["pin"])
class Card(Model):
    number: str
    pin: str


class Wallet(Entity):
    owner: str
    secret: str = prop(hidden=True)
    card: Card
    cards: list[Card] = prop(default_factory=list)


def make_wallet() -> Wallet:
    return Wallet(
        owner="ann",
        secret="s3",
        card=Card(number="1111", pin="1234"),
        cards=[Card(number="2222", pin="9999")],
    )


def test_hidden_properties_are_stored_and_readable() -> None:
    customer = Customer(email="a@b.co", name="Al", password="pw")
    assert customer.password == "pw"
    assert encode(customer)["password"] == "pw"
    wallet = make_wallet()
    assert wallet.secret == "s3"
    assert wallet.card.pin == "1234"
    assert encode(wallet) == {
        "owner": "ann",
        "secret": "s3",
        "card": {"number": "1111", "pin": "1234"},
        "cards": [{"number": "2222", "pin": "9999"}],
    }


def test_hidden_properties_are_loaded() -> None:
    doc = {"_id": ObjectId(), "owner": "ann", "secret": "s3", "card": {"number": "1", "pin": "2"}}
    for loaded in (decode(Wallet, doc), decode_trusted(Wallet, doc)):
        assert loaded.secret == "s3"
        assert loaded.card.pin == "2"


def test_hidden_properties_are_left_out_of_json_output() -> None:
    customer = Customer(email="a@b.co", name="Al", password="pw")
    assert "password" not in customer.to_json()
    assert "password" not in customer.model_dump()
    assert "password" not in customer.model_dump_json()
    assert "password" not in customer.to_dict()


def test_hidden_properties_of_embedded_models_are_left_out() -> None:
    wallet = make_wallet()
    expected = {
        "id": None,
        "owner": "ann",
        "card": {"number": "1111"},
        "cards": [{"number": "2222"}],
    }
    assert wallet.to_json() == expected
    assert wallet.model_dump() == expected
    assert wallet.model_dump_json() == (
        '{"id":null,"owner":"ann","card":{"number":"1111"},"cards":[{"number":"2222"}]}'
    )
    assert Card(number="1", pin="2").to_json() == {"number": "1"}


def test_to_dict_include_hidden_gives_every_property() -> None:
    wallet = make_wallet()
    assert wallet.to_dict(include_hidden=True) == {
        "id": None,
        "owner": "ann",
        "secret": "s3",
        "card": {"number": "1111", "pin": "1234"},
        "cards": [{"number": "2222", "pin": "9999"}],
    }
    customer = Customer(email="a@b.co", name="Al", password="pw")
    assert customer.to_dict(include_hidden=True)["password"] == "pw"
    assert customer.to_json(include_hidden=True)["password"] == "pw"


def test_fastapi_style_response_has_no_hidden_key() -> None:
    customer = Customer(email="a@b.co", name="Al", password="pw")
    dumped = TypeAdapter(Customer).dump_python(customer)
    assert "password" not in dumped
    assert "password" not in TypeAdapter(Customer).dump_json(customer).decode()
    wallet_json = TypeAdapter(list[Wallet]).dump_python([make_wallet()], mode="json")
    assert wallet_json == [
        {"id": None, "owner": "ann", "card": {"number": "1111"}, "cards": [{"number": "2222"}]}
    ]


@pytest.mark.filterwarnings("ignore:Using `httpx` with")  # starlette's TestClient
@pytest.mark.filterwarnings("ignore:The 'alias' attribute")  # FastAPI's body parameter
def test_fastapi_response_leaves_out_hidden_properties() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    oid = str(ObjectId())

    @app.get("/customer", response_model=Customer)
    def read_customer() -> Customer:
        return Customer(id=oid, email="a@b.co", name="Al", password="pw", token="t")

    @app.get("/wallet")
    def read_wallet() -> Wallet:
        return make_wallet()

    @app.post("/customers")
    def create_customer(customer: Customer) -> dict[str, Any]:
        return {"password": customer.password, "name": customer.name}

    client = TestClient(app)
    body = client.get("/customer").json()
    assert body["id"] == oid
    assert body["name"] == "Al"
    assert "password" not in body
    assert client.get("/wallet").json() == {
        "id": None,
        "owner": "ann",
        "card": {"number": "1111"},
        "cards": [{"number": "2222"}],
    }
    posted = client.post("/customers", json={"email": "a@b.co", "name": "Al", "password": "pw"})
    assert posted.json() == {"password": "pw", "name": "Al"}


def test_to_json_is_json_ready() -> None:
    oid = ObjectId()
    at = datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    customer = Customer(id=str(oid), email="a@b.co", name="Al", token="t", created=at)
    assert customer.to_json() == {
        "id": str(oid),
        "email": "a@b.co",
        "name": "Al",
        "token": "t",
        "created": "2024-01-02T03:04:05.006000Z",
        "tags": [],
        "address": None,
        "deleted": False,
    }


# --- equality (§2.7) ------------------------------------------------------------------------


def test_value_objects_are_equal_by_class_and_values() -> None:
    a = Address(street="s", city="c", zip_code="z")
    assert a == Address(street="s", city="c", zip_code="z")
    assert a != Address(street="s", city="c", zip_code="other")

    class OtherAddress(Model):
        street: str
        city: str
        zip_code: str = prop(field_name="zip")

    other: object = OtherAddress(street="s", city="c", zip_code="z")
    assert a != other


def test_entities_are_equal_by_class_and_id() -> None:
    oid = str(ObjectId())
    a = Customer(id=oid, email="a@b.co", name="Al")
    b = Customer(id=oid, email="other@b.co", name="Bo")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != Customer(id=str(ObjectId()), email="a@b.co", name="Al")

    class OtherCustomer(Entity):
        email: str
        name: str

    assert a != OtherCustomer(id=oid, email="a@b.co", name="Al")


def test_entity_without_id_equals_only_itself() -> None:
    a = Customer(email="a@b.co", name="Al", token="t")
    b = a.model_copy()
    assert a == a
    assert a != b
    assert a != Customer(email="a@b.co", name="Al", token="t")


def test_get_id_returns_the_id_property() -> None:
    class ByCode(Entity):
        code: str = prop(id=True)

    assert ByCode(code="k").get_id() == "k"
    oid = str(ObjectId())
    assert Customer(id=oid, email="a@b.co", name="Al").get_id() == oid
