"""The operation pipeline's two pieces: the context of one call and its hook points.

Every repository method runs one sequence::

    HookContext(...)  ->  access  ->  validate  ->  before save  ->  encode  ->  persist
                      ->  driver  ->  decode (loaded)  ->  after save / after delete

:class:`HookContext` is what an operation hook sees (LoopBack's context: ``query`` for
``access``, ``instance`` for whole-instance writes and ``loaded``, ``data`` + ``where`` for
partial and bulk writes, ``is_new_instance`` after a save). :class:`HookPoints` is where
hooks fire; ``odm.hooks`` holds the registry behind ``repo.observe`` and ``@odm.hook``.
While a repository has no hook, ``active`` is False, so the repository skips every point
and the cost is one attribute read per point, nothing per document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .drivers import Document, Session

__all__ = ["NO_HOOKS", "HookContext", "HookPoints", "Operation"]


@dataclass(slots=True)
class HookContext:
    """The context an operation hook receives: one repository call on its way through
    the pipeline. Every name is a property name (never a stored field name).

    - ``model``: the entity class; ``operation``: the repository method (``"create"``,
      ``"find"``, ``"update_all"``, ...); ``repository``; ``session`` (the caller's, or
      None); ``options`` (the ``options=`` mapping the caller passed, or None);
      ``id``: the id argument of by-id methods.
    - ``access``: ``query``, the LoopBack filter (``{"where": ...}`` for methods taking a
      where clause). A hook may change it (``ctx.query["where"] = ...``); the result is
      translated and checked like a caller's filter.
    - ``before save`` / ``persist`` / ``after save``: ``instance`` for whole-instance
      writes (create, replace), ``data`` + ``where`` for partial and bulk writes. Before
      save, a hook may change them; they are validated again, like a caller's data.
      After save: ``is_new_instance``.
    - ``before delete`` / ``after delete``: ``where`` (bulk) or ``id`` (by id).
    - ``loaded``: ``instance``, the entity about to be returned (changes apply to it).
    """

    #: the repository method: ``create``, ``find``, ``update_all``, ...
    name: str
    #: the repository running it (typed loosely: hooks get any ``Repository[E]``)
    repository: Any
    session: Session | None = None
    #: by-id methods: the id argument
    id: Any = None
    #: reads: the LoopBack filter (``access`` may change it)
    query: Mapping[str, Any] | None = None
    #: partial and bulk writes, deletes: the where clause
    where: Mapping[str, Any] | None = None
    #: partial and bulk writes: the data
    data: Mapping[str, Any] | None = None
    #: whole-instance writes (create, replace, save): the instance; ``loaded``: the entity
    instance: Any = None
    #: after save: whether the write created the entity
    is_new_instance: bool | None = None
    #: the caller's ``options=`` mapping, passed through to hooks untouched
    options: Mapping[str, Any] | None = None

    @property
    def operation(self) -> str:
        """The repository method running (``"create"``, ``"find"``, ...)."""
        return self.name

    @property
    def model(self) -> Any:
        """The entity class of the repository."""
        return self.repository.entity_class

    def item(self, instance: Any) -> HookContext:
        """The context of one item of a batch (``create_all`` runs the points per item)."""
        return replace(self, instance=instance)


#: the pipeline's name for the context (the repository's code reads as operations)
Operation = HookContext


class HookPoints:
    """The points where operation hooks fire, each a no-op until hooks are registered."""

    __slots__ = ()

    #: False while no hook is registered: the repository then calls no point at all
    active: bool = False

    async def access(self, operation: Operation) -> None:
        """Before a query runs (reads, by-id and bulk writes, deletes)."""

    async def before_save(self, operation: Operation) -> bool:
        """After validation, before encoding: once per entity written, once per bulk write.
        True when hooks ran (what they may have changed is then validated again)."""
        return False

    async def persist(self, operation: Operation, document: Document) -> None:
        """With the document about to be sent to the driver."""

    async def after_save(self, operation: Operation) -> None:
        """After the driver acknowledged the write."""

    async def before_delete(self, operation: Operation) -> None:
        """Before a delete is sent (``where`` says what it deletes)."""

    async def after_delete(self, operation: Operation) -> None:
        """After the driver acknowledged a delete."""

    async def loaded(self, operation: Operation, document: Document) -> None:
        """With each document read: ``operation.instance`` is the entity made from it."""


#: The hook points of a repository with no hooks.
NO_HOOKS = HookPoints()
