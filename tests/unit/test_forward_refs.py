"""Models whose annotations pydantic resolves only later (forward references,
``from __future__ import annotations`` in a namespace pydantic cannot see) keep every odm
rule once resolved."""

from __future__ import annotations

from datetime import UTC, datetime

from odm import Entity, Model, prop
from odm.codec import encode


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
    meta = Tree.odm_meta()
    assert meta.properties["root"].type.kind == "model"
    resolved = meta.resolve_path("root.x")
    assert resolved is not None and resolved.field_path == "root.xx"
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
