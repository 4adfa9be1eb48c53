"""Models whose annotations pydantic resolves only later (forward references,
``from __future__ import annotations`` in a namespace pydantic cannot see) keep every odm
rule once resolved."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest
from bson import ObjectId
from pydantic import PydanticUndefinedAnnotation

from odm import Entity, Model, prop
from odm.codec import decode, encode
from odm.filters import translate_where


class Tree(Entity):
    root: Later | None = None  # defined below: unresolved when Tree is created
    made: datetime = prop(default_fn="now", field_name="m")


class Later(Model):
    x: int = prop(field_name="xx")
    at: datetime | None = None


def test_forward_reference_is_compiled_once_resolved() -> None:
    assert not Tree.__pydantic_fields_complete__
    tree = Tree(root=Later(x=1, at=datetime(2024, 1, 1, 12, 0, 0, 123456)))  # rebuilds Tree
    assert Tree.__pydantic_fields_complete__
    assert translate_where(Tree.odm_meta(), {"root.x": "2"}) == {"root.xx": 2}  # typed, mapped
    assert encode(tree)["root"] == {
        "xx": 1,
        "at": datetime(2024, 1, 1, 12, 0, 0, 123000, tzinfo=UTC),
    }


def test_string_annotations_in_an_unimported_namespace_keep_generators() -> None:
    source = (
        "from __future__ import annotations\n"
        "from datetime import datetime\n"
        "from odm import Entity, prop\n"
        "class Stamped(Entity):\n"
        "    created: datetime = prop(default_fn='now', field_name='createdAt')\n"
        "    token: str = prop(default_fn='nanoid')\n"
        "Stamped.model_rebuild()\n"  # as pydantic asks once the names are defined
    )
    namespace: dict[str, object] = {"__name__": "not_a_module"}
    exec(compile(source, "<models>", "exec", dont_inherit=True), namespace)
    stamped_cls = namespace["Stamped"]
    stamped = stamped_cls()  # type: ignore[operator]
    assert stamped.created.tzinfo is UTC and len(stamped.token) == 21
    assert set(encode(stamped)) == {"createdAt", "token"}


# -- models declared inside a function ------------------------------------------------


def _local_shop() -> tuple[type[Entity], type[Model]]:
    class Buyer(Entity):
        orders: list[Purchase] = prop(default_factory=list)  # defined below, in this function
        made: datetime = prop(default_fn="now", field_name="m")

    class Purchase(Model):
        total: float = prop(field_name="t", json_schema={"minimum": 0})
        buyer: Buyer | None = None  # the other way round: each refers to the other

    Buyer.model_rebuild()  # resolved in this function's namespace, as pydantic does
    return Buyer, Purchase


def test_function_local_models_referring_to_each_other_complete_on_model_rebuild() -> None:
    buyer_cls, purchase_cls = _local_shop()
    buyer = buyer_cls.model_validate({"orders": [{"total": 2.5}]})
    assert isinstance(buyer.orders[0], purchase_cls)
    assert buyer.made.tzinfo is UTC  # the generator survived the rebuild
    assert encode(buyer) == {"orders": [{"t": 2.5, "buyer": None}], "m": buyer.made}
    nested = purchase_cls.model_validate({"total": 1, "buyer": {"orders": []}})
    assert encode(nested)["buyer"] == {"orders": [], "m": nested.buyer.made}
    with pytest.raises(pydantic.ValidationError, match=r"minimum|greater"):
        buyer_cls.model_validate({"orders": [{"total": -1}]})  # enforced keyword kept


def test_function_local_forward_reference_completes_on_first_use_like_pydantic() -> None:
    class Plain(pydantic.BaseModel):
        later: Later2 | None = None

    class Tracked(Entity):
        later: Later2 | None = None
        at: datetime = prop(default_fn="now")

    class Later2(Model):
        x: int = prop(field_name="xx")

    assert Plain(later={"x": 1}).later is not None  # pydantic rebuilds from this frame
    tracked = Tracked(later=Later2(x=3))
    assert encode(tracked) == {"later": {"xx": 3}, "at": tracked.at}


def test_model_rebuild_takes_an_explicit_types_namespace() -> None:
    namespace: dict[str, object] = {"__name__": "box_module"}
    exec(
        compile(
            "from __future__ import annotations\n"
            "from odm import Entity, Model, prop\n"
            "class Box(Entity):\n"
            "    item: Item | None = None\n"
            "class Item(Model):\n"
            "    n: int = prop(field_name='nn')\n",
            "<box>",
            "exec",
            dont_inherit=True,
        ),
        namespace,
    )
    box_cls, item_cls = namespace["Box"], namespace["Item"]
    assert isinstance(box_cls, type) and issubclass(box_cls, Entity)
    with pytest.raises(PydanticUndefinedAnnotation):
        box_cls.model_rebuild()  # this test's namespace has no Item, as with pydantic
    box_cls.model_rebuild(_types_namespace={"Item": item_cls})
    assert encode(box_cls.model_validate({"item": {"n": 4}})) == {"item": {"nn": 4}}


def test_rebuild_from_another_frame_with_parent_namespace_depth() -> None:
    namespace: dict[str, object] = {"__name__": "crate_module"}
    exec(
        compile(
            "from __future__ import annotations\n"
            "from odm import Entity, Model, prop\n"
            "class Crate(Entity):\n"
            "    part: Part | None = None\n"
            "class Part(Model):\n"
            "    n: int = prop(field_name='nn')\n",
            "<crate>",
            "exec",
            dont_inherit=True,
        ),
        namespace,
    )
    crate_cls = namespace["Crate"]
    assert isinstance(crate_cls, type) and issubclass(crate_cls, Entity)

    def rebuild_for_caller() -> None:
        crate_cls.model_rebuild(_parent_namespace_depth=3)  # the namespace of its caller

    Part = namespace["Part"]
    rebuild_for_caller()
    assert Part is not None
    assert encode(crate_cls.model_validate({"part": {"n": 5}})) == {"part": {"nn": 5}}


def test_function_local_chain_completes_from_one_rebuild() -> None:
    class Client(Entity):
        orders: list[Ticket] = prop(default_factory=list)

    class Ticket(Model):
        client: Client | None = None
        lines: list[Line] = prop(default_factory=list, field_name="ls")  # Line: below

    class Line(Model):
        sku: str = prop(field_name="s")
        at: datetime = prop(default_fn="now")

    Client.model_rebuild()  # Ticket is incomplete too: it is completed from here as well
    client = Client.model_validate({"orders": [{"lines": [{"sku": "a"}]}]})
    line = client.orders[0].lines[0]
    assert isinstance(line, Line) and line.at.tzinfo is UTC
    assert encode(client) == {"orders": [{"client": None, "ls": [{"s": "a", "at": line.at}]}]}
    stored = {"_id": ObjectId(), "orders": [{"ls": [{"s": "c", "at": line.at}]}]}
    assert decode(Client, stored).orders[0].lines[0].sku == "c"  # stored names, every depth
    ticket = Ticket.model_validate({"ls": [{"s": "b"}]})  # Ticket works on its own
    assert encode(ticket) == {"client": None, "ls": [{"s": "b", "at": ticket.lines[0].at}]}
