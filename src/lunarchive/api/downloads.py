"""Verifiable downloads: a stored file by its sha256 or by its product and name, streamed from the store.

``ETag`` is the sha256, ``Digest``/``Repr-Digest`` carry it too (base64, RFC 3230 / RFC 9530), ``Range``
gives 206 (one range; several are answered with the whole file, as RFC 9110 allows) or 416, and
``Content-Disposition`` keeps the original name in UTF-8. The body is read in 1 MiB chunks off the event
loop (the next chunk is read while the previous one is sent), so a transfer of any size holds two chunks.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
from collections.abc import Callable
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Path, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import search
from .context import Ctx, CtxDep
from .errors import ERROR_RESPONSES, ErrorBody, PreconditionFailed, RangeNotSatisfiable
from .stac_model import media_type as guess_type

__all__ = ["CHUNK", "BlobResponse", "content_disposition", "is_lidvid", "parse_range", "router"]

CHUNK = 1 << 20
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.I)

router = APIRouter(tags=["Downloads"], responses=ERROR_RESPONSES)
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file", "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}},
    206: {"description": "The requested byte range", "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}},
    304: {"description": "Not modified (If-None-Match matched the ETag)"},
    416: {"model": ErrorBody, "description": "The Range names no byte of the file"},
}


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """``attachment; filename="af.fits"; filename*=UTF-8''%C3%A4f.fits`` (RFC 6266 with an ASCII fallback)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end inclusive) of a single ``bytes=`` range; None to send the whole file (no header,
    another unit, or several ranges); RangeNotSatisfiable when it is malformed or names no byte."""
    if header is None or not header.strip().lower().startswith("bytes") or "," in header:
        return None
    m = _RANGE.match(header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        raise RangeNotSatisfiable(f"malformed Range header: {header!r}", size)
    first, last = m.group(1), m.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"range {header!r} names no byte of a {size}-byte file", size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        raise RangeNotSatisfiable(f"range {header!r} names no byte of a {size}-byte file", size)
    return start, end


class BlobResponse(Response):
    """A stored blob (or a byte range of it), read in chunks in a worker thread."""

    def __init__(self, opener: Callable[[], BinaryIO], *, size: int, sha256: str, name: str,
                 request_headers: Any, media_type: str | None = None, immutable: bool = True) -> None:
        etag = f'"{sha256}"'
        digest = base64.b64encode(bytes.fromhex(sha256)).decode()
        headers = {
            "etag": etag, "accept-ranges": "bytes", "content-disposition": content_disposition(name),
            "digest": f"sha-256={digest}", "repr-digest": f"sha-256=:{digest}:",
            "cache-control": "public, max-age=31536000, immutable" if immutable else "no-cache",
        }
        self.opener = opener
        self.start, self.length = 0, size
        status = 200
        if_match = request_headers.get("if-match")
        if if_match is not None and not _matches(if_match, etag, strong=True):
            raise PreconditionFailed(f"If-Match names another version of {name!r} (its ETag is {etag})")
        if _matches(request_headers.get("if-none-match"), etag):
            status, self.length = 304, 0
        else:
            if_range = request_headers.get("if-range")
            rng = parse_range(request_headers.get("range"), size) if if_range in (None, etag) else None
            if rng is not None:
                status = 206
                self.start, self.length = rng[0], rng[1] - rng[0] + 1
                headers["content-range"] = f"bytes {rng[0]}-{rng[1]}/{size}"
        super().__init__(status_code=status, headers=headers, media_type=media_type or guess_type(name))
        if status != 304:
            self.headers["content-length"] = str(self.length)
        else:
            del self.headers["content-type"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if scope.get("method") == "HEAD" or self.status_code == 304 or self.length == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        fh = await anyio.to_thread.run_sync(self.opener)
        loop = asyncio.get_running_loop()
        ahead: asyncio.Future[bytes] | None = None
        try:
            if self.start:
                await anyio.to_thread.run_sync(fh.seek, self.start)
            _read_ahead(fh, self.start, self.length)
            remaining = self.length
            ahead = loop.run_in_executor(None, fh.read, min(CHUNK, remaining))
            while remaining > 0:
                chunk = await ahead
                if not chunk:
                    raise OSError("blob shorter than catalogued")  # the connection is cut: no silent truncation
                remaining -= len(chunk)
                if remaining > 0:  # read the next chunk while this one is sent
                    ahead = loop.run_in_executor(None, fh.read, min(CHUNK, remaining))
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        finally:
            if ahead is not None and not ahead.done():  # the client left mid-transfer: let the read finish
                await asyncio.wait([ahead])
            if ahead is not None and ahead.done() and not ahead.cancelled():
                ahead.exception()  # retrieved, so asyncio does not report it
            await anyio.to_thread.run_sync(fh.close)


def _read_ahead(fh: BinaryIO, start: int, length: int) -> None:
    """Ask the OS to start reading the whole range now (a file on disk; anything else is left alone)."""
    try:
        fd = fh.fileno()
        os.posix_fadvise(fd, start, length, os.POSIX_FADV_SEQUENTIAL)
        os.posix_fadvise(fd, start, length, os.POSIX_FADV_WILLNEED)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass


def _matches(header: str | None, etag: str, *, strong: bool = False) -> bool:
    """Whether an ``If-None-Match`` (weak comparison) or, with ``strong``, an ``If-Match`` header (strong
    comparison, RFC 9110 13.1.1: a weak tag ``W/"..."`` matches nothing) names ``etag`` or ``*``."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    if not strong:
        tags = [t.removeprefix("W/") for t in tags]
    return "*" in tags or etag in tags


def blob_response(ctx: Ctx, request: Request, info: dict[str, Any], *, immutable: bool = True) -> BlobResponse:
    sha, state, viewer = info["sha256"], ctx.state, ctx.viewer
    size = ctx.archive.store.size(sha)

    def opener() -> BinaryIO:  # runs while the response is sent, after the route returned its archive
        with state.borrow() as archive:
            return search.open_file(archive.catalog, archive.store, sha, viewer)

    return BlobResponse(opener, size=size, sha256=sha, name=info["name"], request_headers=request.headers,
                        immutable=immutable)


Sha = Annotated[str, Path(description="The file's sha256 (64 lower-case hex digits).")]


@router.head("/files/{sha256}", summary="Headers of a stored file", responses=_FILE_RESPONSES,
             response_class=Response, operation_id="head_file_by_digest")
@router.get("/files/{sha256}", summary="A stored file by its sha256", responses=_FILE_RESPONSES,
            response_class=Response, operation_id="file_by_digest")
def file_by_digest(sha256: Sha, request: Request, ctx: CtxDep) -> Response:
    info = search.file_info(ctx.archive.catalog, sha256, ctx.viewer)
    return blob_response(ctx, request, info)


@router.head("/products/{identifier}/files/{name}", summary="Headers of a product's file",
             responses=_FILE_RESPONSES, response_class=Response, operation_id="head_product_file")
@router.get("/products/{identifier}/files/{name}", summary="A file of a product by its name in the label",
            responses=_FILE_RESPONSES, response_class=Response, operation_id="product_file")
def product_file(identifier: Annotated[str, Path(description="A LIDVID or a LID (latest version).")],
                 name: Annotated[str, Path(description="The file name as the label gives it.")],
                 request: Request, ctx: CtxDep) -> Response:
    info = search.product_file(ctx.archive.catalog, identifier, name, ctx.viewer)
    return blob_response(ctx, request, info, immutable=is_lidvid(identifier))


def is_lidvid(identifier: str) -> bool:
    """Whether a URL names one version (its response never changes, so it may be cached as immutable); a LID
    names the latest version, which a new one replaces."""
    return "::" in identifier
