"""The one read path: every CLI command, API route and sync job reads the catalogue through here.

Each call takes a ``viewer`` so that access rules (organisations, roles, embargoes) can be applied in this
one place; for now every viewer is anonymous and sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog.base import Catalog, ProductRow
from .query import Query

__all__ = ["ANONYMOUS", "Viewer", "count", "get_label", "get_product", "resolve", "search"]


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
    """One product in full (files, references, members, findings, versions), by LIDVID or LID."""
    return catalog.get(resolve(catalog, ident, viewer))


def get_label(catalog: Catalog, ident: str, viewer: Viewer = ANONYMOUS) -> bytes:
    """The original label bytes of a product."""
    return catalog.label(resolve(catalog, ident, viewer))
