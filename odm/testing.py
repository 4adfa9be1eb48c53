"""A pytest plugin: a fresh database per test on the backend you choose.

Enable it in a ``conftest.py``::

    pytest_plugins = ["odm.testing"]

    async def test_create(odm_db):
        customers = Repository(Customer, odm_db)
        ...

``ODM_TEST_BACKEND`` picks the backend: ``mock`` (the default, mongomock-motor in
memory), ``embedded`` (pymongo on a local SecantusDB server started once per test
session), ``motor`` (motor on that server) or a ``mongodb://`` URI (pymongo).

A test that cannot run on some backend says why::

    @pytest.mark.backend_limit(mock="mongomock-motor has no transactions")
    async def test_rollback(odm_db): ...

It is skipped on that backend with that reason. The keys are the backend labels
``mock``, ``pymongo``, ``motor`` and ``uri``; ``embedded`` covers ``pymongo`` and
``motor``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from odm._distribution import install_hint
from odm.drivers import adapt, close_client, open_client, open_mock_client
from odm.embedded import EmbeddedServer
from odm.errors import ODMError

try:
    import pytest_asyncio
except ImportError as exc:  # pragma: no cover - depends on the user's environment
    raise ImportError(f"odm.testing needs pytest-asyncio: {install_hint('testing')}") from exc

__all__ = [
    "BACKENDS",
    "backend_database",
    "backend_label",
    "backend_needs_server",
    "backend_params",
    "odm_backend",
    "odm_backend_server",
    "odm_db",
    "odm_embedded_server",
]

BACKEND_ENV = "ODM_TEST_BACKEND"
DEFAULT_BACKEND = "mock"
# backend name -> label used in test ids, in the backend_limit marker and in reports
BACKENDS: dict[str, str] = {"mock": "mock", "embedded": "pymongo", "motor": "motor"}
_URI_SCHEMES = ("mongodb://", "mongodb+srv://")


def backend_label(backend: str) -> str:
    """``mock``, ``pymongo`` (embedded), ``motor`` or ``uri``; raises on an unknown backend."""
    if backend in BACKENDS:
        return BACKENDS[backend]
    if backend.startswith(_URI_SCHEMES):
        return "uri"
    raise ODMError(
        f"unknown odm test backend {backend!r}: use mock, embedded, motor or a mongodb:// URI "
        f"(set {BACKEND_ENV})"
    )


def backend_needs_server(backend: str) -> bool:
    """Whether ``backend`` runs on the embedded server."""
    return backend in ("embedded", "motor")


def backend_params(*, uri: str | None = None) -> list[Any]:
    """``pytest.param`` for every backend (ids ``mock``, ``pymongo``, ``motor``, ``uri``).

    ``uri`` (e.g. ``os.environ.get("MONGODB_URI")``) adds a real server. Use it to run
    each test on every backend::

        @pytest.fixture(params=odm.testing.backend_params())
        def odm_backend(request): return request.param
    """
    params = [pytest.param(backend, id=label) for backend, label in BACKENDS.items()]
    if uri:
        params.append(pytest.param(uri, id="uri"))
    return params


def new_database_name() -> str:
    return f"odm_test_{uuid.uuid4().hex[:16]}"


@asynccontextmanager
async def backend_database(
    backend: str, server: EmbeddedServer | None = None, *, name: str | None = None
) -> AsyncIterator[Any]:
    """Yield a fresh driver database on ``backend``; drop it and close the client after.

    ``server`` is the running embedded server for the ``embedded`` and ``motor`` backends.
    """
    label = backend_label(backend)
    if backend_needs_server(backend):
        if server is None or not server.running:
            raise ODMError(f"the {backend!r} test backend needs a running EmbeddedServer")
        client = open_client(server.uri, driver="motor" if label == "motor" else "pymongo")
    elif label == "uri":
        client = open_client(backend)
    else:
        client = open_mock_client()
    try:
        db = client[name or new_database_name()]
        try:
            yield db
        finally:
            await adapt(db).drop()
    finally:
        await close_client(client)


def _limit_reason(item: pytest.Item, label: str) -> str | None:
    marker = item.get_closest_marker("backend_limit")
    if marker is None:
        return None
    limits: dict[str, Any] = dict(marker.kwargs)
    reason = limits.get(label)
    if reason is None and label in ("pymongo", "motor"):
        reason = limits.get("embedded")
    return None if reason is None else str(reason)


def _item_backend(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "odm_backend" in callspec.params:
        return str(callspec.params["odm_backend"])
    if "odm_backend" in getattr(item, "fixturenames", ()):
        return os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backend_limit(**reasons): skip the test on the named backends "
        "(mock, pymongo, motor, uri, embedded), with the reason given",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A skip marker (not pytest.skip() from a hook) so the report points at the test itself.
    for item in items:
        backend = _item_backend(item)
        if backend is None:
            continue
        label = backend_label(backend)
        reason = _limit_reason(item, label)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"{label}: {reason}"))


@pytest.fixture
def odm_backend() -> str:
    """The backend of ``odm_db``: ``ODM_TEST_BACKEND``, default ``mock``."""
    return os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND


@pytest.fixture(scope="session")
def odm_embedded_server() -> Iterator[EmbeddedServer]:
    """One throwaway embedded server (a temporary directory) for the whole session, started
    the first time a test needs it."""
    server = EmbeddedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def odm_backend_server(odm_backend: str, request: pytest.FixtureRequest) -> EmbeddedServer | None:
    """The embedded server when ``odm_backend`` needs one (then started lazily), else None."""
    if not backend_needs_server(odm_backend):
        return None
    server: EmbeddedServer = request.getfixturevalue("odm_embedded_server")
    return server


@pytest_asyncio.fixture
async def odm_db(odm_backend: str, odm_backend_server: EmbeddedServer | None) -> AsyncIterator[Any]:
    """A fresh driver database (``odm_test_<hex>``) on ``odm_backend``, dropped afterwards."""
    async with backend_database(odm_backend, odm_backend_server) as db:
        yield db
