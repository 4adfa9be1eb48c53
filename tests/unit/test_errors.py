"""odm's errors (SPEC §12): one root, the documented attributes, readable messages."""

from __future__ import annotations

import pytest
from bson import ObjectId

from odm.errors import (
    DuplicateKeyError,
    EntityNotFoundError,
    InvalidFilterError,
    ModelDefinitionError,
    ODMError,
    ValidationError,
)
from odm.models import Model
from odm.properties import prop


@pytest.mark.parametrize(
    "error",
    [
        ValidationError,
        EntityNotFoundError,
        DuplicateKeyError,
        InvalidFilterError,
        ModelDefinitionError,
    ],
)
def test_every_error_is_an_odm_error(error: type[Exception]) -> None:
    assert issubclass(error, ODMError)
    assert issubclass(ODMError, Exception)


def test_errors_are_siblings_under_the_root() -> None:
    errors = [
        ValidationError,
        EntityNotFoundError,
        DuplicateKeyError,
        InvalidFilterError,
        ModelDefinitionError,
    ]
    for one in errors:
        for other in errors:
            if one is not other:
                assert not issubclass(one, other)


def test_validation_error_carries_its_details() -> None:
    details = [
        {"path": "name", "code": "minLength", "message": "Customer.name: too short", "value": "A"},
        {
            "path": "email",
            "code": "presence",
            "message": "Customer.email: is required",
            "value": None,
        },
    ]
    error = ValidationError("Customer", details)  # type: ignore[arg-type]
    assert error.model == "Customer"
    assert error.details == details
    assert error.codes == ["minLength", "presence"]
    assert str(error) == (
        "invalid Customer data (2 problem(s)): "
        "Customer.name: too short; Customer.email: is required"
    )


def test_validation_error_from_a_write_check_lists_every_problem() -> None:
    class Person(Model):
        name: str
        age: int

    with pytest.raises(ValidationError) as caught:
        Person.validate_input({"age": "old"})
    error = caught.value
    assert error.codes == ["presence", "type"]
    assert [d["path"] for d in error.details] == ["name", "age"]
    assert "Person.name: is required" in str(error)
    assert "Person.age: " in str(error)


def test_validation_error_is_also_a_value_error() -> None:
    # code written for pydantic or plain Python catches it as a ValueError too
    assert issubclass(ValidationError, ValueError)


def test_entity_not_found_error_names_model_and_id() -> None:
    oid = ObjectId("65a1b2c3d4e5f60718293a4b")
    error = EntityNotFoundError("Customer", oid)
    assert error.model == "Customer"
    assert error.id == oid
    assert str(error) == "Customer with id ObjectId('65a1b2c3d4e5f60718293a4b') not found"
    assert str(EntityNotFoundError("Customer", "abc")) == "Customer with id 'abc' not found"
    assert isinstance(error, LookupError)


def test_duplicate_key_error_names_properties_index_and_value() -> None:
    error = DuplicateKeyError(
        "Customer", properties=["email"], index="email_1", value={"email": "a@b.co"}
    )
    assert error.model == "Customer"
    assert error.properties == ["email"]
    assert error.index == "email_1"
    assert error.value == {"email": "a@b.co"}
    assert error.index_in_batch is None
    assert str(error) == (
        "duplicate Customer email {'email': 'a@b.co'}: unique index 'email_1' refuses it"
    )


def test_duplicate_key_error_in_a_batch_names_the_item() -> None:
    error = DuplicateKeyError(
        "Customer", properties=["email"], index="email_1", value={"email": "x"}, index_in_batch=3
    )
    assert error.index_in_batch == 3
    assert str(error).endswith("(item 3 of the batch)")


def test_duplicate_key_error_with_unknown_details_is_still_readable() -> None:
    error = DuplicateKeyError("Customer", properties=[], index=None, value=None)
    assert error.properties == []
    assert error.value is None
    assert str(error) == "duplicate Customer key: a unique index refuses it"


def test_invalid_filter_error_names_path_and_reason() -> None:
    error = InvalidFilterError("where.age.gte", "expected a number, got 'x'")
    assert error.path == "where.age.gte"
    assert error.reason == "expected a number, got 'x'"
    assert str(error) == "invalid filter at where.age.gte: expected a number, got 'x'"
    assert str(InvalidFilterError("", "must be a mapping")) == (
        "invalid filter at <root>: must be a mapping"
    )


def test_model_definition_error_message_names_the_model_and_property() -> None:
    with pytest.raises(ModelDefinitionError) as caught:

        class Broken(Model):
            key: str = prop(default_fn="nope")

    assert str(caught.value).startswith("Broken.key: unknown default_fn 'nope'; known: ")
    assert isinstance(caught.value, TypeError)


def test_odm_error_root_catches_every_odm_error() -> None:
    with pytest.raises(ODMError):
        raise EntityNotFoundError("Customer", 1)
    with pytest.raises(ODMError):
        raise InvalidFilterError("limit", "must be an int >= 1")
