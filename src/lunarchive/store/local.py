"""LocalStore: blobs as files under ``<data-dir>/blobs/ab/cd/<sha256>``, written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import NotFound, StoreError
from .base import BlobInfo, Store, check_sha256

__all__ = ["LocalStore"]

CHUNK = 1 << 20


class LocalStore(Store):
    """Content-addressed files in one directory tree; temp file + fsync + rename for every write."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._tmp = self.root / "tmp"
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create blob store at {self.root}: {exc.strerror}") from exc

    def blob_path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_file(self, path: Path) -> BlobInfo:
        try:
            with open(path, "rb") as src:
                return self._write(iter(lambda: src.read(CHUNK), b""))
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self._write(iter([data]))

    def _write(self, chunks: Iterator[bytes]) -> BlobInfo:
        sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                if self.fsync:
                    out.flush()
                    os.fsync(out.fileno())
            digest = sha.hexdigest()
            final = self.blob_path(digest)
            if final.exists():
                os.unlink(tmp_name)
                return BlobInfo(digest, md5.hexdigest(), size, existed=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
            return BlobInfo(digest, md5.hexdigest(), size)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def exists(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self.blob_path(sha256).stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(f"no blob {sha256}") from exc

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.blob_path(sha256), "rb")
        except FileNotFoundError as exc:
            raise NotFound(f"no blob {sha256}") from exc

    def iter_digests(self) -> Iterator[str]:
        for p in self.root.glob("??/??/*"):
            if p.is_file():
                yield p.name
