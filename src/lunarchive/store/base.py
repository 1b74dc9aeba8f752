"""The blob store interface: data files kept once, addressed by their sha256."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidIdentifier

__all__ = ["BlobInfo", "Store", "check_sha256"]

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lower-case hex digits, else raise InvalidIdentifier."""
    if not _SHA_RE.match(sha256):
        raise InvalidIdentifier(f"not a sha256 digest: {sha256!r}")
    return sha256


@dataclass(frozen=True)
class BlobInfo:
    """What the store measured while writing a blob."""

    sha256: str
    md5: str
    size: int
    existed: bool = False


class Store(ABC):
    """A content-addressed store. Writes are atomic: a blob is either whole or absent."""

    @abstractmethod
    def put_file(self, path: Path) -> BlobInfo:
        """Copy a file in, hashing it on the way; return its digests."""

    @abstractmethod
    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store bytes; return their digests."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """Whether a blob is present."""

    @abstractmethod
    def size(self, sha256: str) -> int:
        """Size in bytes of a stored blob (NotFound if absent)."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading (NotFound if absent)."""

    @abstractmethod
    def iter_digests(self) -> Iterator[str]:
        """Every stored blob's sha256."""
