"""The catalogue interface: what ingest writes and search reads, whatever the database."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ..errors import InvalidQuery
from ..model import Finding, Product
from ..query import Query
from .rows import ProductRows, product_rows

__all__ = [
    "FILTER_FIELDS", "PAGE_SORTS", "Catalog", "CataloguedFile", "CommittedLookup", "Compare", "Filter", "Logical",
    "Page", "ProductRow",
]

ProductRow = dict[str, Any]
"""A product as the API shows it: ``lidvid, lid, vid, product_class, title, targets, ...``."""


class CataloguedFile(NamedTuple):
    """A file as catalogued with a product."""

    name: str
    status: str
    """``ok`` when it was stored; ``missing`` or ``unreadable`` when it could not be."""
    size: int | None
    sha256: str | None
    mtime_ns: int | None
    """Its modification time when it was measured (None in catalogues older than migration 0006)."""


class CommittedLookup(Protocol):
    """Reads of the committed catalogue (not the open batch) that ingest workers make."""

    def lookup(self, lid: str, vid: str) -> tuple[str | None, bool]:
        """(sha256 of the label catalogued under ``lid::vid`` or None, whether any version of ``lid`` is)."""

    def catalogued_files(self, lidvid: str) -> list[CataloguedFile]:
        """Each file catalogued under ``lidvid``."""

    def close(self) -> None:
        """Release the connection (it reopens on next use)."""


class Catalog(ABC):
    """Records of products. Writes happen inside ``batch()``: all of a batch is stored, or none of it."""

    @abstractmethod
    def batch(self, sources: list[str]) -> AbstractContextManager[int]:
        """Open one write transaction for an ingest batch; yields the batch id."""

    @abstractmethod
    def finish_batch(self, batch_id: int, counts: dict[str, int]) -> None:
        """Record a batch's summary counts (inside its transaction)."""

    @abstractmethod
    def add_rows(self, items: Sequence[ProductRows], batch_id: int) -> list[int]:
        """Insert products (with files, references, members, text and footprint rows); returns their ids."""

    @abstractmethod
    def add_findings(self, findings: Sequence[tuple[Finding, int | None]], batch_id: int | None) -> None:
        """Record findings, each tied to a product id when there is one."""

    @abstractmethod
    def complete_files(self, lidvid: str, files: Sequence[tuple[str, str, str, int, int | None]],
                       findings: Sequence[Finding], batch_id: int) -> list[Finding]:
        """Files of a catalogued product that were missing and are now stored, as ``(name, sha256, md5, size,
        mtime_ns)``:
        their rows say so, the findings that they were missing are dropped, and those of ``findings`` (what an
        ingest of the whole product finds now) that the product does not hold yet are recorded (inside the
        batch's transaction) and returned."""

    @abstractmethod
    def add_product_findings(self, lidvid: str, findings: Sequence[Finding], batch_id: int) -> list[Finding]:
        """Record, against the catalogued product ``lidvid``, those of ``findings`` it does not hold yet (a
        re-delivery says again what the last one said only once); returns them."""

    @abstractmethod
    def digest_lookup(self) -> CommittedLookup:
        """A picklable view of the committed catalogue, usable from other processes while a batch is being
        written (ingest workers use it to skip unchanged labels and to tell new versions)."""

    def add_product(self, product: Product, label: bytes, label_sha256: str, batch_id: int) -> int:
        """Insert one product with its files, references and members; returns its row id."""
        return self.add_rows([product_rows(product, label, label_sha256)], batch_id)[0]

    def add_finding(self, finding: Finding, batch_id: int | None, product_id: int | None = None) -> None:
        """Record a finding, tied to a product when there is one."""
        self.add_findings([(finding, product_id)], batch_id)

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
    def files_under(self, root: str) -> set[str]:
        """Absolute paths of the files that products whose labels lie under the directory ``root`` name."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    # -- browsing: the reads behind the HTTP API (appended; every backend implements them) -----------
    @abstractmethod
    def search_page(self, query: Query, page: Page) -> list[ProductRow]:
        """Summary rows matching ``query`` and ``page.where``, in ``page.sort`` order, after ``page.after``.

        Rows also carry ``start_utc``/``stop_utc`` (normalised UTC) and ``_key``, the sort key to hand back as
        ``Page.after`` to continue after that row (keyset paging): rows catalogued meanwhile never shift a page.
        ``Query.limit``/``offset`` are ignored.
        """

    @abstractmethod
    def count_where(self, query: Query, where: Filter | None) -> int:
        """How many products match ``query`` and ``where``."""

    @abstractmethod
    def details(self, lidvids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per catalogued LIDVID: ``files``, ``footprint`` (GeoJSON ``geometry``, ``body``, ``crs``, or None),
        ``errors``/``warnings`` (finding counts), ``collection`` (parent collection id, see
        ``parent_collection``), ``label`` (name, sha256, size) and ``ingested_at``."""

    @abstractmethod
    def members_page(self, lidvid: str, start: int, limit: int, after: int | None = None) -> list[dict[str, Any]]:
        """Member entries of a collection inventory / bundle in label order: ``ref``, ``status`` (P/S),
        ``kind``, ``member_type``, ``lidvid`` (the catalogued product it names, None when absent) and
        ``_pos``; ``after`` (a ``_pos``) continues by keyset instead of skipping ``start`` entries."""

    @abstractmethod
    def count_members(self, lidvid: str) -> int:
        """How many member entries a collection or bundle lists."""

    @abstractmethod
    def containers(self, ident: str) -> list[str]:
        """LIDVIDs of the collections and bundles whose member lists name ``ident`` (a LIDVID, or any version
        of a LID), oldest first."""

    @abstractmethod
    def collection_groups(self) -> list[dict[str, Any]]:
        """Every group of products that the API shows as a collection: ``id`` (a LID), ``kind`` (``bundle``,
        ``collection``, ``derived`` for a LID prefix whose collection is not catalogued, ``kind`` for a
        non-PDS4 input kind) and, for catalogued ones, ``lidvid``, ``title``, ``start``, ``stop``, ``bbox``."""

    @abstractmethod
    def file_by_digest(self, sha256: str) -> dict[str, Any]:
        """A catalogued file with this content: ``name``, ``size``, ``md5``, ``sha256``, ``lidvid`` (NotFound)."""

    @abstractmethod
    def layout(self, lidvid: str) -> dict[str, Any]:
        """Where a product lives on disk: ``lidvid``, ``lid``, ``product_class``, ``label_format``,
        ``source_path``, ``label_name``, ``label_sha256`` and its ``files`` (NotFound if unknown)."""


# ------------------------------------------------------------------------------------ browse vocabulary
FILTER_FIELDS: dict[str, str] = {
    "lidvid": "text", "lid": "text", "vid": "version", "title": "text", "product_class": "text",
    "processing_level": "text", "label_format": "text", "start": "time", "stop": "time",
    "target": "set", "investigation": "set", "instrument": "set", "valid": "bool", "collection": "set",
}
"""Fields a property filter may name, and their kind (``set``: the product has several values)."""
FILTER_OPS = ("=", "<>", "<", "<=", ">", ">=", "like", "ilike", "in", "isnull")
PAGE_SORTS = ("ingested", "lidvid", "start", "stop", "title")


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``like`` takes SQL wildcards (``%``, ``_``) and is case-sensitive (CQL2), ``ilike``
    the same ignoring case (the PDS API's ``like``), ``in`` a tuple, ``isnull`` no value.
    On a ``set`` field ``=`` means "one of its values is"."""

    field: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        kind = FILTER_FIELDS.get(self.field)
        if kind is None:
            raise InvalidQuery(f"cannot filter on {self.field!r}; use one of {', '.join(sorted(FILTER_FIELDS))}")
        if self.op not in FILTER_OPS:
            raise InvalidQuery(f"unknown comparison {self.op!r}")
        ordered = self.op in ("<", "<=", ">", ">=")
        if (kind in ("set", "bool") and ordered) or (kind in ("time", "version", "bool") and "like" in self.op):
            raise InvalidQuery(f"{self.field}: comparison {self.op!r} is not supported")
        if self.op == "in" and not isinstance(self.value, tuple | list):
            raise InvalidQuery(f"{self.field}: 'in' needs a list of values")
        if kind == "bool" and self.op not in ("=", "<>", "isnull"):
            raise InvalidQuery(f"{self.field}: only = and <> apply to a boolean")
        if self.op not in ("in", "isnull") and not isinstance(self.value, str | int | float | bool):
            raise InvalidQuery(f"{self.field}: expected a string, number or boolean, got {self.value!r}")


@dataclass(frozen=True)
class Logical:
    """``and`` / ``or`` over two or more filters, or ``not`` over one."""

    op: str
    args: tuple[Compare | Logical, ...]

    def __post_init__(self) -> None:
        if self.op not in ("and", "or", "not") or not self.args or (self.op == "not" and len(self.args) != 1):
            raise InvalidQuery(f"malformed logical filter {self.op!r} over {len(self.args)} operands")


Filter = Compare | Logical


@dataclass(frozen=True)
class Page:
    """A keyset page: sort key (one of PAGE_SORTS; ties broken by catalogue order), the key of the last row
    already seen, an optional property filter, and how many rows (``offset`` only for the PDS API's
    ``start``; the STAC API never uses it)."""

    sort: str = "ingested"
    descending: bool = False
    after: tuple[Any, ...] | None = None
    limit: int = 10
    offset: int = 0
    where: Filter | None = None

    def __post_init__(self) -> None:
        if self.sort not in PAGE_SORTS:
            raise InvalidQuery(f"cannot sort by {self.sort!r}; use one of {', '.join(PAGE_SORTS)}")
        if self.limit < 0 or self.offset < 0:
            raise InvalidQuery("limit and start must not be negative")
