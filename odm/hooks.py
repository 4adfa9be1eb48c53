"""LoopBack's operation hooks: ``repo.observe(name, fn)`` and ``@odm.hook(name)``.

The names are LoopBack's: ``access``, ``loaded``, ``before save``, ``persist``,
``after save``, ``before delete``, ``after delete``. A hook is ``fn(ctx)`` (sync or async)
receiving an :class:`~odm.HookContext`; one that raises aborts the operation, and a hook
that runs before the driver call (``access``, ``before save``, ``persist``, ``before
delete``) aborts it with nothing written.

A repository's hooks are its model class's (``@odm.hook`` methods, inherited by
subclasses) followed by the ones observed on it, in registration order. Clones made by
``unscoped()`` and ``scoped()`` share their repository's registry: a hook observed on
either runs for both. ``repo.share_hooks(other)`` makes another repository of the same
class (a relation's repository, a tenant's) share ``other``'s registry.

The registry (:class:`HookRegistry`) is the repository's hook points (``odm.operations``):
while it holds no hook its ``active`` is False and the repository skips every point.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import fields
from typing import Any, Literal, get_args
from weakref import WeakKeyDictionary

from pydantic import BaseModel

from .drivers import Document
from .errors import InvalidFilterError, ODMError
from .operations import HookContext, HookPoints
from .transactions import current_session
from .updates import UpdatePlan

__all__ = ["HOOK_NAMES", "HookFunction", "HookName", "HookRegistry", "hook", "replan"]

HookName = Literal[
    "access", "loaded", "before save", "persist", "after save", "before delete", "after delete"
]
HOOK_NAMES: tuple[HookName, ...] = get_args(HookName)
#: a hook: ``fn(ctx)``, returning None or an awaitable (an ``async def``)
HookFunction = Callable[[HookContext], Awaitable[None] | None]
#: methods whose ``access`` query is their filter argument; the others take a where
#: clause (or an id), which their ``access`` hooks see as ``query = {"where": ...}``
_FILTER_METHODS = frozenset(
    {"find", "find_one", "find_by_id", "find_by_ids", "iterate", "aggregate"}
)
_MARK = "__odm_hook__"
#: entity class -> its ``@odm.hook`` functions (weak: classes made at run time can go)
_CLASS_HOOKS: WeakKeyDictionary[type[Any], dict[str, list[HookFunction]]] = WeakKeyDictionary()
_LIBRARY_BASES = frozenset(BaseModel.__mro__)


def _checked_name(name: str) -> str:
    if name not in HOOK_NAMES:
        known = ", ".join(repr(n) for n in HOOK_NAMES)
        raise ODMError(f"{name!r} is not an operation hook (the hooks: {known})")
    return name


def hook(name: HookName) -> Callable[[Callable[..., Any]], Any]:
    """Mark a function of a model class as its operation hook ``name``::

        @model(collection="customers")
        class Customer(Entity):
            email: str

            @odm.hook("before save")
            def normalise(ctx: odm.HookContext) -> None:
                if ctx.instance is not None:
                    ctx.instance.email = ctx.instance.email.lower()

    The function receives the context only (it becomes a ``staticmethod``); stacked on a
    ``@classmethod`` it receives the repository's entity class first. It may be ``async``.
    Subclasses inherit the hooks; a subclass attribute of the same name replaces one.
    """
    _checked_name(name)

    def mark(function: Callable[..., Any]) -> Any:
        descriptor = function if isinstance(function, staticmethod | classmethod) else None
        target = descriptor.__func__ if descriptor is not None else function
        if not callable(target):
            raise TypeError(f"@odm.hook({name!r}) decorates a function, not {function!r}")
        setattr(target, _MARK, name)
        return descriptor if descriptor is not None else staticmethod(target)

    return mark


def class_hooks(entity_class: type[Any]) -> dict[str, list[HookFunction]]:
    """The ``@odm.hook`` functions of ``entity_class`` and its bases, by hook name (base
    classes' first, each class's in definition order; an attribute a subclass redefines
    counts once, as the subclass has it). Read once per class, at its first repository."""
    cached = _CLASS_HOOKS.get(entity_class)
    if cached is None:
        cached = _CLASS_HOOKS[entity_class] = _collect(entity_class)
    return cached


def _collect(entity_class: type[Any]) -> dict[str, list[HookFunction]]:
    found: dict[str, list[HookFunction]] = {name: [] for name in HOOK_NAMES}
    attributes: dict[str, Any] = {}
    for klass in reversed(entity_class.__mro__):
        if klass in _LIBRARY_BASES:
            continue
        for attribute, value in vars(klass).items():
            if isinstance(value, staticmethod | classmethod) or attribute in attributes:
                attributes[attribute] = value
    for attribute, value in attributes.items():
        name = getattr(getattr(value, "__func__", None), _MARK, None)
        if name is not None:
            found[name].append(getattr(entity_class, attribute))
    return found


class HookRegistry(HookPoints):
    """The operation hooks of one repository (and of the clones sharing them)."""

    __slots__ = ("_hooks", "_shared", "active")

    def __init__(self, entity_class: type[Any]) -> None:
        self._hooks = class_hooks(entity_class)
        self._shared = True  # the class's lists, copied at the first observe
        self.active = any(self._hooks.values())

    def observe(self, name: str, fn: HookFunction) -> None:
        if not callable(fn):
            raise TypeError(f"observe({name!r}, fn): fn is a function of the context")
        _checked_name(name)
        if self._shared:
            self._hooks = {hook: list(functions) for hook, functions in self._hooks.items()}
            self._shared = False
        self._hooks[name].append(fn)
        self.active = True

    async def run(self, name: str, context: HookContext) -> None:
        if context.session is None:  # the implicit one of ``odm.transaction``, if any
            context.session = current_session(context.repository.database)
        for fn in self._hooks[name]:
            result = fn(context)
            if inspect.isawaitable(result):
                await result

    async def access(self, operation: HookContext) -> None:
        if not self._hooks["access"]:
            return
        if operation.name in _FILTER_METHODS:
            if operation.query is None or isinstance(operation.query, Mapping):
                operation.query = dict(operation.query or {})  # the caller's stays as it was
            await self.run("access", operation)
            return
        operation.query = {} if operation.where is None else {"where": operation.where}
        await self.run("access", operation)
        query = operation.query
        if not isinstance(query, Mapping):
            raise InvalidFilterError("", f"a filter is a mapping, not {type(query).__name__}")
        operation.where, operation.query = query.get("where"), None

    async def before_save(self, operation: HookContext) -> bool:
        if not self._hooks["before save"]:
            return False
        if operation.instance is None and isinstance(operation.data, Mapping):
            operation.data = dict(operation.data)  # the caller's stays as it was
        await self.run("before save", operation)
        return True

    async def persist(self, operation: HookContext, document: Document) -> None:
        await self.run("persist", operation)

    async def after_save(self, operation: HookContext) -> None:
        await self.run("after save", operation)

    async def before_delete(self, operation: HookContext) -> None:
        await self.run("before delete", operation)

    async def after_delete(self, operation: HookContext) -> None:
        await self.run("after delete", operation)

    async def loaded(self, operation: HookContext, document: Document) -> None:
        await self.run("loaded", operation)


def replan(plan: UpdatePlan, fresh: UpdatePlan) -> None:
    """Make ``plan`` the plan of the data a ``before save`` hook left (in place: the
    caller's guards then follow the hook's data)."""
    for field in fields(plan):
        setattr(plan, field.name, getattr(fresh, field.name))
