"""get_json_schema: LoopBack's shape (SPEC §2.9), no database."""

import datetime as dt
import decimal
import enum
import uuid
from typing import Any, Literal

import pytest
from bson import ObjectId
from pydantic import BaseModel, Field

from odm.definition_export import model_definition
from odm.errors import ModelDefinitionError
from odm.models import Entity, Model, model
from odm.properties import prop
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
    created: dt.datetime = prop(default_fn="now", field_name="createdAt")
    tags: list[str] = prop(default_factory=list)
    address: Address | None = None
    deleted: bool = False


ADDRESS_SCHEMA = {
    "title": "Address",
    "type": "object",
    "properties": {
        "street": {"type": "string"},
        "city": {"type": "string"},
        "zip_code": {"type": "string"},
    },
    "required": ["street", "city", "zip_code"],
    "additionalProperties": False,
}


def test_customer_schema_is_the_documented_shape() -> None:
    assert get_json_schema(Customer) == {
        "title": "Customer",
        "type": "object",
        "description": "A shop customer",
        "properties": {
            "id": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "name": {
                "type": "string",
                "minLength": 2,
                "maxLength": 40,
                "errorMessage": "name must be 2-40 characters",
            },
            "token": {"type": "string"},
            "created": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {"$ref": "#/definitions/Address"},
            "deleted": {"type": "boolean"},
        },
        "required": ["email", "name"],
        "definitions": {"Address": ADDRESS_SCHEMA},
        "additionalProperties": False,
    }


def test_schema_keys_come_in_loopback_order() -> None:
    assert list(get_json_schema(Customer)) == [
        "title",
        "type",
        "description",
        "properties",
        "required",
        "definitions",
        "additionalProperties",
    ]


def test_include_hidden_keeps_hidden_properties() -> None:
    schema = get_json_schema(Customer, include_hidden=True)
    assert list(schema["properties"]) == [
        "id",
        "email",
        "name",
        "password",
        "token",
        "created",
        "tags",
        "address",
        "deleted",
    ]
    assert schema["properties"]["password"] == {"type": ["string", "null"]}
    assert schema["required"] == ["email", "name"]


def test_hidden_required_property_is_left_out_of_required() -> None:
    @model(hidden_properties=["secret"])
    class Vault(Entity):
        label: str
        secret: str

    assert get_json_schema(Vault)["required"] == ["label"]
    assert get_json_schema(Vault, include_hidden=True)["required"] == ["label", "secret"]


def test_model_with_nothing_required_has_no_required_key() -> None:
    class Note(Model):
        text: str = ""

    assert get_json_schema(Note) == {
        "title": "Note",
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "additionalProperties": False,
    }


def test_additional_properties_is_strict_false() -> None:
    @model(strict=False)
    class Loose(Model):
        a: int

    @model(strict=True)
    class Tight(Model):
        a: int

    @model(strict="filter")
    class Filtered(Model):
        a: int

    assert get_json_schema(Loose)["additionalProperties"] is True
    assert get_json_schema(Tight)["additionalProperties"] is False
    assert get_json_schema(Filtered)["additionalProperties"] is False


def test_title_is_the_model_name_setting() -> None:
    @model(name="person")
    class PersonModel(Model):
        a: int

    assert get_json_schema(PersonModel)["title"] == "person"


class Geo(Model):
    lat: float
    lng: float


@model(hidden_properties=["note"])
class Place(Model):
    label: str
    geo: Geo
    note: str | None = None


class Trip(Entity):
    stops: list[Place]
    home: Place | None = None
    geo: Geo | None = None


def test_nested_of_nested_models_are_hoisted_to_one_definitions_map() -> None:
    schema = get_json_schema(Trip)
    assert schema["properties"] == {
        "id": {"type": "string"},
        "stops": {"type": "array", "items": {"$ref": "#/definitions/Place"}},
        "home": {"$ref": "#/definitions/Place"},
        "geo": {"$ref": "#/definitions/Geo"},
    }
    assert schema["required"] == ["stops"]
    assert schema["definitions"] == {
        "Place": {
            "title": "Place",
            "type": "object",
            "properties": {"label": {"type": "string"}, "geo": {"$ref": "#/definitions/Geo"}},
            "required": ["label", "geo"],
            "additionalProperties": False,
        },
        "Geo": {
            "title": "Geo",
            "type": "object",
            "properties": {"lat": {"type": "number"}, "lng": {"type": "number"}},
            "required": ["lat", "lng"],
            "additionalProperties": False,
        },
    }


def test_include_hidden_applies_to_nested_models() -> None:
    schema = get_json_schema(Trip, include_hidden=True)
    assert schema["definitions"]["Place"]["properties"]["note"] == {"type": ["string", "null"]}


def test_self_referencing_model_is_in_definitions_too() -> None:
    schema = get_json_schema(Category)
    node = {
        "title": "Category",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/definitions/Category"}},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    assert schema == {**node, "definitions": {"Category": node}}
    assert schema["definitions"]["Category"] is not schema


class Category(Model):
    name: str
    children: list["Category"] = prop(default_factory=list)


def test_two_classes_with_one_model_name_are_refused() -> None:
    @model(name="Thing")
    class ThingA(Model):
        a: int

    @model(name="Thing")
    class ThingB(Model):
        b: int

    class Holder(Model):
        first: ThingA
        second: ThingB

    with pytest.raises(ModelDefinitionError, match="two different classes are named 'Thing'"):
        get_json_schema(Holder)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Everything(Model):
    text: str
    count: int
    ratio: float
    price: decimal.Decimal
    flag: bool
    at: dt.datetime
    day: dt.date
    key: uuid.UUID
    oid: ObjectId
    blob: bytes
    color: Color
    level: Level
    mode: Literal["a", "b"]
    anything: Any
    names: list[str]
    unique_names: set[str]
    pair: tuple[int, ...]
    scores: dict[str, int]
    extra: dict[str, Any]
    items: list[Any]
    either: int | str
    maybe: int | None = None
    maybe_color: Color | None = None
    maybe_either: int | str | None = None
    maybe_list: list[int] | None = None
    nested_ints: list[list[int]] = prop(
        default_factory=list,
        json_schema={"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
    )


def test_every_type_maps_to_its_json_schema() -> None:
    properties = get_json_schema(Everything)["properties"]
    assert properties == {
        "text": {"type": "string"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "price": {"type": "number"},
        "flag": {"type": "boolean"},
        "at": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "key": {"type": "string", "format": "uuid"},
        "oid": {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"},
        "blob": {"type": "string", "contentEncoding": "base64"},
        "color": {"type": "string", "enum": ["red", "blue"]},
        "level": {"type": "integer", "enum": [1, 2]},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "anything": {},
        "names": {"type": "array", "items": {"type": "string"}},
        "unique_names": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "pair": {"type": "array", "items": {"type": "integer"}},
        "scores": {"type": "object", "additionalProperties": {"type": "integer"}},
        "extra": {"type": "object"},
        "items": {"type": "array"},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "maybe": {"type": ["integer", "null"]},
        "maybe_color": {"type": ["string", "null"], "enum": ["red", "blue", None]},
        "maybe_either": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]},
        "maybe_list": {"type": ["array", "null"], "items": {"type": "integer"}},
        "nested_ints": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "integer"}},
        },
    }


def test_not_nullable_and_required_optionals_are_not_null() -> None:
    class Strictish(Model):
        a: str | None = prop(None, nullable=False)
        b: str | None = prop(required=True)
        c: list[str | None] = prop(default_factory=list)

    schema = get_json_schema(Strictish)
    assert schema["properties"] == {
        "a": {"type": "string"},
        "b": {"type": "string"},
        "c": {"type": "array", "items": {"type": ["string", "null"]}},
    }
    assert schema["required"] == ["b"]


def test_required_lists_properties_without_defaults_and_required_ones() -> None:
    class Account(Entity):
        code: str = prop(id=True)
        owner: str
        opened: dt.datetime = prop(default_fn="now")
        balance: int = prop(0, required=True)
        nickname: str | None = None

    schema = get_json_schema(Account)
    assert schema["required"] == ["code", "owner", "balance"]
    assert schema["properties"]["code"] == {"type": "string"}


def test_id_with_default_fn_is_not_required() -> None:
    class Ticket(Entity):
        key: uuid.UUID = prop(id=True, default_fn="uuidv4")
        title: str

    schema = get_json_schema(Ticket)
    assert schema["properties"]["key"] == {"type": "string", "format": "uuid"}
    assert schema["required"] == ["title"]


def test_implicit_id_is_a_string_and_not_required() -> None:
    class Plain(Entity):
        title: str

    schema = get_json_schema(Plain)
    assert schema["properties"] == {"id": {"type": "string"}, "title": {"type": "string"}}
    assert schema["required"] == ["title"]


def test_descriptions_and_json_schema_keywords_are_merged_into_the_property() -> None:
    @model(description="A product")
    class Product(Model):
        sku: str = prop(
            description=["Stock", "keeping", "unit"],
            json_schema={"pattern": "^[A-Z]+$", "examples": ["ABC"]},
        )
        price: float = prop(json_schema={"minimum": 0, "errorMessage": {"minimum": "too low"}})
        label: str = Field("x", description="shown to users", json_schema_extra={"maxLength": 9})
        shipping: Geo | None = prop(None, description="where from")

    schema = get_json_schema(Product)
    assert schema["description"] == "A product"
    assert schema["properties"] == {
        "sku": {
            "type": "string",
            "description": "Stock keeping unit",
            "pattern": "^[A-Z]+$",
            "examples": ["ABC"],
        },
        "price": {"type": "number", "minimum": 0, "errorMessage": {"minimum": "too low"}},
        "label": {"type": "string", "description": "shown to users", "maxLength": 9},
        "shipping": {"$ref": "#/definitions/Geo", "description": "where from"},
    }


def test_json_schema_keywords_override_the_computed_ones() -> None:
    class Coded(Model):
        code: str = prop(json_schema={"type": "string", "format": "uri"})
        when: dt.datetime = prop(json_schema={"format": "date"})

    properties = get_json_schema(Coded)["properties"]
    assert properties["code"] == {"type": "string", "format": "uri"}
    assert properties["when"] == {"type": "string", "format": "date"}


def test_property_names_are_used_not_field_names() -> None:
    schema = get_json_schema(Customer)
    assert "created" in schema["properties"]
    assert "createdAt" not in schema["properties"]
    assert "zip_code" in schema["definitions"]["Address"]["properties"]


def test_plain_pydantic_model_nested_in_a_model_is_described_too() -> None:
    class Dimensions(BaseModel):
        """Size of a box."""

        width: float
        height: float = Field(1.0, description="in cm")

    class Box(Model):
        size: Dimensions

    schema = get_json_schema(Box)
    assert schema["definitions"] == {
        "Dimensions": {
            "title": "Dimensions",
            "type": "object",
            "description": "Size of a box.",
            "properties": {
                "width": {"type": "number"},
                "height": {"type": "number", "description": "in cm"},
            },
            "required": ["width"],
            "additionalProperties": False,
        }
    }


def test_schema_is_a_fresh_dict_each_call() -> None:
    first = get_json_schema(Customer)
    first["properties"]["email"]["format"] = "changed"
    first["definitions"]["Address"]["title"] = "changed"
    second = get_json_schema(Customer)
    assert second["properties"]["email"]["format"] == "email"
    assert second["definitions"]["Address"]["title"] == "Address"
    assert model_definition(Customer)["properties"]["email"]["jsonSchema"] == {"format": "email"}
