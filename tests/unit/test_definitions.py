"""define_model, model_definition and build_model_from_instance (SPEC §2.8), no database."""

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Iterator
from typing import Any, Literal

import pydantic
import pytest
from bson import Binary, Decimal128, ObjectId

from odm.definition_export import model_definition
from odm.definitions import ModelRegistry, default_registry, define_model, registered_models
from odm.errors import ModelDefinitionError
from odm.inference import build_model_from_instance
from odm.metadata import ModelMeta, PropertyMeta
from odm.models import Entity, Model, model
from odm.properties import PropertyOptions, prop
from odm.types import TypeInfo

ADDRESS = {
    "name": "Address",
    "base": "Model",
    "properties": {
        "street": {"type": "string", "required": True},
        "city": {"type": "string", "required": True},
        "zip_code": {"type": "string", "mongodb": {"fieldName": "zip"}},
    },
}

SCOPE = {"where": {"deleted": False}, "limit": 100}
INDEXES = {"city_created": {"keys": {"address.city": 1, "created": -1}}}

CUSTOMER = {
    "name": "Customer",
    "base": "Entity",
    "properties": {
        "id": {"type": "string", "id": True, "generated": True},
        "email": {"type": "string", "required": True, "index": {"unique": True}},
        "created": {"type": "date", "defaultFn": "now", "mongodb": {"fieldName": "createdAt"}},
        "tags": {"type": ["string"]},
        "address": {"type": "Address"},
        "password": "string",
        "deleted": {"type": "boolean", "default": False},
    },
    "settings": {
        "strict": "filter",
        "hiddenProperties": ["password"],
        "mongodb": {"collection": "customers"},
        "scope": SCOPE,
        "indexes": INDEXES,
    },
}


def meta(cls: type[Model]) -> ModelMeta:
    return cls.odm_meta()


def props(cls: type[Model]) -> dict[str, PropertyMeta]:
    return meta(cls).properties


def scalar(python: type, *, nullable: bool = False) -> TypeInfo:
    return TypeInfo("scalar", nullable, python=python)


@pytest.fixture(autouse=True)
def fresh_default_registry() -> Iterator[None]:
    """Each test starts with an empty default registry (and leaves one)."""
    default_registry.clear()
    yield
    default_registry.clear()


@pytest.fixture
def address() -> type[Model]:
    return define_model(ADDRESS)


# -- define_model: the SPEC example --------------------------------------------------


def test_spec_example_builds_an_entity_with_its_settings(address: type[Model]) -> None:
    customer = define_model(CUSTOMER)
    assert issubclass(customer, Entity)
    assert customer.__name__ == "Customer"
    settings = meta(customer).settings
    assert settings.name == "Customer"
    assert settings.strict == "filter"
    assert settings.hidden_properties == ("password",)
    assert settings.collection == "customers"
    assert settings.scope == SCOPE
    assert settings.indexes == INDEXES
    assert settings.force_id is True
    assert meta(customer).collection == "customers"


def test_spec_example_properties_are_mapped(address: type[Model]) -> None:
    customer = define_model(CUSTOMER)
    p = props(customer)
    assert list(p) == ["id", "email", "created", "tags", "address", "password", "deleted"]
    assert meta(customer).id is p["id"]
    assert p["id"].field_name == "_id"
    assert p["id"].options == PropertyOptions(id=True, generated=True)
    assert p["email"].options == PropertyOptions(required=True, index={"unique": True})
    assert p["email"].type == scalar(str)
    assert p["created"].field_name == "createdAt"
    assert p["created"].options.default_fn == "now"
    assert p["created"].type == scalar(dt.datetime)
    assert p["tags"].type == TypeInfo("list", True, item=scalar(str), container=list)
    assert p["address"].type == TypeInfo("model", True, model=address)
    assert p["password"].hidden is True


def test_spec_example_instances_behave(address: type[Model]) -> None:
    customer = define_model(CUSTOMER)
    c = customer.model_validate(
        {
            "email": "a@b.co",
            "createdAt": dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
            "address": {"street": "1 Main St", "city": "Paris", "zip": "75001"},
            "password": "secret",
            "unknown": "dropped",
        }
    )
    assert c.id is None
    assert c.created == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert c.tags is None
    assert c.address.zip_code == "75001"
    assert c.password == "secret"
    assert c.model_dump() == {
        "id": None,
        "email": "a@b.co",
        "created": dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        "tags": None,
        "address": {"street": "1 Main St", "city": "Paris", "zip_code": "75001"},
        "deleted": False,
    }
    assert isinstance(customer(email="x@y.z").created, dt.datetime)
    with pytest.raises(pydantic.ValidationError):
        customer.model_validate({})


def test_defined_models_are_registered_by_name() -> None:
    first = define_model({"name": "RegisteredThing", "properties": {"a": "string"}})
    assert registered_models()["RegisteredThing"] is first
    holder = define_model({"name": "RegisteredHolder", "properties": {"t": "RegisteredThing"}})
    assert props(holder)["t"].type.model is first
    again = define_model({"name": "RegisteredThing", "properties": {"a": "string"}})
    assert again is first  # the same definition: the class it gave before
    with pytest.raises(ModelDefinitionError, match="RegisteredThing: another model of that"):
        define_model({"name": "RegisteredThing", "properties": {"b": "string"}})
    assert registered_models()["RegisteredThing"] is first  # refused: nothing replaced
    second = define_model({"name": "RegisteredThing", "properties": {"b": "string"}}, replace=True)
    assert registered_models()["RegisteredThing"] is second
    assert props(holder)["t"].type.model is first  # a class already built keeps its own


def test_a_separate_registry_is_a_separate_namespace() -> None:
    ours, theirs = ModelRegistry(), ModelRegistry()
    mine = define_model({"name": "Tenant", "properties": {"a": "string"}}, registry=ours)
    other = define_model({"name": "Tenant", "properties": {"b": "integer"}}, registry=theirs)
    assert ours.get("Tenant") is mine and theirs.get("Tenant") is other
    assert "Tenant" not in registered_models()  # the default registry is untouched
    holder = define_model({"name": "Holder", "properties": {"t": "Tenant"}}, registry=theirs)
    assert props(holder)["t"].type.model is other
    with pytest.raises(ModelDefinitionError, match="unknown type 'Tenant'"):
        define_model({"name": "Holder", "properties": {"t": "Tenant"}})
    assert registered_models(ours) == {"Tenant": mine}


def test_clear_forgets_the_registered_models() -> None:
    registry = ModelRegistry()
    define_model({"name": "Gone", "properties": {"a": "string"}}, registry=registry)
    registry.clear()
    assert len(registry) == 0 and registry.get("Gone") is None
    again = define_model({"name": "Gone", "properties": {"b": "string"}}, registry=registry)
    assert registry.get("Gone") is again


def test_nested_definitions_are_registered_and_refused_like_top_level_ones() -> None:
    definition = {
        "name": "Outer",
        "properties": {"inner": "Inner"},
        "models": {"Inner": {"name": "Inner", "properties": {"x": "integer"}}},
    }
    registry = ModelRegistry()
    outer = define_model(definition, registry=registry)
    assert props(outer)["inner"].type.model is registry.get("Inner")
    inner = registry.get("Inner")
    assert (
        props(define_model({**definition, "name": "Outer2"}, registry=registry))["inner"].type.model
        is inner
    )
    changed = {"Inner": {"name": "Inner", "properties": {"x": "string"}}}
    with pytest.raises(ModelDefinitionError, match="Inner: another model of that name"):
        define_model({**definition, "name": "Outer3", "models": changed}, registry=registry)
    assert registry.get("Outer3") is None and registry.get("Inner") is inner


def test_models_mapping_is_searched_before_the_registry() -> None:
    define_model({"name": "Shared", "properties": {"a": "string"}})

    class Shared(Model):
        b: int

    holder = define_model(
        {"name": "UsesShared", "properties": {"s": "Shared"}}, models={"Shared": Shared}
    )
    assert props(holder)["s"].type.model is Shared


def test_base_may_be_another_defined_model(address: type[Model]) -> None:
    define_model(
        {
            "name": "Person",
            "base": "Entity",
            "properties": {"name": {"type": "string", "required": True}, "secret": "string"},
            "settings": {"hiddenProperties": ["secret"], "strict": "filter"},
        }
    )
    employee = define_model(
        {
            "name": "Employee",
            "base": "Person",
            "properties": {"badge": {"type": "integer", "required": True}, "pin": "string"},
            "settings": {"hiddenProperties": ["pin"]},
        }
    )
    person = registered_models()["Person"]
    assert issubclass(employee, person)
    assert list(props(employee)) == ["id", "name", "secret", "badge", "pin"]
    assert meta(employee).hidden == {"secret", "pin"}
    assert meta(employee).strict == "filter"
    assert model_definition(employee) == {
        "name": "Employee",
        "base": "Person",
        "properties": {"badge": {"type": "integer", "required": True}, "pin": {"type": "string"}},
        "settings": {"hiddenProperties": ["pin"]},
    }


@pytest.mark.parametrize(
    ("base", "expected"),
    [("Entity", Entity), ("PersistedModel", Entity), ("Model", Model), ("ValueObject", Model)],
)
def test_base_aliases(base: str, expected: type[Model]) -> None:
    cls = define_model({"name": f"Based{base}", "base": base, "properties": {"a": "string"}})
    assert cls.__mro__[1] is expected
    assert meta(cls).is_entity is (expected is Entity)


def test_missing_base_is_entity_when_a_property_is_the_id() -> None:
    with_id = define_model(
        {"name": "NoBaseId", "properties": {"code": {"type": "string", "id": True}}}
    )
    without = define_model({"name": "NoBase", "properties": {"code": "string"}})
    assert meta(with_id).is_entity is True
    assert meta(with_id).id is not None and meta(with_id).id.name == "code"
    assert meta(without).is_entity is False


def test_property_named_id_of_an_entity_is_its_id() -> None:
    cls = define_model({"name": "NamedId", "base": "Entity", "properties": {"id": "integer"}})
    id_prop = meta(cls).id
    assert id_prop is not None and id_prop.name == "id"
    assert id_prop.options == PropertyOptions(id=True)
    assert id_prop.type == scalar(int)
    with pytest.raises(pydantic.ValidationError):
        cls()
    assert model_definition(cls)["properties"] == {"id": {"type": "integer", "id": True}}


# -- define_model: types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        ("string", scalar(str, nullable=True)),
        ("String", scalar(str, nullable=True)),
        ("number", scalar(float, nullable=True)),
        ("integer", scalar(int, nullable=True)),
        ("boolean", scalar(bool, nullable=True)),
        ("date", scalar(dt.datetime, nullable=True)),
        ("Date", scalar(dt.datetime, nullable=True)),
        ("DateString", scalar(dt.date, nullable=True)),
        ("object", TypeInfo("dict", True, item=TypeInfo("any", True))),
        ("any", TypeInfo("any", True)),
        ("ObjectId", scalar(ObjectId, nullable=True)),
        ("uuid", scalar(uuid.UUID, nullable=True)),
        ("buffer", scalar(bytes, nullable=True)),
        (["string"], TypeInfo("list", True, item=scalar(str), container=list)),
        (["any"], TypeInfo("list", True, item=TypeInfo("any", True), container=list)),
        ("array", TypeInfo("list", True, item=TypeInfo("any", True), container=list)),
    ],
)
def test_every_type_name(type_name: Any, expected: TypeInfo) -> None:
    cls = define_model({"name": "Typed", "properties": {"v": {"type": type_name}}})
    assert props(cls)["v"].type == expected


def test_array_with_item_type() -> None:
    cls = define_model(
        {"name": "Typed", "properties": {"v": {"type": "array", "itemType": "integer"}}}
    )
    assert props(cls)["v"].type == TypeInfo("list", True, item=scalar(int), container=list)


def test_decimal128_data_type_gives_a_decimal() -> None:
    cls = define_model(
        {
            "name": "Priced",
            "properties": {"price": {"type": "number", "mongodb": {"dataType": "Decimal128"}}},
        }
    )
    assert props(cls)["price"].type == scalar(decimal.Decimal, nullable=True)
    assert cls(price=Decimal128("9.99")).price == decimal.Decimal("9.99")


def test_other_data_types_are_ignored() -> None:
    cls = define_model(
        {"name": "Typed", "properties": {"v": {"type": "string", "mongodb": {"dataType": "text"}}}}
    )
    assert props(cls)["v"].type == scalar(str, nullable=True)


def test_list_of_models_and_nested_arrays(address: type[Model]) -> None:
    cls = define_model(
        {
            "name": "Route",
            "properties": {
                "stops": {"type": ["Address"], "required": True},
                "grid": {
                    "type": [["integer"]],
                    "jsonSchema": {"type": "array", "items": {"type": "array"}},
                },
            },
        }
    )
    p = props(cls)
    assert p["stops"].type == TypeInfo(
        "list", item=TypeInfo("model", model=address), container=list
    )
    assert p["grid"].type.item == TypeInfo("list", item=scalar(int), container=list)
    route = cls(stops=[{"street": "s", "city": "c", "zip": "1"}], grid=[[1, 2], [3]])
    assert route.stops[0].zip_code == "1"


def test_nested_array_without_json_schema_is_refused() -> None:
    with pytest.raises(ModelDefinitionError, match="nested list property needs a json_schema"):
        define_model({"name": "Grid", "properties": {"grid": {"type": [["integer"]]}}})


def test_values_of_every_type_validate() -> None:
    cls = define_model(
        {
            "name": "AllTypes",
            "properties": {
                "s": "string",
                "n": "number",
                "i": "integer",
                "b": "boolean",
                "d": "date",
                "day": "DateString",
                "o": "object",
                "a": "any",
                "oid": "ObjectId",
                "u": "uuid",
                "buf": "buffer",
                "list": ["integer"],
            },
        }
    )
    oid = ObjectId()
    key = uuid.uuid4()
    value = cls(
        s="x",
        n=1.5,
        i=2,
        b=True,
        d="2024-01-02T03:04:05.123456Z",
        day="2024-01-02",
        o={"k": [1]},
        a=3,
        oid=str(oid),
        u=Binary.from_uuid(key),
        buf=b"\x00",
        list=["1", 2],
    )
    assert value.model_dump() == {
        "s": "x",
        "n": 1.5,
        "i": 2,
        "b": True,
        "d": dt.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=dt.UTC),
        "day": dt.date(2024, 1, 2),
        "o": {"k": [1]},
        "a": 3,
        "oid": oid,
        "u": key,
        "buf": b"\x00",
        "list": [1, 2],
    }


# -- define_model: options and settings ----------------------------------------------


def test_not_required_properties_without_default_are_optional() -> None:
    cls = define_model({"name": "Opt", "properties": {"a": "string"}})
    assert props(cls)["a"].type == scalar(str, nullable=True)
    assert cls().a is None
    assert cls.model_fields["a"].default is None


def test_required_property_has_no_default_and_refuses_none() -> None:
    cls = define_model({"name": "Req", "properties": {"a": {"type": "string", "required": True}}})
    assert props(cls)["a"].options.required is True
    assert props(cls)["a"].has_default is False
    with pytest.raises(pydantic.ValidationError):
        cls()
    with pytest.raises(pydantic.ValidationError):
        cls(a=None)


def test_default_is_converted_to_the_property_type() -> None:
    cls = define_model(
        {
            "name": "Defaults",
            "properties": {
                "when": {"type": "date", "default": "2024-01-02T00:00:00Z"},
                "count": {"type": "integer", "default": 3},
                "tags": {"type": ["string"], "default": ["a"]},
                "key": {"type": "uuid", "default": "12345678-1234-5678-1234-567812345678"},
                "blob": {"type": "buffer", "default": "AAE="},
                "price": {
                    "type": "number",
                    "default": "1.50",
                    "mongodb": {"dataType": "Decimal128"},
                },
            },
        }
    )
    value = cls()
    assert value.when == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert value.count == 3
    assert value.tags == ["a"]
    assert value.key == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert value.blob == b"\x00\x01"
    assert value.price == decimal.Decimal("1.50")
    assert props(cls)["count"].type == scalar(int)
    value.tags.append("b")
    assert cls().tags == ["a"]


def test_model_typed_default_becomes_an_instance(address: type[Model]) -> None:
    cls = define_model(
        {
            "name": "Shop",
            "properties": {
                "address": {
                    "type": "Address",
                    "default": {"street": "s", "city": "c", "zip_code": "1"},
                }
            },
        }
    )
    assert cls().address == address(street="s", city="c", zip_code="1")


def test_null_default_means_optional() -> None:
    cls = define_model(
        {"name": "NullDefault", "properties": {"a": {"type": "string", "default": None}}}
    )
    assert props(cls)["a"].type == scalar(str, nullable=True)
    assert cls().a is None


def test_nullable_options() -> None:
    cls = define_model(
        {
            "name": "Nulls",
            "properties": {
                "may": {"type": "string", "nullable": True, "default": "x"},
                "never": {"type": "string", "nullable": False},
                "given": {"type": "string", "required": True, "nullable": True},
            },
        }
    )
    p = props(cls)
    assert p["may"].type == scalar(str, nullable=True)
    assert p["may"].options.nullable is True
    assert cls(given=None).may == "x"
    assert cls(given=None, may=None).may is None
    assert p["never"].options.nullable is False
    assert cls(given="g").never is None  # may be left out
    with pytest.raises(pydantic.ValidationError):
        cls(given="g", never=None)
    assert p["given"].options == PropertyOptions(nullable=True)
    assert p["given"].has_default is False
    with pytest.raises(pydantic.ValidationError):
        cls()


def test_every_property_option_is_mapped() -> None:
    cls = define_model(
        {
            "name": "Options",
            "base": "Entity",
            "properties": {
                "code": {"type": "string", "id": True, "defaultFn": "uuidv4"},
                "email": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": ["The", "address"],
                    "jsonSchema": {"format": "email", "errorMessage": "bad email"},
                    "columnName": "mail",
                },
                "ttl": {
                    "type": "date",
                    "index": {"expireAfterSeconds": 60, "partialFilterExpression": {"a": 1}},
                },
                "rank": {"type": "integer", "index": True, "default": 0},
                "secret": {"type": "string", "hidden": True},
                "legacy": {"type": "string", "length": 40, "postgresql": {"dataType": "text"}},
            },
        }
    )
    p = props(cls)
    assert p["code"].options == PropertyOptions(id=True, default_fn="uuidv4")
    assert isinstance(cls(email="a@b.co").code, str)
    assert p["email"].options == PropertyOptions(
        required=True,
        unique=True,
        field_name="mail",
        description="The address",
        json_schema={"format": "email", "errorMessage": "bad email"},
    )
    assert p["email"].field_name == "mail"
    assert p["ttl"].options.index == {"expire_after_seconds": 60, "partial_filter": {"a": 1}}
    assert p["rank"].options.index is True
    assert p["secret"].hidden is True
    assert p["legacy"].options == PropertyOptions()
    with pytest.raises(pydantic.ValidationError, match="bad email"):
        cls(email="nope")
    value = cls(mail="a@b.co", secret="s")
    assert value.email == "a@b.co"
    assert "secret" not in value.model_dump()
    assert value.to_dict(include_hidden=True)["secret"] == "s"


def test_every_setting_is_mapped() -> None:
    cls = define_model(
        {
            "name": "Settled",
            "base": "Entity",
            "description": "Top-level description",
            "properties": {"a": "string", "b": "string", "deleted": "boolean"},
            "settings": {
                "strict": False,
                "hiddenProperties": ["a"],
                "forceId": False,
                "scope": {"where": {"deleted": False}},
                "indexes": {"a_b": {"keys": {"a": 1, "b": -1}, "options": {"unique": True}}},
                "mongodb": {"collection": "settled_things"},
                "idInjection": False,
            },
            "acls": [],
        }
    )
    settings = meta(cls).settings
    assert settings.description == "Top-level description"
    assert settings.strict is False
    assert settings.hidden_properties == ("a",)
    assert settings.force_id is False
    assert settings.scope == {"where": {"deleted": False}}
    assert settings.indexes == {"a_b": {"keys": {"a": 1, "b": -1}, "options": {"unique": True}}}
    assert settings.collection == "settled_things"
    value = cls(a="x", b="y", other=1)
    assert value.model_dump() == {"id": None, "b": "y", "deleted": None, "other": 1}


def test_loopback3_top_level_settings_and_hidden_synonym() -> None:
    cls = define_model(
        {
            "name": "Legacy",
            "properties": {"a": "string", "b": "string"},
            "strict": "filter",
            "hidden": ["a"],
            "mongodb": {"collection": "legacy"},
            "settings": {"description": ["From", "settings"], "strict": True},
        }
    )
    settings = meta(cls).settings
    assert settings.strict is True  # 'settings' wins over the top level
    assert settings.hidden_properties == ("a",)
    assert settings.collection == "legacy"
    assert settings.description == "From settings"


def test_short_property_form_is_a_type() -> None:
    cls = define_model({"name": "Short", "properties": {"a": "integer", "b": ["string"]}})
    assert props(cls)["a"].type == scalar(int, nullable=True)
    assert props(cls)["b"].type == TypeInfo("list", True, item=scalar(str), container=list)


# -- define_model: errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ([], "a model definition is a mapping"),
        ({"properties": {}}, "needs a non-empty string 'name'"),
        ({"name": ""}, "needs a non-empty string 'name'"),
        ({"name": "E", "base": "Persisted"}, "unknown base 'Persisted'"),
        ({"name": "E", "properties": []}, "'properties' maps property names"),
        ({"name": "E", "properties": {"a": "text"}}, "E.a: unknown type 'text'"),
        ({"name": "E", "properties": {"a": "NoSuchModel"}}, "unknown type 'NoSuchModel'"),
        ({"name": "E", "properties": {"a": ["string", "integer"]}}, "exactly one item type"),
        ({"name": "E", "properties": {"a": 5}}, "a type name or a mapping of options"),
        ({"name": "E", "properties": {"a": {"required": True}}}, "E.a: the property has no 'type'"),
        (
            {"name": "E", "properties": {"a": {"type": "string", "requird": True}}},
            r"unknown property option\(s\) \['requird'\]",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "required": "yes"}}},
            "E.a: required must be true or false, not 'yes'",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "id": 1}}},
            "E.a: id must be true or false",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "nullable": "no"}}},
            "nullable must be true or false",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "defaultFn": "random"}}},
            "E.a: unknown defaultFn 'random'",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "index": "yes"}}},
            "index must be true or a mapping",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "jsonSchema": ["x"]}}},
            "jsonSchema must be a mapping",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "description": 5}}},
            "description must be a string or a list of strings",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "integer", "default": "many"}}},
            "E.a: default 'many' is not a valid value",
        ),
        (
            {
                "name": "E",
                "properties": {
                    "a": {"type": "string", "mongodb": {"fieldName": "x"}, "columnName": "y"}
                },
            },
            "mongodb.fieldName 'x' and columnName 'y' disagree",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "mongodb": {"field": "x"}}}},
            r"E.a.mongodb: unknown key\(s\) \['field'\]",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "mongodb": {"fieldName": "a.b"}}}},
            "is not a valid MongoDB field name",
        ),
        (
            {
                "name": "E",
                "properties": {
                    "a": {"type": "string", "required": True, "nullable": True, "default": "x"}
                },
            },
            "cannot have a default",
        ),
        ({"name": "E", "properties": {"first-name": "string"}}, "must be a Python identifier"),
        ({"name": "E", "properties": {"_secret": "string"}}, "must be a Python identifier"),
        ({"name": "E", "properties": {"copy": "string"}}, "shadow a model attribute"),
        ({"name": "E", "settings": {"strictness": True}}, r"unknown setting\(s\) \['strictness'\]"),
        ({"name": "E", "settings": {"strict": "sometimes"}}, "strict must be True, False or"),
        ({"name": "E", "settings": {"forceId": "no"}}, "forceId must be true or false"),
        ({"name": "E", "settings": {"hiddenProperties": "a"}}, "list of property names"),
        (
            {"name": "E", "settings": {"hiddenProperties": ["ghost"]}},
            "hidden property 'ghost' is not a property",
        ),
        ({"name": "E", "settings": {"scope": ["x"]}}, "scope must be a mapping"),
        ({"name": "E", "settings": {"mongodb": {"table": "x"}}}, r"unknown key\(s\) \['table'\]"),
        ({"name": "E", "sttings": {}}, r"E: unknown key\(s\) \['sttings'\]"),
        (
            {"name": "E", "base": "Model", "properties": {"a": {"type": "string", "id": True}}},
            "only an Entity has an id property",
        ),
        (
            {"name": "E", "properties": {"a": {"type": "string", "generated": True}}},
            "generated=True is only for the id property",
        ),
    ],
)
def test_invalid_definitions_raise_model_definition_error(definition: Any, message: str) -> None:
    with pytest.raises(ModelDefinitionError, match=message):
        define_model(definition)


# -- model_definition ----------------------------------------------------------------


def test_model_definition_of_a_defined_model_gives_the_definition_back(
    address: type[Model],
) -> None:
    expected = {
        "name": "Customer",
        "base": "Entity",
        "properties": {
            "id": {"type": "string", "id": True, "generated": True},
            "email": {"type": "string", "required": True, "index": {"unique": True}},
            "created": {"type": "date", "defaultFn": "now", "mongodb": {"fieldName": "createdAt"}},
            "tags": {"type": ["string"]},
            "address": {"type": "Address"},
            "password": {"type": "string"},
            "deleted": {"type": "boolean", "default": False},
        },
        "settings": {
            "strict": "filter",
            "hiddenProperties": ["password"],
            "scope": SCOPE,
            "indexes": INDEXES,
            "mongodb": {"collection": "customers"},
        },
    }
    assert model_definition(define_model(CUSTOMER)) == expected
    assert model_definition(define_model(expected, replace=True)) == expected
    assert model_definition(address) == ADDRESS


def test_model_definition_normalises_short_forms() -> None:
    cls = define_model(
        {
            "name": "Shorts",
            "description": ["Short", "forms"],
            "properties": {
                "code": {"type": "String", "id": True},
                "a": "integer",
                "b": {"type": "array", "itemType": "date", "columnName": "bee"},
                "when": {"type": "date", "default": "2024-01-02T03:04:05+02:00"},
                "ttl": {"type": "date", "index": {"expireAfterSeconds": 5}},
                "n": {"type": "string", "default": None},
                "legacy": {"type": "string", "length": 10},
            },
            "hidden": ["a"],
            "relations": {},
        }
    )
    assert model_definition(cls) == {
        "name": "Shorts",
        "base": "Entity",
        "description": "Short forms",
        "properties": {
            "code": {"type": "string", "id": True},
            "a": {"type": "integer"},
            "b": {"type": ["date"], "mongodb": {"fieldName": "bee"}},
            "when": {"type": "date", "default": "2024-01-02T01:04:05Z"},
            "ttl": {"type": "date", "index": {"expireAfterSeconds": 5}},
            "n": {"type": "string"},
            "legacy": {"type": "string"},
        },
        "settings": {"hiddenProperties": ["a"]},
    }


def test_model_definition_round_trips_every_option() -> None:
    definition = {
        "name": "AllOptions",
        "base": "Entity",
        "description": "Every option",
        "properties": {
            "key": {"type": "uuid", "id": True, "defaultFn": "uuidv7"},
            "email": {
                "type": "string",
                "required": True,
                "unique": True,
                "description": "Mail",
                "jsonSchema": {"format": "email", "errorMessage": {"format": "bad"}},
                "mongodb": {"fieldName": "mail"},
            },
            "rank": {"type": "integer", "default": 1, "index": True},
            "score": {"type": "number", "nullable": True, "default": 0.5},
            "given": {"type": "string", "required": True, "nullable": True},
            "never": {"type": "string", "nullable": False},
            "price": {"type": "number", "mongodb": {"dataType": "Decimal128"}},
            "day": {"type": "DateString", "default": "2024-01-02"},
            "oid": {"type": "ObjectId"},
            "blob": {"type": "buffer", "default": "AAE="},
            "meta": {"type": "object", "default": {"a": 1}},
            "any": {"type": "any"},
            "secret": {"type": "string", "hidden": True},
            "grid": {"type": [["number"]], "jsonSchema": {"type": "array"}},
            "status": {"type": "string", "jsonSchema": {"enum": ["on", "off"]}},
        },
        "settings": {
            "strict": False,
            "forceId": False,
            "hiddenProperties": ["any"],
            "scope": {"order": ["rank DESC"]},
            "indexes": {"by_rank": {"keys": {"rank": -1}}},
            "mongodb": {"collection": "all_options"},
        },
    }
    cls = define_model(definition)
    assert model_definition(cls) == definition
    assert model_definition(define_model(model_definition(cls), replace=True)) == definition


def test_class_round_trips_through_its_definition(address: type[Model]) -> None:
    @model()
    class AddressValue(Model):
        street: str
        city: str
        zip_code: str = prop(field_name="zip")

    @model(
        name="ShopCustomer",
        collection="customers",
        strict="filter",
        hidden_properties=["password"],
        scope={"where": {"deleted": False}, "limit": 100},
        indexes={"city_created": {"keys": {"address.city": 1, "created": -1}}},
        description="A shop customer",
    )
    class ShopCustomer(Entity):
        id: str = prop(id=True, generated=True)
        email: str = prop(index={"unique": True}, json_schema={"format": "email"})
        name: str = prop(
            json_schema={"minLength": 2, "maxLength": 40, "errorMessage": "name: 2-40 characters"}
        )
        password: str | None = None
        token: str = prop(default_fn="uuidv4")
        created: dt.datetime = prop(default_fn="now", field_name="createdAt")
        tags: list[str] = prop(default_factory=list)
        address: AddressValue | None = None
        deleted: bool = False

    definition = model_definition(ShopCustomer, include_models=True)
    assert definition == {
        "name": "ShopCustomer",
        "base": "Entity",
        "description": "A shop customer",
        "properties": {
            "id": {"type": "string", "id": True, "generated": True},
            "email": {
                "type": "string",
                "required": True,
                "index": {"unique": True},
                "jsonSchema": {"format": "email"},
            },
            "name": {
                "type": "string",
                "required": True,
                "jsonSchema": {
                    "minLength": 2,
                    "maxLength": 40,
                    "errorMessage": "name: 2-40 characters",
                },
            },
            "password": {"type": "string"},
            "token": {"type": "string", "defaultFn": "uuidv4"},
            "created": {"type": "date", "defaultFn": "now", "mongodb": {"fieldName": "createdAt"}},
            "tags": {"type": ["string"], "default": []},
            "address": {"type": "AddressValue"},
            "deleted": {"type": "boolean", "default": False},
        },
        "settings": {
            "strict": "filter",
            "hiddenProperties": ["password"],
            "scope": {"where": {"deleted": False}, "limit": 100},
            "indexes": {"city_created": {"keys": {"address.city": 1, "created": -1}}},
            "mongodb": {"collection": "customers"},
        },
        "models": {
            "AddressValue": {
                "name": "AddressValue",
                "base": "Model",
                "properties": {
                    "street": {"type": "string", "required": True},
                    "city": {"type": "string", "required": True},
                    "zip_code": {
                        "type": "string",
                        "required": True,
                        "mongodb": {"fieldName": "zip"},
                    },
                },
            }
        },
    }
    rebuilt = define_model(definition)
    assert model_definition(rebuilt, include_models=True) == definition
    assert meta(rebuilt).settings == meta(ShopCustomer).settings
    for name, original in props(ShopCustomer).items():
        copy = props(rebuilt)[name]
        assert copy.field_name == original.field_name
        assert copy.hidden == original.hidden
        assert copy.has_default == original.has_default
        assert copy.nullable == original.nullable
        assert copy.options.json_schema == original.options.json_schema
        assert copy.options.default_fn == original.options.default_fn
        assert copy.options.index == original.options.index
        assert copy.type.kind == original.type.kind
    assert props(rebuilt)["address"].type.model is registered_models()["AddressValue"]
    data = {
        "email": "a@b.co",
        "name": "Ann",
        "createdAt": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "token": "t",
        "password": "p",
        "address": {"street": "s", "city": "c", "zip": "1"},
    }
    assert (
        rebuilt.model_validate(data).model_dump() == ShopCustomer.model_validate(data).model_dump()
    )
    for bad in ({**data, "name": "A"}, {**data, "email": "nope"}):
        with pytest.raises(pydantic.ValidationError):
            rebuilt.model_validate(bad)


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


def test_class_types_without_a_loopback_name_are_spelled_as_loopback_does() -> None:
    class Odd(Model):
        shade: Shade = Shade.LIGHT
        mode: Literal["a", "b"] | None = None
        price: decimal.Decimal
        day: dt.date | None = dt.date(2024, 1, 2)
        maybe: str | None
        labels: set[str] = prop(default_factory=set)

    definition = model_definition(Odd)
    assert definition == {
        "name": "Odd",
        "base": "Model",
        "properties": {
            "shade": {
                "type": "string",
                "default": "light",
                "jsonSchema": {"enum": ["light", "dark"]},
            },
            "mode": {"type": "string", "jsonSchema": {"enum": ["a", "b"]}},
            "price": {
                "type": "number",
                "required": True,
                "mongodb": {"dataType": "Decimal128"},
            },
            "day": {"type": "DateString", "nullable": True, "default": "2024-01-02"},
            "maybe": {"type": "string", "required": True, "nullable": True},
            "labels": {"type": ["string"], "default": []},
        },
    }
    rebuilt = define_model(definition)
    assert model_definition(rebuilt) == definition
    value = rebuilt(price="1.5", maybe=None)
    assert value.shade == "light"
    assert value.day == dt.date(2024, 1, 2)
    with pytest.raises(pydantic.ValidationError):
        rebuilt(price="1.5", maybe=None, shade="grey")
    with pytest.raises(pydantic.ValidationError):
        rebuilt(price="1.5")


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (int | str, "a union of several types"),
        (dict[str, int], "a dict with typed values"),
        (list[Shade], "an Enum or Literal below a list"),
        (list[str | None], "an item that may be None"),
        (list[decimal.Decimal], "a Decimal below a list"),
    ],
)
def test_types_loopback_cannot_express_are_refused(annotation: Any, message: str) -> None:
    cls = pydantic.create_model("Inexpressible", __base__=Model, value=(annotation, ...))
    with pytest.raises(ModelDefinitionError, match=f"Inexpressible.value: .*{message}"):
        model_definition(cls)


def test_default_factory_other_than_a_container_is_refused() -> None:
    class Stamped(Model):
        at: dt.datetime = prop(default_factory=lambda: dt.datetime.now(dt.UTC))

    with pytest.raises(ModelDefinitionError, match=r"Stamped\.at: a default_factory cannot"):
        model_definition(Stamped)


def test_model_definition_of_a_plain_class_is_refused() -> None:
    class NotOdm(pydantic.BaseModel):
        a: int

    with pytest.raises(ModelDefinitionError, match="NotOdm is not an odm model class"):
        model_definition(NotOdm)


def test_include_models_lists_dependencies_first_and_bases() -> None:
    class Geo(Model):
        lat: float

    class Spot(Model):
        geo: Geo

    class Named(Entity):
        title: str

    class Visit(Named):
        spots: list[Spot]
        main: Spot | None = None

    definition = model_definition(Visit, include_models=True)
    assert definition["base"] == "Named"
    assert list(definition["properties"]) == ["spots", "main"]
    assert list(definition["models"]) == ["Named", "Geo", "Spot"]
    assert definition["models"]["Spot"]["properties"] == {"geo": {"type": "Geo", "required": True}}
    rebuilt = define_model(definition)
    assert list(props(rebuilt)) == ["id", "title", "spots", "main"]
    assert model_definition(rebuilt, include_models=True) == definition


# -- build_model_from_instance -------------------------------------------------------

EVENT_ID = ObjectId("65a1b2c3d4e5f6a7b8c9d0e1")
USER_ID = ObjectId("65a1b2c3d4e5f6a7b8c9d0e2")
SESSION = uuid.UUID("12345678-1234-5678-1234-567812345678")
SAMPLE: dict[str, Any] = {
    "_id": EVENT_ID,
    "type": "click",
    "count": 3,
    "score": 1.5,
    "active": True,
    "at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    "day": dt.date(2024, 1, 2),
    "price": Decimal128("9.99"),
    "session": Binary.from_uuid(SESSION),
    "payload": b"\x00\x01",
    "ref": USER_ID,
    "user": {
        "_id": USER_ID,
        "name": "Ann",
        "address": {"city": "Paris", "zip-code": "75001"},
    },
    "tags": ["a", "b"],
    "items": [{"sku": "X", "qty": 1}, {"sku": "Y", "qty": 2, "note": "gift"}],
    "empty": [],
    "matrix": [[1, 2], [3]],
    "mixed": [1, 2.5],
    "meta": {},
    "note": None,
    "first-name": "Ann",
    "_class": "com.example.Event",
    "copy": "shadowed",
}


def test_inferred_model_is_a_loose_entity() -> None:
    event = build_model_from_instance("Event", SAMPLE)
    assert issubclass(event, Entity)
    assert event.__name__ == "Event"
    assert meta(event).strict is False
    id_prop = meta(event).id
    assert id_prop is not None and id_prop.name == "id"
    assert id_prop.options == PropertyOptions(id=True, generated=True)
    assert id_prop.type == scalar(str)


def test_inferred_types() -> None:
    event = build_model_from_instance("Event", SAMPLE)
    p = props(event)
    assert p["type"].type == scalar(str, nullable=True)
    assert p["count"].type == scalar(int, nullable=True)
    assert p["score"].type == scalar(float, nullable=True)
    assert p["active"].type == scalar(bool, nullable=True)
    assert p["at"].type == scalar(dt.datetime, nullable=True)
    assert p["day"].type == scalar(dt.date, nullable=True)
    assert p["price"].type == scalar(decimal.Decimal, nullable=True)
    assert p["session"].type == scalar(uuid.UUID, nullable=True)
    assert p["payload"].type == scalar(bytes, nullable=True)
    assert p["ref"].type == scalar(ObjectId, nullable=True)
    assert p["tags"].type == TypeInfo("list", True, item=scalar(str), container=list)
    assert p["empty"].type == TypeInfo("list", True, item=TypeInfo("any", True), container=list)
    assert p["matrix"].type == TypeInfo("list", True, item=TypeInfo("any", True), container=list)
    assert p["mixed"].type == TypeInfo("list", True, item=scalar(float), container=list)
    assert p["meta"].type == TypeInfo("dict", True, item=TypeInfo("any", True))
    assert p["note"].type == TypeInfo("any", True)
    assert all(not prop.options.required and prop.has_default for prop in p.values())


def test_nested_documents_become_embedded_models() -> None:
    event = build_model_from_instance("Event", SAMPLE)
    user = props(event)["user"].type.model
    assert user is not None and user.__name__ == "EventUser"
    assert issubclass(user, Model) and not issubclass(user, Entity)
    assert meta(user).strict is False
    assert list(props(user)) == ["id", "name", "address"]
    assert props(user)["id"].field_name == "_id"
    assert props(user)["id"].type == scalar(ObjectId, nullable=True)
    address = props(user)["address"].type.model
    assert address is not None and address.__name__ == "EventUserAddress"
    assert props(address)["zip_code"].field_name == "zip-code"
    item = props(event)["items"].type.item
    assert item is not None and item.model is not None
    assert item.model.__name__ == "EventItems"
    assert list(props(item.model)) == ["sku", "qty"]


def test_unsafe_field_names_get_safe_property_names() -> None:
    event = build_model_from_instance("Event", SAMPLE)
    p = props(event)
    assert p["first_name"].field_name == "first-name"
    assert p["class_"].field_name == "_class"
    assert p["copy_"].field_name == "copy"
    assert "_id" not in p


def test_inferred_class_validates_the_sample() -> None:
    event = build_model_from_instance("Event", SAMPLE)
    value = event.model_validate(SAMPLE)
    assert value.id == str(EVENT_ID)
    assert value.price == decimal.Decimal("9.99")
    assert value.session == SESSION
    assert value.user.id == USER_ID
    assert value.user.address.zip_code == "75001"
    assert value.items[1].qty == 2
    assert value.items[1].model_extra == {"note": "gift"}
    assert value.first_name == "Ann"
    assert value.class_ == "com.example.Event"
    assert value.copy_ == "shadowed"
    assert value.matrix == [[1, 2], [3]]
    assert value.mixed == [1.0, 2.5]
    assert event.model_validate({"_id": EVENT_ID, "extra": 1}).model_extra == {"extra": 1}


def test_sample_without_id_gives_a_model() -> None:
    point = build_model_from_instance("Point", {"x": 1, "y": 2})
    assert not issubclass(point, Entity)
    assert meta(point).strict is False
    assert point(x=1).y is None


def test_non_object_id_id_is_supplied_by_the_caller() -> None:
    sku = build_model_from_instance("Sku", {"id": "ABC-1", "qty": 2})
    id_prop = meta(sku).id
    assert id_prop is not None and id_prop.name == "id"
    assert id_prop.options == PropertyOptions(id=True)
    assert id_prop.type == scalar(str)
    assert sku(id="x").id == "x"


def test_sample_with_id_and_underscore_id_keeps_both() -> None:
    both = build_model_from_instance("Both", {"_id": ObjectId(), "id": 7})
    id_prop = meta(both).id
    assert id_prop is not None and id_prop.name == "id_"
    assert props(both)["id"].type == scalar(int, nullable=True)
    assert props(both)["id"].field_name == "id"


def test_inferred_models_are_not_registered() -> None:
    build_model_from_instance("InferredOnly", {"a": 1})
    assert "InferredOnly" not in registered_models()


def test_sample_must_be_a_mapping() -> None:
    with pytest.raises(ModelDefinitionError, match="the sample is a mapping"):
        build_model_from_instance("Bad", [1, 2])  # type: ignore[arg-type]
