"""A refused commit leaves no transaction open on the server (SPEC §10: the transaction
is aborted on an exception, the commit's own failure included)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pymongo.errors import OperationFailure

from odm import Entity, Repository
from odm.drivers import close_client, open_client
from odm.embedded import EmbeddedServer


class Counter(Entity):
    n: int = 0


@pytest.fixture(scope="module")
def failpoint_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(extra_args=["--enable-test-commands"]) as server:
        yield server


async def test_refused_commit_leaves_no_open_transaction(failpoint_server: EmbeddedServer) -> None:
    client = open_client(failpoint_server.uri)
    try:
        counters = Repository(Counter, client["odm_commit_failure"], allow_extended_operators=True)
        counter = await counters.create({"n": 0})
        await client.admin.command(
            {
                "configureFailPoint": "failCommand",
                "mode": {"times": 1},
                "data": {"failCommands": ["commitTransaction"], "errorCode": 2},
            }
        )
        with pytest.raises(OperationFailure):
            async with counters.transaction() as session:
                await counters.update_by_id(counter.id, {"$inc": {"n": 1}}, session=session)
        # A transaction left open would hold the document's write lock: this write would block.
        await asyncio.wait_for(counters.update_by_id(counter.id, {"$inc": {"n": 10}}), 15)
        assert (await counters.find_by_id(counter.id)).n == 10  # the refused +1 is gone
    finally:
        await close_client(client)
