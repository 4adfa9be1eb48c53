"""LoopBack 4's REST API from an odm model, on FastAPI (the ``rest`` extra).

>>> from odm.rest import crud_router, serve_docs
>>> app = FastAPI(docs_url=None, redoc_url=None)
>>> app.include_router(crud_router(Customer, repository=get_customers, prefix="/customers"))
>>> serve_docs(app)

:mod:`.router` builds the routes, :mod:`.query` decodes ``filter``/``where`` (JSON or
LoopBack's bracket form), :mod:`.errors` maps odm's errors to LoopBack's error bodies,
:mod:`.openapi` turns odm's JSON Schema into the OpenAPI components and :mod:`.docs`
serves Swagger UI from the app.
"""

try:
    import fastapi  # noqa: F401
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installation
    raise ImportError("odm.rest needs FastAPI: pip install 'loopback-odm[rest]'") from error

from .docs import serve_docs
from .router import OPERATIONS, READ_OPERATIONS, crud_router, rest_repository

__all__ = ["OPERATIONS", "READ_OPERATIONS", "crud_router", "rest_repository", "serve_docs"]
