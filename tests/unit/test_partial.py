"""``odm.partial`` without a database: what a projected document decodes to."""

from __future__ import annotations

from bson import ObjectId

from odm import Entity, Model, model, prop
from odm.partial import decode_partial, is_partial, missing_properties, refuse_partial

OID = ObjectId("65a1b2c3d4e5f6a7b8c9d0e1")


class Part(Model):
    name: str
    size: int = 1


@model(collection="unit_partials")
class Box(Entity):
    label: str
    weight: int = 5
    part: Part | None = prop(default=None, field_name="p")


@model(collection="unit_loose", strict=False)
class Loose(Entity):
    label: str = "x"


def test_only_the_projected_properties_are_set() -> None:
    box = decode_partial(Box, {"_id": OID, "label": "a"}, {"label": 1, "_id": 1})
    assert box.__dict__ == {"id": str(OID), "label": "a"}
    assert box.weight is None and box.model_fields_set == {"id", "label"}
    assert missing_properties(box) == ["weight", "part"] and is_partial(box)


def test_a_projected_property_the_document_lacks_gets_its_default() -> None:
    box = decode_partial(Box, {"_id": OID}, {"weight": 1, "label": 1})
    assert box.__dict__ == {"id": str(OID), "weight": 5}  # label is required: left unset


def test_only_the_id() -> None:
    box = decode_partial(Box, {"_id": OID}, {"_id": 1})
    assert box.model_dump() == {"id": str(OID)}


def test_exclusions_and_sub_paths() -> None:
    doc = {"_id": OID, "label": "a", "weight": 9, "p": {"name": "n", "size": 3}}
    box = decode_partial(Box, doc, {"weight": 0})
    assert box.model_dump() == {"id": str(OID), "label": "a", "part": {"name": "n", "size": 3}}
    box = decode_partial(Box, {"_id": OID, "p": {"name": "n"}}, {"p.name": 1})
    assert box.model_dump() == {"id": str(OID), "part": {"name": "n"}}
    assert missing_properties(box) == ["label", "weight", "part.size"]
    box = decode_partial(
        Box, {"_id": OID, "label": "a", "weight": 9, "p": {"name": "n"}}, {"p.size": 0}
    )
    assert box.model_dump() == {"id": str(OID), "label": "a", "weight": 9, "part": {"name": "n"}}


def test_extras_of_a_loose_model_are_kept() -> None:
    loose = decode_partial(Loose, {"_id": OID, "other": 1}, {"label": 0})
    assert loose.model_dump() == {"id": str(OID), "other": 1}


def test_a_whole_instance_is_not_refused() -> None:
    refuse_partial(Box.odm_meta(), Box(label="a"))
    refuse_partial(Box.odm_meta(), {"label": "a"})
