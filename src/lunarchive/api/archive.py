"""``/products/{identifier}/archive``: a product, collection or whole bundle as one streamed zip.

Entries keep the PDS directory layout (paths relative to the requested product's label directory, or
rebuilt from LIDs for products ingested from elsewhere), end with ``checksum_manifest.txt`` (MD5, as PDS
checksum manifests are) and ``SHA256SUMS``. ``zipfile`` writes into a sink that the generator drains after
every chunk, so the server holds one chunk of file data at a time, whatever the archive's size; data files
are stored (not deflated), ZIP64 is used where sizes need it. The catalogue is read a page of members at a
time; only the zip's central directory (about 100 bytes per entry) grows with the number of files.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from .. import search
from ..config import open_archive
from ..search import Viewer
from .context import CtxDep
from .downloads import CHUNK, content_disposition
from .errors import ERROR_RESPONSES

__all__ = ["router", "zip_stream"]

router = APIRouter(tags=["Downloads"], responses=ERROR_RESPONSES)
_TEXT = (".xml", ".lbl", ".lblx", ".txt", ".csv", ".tab", ".asc", ".fmt")
_DEFLATE_MAX = 16 << 20


class _Sink:
    """A write-only file object collecting what zipfile writes until the generator drains it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


@dataclass
class _Entry:
    path: str
    sha256: str | None
    size: int
    md5: str | None = None
    data: bytes | None = None


def _clean(name: str) -> str | None:
    """A file name from a label as a safe relative zip path (None if it would leave its directory)."""
    p = posixpath.normpath(name.replace("\\", "/"))
    if p.startswith(("/", "../")) or p in ("..", "."):
        return None
    return p


def _rel_dir(lay: dict[str, Any], root: dict[str, Any], base: str | None) -> str:
    """The product's directory inside the archive: from the files on disk when they sit under the requested
    product's directory, else from the LID (a collection is a directory, a product sits in its collection's)."""
    src = lay.get("source_path")
    here = os.path.dirname(src) if src else None
    if base and here and (here == base or here.startswith(base + os.sep)):
        rel = os.path.relpath(here, base)
        return "" if rel == "." else rel.replace(os.sep, "/")
    if lay["lid"] == root["lid"] or not lay["lid"].startswith(root["lid"] + ":"):
        return "" if lay["lid"] == root["lid"] else "other"
    parts = lay["lid"][len(root["lid"]) + 1:].split(":")
    return parts[0] if lay["product_class"] == "Product_Collection" else "/".join(parts[:-1])


def _entries(archive: Any, lidvid: str, viewer: Viewer) -> Iterator[_Entry]:
    root: dict[str, Any] | None = None
    base: str | None = None
    for lay in search.walk(archive.catalog, lidvid, viewer):
        if root is None:
            root = lay
            base = os.path.dirname(lay["source_path"]) if lay.get("source_path") else None
        rel = _rel_dir(lay, root, base)
        seen: set[str] = set()
        label_name = _clean(lay.get("label_name") or "") or lay["lid"].rpartition(":")[2] + ".xml"
        data = search.get_label(archive.catalog, lay["lidvid"], viewer)
        seen.add(label_name)
        yield _Entry(posixpath.join(rel, label_name), None, len(data), data=data)
        for f in lay["files"]:
            name = _clean(f["name"])
            if name is None or name in seen or f["status"] != "ok" or not f["sha256"]:
                continue
            seen.add(name)
            yield _Entry(posixpath.join(rel, name), f["sha256"], int(f["size"] or 0), md5=f["md5"])


def _top(archive: Any, lidvid: str) -> str:
    lay = archive.catalog.layout(lidvid)
    if lay.get("source_path"):
        return FsPath(lay["source_path"]).parent.name or "archive"
    return lay["lid"].rpartition(":")[2] or "archive"


def zip_stream(root: FsPath, lidvid: str, viewer: Viewer, top: str) -> Iterator[bytes]:
    """The zip of ``lidvid`` and everything under it, as chunks (opens its own catalogue connection)."""
    archive = open_archive(root, fsync=False)
    sink = _Sink()
    stamp = time.gmtime()[:6]
    try:
        with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
            for e in _entries(archive, lidvid, viewer):
                yield from _write(zf, sink, archive, f"{top}/{e.path}", e, stamp)
            for name, algo in (("checksum_manifest.txt", "md5"), ("SHA256SUMS", "sha256")):
                yield from _manifest(zf, sink, archive, lidvid, viewer, f"{top}/{name}", algo, stamp)
        yield sink.drain()
    finally:
        archive.close()


def _manifest(zf: zipfile.ZipFile, sink: _Sink, archive: Any, lidvid: str, viewer: Viewer, path: str, algo: str,
              stamp: tuple[int, ...]) -> Iterator[bytes]:
    """A checksum manifest entry (``<hex digest>  <path>`` per file), written while the tree is walked again."""
    info = zipfile.ZipInfo(path, date_time=stamp)  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zf.open(info, "w", force_zip64=True) as out:
        for i, e in enumerate(_entries(archive, lidvid, viewer)):
            digest = e.md5 if algo == "md5" else e.sha256
            if digest is None:
                digest = hashlib.new(algo, e.data or b"", usedforsecurity=False).hexdigest()
            out.write(f"{digest}  {e.path}\n".encode())
            if i % 1000 == 999:
                yield sink.drain()
    yield sink.drain()


def _write(zf: zipfile.ZipFile, sink: _Sink, archive: Any, path: str, e: _Entry,
           stamp: tuple[int, ...]) -> Iterator[bytes]:
    info = zipfile.ZipInfo(path, date_time=stamp)  # type: ignore[arg-type]
    info.file_size = e.size
    small_text = path.lower().endswith(_TEXT) and e.size <= _DEFLATE_MAX
    info.compress_type = zipfile.ZIP_DEFLATED if small_text else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    with zf.open(info, "w", force_zip64=e.size >= (1 << 31)) as out:
        if e.data is not None:
            out.write(e.data)
        else:
            assert e.sha256 is not None
            with archive.store.open(e.sha256) as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    yield sink.drain()
    yield sink.drain()


@router.get("/products/{identifier}/archive", summary="A product, collection or bundle as a streamed zip",
            response_class=StreamingResponse, responses={200: {"description": "A zip archive", "content": {
                "application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
def product_archive(identifier: Annotated[str, Path(description="A LIDVID or a LID (latest version).")],
                    ctx: CtxDep) -> StreamingResponse:
    lidvid = search.resolve(ctx.archive.catalog, identifier, ctx.viewer)
    top = _top(ctx.archive, lidvid)
    lid, _, vid = lidvid.partition("::")
    # named by what was asked for (the zip's folder keeps the delivered directory's name)
    headers = {"content-disposition": content_disposition(f"{lid.rpartition(':')[2] or top}-{vid}.zip")}
    return StreamingResponse(zip_stream(ctx.state.root, lidvid, ctx.viewer, top), media_type="application/zip",
                             headers=headers)
