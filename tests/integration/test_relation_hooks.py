"""Operation hooks in related repositories and include, on every backend: a relation of a
class to itself runs its source repository's observers (they are inherited by relation
repositories of the same class), another class's relation runs that class's
``@odm.hook`` hooks (and a repository's observers once shared); ``loaded`` fires for
included entities on every include path (one query, per-parent aggregation, through,
iterate); options reach the hooks; a hook that raises writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

import odm
from odm import (
    Entity,
    HookContext,
    ODMError,
    Repository,
    belongs_to,
    has_many,
    has_many_through,
    model,
)

#: (hook, operation, model name, title or name) of the class hooks below
CLASS_EVENTS: list[tuple[str, str, str, str]] = []


def _record(hook: str) -> Any:
    def record(ctx: HookContext) -> None:
        shown = getattr(ctx.instance, "title", None) or getattr(ctx.instance, "name", "")
        CLASS_EVENTS.append((hook, ctx.operation, ctx.model.__name__, shown))

    return odm.hook(hook)(record)  # type: ignore[arg-type]


@model(collection="relhook_people")
class Person(Entity):
    name: str
    mentor_id: str | None = None
    mentor: Person | None = belongs_to()
    mentees: list[Person] | None = has_many(key_to="mentor_id")
    papers: list[Paper] | None = has_many(key_to="author_id")
    topics: list[Topic] | None = has_many_through(through="PersonTopic")


@model(collection="relhook_papers")
class Paper(Entity):
    title: str
    author_id: str | None = None

    @odm.hook("before save")
    def tidy(ctx: HookContext) -> None:
        if ctx.instance is not None:
            ctx.instance.title = ctx.instance.title.strip()

    loaded = _record("loaded")
    saved = _record("after save")


@model(collection="relhook_topics")
class Topic(Entity):
    title: str

    loaded = _record("loaded")
    deleted = _record("before delete")


@model(collection="relhook_person_topics")
class PersonTopic(Entity):
    person_id: str
    topic_id: str

    saved = _record("after save")
    deleted = _record("before delete")


async def test_a_relation_to_the_same_class_runs_the_source_repositorys_observers(
    odm_db: Any,
) -> None:
    people = Repository(Person, odm_db)
    seen: list[tuple[str, str, Any]] = []
    people.observe("before save", lambda ctx: seen.append(("save", ctx.operation, ctx.options)))
    people.observe("loaded", lambda ctx: seen.append(("loaded", ctx.instance.name, ctx.options)))
    ada = await people.create({"name": "Ada"})
    mentees = people.related(ada, "mentees")
    bob = await mentees.create({"name": "Bob"}, options={"user": "ann"})
    assert bob.mentor_id == ada.id
    assert seen == [("save", "create", None), ("save", "create", {"user": "ann"})]
    seen.clear()
    assert (await people.related(bob, "mentor").get()).name == "Ada"
    user = {"user": "cy"}  # the read's options reach the hooks of what it includes
    [found] = await people.find({"where": {"name": "Ada"}, "include": "mentees"}, options=user)
    assert [m.name for m in found.mentees or []] == ["Bob"]
    assert seen == [("loaded", "Ada", None), ("loaded", "Ada", user), ("loaded", "Bob", user)]
    seen.clear()
    later = lambda ctx: seen.append(("later", ctx.operation, None))  # noqa: E731
    mentees.observe("after delete", later)  # one registry: observed on either, runs for both
    assert await people.related(ada, "mentees").delete_all() == 1
    assert seen == [("later", "delete_all", None)]
    assert await people.collection.count_documents({}) == 1


async def test_other_classes_relations_run_their_class_hooks_not_the_source_observers(
    odm_db: Any,
) -> None:
    CLASS_EVENTS.clear()
    people, papers = Repository(Person, odm_db), Repository(Paper, odm_db)
    people_seen: list[str] = []
    people.observe("before save", lambda ctx: people_seen.append(ctx.model.__name__))
    ada = await people.create({"name": "Ada"})
    related = people.related(ada, "papers")
    await related.create({"title": "  On Engines "})
    assert people_seen == ["Person"]  # Person's observers are not a Paper's
    raw = await papers.collection.find({}, {"_id": 0}).to_list(None)
    assert raw == [{"title": "On Engines", "author_id": ada.id}]  # the class hook ran
    assert CLASS_EVENTS == [("after save", "create", "Paper", "On Engines")]
    paper_seen: list[str] = []
    papers.observe("after save", lambda ctx: paper_seen.append(ctx.operation))
    related.share_hooks(papers)
    assert await related.update_all({"title": "Engines"}) == 1
    assert paper_seen == ["update_all"]
    CLASS_EVENTS.clear()
    await related.create_all([{"title": "b"}, {"title": "c"}])
    found = await people.find(
        {"include": [{"relation": "papers", "scope": {"order": "title", "limit": 2}}]}
    )  # the per-parent aggregation path
    assert [p.title for p in found[0].papers or []] == ["Engines", "b"]
    loaded = [e for e in CLASS_EVENTS if e[0] == "loaded"]
    assert loaded == [("loaded", "find", "Paper", "Engines"), ("loaded", "find", "Paper", "b")]
    CLASS_EVENTS.clear()
    iterated = [p async for p in people.iterate({"include": "papers"})]
    assert len(iterated[0].papers or []) == 3
    assert sorted(e[3] for e in CLASS_EVENTS if e[0] == "loaded") == ["Engines", "b", "c"]


async def test_through_relations_run_the_target_and_through_class_hooks(odm_db: Any) -> None:
    CLASS_EVENTS.clear()
    people = Repository(Person, odm_db)
    ada = await people.create({"name": "Ada"})
    topics = people.related(ada, "topics")
    logic = await topics.create({"title": "logic"}, options={"user": "ann"})
    assert CLASS_EVENTS == [("after save", "create", "PersonTopic", "")]
    CLASS_EVENTS.clear()
    [found] = await people.find({"include": "topics"})
    assert [t.title for t in found.topics or []] == ["logic"]
    assert CLASS_EVENTS == [("loaded", "find", "Topic", "logic")]
    CLASS_EVENTS.clear()
    await topics.delete_by_id(logic.id)
    assert [(e[0], e[2]) for e in CLASS_EVENTS] == [
        ("before delete", "Topic"),
        ("before delete", "PersonTopic"),
    ]
    assert await Repository(PersonTopic, odm_db).count() == 0


async def test_a_hook_that_raises_in_a_related_repository_writes_nothing(odm_db: Any) -> None:
    people, papers = Repository(Person, odm_db), Repository(Paper, odm_db)
    ada = await people.create({"name": "Ada"})
    related = people.related(ada, "papers")
    related.share_hooks(papers)

    def refuse(ctx: HookContext) -> None:
        raise ODMError(f"no {ctx.operation} today")

    papers.observe("persist", refuse)
    for call in (
        lambda: related.create({"title": "x"}),
        lambda: related.create_all([{"title": "x"}]),
        lambda: related.find_or_create({"title": "x"}),
    ):
        with pytest.raises(ODMError, match="today"):
            await call()
    assert await papers.collection.count_documents({}) == 0
