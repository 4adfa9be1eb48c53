"""Batch loads: the collector's pause around them, and the trusted loader's inline
conversions agreeing with the validated load on what drivers return."""

from __future__ import annotations

import datetime as dt
import gc
import uuid
from collections.abc import Iterator

import bson
import pytest
from bson import Binary, ObjectId

from odm.codec import decode, decode_many
from odm.collector import collector_paused
from odm.models import Entity, Model


class Part(Model):
    name: str


class Kit(Entity):
    parts: list[Part | None]
    code: uuid.UUID
    made: dt.datetime


CODE = uuid.UUID("83d8e92d-f2ad-4c0e-a683-acdf2060d7c4")
MADE = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=bson.tz_util.utc)


@pytest.fixture
def collector_running() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.parametrize("trusted", [False, True])
def test_a_batch_load_resumes_the_collector_it_paused(
    collector_running: None, trusted: bool
) -> None:
    seen: list[bool] = []

    class Watched(Model):
        name: str

        def model_post_init(self, context: object) -> None:
            seen.append(gc.isenabled())

    loaded = decode_many(Watched, [{"name": "a"}, {"name": "b"}], trusted=trusted)

    assert [item.name for item in loaded] == ["a", "b"]
    assert seen == [False, False]
    assert gc.isenabled()


def test_a_failed_batch_load_resumes_the_collector_too(collector_running: None) -> None:
    with pytest.raises(ValueError):
        decode_many(Part, [{"name": "a"}, {"name": 5}])
    assert gc.isenabled()


def test_a_paused_collector_stays_paused(collector_running: None) -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


@pytest.mark.parametrize(
    "stored",
    [
        {"parts": [{"name": "a"}, None], "code": CODE, "made": MADE},
        {
            "parts": ({"name": "a"},),
            "code": Binary(CODE.bytes, 4),
            "made": MADE.replace(tzinfo=None),
        },
        {"parts": [], "code": Binary(CODE.bytes, 3), "made": MADE.astimezone(dt.UTC)},
    ],
    ids=["driver", "tuple-and-binary", "legacy-uuid"],
)
def test_trusted_batch_loads_give_what_validated_loads_give(stored: dict[str, object]) -> None:
    document = {"_id": ObjectId(), **stored}

    (trusted,) = decode_many(Kit, [document], trusted=True)

    validated = decode(Kit, document)
    assert trusted == validated
    assert trusted.made.tzinfo is dt.UTC and trusted.code == CODE
    assert all(part is None or type(part) is Part for part in trusted.parts)
