"""``aggregate`` on every backend: the default scope's where as a first (mapped)
``$match``, results as dicts or validated into ``output``, refused stages before any I/O,
hidden fields refused when prohibited, the operation pipeline's points."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pydantic
import pytest
from bson import Decimal128

from odm import Entity, InvalidFilterError, Model, ODMError, Repository, model, prop
from odm.hidden import HIDDEN_REASON
from odm.operations import HookPoints, Operation


@model(
    collection="agg_sales",
    scope={"where": {"region": "eu"}},
    scopes={"big": {"where": {"amount": {"gt": 2}}}},
)
class Sale(Entity):
    item: str
    amount: int = prop(default=0, field_name="amt")
    region: str = prop(default="eu", field_name="rg")


@model()
class Total(Model):
    item: str
    total: int = prop(field_name="sum")


class PlainTotal(pydantic.BaseModel):
    item: str
    total: int


@model(collection="agg_accounts", hidden_properties=["password"])
class Account(Entity):
    name: str
    password: str = prop(default="", field_name="pw")
    level: int = 0


class Counter(HookPoints):
    active = True

    def __init__(self) -> None:
        self.accesses: list[Operation] = []
        self.documents = 0

    async def access(self, operation: Operation) -> None:
        self.accesses.append(operation)

    async def loaded(self, operation: Operation, document: Any) -> None:
        self.documents += 1


TOTALS = [
    {"$group": {"_id": "$item", "sum": {"$sum": "$amt"}}},
    {"$project": {"_id": 0, "item": "$_id", "sum": 1}},
    {"$sort": {"item": 1}},
]


async def sales(odm_db: Any) -> Repository[Sale]:
    repo = Repository(Sale, odm_db)
    await repo.create_all(
        [
            {"item": "pen", "amount": 2},
            {"item": "pen", "amount": 3},
            {"item": "ink", "amount": 7},
        ]
    )
    # outside the scope: stored, never counted
    await repo.unscoped().create_all(
        [
            {"item": "pen", "amount": 100, "region": "us"},
            {"item": "cap", "amount": 1, "region": "us"},
        ]
    )
    return repo


async def test_group_counts_only_the_documents_in_scope(odm_db: Any) -> None:
    repo = await sales(odm_db)
    assert await repo.aggregate(TOTALS) == [{"item": "ink", "sum": 7}, {"item": "pen", "sum": 5}]
    stored = [doc async for doc in repo.collection.find({}, {"_id": 0})]
    assert len(stored) == 5
    assert {"item": "pen", "amt": 100, "rg": "us"} in stored  # renamed fields, out of scope
    everything = await repo.unscoped().aggregate(TOTALS)
    assert everything == [
        {"item": "cap", "sum": 1},
        {"item": "ink", "sum": 7},
        {"item": "pen", "sum": 105},
    ]


async def test_a_named_scope_is_and_ed_with_the_default_scope(odm_db: Any) -> None:
    repo = await sales(odm_db)
    assert await repo.scoped("big").aggregate(TOTALS) == [
        {"item": "ink", "sum": 7},
        {"item": "pen", "sum": 3},
    ]


async def test_an_empty_pipeline_returns_the_documents_in_scope(odm_db: Any) -> None:
    repo = await sales(odm_db)
    found = await repo.aggregate([])
    assert sorted(doc["amt"] for doc in found) == [2, 3, 7]
    assert all(doc["rg"] == "eu" and "_id" in doc for doc in found)


async def test_results_validated_into_an_odm_model_by_its_field_names(odm_db: Any) -> None:
    repo = await sales(odm_db)
    totals = await repo.aggregate(TOTALS, output=Total)
    assert totals == [Total(item="ink", total=7), Total(item="pen", total=5)]
    assert all(type(total) is Total for total in totals)


async def test_results_validated_into_a_pydantic_model(odm_db: Any) -> None:
    repo = await sales(odm_db)
    pipeline = [*TOTALS, {"$project": {"item": 1, "total": "$sum"}}]
    assert await repo.aggregate(pipeline, output=PlainTotal) == [
        PlainTotal(item="ink", total=7),
        PlainTotal(item="pen", total=5),
    ]
    with pytest.raises(pydantic.ValidationError):
        await repo.aggregate(TOTALS, output=PlainTotal)  # no "total": not a PlainTotal


@pytest.mark.parametrize("output", [dict, "Total", Total(item="a", total=1)])
async def test_an_output_that_is_not_a_model_class_is_refused(odm_db: Any, output: Any) -> None:
    repo = Repository(Sale, odm_db)
    with pytest.raises(ODMError, match="output is a model class or None"):
        await repo.aggregate([], output=output)


async def test_output_as_the_entity_class_runs_the_loaded_point_per_result(odm_db: Any) -> None:
    repo = await sales(odm_db)
    counter = Counter()
    repo._hooks = counter
    found = await repo.aggregate([{"$match": {"item": "pen"}}, {"$sort": {"amt": -1}}], output=Sale)
    assert [(s.item, s.amount, s.region) for s in found] == [("pen", 3, "eu"), ("pen", 2, "eu")]
    assert all(isinstance(s, Sale) and s.id for s in found)
    assert counter.documents == 2
    assert [op.name for op in counter.accesses] == ["aggregate"]
    assert counter.accesses[0].query == {
        "pipeline": [{"$match": {"item": "pen"}}, {"$sort": {"amt": -1}}]
    }


@pytest.mark.parametrize("operator", ["$out", "$merge", "$function", "$accumulator", "$where"])
async def test_refused_stages_at_any_depth_before_any_io(odm_db: Any, operator: str) -> None:
    repo = await sales(odm_db)
    counter = Counter()
    repo._hooks = counter
    body: Any = {"body": "function() { return 1 }", "args": [], "lang": "js"}
    if operator in ("$out", "$merge"):
        body = "agg_copy"
    pipelines = [
        [{operator: body}],
        [{"$match": {}}, {"$lookup": {"from": "x", "as": "y", "pipeline": [{operator: body}]}}],
        [{"$facet": {"a": [{"$limit": 1}], "b": [{operator: body}]}}],
        [{"$unionWith": {"coll": "agg_sales", "pipeline": [{operator: body}]}}],
        [{"$project": {"x": {"$ifNull": ["$item", {operator: body}]}}}],
    ]
    for pipeline in pipelines:
        with pytest.raises(InvalidFilterError) as caught:
            await repo.aggregate(pipeline)
        assert caught.value.path.endswith(operator)
        assert f"{operator} is refused" in caught.value.reason
    assert counter.accesses == []
    assert "agg_copy" not in await odm_db.list_collection_names()
    assert await repo.collection.count_documents({}) == 5


@pytest.mark.parametrize(
    "pipeline",
    [{"$match": {}}, [{"$match": {}, "$limit": 1}], [{}], ["$match"], [{"match": {}}]],
)
async def test_a_pipeline_not_a_list_of_one_key_stages_is_refused(
    odm_db: Any, pipeline: Any
) -> None:
    repo = Repository(Sale, odm_db)
    with pytest.raises(InvalidFilterError, match="pipeline"):
        await repo.aggregate(pipeline)


async def test_naming_a_hidden_field_is_refused_when_prohibited(odm_db: Any) -> None:
    open_repo = Repository(Account, odm_db)
    await open_repo.create_all([{"name": "a", "password": "x"}, {"name": "b", "password": "y"}])
    guarded = Repository(Account, odm_db, prohibit_hidden_in_query=True)
    probes = [
        [{"$match": {"pw": "x"}}],
        [{"$group": {"_id": "$pw"}}],
        [{"$project": {"n": {"$concat": ["$name", "$password"]}}}],
        [{"$replaceRoot": {"newRoot": "$$ROOT"}}],
        [{"$facet": {"a": [{"$sort": {"pw": 1}}]}}],
    ]
    for pipeline in probes:
        with pytest.raises(InvalidFilterError) as caught:
            await guarded.aggregate(pipeline)
        assert caught.value.reason == HIDDEN_REASON
    assert len(await open_repo.aggregate([{"$match": {"pw": "x"}}])) == 1  # not prohibited
    visible = [{"$sort": {"name": 1}}, {"$project": {"_id": 0, "name": 1, "level": 1}}]
    assert await guarded.aggregate(visible) == [
        {"name": "a", "level": 0},
        {"name": "b", "level": 0},
    ]


async def test_map_over_an_array_of_subdocuments(odm_db: Any) -> None:
    repo = await sales(odm_db)
    pipeline = [
        {"$group": {"_id": None, "sales": {"$push": {"item": "$item", "amt": "$amt"}}}},
        {"$project": {"_id": 0, "amounts": {"$map": {"input": "$sales", "in": "$$this.amt"}}}},
    ]
    [result] = await repo.aggregate(pipeline)
    assert sorted(result["amounts"]) == [2, 3, 7]


@pytest.mark.backend_limit(mock="mongomock-motor has no sessions or transactions")
async def test_aggregate_inside_a_transaction_sees_its_writes(odm_db: Any) -> None:
    repo = await sales(odm_db)
    async with repo.transaction() as session:
        await repo.create({"item": "ink", "amount": 1}, session=session)
        inside = await repo.aggregate(TOTALS, session=session)
    assert inside == [{"item": "ink", "sum": 8}, {"item": "pen", "sum": 5}]


async def test_python_values_are_encoded_and_unstorable_ones_refused_on_every_backend(
    odm_db: Any,
) -> None:
    repo = await sales(odm_db)
    pipeline = [
        {"$match": {"item": "ink"}},
        {"$project": {"_id": 0, "item": 1, "price": {"$literal": Decimal("1.50")}}},
    ]
    assert await repo.aggregate(pipeline) == [{"item": "ink", "price": Decimal128("1.50")}]
    with pytest.raises(InvalidFilterError) as caught:
        await repo.aggregate([{"$match": {"amt": {"$gt": 2**63}}}])
    assert caught.value.path == "pipeline.0.$match.amt.$gt"


UNION = [{"$unionWith": "agg_sales"}, {"$group": {"_id": None, "n": {"$sum": 1}}}]


@pytest.mark.backend_limit(mock="mongomock-motor has no $unionWith")
async def test_a_union_with_the_same_collection_is_in_scope(odm_db: Any) -> None:
    repo = await sales(odm_db)
    assert await repo.aggregate(UNION) == [{"_id": None, "n": 6}]  # 3 in scope, twice
    assert await repo.unscoped().aggregate(UNION) == [{"_id": None, "n": 10}]


@pytest.mark.backend_limit(embedded="checks the mock's refusal; the server runs $unionWith")
async def test_what_the_mock_cannot_aggregate_is_an_odm_error_naming_it(odm_db: Any) -> None:
    repo = await sales(odm_db)
    with pytest.raises(ODMError, match=r"mongomock-motor cannot run .*\$unionWith"):
        await repo.aggregate(UNION)


@pytest.mark.backend_limit(mock="mongomock-motor has no $lookup with a pipeline")
async def test_a_lookup_of_the_same_collection_is_in_scope(odm_db: Any) -> None:
    repo = await sales(odm_db)
    lookup = [
        {"$match": {"item": "ink"}},
        {"$lookup": {"from": "agg_sales", "as": "same", "pipeline": [{"$match": {}}]}},
        {"$project": {"_id": 0, "amounts": {"$map": {"input": "$same", "in": "$$this.amt"}}}},
    ]
    [found] = await repo.aggregate(lookup)
    assert sorted(found["amounts"]) == [2, 3, 7]  # not the out-of-scope 100 and 1
    unscoped = await repo.unscoped().aggregate(lookup)
    assert sorted(unscoped[0]["amounts"]) == [1, 2, 3, 7, 100]
    joined = [
        {"$match": {"item": "ink"}},
        {"$lookup": {"from": "agg_sales", "localField": "rg", "foreignField": "rg", "as": "j"}},
        {"$project": {"_id": 0, "n": {"$size": "$j"}}},
    ]
    assert await repo.aggregate(joined) == [{"n": 3}]
    us = [{"$lookup": {"from": "agg_sales", "as": "j", "pipeline": [{"$match": {"rg": "us"}}]}}]
    assert all(doc["j"] == [] for doc in await repo.aggregate(us))
