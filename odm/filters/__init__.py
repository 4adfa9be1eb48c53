"""LoopBack filters to MongoDB: the pure translator behind every repository query.

A filter is a JSON-ready dict, possibly straight from a REST query string::

    {"where": {"and": [{"age": {"gte": "18"}}, {"address.zip_code": "75001"}]},
     "fields": ["email", "name"], "order": "created DESC, name", "limit": 10, "skip": 20}

:func:`translate_filter` turns it into a :class:`Query` (MongoDB query, projection, sort,
skip, limit): property paths become field paths at every depth (``id`` becomes ``_id``),
values are coerced to the property's type and encoded to BSON, and everything odm does
not accept raises :class:`~odm.errors.InvalidFilterError` with the path of the offending
part (``where.and.1.age.gte``) and the reason. Nothing here does I/O.

The package, by job: :mod:`.values` (property paths and value coercion), :mod:`.where`
(where clauses and the operator table), :mod:`.patterns` (``like`` and ``regexp``),
:mod:`.query` (order, fields, limit, skip; the :class:`Filter` type), :mod:`.scope`
(merging with the default scope, create defaults). What a query may reveal of hidden
properties is :mod:`odm.hidden`'s answer; MongoDB's limits are :mod:`odm.rules`'.

Choices where LoopBack is silent:

- Filter values are coerced to the property's *type* only: pydantic constraints and
  enforced ``json_schema`` keywords are checked on writes, not on values a query compares
  with (``{"age": {"gt": -1}}`` is fine with ``minimum: 0``).
- A dict value is an operator object when one of its keys is an operator (or starts with
  ``$``); otherwise it is an equality with an embedded document, accepted only for
  properties that hold documents (models, dicts, ``Any``). ``{"p": {"eq": value}}``
  compares with ``value`` itself: a dict or list for a scalar property is refused.
- ``like``/``ilike`` match the whole value, ``%`` and ``_`` match newlines too (the ``s``
  flag). ``nlike``/``nilike`` put their flags inline (``(?is)``) because a ``$not`` regex
  document may not carry ``$options`` on every backend. A value with one trailing newline
  matches as if it had none (the ``$`` of PCRE). Runs of ``%`` collapse; a pattern has
  at most 1,024 characters and 32 runs of ``%``, and is translated so matching never
  backtracks (see :mod:`.patterns`).
- ``regexp`` flags are ``i``, ``m``, ``s``, ``x``; ``g`` is accepted and ignored (LoopBack
  clients send it; it means nothing for a match); other flags are refused. With
  ``allow_regexp=False``, ``regexp``, compiled patterns and ``$regex`` are refused.
- ``fields``: excluding the id (``{"id": False}``) is ignored, the id is always returned.
  A string is read as a comma-separated list of names.
- A filter nests objects and lists at most 32 levels deep.
- On a ``strict=False`` model a name equal to a declared property's stored field name
  (not also a property name) or ``_id`` is refused at any depth: it would reach a
  declared field past its property.
- With ``prohibit_hidden``: a path that names a hidden property under any reading (union
  members, dict values, stored field names), an ``order`` by a value that holds one, a
  comparison with a whole document that holds one, and (with extended operators) any
  top-level ``$`` operator but ``$comment`` on a model holding one (``$expr``,
  ``$jsonSchema`` name fields freely; odm does not analyse them) are refused. Errors
  never name hidden properties.
- The scope is the model's own configuration, so its where clause may use ``$``
  operators and hidden properties whatever the call's options are (the forbidden
  server-side JavaScript operators are refused everywhere).
- With ``allow_extended_operators=True``, ``$and``/``$or``/``$nor``/``$not``/
  ``$elemMatch`` are translated (property names inside mapped, values coerced), the
  comparison operators (``$eq``, ``$gt``, ``$in``, ``$all``, ...) coerce their values, and
  any other ``$`` operator (``$expr``, ``$text``, ``$type``, ``$size``, ...) is passed
  as given (its Python values BSON-encoded as an ``Any`` property's): field references
  inside ``$expr`` use MongoDB field names.
- Nothing BSON cannot hold reaches the driver: integers beyond 64 bits, text or names
  that are not valid UTF-8 (a JSON ``"\\ud800"``), names with a NUL byte, decimals
  beyond Decimal128 and Python sets raise ``InvalidFilterError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..metadata import ModelMeta
from .patterns import MAX_LIKE_LENGTH, MAX_LIKE_WILDCARDS, like_to_regex
from .query import (
    FILTER_KEYS,
    Condition,
    Filter,
    Query,
    Where,
    _projection,
    _sort,
    normalize_filter,
    projection_spec,
    sort_spec,
)
from .scope import _merge, merge_scope
from .where import FORBIDDEN_OPERATORS, OPERATORS, Operator, translate_where

__all__ = [
    "FILTER_KEYS",
    "FORBIDDEN_OPERATORS",
    "MAX_LIKE_LENGTH",
    "MAX_LIKE_WILDCARDS",
    "OPERATORS",
    "Condition",
    "Filter",
    "Operator",
    "Query",
    "Where",
    "like_to_regex",
    "merge_scope",
    "projection_spec",
    "sort_spec",
    "translate_filter",
    "translate_where",
]


def translate_filter(
    meta: ModelMeta,
    filter: Mapping[str, Any] | None,
    *,
    scope: Mapping[str, Any] | None = None,
    allow_extended_operators: bool = False,
    prohibit_hidden: bool = False,
    allow_regexp: bool = True,
) -> Query:
    """Translate a LoopBack filter (under an optional default scope) to a :class:`Query`.

    >>> q = translate_filter(Customer.odm_meta(), {"where": {"name": {"like": "Jo%"}},
    ...                      "order": "created DESC", "limit": "10"})
    >>> q.where, q.sort, q.limit
    ({'name': {'$regex': '^Jo.*$', '$options': 's'}}, [('createdAt', -1)], 10)

    The scope's where is trusted configuration: it may use ``$`` operators and hidden
    properties whatever ``allow_extended_operators`` and ``prohibit_hidden`` say.
    """
    base = normalize_filter(scope, "scope")
    call = normalize_filter(filter, "")
    where = translate_where(
        meta,
        call.get("where"),
        scope_where=base.get("where"),
        allow_extended_operators=allow_extended_operators,
        prohibit_hidden=prohibit_hidden,
        allow_regexp=allow_regexp,
    )
    merged, from_call = _merge(base, call)
    order_path = "order" if "order" in from_call else "scope.order"
    fields_path = "fields" if "fields" in from_call else "scope.fields"
    return Query(
        where=where,
        projection=_projection(meta, merged.get("fields"), fields_path),
        sort=_sort(meta, merged.get("order"), order_path, prohibit_hidden and "order" in from_call),
        skip=merged.get("skip", 0),
        limit=merged.get("limit"),
    )
