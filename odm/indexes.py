"""Declared indexes, the existing ones, and the migration that reconciles them.

The pure part compiles a model's declarations into :class:`IndexSpec` values
(:func:`declared_indexes`) and compares them with what the database reports
(:func:`diff`), the way the server compares indexes:

- keys are compared in order (``{a: 1, b: -1}`` is not ``{b: -1, a: 1}``), text keys as
  the set of text fields (the server stores them as ``_fts``/``_ftsx`` plus ``weights``);
- options are compared by their server names, ignoring what the server adds (``v``,
  ``ns``, ``background``, index versions, text defaults) and options set to their
  default (``unique=False``, ``sparse=False``, ``hidden=False``); a declared
  ``collation`` matches when every declared field equals the stored one (the server
  fills in the rest);
- the ``_id_`` index is never compared, reported or dropped.

A declared index is matched to an existing one by name first, then by keys. The same
name or the same keys with other options is a *conflict* (the server would refuse to
create it); the same keys and options under another name count as *existing* (the
server would refuse a second copy too), and the report notes the database's name.

The async part (:func:`migrate_repository`, :func:`automigrate_repository`,
:func:`migrate`) reads the existing indexes, creates the missing ones and returns a
:class:`MigrationReport`; it drops nothing unless asked (``drop_extra``,
``replace_conflicting``).

>>> report = await customers.migrate()
>>> report.created, report.existing, report.extra, report.conflicting
(['email_1', 'city_created'], [], [], [])
>>> (await customers.migrate()).existing
['email_1', 'city_created']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pymongo.errors import PyMongoError

from .codec import encode_any, encode_value
from .errors import ModelDefinitionError, ODMError
from .metadata import ModelMeta, meta_of
from .types import TypeInfo, to_utc_ms

if TYPE_CHECKING:
    from .drivers import CollectionAdapter
    from .repository import Repository

__all__ = [
    "DIRECTIONS",
    "OPTION_NAMES",
    "IndexConflict",
    "IndexMatch",
    "IndexPlan",
    "IndexSpec",
    "MigrationReport",
    "automigrate_repository",
    "declared_indexes",
    "diff",
    "format_reports",
    "merge_declarations",
    "migrate",
    "migrate_collection",
    "migrate_repository",
]

Direction = int | str
Keys = tuple[tuple[str, Direction], ...]

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
_BOOLEAN_OPTIONS = frozenset({"unique", "sparse", "hidden"})
# What the server adds to an index description, or ignores (background since 4.2).
_SERVER_FIELDS = frozenset(
    {"key", "name", "v", "ns", "background", "2dsphereIndexVersion", "textIndexVersion"}
)
# The values the server fills in for a text index when none are given.
_TEXT_DEFAULTS: Mapping[str, Any] = {"default_language": "english", "language_override": "language"}
_TEXT_KEYS = ("_fts", "_ftsx")
_ID_INDEX = "_id_"


# --- the pure part ---------------------------------------------------------------------


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


@dataclass(frozen=True)
class IndexMatch:
    """A declared index found in the database (``found.name`` may differ)."""

    declared: IndexSpec
    found: IndexSpec


@dataclass(frozen=True)
class IndexConflict:
    """A declared index whose name or keys are taken by an index with other options."""

    declared: IndexSpec
    found: IndexSpec
    reason: str


@dataclass
class IndexPlan:
    """What :func:`diff` found: indexes to create, already there, in conflict, extra."""

    create: list[IndexSpec] = field(default_factory=list)
    existing: list[IndexMatch] = field(default_factory=list)
    conflicting: list[IndexConflict] = field(default_factory=list)
    extra: list[IndexSpec] = field(default_factory=list)


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
            twin = next((other for other in by_name.values() if _same(other, spec)), None)
            if twin is not None:
                raise ModelDefinitionError(
                    f"{owner}: {spec.origin or spec.name} and {twin.origin or twin.name} declare "
                    f"the same index ({spec.describe()}) under two names, {twin.name!r} and "
                    f"{spec.name!r}; keep one of them"
                )
            by_name[spec.name] = spec
        elif _difference(known, spec) is not None:
            raise ModelDefinitionError(
                f"{owner}: {known.origin or known.name} ({known.describe()}) and "
                f"{spec.origin or spec.name} ({spec.describe()}) are both named {spec.name!r}; "
                "give one of them another name"
            )
    return list(by_name.values())


def diff(
    declared: Sequence[IndexSpec], existing_information: Mapping[str, Mapping[str, Any]]
) -> IndexPlan:
    """Compare declared indexes with ``index_information()``; see the module docstring."""
    unclaimed = {
        name: IndexSpec.from_information(name, information)
        for name, information in existing_information.items()
        if name != _ID_INDEX
    }
    plan = IndexPlan()
    pending: list[IndexSpec] = []
    for spec in declared:
        found = unclaimed.pop(spec.name, None)
        if found is None:
            pending.append(spec)
            continue
        reason = _difference(spec, found)
        if reason is None:
            plan.existing.append(IndexMatch(spec, found))
        else:
            plan.conflicting.append(IndexConflict(spec, found, reason))
    for spec in pending:
        same_keys = [found for found in unclaimed.values() if _same_keys(spec, found)]
        identical = next((found for found in same_keys if _same(spec, found)), None)
        if identical is not None:
            del unclaimed[identical.name]
            plan.existing.append(IndexMatch(spec, identical))
        elif same_keys:
            found = same_keys[0]
            del unclaimed[found.name]
            reason = _difference(spec, found) or "the same keys"
            plan.conflicting.append(IndexConflict(spec, found, f"{found.name!r}: {reason}"))
        else:
            plan.create.append(spec)
    plan.extra = list(unclaimed.values())
    return plan


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
            yield IndexSpec(
                name=name or _default_name(((field_path, 1),)),
                keys=((field_path, 1),),
                options=options,
                properties=(property_path,),
                origin=origin,
            )
        nested = _embedded_model(prop.type)
        if nested is not None and nested.cls not in visiting:
            yield from _property_indexes(
                root, nested, f"{field_path}.", f"{property_path}.", (*visiting, nested.cls)
            )


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
        if server_name in _BOOLEAN_OPTIONS:
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
    for key in _BOOLEAN_OPTIONS:
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


def _same_keys(declared: IndexSpec, found: IndexSpec) -> bool:
    return _comparable_keys(declared) == _comparable_keys(found)


def _same(declared: IndexSpec, found: IndexSpec) -> bool:
    return _same_keys(declared, found) and _difference(declared, found) is None


def _difference(declared: IndexSpec, found: IndexSpec) -> str | None:
    """Why ``found`` is not the ``declared`` index, or None when it is."""
    if not _same_keys(declared, found):
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


# --- the report --------------------------------------------------------------------------


@dataclass
class MigrationReport:
    """What a migration found and did on one collection.

    ``created``, ``existing`` and ``conflicting`` hold declared index names; ``extra``
    (in the database, not declared) and ``dropped`` hold the database's names. An index
    replaced with ``replace_conflicting=True`` is in ``conflicting``, ``dropped`` and
    ``created``. ``notes`` explains some names: what a conflict is, the database's name
    of an index declared under another one, the keys of an extra index.
    """

    collection: str
    model: str = ""
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when the migration created or dropped an index."""
        return bool(self.created or self.dropped)

    def summary(self) -> str:
        """``2 created, 1 existing, 0 extra, 0 conflicting`` (and dropped when any)."""
        counts = [
            f"{len(self.created)} created",
            f"{len(self.existing)} existing",
            f"{len(self.extra)} extra",
            f"{len(self.conflicting)} conflicting",
        ]
        if self.dropped:
            counts.append(f"{len(self.dropped)} dropped")
        return ", ".join(counts)

    def rows(self) -> list[tuple[str, str, str]]:
        """One ``(index, status, note)`` per index: created, existing, conflicting,
        replaced (a conflict dropped and created again), extra or dropped (an extra index)."""
        rows: list[tuple[str, str, str]] = []
        for name in self.conflicting:
            status = "replaced" if name in self.created else "conflicting"
            rows.append((name, status, self.notes.get(name, "")))
        for name in self.created:
            if name not in self.conflicting:
                rows.append((name, "created", self.notes.get(name, "")))
        rows.extend((name, "existing", self.notes.get(name, "")) for name in self.existing)
        for name in self.extra:
            status = "dropped" if name in self.dropped else "extra"
            rows.append((name, status, self.notes.get(name, "")))
        return sorted(rows, key=lambda row: _STATUS_ORDER.index(row[1]))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return format_reports([self])


_STATUS_ORDER = ("created", "replaced", "conflicting", "existing", "extra", "dropped")


def format_reports(reports: Sequence[MigrationReport]) -> str:
    """The reports as one text table: collection, model, index, status, details."""
    header = ("collection", "model", "index", "status", "details")
    table: list[tuple[str, ...]] = []
    for report in reports:
        rows = report.rows() or [("-", "no indexes", "")]
        table.extend((report.collection, report.model, *row) for row in rows)
    widths = [max(len(row[i]) for row in (header, *table)) for i in range(len(header) - 1)]

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        return "  ".join([*cells, row[-1]]).rstrip()

    rule = "  ".join("-" * width for width in [*widths, len(header[-1])])
    return "\n".join([line(header), rule, *(line(row) for row in table)])


# --- the async part ----------------------------------------------------------------------


async def migrate_collection(
    collection: CollectionAdapter,
    declared: Sequence[IndexSpec],
    *,
    model: str = "",
    drop_extra: bool = False,
    replace_conflicting: bool = False,
) -> MigrationReport:
    """Reconcile one collection with ``declared``; see :func:`migrate_repository`."""
    await collection.create()
    plan = diff(declared, await collection.index_information())
    report = MigrationReport(collection=collection.name, model=model)
    for match in plan.existing:
        report.existing.append(match.declared.name)
        if match.found.name != match.declared.name:
            report.notes[match.declared.name] = f"exists as {match.found.name!r}"
    for conflict in plan.conflicting:
        report.conflicting.append(conflict.declared.name)
        report.notes[conflict.declared.name] = conflict.reason
    for spec in plan.extra:
        report.extra.append(spec.name)
        report.notes[spec.name] = spec.describe()
    to_drop = [spec.name for spec in plan.extra] if drop_extra else []
    to_create = list(plan.create)
    if replace_conflicting:
        to_drop.extend(conflict.found.name for conflict in plan.conflicting)
        to_create.extend(conflict.declared for conflict in plan.conflicting)
    for name in to_drop:
        await _index_call(collection, report, name, "drop", collection.drop_index(name))
        report.dropped.append(name)
    for spec in to_create:
        keys, options = spec.create_arguments()
        await _index_call(
            collection, report, spec.name, "create", collection.create_index(keys, **options)
        )
        report.created.append(spec.name)
        report.notes.setdefault(spec.name, spec.describe())
    for match in plan.existing:
        report.notes.setdefault(match.declared.name, match.declared.describe())
    return report


async def _index_call(
    collection: CollectionAdapter, report: MigrationReport, name: str, verb: str, call: Any
) -> None:
    try:
        await call
    except PyMongoError as error:
        done = f"; done before it: {report.summary()}" if report.changed else ""
        raise ODMError(
            f"cannot {verb} index {name!r} on collection {collection.name!r}"
            f"{f' ({report.model})' if report.model else ''}: {error}{done}"
        ) from error


async def migrate_repository(
    repo: Repository[Any], *, drop_extra: bool = False, replace_conflicting: bool = False
) -> MigrationReport:
    """Create the repository's declared indexes that are missing; report the rest.

    Nothing is dropped unless ``drop_extra`` (indexes not declared) or
    ``replace_conflicting`` (an index with a declared name or keys but other options is
    dropped and created as declared). Running it twice creates nothing the second time.
    A failed create or drop raises ``ODMError`` naming the index and the server's reason.
    """
    return await migrate_collection(
        _collection_of(repo),
        declared_indexes(repo.meta),
        model=repo.meta.name,
        drop_extra=drop_extra,
        replace_conflicting=replace_conflicting,
    )


async def automigrate_repository(repo: Repository[Any]) -> MigrationReport:
    """Drop the collection (all its data), create it again with the declared indexes."""
    collection = _collection_of(repo)
    await collection.drop()
    return await migrate_collection(collection, declared_indexes(repo.meta), model=repo.meta.name)


async def migrate(
    repositories: Iterable[Repository[Any]],
    *,
    drop_extra: bool = False,
    replace_conflicting: bool = False,
    on_report: Callable[[MigrationReport], None] | None = None,
) -> list[MigrationReport]:
    """Migrate several repositories, one collection after the other; one report each.

    Repositories of one collection (entity classes sharing it) are migrated together
    with the union of their declarations, so none sees the others' indexes as extra.
    ``on_report`` is called with each report as soon as it is ready (progress output).

    >>> for report in await odm.migrate([customers, orders]):
    ...     print(report.collection, report.summary())
    """
    groups: list[tuple[CollectionAdapter, list[Repository[Any]]]] = []
    for repo in repositories:
        collection = _collection_of(repo)
        for known, members in groups:
            if known.name == collection.name and _same_database(known, collection):
                members.append(repo)
                break
        else:
            groups.append((collection, [repo]))
    reports: list[MigrationReport] = []
    for collection, members in groups:
        names = ", ".join(dict.fromkeys(member.meta.name for member in members))
        declared = merge_declarations(
            (spec for member in members for spec in declared_indexes(member.meta)),
            owner=f"collection {collection.name!r} ({names})",
        )
        report = await migrate_collection(
            collection,
            declared,
            model=names,
            drop_extra=drop_extra,
            replace_conflicting=replace_conflicting,
        )
        reports.append(report)
        if on_report is not None:
            on_report(report)
    return reports


def _collection_of(repo: Repository[Any]) -> CollectionAdapter:
    return repo.database.collection(repo.meta.collection)


def _same_database(one: CollectionAdapter, other: CollectionAdapter) -> bool:
    first, second = one.database.raw, other.database.raw
    return first is second or bool(first == second)
