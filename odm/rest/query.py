"""A REST query string's ``filter`` or ``where``, decoded to one LoopBack filter.

Both of LoopBack's encodings give the same dict, which then goes through the
repository's one translator:

- a JSON string: ``?filter={"where":{"name":{"like":"Jo%"}},"limit":10}``;
- the bracket form (the ``qs`` encoding LoopBack reads):
  ``?filter[where][name][like]=Jo%25&filter[limit]=10&filter[order][0]=name%20ASC``.
  ``[0]``, ``[1]``... make a list (in index order; ``[]`` appends), any other name an
  object; a key given twice makes a list of its values, as ``qs`` does.

Values of the bracket form are strings, and stay strings here: the translator coerces a
where value to its property's type (``"5"`` for an ``int`` property, ISO text for a
``datetime``, hex text for an ObjectId id), ``limit``/``skip`` digits to ints and
``"true"``/``"false"`` to booleans in ``fields`` and ``exists``. A value compared with an
``Any`` property (or an undeclared one of a ``strict=False`` model) stays the string sent;
``null`` and numbers for such properties need the JSON form.

Anything malformed (bad JSON, a key both a value and an object, an unclosed bracket,
nesting deeper than 32 levels, more than 1,000 parameters) raises
:class:`~odm.errors.InvalidFilterError`, which the router answers with a 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidFilterError
from ..rules import MAX_FILTER_DEPTH

__all__ = ["MAX_PARAMETERS", "clamp_limit", "decode_query"]

#: The most query parameters one filter may be sent in (``qs``'s ``parameterLimit``).
MAX_PARAMETERS = 1000
#: The largest list index the bracket form turns into a list item (``qs`` says 20; a
#: larger one is refused here rather than silently read as an object key).
MAX_INDEX = 100

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def decode_query(params: Iterable[tuple[str, str]], name: str) -> Any:
    """The value of the query parameter ``name`` (``filter`` or ``where``) in either
    encoding, or None when it is absent or empty."""
    plain: list[str] = []
    bracketed: list[tuple[list[str], str]] = []
    for count, (key, value) in enumerate(params, 1):
        if count > MAX_PARAMETERS:
            raise InvalidFilterError(name, f"more than {MAX_PARAMETERS} query parameters")
        if key == name:
            plain.append(value)
        elif key.startswith(name + "["):
            bracketed.append((_segments(key, name), value))
    if plain and bracketed:
        raise InvalidFilterError(
            name, f"give {name} either as JSON ({name}=...) or in bracket form, not both"
        )
    if len(plain) > 1:
        raise InvalidFilterError(name, f"{name} is given {len(plain)} times")
    if plain:
        return _json(plain[0], name)
    if not bracketed:
        return None
    root: dict[str, Any] = {}
    for segments, value in bracketed:
        _put(root, segments, value, name)
    return _listed(root, name)


def clamp_limit(filter: dict[str, Any], max_limit: int) -> dict[str, Any]:
    """``filter`` with its ``limit`` at most ``max_limit``: a larger or a missing limit
    becomes ``max_limit`` (LoopBack's REST layer clamps rather than refuses)."""
    limit = filter.get("limit")
    if limit is None or limit > max_limit:
        return {**filter, "limit": max_limit}
    return filter


def _json(text: str, name: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidFilterError(
            name, f"nests objects and lists more than {MAX_FILTER_DEPTH} levels deep"
        ) from None
    except ValueError as error:
        raise InvalidFilterError(name, f"not valid JSON: {error}") from None


def _segments(key: str, name: str) -> list[str]:
    rest = key[len(name) :]
    segments: list[str] = []
    position = 0
    while position < len(rest):
        match = _SEGMENT.match(rest, position)
        if match is None:
            raise InvalidFilterError(
                name, f"malformed parameter name {key!r}: expected {name}[a][b]..."
            )
        segments.append(match.group(1))
        position = match.end()
        if len(segments) > MAX_FILTER_DEPTH:
            raise InvalidFilterError(
                name, f"nests objects and lists more than {MAX_FILTER_DEPTH} levels deep"
            )
    return segments


def _put(node: dict[str, Any], segments: list[str], value: str, name: str) -> None:
    path = name
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment == "":  # "[]": the next free index
            segment = str(sum(1 for key in node if key.isdigit()))
        path = f"{path}.{segment}"
        if last:
            if segment not in node:
                node[segment] = value
            elif isinstance(node[segment], _Values):
                node[segment].append(value)
            elif isinstance(node[segment], str):
                node[segment] = _Values([node[segment], value])
            else:
                raise InvalidFilterError(path, "given both as a value and as an object")
            return
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise InvalidFilterError(path, "given both as a value and as an object")
        node = child


class _Values(list[str]):
    """The values of a key given more than once."""


def _listed(node: Any, path: str) -> Any:
    """Objects whose keys are all list indices become lists (in index order)."""
    if isinstance(node, _Values):
        return list(node)
    if not isinstance(node, dict):
        return node
    items = {key: _listed(value, f"{path}.{key}") for key, value in node.items()}
    if items and all(key.isascii() and key.isdigit() for key in items):
        indices = sorted(items, key=int)
        if int(indices[-1]) > MAX_INDEX:
            raise InvalidFilterError(
                f"{path}.{indices[-1]}", f"a list index is at most {MAX_INDEX}"
            )
        return [items[key] for key in indices]
    return items
