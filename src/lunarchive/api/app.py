"""The FastAPI application: STAC API, PDS-style product routes and downloads over one data directory.

``create_app(data_dir)`` builds it; ``lunarchive serve`` runs it on uvicorn.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .. import __version__
from ..config import resolve_data_dir
from . import archive, downloads, errors, products, stac
from .context import ApiState

__all__ = ["create_app", "create_app_from_env"]

_DESCRIPTION = """Lunar and deep-space archive data served three ways:

* **STAC API 1.0** (core, collections, features, item search with sort and CQL2 filter): `/`, `/search`.
* **PDS Search API** conventions: `/products/{identifier}` and its `latest`, `all`, `members`, `member-of`,
  `label` and `archive` routes, with `q`, `keywords`, `fields`, `start`, `limit`, `sort` and a geometry filter.
* **Downloads** verified by sha256 (`ETag`, `Digest`, `Repr-Digest`, `Range`): `/files/{sha256}`.

Every error is `{"code": ..., "description": ...}`. LIDVIDs contain `:`; send them raw or URL-encoded.
"""


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with FastAPI's 422 replaced by the 400 this API really answers."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorBody"] = errors.ErrorBody.model_json_schema()
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path in doc.get("paths", {}).values():
        for op in path.values():
            responses = op.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", {"description": "Bad request", "content": error_ref})
            responses.setdefault("404", {"description": "Not found", "content": error_ref})
    app.openapi_schema = doc
    return doc


def create_app(data_dir: str | Path | None = None, *, default_body: str = "moon",
               title: str = "lunarchive") -> FastAPI:
    """An app serving ``data_dir`` (default: ``--data-dir`` rules of the CLI); spatial filters without a
    ``body`` parameter refer to ``default_body``."""
    state = ApiState(resolve_data_dir(data_dir), default_body=default_body, title=title)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title=f"{title} API", version=__version__, description=_DESCRIPTION, lifespan=lifespan)
    app.state.lunarchive = state
    errors.install(app)
    app.include_router(stac.router)
    app.include_router(products.router)
    app.include_router(archive.router)
    app.include_router(downloads.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` (several worker processes): data directory from ``$LUNARCHIVE_DATA``,
    default body from ``$LUNARCHIVE_BODY``."""
    return create_app(None, default_body=os.environ.get("LUNARCHIVE_BODY", "moon"))
