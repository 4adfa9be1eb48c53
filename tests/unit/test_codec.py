"""The codec (SPEC §3): instances to BSON-ready documents and back, every type of the
table, field names mapped at every depth, both load paths, strict modes on load."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import bson
import pytest
from bson import Binary, Decimal128, ObjectId
from bson.codec_options import CodecOptions

from odm.codec import decode, decode_many, decode_trusted, encode, encode_partial
from odm.models import Entity, Model, model
from odm.properties import prop

UTC = dt.UTC
Load = Callable[[type[Any], dict[str, Any]], Any]
LOADERS = [pytest.param(decode, id="decode"), pytest.param(decode_trusted, id="decode_trusted")]


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Leaf(Model):
    code: str = prop(field_name="c")
    seen: dt.datetime | None = prop(None, field_name="s")
    amount: Decimal | None = None


class Branch(Model):
    label: str = prop(field_name="lbl")
    leaf: Leaf = prop(field_name="lf")
    leaves: list[Leaf] = prop(default_factory=list, field_name="lvs")


class Everything(Entity):
    text: str
    count: int
    ratio: float
    flag: bool
    nothing: None = None
    maybe: str | None = None
    moment: dt.datetime = prop(field_name="at")
    naive: dt.datetime
    day: dt.date
    price: Decimal
    key: uuid.UUID
    blob: bytes
    ref: ObjectId
    color: Color
    level: Level
    numbers: list[int]
    pair: tuple[int, str]
    many: tuple[int, ...]
    labels: set[str]
    keys: list[uuid.UUID]
    scores: dict[str, int]
    prices: dict[str, Decimal]
    branch: Branch = prop(field_name="br")
    branches: list[Branch]
    by_name: dict[str, Leaf]
    note: str | int = 0


OID = ObjectId("65a1b2c3d4e5f60718293a4b")
REF = ObjectId("0123456789abcdef01234567")
KEY = uuid.UUID("0b9fbc8e-3c3b-4d57-8a6c-2f8d5f8fb4c1")
KEY2 = uuid.UUID("9f2a1c3e-5b4d-4e6f-8a7b-0c1d2e3f4a5b")
MOMENT = dt.datetime(2024, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
SEEN = dt.datetime(2023, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)


def make_everything() -> Everything:
    return Everything(
        id=str(OID),
        text="héllo",
        count=42,
        ratio=0.25,
        flag=True,
        maybe=None,
        moment=MOMENT,
        naive=dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
        day=dt.date(2024, 2, 29),
        price=Decimal("19.99"),
        key=KEY,
        blob=b"\x00\x01binary",
        ref=REF,
        color=Color.BLUE,
        level=Level.HIGH,
        numbers=[3, 1, 2],
        pair=(1, "one"),
        many=(4, 5),
        labels={"b"},
        keys=[KEY, KEY2],
        scores={"math": 9, "art": 7},
        prices={"eur": Decimal("1.10")},
        branch=Branch(
            label="top",
            leaf=Leaf(code="L1", seen=SEEN, amount=Decimal("0.1")),
            leaves=[Leaf(code="L2"), Leaf(code="L3", seen=SEEN)],
        ),
        branches=[Branch(label="b2", leaf=Leaf(code="L4"))],
        by_name={"first": Leaf(code="L5", amount=Decimal("2"))},
        note="n",
    )


EXPECTED_DOC: dict[str, Any] = {
    "_id": OID,
    "text": "héllo",
    "count": 42,
    "ratio": 0.25,
    "flag": True,
    "nothing": None,
    "maybe": None,
    "at": MOMENT,
    "naive": dt.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
    "day": dt.datetime(2024, 2, 29, tzinfo=UTC),
    "price": Decimal128("19.99"),
    "key": Binary(KEY.bytes, 4),
    "blob": b"\x00\x01binary",
    "ref": REF,
    "color": "blue",
    "level": 2,
    "numbers": [3, 1, 2],
    "pair": [1, "one"],
    "many": [4, 5],
    "labels": ["b"],
    "keys": [Binary(KEY.bytes, 4), Binary(KEY2.bytes, 4)],
    "scores": {"math": 9, "art": 7},
    "prices": {"eur": Decimal128("1.10")},
    "br": {
        "lbl": "top",
        "lf": {"c": "L1", "s": SEEN, "amount": Decimal128("0.1")},
        "lvs": [
            {"c": "L2", "s": None, "amount": None},
            {"c": "L3", "s": SEEN, "amount": None},
        ],
    },
    "branches": [{"lbl": "b2", "lf": {"c": "L4", "s": None, "amount": None}, "lvs": []}],
    "by_name": {"first": {"c": "L5", "s": None, "amount": Decimal128("2")}},
    "note": "n",
}


def bson_round_trip(doc: dict[str, Any], *, tz_aware: bool) -> dict[str, Any]:
    raw = bson.BSON.encode(doc)
    decoded: dict[str, Any] = bson.BSON(raw).decode(CodecOptions(tz_aware=tz_aware))
    return decoded


def test_encode_maps_every_type_and_every_depth() -> None:
    doc = encode(make_everything())
    assert doc == EXPECTED_DOC
    assert type(doc["_id"]) is ObjectId
    assert type(doc["price"]) is Decimal128
    assert doc["key"].subtype == 4
    assert type(doc["day"]) is dt.datetime
    assert type(doc["labels"]) is list
    assert type(doc["pair"]) is list


def test_encoded_document_reads_back_from_bson_unchanged() -> None:
    raw = bson.encode(encode(make_everything()))
    # every value kept its BSON type: nothing was pickled, stringified or dropped
    assert bson.decode(raw, CodecOptions(tz_aware=True)) == EXPECTED_DOC
    assert bson.decode(raw)["key"] == Binary(KEY.bytes, 4)


def test_extras_never_overwrite_declared_fields_when_encoded() -> None:
    @model(strict=False)
    class Row(Entity):
        tenant: str = prop(default="a", field_name="t")

    row = Row.model_construct(id=str(OID), tenant="a")
    object.__setattr__(row, "__pydantic_extra__", {"t": "b", "_id": "x", "color": "red"})
    assert encode(row) == {"_id": OID, "t": "a", "color": "red"}


def test_encoding_data_nested_too_deep_is_a_validation_error() -> None:
    from odm.errors import ValidationError

    class Holder(Model):
        data: Any = None

    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValidationError) as error:
        encode(Holder.model_construct(data=deep))
    assert error.value.codes == ["too-deep"]


def test_naive_datetime_is_taken_as_utc_and_truncated_to_milliseconds() -> None:
    obj = make_everything()
    assert obj.naive == dt.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert obj.naive.utcoffset() == dt.timedelta(0)


def test_aware_datetime_in_another_zone_is_stored_as_utc() -> None:
    class Event(Model):
        at: dt.datetime

    paris = dt.timezone(dt.timedelta(hours=2))
    event = Event(at=dt.datetime(2024, 6, 1, 12, 0, 0, 999999, tzinfo=paris))
    assert encode(event) == {"at": dt.datetime(2024, 6, 1, 10, 0, 0, 999000, tzinfo=UTC)}


@pytest.mark.parametrize("load", LOADERS)
@pytest.mark.parametrize("tz_aware", [True, False], ids=["tz_aware", "naive"])
def test_every_type_round_trips_through_bson(load: Load, tz_aware: bool) -> None:
    original = make_everything()
    stored = bson_round_trip(encode(original), tz_aware=tz_aware)
    loaded = load(Everything, stored)
    assert loaded.model_dump() == original.model_dump()
    assert loaded == original
    assert type(loaded.day) is dt.date
    assert loaded.moment.tzinfo is not None and loaded.moment.utcoffset() == dt.timedelta(0)
    assert loaded.branch.leaf.seen == SEEN
    assert loaded.branch.leaf.seen.utcoffset() == dt.timedelta(0)
    assert isinstance(loaded.price, Decimal)
    assert isinstance(loaded.key, uuid.UUID)
    assert loaded.keys == [KEY, KEY2]
    assert loaded.color is Color.BLUE
    assert loaded.level is Level.HIGH
    assert loaded.pair == (1, "one")
    assert loaded.many == (4, 5)
    assert loaded.labels == {"b"}
    assert isinstance(loaded.ref, ObjectId)
    assert loaded.id == str(OID)
    assert loaded.blob == b"\x00\x01binary"
    assert isinstance(loaded.branches[0], Branch)
    assert isinstance(loaded.by_name["first"], Leaf)
    assert loaded.by_name["first"].amount == Decimal("2")
    assert encode(loaded) == EXPECTED_DOC


@pytest.mark.parametrize("load", LOADERS)
def test_uuid_is_read_back_from_a_legacy_subtype_3_binary(load: Load) -> None:
    class Thing(Model):
        key: uuid.UUID

    stored = {"key": Binary.from_uuid(KEY, bson.binary.UuidRepresentation.PYTHON_LEGACY)}
    assert load(Thing, stored).key == KEY


def test_uuid_is_encoded_as_binary_subtype_4_whatever_the_client_option() -> None:
    class Thing(Model):
        key: uuid.UUID
        loose: Any = None

    doc = encode(Thing(key=KEY, loose=KEY2))
    assert doc == {"key": Binary(KEY.bytes, 4), "loose": Binary(KEY2.bytes, 4)}
    # a client with the default uuidRepresentation (unspecified) can write it
    raw = bson.BSON.encode(doc)
    assert bson.BSON(raw).decode()["key"] == Binary(KEY.bytes, 4)


def test_date_is_stored_at_midnight_utc_and_read_back_as_date() -> None:
    class Thing(Model):
        day: dt.date

    doc = encode(Thing(day=dt.date(1999, 12, 31)))
    assert doc == {"day": dt.datetime(1999, 12, 31, 0, 0, tzinfo=UTC)}
    for tz_aware in (True, False):
        stored = bson_round_trip(doc, tz_aware=tz_aware)
        assert decode(Thing, stored).day == dt.date(1999, 12, 31)
        assert type(decode_trusted(Thing, stored).day) is dt.date


def test_untyped_values_are_encoded_by_their_runtime_type() -> None:
    class Thing(Model):
        payload: Any = None
        data: dict[str, Any] = prop(default_factory=dict)

    thing = Thing(
        payload=[Decimal("1.5"), dt.date(2020, 1, 2), Color.RED, {"k": KEY}],
        data={"n": 1, "leaf": Leaf(code="x")},
    )
    assert encode(thing) == {
        "payload": [
            Decimal128("1.5"),
            dt.datetime(2020, 1, 2, tzinfo=UTC),
            "red",
            {"k": Binary(KEY.bytes, 4)},
        ],
        "data": {"n": 1, "leaf": {"c": "x", "s": None, "amount": None}},
    }


def test_generated_id_is_left_out_until_stored() -> None:
    obj = make_everything().model_copy(update={"id": None})
    doc = encode(obj)
    assert "_id" not in doc
    assert "id" not in doc


def test_decode_many_loads_each_document() -> None:
    stored = bson_round_trip(encode(make_everything()), tz_aware=False)
    for trusted in (False, True):
        loaded = decode_many(Everything, [stored, stored], trusted=trusted)
        assert [obj.model_dump() for obj in loaded] == [make_everything().model_dump()] * 2


# --- nested models with renamed fields ------------------------------------------------


class Inner(Model):
    value: int = prop(field_name="v")


class Middle(Model):
    inner: Inner = prop(field_name="i")
    inners: list[Inner] = prop(default_factory=list, field_name="is")


class Outer(Entity):
    id: str = prop(id=True)
    middle: Middle = prop(field_name="m")
    middles: list[Middle] = prop(default_factory=list, field_name="ms")
    by_key: dict[str, Middle] = prop(default_factory=dict, field_name="bk")


def test_field_names_are_mapped_at_every_depth() -> None:
    outer = Outer(
        id="o1",
        middle=Middle(inner=Inner(value=1), inners=[Inner(value=2)]),
        middles=[Middle(inner=Inner(value=3))],
        by_key={"k": Middle(inner=Inner(value=4), inners=[Inner(value=5)])},
    )
    doc = encode(outer)
    assert doc == {
        "_id": "o1",
        "m": {"i": {"v": 1}, "is": [{"v": 2}]},
        "ms": [{"i": {"v": 3}, "is": []}],
        "bk": {"k": {"i": {"v": 4}, "is": [{"v": 5}]}},
    }
    for load in (decode, decode_trusted):
        assert load(Outer, doc).model_dump() == outer.model_dump()


def test_decode_refuses_property_names_where_field_names_are_stored() -> None:
    from pydantic import ValidationError as PydanticValidationError

    with pytest.raises(PydanticValidationError):
        decode(Outer, {"_id": "o1", "middle": {"inner": {"value": 1}}})


# --- strict modes on load (§2.5) -------------------------------------------------------


class StrictThing(Entity):
    label: str
    leaf: Leaf | None = None


@model(strict="filter")
class FilterThing(Entity):
    label: str


@model(strict=False)
class LooseThing(Entity):
    label: str


@model(strict=False)
class LooseLeaf(Model):
    code: str = prop(field_name="c")


class HoldsLooseLeaf(Entity):
    leaf: LooseLeaf


@pytest.mark.parametrize("load", LOADERS)
@pytest.mark.parametrize("cls", [StrictThing, FilterThing], ids=["strict", "filter"])
def test_unknown_stored_fields_are_ignored_on_load(load: Load, cls: type[Entity]) -> None:
    oid = ObjectId()
    loaded = load(cls, {"_id": oid, "label": "x", "legacy": 1})
    assert loaded.model_extra in (None, {})
    assert not hasattr(loaded, "legacy")
    assert loaded.model_dump() == {"id": str(oid), "label": "x"} | (
        {"leaf": None} if cls is StrictThing else {}
    )
    assert encode(loaded) == {"_id": oid, "label": "x"} | (
        {"leaf": None} if cls is StrictThing else {}
    )


@pytest.mark.parametrize("load", LOADERS)
def test_unknown_fields_of_a_strict_embedded_model_are_ignored_on_load(load: Load) -> None:
    oid = ObjectId()
    loaded = load(StrictThing, {"_id": oid, "label": "x", "leaf": {"c": "a", "old": 2}})
    assert loaded.leaf == Leaf(code="a")
    assert encode(loaded) == {
        "_id": oid,
        "label": "x",
        "leaf": {"c": "a", "s": None, "amount": None},
    }


@pytest.mark.parametrize("load", LOADERS)
def test_strict_false_keeps_unknown_stored_fields_and_writes_them_back(load: Load) -> None:
    oid = ObjectId()
    stored = {"_id": oid, "label": "x", "legacy": 1, "nested": {"a": [1, 2]}}
    loaded = load(LooseThing, stored)
    assert loaded.legacy == 1
    assert loaded.nested == {"a": [1, 2]}
    assert loaded.model_extra == {"legacy": 1, "nested": {"a": [1, 2]}}
    assert encode(loaded) == stored
    assert loaded.to_json() == {"id": str(oid), "label": "x", "legacy": 1, "nested": {"a": [1, 2]}}


@pytest.mark.parametrize("load", LOADERS)
def test_strict_false_embedded_model_keeps_its_unknown_fields(load: Load) -> None:
    oid = ObjectId()
    stored = {"_id": oid, "leaf": {"c": "a", "old": 2}}
    loaded = load(HoldsLooseLeaf, stored)
    assert loaded.leaf.code == "a"
    assert loaded.leaf.model_extra == {"old": 2}
    assert encode(loaded) == stored


def test_strict_false_extras_set_in_python_are_stored() -> None:
    thing = LooseThing(label="x", color="red")
    assert encode(thing) == {"label": "x", "color": "red"}


# --- partial documents --------------------------------------------------------------------


def test_encode_partial_maps_names_and_converts_values() -> None:
    meta = Everything.__odm__
    values = {
        "moment": MOMENT,
        "price": Decimal("1"),
        "key": KEY,
        "day": dt.date(2024, 1, 1),
        "color": Color.RED,
        "branch": Branch(label="x", leaf=Leaf(code="c")),
        "maybe": None,
    }
    assert encode_partial(meta, values) == {
        "at": MOMENT,
        "price": Decimal128("1"),
        "key": Binary(KEY.bytes, 4),
        "day": dt.datetime(2024, 1, 1, tzinfo=UTC),
        "color": "red",
        "br": {"lbl": "x", "lf": {"c": "c", "s": None, "amount": None}, "lvs": []},
        "maybe": None,
    }


def test_encode_partial_keeps_extras_of_a_loose_model() -> None:
    assert encode_partial(LooseThing.__odm__, {"label": "x", "legacy": KEY}) == {
        "label": "x",
        "legacy": Binary(KEY.bytes, 4),
    }


def test_encode_partial_stores_a_generated_str_id_as_object_id() -> None:
    oid = ObjectId()
    assert encode_partial(Everything.__odm__, {"id": str(oid)}) == {"_id": oid}


@model(strict=False)
class LooseHolder(Entity):
    leaf: Leaf
    loose: LooseLeaf | None = None


@pytest.mark.parametrize("load", LOADERS)
def test_each_embedded_model_applies_its_own_strict_mode_on_load(load: Load) -> None:
    oid = ObjectId()
    stored = {
        "_id": oid,
        "leaf": {"c": "a", "old": 2},
        "loose": {"c": "b", "kept": 3},
        "top": 4,
    }
    loaded = load(LooseHolder, stored)
    assert loaded.model_extra == {"top": 4}
    assert loaded.leaf.model_extra in (None, {})
    assert loaded.loose is not None and loaded.loose.model_extra == {"kept": 3}
    assert encode(loaded) == {
        "_id": oid,
        "leaf": {"c": "a", "s": None, "amount": None},
        "loose": {"c": "b", "kept": 3},
        "top": 4,
    }


def test_decode_many_applies_each_embedded_strict_mode() -> None:
    oid = ObjectId()
    stored = {"_id": oid, "leaf": {"c": "a", "old": 2}, "loose": {"c": "b", "kept": 3}}
    for trusted in (False, True):
        (loaded,) = decode_many(LooseHolder, iter([stored]), trusted=trusted)
        assert loaded.loose is not None and loaded.loose.model_extra == {"kept": 3}
        assert loaded.leaf.model_extra in (None, {})


# --- JSON output ------------------------------------------------------------------------------


def test_to_json_gives_json_ready_values_for_every_type() -> None:
    out = make_everything().to_json()
    assert out["id"] == str(OID)
    assert out["moment"] == "2024-03-04T05:06:07.891000Z"
    assert out["day"] == "2024-02-29"
    assert out["price"] == "19.99"
    assert out["key"] == str(KEY)
    assert out["ref"] == str(REF)
    assert out["color"] == "blue"
    assert out["level"] == 2
    assert out["pair"] == [1, "one"]
    assert out["labels"] == ["b"]
    assert out["branch"]["leaf"] == {
        "code": "L1",
        "seen": "2023-01-01T00:00:00.001000Z",
        "amount": "0.1",
    }
    import json

    json.dumps(out)


def test_to_json_with_hidden_agrees_with_to_json_on_every_type() -> None:
    obj = make_everything().model_copy(update={"blob": b"\xff\xfe\x00"})
    assert obj.to_json(include_hidden=True) == obj.to_json()
    assert obj.to_json()["blob"] == "__4A"


def test_json_output_validates_back_to_an_equal_instance() -> None:
    obj = make_everything()
    assert Everything.model_validate_json(obj.model_dump_json()).model_dump() == obj.model_dump()


# --- unions ---------------------------------------------------------------------------------


class Circle(Model):
    radius: int = prop(field_name="r")


class Square(Model):
    side: int = prop(field_name="s")


class Drawing(Entity):
    main: Circle | Square
    shapes: list[Circle | Square] = prop(default_factory=list)
    sizes: dict[str, int | str] = prop(default_factory=dict)
    at: dt.datetime | str | None = None


@pytest.mark.parametrize("load", LOADERS)
def test_unions_round_trip_with_field_names(load: Load) -> None:
    drawing = Drawing(
        id=str(OID),
        main=Square(side=2),
        shapes=[Circle(radius=1), Square(side=3)],
        sizes={"a": 1, "b": "big"},
        at=dt.datetime(2024, 1, 1, 12, 0, 0, 1234),
    )
    doc = encode(drawing)
    assert doc == {
        "_id": OID,
        "main": {"s": 2},
        "shapes": [{"r": 1}, {"s": 3}],
        "sizes": {"a": 1, "b": "big"},
        "at": dt.datetime(2024, 1, 1, 12, 0, 0, 1000, tzinfo=UTC),
    }
    for tz_aware in (True, False):
        loaded = load(Drawing, bson_round_trip(doc, tz_aware=tz_aware))
        assert loaded.model_dump() == drawing.model_dump()
        assert isinstance(loaded.shapes[1], Square)


@pytest.mark.parametrize("load", LOADERS)
def test_unknown_fields_inside_unions_are_ignored_on_load(load: Load) -> None:
    doc = {"_id": OID, "main": {"r": 5, "old": 1}, "shapes": [{"s": 1, "old": 2}]}
    loaded = load(Drawing, doc)
    assert loaded.main == Circle(radius=5)
    assert loaded.shapes == [Square(side=1)]


# --- the fast paths of loading (issue 13): same results as the general ones --------------


class Stamp(Entity):
    at: dt.datetime
    label: str = "x"


DRIVER_UTC = bson.tz_util.utc  # what pymongo's tz-aware datetimes carry by default


@pytest.mark.parametrize("load", LOADERS)
@pytest.mark.parametrize(
    "stored_at",
    [
        dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=DRIVER_UTC),
        dt.datetime(2024, 5, 6, 7, 8, 9, 123000),
        dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
        dt.datetime(2024, 5, 6, 9, 8, 9, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(1, 1, 1, tzinfo=DRIVER_UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=DRIVER_UTC),
    ],
    ids=["bson-utc", "naive", "utc", "plus-2h", "min", "max"],
)
def test_loaded_datetimes_are_the_same_instant_in_datetime_utc(
    load: Load, stored_at: dt.datetime
) -> None:
    loaded = load(Stamp, {"_id": OID, "at": stored_at, "label": "x"})
    expected = (stored_at if stored_at.tzinfo else stored_at.replace(tzinfo=UTC)).astimezone(UTC)
    assert loaded.at == expected
    assert loaded.at.tzinfo is UTC
    assert type(loaded.at) is dt.datetime
    assert encode(loaded) == {"_id": OID, "at": expected, "label": "x"}


def test_validated_datetimes_are_truncated_to_milliseconds_in_any_zone() -> None:
    for tz in (None, UTC, DRIVER_UTC, dt.timezone(dt.timedelta(hours=-5))):
        stamp = Stamp(at=dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=tz))
        assert stamp.at.microsecond == 123000
        assert stamp.at.tzinfo is UTC
        offset = tz.utcoffset(None) if tz is not None else dt.timedelta(0)
        assert stamp.at == dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC) - offset


@pytest.mark.parametrize("load", LOADERS)
def test_a_generated_id_loads_as_the_hex_text_of_its_object_id(load: Load) -> None:
    oids = [ObjectId(), ObjectId("0" * 24), ObjectId("f" * 24), ObjectId("65AbCdEf" + "0" * 16)]
    for oid in oids:
        loaded = load(Stamp, {"_id": oid, "at": dt.datetime(2024, 1, 1, tzinfo=UTC), "label": "x"})
        assert loaded.id == str(oid)
        assert type(loaded.id) is str


def test_a_generated_id_refuses_text_that_is_no_object_id() -> None:
    from pydantic import ValidationError as PydanticValidationError

    with pytest.raises(PydanticValidationError, match="ObjectId"):
        decode(Stamp, {"_id": "not-an-id", "at": dt.datetime(2024, 1, 1, tzinfo=UTC)})


def test_trusted_instances_behave_as_validated_ones_when_changed() -> None:
    stored = {"_id": OID, "at": dt.datetime(2024, 1, 1, tzinfo=DRIVER_UTC), "label": "x"}
    first, second = decode_many(Stamp, [stored, dict(stored)], trusted=True)
    validated = decode(Stamp, stored)
    assert first.model_fields_set == validated.model_fields_set == {"id", "at", "label"}
    first.label = "changed"
    assert first.model_dump(exclude_unset=True)["label"] == "changed"
    assert second.label == "x"
    assert second.model_fields_set == {"id", "at", "label"}
    copied = first.model_copy(update={"label": "copy"})
    assert copied.label == "copy" and first.label == "changed"
    assert first.model_extra is None and first.__pydantic_private__ is None


def test_trusted_loose_instances_keep_their_own_fields_set_and_extras() -> None:
    oid = ObjectId()
    first, second = decode_many(
        LooseThing, [{"_id": oid, "label": "a", "old": 1}, {"_id": oid, "label": "b"}], trusted=True
    )
    first.added = 2
    assert first.model_extra == {"old": 1, "added": 2}
    assert "added" in first.model_fields_set
    assert "added" not in second.model_fields_set
    assert second.model_extra == {}
    assert encode(second) == {"_id": oid, "label": "b"}
