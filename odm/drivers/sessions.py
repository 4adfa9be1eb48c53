"""The session a call runs in when it passes none: the transaction its task is in.

``odm.transaction(db)`` binds its session to the database's client in a context variable;
every command the adapter sends on that client with no ``session=`` runs in it (see
``ServerCollection._session_option``). Keyed by client: a repository on another client
never sees it. Explicit ``session=`` always wins.

A context variable is per task: a concurrent task that was not started inside the block
does not see it. A task started inside the block (``asyncio.create_task``,
``asyncio.gather`` of coroutines) inherits a copy of the context and so joins the
transaction; once the block has ended, such a task's calls on that client raise
``ODMError`` instead of running outside the transaction (their writes were meant for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from odm.errors import ODMError

from .interface import Session

__all__ = ["bind_session", "bound_session"]


@dataclass(eq=False)
class _Binding:
    client: Any
    session: Session
    open: bool = True


#: the transactions the current task is in, one per client (usually none or one)
_BOUND: ContextVar[tuple[_Binding, ...]] = ContextVar("odm_bound_sessions", default=())


def bound_session(client: Any) -> Session | None:
    """The session of the transaction the current task is in on ``client``, or None."""
    for binding in _BOUND.get():
        if binding.client is client:
            if not binding.open:
                raise ODMError(
                    "this task was started inside a transaction that has ended: its calls "
                    "would run outside it; await the task inside the transaction block, or "
                    "pass session= (or start the task outside the block)"
                )
            return binding.session
    return None


@contextmanager
def bind_session(client: Any, session: Session) -> Iterator[None]:
    """Within the block, calls on ``client`` with no ``session=`` use ``session``."""
    binding = _Binding(client, session)
    token = _BOUND.set((*_BOUND.get(), binding))
    try:
        yield
    finally:
        binding.open = False
        _BOUND.reset(token)
