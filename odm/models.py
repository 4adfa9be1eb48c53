"""``Model``, ``Entity`` and ``@model``: declaring models and what an instance does.

A class is compiled (:func:`odm.metadata.compile_model`) when it is created, when
``@model(...)`` gives it settings and when pydantic resolves its forward references;
each time its index declarations and default scope are checked here, against the
finished class, so a bad declaration fails where it is written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, Unpack

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python

from .errors import InvalidFilterError, ModelDefinitionError
from .filters import translate_filter
from .indexes import declared_indexes
from .metadata import ModelMeta, ModelSettingsDict, compile_model, meta_of
from .relations.checks import check_relations
from .scoping import scope_values
from .updates import validate_input

__all__ = ["Entity", "Model", "model"]

M = TypeVar("M", bound="type[Model]")
Mode = Literal["create", "replace", "update"]


def _compile(
    cls: type[Model], declared: Mapping[str, Any], *, namespace: Mapping[str, Any] | None = None
) -> ModelMeta:
    """Compile ``cls`` and check what needs the finished class: its indexes and scope."""
    meta = compile_model(cls, is_entity=cls.__odm_entity__, declared=declared)
    if meta.complete:
        if namespace is not None:
            _complete_embedded(meta, namespace)
        if cls.__pydantic_complete__:
            # odm's rewritten fields replace the ones pydantic built the schema with
            cls.model_rebuild(force=True, _parent_namespace_depth=0, _types_namespace=namespace)
        if meta.is_entity:
            declared_indexes(meta)
        _check_scope(meta)
    check_relations(cls)
    return meta


def _complete_embedded(meta: ModelMeta, namespace: Mapping[str, Any]) -> None:
    """Resolve the embedded models still waiting for names in the namespace that just
    completed ``meta``'s class, so its schema embeds their odm fields, not pydantic's."""
    for prop in meta.properties.values():
        for nested in prop.type.models:
            if issubclass(nested, Model) and not nested.odm_meta().complete:
                nested.model_rebuild(
                    raise_errors=False, _parent_namespace_depth=0, _types_namespace=namespace
                )


def _check_scope(meta: ModelMeta) -> None:
    scope = meta.settings.scope
    if scope:
        _check_one_scope(meta, scope, "the default scope")
    scopes = meta.settings.scopes
    if not isinstance(scopes, Mapping):
        raise ModelDefinitionError(
            f"{meta.name}: scopes must be a mapping of names to filters, not {scopes!r}"
        )
    for name, named in scopes.items():
        if not isinstance(name, str) or not name:
            raise ModelDefinitionError(f"{meta.name}: a scope name is a non-empty string")
        if not isinstance(named, Mapping):
            raise ModelDefinitionError(
                f"{meta.name}: scope {name!r} must be a filter (a mapping), not {named!r}"
            )
        _check_one_scope(meta, named, f"the scope {name!r}")


def _check_one_scope(meta: ModelMeta, scope: Mapping[str, Any], what: str) -> None:
    """A scope translates as a filter and its equalities are storable values."""
    try:
        translate_filter(meta, None, scope=scope)
        scope_values(meta, scope)
    except InvalidFilterError as error:
        raise ModelDefinitionError(f"{meta.name}: {what} is not valid: {error}") from error


class Model(BaseModel):
    """Base class of value objects (no identity) and embedded documents.

    A pydantic v2 model: type annotations give the types; ``prop()`` gives odm options.
    Two instances are equal when they are of the same class with equal property values.
    """

    model_config = ConfigDict(
        defer_build=True,
        validate_by_name=True,
        validate_by_alias=True,
        arbitrary_types_allowed=True,
        ser_json_bytes="base64",
        val_json_bytes="base64",
    )

    if TYPE_CHECKING:
        __odm__: ClassVar[ModelMeta]

    __odm_entity__: ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _compile(cls, {})

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Mapping[str, Any] | None = None,
    ) -> bool | None:
        """pydantic's ``model_rebuild``, names resolved in the caller's namespace as
        pydantic does; when it resolves annotations that were forward references at class
        creation, odm compiles the class again with the real types."""
        if _types_namespace is None and _parent_namespace_depth > 0:
            # pydantic's depth counts from its own frame; this override adds one
            _types_namespace = dict(sys._getframe(_parent_namespace_depth - 1).f_locals)
        before = meta_of(cls)
        result = super().model_rebuild(
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=0,
            _types_namespace=_types_namespace,
        )
        if before is not None and not before.complete:  # again, with what pydantic resolved
            _compile(cls, before.declared, namespace=_types_namespace)
        return result

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            meta = meta_of(type(self))
            if meta is not None and name in meta.relations:
                return None  # a navigational property that was not included
            return super().__getattr__(name)

    @classmethod
    def odm_meta(cls) -> ModelMeta:
        """The compiled metadata of the class (settings, properties, field map)."""
        meta = meta_of(cls)
        if meta is None:
            raise TypeError(f"{cls.__name__} is not an odm model class")
        return meta

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """pydantic's ``repr()``/``str()`` fields without the hidden properties (a repr
        ends up in logs); embedded models leave out their own."""
        meta = meta_of(type(self))
        hidden = meta.hidden if meta is not None else frozenset()
        relations = meta.relations if meta is not None else {}
        for name, value in super().__repr_args__():
            if name not in hidden and not (value is None and name in relations):
                yield name, value

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # only reached when normal lookup fails: a property a projection left out
            # (``fields``) is unset on the instance and reads as None (``odm.partial``)
            if name in type(self).__pydantic_fields__:
                return None
            return super().__getattr__(name)

    def to_dict(self, *, include_hidden: bool = False) -> dict[str, Any]:
        """The instance as a dict of Python values by property name.

        Hidden properties are left out unless ``include_hidden=True``.
        """
        if not include_hidden:
            return self.model_dump()
        return {name: _plain(value) for name, value in _items(self)}

    def to_json(self, *, include_hidden: bool = False) -> dict[str, Any]:
        """The instance as a JSON-ready dict (LoopBack's ``toJSON``): hidden properties
        left out unless asked for, datetimes as ISO strings, ids and UUIDs as strings.
        Properties a projection (``fields``) left out are omitted, as in ``model_dump()``."""
        if not include_hidden:
            return self.model_dump(mode="json")
        return {name: _json(value) for name, value in _items(self)}

    @classmethod
    def validate_input(
        cls,
        data: Mapping[str, Any] | BaseModel,
        *,
        mode: Mode = "create",
        scope: Mapping[str, Any] | Literal["model"] | None = "model",
    ) -> dict[str, Any]:
        """Check data as a repository write would and return it cleaned.

        ``mode`` is ``create``, ``replace`` or ``update`` (partial). Raises
        ``odm.ValidationError`` listing every problem found. ``scope`` is the default
        scope whose where-equalities the data must respect (the model's own by default,
        None for none).

        >>> Customer.validate_input({"email": "a@b.co", "name": "Al"})["token"]
        '2b0c...'
        """
        return validate_input(cls, data, mode=mode, scope=scope)


def _items(instance: BaseModel) -> list[tuple[str, Any]]:
    values = instance.__dict__  # a property a projection left out is not there
    items = [(name, values[name]) for name in type(instance).model_fields if name in values]
    relations = type(instance).odm_meta().relations if isinstance(instance, Model) else {}
    if relations:  # a navigational property not included is omitted
        items = [
            (name, value) for name, value in items if value is not None or name not in relations
        ]
    if instance.__pydantic_extra__:
        items.extend(instance.__pydantic_extra__.items())
    return items


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict(include_hidden=True)
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple | set):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_json(include_hidden=True)
    if isinstance(value, list | tuple | set):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    # bytes as base64, as the models' own JSON output (``ser_json_bytes``)
    return to_jsonable_python(value, fallback=str, bytes_mode="base64")


class Entity(Model):
    """Base class of persisted documents: exactly one id property.

    With no declared id, an entity gets ``id: str = prop(id=True, generated=True)``: an
    ObjectId in the database, its hex string in Python, None until stored. Two entities
    are equal when they are of the same class and have the same non-None id.
    """

    __odm_entity__: ClassVar[bool] = True

    if TYPE_CHECKING:
        # the implicit generated id: optional when an instance is built
        id: Any = None

    def get_id(self) -> Any:
        """The value of the id property."""
        meta = type(self).odm_meta()
        assert meta.id is not None
        return getattr(self, meta.id.name)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented if not isinstance(other, BaseModel) else False
        mine = self.get_id()
        if mine is None:
            return self is other
        assert isinstance(other, Entity)
        return bool(mine == other.get_id())

    def __hash__(self) -> int:
        mine = self.get_id()
        return object.__hash__(self) if mine is None else hash((type(self), mine))


def model(**settings: Unpack[ModelSettingsDict]) -> Callable[[M], M]:
    """Record model settings on a class; a subclass inherits them (its own setting
    replaces the parent's, except ``hidden_properties`` and ``indexes``, which are
    unions). Unknown settings raise ``ModelDefinitionError``.

    >>> @model(collection="customers", strict="filter", hidden_properties=["password"])
    ... class Customer(Entity):
    ...     email: str
    ...     password: str | None = None
    """

    def decorate(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError("@model() decorates subclasses of odm.Model or odm.Entity")
        if settings:  # the class was compiled with its inherited settings when created
            _compile(cls, dict(settings))
        return cls

    return decorate
