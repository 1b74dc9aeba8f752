"""LocalStore: blobs as files under ``<data-dir>/blobs/ab/cd/<sha256>``, written atomically."""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import NotFound, StoreError, StoreWriteError
from .base import BlobInfo, Store, check_sha256

__all__ = ["LocalStore"]

CHUNK = 1 << 20
SMALL = 8 << 20
"""Files up to this size are read whole and hashed before anything is written, so content already in the
store costs no write; larger ones are hashed while they are copied to a temp file."""


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
        """Store a file's bytes. StoreError when the file cannot be read; StoreWriteError when the store
        cannot be written (read-only, full), which is the archive's failure, not the delivery's."""
        try:
            with open(path, "rb") as src:
                head = src.read(SMALL + 1)
                if len(head) <= SMALL:
                    return self.put_bytes(head)
                return self._write(itertools.chain([head], _read_on(src)))
        except StoreWriteError:
            raise
        except _ReadFailed as exc:
            raise StoreError(f"cannot read {path}: {exc.error.strerror or exc.error}") from exc.error
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def put_bytes(self, data: bytes) -> BlobInfo:
        digest = hashlib.sha256(data).hexdigest()
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if self.blob_path(digest).is_file():
            return BlobInfo(digest, md5, len(data), existed=True)
        existed = self._place([data], None, digest)
        return BlobInfo(digest, md5, len(data), existed=existed)

    def _write(self, chunks: Iterator[bytes]) -> BlobInfo:
        sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        size = 0

        def measured() -> Iterator[bytes]:
            nonlocal size
            for chunk in chunks:
                sha.update(chunk)
                md5.update(chunk)
                size += len(chunk)
                yield chunk

        existed = self._place(measured(), sha, None)
        return BlobInfo(sha.hexdigest(), md5.hexdigest(), size, existed=existed)

    def _place(self, chunks: Iterable[bytes], sha: Any, digest: str | None) -> bool:
        """Write ``chunks`` to a temp file, then rename it to its blob path (the digest known beforehand, or
        read from ``sha`` once written). Returns True when the blob was already there (temp file dropped)."""
        try:
            return self._place_once(chunks, sha, digest)
        except OSError as exc:
            raise StoreWriteError(f"cannot write the blob store {self.root}: {exc.strerror or exc}") from exc

    def _place_once(self, chunks: Iterable[bytes], sha: Any, digest: str | None) -> bool:
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                if self.fsync:
                    out.flush()
                    os.fsync(out.fileno())
            final = self.blob_path(digest or sha.hexdigest())
            if final.exists():
                os.unlink(tmp_name)
                return True
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
            return False
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


class _ReadFailed(Exception):
    """A read of the source file failed while its bytes were being written to the store."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _read_on(src: BinaryIO) -> Iterator[bytes]:
    """The rest of ``src`` in chunks; a failed read raises _ReadFailed (told apart from a failed write)."""
    while True:
        try:
            chunk = src.read(CHUNK)
        except OSError as exc:
            raise _ReadFailed(exc) from exc
        if not chunk:
            return
        yield chunk
