"""LoopBack's operation hooks: which hooks every repository method fires, in order, with
what context (in property names: the model maps ``name``/``n`` to the fields ``nm``/
``count`` and has a hidden property); what a hook may change (validated like a caller's
input); a hook that raises writes nothing; sync and async hooks; ``@odm.hook`` on a class
and its subclasses; clones sharing the hooks; the caller's session and options."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

import odm
from odm import (
    Entity,
    EntityNotFoundError,
    HookContext,
    InvalidFilterError,
    ODMError,
    Repository,
    ValidationError,
    has_many,
    model,
    prop,
)
from odm.hooks import HOOK_NAMES, HookName


@model(collection="hook_gadgets", scopes={"named_a": {"where": {"name": "A"}}})
class Gadget(Entity):
    id: str = prop(id=True)
    name: str = prop(field_name="nm")
    n: int = prop(0, field_name="count", ge=0)
    secret: str = prop("s", hidden=True)


Event = tuple[str, str, dict[str, Any]]
SEED = [{"_id": "a", "nm": "A", "count": 1, "secret": "s"}, {"_id": "b", "nm": "B", "count": 2}]


def snapshot(ctx: HookContext) -> dict[str, Any]:
    """The context's LoopBack contents that are set, copied as the hook saw them."""
    shown: dict[str, Any] = {}
    for name in ("id", "query", "where", "data", "is_new_instance"):
        value = getattr(ctx, name)
        if value is not None:
            shown[name] = copy.deepcopy(value)
    if isinstance(ctx.instance, odm.Model):
        shown["instance"] = dict(vars(ctx.instance))
    elif ctx.instance is not None:
        shown["instance"] = dict(ctx.instance)
    return shown


def recording(repo: Repository[Any]) -> list[Event]:
    """Observe every hook of ``repo``; the list fills with ``(hook, operation, contents)``."""
    events: list[Event] = []

    def recorder(name: str) -> Callable[[HookContext], None]:
        def record(ctx: HookContext) -> None:
            assert (ctx.model, ctx.repository, ctx.session) == (Gadget, repo, None)
            assert ctx.options == {"caller": "table"}
            events.append((name, ctx.operation, snapshot(ctx)))

        return record

    for name in HOOK_NAMES:
        repo.observe(name, recorder(name))
    return events


def gadget(id: str, name: str, n: int) -> dict[str, Any]:
    return {"id": id, "name": name, "n": n, "secret": "s"}


A = gadget("a", "A", 1)
W = {"where": {"name": "A"}}
OPTIONS = {"caller": "table"}
# (method, call, the hooks it fires with their contents)
TABLE: list[tuple[str, Callable[[Repository[Gadget]], Awaitable[Any]], list[Event]]] = [
    (
        "create",
        lambda r: r.create({"id": "c", "name": "C"}, options=OPTIONS),
        [
            ("before save", "create", {"instance": gadget("c", "C", 0)}),
            ("persist", "create", {"instance": gadget("c", "C", 0)}),
            ("after save", "create", {"instance": gadget("c", "C", 0), "is_new_instance": True}),
        ],
    ),
    (
        "create_all",
        lambda r: r.create_all(
            [{"id": "c", "name": "C"}, {"id": "d", "name": "D"}], options=OPTIONS
        ),
        [
            ("before save", "create_all", {"instance": gadget("c", "C", 0)}),
            ("persist", "create_all", {"instance": gadget("c", "C", 0)}),
            ("before save", "create_all", {"instance": gadget("d", "D", 0)}),
            ("persist", "create_all", {"instance": gadget("d", "D", 0)}),
            (
                "after save",
                "create_all",
                {"instance": gadget("c", "C", 0), "is_new_instance": True},
            ),
            (
                "after save",
                "create_all",
                {"instance": gadget("d", "D", 0), "is_new_instance": True},
            ),
        ],
    ),
    (
        "save",
        lambda r: r.save(Gadget(id="a", name="A2", n=1), options=OPTIONS),
        [
            ("access", "replace_by_id", {"id": "a", "query": {}, "instance": gadget("a", "A2", 1)}),
            ("before save", "replace_by_id", {"id": "a", "instance": gadget("a", "A2", 1)}),
            ("persist", "replace_by_id", {"id": "a", "instance": gadget("a", "A2", 1)}),
            (
                "after save",
                "replace_by_id",
                {"id": "a", "instance": gadget("a", "A2", 1), "is_new_instance": False},
            ),
        ],
    ),
    (
        "update",
        lambda r: r.update(Gadget(id="a", name="A", n=5), options=OPTIONS),
        [
            (
                "access",
                "update_by_id",
                {"id": "a", "query": {}, "data": {"name": "A", "n": 5, "secret": "s"}},
            ),
            (
                "before save",
                "update_by_id",
                {"id": "a", "data": {"name": "A", "n": 5, "secret": "s"}},
            ),
            ("persist", "update_by_id", {"id": "a", "data": {"name": "A", "n": 5, "secret": "s"}}),
            (
                "after save",
                "update_by_id",
                {"id": "a", "data": {"name": "A", "n": 5, "secret": "s"}, "is_new_instance": False},
            ),
        ],
    ),
    (
        "update_all",
        lambda r: r.update_all({"n": 9}, {"name": "A"}, options=OPTIONS),
        [
            ("access", "update_all", {"query": W, "where": W["where"], "data": {"n": 9}}),
            ("before save", "update_all", {"where": W["where"], "data": {"n": 9}}),
            ("persist", "update_all", {"where": W["where"], "data": {"n": 9}}),
            ("after save", "update_all", {"where": W["where"], "data": {"n": 9}}),
        ],
    ),
    (
        "update_by_id",
        lambda r: r.update_by_id("a", {"n": 3}, options=OPTIONS),
        [
            ("access", "update_by_id", {"id": "a", "query": {}, "data": {"n": 3}}),
            ("before save", "update_by_id", {"id": "a", "data": {"n": 3}}),
            ("persist", "update_by_id", {"id": "a", "data": {"n": 3}}),
            ("after save", "update_by_id", {"id": "a", "data": {"n": 3}, "is_new_instance": False}),
        ],
    ),
    (
        "replace_by_id",
        lambda r: r.replace_by_id("a", {"name": "Z"}, options=OPTIONS),
        [
            ("access", "replace_by_id", {"id": "a", "query": {}, "instance": {"name": "Z"}}),
            ("before save", "replace_by_id", {"id": "a", "instance": gadget("a", "Z", 0)}),
            ("persist", "replace_by_id", {"id": "a", "instance": gadget("a", "Z", 0)}),
            (
                "after save",
                "replace_by_id",
                {"id": "a", "instance": gadget("a", "Z", 0), "is_new_instance": False},
            ),
        ],
    ),
    (
        "find_one_and_update",
        lambda r: r.find_one_and_update({"name": "A"}, {"n": 4}, options=OPTIONS),
        [
            ("access", "find_one_and_update", {"query": W, "where": W["where"], "data": {"n": 4}}),
            ("before save", "find_one_and_update", {"where": W["where"], "data": {"n": 4}}),
            ("persist", "find_one_and_update", {"where": W["where"], "data": {"n": 4}}),
            (
                "loaded",
                "find_one_and_update",
                {"where": W["where"], "data": {"n": 4}, "instance": gadget("a", "A", 4)},
            ),
            ("after save", "find_one_and_update", {"where": W["where"], "data": {"n": 4}}),
        ],
    ),
    (
        "delete",
        lambda r: r.delete(Gadget(id="a", name="A"), options=OPTIONS),
        [
            ("access", "delete_by_id", {"id": "a", "query": {}}),
            ("before delete", "delete_by_id", {"id": "a"}),
            ("after delete", "delete_by_id", {"id": "a"}),
        ],
    ),
    (
        "delete_all",
        lambda r: r.delete_all({"name": "A"}, options=OPTIONS),
        [
            ("access", "delete_all", {"query": W, "where": W["where"]}),
            ("before delete", "delete_all", {"where": W["where"]}),
            ("after delete", "delete_all", {"where": W["where"]}),
        ],
    ),
    (
        "delete_by_id",
        lambda r: r.delete_by_id("a", options=OPTIONS),
        [
            ("access", "delete_by_id", {"id": "a", "query": {}}),
            ("before delete", "delete_by_id", {"id": "a"}),
            ("after delete", "delete_by_id", {"id": "a"}),
        ],
    ),
    (
        "find",
        lambda r: r.find(W, options=OPTIONS),
        [("access", "find", {"query": W}), ("loaded", "find", {"query": W, "instance": A})],
    ),
    (
        "find_one",
        lambda r: r.find_one(W, options=OPTIONS),
        [("access", "find_one", {"query": W}), ("loaded", "find_one", {"query": W, "instance": A})],
    ),
    (
        "find_by_id",
        lambda r: r.find_by_id("a", options=OPTIONS),
        [
            ("access", "find_by_id", {"id": "a", "query": {}}),
            ("loaded", "find_by_id", {"id": "a", "query": {}, "instance": A}),
        ],
    ),
    (
        "find_by_ids",
        lambda r: r.find_by_ids(["a", "z"], options=OPTIONS),
        [
            ("access", "find_by_ids", {"id": ["a", "z"], "query": {}}),
            ("loaded", "find_by_ids", {"id": ["a", "z"], "query": {}, "instance": A}),
        ],
    ),
    (
        "iterate",
        lambda r: _collected(r.iterate(W, options=OPTIONS)),
        [("access", "iterate", {"query": W}), ("loaded", "iterate", {"query": W, "instance": A})],
    ),
    (
        "count",
        lambda r: r.count({"name": "A"}, options=OPTIONS),
        [("access", "count", {"query": W, "where": W["where"]})],
    ),
    (
        "exists",
        lambda r: r.exists("a", options=OPTIONS),
        [("access", "exists", {"id": "a", "query": {}})],
    ),
    (
        "aggregate",
        lambda r: r.aggregate([{"$match": {"nm": "A"}}], output=Gadget, options=OPTIONS),
        [
            ("access", "aggregate", {"query": {"pipeline": [{"$match": {"nm": "A"}}]}}),
            (
                "loaded",
                "aggregate",
                {"query": {"pipeline": [{"$match": {"nm": "A"}}]}, "instance": A},
            ),
        ],
    ),
    (
        "upsert",  # an existing id: a partial update
        lambda r: r.upsert({"id": "a", "n": 7}, options=OPTIONS),
        [
            ("access", "upsert", {"query": {}, "instance": {"id": "a", "n": 7}}),
            ("before save", "upsert", {"id": "a", "where": {"id": "a"}, "data": {"n": 7}}),
            ("persist", "upsert", {"id": "a", "where": {"id": "a"}, "data": {"n": 7}}),
            (
                "loaded",
                "upsert",
                {
                    "id": "a",
                    "where": {"id": "a"},
                    "data": {"n": 7},
                    "instance": gadget("a", "A", 7),
                },
            ),
            (
                "after save",
                "upsert",
                {"id": "a", "where": {"id": "a"}, "data": {"n": 7}, "is_new_instance": False},
            ),
        ],
    ),
    (
        "replace_or_create",  # a new id: a create
        lambda r: r.replace_or_create({"id": "c", "name": "C"}, options=OPTIONS),
        [
            ("access", "replace_or_create", {"query": {}, "instance": {"id": "c", "name": "C"}}),
            ("before save", "replace_or_create", {"id": "c", "instance": gadget("c", "C", 0)}),
            ("persist", "replace_or_create", {"id": "c", "instance": gadget("c", "C", 0)}),
            (
                "after save",
                "replace_or_create",
                {"id": "c", "instance": gadget("c", "C", 0), "is_new_instance": True},
            ),
        ],
    ),
    (
        "upsert_with_where",
        lambda r: r.upsert_with_where({"name": "A"}, {"n": 8}, options=OPTIONS),
        [
            ("access", "upsert_with_where", {"query": W, "where": W["where"], "data": {"n": 8}}),
            ("before save", "upsert_with_where", {"where": W["where"], "data": {"n": 8}}),
            ("persist", "upsert_with_where", {"where": W["where"], "data": {"n": 8}}),
            (
                "loaded",
                "upsert_with_where",
                {"where": W["where"], "data": {"n": 8}, "instance": gadget("a", "A", 8)},
            ),
            (
                "after save",
                "upsert_with_where",
                {"where": W["where"], "data": {"n": 8}, "is_new_instance": False},
            ),
        ],
    ),
    (
        "find_or_create",  # found: the create was prepared, the stored one is returned
        lambda r: r.find_or_create({"name": "A"}, {"id": "x"}, options=OPTIONS),
        [
            ("access", "find_or_create", {"query": W, "where": W["where"], "data": {"id": "x"}}),
            (
                "before save",
                "find_or_create",
                {"where": W["where"], "data": {"id": "x"}, "instance": gadget("x", "A", 0)},
            ),
            (
                "persist",
                "find_or_create",
                {"where": W["where"], "data": {"id": "x"}, "instance": gadget("x", "A", 0)},
            ),
            ("loaded", "find_or_create", {"where": W["where"], "data": {"id": "x"}, "instance": A}),
            (
                "after save",
                "find_or_create",
                {"where": W["where"], "data": {"id": "x"}, "instance": A, "is_new_instance": False},
            ),
        ],
    ),
]


async def _collected(entities: Any) -> list[Any]:
    return [entity async for entity in entities]


@pytest.fixture
async def gadgets(odm_db: Any) -> Repository[Gadget]:
    repo = Repository(Gadget, odm_db)
    await repo.collection.insert_many(copy.deepcopy(SEED))
    return repo


async def stored(repo: Repository[Gadget]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await repo.collection.find({}, sort=[("_id", 1)]).to_list(None)
    return docs


async def reseed(repo: Repository[Gadget]) -> None:
    await repo.collection.delete_many({})
    await repo.collection.insert_many(copy.deepcopy(SEED))


async def test_every_method_fires_its_hooks_in_order_with_the_context(
    gadgets: Repository[Gadget],
) -> None:
    events = recording(gadgets)
    for method, call, expected in TABLE:
        events.clear()
        await call(gadgets)
        assert events == expected, method
        await reseed(gadgets)


async def test_find_or_create_that_creates_and_upsert_of_a_new_id(
    gadgets: Repository[Gadget],
) -> None:
    events = recording(gadgets)
    await gadgets.find_or_create({"name": "N"}, {"id": "n"}, options={"caller": "table"})
    assert [(hook, ctx.get("is_new_instance")) for hook, _, ctx in events] == [
        ("access", None),
        ("before save", None),
        ("persist", None),
        ("after save", True),
    ]
    events.clear()
    await gadgets.upsert({"id": "u", "name": "U"}, options={"caller": "table"})
    # one atomic upsert: whether it inserted is not reported (None)
    upserted = ["access", "before save", "persist", "loaded", "after save"]
    assert [hook for hook, _, _ in events] == upserted
    assert "is_new_instance" not in events[-1][2]


async def test_before_save_changes_are_stored_and_validated(gadgets: Repository[Gadget]) -> None:
    def normalise(ctx: HookContext) -> None:
        if ctx.instance is not None:
            ctx.instance.name = ctx.instance.name.lower()
        elif ctx.data is not None and "n" in ctx.data:
            ctx.data["n"] = ctx.data["n"] * 10  # type: ignore[index]

    gadgets.observe("before save", normalise)
    given = {"n": 2}
    await gadgets.create({"id": "c", "name": "CAPS"})
    await gadgets.update_by_id("a", given)
    await gadgets.update_all({"n": 3}, {"name": "B"})
    assert given == {"n": 2}  # the caller's data is left as it was
    assert await stored(gadgets) == [
        {"_id": "a", "nm": "A", "count": 20, "secret": "s"},
        {"_id": "b", "nm": "B", "count": 30},
        {"_id": "c", "nm": "caps", "count": 0, "secret": "s"},
    ]

    def invalid(ctx: HookContext) -> None:
        if ctx.instance is not None:
            ctx.instance.n = -1
        else:
            ctx.data = {"n": -1}

    gadgets.observe("before save", invalid)
    before = await stored(gadgets)
    for write in (
        gadgets.create({"id": "d", "name": "D"}),
        gadgets.update_by_id("a", {"n": 1}),
        gadgets.update_all({"n": 1}),
        gadgets.replace_by_id("a", {"name": "A"}),
        gadgets.upsert_with_where({"name": "A"}, {"n": 1}),
    ):
        with pytest.raises(ValidationError) as raised:
            await write
        assert [(d["path"], d["code"]) for d in raised.value.details] == [
            ("n", "type")
        ]  # as a caller's -1
    assert await stored(gadgets) == before


async def test_access_hook_where_restricts_every_path(gadgets: Repository[Gadget]) -> None:
    def only_a(ctx: HookContext) -> None:
        assert ctx.query is not None
        where = ctx.query.get("where")
        ctx.query["where"] = {"and": [where, {"name": "A"}]} if where else {"name": "A"}  # type: ignore[index]

    gadgets.observe("access", only_a)
    assert [g.id for g in await gadgets.find()] == ["a"]
    assert (await gadgets.count(), await gadgets.exists("b")) == (1, False)
    assert [g.id for g in await gadgets.find_by_ids(["a", "b"])] == ["a"]
    assert await gadgets.update_all({"n": 5}) == 1
    for by_id in (gadgets.find_by_id("b"), gadgets.update_by_id("b", {"n": 5})):
        with pytest.raises(EntityNotFoundError):
            await by_id
    with pytest.raises(EntityNotFoundError):
        await gadgets.delete_by_id("b")
    assert await gadgets.delete_all() == 1
    assert await stored(gadgets) == [{"_id": "b", "nm": "B", "count": 2}]


async def test_access_hook_query_is_checked_like_a_callers(gadgets: Repository[Gadget]) -> None:
    def hostile(ctx: HookContext) -> None:
        ctx.query = {"where": {"n": {"$where": "sleep(1000)"}}}

    gadgets.observe("access", hostile)
    for read in (gadgets.find(), gadgets.count(), gadgets.delete_all()):
        with pytest.raises(InvalidFilterError):
            await read
    assert len(await stored(gadgets)) == 2


WRITES: list[tuple[set[str], Callable[[Repository[Gadget]], Awaitable[Any]]]] = [
    (
        {"before save", "persist"},
        lambda r: r.create_all([{"id": "c", "name": "C"}, {"id": "d", "name": "D"}]),
    ),
    ({"access", "before save", "persist"}, lambda r: r.update_all({"n": 5})),
    ({"access", "before save", "persist"}, lambda r: r.update_by_id("a", {"n": 5})),
    ({"access", "before save", "persist"}, lambda r: r.find_one_and_update({}, {"n": 5})),
    ({"access", "before save", "persist"}, lambda r: r.upsert({"id": "a", "n": 5})),
    ({"access", "before delete"}, lambda r: r.delete_all()),
    ({"access", "before delete"}, lambda r: r.delete_by_id("a")),
]


@pytest.mark.parametrize("failing", ["access", "before save", "persist", "before delete"])
async def test_a_raising_hook_aborts_and_nothing_is_written(
    gadgets: Repository[Gadget], failing: str
) -> None:
    def refuse(ctx: HookContext) -> None:
        if ctx.operation == "create_all" and ctx.instance.id == "c":
            return  # create_all: the second item refuses, and the first is not written either
        raise PermissionError(f"{failing} refused")

    gadgets.observe(cast(HookName, failing), refuse)
    before = await stored(gadgets)
    writes = [write for fires, write in WRITES if failing in fires]
    for write in writes:
        with pytest.raises(PermissionError, match=f"{failing} refused"):
            await write(gadgets)
    assert len(writes) == {"access": 6, "before save": 5, "persist": 5, "before delete": 2}[failing]
    assert await stored(gadgets) == before


async def test_sync_and_async_hooks_run_in_registration_order(
    gadgets: Repository[Gadget],
) -> None:
    order: list[str] = []

    async def audit(ctx: HookContext) -> None:
        order.append(f"async {ctx.operation}")

    gadgets.observe("after save", lambda ctx: order.append(f"sync {ctx.operation}"))
    gadgets.observe("after save", audit)
    await gadgets.update_by_id("a", {"n": 2})
    assert order == ["sync update_by_id", "async update_by_id"]
    with pytest.raises(ODMError, match="'before_save' is not an operation hook"):
        gadgets.observe("before_save", audit)  # type: ignore[arg-type]


@model(collection="hook_notes")
class Note(Entity):
    text: str
    tags: list[str] = []

    @odm.hook("before save")
    def strip(ctx: HookContext) -> None:
        if ctx.instance is not None:
            ctx.instance.text = ctx.instance.text.strip()

    @odm.hook("loaded")
    async def tag_loaded(ctx: HookContext) -> None:
        ctx.instance.tags = [*ctx.instance.tags, "loaded"]


@model(collection="hook_notes")
class Memo(Note):
    @odm.hook("before save")
    @classmethod
    def shout(cls, ctx: HookContext) -> None:
        if ctx.instance is not None:
            ctx.instance.text = f"{cls.__name__}: {ctx.instance.text.upper()}"

    def tag_loaded(self) -> None:
        """Replaces the inherited hook of the same name: no longer a hook."""


async def test_class_hooks_are_inherited_and_replaced_by_name(odm_db: Any) -> None:
    notes, memos = Repository(Note, odm_db), Repository(Memo, odm_db)
    note = await notes.create({"text": "  hi  "})
    memo = await memos.create({"text": "  yo "})
    raw = await notes.collection.find({}, {"_id": 0}, sort=[("text", 1)]).to_list(None)
    assert raw == [{"text": "Memo: YO", "tags": []}, {"text": "hi", "tags": []}]
    assert (await notes.find_by_id(note.id)).tags == ["loaded"]
    assert (await memos.find_by_id(memo.id)).tags == []


@model(
    collection="hook_scoped", scope={"where": {"kind": "k"}}, scopes={"big": {"where": {"n": 9}}}
)
class Scoped(Entity):
    kind: str = "k"
    n: int = 0


async def test_clones_and_sharing_repositories_run_the_same_hooks(odm_db: Any) -> None:
    repo = Repository(Scoped, odm_db)
    seen: list[str] = []
    repo.observe("access", lambda ctx: seen.append(f"repo {ctx.operation}"))
    unscoped, big = repo.unscoped(), repo.scoped("big")
    big.observe("after save", lambda ctx: seen.append(f"big {ctx.operation}"))  # shared
    other = Repository(Scoped, odm_db)
    other.share_hooks(repo)
    await unscoped.count()
    await big.find()
    await repo.update_all({"n": 1})
    await other.exists("0" * 24)
    assert seen == [
        "repo count",
        "repo find",
        "repo update_all",
        "big update_all",
        "repo exists",
    ]
    with pytest.raises(ODMError, match="shares the hooks of another Scoped"):
        other.share_hooks(Repository(Note, odm_db))  # type: ignore[arg-type]


@pytest.mark.backend_limit(mock="mongomock-motor has no sessions or transactions")
async def test_hooks_run_inside_the_callers_session(gadgets: Repository[Gadget]) -> None:
    seen: list[tuple[Any, int]] = []

    async def count_in_session(ctx: HookContext) -> None:
        # in the transaction, the hook sees the write it follows
        seen.append((ctx.session, await ctx.repository.count(session=ctx.session)))

    gadgets.observe("after save", count_in_session)
    async with gadgets.transaction() as session:
        await gadgets.create({"id": "c", "name": "C"}, session=session)
    async with odm.transaction(gadgets.database) as implicit:  # no session= anywhere
        await gadgets.create({"id": "d", "name": "D"})
    assert seen == [(session, 3), (implicit, 4)]


@model(collection="hook_authors")
class Author(Entity):
    name: str
    books: list[Book] | None = has_many()


@model(collection="hook_books")
class Book(Entity):
    title: str
    author_id: str | None = None

    @odm.hook("before save")
    def strip(ctx: HookContext) -> None:
        if ctx.instance is not None:
            ctx.instance.title = ctx.instance.title.strip()

    @odm.hook("loaded")
    def mark(ctx: HookContext) -> None:
        ctx.instance.title = f"{ctx.instance.title} (loaded)"


async def test_related_repositories_and_include_run_the_targets_hooks(odm_db: Any) -> None:
    authors, books = Repository(Author, odm_db), Repository(Book, odm_db)
    seen: list[str] = []
    books.observe("after save", lambda ctx: seen.append(f"{ctx.operation} {ctx.instance.title}"))
    ann = await authors.create({"name": "Ann"})
    related = authors.related(ann, "books")
    related.share_hooks(books)  # the related repository runs the books repository's hooks
    await related.create({"title": "  Dune "})
    assert seen == ["create Dune"]
    [found] = await authors.find({"include": "books"})  # the class's hooks run on include
    assert [book.title for book in found.books or []] == ["Dune (loaded)"]
    assert [book.title for book in await related.find()] == ["Dune (loaded)"]
    raw = await books.collection.find({}, {"_id": 0}).to_list(None)
    assert raw == [{"title": "Dune", "author_id": ann.id}]
