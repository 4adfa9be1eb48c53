"""Relation declarations without a database: default keys, forward references,
mis-declarations, navigational properties never stored, refused in data and filters,
schemas with and without relations, and the ``relations`` key of model definitions."""

from __future__ import annotations

from typing import Any

import pytest

from odm import (
    Entity,
    InvalidFilterError,
    Model,
    ModelDefinitionError,
    ValidationError,
    define_model,
    get_json_schema,
    has_many,
    has_many_through,
    model,
    model_definition,
)
from odm.codec import encode
from odm.definitions import ModelRegistry
from odm.filters import translate_filter
from odm.relations.metadata import relations_of
from tests.integration import relation_models as shop
from tests.integration.relation_models import Customer, Order


def test_default_keys_follow_loopback_in_snake_case() -> None:
    customer = relations_of(Customer.odm_meta())
    assert (customer["orders"].key_from, customer["orders"].key_to) == ("id", "customer_id")
    assert customer["orders"].target.cls is Order and customer["orders"].many
    assert customer["profile"].key_to == "customer_id" and not customer["profile"].many
    order = relations_of(Order.odm_meta())
    assert (order["customer"].key_from, order["customer"].key_to) == ("customer_id", "id")
    products = order["products"]
    assert products.through is not None and products.through.cls is shop.OrderLine
    assert (products.key_to, products.key_through) == ("order_id", "product_id")
    assert order["tags"].key_from == "tag_ids" and order["tags"].target.cls is shop.Tag


def test_navigational_properties_are_not_stored_properties() -> None:
    meta = Customer.odm_meta()
    assert "orders" not in meta.properties and set(meta.relations) == {"orders", "profile"}
    customer = Customer(name="Al")
    assert customer.orders is None and customer.profile is None
    assert "orders" not in customer.model_dump() and "orders" not in customer.to_json()
    assert "orders" not in repr(customer)
    order = Order(total=1.0, customer_id="c1")
    customer.__dict__["orders"] = [order]  # as include sets it
    assert customer.model_dump()["orders"][0]["total"] == 1.0
    assert "orders" not in encode(customer) and "orders" not in encode(order)


@pytest.mark.parametrize("mode", ["create", "replace", "update"])
def test_data_setting_a_navigational_property_is_refused(mode: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Order.validate_input({"total": 1.0, "customer": {"name": "x"}, "products": []}, mode=mode)
    assert [(d["path"], d["code"], d["value"]) for d in caught.value.details] == [
        ("customer", "navigational-property", None),
        ("products", "navigational-property", None),
    ]
    assert Order.validate_input({"total": 1.0, "customer": None}, mode=mode)["total"] == 1.0


def test_an_instance_holding_included_entities_is_refused() -> None:
    order = Order(total=1.0, customer_id="c1")
    assert "customer" not in Order.validate_input(order)
    order.__dict__["customer"] = Customer(name="Al")
    with pytest.raises(ValidationError) as caught:
        Order.validate_input(order)
    assert caught.value.details[0]["code"] == "navigational-property"


@pytest.mark.parametrize("strict", [True, False])
def test_a_filter_on_a_navigational_property_is_refused(strict: bool) -> None:
    @model(strict=strict, collection="nav_filter")
    class Owner(Entity):
        name: str
        things: list[Thing] | None = has_many()

    @model()
    class Thing(Entity):
        owner_id: str

    Owner.model_rebuild()
    meta = Owner.odm_meta()
    for filter in (
        {"where": {"things": []}},
        {"where": {"things.owner_id": "x"}},
        {"order": "things"},
        {"fields": ["things"]},
    ):
        with pytest.raises(InvalidFilterError):
            translate_filter(meta, filter)


def test_mis_declarations_raise_when_the_last_class_is_defined() -> None:
    @model()
    class Lone(Entity):
        name: str
        notes: list[Note] | None = has_many()

    with pytest.raises(ModelDefinitionError, match=r"Lone\.notes: key_to 'lone_id' is not a prop"):

        @model()
        class Note(Entity):
            text: str  # no lone_id

    class Plain(Model):
        x: int = 0

    with pytest.raises(ModelDefinitionError, match="must be an odm Entity"):

        @model()
        class Holder(Entity):
            plains: list[Plain] | None = has_many()

    @model()
    class Box(Entity):
        items: list[Item] | None = has_many_through(through="BoxItem")

    @model()
    class Item(Entity):  # the through model is still missing: no error yet
        text: str

    with pytest.raises(ModelDefinitionError, match="key_to 'box_id' is not a property of BoxI"):

        @model()
        class BoxItem(Entity):
            item_id: str

    with pytest.raises(ModelDefinitionError, match="list"):

        @model()
        class Shaped(Entity):
            items: Item | None = has_many(key_to="text")


def test_a_relation_to_a_class_never_defined_raises_at_first_use() -> None:
    @model()
    class Orphan(Entity):
        kids: list[Missing] | None = has_many()  # type: ignore[name-defined]  # noqa: F821

    @model()
    class Other(Entity):
        name: str

    with pytest.raises(ModelDefinitionError, match=r"Orphan\.kids: the relation's target"):
        relations_of(Orphan.odm_meta())


def test_well_declared_forward_relations_between_local_classes_resolve() -> None:
    @model()
    class Shelf(Entity):
        books: list[Book] | None = has_many()
        labels: list[Label] | None = has_many_through(through="ShelfLabel")

    @model()
    class Book(Entity):
        shelf_id: str

    @model()
    class Label(Entity):
        text: str

    @model()
    class ShelfLabel(Entity):
        shelf_id: str
        label_id: str

    found = relations_of(Shelf.odm_meta())
    assert found["books"].target.cls is Book and found["labels"].through is not None
    assert found["labels"].through.cls is ShelfLabel


def test_schema_leaves_relations_out_unless_asked() -> None:
    plain = get_json_schema(Customer)
    assert plain["title"] == "Customer" and "orders" not in plain["properties"]
    full = get_json_schema(Customer, include_relations=True)
    assert full["title"] == "CustomerWithRelations"
    assert full["properties"]["orders"] == {
        "type": "array",
        "items": {"$ref": "#/definitions/OrderWithRelations"},
    }
    assert full["properties"]["profile"] == {"$ref": "#/definitions/ProfileWithRelations"}
    order = full["definitions"]["OrderWithRelations"]["properties"]
    assert order["customer"] == {"$ref": "#/definitions/CustomerWithRelations"}
    assert "secret" not in full["properties"]
    assert "orders" not in full.get("required", [])


def test_model_definitions_carry_relations_and_round_trip() -> None:
    definitions = {
        cls.__name__: model_definition(cls)
        for cls in (shop.Customer, shop.Profile, shop.Order, shop.Product, shop.OrderLine, shop.Tag)
    }
    assert definitions["Customer"]["relations"] == {
        "orders": {"type": "hasMany", "model": "Order", "foreignKey": "customer_id"},
        "profile": {"type": "hasOne", "model": "Profile", "foreignKey": "customer_id"},
    }
    assert definitions["Order"]["relations"] == {
        "customer": {"type": "belongsTo", "model": "Customer", "foreignKey": "customer_id"},
        "products": {
            "type": "hasMany",
            "model": "Product",
            "foreignKey": "order_id",
            "through": "OrderLine",
            "keyThrough": "product_id",
        },
        "tags": {"type": "referencesMany", "model": "Tag", "foreignKey": "tag_ids"},
    }
    registry = ModelRegistry()
    built = {name: define_model(d, registry=registry) for name, d in definitions.items()}
    for name, cls in built.items():
        assert model_definition(cls) == definitions[name]
    assert relations_of(built["Order"].odm_meta())["products"].through is not None
    with pytest.raises(ModelDefinitionError):
        define_model(
            {"name": "Bad", "relations": {"x": {"type": "hasLots", "model": "Order"}}},
            registry=ModelRegistry(),
        )


def test_a_defined_relation_may_name_a_model_defined_later() -> None:
    registry = ModelRegistry()
    author = define_model(
        {
            "name": "Author",
            "base": "Entity",
            "properties": {"name": "string"},
            "relations": {"books": {"type": "hasMany", "model": "Book"}},
        },
        registry=registry,
    )
    book = define_model(
        {"name": "Book", "base": "Entity", "properties": {"author_id": "string"}},
        registry=registry,
    )
    assert author(name="Al").to_json() == {"id": None, "name": "Al"}
    relation = relations_of(author.odm_meta())["books"]
    assert relation.target.cls is book and relation.key_to == "author_id"


def test_custom_keys_round_trip_through_definitions() -> None:
    registry = ModelRegistry()
    definition = {
        "name": "Team",
        "base": "Entity",
        "properties": {
            "id": {"type": "string", "id": True, "generated": True},
            "code": {"type": "string", "required": True},
        },
        "relations": {
            "players": {
                "type": "hasMany",
                "model": "Player",
                "foreignKey": "team_code",
                "primaryKey": "code",
            }
        },
    }
    team = define_model(definition, registry=registry)
    define_model(
        {"name": "Player", "base": "Entity", "properties": {"team_code": "string"}},
        registry=registry,
    )
    relation = relations_of(team.odm_meta())["players"]
    assert (relation.key_from, relation.key_to) == ("code", "team_code")
    assert model_definition(team) == definition
