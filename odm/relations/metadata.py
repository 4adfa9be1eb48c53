"""Relations resolved against the finished classes: the target (and through) entity
classes and the key properties, with LoopBack's default key names in snake case.

Checked as soon as every class a relation names exists (``odm.relations.checks``, at
the creation of the last of them): a mis-declaration raises ``ModelDefinitionError``
there. Resolved for use on first use (include, ``related()``), with the classes' final
settings; the result is kept in the class's ``Plans.relations``. A relation whose target
never gets defined raises ``ModelDefinitionError`` at its first use.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from ..errors import ModelDefinitionError
from ..metadata import ModelMeta, meta_of
from .declarations import RelationKind, RelationOptions
from .definitions import MODELS_ATTRIBUTE

__all__ = ["Relation", "Waiting", "relation_of", "relations_of", "resolve_all", "snake_case"]

TO_MANY: frozenset[str] = frozenset(["has_many", "has_many_through", "references_many"])


class Waiting(ModelDefinitionError):
    """A relation names a class that is not defined (yet)."""


@dataclass(frozen=True)
class Relation:
    """One resolved relation of ``source``.

    ``key_from`` is the source's property the relation starts from, ``key_to`` the
    property of the target (of the through entity for ``has_many_through``) that must
    equal it; ``key_through`` is the through entity's property holding the target's id.
    """

    name: str
    kind: RelationKind
    source: ModelMeta
    target: ModelMeta
    key_from: str
    key_to: str
    through: ModelMeta | None = None
    key_through: str | None = None

    @property
    def many(self) -> bool:
        return self.kind in TO_MANY

    def definition(self) -> dict[str, Any]:
        """LoopBack's model-definition entry of the relation."""
        kinds = {
            "has_many": "hasMany",
            "has_one": "hasOne",
            "belongs_to": "belongsTo",
            "has_many_through": "hasMany",
            "references_many": "referencesMany",
        }
        entry: dict[str, Any] = {"type": kinds[self.kind], "model": self.target.name}
        assert self.source.id is not None and self.target.id is not None
        if self.kind in ("belongs_to", "references_many"):
            entry["foreignKey"] = self.key_from
            if self.key_to != self.target.id.name:
                entry["primaryKey"] = self.key_to
        else:
            entry["foreignKey"] = self.key_to
            if self.key_from != self.source.id.name:
                entry["primaryKey"] = self.key_from
        if self.through is not None:
            entry["through"] = self.through.name
            entry["keyThrough"] = self.key_through
        return entry


def snake_case(name: str) -> str:
    """``OrderLine`` -> ``order_line``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and len(name) > 1 else name


def relations_of(meta: ModelMeta) -> dict[str, Relation]:
    """Every relation of the class, resolved (and checked) once."""
    found: dict[str, Relation] | None = meta.plans.relations
    if found is None:
        found = meta.plans.relations = resolve_all(meta, _CHECKED_NAMES.get(meta.cls))
    return found


def resolve_all(meta: ModelMeta, names: Mapping[str, Any] | None = None) -> dict[str, Relation]:
    """Every relation of the class resolved, ``names`` (classes by name) completing the
    namespaces its names are looked up in; :class:`Waiting` while a class is missing.
    The names of a resolution that succeeds are kept for the class's first use (classes
    local to a function are in no namespace by then)."""
    resolved = {
        name: _resolve(meta, name, options, names or {})
        for name, (_, options) in meta.relations.items()
    }
    if names:
        _CHECKED_NAMES[meta.cls] = dict(names)
    return resolved


#: the classes created after a class with relations, when its check succeeded
_CHECKED_NAMES: WeakKeyDictionary[type[Any], dict[str, Any]] = WeakKeyDictionary()


def relation_of(meta: ModelMeta, name: str) -> Relation | None:
    """The resolved relation ``name`` of the class, or None when it has none by that name."""
    if name not in meta.relations:
        return None
    return relations_of(meta)[name]


def _unresolved(annotation: Any) -> bool:
    if isinstance(annotation, str | typing.ForwardRef):
        return True
    return any(_unresolved(arg) for arg in typing.get_args(annotation))


def _annotation(meta: ModelMeta, name: str, names: Mapping[str, Any]) -> Any:
    cls = meta.cls
    annotation = cls.model_fields[name].annotation
    if _unresolved(annotation):
        models = getattr(cls, MODELS_ATTRIBUTE, None)  # a class define_model built
        module = sys.modules.get(cls.__module__)
        defined = vars(module) if module is not None else {}
        # the classes created since complete the module's names, never replace them
        later = {key: value for key, value in names.items() if key not in defined}
        namespace = {**later, **models()} if callable(models) else later or None
        cls.model_rebuild(raise_errors=False, _parent_namespace_depth=0, _types_namespace=namespace)
        annotation = cls.model_fields[name].annotation
    if _unresolved(annotation):
        raise Waiting(
            f"{meta.name}.{name}: the relation's target {annotation!r} is not defined; "
            "define it, then call model_rebuild() on the class"
        )
    return annotation


def _target_class(meta: ModelMeta, name: str, many: bool, names: Mapping[str, Any]) -> type[Any]:
    annotation = _annotation(meta, name, names)
    args: tuple[Any, ...] = (annotation,)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = tuple(a for a in typing.get_args(annotation) if a is not type(None))
    shape = "list[Target] | None" if many else "Target | None"
    if len(args) == 1:
        target = args[0]
        if many and typing.get_origin(target) is list and typing.get_args(target):
            target = typing.get_args(target)[0]
        elif many:
            target = None
        if isinstance(target, type):
            found = meta_of(target)
            if found is not None and found.is_entity:
                return target
            raise ModelDefinitionError(
                f"{meta.name}.{name}: a relation's target must be an odm Entity, "
                f"not {target.__name__}"
            )
    raise ModelDefinitionError(
        f"{meta.name}.{name}: annotate the relation as {shape}, not {annotation!r}"
    )


def _entity_named(meta: ModelMeta, through: str | type[Any], names: Mapping[str, Any]) -> ModelMeta:
    if isinstance(through, type):
        found = meta_of(through)
    else:
        module = sys.modules.get(meta.cls.__module__)
        spaces: list[Mapping[str, Any]] = [vars(module)] if module is not None else []
        parent = getattr(meta.cls, "__pydantic_parent_namespace__", None)
        if isinstance(parent, Mapping):
            spaces.append(parent)
        models = getattr(meta.cls, MODELS_ATTRIBUTE, None)
        if callable(models):
            spaces.append(models())
        spaces.append(names)
        candidate = next((s[through] for s in spaces if through in s), None)
        if candidate is None:
            raise Waiting(
                f"{meta.name}: the through model {through!r} is not defined; define it "
                "(an Entity of the module, or give the class)"
            )
        found = meta_of(candidate) if isinstance(candidate, type) else None
    if found is None or not found.is_entity:
        raise ModelDefinitionError(
            f"{meta.name}: the through model {through!r} is not an odm Entity "
            "(give the class, or the name of an Entity of the module)"
        )
    return found


def _key(owner: ModelMeta, key: str, meta: ModelMeta, name: str, role: str) -> str:
    if key == "id" and owner.id is not None:
        return owner.id.name
    if key not in owner.properties:
        raise ModelDefinitionError(
            f"{meta.name}.{name}: {role} {key!r} is not a property of {owner.name}; "
            f"give {role}= the property that holds the key"
        )
    return key


def _resolve(
    meta: ModelMeta, name: str, options: RelationOptions, names: Mapping[str, Any]
) -> Relation:
    kind = options.kind
    if not meta.is_entity:
        raise ModelDefinitionError(f"{meta.name}.{name}: only an Entity declares relations")
    target = meta_of(_target_class(meta, name, kind in TO_MANY, names))
    assert target is not None and target.id is not None and meta.id is not None
    source_key = snake_case(meta.name) + "_id"
    if kind in ("has_many", "has_one"):
        key_from = _key(meta, options.key_from or meta.id.name, meta, name, "key_from")
        key_to = _key(target, options.key_to or source_key, meta, name, "key_to")
        return Relation(name, kind, meta, target, key_from, key_to)
    if kind == "belongs_to":
        key_from = _key(meta, options.key_from or f"{name}_id", meta, name, "key_from")
        key_to = _key(target, options.key_to or target.id.name, meta, name, "key_to")
        return Relation(name, kind, meta, target, key_from, key_to)
    if kind == "references_many":
        key_from = _key(meta, options.key_from or f"{_singular(name)}_ids", meta, name, "key_from")
        key_to = _key(target, options.key_to or target.id.name, meta, name, "key_to")
        return Relation(name, kind, meta, target, key_from, key_to)
    assert options.through is not None
    through = _entity_named(meta, options.through, names)
    key_from = _key(meta, options.key_from or meta.id.name, meta, name, "key_from")
    key_to = _key(through, options.key_to or source_key, meta, name, "key_to")
    key_through = _key(
        through,
        options.key_through or snake_case(target.name) + "_id",
        meta,
        name,
        "key_through",
    )
    return Relation(name, kind, meta, target, key_from, key_to, through, key_through)


def relation_schemas(
    meta: ModelMeta, ref: Callable[[type[Any]], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The JSON Schema of each navigational property (``ref`` gives a model's ``$ref``)."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, relation in relations_of(meta).items():
        target = ref(relation.target.cls)
        schemas[name] = {"type": "array", "items": target} if relation.many else target
    return schemas
