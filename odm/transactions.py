"""Implicit transactions: ``odm.transaction(db)`` and ``odm.run_in_transaction(db, fn)``.

Inside either, every repository on the same client runs in the transaction's session
without a ``session=`` argument (the session is bound to the client in a context
variable, ``odm.drivers.sessions``); an explicit ``session=`` still wins; a repository
on another client is not affected. A nested ``transaction()`` (or ``run_in_transaction``)
on the same client joins the outer one: no new session, and the commit happens when the
outermost block ends.

``run_in_transaction`` follows the MongoDB drivers' convenient transaction API: the whole
transaction is run again when an error carries the ``TransientTransactionError`` label,
the commit alone is tried again when it carries ``UnknownTransactionCommitResult``, until
``max_attempts`` or 120 seconds; the last error is raised. The session is always ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from pymongo.errors import PyMongoError

from .drivers import Database, DriverDatabase, Session, adapt
from .drivers.common import ServerDatabase, resolve
from .drivers.sessions import bind_session, bound_session
from .errors import ODMError

__all__ = ["current_session", "run_in_transaction", "transaction"]

T = TypeVar("T")

#: the drivers' limit on retrying one convenient transaction (not configurable there either)
RETRY_TIME_LIMIT_S = 120.0
TRANSIENT = "TransientTransactionError"
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"
#: MaxTimeMSExpired: a commit that timed out is not retried (the drivers' rule)
_MAX_TIME_EXPIRED = 50
_BACKOFF_INITIAL_S = 0.005
_BACKOFF_MAX_S = 0.5


def transaction(db: DriverDatabase | Database) -> AbstractAsyncContextManager[Session]:
    """``async with odm.transaction(db) as session:`` one transaction on ``db``'s client.

    Every repository on the same client joins it with no ``session=``; it commits when
    the block ends normally and aborts when it raises. Inside another transaction on the
    same client it joins that one (the same session; the outer block commits). However
    the commit ends (even with an unknown result), the session is ended, so no
    transaction stays open on the server. On mongomock-motor (no transactions) it raises
    ``ODMError``.
    """
    database = adapt(db)
    if not database.supports_transactions:
        return database.transaction()  # the adapter's refusal, raised here as it always was
    return _transaction(database)


def current_session(db: DriverDatabase | Database) -> Session | None:
    """The session of the transaction the current task is in on ``db``'s client, or None
    (for calls that bypass odm, such as the raw driver's ``repo.collection``)."""
    return bound_session(adapt(db).raw.client)


@asynccontextmanager
async def _transaction(database: Database) -> AsyncIterator[Session]:
    client = database.raw.client
    outer = bound_session(client)
    if outer is not None:
        yield outer
        return
    async with database.transaction() as session:
        with bind_session(client, session):
            yield session


async def run_in_transaction(
    db: DriverDatabase | Database,
    fn: Callable[[Session], Awaitable[T]],
    *,
    max_attempts: int = 5,
) -> T:
    """``await fn(session)`` in a transaction, retried as the MongoDB drivers specify.

    The whole transaction runs again (``fn`` included) when an error carries the
    ``TransientTransactionError`` label; the commit alone is sent again when its error
    carries ``UnknownTransactionCommitResult`` (the server applies it at most once).
    ``fn`` runs at most ``max_attempts`` times and each commit is tried at most
    ``max_attempts`` times, all within 120 seconds; then the last error is raised.
    Inside, every repository on ``db``'s client joins the transaction without
    ``session=``. Inside another transaction on that client, ``fn`` joins it and runs
    once (the outer transaction decides). Returns what ``fn`` returns.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts!r}")
    database = adapt(db)
    if not isinstance(database, ServerDatabase) or not database.supports_transactions:
        async with database.transaction():  # the adapter's own refusal (mongomock-motor)
            pass
        raise ODMError(f"transactions are not available on {database!r}")
    client = database.raw.client
    outer = bound_session(client)
    if outer is not None:
        return await fn(outer)
    session = await database._start_session()
    async with session:
        try:
            return await _attempts(database, session, fn, max_attempts)
        except BaseException:
            await _end_on_server(database, session)
            raise


async def _attempts(
    database: ServerDatabase,
    session: Any,
    fn: Callable[[Session], Awaitable[T]],
    max_attempts: int,
) -> T:
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        await database._transaction_context(session)  # starts the transaction
        try:
            with bind_session(database.raw.client, session):
                result = await fn(session)
        except BaseException as error:
            if session.in_transaction:
                with contextlib.suppress(PyMongoError):
                    await session.abort_transaction()
            if _retry(error, TRANSIENT, attempt, max_attempts, started):
                await _backoff(attempt)
                continue
            raise
        if not session.in_transaction:  # fn committed or aborted it itself
            return result
        try:
            await _commit(session, max_attempts, started)
        except PyMongoError as error:
            if _retry(error, TRANSIENT, attempt, max_attempts, started):
                await _backoff(attempt)
                continue
            raise
        return result


async def _commit(session: Any, max_attempts: int, started: float) -> None:
    tries = 0
    while True:
        tries += 1
        try:
            await session.commit_transaction()
            return
        except PyMongoError as error:
            timed_out = getattr(error, "code", None) == _MAX_TIME_EXPIRED
            if timed_out or not _retry(error, UNKNOWN_COMMIT, tries, max_attempts, started):
                raise


def _retry(error: BaseException, label: str, attempt: int, limit: int, started: float) -> bool:
    return (
        isinstance(error, PyMongoError)
        and error.has_error_label(label)
        and attempt < limit
        and time.monotonic() - started < RETRY_TIME_LIMIT_S
    )


async def _backoff(attempt: int) -> None:
    # jittered exponential backoff, as the drivers do, so racing transactions spread out
    jitter = random.random()  # timing jitter, not security
    await asyncio.sleep(jitter * min(_BACKOFF_INITIAL_S * 1.5**attempt, _BACKOFF_MAX_S))


async def _end_on_server(database: ServerDatabase, session: Any) -> None:
    """Make the server drop the session's transaction: after a failed or unknown commit
    the driver sends no abort, and ending the session locally keeps it in its pool."""
    with contextlib.suppress(PyMongoError):
        await resolve(database.raw.client.admin.command("endSessions", [session.session_id]))
