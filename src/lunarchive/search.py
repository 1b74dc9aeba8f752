"""The one read path: every CLI command, API route and sync job reads the catalogue through here.

Each call takes a ``viewer`` so that access rules (organisations, roles, embargoes) can be applied in this
one place; for now every viewer is anonymous and sees everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from .catalog.base import Catalog, Filter, Page, ProductRow
from .errors import FormatError, NotFound
from .formats import pds4
from .formats.xmlsafe import parse_xml
from .query import Query
from .store.base import Store, check_sha256

__all__ = [
    "ANONYMOUS",
    "Viewer",
    "collection_groups",
    "count",
    "count_where",
    "details",
    "file_info",
    "get_label",
    "file_agreement",
    "get_product",
    "member_of",
    "members",
    "open_file",
    "product_file",
    "resolve",
    "search",
    "search_page",
    "walk",
]


@dataclass(frozen=True)
class Viewer:
    """Who is asking. Later issues add organisation, roles and token scopes."""

    name: str = "anonymous"


ANONYMOUS = Viewer()


def search(catalog: Catalog, query: Query, viewer: Viewer = ANONYMOUS) -> list[ProductRow]:
    """Products matching ``query`` that ``viewer`` may see."""
    return catalog.search(query)


def count(catalog: Catalog, query: Query, viewer: Viewer = ANONYMOUS) -> int:
    """How many products match ``query`` for ``viewer``."""
    return catalog.count(query)


def resolve(catalog: Catalog, ident: str, viewer: Viewer = ANONYMOUS) -> str:
    """The LIDVID an identifier names: itself, or the latest version of a LID (NotFound otherwise)."""
    return catalog.resolve(ident)


def get_product(catalog: Catalog, ident: str, viewer: Viewer = ANONYMOUS) -> ProductRow:
    """One product in full (files, references, members, findings, versions), by LIDVID or LID.

    A PDS4 product's discipline areas are not stored as dicts by ingest: they are built here from its kept
    label (catalogues written before that hold them already).
    """
    lidvid = resolve(catalog, ident, viewer)
    row = catalog.get(lidvid)
    for f in row.get("files", ()):
        f["matches_label"] = file_agreement(f)
    if row.get("label_format") == "pds4" and not row.get("discipline"):
        try:
            row["discipline"] = pds4.discipline_of(parse_xml(catalog.label(lidvid), lidvid))
        except (NotFound, FormatError):
            pass  # no label kept (or no longer readable): nothing to show
    return row


def file_agreement(f: dict[str, Any]) -> dict[str, bool | None]:
    """Whether a file's measured size and md5 equal what its label declares (None: not declared, or the
    file was not measured). A file's ``status`` says only whether it was found and read."""
    size, declared_size = f.get("size"), f.get("declared_size")
    md5, declared_md5 = f.get("md5"), f.get("declared_md5")
    return {
        "size": None if size is None or declared_size is None else size == declared_size,
        "md5": None if not md5 or not declared_md5 else md5.lower() == str(declared_md5).strip().lower(),
    }


def get_label(catalog: Catalog, ident: str, viewer: Viewer = ANONYMOUS) -> bytes:
    """The original label bytes of a product."""
    return catalog.label(resolve(catalog, ident, viewer))


# -- browsing: the reads behind the HTTP API --------------------------------------------------------------
def search_page(catalog: Catalog, query: Query, page: Page, viewer: Viewer = ANONYMOUS) -> list[ProductRow]:
    """One keyset page of products matching ``query`` and ``page.where`` that ``viewer`` may see."""
    return catalog.search_page(query, page)


def count_where(catalog: Catalog, query: Query, where: Filter | None, viewer: Viewer = ANONYMOUS) -> int:
    """How many products match ``query`` and ``where`` for ``viewer``."""
    return catalog.count_where(query, where)


def details(catalog: Catalog, lidvids: Sequence[str], viewer: Viewer = ANONYMOUS) -> dict[str, dict[str, Any]]:
    """Files, footprint, finding counts, parent collection and label of each product (see Catalog.details)."""
    return catalog.details(lidvids)


def members(catalog: Catalog, ident: str, start: int = 0, limit: int = 100,
            viewer: Viewer = ANONYMOUS) -> tuple[str, list[dict[str, Any]], int]:
    """The member entries a collection or bundle lists (Primary and Secondary), with the total count."""
    lidvid = resolve(catalog, ident, viewer)
    return lidvid, catalog.members_page(lidvid, start, limit), catalog.count_members(lidvid)


def member_of(catalog: Catalog, ident: str, viewer: Viewer = ANONYMOUS) -> list[str]:
    """LIDVIDs of the collections and bundles listing a product (NotFound if the product is unknown)."""
    lidvid = resolve(catalog, ident, viewer)
    return catalog.containers(lidvid)


def collection_groups(catalog: Catalog, viewer: Viewer = ANONYMOUS) -> list[dict[str, Any]]:
    """The groups shown as collections: catalogued bundles and collections, LID-prefix groups, input kinds."""
    return catalog.collection_groups()


def file_info(catalog: Catalog, sha256: str, viewer: Viewer = ANONYMOUS) -> dict[str, Any]:
    """A catalogued file with this sha256 (its name, size, md5 and a product naming it)."""
    return catalog.file_by_digest(check_sha256(sha256))


def product_file(catalog: Catalog, ident: str, name: str, viewer: Viewer = ANONYMOUS) -> dict[str, Any]:
    """One stored file of a product by its name in the label (NotFound if absent or not stored)."""
    lay = catalog.layout(resolve(catalog, ident, viewer))
    for f in lay["files"]:
        if f["name"] == name and f["sha256"] and f["status"] == "ok":
            return {**f, "lidvid": lay["lidvid"]}
    raise NotFound(f"{lay['lidvid']} has no stored file {name!r}")


def open_file(catalog: Catalog, store: Store, sha256: str, viewer: Viewer = ANONYMOUS) -> BinaryIO:
    """Open a stored blob for reading, once the catalogue says ``viewer`` may see a product naming it."""
    file_info(catalog, sha256, viewer)
    return store.open(sha256)


def walk(catalog: Catalog, ident: str, viewer: Viewer = ANONYMOUS, page: int = 500) -> Iterator[dict[str, Any]]:
    """The layout (see Catalog.layout) of a product, then of every catalogued member, depth first: a bundle's
    collections and their products. Reads members a page at a time, so memory stays flat whatever the size."""
    root = resolve(catalog, ident, viewer)
    stack: list[tuple[str, int | None]] = [(root, None)]
    expanded: set[str] = set()
    while stack:
        lidvid, after = stack.pop()
        if after is None:
            lay = catalog.layout(lidvid)
            yield lay
            if lay["product_class"] in ("Product_Bundle", "Product_Collection") and lidvid not in expanded:
                expanded.add(lidvid)
                stack.append((lidvid, 0))
            continue
        batch = catalog.members_page(lidvid, 0, page, after=after)
        if len(batch) == page:
            stack.append((lidvid, int(batch[-1]["_pos"])))
        for m in reversed(batch):
            if m["lidvid"] is not None and m["lidvid"] not in expanded:
                stack.append((m["lidvid"], None))
