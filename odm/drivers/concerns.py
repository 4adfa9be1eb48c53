"""A repository's read and write concerns and read preference: pymongo's objects or their
usual spellings in, the keyword arguments of the driver's ``Collection.with_options`` out.

>>> collection_options(write_concern="majority", read_concern="majority")
{'write_concern': WriteConcern(w='majority'), 'read_concern': ReadConcern(majority)}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ReadPreference, WriteConcern
from pymongo.errors import ConfigurationError
from pymongo.read_concern import ReadConcern
from pymongo.read_preferences import _ServerMode

from ..errors import ODMError

__all__ = ["collection_options"]

_READ_PREFERENCES: dict[str, _ServerMode] = {
    "primary": ReadPreference.PRIMARY,
    "primarypreferred": ReadPreference.PRIMARY_PREFERRED,
    "secondary": ReadPreference.SECONDARY,
    "secondarypreferred": ReadPreference.SECONDARY_PREFERRED,
    "nearest": ReadPreference.NEAREST,
}
_READ_CONCERN_LEVELS = frozenset(["local", "available", "majority", "linearizable", "snapshot"])


def collection_options(
    *, write_concern: Any = None, read_concern: Any = None, read_preference: Any = None
) -> dict[str, Any]:
    """The options given (None: the database's own), as pymongo objects.

    * ``write_concern``: a ``WriteConcern``, ``"majority"``, a number of members (``1``),
      or a mapping of ``WriteConcern``'s arguments (``{"w": "majority", "j": True}``);
    * ``read_concern``: a ``ReadConcern`` or its level (``"majority"``, ``"local"``, ...);
    * ``read_preference``: a read preference of ``pymongo.ReadPreference`` or its mode's
      name (``"secondaryPreferred"``, ``"secondary_preferred"``, ``"nearest"``, ...).

    Anything else is an ``ODMError`` naming the option.
    """
    options: dict[str, Any] = {}
    if write_concern is not None:
        options["write_concern"] = _write_concern(write_concern)
    if read_concern is not None:
        options["read_concern"] = _read_concern(read_concern)
    if read_preference is not None:
        options["read_preference"] = _read_preference(read_preference)
    return options


def _write_concern(value: Any) -> WriteConcern:
    if isinstance(value, WriteConcern):
        return value
    try:
        if isinstance(value, Mapping):
            return WriteConcern(**dict(value))
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return WriteConcern(w=value)
    except (TypeError, ValueError, ConfigurationError) as error:
        raise ODMError(f"write_concern {value!r} is not a write concern: {error}") from None
    raise ODMError(
        f"write_concern is a pymongo WriteConcern, 'majority', a number of members or a "
        f"mapping of WriteConcern's arguments, not {value!r}"
    )


def _read_concern(value: Any) -> ReadConcern:
    if isinstance(value, ReadConcern):
        return value
    if isinstance(value, str) and value in _READ_CONCERN_LEVELS:
        return ReadConcern(value)
    raise ODMError(
        f"read_concern is a pymongo ReadConcern or one of "
        f"{', '.join(sorted(_READ_CONCERN_LEVELS))}, not {value!r}"
    )


def _read_preference(value: Any) -> _ServerMode:
    if isinstance(value, _ServerMode):
        return value
    if isinstance(value, str):
        found = _READ_PREFERENCES.get(value.replace("_", "").lower())
        if found is not None:
            return found
    raise ODMError(
        "read_preference is a pymongo read preference (pymongo.ReadPreference.SECONDARY, "
        "...) or one of primary, primaryPreferred, secondary, secondaryPreferred, nearest, "
        f"not {value!r}"
    )
