"""The one answer to "can this reveal a hidden field?", for every query path.

With ``prohibit_hidden_in_query=True`` a query may not *test* a hidden property: not by
naming it (``where``, ``order``), nor by comparing or sorting a whole value that holds
one (an embedded document, a union member, a list or a dict of models). Where, order,
fields and (later) include scopes all ask the two questions here, so a new query path
cannot forget one:

- :func:`path_is_hidden`: does this property path name a hidden field? Every reading of
  the path counts: each member of a union, the values of a dict, the items of a list,
  and a segment equal to a hidden property's stored *field* name (a path sent as given,
  below a ``strict=False`` model, reaches it).
- :func:`path_holds_hidden`: can the value at this path hold a hidden field (so that
  comparing or sorting by it whole tests one)? :func:`holds_hidden` answers it for a
  type.

Neither ever says which hidden property it found: callers word their errors without
hidden names. Answers are cached per model (paths are few; a model's types are fixed).
"""

from __future__ import annotations

from .metadata import ID_FIELD, ModelMeta, PropertyMeta, meta_of
from .types import TypeInfo

__all__ = [
    "HIDDEN_REASON",
    "ErrorNames",
    "holds_hidden",
    "model_holds_hidden",
    "path_holds_hidden",
    "path_is_hidden",
]

#: The reason of every refusal for a hidden field: it names no property.
HIDDEN_REASON = (
    "this would test a hidden property, and this repository was made with "
    "prohibit_hidden_in_query=True"
)

_PATH_CACHE_SIZE = 2048


def model_holds_hidden(meta: ModelMeta) -> bool:
    """Whether ``meta`` or a model embedded in it (at any depth, through lists, dicts and
    unions) has a hidden property."""
    found = meta.plans.holds_hidden
    if found is None:
        found = meta.plans.holds_hidden = _model_holds(meta, set())
    return found


def _model_holds(meta: ModelMeta, seen: set[int]) -> bool:
    if meta.hidden:
        return True
    seen.add(id(meta))
    for prop in meta.properties.values():
        for embedded in prop.type.models:
            nested = meta_of(embedded)
            if nested is not None and id(nested) not in seen and _model_holds(nested, seen):
                return True
    return False


def holds_hidden(info: TypeInfo) -> bool:
    """Whether a value of type ``info`` holds a hidden field at any depth: comparing or
    sorting by the whole value tests it."""
    for embedded in info.models:
        nested = meta_of(embedded)
        if nested is not None and model_holds_hidden(nested):
            return True
    return False


def path_is_hidden(meta: ModelMeta, path: str) -> bool:
    """Whether the property path ``path`` (dotted, ``id`` allowed) can name a hidden field
    of ``meta`` under any reading of it (see the module docstring)."""
    return _analyse(meta, path)[0]


def path_holds_hidden(meta: ModelMeta, path: str) -> bool:
    """Whether the value at ``path`` can be or hold a hidden field under any reading of
    it: comparing or sorting by it whole tests that field."""
    return _analyse(meta, path)[1]


def _analyse(meta: ModelMeta, path: str) -> tuple[bool, bool]:
    cache = meta.plans.hidden_paths
    found = cache.get(path)
    if found is None:
        found = _walk(meta, path.split("."))
        if len(cache) < _PATH_CACHE_SIZE:
            cache[path] = found
    return found


_NOTHING = (False, False)


def _walk(meta: ModelMeta, parts: list[str]) -> tuple[bool, bool]:
    """(names a hidden field, holds one) for ``parts`` from ``meta``."""
    if not parts:
        return False, model_holds_hidden(meta)
    prop = _property_named(meta, parts[0])
    if prop is None:
        return _NOTHING  # an undeclared name (strict=False) holds no declared field
    if prop.hidden:
        return True, True
    return _walk_type(prop.type, parts[1:])


def _property_named(meta: ModelMeta, name: str) -> PropertyMeta | None:
    prop = meta.properties.get(name)
    if prop is not None:
        return prop
    if name in ("id", ID_FIELD) and meta.id is not None:
        return meta.id
    # A path sent as given (below a strict=False model) reaches the stored field of that
    # name; where it is not sent as given it is refused anyway.
    return meta.by_field.get(name)


def _walk_type(info: TypeInfo, parts: list[str]) -> tuple[bool, bool]:
    if not parts:
        return False, holds_hidden(info)
    if info.kind == "model" and info.model is not None:
        nested = meta_of(info.model)
        return _walk(nested, parts) if nested is not None else _NOTHING
    readings: list[tuple[bool, bool]] = []
    if info.kind == "list" and info.item is not None:
        if parts[0].isdigit():
            readings.append(_walk_type(info.item, parts[1:]))
        readings.append(_walk_type(info.item, parts))  # MongoDB reaches into each element
    elif info.kind == "dict" and info.item is not None:
        readings.append(_walk_type(info.item, parts[1:]))
    elif info.kind == "union":
        readings.extend(_walk_type(option, parts) for option in info.options)
    return any(r[0] for r in readings), any(r[1] for r in readings)


class ErrorNames:
    """How the driver seam names a model's properties in its errors: property paths for
    stored field paths, and hidden properties' values kept out (errors end up in logs)."""

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.name = meta.name

    def property_path(self, field_path: str) -> str:
        return self.meta.property_path(field_path)

    def hides(self, property_path: str) -> bool:
        return path_is_hidden(self.meta, property_path)
