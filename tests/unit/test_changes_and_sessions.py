"""Without a server: how a change stream's where is put on the full document, how updated
values are decoded, what an event shows in repr; how a bound session is found per client
and per task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odm import ChangeEvent, Entity, InvalidFilterError, Model, ODMError, model, prop
from odm.changes import _decoded, _on_full_document
from odm.drivers.sessions import bind_session, bound_session
from odm.metadata import meta_of


@model()
class Spot(Model):
    zip: str = prop(field_name="zip_code")


@model(hidden_properties=["pin"])
class Card(Entity):
    spot: Spot | None = prop(default=None, field_name="s")
    spots: list[Spot] = prop(default_factory=list)
    counts: dict[str, int] = prop(default_factory=dict)
    pin: str = ""


def test_every_field_path_of_the_where_gets_the_full_document_prefix() -> None:
    query = {
        "s.zip_code": "1",
        "$or": [{"pin": "x"}, {"$and": [{"n": {"$gt": 1}}, {"m": {"$elemMatch": {"a": 1}}}]}],
        "$comment": "kept",
    }
    assert _on_full_document(query) == {
        "fullDocument.s.zip_code": "1",
        "$or": [
            {"fullDocument.pin": "x"},
            {
                "$and": [
                    {"fullDocument.n": {"$gt": 1}},
                    {"fullDocument.m": {"$elemMatch": {"a": 1}}},  # inside: element fields
                ]
            },
        ],
        "$comment": "kept",
    }


@pytest.mark.parametrize("operator", ["$expr", "$text", "$where", "$jsonSchema"])
def test_operators_the_full_document_cannot_answer_are_refused(operator: str) -> None:
    with pytest.raises(InvalidFilterError, match=rf"\{operator} cannot filter a change stream"):
        _on_full_document({"$and": [{operator: {}}]})


def test_updated_values_are_decoded_at_their_path() -> None:
    meta = meta_of(Card)
    assert meta is not None
    assert _decoded(Card, meta, "s", {"zip_code": "9"}) == Spot(zip="9")
    assert _decoded(Card, meta, "s.zip_code", "9") == "9"
    assert _decoded(Card, meta, "spots.3", {"zip_code": "7"}) == Spot(zip="7")
    assert _decoded(Card, meta, "counts.a", 2) == 2
    assert _decoded(Card, meta, "unknown.path", [1]) == [1]  # not described: as stored


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(["s.zip_code", "pin", "counts.k"]), st.text(max_size=5)))
def test_an_event_repr_shows_property_names_never_values(updated: dict[str, Any]) -> None:
    event: ChangeEvent[Card] = ChangeEvent(
        "update", "id1", None, {"_data": "x"}, updated={k: f"<{v}>" for k, v in updated.items()}
    )
    shown = repr(event)
    assert all(f"<{value}>" not in shown for value in updated.values())
    assert all(name in shown for name in updated)


async def test_a_bound_session_is_found_for_its_client_only() -> None:
    client_a, client_b = object(), object()
    session_a: Any = object()
    session_b: Any = object()
    assert bound_session(client_a) is None
    with bind_session(client_a, session_a):
        assert bound_session(client_a) is session_a
        assert bound_session(client_b) is None
        with bind_session(client_b, session_b):
            assert (bound_session(client_a), bound_session(client_b)) == (session_a, session_b)
        assert bound_session(client_b) is None
    assert bound_session(client_a) is None


async def test_tasks_see_the_binding_they_were_started_in() -> None:
    client = object()
    session: Any = object()
    release = asyncio.Event()

    async def look() -> Any:
        await release.wait()
        return bound_session(client)

    outside = asyncio.create_task(look())
    with bind_session(client, session):
        inside = asyncio.create_task(look())
        release.set()
        assert await inside is session  # started inside: joins
    assert await outside is None  # started before: never sees it

    lingering = asyncio.Event()

    async def late() -> Any:
        await lingering.wait()
        return bound_session(client)

    with bind_session(client, session):
        task = asyncio.create_task(late())
    lingering.set()
    with pytest.raises(ODMError, match="transaction that has ended"):
        await task
