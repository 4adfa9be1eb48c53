"""The operation pipeline's hook points of a repository (a base of ``Repository``):
``access``, ``before save`` -> validate again what a hook changed -> ``persist``, ``after
save``, ``before delete``, ``after delete``. Each one is one attribute read while the
repository has no hook (``odm.operations``); the ``loaded`` points and ``_saving_all``
are ``Repository``'s own (they decode, and run the others)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar, cast

from .drivers import Document
from .hooks import replan
from .metadata import ModelMeta
from .models import Entity
from .operations import HookPoints, Operation
from .updates import UpdatePlan

__all__ = ["PipelinePoints"]

E = TypeVar("E", bound=Entity)
Validated = tuple[E, Document]
_NO_TARGET: Any = object()


class _Steps(Protocol[E]):
    """The repository's steps the points run (``Repository``)."""

    meta: ModelMeta

    def _validate_create(self, data: Mapping[str, Any] | E) -> Validated[E]: ...
    def _validate_replace(self, data: Mapping[str, Any] | E, *, target_id: Any) -> Validated[E]: ...
    def _update_plan(self, data: Mapping[str, Any], **target: Any) -> UpdatePlan: ...
    def _upsert_document(self, operation: Operation, plan: UpdatePlan) -> Document: ...


class PipelinePoints(Generic[E]):
    """The hook points of :class:`~odm.Repository` (its ``_hooks``, ``odm.hooks``)."""

    _hooks: HookPoints

    def _steps(self) -> _Steps[E]:
        return cast(_Steps[E], self)

    async def _access(self, operation: Operation) -> None:
        if self._hooks.active:
            await self._hooks.access(operation)

    async def _saving(
        self, operation: Operation, validated: Validated[E], *, target_id: Any = _NO_TARGET
    ) -> Validated[E]:
        """before save -> (validate again what a hook changed: a hook cannot store what a
        caller could not) -> persist: the entity and the document to send (validation
        encoded it once, checking its size)."""
        hooks = self._hooks
        if not hooks.active:
            return validated
        steps = self._steps()
        operation.instance = validated[0]
        if not await hooks.before_save(operation):  # no hook ran: nothing changed
            entity, doc = validated
        elif target_id is _NO_TARGET:
            entity, doc = steps._validate_create(operation.instance)
        else:
            entity, doc = steps._validate_replace(operation.instance, target_id=target_id)
        operation.instance = entity
        await hooks.persist(operation, doc)
        return entity, doc

    async def _saving_changes(
        self, operation: Operation, plan: UpdatePlan, *, upsert: bool = False
    ) -> Document:
        """before save (``data`` + ``where``; what a hook changed is validated again, into
        ``plan``) -> the update document -> persist. An upsert's document also carries what
        its insert would store, validated as a create (``$setOnInsert``)."""
        hooks, steps = self._hooks, self._steps()
        if hooks.active and await hooks.before_save(operation):
            target = {} if operation.id is None else {"target_id": operation.id}
            replan(plan, steps._update_plan(operation.data or {}, **target))
        update = steps._upsert_document(operation, plan) if upsert else plan.document(steps.meta)
        if hooks.active:
            await hooks.persist(operation, update)
        return update

    async def _saved(self, operation: Operation, *, is_new_instance: bool | None = None) -> None:
        if self._hooks.active:
            operation.is_new_instance = is_new_instance
            await self._hooks.after_save(operation)

    async def _saved_all(self, operation: Operation, entities: list[E]) -> None:
        if self._hooks.active:
            for entity in entities:
                await self._saved(operation.item(entity), is_new_instance=True)

    async def _deleting(self, operation: Operation) -> None:
        if self._hooks.active:
            await self._hooks.before_delete(operation)

    async def _deleted(self, operation: Operation) -> None:
        if self._hooks.active:
            await self._hooks.after_delete(operation)
