"""``find_by_id``'s fast path: a plain id, no filter, no hook.

The usual path translates the filter ``{"where": {id: value}}`` under the default scope
on every call. With no filter, the only parts that change from call to call are the id;
what the scope contributes (its translated where and its projection) is translated once
per repository and scope, and kept here. The query is then the id's equality AND-ed with
that where, exactly what the translation would give (the same ``_and`` rule: the scope's
clause first, merged when the keys differ). The id goes through the one coercion of
:mod:`odm.ids`: a dict, a list, None or an uncoercible value is not found, as on the usual
path. Anything else takes the usual path: a hidden id (the translation checks it), a scope
whose where holds ``near``, an id whose type the translation would convert.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from .errors import ODMError
from .filters import Query, translate_filter
from .filters.near import split_near
from .ids import coerce_id
from .metadata import ModelMeta

__all__ = ["IdLookup", "id_lookup"]

#: ids a translated query holds as they are (a UUID, a datetime, ... are converted)
_AS_IS = frozenset([str, int, ObjectId])


@dataclass(frozen=True, slots=True)
class IdLookup:
    """What ``find_by_id`` of a plain id needs, translated once for one scope."""

    #: the id property's stored field name
    field: str
    #: the scope's translated where ({} without one)
    where: dict[str, Any]
    #: the scope's projection (None: whole documents)
    projection: dict[str, int] | None

    def query(self, meta: ModelMeta, id: Any) -> Query | None:
        """The query of ``id`` (``EntityNotFoundError`` when it cannot be an id), or None
        when the translation would change the coerced id (the caller translates)."""
        value = coerce_id(meta, id)
        if value.__class__ not in _AS_IS:
            return None
        where = self.where
        if not where:
            condition = {self.field: value}
        elif self.field not in where:
            condition = {**where, self.field: value}
        else:
            condition = {"$and": [copy.deepcopy(where), {self.field: value}]}
        return Query(condition, self.projection, None, 0, None)


def id_lookup(repository: Any) -> IdLookup | None:
    """The repository's :class:`IdLookup` for its current scope (made on first use, again
    after the scope changed), or None when its find_by_id must take the usual path."""
    scope = repository.scope
    cached = repository.__dict__.get("_id_lookup")
    if cached is not None and cached[0] is scope:
        lookup: IdLookup | None = cached[1]
        return lookup
    lookup = _made(repository)
    repository.__dict__["_id_lookup"] = (scope, lookup)
    return lookup


def _made(repository: Any) -> IdLookup | None:
    meta: ModelMeta = repository.meta
    prop = meta.id
    if prop is None or prop.hidden:
        return None
    try:
        base = translate_filter(meta, None, scope=repository.scope)
    except (ODMError, TypeError, ValueError):  # an invalid scope: the usual path says so
        return None
    if base.where and split_near(base.where) is not None:
        return None
    return IdLookup(prop.field_name, base.where, base.projection)
