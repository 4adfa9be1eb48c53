"""Index declarations compiled to specs, and the pure diff against index_information()."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
from bson import SON, Binary

from odm import Entity, Model, ModelDefinitionError, model, prop
from odm.indexes import IndexSpec, MigrationReport, declared_indexes, diff, format_reports
from odm.metadata import ModelMeta

ID_INDEX = {"_id_": {"key": [("_id", 1)], "v": 2}}


def meta(cls: type[Any]) -> ModelMeta:
    return cls.odm_meta()  # type: ignore[no-any-return]


def specs(cls: type[Any]) -> dict[str, IndexSpec]:
    return {spec.name: spec for spec in declared_indexes(meta(cls))}


def info(spec: IndexSpec) -> dict[str, Any]:
    """What a server reports for ``spec`` (with the fields it adds)."""
    keys, options = spec.create_arguments()
    options.pop("name")
    return {"v": 2, "key": keys, **options}


class Status(Enum):
    ACTIVE = "active"
    GONE = "gone"


@model()
class Address(Model):
    street: str = ""
    city: str
    zip_code: str = prop(field_name="zip", index=True)


@model()
class Line(Model):
    sku: str = prop(field_name="s", unique=True)


@model(
    collection="customers",
    indexes={
        "city_created": {"keys": {"address.city": 1, "created": -1}},
        "place": {"keys": {"location": "2dsphere"}},
        "bucket": {"keys": {"token": "hashed"}},
        "search": {"keys": {"name": "text", "bio": "text"}, "options": {"default_language": "fr"}},
    },
)
class Customer(Entity):
    email: str = prop(unique=True, field_name="mail")
    name: str = prop(index=True)
    nick: str | None = prop(None, index={"sparse": True, "name": "nick_sparse"})
    created: datetime = prop(default_fn="now", field_name="createdAt")
    seen: datetime | None = prop(None, index={"expire_after_seconds": 3600})
    code: str | None = prop(
        None,
        index={"unique": True, "partial_filter": {"status": "active", "code": {"$type": "string"}}},
    )
    status: Status = Status.ACTIVE
    bio: str = ""
    token: str = ""
    location: dict[str, Any] | None = None
    address: Address | None = None
    lines: list[Line] = prop(default_factory=list)


# --- declarations -----------------------------------------------------------------------


def test_property_index_true_gives_mongodb_default_name() -> None:
    spec = specs(Customer)["name_1"]
    assert spec.keys == (("name", 1),)
    assert spec.options == {}
    assert spec.properties == ("name",)


def test_unique_shorthand_on_renamed_property_uses_field_name() -> None:
    spec = specs(Customer)["mail_1"]
    assert spec.keys == (("mail", 1),)
    assert spec.options == {"unique": True}
    assert spec.properties == ("email",)


def test_index_options_are_normalised_to_server_names() -> None:
    found = specs(Customer)
    assert found["nick_sparse"].options == {"sparse": True}
    assert found["seen_1"].options == {"expireAfterSeconds": 3600}


def test_partial_filter_maps_property_paths_and_encodes_values() -> None:
    @model(collection="things")
    class Thing(Entity):
        key: str = prop(
            index={
                "unique": True,
                "partial_filter": {
                    "$and": [
                        {"status": Status.ACTIVE},
                        {"created": {"$gte": datetime(2024, 1, 1)}},
                        {"ref": {"$in": [uuid.UUID(int=1)]}},
                        {"address.zip_code": {"$exists": True}},
                        {"tags": "a"},
                    ]
                },
            }
        )
        status: Status = Status.ACTIVE
        created: datetime = prop(default_fn="now", field_name="createdAt")
        ref: uuid.UUID | None = None
        address: Address | None = None
        tags: list[str] = prop(default_factory=list)

    partial = specs(Thing)["key_1"].options["partialFilterExpression"]
    assert partial == {
        "$and": [
            {"status": "active"},
            {"createdAt": {"$gte": datetime(2024, 1, 1, tzinfo=UTC)}},
            {"ref": {"$in": [Binary(uuid.UUID(int=1).bytes, 4)]}},
            {"address.zip": {"$exists": True}},
            {"tags": "a"},
        ]
    }


def test_partial_filter_passes_unknown_fields_unchanged() -> None:
    class Flexible(Entity):
        key: str = prop(index={"partial_filter": {"legacy_flag": True}})

    assert specs(Flexible)["key_1"].options == {"partialFilterExpression": {"legacy_flag": True}}


def test_nested_property_index_uses_field_path_at_every_depth() -> None:
    found = specs(Customer)
    assert found["address.zip_1"].keys == (("address.zip", 1),)
    assert found["address.zip_1"].properties == ("address.zip_code",)
    assert found["lines.s_1"].keys == (("lines.s", 1),)
    assert found["lines.s_1"].options == {"unique": True}


def test_model_level_keys_are_property_paths_mapped_to_fields() -> None:
    spec = specs(Customer)["city_created"]
    assert spec.keys == (("address.city", 1), ("createdAt", -1))
    assert spec.properties == ("address.city", "created")
    assert spec.origin == "indexes['city_created']"


def test_model_level_special_directions() -> None:
    found = specs(Customer)
    assert found["place"].keys == (("location", "2dsphere"),)
    assert found["bucket"].keys == (("token", "hashed"),)
    assert found["search"].keys == (("name", "text"), ("bio", "text"))
    assert found["search"].options == {"default_language": "fr"}


def test_model_level_forms_and_names() -> None:
    @model(
        indexes={
            "short": {"a": 1, "b": -1},
            "flat": {"keys": {"a": 1}, "unique": True, "background": True},
            "renamed": {"keys": {"b": 1}, "options": {"name": "b_custom", "sparse": True}},
            "pairs": {"keys": [("b", -1), ("a", 1)]},
        }
    )
    class Pair(Entity):
        a: int = 0
        b: int = prop(0, field_name="bee")

    found = specs(Pair)
    assert found["short"].keys == (("a", 1), ("bee", -1))
    assert found["flat"].options == {"unique": True}
    assert found["b_custom"].keys == (("bee", 1),)
    assert found["b_custom"].options == {"sparse": True}
    assert found["pairs"].keys == (("bee", -1), ("a", 1))


def test_compound_default_name_follows_mongodb_convention() -> None:
    @model(indexes={"x": {"keys": {"address.city": 1, "n": -1}}})
    class Place(Entity):
        n: int = 0
        address: Address | None = None

    spec = specs(Place)["x"]
    assert "_".join(f"{path}_{direction}" for path, direction in spec.keys) == "address.city_1_n_-1"


def test_indexes_are_inherited() -> None:
    @model(indexes={"by_a": {"keys": {"a": 1}}})
    class Base(Entity):
        a: int = 0
        b: int = prop(0, unique=True)

    @model(indexes={"by_c": {"keys": {"c": -1}}})
    class Child(Base):
        c: int = 0

    assert set(specs(Child)) == {"by_a", "b_1", "by_c"}
    assert set(specs(Base)) == {"by_a", "b_1"}


def test_id_property_and_undeclared_properties_get_no_index() -> None:
    class Plain(Entity):
        id: str = prop(id=True, index=True)
        x: int = prop(0, index=False)

    assert declared_indexes(meta(Plain)) == []


def test_recursive_models_do_not_loop() -> None:
    class Node(Model):
        label: str = prop(index=True)
        children: list[Node] = prop(default_factory=list)

    Node.model_rebuild()

    class Tree(Entity):
        root: Node | None = None

    assert list(specs(Tree)) == ["root.label_1"]


def test_declarations_are_compiled_once() -> None:
    first = declared_indexes(meta(Customer))
    first.clear()
    assert declared_indexes(meta(Customer)) == declared_indexes(meta(Customer)) != []


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ({"x": {"keys": {"nope": 1}}}, "'nope' is not a property path of Bad"),
        ({"x": {"keys": {"a": 2}}}, "direction 2 of 'a'"),
        ({"x": {"keys": {"a": True}}}, "direction True of 'a'"),
        ({"x": {"keys": {"a": "up"}}}, "direction 'up' of 'a'"),
        ({"x": {"keys": {}}}, "keys must be a non-empty dict"),
        ({"x": "a"}, "an index is declared as"),
        ({"x": {"keys": {"a": 1}, "options": {"expire_after_seconds": -1}}}, "whole number"),
        ({"x": {"keys": {"a": 1}, "options": {"unique": "yes"}}}, "unique must be True or False"),
        ({"x": {"keys": {"a": 1}, "options": {"partial_filter": {}}}}, "non-empty filter"),
        ({"a_1": {"keys": {"a": -1}}}, "are both named 'a_1'"),
        ({"again": {"keys": {"a": 1}}}, "under two names"),
    ],
)
def test_bad_declarations_raise_model_definition_error_at_class_creation(
    indexes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ModelDefinitionError, match=message):

        @model(indexes=indexes)
        class Bad(Entity):
            a: int = prop(0, index=True)


def test_bad_property_index_value_raises_at_class_creation() -> None:
    with pytest.raises(
        ModelDefinitionError, match=r"Bad property 'a': index must be True or a dict"
    ):

        class Bad(Entity):
            a: int = prop(0, index="yes")  # type: ignore[arg-type]


def test_same_index_declared_twice_under_one_name_is_kept_once() -> None:
    @model(indexes={"a_1": {"keys": {"a": 1}, "options": {"unique": True}}})
    class Twice(Entity):
        a: int = prop(0, unique=True)

    assert list(specs(Twice)) == ["a_1"]


# --- diff -------------------------------------------------------------------------------


def test_diff_creates_what_is_missing() -> None:
    plan = diff(declared_indexes(meta(Customer)), ID_INDEX)
    assert [spec.name for spec in plan.create] == list(specs(Customer))
    assert (plan.existing, plan.conflicting, plan.extra) == ([], [], [])


def test_diff_finds_existing_ignoring_server_fields() -> None:
    declared = declared_indexes(meta(Customer))
    existing = {**ID_INDEX, **{spec.name: info(spec) for spec in declared}}
    existing["mail_1"].update(background=True, ns="db.customers", sparse=False)
    existing["place"]["2dsphereIndexVersion"] = 3
    existing["seen_1"]["expireAfterSeconds"] = 3600.0
    existing["code_1"]["partialFilterExpression"] = SON(
        [("status", "active"), ("code", SON([("$type", "string")]))]
    )
    plan = diff(declared, existing)
    assert (plan.create, plan.conflicting, plan.extra) == ([], [], [])
    assert [match.declared.name for match in plan.existing] == [spec.name for spec in declared]


def test_diff_reads_a_server_text_index() -> None:
    declared = [specs(Customer)["search"]]
    stored = {
        "search": {
            "v": 2,
            "key": [("_fts", "text"), ("_ftsx", 1)],
            "weights": SON([("bio", 1), ("name", 1)]),
            "default_language": "fr",
            "language_override": "language",
            "textIndexVersion": 3,
        }
    }
    assert [m.found.name for m in diff(declared, stored).existing] == ["search"]
    stored["search"]["weights"] = {"bio": 5, "name": 1}
    (conflict,) = diff(declared, stored).conflicting
    assert "weights absent declared, {'bio': 5, 'name': 1} in the database" in conflict.reason


def test_diff_ignores_the_id_index() -> None:
    plan = diff([], ID_INDEX)
    assert plan.extra == [] and plan.create == []


def test_diff_key_order_matters() -> None:
    @model(indexes={"ab": {"keys": {"a": 1, "b": 1}}})
    class Ordered(Entity):
        a: int = 0
        b: int = 0

    plan = diff(declared_indexes(meta(Ordered)), {"ab": {"key": [("b", 1), ("a", 1)]}})
    (conflict,) = plan.conflicting
    assert conflict.declared.name == conflict.found.name == "ab"
    assert conflict.reason == "keys {'a': 1, 'b': 1} declared, {'b': 1, 'a': 1} in the database"


def test_diff_same_name_other_options_is_a_conflict() -> None:
    declared = [specs(Customer)["mail_1"]]
    plan = diff(declared, {**ID_INDEX, "mail_1": {"key": [("mail", 1)], "v": 2}})
    (conflict,) = plan.conflicting
    assert conflict.reason == "unique True declared, absent in the database"
    assert plan.create == plan.extra == []


def test_diff_same_keys_other_name_same_options_counts_as_existing() -> None:
    declared = [specs(Customer)["mail_1"]]
    plan = diff(declared, {"legacy": {"key": [("mail", 1)], "unique": True}})
    (match,) = plan.existing
    assert (match.declared.name, match.found.name) == ("mail_1", "legacy")
    assert plan.extra == plan.create == []


def test_diff_same_keys_other_name_other_options_is_a_conflict() -> None:
    declared = [specs(Customer)["mail_1"]]
    plan = diff(declared, {"legacy": {"key": [("mail", 1)], "sparse": True}})
    (conflict,) = plan.conflicting
    assert conflict.found.name == "legacy"
    assert conflict.reason == (
        "'legacy': sparse absent declared, True in the database; "
        "unique True declared, absent in the database"
    )


def test_diff_reports_extra_indexes() -> None:
    plan = diff([], {**ID_INDEX, "old_1": {"key": [("old", 1)], "v": 2}})
    assert [spec.name for spec in plan.extra] == ["old_1"]
    assert plan.extra[0].describe() == "old: 1"


def test_diff_collation_matches_the_fields_declared() -> None:
    @model(indexes={"n": {"keys": {"n": 1}, "options": {"collation": {"locale": "fr"}}}})
    class Named(Entity):
        n: str = ""

    stored = {"n": {"key": [("n", 1)], "collation": {"locale": "fr", "strength": 3}}}
    assert len(diff(declared_indexes(meta(Named)), stored).existing) == 1
    stored["n"]["collation"] = {"locale": "de", "strength": 3}
    assert len(diff(declared_indexes(meta(Named)), stored).conflicting) == 1


# --- the report -------------------------------------------------------------------------


def test_report_rows_and_table() -> None:
    report = MigrationReport(
        collection="customers",
        model="Customer",
        created=["mail_1", "name_1"],
        existing=["code_1"],
        extra=["old_1", "older_1"],
        conflicting=["name_1", "nick_sparse"],
        dropped=["name_1", "old_1"],
        notes={"old_1": "old: 1", "nick_sparse": "sparse True declared, absent in the database"},
    )
    assert report.summary() == "2 created, 1 existing, 2 extra, 2 conflicting, 2 dropped"
    assert [row[:2] for row in report.rows()] == [
        ("mail_1", "created"),
        ("name_1", "replaced"),
        ("nick_sparse", "conflicting"),
        ("code_1", "existing"),
        ("older_1", "extra"),
        ("old_1", "dropped"),
    ]
    lines = format_reports(
        [report, MigrationReport(collection="empty", model="Empty")]
    ).splitlines()
    assert lines[0].split() == ["collection", "model", "index", "status", "details"]
    assert lines[2].split() == ["customers", "Customer", "mail_1", "created"]
    assert lines[4].split(maxsplit=4) == [
        "customers",
        "Customer",
        "nick_sparse",
        "conflicting",
        "sparse True declared, absent in the database",
    ]
    assert lines[-1].split() == ["empty", "Empty", "-", "no", "indexes"]
    assert str(report) == format_reports([report])
    assert report.as_dict()["dropped"] == ["name_1", "old_1"]
