"""Per-repository write concern, read concern and read preference: applied to the
collection on a server, accepted and ignored by mongomock, refused when misspelt."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import ReadPreference, WriteConcern
from pymongo.read_concern import ReadConcern

from odm import Entity, ODMError, Repository, model


@model(collection="concern_rows")
class Row(Entity):
    name: str


SPELLINGS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"write_concern": "majority", "read_concern": "majority", "read_preference": "primary"},
        {
            "write_concern": WriteConcern(w="majority"),
            "read_concern": ReadConcern("majority"),
            "read_preference": ReadPreference.PRIMARY,
        },
    ),
    (
        {"write_concern": {"w": 1, "j": True}, "read_preference": "secondary_preferred"},
        {
            "write_concern": WriteConcern(w=1, j=True),
            "read_preference": ReadPreference.SECONDARY_PREFERRED,
        },
    ),
    (
        {"write_concern": WriteConcern(w=1), "read_concern": ReadConcern("local")},
        {"write_concern": WriteConcern(w=1), "read_concern": ReadConcern("local")},
    ),
]


@pytest.mark.parametrize(("given", "expected"), SPELLINGS)
async def test_options_are_accepted_and_the_repository_works(
    odm_db: Any, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    repo = Repository(Row, odm_db, **given)
    assert repo.collection_options == expected
    created = await repo.create({"name": "a"})
    assert [row.name for row in await repo.find()] == ["a"]
    assert (await repo.collection.find_one({}))["name"] == "a"
    await repo.update_by_id(created.id, {"name": "b"})
    assert (await repo.find_by_id(created.id)).name == "b"


@pytest.mark.backend_limit(mock="mongomock-motor has no replication: concerns are ignored")
@pytest.mark.parametrize(("given", "expected"), SPELLINGS)
async def test_options_reach_the_driver_collection(
    odm_db: Any, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    collection = Repository(Row, odm_db, **given).collection
    for name, value in expected.items():
        assert getattr(collection, name) == value
    plain = Repository(Row, odm_db).collection
    assert plain.write_concern == odm_db.write_concern
    assert plain.read_preference == odm_db.read_preference


@pytest.mark.parametrize(
    "given",
    [
        {"write_concern": True},
        {"write_concern": {"nope": 1}},
        {"write_concern": -1},
        {"read_concern": "strong"},
        {"read_concern": 1},
        {"read_preference": "fastest"},
        {"read_preference": 2},
    ],
)
async def test_misspelt_options_are_an_odm_error(odm_db: Any, given: dict[str, Any]) -> None:
    with pytest.raises(ODMError) as error:
        Repository(Row, odm_db, **given)
    assert next(iter(given)) in str(error.value)
