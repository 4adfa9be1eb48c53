"""Typed change streams: ``repo.watch()`` events in property names (field mapping at every
depth), the entity hydrated, ``where`` and the default scope on the full document, resume
tokens across a restart of the watcher; the mock's refusal. No sleeps: each test opens
the stream, writes, then reads with a timeout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId

from odm import ChangeEvent, Entity, InvalidFilterError, Model, ODMError, Repository, model, prop
from odm.changes import ChangeStream

NO_CHANGE_STREAMS = "mongomock-motor has no change streams"
WAIT_S = 5


@model()
class Place(Model):
    zip: str = prop(field_name="zip_code")
    city: str = ""


@model()
class Visit(Model):
    at: datetime = prop(field_name="visitedAt")
    by: str = ""


@model(collection="tickets", scope={"where": {"archived": False}}, hidden_properties=["secret"])
class Ticket(Entity):
    title: str
    status: str = prop(default="open", field_name="st")
    place: Place | None = prop(default=None, field_name="addr")
    visits: list[Visit] = prop(default_factory=list)
    note: str | None = None
    secret: str = ""
    archived: bool = False


async def next_event(stream: ChangeStream[Ticket]) -> ChangeEvent[Ticket]:
    return await asyncio.wait_for(anext(stream), WAIT_S)


@pytest.mark.backend_limit(mock=NO_CHANGE_STREAMS)
async def test_events_come_in_property_names_with_the_entity_hydrated(odm_db: Any) -> None:
    tickets = Repository(Ticket, odm_db, allow_extended_operators=True)
    at = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    async with tickets.unscoped().watch() as changes:
        ticket = await tickets.create(
            {"title": "t", "place": {"zip": "75001"}, "visits": [{"at": at}], "secret": "s"}
        )
        # stored field names, as any writer (another service) would send them
        await tickets.collection.update_one(
            {"_id": ObjectId(ticket.id)},
            {"$set": {"addr.zip_code": "75002", "visits.0.by": "ann", "st": "done"}},
        )
        await tickets.update_by_id(ticket.id, {"$unset": {"place": ""}, "note": "n"})
        await tickets.replace_by_id(ticket.id, {"title": "new"})
        await tickets.delete_by_id(ticket.id)

        inserted = await next_event(changes)
        assert (inserted.operation, inserted.id) == ("insert", ticket.id)
        assert isinstance(inserted.id, str) and ObjectId.is_valid(inserted.id)
        assert inserted.entity is not None
        assert inserted.entity.place == Place(zip="75001")
        assert inserted.entity.visits == [Visit(at=at)]
        assert inserted.entity.secret == "s"  # as find loads it; to_json hides it
        assert "secret" not in inserted.entity.to_json()
        assert (inserted.updated, inserted.removed) == ({}, [])

        updated = await next_event(changes)
        assert updated.operation == "update" and updated.id == ticket.id
        assert updated.updated == {"place.zip": "75002", "visits.0.by": "ann", "status": "done"}
        assert updated.removed == []

        unset = await next_event(changes)
        assert unset.updated == {"note": "n"} and unset.removed == ["place"]

        replaced = await next_event(changes)
        assert replaced.operation == "replace"
        assert replaced.entity is not None and replaced.entity.title == "new"
        assert replaced.entity.place is None

        deleted = await next_event(changes)
        assert (deleted.operation, deleted.id, deleted.entity) == ("delete", ticket.id, None)
        assert "secret" not in repr(deleted) and "ticket" not in repr(deleted).lower()


@pytest.mark.backend_limit(mock=NO_CHANGE_STREAMS)
async def test_updated_values_are_decoded_like_loaded_ones(odm_db: Any) -> None:
    tickets = Repository(Ticket, odm_db)
    at = datetime(2026, 5, 6, 7, 8, 9, 10000, tzinfo=UTC)
    ticket = await tickets.create({"title": "t"})
    async with tickets.watch() as changes:
        await tickets.update_by_id(ticket.id, {"place": {"zip": "1", "city": "x"}})
        await tickets.update_by_id(ticket.id, {"visits": [{"at": at, "by": "bo"}]})
        first = await next_event(changes)
        assert first.updated == {"place": Place(zip="1", city="x")}
        assert first.entity is not None and first.entity.id == ticket.id
        second = await next_event(changes)
        assert second.updated == {"visits": [Visit(at=at, by="bo")]}
        assert second.updated["visits"][0].at.tzinfo is not None


@pytest.mark.backend_limit(mock=NO_CHANGE_STREAMS)
async def test_where_and_the_scope_filter_the_full_document(odm_db: Any) -> None:
    tickets = Repository(Ticket, odm_db)
    async with tickets.watch({"status": {"inq": ["open", "urgent"]}}) as changes:
        archived = await tickets.unscoped().create({"title": "archived", "archived": True})
        done = await tickets.create({"title": "done", "status": "done"})
        await tickets.delete_by_id(done.id)  # deletes have no document: left out
        await tickets.unscoped().update_by_id(archived.id, {"title": "still archived"})
        opened = await tickets.create({"title": "open"})
        await tickets.update_by_id(opened.id, {"status": "urgent"})
        leaving = await tickets.create({"title": "leaving"})
        await tickets.unscoped().update_by_id(leaving.id, {"archived": True})  # out of scope
        await tickets.unscoped().create({"title": "last"})
        seen = [await next_event(changes) for _ in range(4)]
    assert [(e.operation, e.entity.title if e.entity else None) for e in seen] == [
        ("insert", "open"),
        ("update", "open"),
        ("insert", "leaving"),  # an insert carries the document as inserted
        ("insert", "last"),
    ]
    assert seen[1].updated == {"status": "urgent"}


@pytest.mark.backend_limit(mock=NO_CHANGE_STREAMS)
async def test_a_resume_token_continues_after_a_restart_of_the_watcher(odm_db: Any) -> None:
    tickets = Repository(Ticket, odm_db)
    async with tickets.watch() as changes:
        first = await tickets.create({"title": "1"})
        second = await tickets.create({"title": "2"})
        event = await next_event(changes)
        assert event.id == first.id
    # the watcher restarts: events after the token come again, in order
    third = await tickets.create({"title": "3"})
    stream = tickets.watch(resume_after=event.resume_token)
    try:
        assert [(await next_event(stream)).id for _ in range(2)] == [second.id, third.id]
        assert stream.resume_token is not None
    finally:
        await stream.close()


@pytest.mark.backend_limit(mock=NO_CHANGE_STREAMS)
async def test_a_where_the_full_document_cannot_answer_is_refused(odm_db: Any) -> None:
    tickets = Repository(Ticket, odm_db, allow_extended_operators=True)
    with pytest.raises(InvalidFilterError, match=r"\$expr"):
        tickets.watch({"$expr": {"$eq": ["$st", "open"]}})
    with pytest.raises(ODMError, match="updateLookup"):
        tickets.watch(full_document="default")  # the scope needs the document
    stream = tickets.unscoped().watch(full_document="default")
    await stream.close()  # never opened: nothing to close


@pytest.mark.backend_limit(
    embedded="checks the mock's refusal; the embedded server has change streams",
    uri="checks the mock's refusal; a MongoDB replica set has change streams",
)
async def test_the_mock_says_it_has_no_change_streams(odm_db: Any) -> None:
    with pytest.raises(ODMError, match="the mongomock backend has no change streams"):
        Repository(Ticket, odm_db).watch()
