"""Id arguments: the one coercion every parameter documented as an id goes through.

``find_by_id``, ``exists``, ``update_by_id``, ``replace_by_id``, ``delete_by_id`` (and
``find_by_ids``, relation repositories and REST routes as they come) call
:func:`coerce_id`. An id is coerced to the id property's type (``str``, an ``ObjectId``
from its 24-character hex text, ``int`` from its digits, ``UUID`` from its text, ...);
anything else, a dict or a list above all, is no id of this model, so the call reports
:class:`~odm.errors.EntityNotFoundError`: an id argument is never read as a filter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from pydantic import BaseModel

from .errors import EntityNotFoundError, InvalidFilterError
from .filters.values import _property_coercer
from .metadata import ModelMeta
from .rules import value_problem

__all__ = ["coerce_id", "id_condition"]

_NEVER_IDS = (Mapping, list, tuple, set, frozenset, BaseModel, re.Pattern, bool)
_PLAIN = frozenset([str, int, ObjectId, uuid.UUID])  # the common ids: no isinstance walk


def coerce_id(meta: ModelMeta, value: Any) -> Any:
    """``value`` as a value of ``meta``'s id property (its Python type), or
    ``EntityNotFoundError`` when it cannot be one.

    >>> coerce_id(Customer.odm_meta(), "65a1f0c2e4b0a1b2c3d4e5f6")   # generated id
    ObjectId('65a1f0c2e4b0a1b2c3d4e5f6')
    >>> coerce_id(Customer.odm_meta(), {"neq": None})
    Traceback (most recent call last):
    odm.errors.EntityNotFoundError: Customer with id {'neq': None} not found
    """
    prop = meta.id
    if value.__class__ not in _PLAIN and (
        prop is None or value is None or isinstance(value, _NEVER_IDS)
    ):
        raise _not_found(meta, value)
    assert prop is not None
    coercer = meta.plans.id_coercer
    if coercer is None:
        coercer = meta.plans.id_coercer = _property_coercer(prop)
    try:
        coerced = coercer.validate(value) if coercer.validate is not None else value
    except (ValueError, TypeError, InvalidFilterError):  # pydantic's ValidationError too
        raise _not_found(meta, value) from None
    if coerced.__class__ not in _PLAIN and (coerced is None or isinstance(coerced, _NEVER_IDS)):
        raise _not_found(meta, value)
    if value_problem(coerced):
        raise _not_found(meta, value)
    return coerced


def _not_found(meta: ModelMeta, value: Any) -> EntityNotFoundError:
    """The error for ``value``; its message shows it unless it nests too deep to show."""
    try:
        return EntityNotFoundError(meta.name, value)
    except RecursionError:
        error = EntityNotFoundError(meta.name, "a deeply nested value")
        error.id = value
        return error


def id_condition(meta: ModelMeta, value: Any) -> dict[str, Any]:
    """The where clause of one id, ``{id property: id}``: an equality whatever the id was,
    since :func:`coerce_id` only ever gives a scalar."""
    coerced = coerce_id(meta, value)
    assert meta.id is not None
    return {meta.id.name: coerced}
