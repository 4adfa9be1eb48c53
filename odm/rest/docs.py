"""``serve_docs``: Swagger UI served by the app itself, so the docs page works offline.

FastAPI's own ``/docs`` page loads Swagger UI's script and stylesheet from a CDN. The
assets here come from the ``fastapi-offline`` package (installed with the ``rest``
extra) and are served by the app, under ``/docs/assets``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["ASSETS", "serve_docs"]

#: The files of the page, by the name they are served under.
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


def _assets_folder() -> Path:
    try:
        folder = resources.files("fastapi_offline") / "static"
    except ModuleNotFoundError:
        raise ImportError(
            "serve_docs needs the fastapi-offline package: pip install 'loopback-odm[rest]'"
        ) from None
    return Path(str(folder))


def serve_docs(app: FastAPI, *, docs_url: str = "/docs", title: str | None = None) -> None:
    """Serve Swagger UI at ``docs_url`` with its script, stylesheet and icon from the app
    (``{docs_url}/assets/...``), for an app made with ``FastAPI(docs_url=None,
    redoc_url=None)``::

        app = FastAPI(docs_url=None, redoc_url=None)
        app.include_router(crud_router(Customer, repository=customers, prefix="/customers"))
        serve_docs(app)
    """
    if app.docs_url is not None:
        raise ValueError(
            f"the app already serves FastAPI's own docs page at {app.docs_url!r} (its "
            "assets come from a CDN); make it with FastAPI(docs_url=None, redoc_url=None)"
        )
    if app.openapi_url is None:
        raise ValueError("the app serves no OpenAPI document (openapi_url=None)")
    folder = _assets_folder()
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise ImportError(f"fastapi-offline is installed without {', '.join(missing)}")
    page_title = title or f"{app.title} - Swagger UI"
    openapi_url = app.openapi_url
    redirect_url = f"{docs_url}/oauth2-redirect"
    assets_url = f"{docs_url}/assets"

    async def docs_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=page_title,
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets_url}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(docs_url, docs_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(redirect_url, oauth2_redirect, methods=["GET"], include_in_schema=False)
    for name, media_type in ASSETS.items():
        app.add_api_route(
            f"{assets_url}/{name}",
            _asset(folder / name, media_type),
            methods=["GET"],
            include_in_schema=False,
        )


def _asset(path: Path, media_type: str) -> Callable[[], Awaitable[FileResponse]]:
    async def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type)

    return asset
