"""The public surface (SPEC §1): ``odm.__all__`` is exactly the documented list."""

from __future__ import annotations

import importlib
import pkgutil
import types

import odm

SPEC_NAMES = {
    "Model",
    "Entity",
    "model",
    "prop",
    "Repository",
    "connect",
    "get_json_schema",
    "define_model",
    "model_definition",
    "build_model_from_instance",
    "ODMError",
    "ValidationError",
    "EntityNotFoundError",
    "DuplicateKeyError",
    "InvalidFilterError",
    "ModelDefinitionError",
}
# `migrate` runs the index migration of several entity classes (issue 4)
ADDED_NAMES = {"migrate", "discover_model"}
# implicit transactions and change streams (issue 15)
ADDED_NAMES |= {"transaction", "run_in_transaction", "ChangeEvent"}
ADDED_NAMES |= {"ConflictError"}  # optimistic concurrency (issue 15)
# relations (wave 2)
ADDED_NAMES |= {"belongs_to", "has_many", "has_one", "has_many_through", "references_many"}
# the point type of geo queries (issue 14)
ADDED_NAMES |= {"GeoPoint"}
# operation hooks (issue 15)
ADDED_NAMES |= {"hook", "HookContext"}


def test_all_is_exactly_the_public_list() -> None:
    assert sorted(odm.__all__) == sorted(SPEC_NAMES | ADDED_NAMES)
    assert len(odm.__all__) == len(set(odm.__all__))


def test_every_public_name_is_the_object_its_module_defines() -> None:
    for name in odm.__all__:
        value = getattr(odm, name)
        module_name = value.__module__
        assert module_name.startswith("odm."), (name, module_name)
        assert value.__name__ == name
        assert getattr(importlib.import_module(module_name), name) is value, name
        assert value.__doc__, f"odm.{name} has no docstring"
    namespace: dict[str, object] = {}
    exec("from odm import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(odm.__all__)


def test_no_submodule_is_shadowed_by_a_package_attribute() -> None:
    shadowed = set()
    for info in pkgutil.iter_modules(odm.__path__):
        module = importlib.import_module(f"odm.{info.name}")
        if getattr(odm, info.name, module) is not module:
            shadowed.add(info.name)
    assert shadowed == set()
    assert importlib.import_module("odm.models").Model is odm.Model
    assert odm.model is importlib.import_module("odm.models").model
    assert not isinstance(odm.model, types.ModuleType)


def test_public_names_are_the_model_layer_objects() -> None:
    from odm.errors import ODMError, ValidationError
    from odm.models import Entity, Model, model
    from odm.properties import prop

    assert odm.Model is Model
    assert odm.Entity is Entity
    assert odm.model is model
    assert odm.prop is prop
    assert odm.ODMError is ODMError
    assert odm.ValidationError is ValidationError


def test_public_errors_share_one_root() -> None:
    for name in odm.__all__:
        value = getattr(odm, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, odm.ODMError)
