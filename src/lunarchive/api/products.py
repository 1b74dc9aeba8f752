"""PDS Search API routes: ``/products`` and ``/products/{identifier}`` with ``latest``, ``all``, ``members``,
``member-of`` and ``label``, plus a geometry filter (``bbox`` / ``intersects`` on a ``body``) that API lacks.

Identifiers are LIDVIDs (``urn:...::1.0``) or LIDs (the latest version); ``:`` may be sent raw or as ``%3A``.
"""

from __future__ import annotations

import io
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from .. import search
from ..catalog.base import Page
from ..errors import InvalidQuery
from ..model import split_lidvid
from ..query import Query as CatalogQuery
from .context import Ctx, CtxDep
from .cql2 import in_int64, parse_pds_q
from .downloads import BlobResponse, is_lidvid
from .errors import ERROR_RESPONSES, ErrorBody
from .params import MAX_LIMIT, parse_bbox
from .pds_model import SORTS, pds_product, select_fields

__all__ = ["router"]

router = APIRouter(tags=["PDS Search API"], responses=ERROR_RESPONSES)
Ident = Annotated[str, Path(description="A LIDVID (urn:...::1.0) or a LID (its latest version).")]
Fields = Annotated[list[str] | None, Query(description="Properties to return (comma-separated or repeated).")]
Limit = Annotated[int, Query(ge=0, le=MAX_LIMIT, description="At most this many products (0: only the summary).")]
Start = Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many products (prefer search-after).")]
Sort = Annotated[list[str] | None, Query(description="Sort field (one, optionally `-` for descending): lidvid, "
                                                     "title, start_date_time, stop_date_time, harvest_date_time.")]
After = Annotated[list[str] | None, Query(alias="search-after", description="The previous page's "
                                                                            "summary.search_after values.")]
Q = Annotated[str | None, Query(description='PDS query, e.g. `title like "*moon*" and vid ge "2.0"`.')]
Keywords = Annotated[list[str] | None, Query(description="Free-text words in titles and identifiers (q is "
                                                        "ignored when given).")]
BBox = Annotated[str | None, Query(description="Geometry filter: west,south,east,north degrees on `body`.")]
Intersects = Annotated[str | None, Query(description="Geometry filter: a GeoJSON geometry (JSON text).")]
Body = Annotated[str | None, Query(description="Body of the geometry filter (default: the Moon).")]
_PLURAL: dict[int | str, dict[str, Any]] = {200: {"description": "pdsProducts: summary and data", "content": {
    "application/json": {"schema": {"type": "object", "required": ["summary", "data"]}}}}}
_SINGULAR: dict[int | str, dict[str, Any]] = {200: {"description": "pdsProduct", "content": {
    "application/json": {"schema": {"type": "object", "required": ["id", "metadata"]}}}}}


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _sort(values: list[str] | None) -> tuple[str, bool, list[str]]:
    fields = _split(values)
    if not fields:
        return "ingested", False, []
    keys = []
    for name in fields:
        key = name.lstrip("+-").replace("/", ".").lower()
        if key not in SORTS:
            raise InvalidQuery(f"sort: cannot sort by {name!r}; use one of {', '.join(sorted(SORTS))}")
        keys.append((SORTS[key], name.startswith("-")))
    if len(keys) > 2 or (len(keys) == 2 and keys[1][0] != "ingested"):
        raise InvalidQuery("sort: one field can be given (optionally followed by harvest_date_time)")
    return keys[0][0], keys[0][1], fields


def _after(values: list[str] | None, sort: str) -> tuple[Any, ...] | None:
    parts = _split(values) if values and len(values) == 1 else list(values or [])
    if not parts:
        return None
    width = {"ingested": 1, "lidvid": 3}.get(sort, 2)
    last = parts[-1] if parts else ""
    digits = last[1:] if last.startswith("-") else last
    if len(parts) != width or not (digits.isascii() and digits.isdigit()) or len(last) > 19 \
            or not in_int64(int(last)):  # a row id: 64 bits at most
        raise InvalidQuery("search-after: give the summary.search_after values of the previous page")
    return (*parts[:-1], int(parts[-1]))


def _page(ctx: Ctx, query: CatalogQuery, page: Page, fields: list[str], q: str | None,
          sort_names: list[str], start: int, *, count: bool = True) -> dict[str, Any]:
    t0 = time.perf_counter()
    cat = ctx.archive.catalog
    rows = search.search_page(cat, query, page, ctx.viewer) if page.limit else []
    hits = search.count_where(cat, query, page.where, ctx.viewer) if count else len(rows)
    info = search.details(cat, [r["lidvid"] for r in rows], ctx.viewer)
    data = [select_fields(pds_product(r, info[r["lidvid"]], ctx.base), fields) for r in rows if r["lidvid"] in info]
    summary = {"q": q or "", "hits": hits, "took": int((time.perf_counter() - t0) * 1000), "start": start,
               "limit": page.limit, "sort": sort_names, "properties": fields,
               "search_after": [str(v) for v in rows[-1]["_key"]] if rows else []}
    return {"summary": summary, "data": data}


def _one(ctx: Ctx, ident: str, fields: list[str]) -> dict[str, Any]:
    cat = ctx.archive.catalog
    row = search.get_product(cat, ident, ctx.viewer)
    info = search.details(cat, [row["lidvid"]], ctx.viewer)[row["lidvid"]]
    return select_fields(pds_product(row, info, ctx.base), fields)


@router.get("/products", summary="Search the latest versions of all products", responses=_PLURAL)
def products(ctx: CtxDep, q: Q = None, keywords: Keywords = None, fields: Fields = None, start: Start = 0,
             limit: Limit = 100, sort: Sort = None, search_after: After = None, bbox: BBox = None,
             intersects: Intersects = None, body: Body = None) -> JSONResponse:
    geometry = None
    if intersects:
        try:
            geometry = json.loads(intersects)
        except ValueError as exc:
            raise InvalidQuery(f"intersects: not JSON ({exc})") from exc
    spatial = bbox is not None or geometry is not None
    words = " ".join(_split(keywords))
    query = CatalogQuery(latest_only=True, text=words or None, bbox=parse_bbox(bbox), intersects=geometry,
                         body=(body or ctx.state.default_body) if spatial else None)
    where = parse_pds_q(q) if q and not words else None
    key, desc, names = _sort(sort)
    after = _after(search_after, key)
    page = Page(sort=key, descending=desc, after=after, limit=limit, offset=0 if after else start, where=where)
    return JSONResponse(_page(ctx, query, page, _split(fields), q, names, start))


@router.get("/products/{identifier}", summary="One product (a LID gives its latest version)",
            responses=_SINGULAR)
def product(identifier: Ident, ctx: CtxDep, fields: Fields = None) -> JSONResponse:
    return JSONResponse(_one(ctx, identifier, _split(fields)))


@router.get("/products/{identifier}/latest", summary="The latest version of a product", responses=_SINGULAR)
def latest(identifier: Ident, ctx: CtxDep, fields: Fields = None) -> JSONResponse:
    return JSONResponse(_one(ctx, split_lidvid(identifier)[0], _split(fields)))


@router.get("/products/{identifier}/all", summary="Every version of a product, oldest first", responses=_PLURAL)
def all_versions(identifier: Ident, ctx: CtxDep, fields: Fields = None, start: Start = 0, limit: Limit = 100,
                 sort: Sort = None, search_after: After = None) -> JSONResponse:
    lid = split_lidvid(identifier)[0]
    search.resolve(ctx.archive.catalog, lid, ctx.viewer)  # NotFound for an unknown LID
    key, desc, names = _sort(sort or ["lidvid"])
    after = _after(search_after, key)
    page = Page(sort=key, descending=desc, after=after, limit=limit, offset=0 if after else start)
    return JSONResponse(_page(ctx, CatalogQuery(lids=[lid]), page, _split(fields), None, names, start))


def _listed(ctx: Ctx, lidvids: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
    """PDS products for the given LIDVIDs (those the viewer may see), keyed by LIDVID."""
    if not lidvids:
        return {}
    cat = ctx.archive.catalog
    rows = search.search_page(cat, CatalogQuery(lidvids=lidvids), Page(limit=len(lidvids)), ctx.viewer)
    info = search.details(cat, [r["lidvid"] for r in rows], ctx.viewer)
    return {r["lidvid"]: select_fields(pds_product(r, info[r["lidvid"]], ctx.base), fields) for r in rows}


@router.get("/products/{identifier}/members", summary="Members of a bundle or collection (Primary and Secondary)",
            responses=_PLURAL)
def members(identifier: Ident, ctx: CtxDep, fields: Fields = None, start: Start = 0,
            limit: Limit = 100) -> JSONResponse:
    t0 = time.perf_counter()
    lidvid, entries, total = search.members(ctx.archive.catalog, identifier, start, limit, ctx.viewer)
    products = _listed(ctx, sorted({e["lidvid"] for e in entries if e["lidvid"]}), _split(fields))
    data, unresolved = [], []
    for e in entries:
        status = "Primary" if e["status"] == "P" else "Secondary"
        if e["lidvid"] in products:
            data.append({**products[e["lidvid"]], "member_status": status, "member_ref": e["ref"],
                         "member_type": e["member_type"]})
        else:
            unresolved.append({"ref": e["ref"], "member_status": status, "member_type": e["member_type"]})
    summary = {"q": "", "hits": total, "took": int((time.perf_counter() - t0) * 1000), "start": start,
               "limit": limit, "sort": [], "properties": _split(fields), "of": lidvid, "unresolved": unresolved}
    return JSONResponse({"summary": summary, "data": data})


@router.get("/products/{identifier}/member-of", summary="The collections and bundles that list a product",
            responses=_PLURAL)
def member_of(identifier: Ident, ctx: CtxDep, fields: Fields = None) -> JSONResponse:
    t0 = time.perf_counter()
    containers = search.member_of(ctx.archive.catalog, identifier, ctx.viewer)
    products = _listed(ctx, containers, _split(fields))
    data = [products[c] for c in containers if c in products]
    summary = {"q": "", "hits": len(data), "took": int((time.perf_counter() - t0) * 1000), "start": 0,
               "limit": len(data), "sort": [], "properties": _split(fields)}
    return JSONResponse({"summary": summary, "data": data})


_LABEL: dict[int | str, dict[str, Any]] = {
    200: {"description": "The label", "content": {"application/xml": {"schema": {"type": "string"}},
                                                  "text/plain": {"schema": {"type": "string"}}}},
    206: {"description": "A byte range of the label"}, 304: {"description": "Not modified"},
    416: {"model": ErrorBody, "description": "The Range names no byte of the label"}}


@router.head("/products/{identifier}/label", response_class=Response, summary="Headers of the label",
             responses=_LABEL, operation_id="head_label")
@router.get("/products/{identifier}/label", response_class=Response, operation_id="label",
            summary="The product's original label, byte for byte", responses=_LABEL)
def label(identifier: Ident, request: Request, ctx: CtxDep) -> Response:
    cat = ctx.archive.catalog
    row = search.get_product(cat, identifier, ctx.viewer)
    data = search.get_label(cat, row["lidvid"], ctx.viewer)
    name = row["label"]["name"] or "label.xml"
    media = "application/xml" if row["label_format"] == "pds4" else "text/plain; charset=utf-8"
    return BlobResponse(lambda: io.BytesIO(data), size=len(data), sha256=row["label"]["sha256"], name=name,
                        request_headers=request.headers, media_type=media, immutable=is_lidvid(identifier))
