"""Change streams on every driver: one function opens the server cursor.

pymongo's ``await collection.watch(...)`` runs the aggregation at once; motor's
``collection.watch(...)`` is lazy and opens at its first ``next`` or on entering it. Both
are entered here, so every change after :func:`open_change_stream` returns is seen. The
stream it returns has the drivers' shared API: ``await next()``, ``await try_next()``,
``resume_token``, ``await close()``. mongomock-motor has no change streams (its
``Database.supports_change_streams`` is False).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .common import resolve
from .interface import Collection

__all__ = ["open_change_stream"]


async def open_change_stream(
    collection: Collection,
    pipeline: Sequence[Mapping[str, Any]],
    *,
    full_document: str | None,
    resume_after: Mapping[str, Any] | None = None,
) -> Any:
    """The open change stream of ``collection`` (the driver's, never in a session)."""
    stream = await resolve(
        collection.raw.watch(list(pipeline), full_document=full_document, resume_after=resume_after)
    )
    return await stream.__aenter__()
