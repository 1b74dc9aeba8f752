"""The catalogue interface: what ingest writes and search reads, whatever the database."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from ..model import Finding, Product
from ..query import Query

__all__ = ["Catalog", "ProductRow"]

ProductRow = dict[str, Any]
"""A product as the API shows it: ``lidvid, lid, vid, product_class, title, targets, ...``."""


class Catalog(ABC):
    """Records of products. Writes happen inside ``batch()``: all of a batch is stored, or none of it."""

    @abstractmethod
    def batch(self, sources: list[str]) -> AbstractContextManager[int]:
        """Open one write transaction for an ingest batch; yields the batch id."""

    @abstractmethod
    def finish_batch(self, batch_id: int, counts: dict[str, int]) -> None:
        """Record a batch's summary counts (inside its transaction)."""

    @abstractmethod
    def label_digest(self, lidvid: str) -> str | None:
        """sha256 of the label stored under ``lidvid``, or None when it is not catalogued."""

    @abstractmethod
    def has_lid(self, lid: str) -> bool:
        """Whether any version of ``lid`` is catalogued."""

    @abstractmethod
    def add_product(self, product: Product, label: bytes, label_sha256: str, batch_id: int) -> int:
        """Insert a product with its files, references and members; returns its row id."""

    @abstractmethod
    def add_finding(self, finding: Finding, batch_id: int | None, product_id: int | None = None) -> None:
        """Record a finding, tied to a product when there is one."""

    @abstractmethod
    def resolve(self, ident: str) -> str:
        """A LIDVID for ``ident``: a LIDVID as is, a LID as its latest version (NotFound if unknown)."""

    @abstractmethod
    def get(self, lidvid: str) -> ProductRow:
        """One product with files, references, members, findings and versions (NotFound if unknown)."""

    @abstractmethod
    def versions(self, lid: str) -> list[str]:
        """Every catalogued LIDVID of ``lid``, oldest first."""

    @abstractmethod
    def search(self, query: Query) -> list[ProductRow]:
        """Products matching ``query`` (summary rows), sorted and paged as it says."""

    @abstractmethod
    def count(self, query: Query) -> int:
        """How many products match ``query`` (ignoring limit and offset)."""

    @abstractmethod
    def label(self, lidvid: str) -> bytes:
        """The original label bytes of a product."""

    @abstractmethod
    def blob_digests(self) -> Iterator[str]:
        """Every sha256 that a catalogued file row names."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
