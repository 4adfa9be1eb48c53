"""The timestamps and version settings, with no database: the properties they add or
take over, the settings refused at class creation, inheritance, JSON Schema, model
definitions (round trip), and the create validation that stamps and refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from odm import (
    Entity,
    Model,
    ModelDefinitionError,
    ValidationError,
    define_model,
    get_json_schema,
    model,
    model_definition,
    prop,
)
from odm.validation import validate_create_document


@model(timestamps=True, version=True)
class Stamped(Entity):
    title: str


@model(timestamps={"created": "born", "updated": None}, version="rev")
class Renamed(Entity):
    title: str
    born: datetime | None = prop(field_name="bornAt")


class Child(Stamped):
    extra: int = 0


def test_undeclared_properties_are_added_optional_and_none_until_stored() -> None:
    assert list(Stamped.model_fields) == ["id", "title", "created_at", "updated_at", "version"]
    entity = Stamped(title="a")
    assert (entity.created_at, entity.updated_at, entity.version) == (None, None, None)
    assert entity.to_json() == {
        "id": None,
        "title": "a",
        "created_at": None,
        "updated_at": None,
        "version": None,
    }


def test_renamed_declared_and_left_out_properties() -> None:
    meta = Renamed.odm_meta()
    assert list(Renamed.model_fields) == ["id", "title", "born", "rev"]
    assert meta.properties["born"].field_name == "bornAt"
    assert Renamed(title="a").born is None  # the declared field became optional


def test_a_subclass_inherits_the_settings_and_properties() -> None:
    assert Child.odm_meta().settings.version is True
    assert {"created_at", "updated_at", "version"} <= set(Child.model_fields)


def test_json_schema_lists_them_read_only_and_not_required() -> None:
    schema = get_json_schema(Stamped)
    assert schema["properties"]["created_at"] == {
        "type": ["string", "null"],
        "format": "date-time",
        "readOnly": True,
    }
    assert schema["properties"]["version"] == {"type": ["integer", "null"], "readOnly": True}
    assert schema["required"] == ["title"]


def test_model_definitions_carry_the_settings_and_round_trip() -> None:
    definition = model_definition(Renamed)
    assert definition["settings"] == {
        "timestamps": {"created": "born", "updated": None},
        "version": "rev",
    }
    assert "rev" not in definition["properties"]  # the setting brings it
    assert definition["properties"]["born"]["mongodb"] == {"fieldName": "bornAt"}
    rebuilt = define_model({**definition, "name": "RenamedAgain"})
    assert list(rebuilt.model_fields) == ["id", "title", "born", "rev"]
    assert model_definition(rebuilt) == {**definition, "name": "RenamedAgain"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"timestamps": "yes"}, "timestamps is True, False or a mapping"),
        ({"timestamps": {"made": "x"}}, "unknown timestamps key"),
        ({"timestamps": {"created": "a.b"}}, "names a property"),
        ({"version": 3}, "version names a property"),
        ({"timestamps": {"created": "rev"}, "version": "rev"}, "distinct names"),
    ],
)
def test_bad_settings_are_refused_when_the_class_is_created(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ModelDefinitionError, match=message):

        @model(**settings)
        class Bad(Entity):
            title: str


def test_a_declared_property_of_the_wrong_type_or_a_value_object_is_refused() -> None:
    with pytest.raises(ModelDefinitionError, match="declare it as `created_at: datetime"):

        @model(timestamps=True)
        class WrongType(Entity):
            created_at: str = ""

    with pytest.raises(ModelDefinitionError, match=r"for an odm\.Entity"):

        @model(version=True)
        class Value(Model):
            title: str


def test_a_create_is_stamped_once_and_refuses_caller_values() -> None:
    entity, doc = validate_create_document(Stamped, {"title": "a"})
    assert entity.created_at == entity.updated_at == doc["created_at"] == doc["updated_at"]
    assert entity.created_at is not None and entity.created_at.tzinfo is UTC
    assert (entity.version, doc["version"]) == (1, 1)
    # the stamped instance validates again (as after a before-save hook)...
    again, _ = validate_create_document(Stamped, entity)
    assert again.version == 1
    # ...but not once a caller (or a hook) set a value on it
    entity.created_at = datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        validate_create_document(Stamped, entity)
    assert [(d["path"], d["code"]) for d in caught.value.details] == [("created_at", "absence")]
