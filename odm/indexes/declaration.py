"""What a model declares: its indexes compiled into :class:`IndexSpec` values.

Property level (``index=True``, ``index={...}``, ``unique=True``) at every depth of
embedded models, and model level (``@model(indexes={...})``), checked when the class is
created and compiled once per class.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from odm.codec import encode_any, encode_value
from odm.errors import ModelDefinitionError
from odm.metadata import ModelMeta, meta_of
from odm.types import TypeInfo, to_utc_ms

from .specs import BOOLEAN_OPTIONS, Direction, IndexSpec, Keys, difference, same

__all__ = ["DIRECTIONS", "OPTION_NAMES", "declared_indexes", "merge_declarations"]

#: The key directions a declaration may use.
DIRECTIONS: tuple[Direction, ...] = (1, -1, "text", "2dsphere", "2d", "hashed")

#: Index option names as declared (odm's snake_case or the server's own) -> server names.
OPTION_NAMES: Mapping[str, str] = {
    "unique": "unique",
    "sparse": "sparse",
    "hidden": "hidden",
    "expire_after_seconds": "expireAfterSeconds",
    "expireAfterSeconds": "expireAfterSeconds",
    "partial_filter": "partialFilterExpression",
    "partial_filter_expression": "partialFilterExpression",
    "partialFilterExpression": "partialFilterExpression",
}


def declared_indexes(meta: ModelMeta) -> list[IndexSpec]:
    """The indexes a model declares, compiled once per class.

    Property level (``index=True``, ``index={...}``, ``unique=True``), on the entity's
    properties and on the properties of its embedded models at every depth (the key is
    then the full field path); model level (``indexes={"name": {"keys": {...},
    "options": {...}}}``, inherited as a union). Keys are property paths mapped to field
    names; default names follow MongoDB's convention (``email_1``, ``address.zip_1``);
    a model-level index is named by its key in ``indexes`` unless its options give a
    ``name``. An index on the id property is left out (``_id`` always has one).
    Partial filters are written over the whole document, with property paths.

    Raises ``ModelDefinitionError`` for an unknown property path, a bad direction or
    option, and two different indexes under one name.
    """
    cached = meta.plans.indexes
    if cached is None:
        specs = list(_property_indexes(meta, meta, "", "", (meta.cls,)))
        specs.extend(
            _model_index(meta, name, declaration)
            for name, declaration in meta.settings.indexes.items()
        )
        cached = meta.plans.indexes = tuple(merge_declarations(specs, owner=meta.name))
    return list(cached)


def merge_declarations(specs: Iterable[IndexSpec], *, owner: str) -> list[IndexSpec]:
    """The specs without repeats; one name for two different indexes, or two names for one
    index, raise ``ModelDefinitionError`` (the server would refuse the second)."""
    by_name: dict[str, IndexSpec] = {}
    for spec in specs:
        known = by_name.get(spec.name)
        if known is None:
            twin = next((other for other in by_name.values() if same(other, spec)), None)
            if twin is not None:
                raise ModelDefinitionError(
                    f"{owner}: {spec.origin or spec.name} and {twin.origin or twin.name} declare "
                    f"the same index ({spec.describe()}) under two names, {twin.name!r} and "
                    f"{spec.name!r}; keep one of them"
                )
            by_name[spec.name] = spec
        elif difference(known, spec) is not None:
            raise ModelDefinitionError(
                f"{owner}: {known.origin or known.name} ({known.describe()}) and "
                f"{spec.origin or spec.name} ({spec.describe()}) are both named {spec.name!r}; "
                "give one of them another name"
            )
    return list(by_name.values())


def _property_indexes(
    root: ModelMeta,
    meta: ModelMeta,
    field_prefix: str,
    path_prefix: str,
    visiting: tuple[type[Any], ...],
) -> Iterable[IndexSpec]:
    for prop in meta.properties.values():
        field_path = field_prefix + prop.field_name
        property_path = path_prefix + prop.name
        origin = f"property {property_path!r}"
        declared = _property_index_options(root, prop.options.index, prop.options.unique, origin)
        if declared is not None and not prop.is_id:
            name, options = declared
            keys: Keys = ((field_path, _property_direction(prop.type)),)
            yield IndexSpec(
                name=name or _default_name(keys),
                keys=keys,
                options=options,
                properties=(property_path,),
                origin=origin,
            )
        nested = _embedded_model(prop.type)
        if nested is not None and nested.cls not in visiting:
            yield from _property_indexes(
                root, nested, f"{field_path}.", f"{property_path}.", (*visiting, nested.cls)
            )


def _property_direction(info: TypeInfo) -> Direction:
    """The direction of a property-level index: ascending, or the one its model class
    names (``odm.GeoPoint``, stored as GeoJSON: ``2dsphere``)."""
    while info.kind == "list" and info.item is not None:
        info = info.item
    if info.kind == "model" and info.model is not None:
        direction: Direction = getattr(info.model, "__odm_index_direction__", 1)
        return direction
    return 1


def _embedded_model(info: TypeInfo) -> ModelMeta | None:
    while info.kind == "list" and info.item is not None:
        info = info.item
    if info.kind == "model" and info.model is not None:
        return meta_of(info.model)
    return None


def _property_index_options(
    root: ModelMeta, index: Any, unique: bool, origin: str
) -> tuple[str | None, dict[str, Any]] | None:
    if index is None or index is False:
        if not unique:
            return None
        index = True
    if index is True:
        raw: dict[str, Any] = {}
    elif isinstance(index, Mapping):
        raw = dict(index)
    else:
        raise ModelDefinitionError(
            f"{root.name} {origin}: index must be True or a dict of index options "
            f"(unique, sparse, expire_after_seconds, name, partial_filter), not {index!r}"
        )
    if unique:
        raw["unique"] = True
    return _options(root, raw, origin)


def _model_index(meta: ModelMeta, key: str, declaration: Any) -> IndexSpec:
    origin = f"indexes[{key!r}]"
    where = f"{meta.name} {origin}"
    if not isinstance(declaration, Mapping):
        raise ModelDefinitionError(
            f'{where}: an index is declared as {{"keys": {{"property": 1}}, "options": {{...}}}}, '
            f"not {declaration!r}"
        )
    if "keys" in declaration:
        raw_keys = declaration["keys"]
        nested_options = declaration.get("options") or {}
        if not isinstance(nested_options, Mapping):
            raise ModelDefinitionError(f"{where}: options must be a dict, not {nested_options!r}")
        raw_options = {
            **{k: v for k, v in declaration.items() if k not in ("keys", "options")},
            **nested_options,
        }
    else:  # LoopBack's short form: the keys themselves
        raw_keys, raw_options = declaration, {}
    pairs = list(raw_keys.items()) if isinstance(raw_keys, Mapping) else raw_keys
    if not isinstance(pairs, list | tuple) or not pairs:
        raise ModelDefinitionError(
            f"{where}: keys must be a non-empty dict of property path -> direction, "
            f"not {raw_keys!r}"
        )
    keys: list[tuple[str, Direction]] = []
    properties: list[str] = []
    for pair in pairs:
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ModelDefinitionError(f"{where}: {pair!r} is not a (property path, direction)")
        path, direction = pair
        keys.append((_key_field(meta, path, where), _checked_direction(direction, path, where)))
        properties.append(path)
    name, options = _options(meta, raw_options, origin)
    return IndexSpec(
        name=name or key,
        keys=tuple(keys),
        options=options,
        properties=tuple(properties),
        origin=origin,
    )


def _key_field(meta: ModelMeta, path: str, where: str) -> str:
    if path == "$**":
        return path
    prefix, wildcard = (path[:-4], ".$**") if path.endswith(".$**") else (path, "")
    resolved = meta.resolve_path(prefix)
    if resolved is None:
        raise ModelDefinitionError(
            f"{where}: {path!r} is not a property path of {meta.name}; keys name properties "
            f"(dotted paths into embedded models), e.g. {next(iter(meta.properties), 'name')!r}"
        )
    return resolved.field_path + wildcard


def _checked_direction(direction: Any, path: str, where: str) -> Direction:
    if isinstance(direction, float) and direction.is_integer():
        direction = int(direction)
    if isinstance(direction, bool) or direction not in DIRECTIONS:
        allowed = ", ".join(repr(d) for d in DIRECTIONS)
        raise ModelDefinitionError(
            f"{where}: direction {direction!r} of {path!r} is not one of {allowed}"
        )
    result: Direction = direction
    return result


def _options(
    meta: ModelMeta, raw: Mapping[str, Any], origin: str
) -> tuple[str | None, dict[str, Any]]:
    """Declared options -> (name, options by their server names)."""
    where = f"{meta.name} {origin}"
    name: str | None = None
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "name":
            if not isinstance(value, str) or not value:
                raise ModelDefinitionError(f"{where}: an index name is a non-empty string")
            name = value
            continue
        if key == "background":  # ignored by the server since MongoDB 4.2
            continue
        server_name = OPTION_NAMES.get(key, key)
        if server_name in BOOLEAN_OPTIONS:
            if not isinstance(value, bool):
                raise ModelDefinitionError(f"{where}: {key} must be True or False, not {value!r}")
            if value:
                options[server_name] = True
        elif server_name == "expireAfterSeconds":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ModelDefinitionError(
                    f"{where}: {key} must be a whole number of seconds >= 0, not {value!r}"
                )
            options[server_name] = value
        elif server_name == "partialFilterExpression":
            if not isinstance(value, Mapping) or not value:
                raise ModelDefinitionError(
                    f"{where}: {key} must be a non-empty filter document, not {value!r}"
                )
            options[server_name] = _partial_filter(meta, value)
        else:
            options[server_name] = value
    return name, options


def _partial_filter(meta: ModelMeta, expression: Mapping[str, Any]) -> dict[str, Any]:
    """A partial filter with property paths mapped to field names and values in BSON;
    paths that do not resolve (fields outside the model) pass unchanged."""
    mapped: dict[str, Any] = {}
    for key, value in expression.items():
        if key.startswith("$"):  # $and / $or: lists of filters
            items = value if isinstance(value, list | tuple) else [value]
            mapped[key] = [
                _partial_filter(meta, item) if isinstance(item, Mapping) else item for item in items
            ]
            continue
        resolved = meta.resolve_path(key)
        if resolved is None:
            mapped[key] = encode_any(value)
            continue
        info = resolved.type
        if isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
            mapped[resolved.field_path] = {
                operator: _operand(info, operator, operand) for operator, operand in value.items()
            }
        else:
            mapped[resolved.field_path] = _encoded(info, value)
    return mapped


def _operand(info: TypeInfo, operator: str, operand: Any) -> Any:
    if operator in ("$exists", "$type"):
        return operand
    if operator in ("$in", "$nin") and isinstance(operand, list | tuple):
        return [_encoded(info, item) for item in operand]
    return _encoded(info, operand)


def _encoded(info: TypeInfo, value: Any) -> Any:
    # A scalar compared with an array property matches its items.
    if info.kind == "list" and not isinstance(value, list | tuple | set):
        info = info.item or TypeInfo("any", True)
    try:
        encoded = encode_value(info, value)
    except (TypeError, ValueError, AttributeError):
        encoded = encode_any(value)
    return to_utc_ms(encoded) if isinstance(encoded, dt.datetime) else encoded


def _default_name(keys: Keys) -> str:
    """MongoDB's own default: ``field_1``, ``a.b_1_c_-1``, ``body_text``."""
    return "_".join(f"{path}_{direction}" for path, direction in keys)
