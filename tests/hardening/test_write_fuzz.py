"""Property-based tests of the write checks with hostile payloads.

Every generated payload either validates or raises ``ValidationError``; nothing else is
raised, and what validates is a document BSON can encode that holds no key starting with
``$``, containing ``.`` or a NUL byte, at any depth. Client-chosen ids are refused when
the id is generated (force_id).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import bson
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odm.codec import encode
from odm.errors import ValidationError
from odm.filters import FORBIDDEN_OPERATORS
from odm.updates import UPDATE_OPERATORS, translate_update
from odm.validation import validate_create, validate_replace

from .models import FilteredItem, Item, KeyedItem, LooseItem, ScopedItem
from .strategies import (
    clean_payloads,
    clean_update_payloads,
    payloads,
    payloads_one_hostile,
    update_payloads,
    update_payloads_one_hostile,
    values,
)
from .tally import count

SECTION = "write checks (hypothesis)"
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
CREATE_PAYLOADS = st.one_of(payloads, clean_payloads, payloads_one_hostile)
UPDATE_PAYLOADS = st.one_of(update_payloads, clean_update_payloads, update_payloads_one_hostile)
BSON_OPTIONS: CodecOptions[Any] = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)
MODELS: dict[str, Any] = {
    "strict": Item,
    "loose": LooseItem,
    "filter": FilteredItem,
    "scoped": ScopedItem,
    "keyed": KeyedItem,
}
#: ``$`` keys a stored value may hold: none. In an update document, ``$each`` wraps the
#: items of ``$push``/``$addToSet``, and a ``$pull`` condition is a query.
QUERY_OPERATORS = frozenset(
    {
        "$and",
        "$or",
        "$nor",
        "$eq",
        "$ne",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$in",
        "$nin",
        "$all",
        "$regex",
        "$options",
        "$not",
        "$exists",
        "$elemMatch",
    }
)


def keys_in(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, key
            yield from keys_in(item, here)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from keys_in(item, f"{path}.{index}")


def assert_storable_names(value: Any, path: str) -> None:
    """No key starting with ``$``, containing ``.`` or NUL, at any depth."""
    for where, key in keys_in(value, path):
        assert isinstance(key, str), where
        assert not key.startswith("$"), where
        assert "." not in key, where
        assert "\x00" not in key, where


def assert_sendable(document: Any) -> None:
    bson.encode({"document": document}, codec_options=BSON_OPTIONS)


def outcome(call: Any) -> Any:
    """The call's result, or None when it raised ``ValidationError`` (counted)."""
    try:
        result = call()
    except ValidationError as error:
        assert error.details and all(d["code"] and d["message"] for d in error.details)
        count(SECTION, "refused (ValidationError)")
        return None
    count(SECTION, "validated")
    return result


@settings(FUZZ, max_examples=400)
@given(payload=CREATE_PAYLOADS, model=st.sampled_from(sorted(MODELS)))
def test_create_payloads_validate_or_raise_validation_error(payload: Any, model: str) -> None:
    count(SECTION, "examples")
    cls = MODELS[model]
    instance = outcome(lambda: validate_create(cls, payload))
    if instance is None:
        return
    document = encode(instance)
    assert_storable_names(document, "")
    assert_sendable(document)
    if cls.odm_meta().settings.force_id and isinstance(payload, Mapping):
        assert payload.get("id") is None and payload.get("_id") is None


@settings(FUZZ, max_examples=300)
@given(payload=CREATE_PAYLOADS, model=st.sampled_from(["strict", "loose", "keyed"]))
def test_replace_payloads_validate_or_raise_validation_error(payload: Any, model: str) -> None:
    count(SECTION, "examples")
    cls = MODELS[model]
    target = "65a1b2c3d4e5f6a7b8c9d0e1"
    instance = outcome(lambda: validate_replace(cls, payload, target_id=target))
    if instance is None:
        return
    document = encode(instance)
    assert_storable_names(document, "")
    assert_sendable(document)
    assert str(document.get("_id", target)) == target  # a replace never moves an entity


def check_update_document(document: dict[str, Any], *, extended: bool) -> None:
    assert_sendable(document)
    assert document and set(document) <= UPDATE_OPERATORS
    if not extended:
        assert set(document) == {"$set"}
    for operator, assignments in document.items():
        assert assignments, operator
        for field, value in assignments.items():
            segments = field.split(".")
            assert all(s and not s.startswith("$") and "\x00" not in s for s in segments), field
            here = f"{operator}.{field}"
            if operator == "$pull" and isinstance(value, Mapping):
                for where, key in keys_in(value, here):
                    assert key not in FORBIDDEN_OPERATORS, where
                    assert not key.startswith("$") or key in QUERY_OPERATORS, where
                continue
            if (
                operator in ("$push", "$addToSet")
                and isinstance(value, Mapping)
                and "$each" in value
            ):
                assert set(value) == {"$each"}, here
                value = value["$each"]
            if operator == "$currentDate" and isinstance(value, Mapping):
                assert value in ({"$type": "date"}, {"$type": "timestamp"}), here
                continue
            assert_storable_names(value, here)


@settings(FUZZ, max_examples=400)
@given(payload=UPDATE_PAYLOADS, model=st.sampled_from(sorted(MODELS)), extended=st.booleans())
def test_update_payloads_validate_or_raise_validation_error(
    payload: Any, model: str, extended: bool
) -> None:
    count(SECTION, "examples")
    cls = MODELS[model]
    plan = outcome(lambda: translate_update(cls, payload, allow_extended_operators=extended))
    if plan is None:
        return
    check_update_document(plan.document(cls.odm_meta()), extended=extended)


@settings(FUZZ, max_examples=200)
@given(
    payload=st.dictionaries(st.sampled_from(["name", "n", "tags"]), values, max_size=2),
    key=st.sampled_from(["id", "_id"]),
    given_id=st.one_of(st.text(min_size=1, max_size=24), st.integers(), values.filter(bool)),
)
def test_client_chosen_ids_are_refused_when_the_id_is_generated(
    payload: dict[str, Any], key: str, given_id: Any
) -> None:
    count(SECTION, "examples")
    for cls in (Item, LooseItem, FilteredItem):
        try:
            validate_create(cls, {**payload, key: given_id})
        except ValidationError as error:
            count(SECTION, "refused (ValidationError)")
            assert "absence" in error.codes or "invalid-name" in error.codes, error.details
        else:
            raise AssertionError(f"{cls.__name__} accepted a client id {given_id!r}")
        try:
            translate_update(cls, {**payload, key: given_id}, target_id="65a1b2c3d4e5f6a7b8c9d0e1")
        except ValidationError as error:
            count(SECTION, "refused (ValidationError)")
            assert {"absence", "invalid-name"} & set(error.codes), error.details
        else:
            raise AssertionError(f"{cls.__name__} accepted an id change to {given_id!r}")
