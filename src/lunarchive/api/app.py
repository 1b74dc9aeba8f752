"""The FastAPI application: STAC API, PDS-style product routes and downloads over one data directory.

``create_app(data_dir)`` builds it; ``lunarchive serve`` runs it on uvicorn.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


MAX_BODY = 1 << 20
"""Bytes a request body may hold (a POST /search with a large geometry is far less)."""
_JSON_BODY = re.compile(r"^application/([\w.+-]+\+)?json\s*(;.*)?$", re.I)


class _Limits:
    """ASGI middleware for what routes cannot say themselves: HEAD for every GET route (RFC 9110 9.3.2:
    the GET's headers, no body; a streamed archive is stopped at its first chunk), and request
    bodies that are too large (413) or not JSON (415) before anything reads them."""

    def __init__(self, app: ASGIApp, routes: Callable[[], list[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, routes = scope["method"], self.routes()
        if method == "HEAD" and not errors.answers(routes, scope, "HEAD") and errors.answers(routes, scope, "GET"):
            await self._head(scope, receive, send)
            return
        if method in ("POST", "PUT", "PATCH") and errors.answers(routes, scope, method):  # else the router's 404/405
            headers = Headers(scope=scope)
            length = headers.get("content-length")
            if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY):
                await self._refuse(413, f"the request body is larger than {MAX_BODY} bytes", scope, receive, send)
                return
            ctype = headers.get("content-type", "")
            if not _JSON_BODY.match(ctype):
                await self._refuse(415, f"the request body must be JSON (Content-Type application/json), not "
                                   f"{ctype[:60] or 'untyped'}", scope, receive, send)
                return
            receive = _capped(receive)
        await self.app(scope, receive, send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def head_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif message.get("more_body"):  # a streamed body (an archive): stop making it
                raise _HeadDone

        try:
            await self.app({**scope, "method": "GET"}, receive, head_send)
        except _HeadDone:
            pass
        except BaseExceptionGroup as group:  # raised inside a task group (ASGI spec versions before 2.4)
            rest = group.split(_HeadDone)[1]
            if rest is not None:
                raise rest from None

    @staticmethod
    async def _refuse(status: int, description: str, scope: Scope, receive: Receive, send: Send) -> None:
        await errors.http_error_response(status, description)(scope, receive, send)


class _HeadDone(BaseException):
    """Stops the GET run for a HEAD once its headers are sent (a BaseException: no handler catches it)."""


def _capped(receive: Receive) -> Receive:
    """``receive`` that stops a body sent without Content-Length once it passes MAX_BODY (413)."""
    total = 0

    async def capped() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > MAX_BODY:
                raise StarletteHTTPException(413, f"the request body is larger than {MAX_BODY} bytes")
        return message

    return capped


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
    app.add_middleware(_Limits, routes=lambda: app.router.routes)
    return app


def create_app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` (several worker processes): data directory from ``$LUNARCHIVE_DATA``,
    default body from ``$LUNARCHIVE_BODY``."""
    return create_app(None, default_body=os.environ.get("LUNARCHIVE_BODY", "moon"))
