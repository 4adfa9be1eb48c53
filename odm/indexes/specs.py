"""An index as odm sees it (:class:`IndexSpec`), and how the server compares two of them.

- keys are compared in order (``{a: 1, b: -1}`` is not ``{b: -1, a: 1}``), text keys as
  the set of text fields (the server stores them as ``_fts``/``_ftsx`` plus ``weights``);
- options are compared by their server names, ignoring what the server adds (``v``,
  ``ns``, ``background``, index versions, text defaults) and options set to their
  default (``unique=False``, ``sparse=False``, ``hidden=False``); a declared
  ``collation`` matches when every declared field equals the stored one (the server
  fills in the rest).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from odm.types import to_utc_ms

__all__ = ["BOOLEAN_OPTIONS", "Direction", "IndexSpec", "Keys", "difference", "same", "same_keys"]

Direction = int | str
Keys = tuple[tuple[str, Direction], ...]

BOOLEAN_OPTIONS = frozenset({"unique", "sparse", "hidden"})
# What the server adds to an index description, or ignores (background since 4.2).
_SERVER_FIELDS = frozenset(
    {"key", "name", "v", "ns", "background", "2dsphereIndexVersion", "textIndexVersion"}
)
# The values the server fills in for a text index when none are given.
_TEXT_DEFAULTS: Mapping[str, Any] = {"default_language": "english", "language_override": "language"}
_TEXT_KEYS = ("_fts", "_ftsx")


@dataclass(frozen=True)
class IndexSpec:
    """One index: its name, its keys in order, and its options by their server names.

    ``keys`` are ``(field_path, direction)`` pairs with field names (not property names);
    ``options`` hold ``unique``, ``sparse``, ``expireAfterSeconds``,
    ``partialFilterExpression`` (field names, BSON values) and any other option given,
    passed through. ``properties`` are the property paths of the keys and ``origin``
    says where the index was declared (for messages); both are empty for an index read
    from the database.
    """

    name: str
    keys: Keys
    options: Mapping[str, Any] = field(default_factory=dict)
    properties: tuple[str, ...] = ()
    origin: str = ""

    @classmethod
    def from_information(cls, name: str, information: Mapping[str, Any]) -> IndexSpec:
        """An index as ``index_information()`` describes it."""
        keys = tuple((str(path), _direction(value)) for path, value in information["key"])
        options = {
            key: _plain(value) for key, value in information.items() if key not in _SERVER_FIELDS
        }
        return cls(name=name, keys=keys, options=options)

    def create_arguments(self) -> tuple[list[tuple[str, Direction]], dict[str, Any]]:
        """The ``create_index(keys, **options)`` arguments of this index."""
        return list(self.keys), {"name": self.name, **self.options}

    @property
    def key_document(self) -> dict[str, Direction]:
        """``{field: direction}`` in order, a stored text index shown by its text fields."""
        return dict(_readable_keys(self))

    def describe(self) -> str:
        """``address.city: 1, createdAt: -1 (unique, expireAfterSeconds=60)``."""
        keys = ", ".join(f"{path}: {direction}" for path, direction in _readable_keys(self))
        shown = [
            key if value is True else f"{key}={_short(value)}"
            for key, value in _comparable_options(self).items()
        ]
        return f"{keys} ({', '.join(shown)})" if shown else keys


def _direction(value: Any) -> Direction:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


def _plain(value: Any) -> Any:
    """SON and tuples as plain dicts and lists, datetimes as BSON keeps them (UTC, ms),
    for comparison and display."""
    if isinstance(value, dt.datetime):
        return to_utc_ms(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text_fields(spec: IndexSpec) -> list[str]:
    if any(path in _TEXT_KEYS for path, _ in spec.keys):
        weights = spec.options.get("weights")
        return sorted(weights) if isinstance(weights, Mapping) else []
    return [path for path, direction in spec.keys if direction == "text"]


def _readable_keys(spec: IndexSpec) -> list[tuple[str, Direction]]:
    """The keys with a stored text index's ``_fts``/``_ftsx`` shown as its text fields."""
    if not any(path in _TEXT_KEYS for path, _ in spec.keys):
        return list(spec.keys)
    keys: list[tuple[str, Direction]] = []
    for path, direction in spec.keys:
        if path == "_fts":
            keys.extend((text, "text") for text in _text_fields(spec))
        elif path != "_ftsx":
            keys.append((path, direction))
    return keys


def _comparable_keys(spec: IndexSpec) -> tuple[Any, ...]:
    """Keys in order, the text fields of a text index as one set (the server keeps them
    as ``_fts``/``_ftsx`` with ``weights``)."""
    result: list[Any] = []
    text_done = False
    for path, direction in _readable_keys(spec):
        if direction == "text":
            if not text_done:
                result.append(("text", frozenset(_text_fields(spec))))
                text_done = True
        else:
            result.append((path, direction))
    return tuple(result)


def _comparable_options(spec: IndexSpec) -> dict[str, Any]:
    options = {key: _plain(value) for key, value in spec.options.items()}
    for key in BOOLEAN_OPTIONS:
        if options.get(key) is False:
            del options[key]
    for key, default in _TEXT_DEFAULTS.items():
        if options.get(key) == default:
            del options[key]
    text = _text_fields(spec)
    if text:
        declared = options.get("weights")
        weights = {name: 1 for name in text}
        if isinstance(declared, Mapping):
            weights.update(declared)
        if set(weights) == set(text) and all(weight == 1 for weight in weights.values()):
            options.pop("weights", None)
        else:
            options["weights"] = dict(sorted(weights.items()))
    return options


def same_keys(declared: IndexSpec, found: IndexSpec) -> bool:
    return _comparable_keys(declared) == _comparable_keys(found)


def same(declared: IndexSpec, found: IndexSpec) -> bool:
    return same_keys(declared, found) and difference(declared, found) is None


def difference(declared: IndexSpec, found: IndexSpec) -> str | None:
    """Why ``found`` is not the ``declared`` index, or None when it is."""
    if not same_keys(declared, found):
        return f"keys {declared.key_document} declared, {found.key_document} in the database"
    wanted, stored = _comparable_options(declared), _comparable_options(found)
    differences: list[str] = []
    for key in sorted(set(wanted) | set(stored)):
        want, have = wanted.get(key, _ABSENT), stored.get(key, _ABSENT)
        if key == "collation" and isinstance(want, dict) and isinstance(have, dict):
            # the server fills in every collation field not given
            if all(have.get(name, _ABSENT) == value for name, value in want.items()):
                continue
        elif want == have:
            continue
        differences.append(f"{key} {_short(want)} declared, {_short(have)} in the database")
    return "; ".join(differences) or None


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT: Any = _Absent()


def _short(value: Any) -> str:
    return "absent" if value is _ABSENT else repr(value)
