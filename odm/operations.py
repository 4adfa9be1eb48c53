"""The operation pipeline's two pieces: the context of one call and its hook points.

Every repository method runs one sequence::

    Operation(...)  ->  access  ->  validate  ->  before save  ->  encode  ->  persist
                    ->  driver  ->  decode (loaded)  ->  after save / after delete

:class:`Operation` is what an operation hook will see (LoopBack's context: ``query`` for
``access``, ``instance`` for whole-instance writes, ``data`` + ``where`` for partial and
bulk writes, ``is_new_instance`` after a save). :class:`HookPoints` is where hooks will
fire. None exist yet: ``active`` is False, so the repository skips every point and the
cost is one attribute read per point, nothing per document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .drivers import Document, Session

__all__ = ["NO_HOOKS", "HookPoints", "Operation"]


@dataclass(slots=True)
class Operation:
    """One repository call on its way through the pipeline."""

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

    def item(self, instance: Any) -> Operation:
        """The context of one item of a batch (``create_all`` runs the points per item)."""
        return replace(self, instance=instance)


class HookPoints:
    """The points where operation hooks fire, each a no-op until hooks are registered."""

    __slots__ = ()

    #: False while no hook is registered: the repository then calls no point at all
    active: bool = False

    async def access(self, operation: Operation) -> None:
        """Before a query runs (reads, by-id and bulk writes, deletes)."""

    async def before_save(self, operation: Operation) -> None:
        """After validation, before encoding: once per entity written, once per bulk write."""

    async def persist(self, operation: Operation, document: Document) -> None:
        """With the document about to be sent to the driver."""

    async def after_save(self, operation: Operation) -> None:
        """After the driver acknowledged the write."""

    async def before_delete(self, operation: Operation) -> None:
        """Before a delete is sent (``where`` says what it deletes)."""

    async def after_delete(self, operation: Operation) -> None:
        """After the driver acknowledged a delete."""

    async def loaded(self, operation: Operation, document: Document) -> None:
        """With each document read, before it becomes an entity."""


#: The hook points of a repository with no hooks.
NO_HOOKS = HookPoints()
