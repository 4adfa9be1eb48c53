"""Relations between entities: declarations (``has_many()``...), their resolved
metadata (``odm.relations.metadata``), related repositories (``odm.relations.related``)
and ``include`` (``odm.relations.include``). Only the declarations are imported here, so
the class compiler can read them without importing the repository layer."""

from .declarations import (
    RelationOptions,
    belongs_to,
    has_many,
    has_many_through,
    has_one,
    references_many,
    relation_options,
)

__all__ = [
    "RelationOptions",
    "belongs_to",
    "has_many",
    "has_many_through",
    "has_one",
    "references_many",
    "relation_options",
]
