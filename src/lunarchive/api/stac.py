"""STAC API 1.0 routes: landing page, conformance, collections, items, item search (GET and POST), queryables.

Every read goes through ``lunarchive.search`` with the request's viewer; this module only turns
parameters into a Query/Page and rows into STAC JSON.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import search
from ..catalog.base import Compare, Page
from ..errors import InvalidIdentifier, NotFound
from ..query import Query as CatalogQuery
from . import stac_model
from .context import Ctx, CtxDep
from .cql2 import QUERYABLES
from .errors import ERROR_RESPONSES
from .params import MAX_LIMIT, SearchRequest, encode_token

__all__ = ["router"]

router = APIRouter(tags=["STAC API"], responses=ERROR_RESPONSES)
GEOJSON = "application/geo+json"
Limit = Annotated[int, Query(ge=1, description=f"Items per page (a larger limit gives {MAX_LIMIT}).")]
BBox = Annotated[str | None, Query(description="west,south,east,north in degrees (0..360 or -180..180; "
                                               "west > east wraps); on the `body` (default: the Moon).")]
Datetime = Annotated[str | None, Query(description="RFC 3339 instant or interval (`a/b`, `../b`, `a/..`).")]
Token = Annotated[str | None, Query(description="Opaque paging token from a `next` link.")]
Body = Annotated[str | None, Query(description="Body of the spatial filters (moon, mars, titan...).")]
SortBy = Annotated[str | None, Query(description="`-datetime`, `+id`, `title`, `end_datetime`, `created`.")]
FilterText = Annotated[str | None, Query(description="CQL2 filter (text, or JSON with filter-lang=cql2-json).")]
FilterLang = Annotated[str | None, Query(alias="filter-lang", description="cql2-text (default) or cql2-json.")]
_OBJ: dict[str, Any] = {"description": "A STAC object", "content": {"application/json": {"schema": {
    "type": "object", "required": ["type", "links"], "additionalProperties": True}}}}
_FC: dict[int | str, dict[str, Any]] = {200: {"description": "A STAC ItemCollection", "content": {GEOJSON: {
    "schema": {"type": "object", "required": ["type", "features", "links"], "additionalProperties": True}}}}}


class SearchBody(BaseModel):
    """The POST /search body (STAC API Item Search, with the sort and filter extensions)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    bbox: list[float] | None = Field(None, min_length=4, max_length=6)
    intersects: dict[str, Any] | None = None
    datetime: str | None = None
    ids: list[str] | None = None
    collections: list[str] | None = None
    limit: int = Field(10, ge=1, description=f"Items per page (a larger limit gives {MAX_LIMIT}).")
    sortby: list[dict[str, Any]] | None = None
    filter: dict[str, Any] | str | None = None
    filter_lang: str | None = Field(None, alias="filter-lang")
    token: str | None = None
    body: str | None = Field(None, description="Body of the spatial filters (default: the Moon).")

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: Any) -> Any:
        """No NaN or infinite number anywhere in the body (JSON has none; Python's parser lets them in)."""
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{item!r} is not a finite number")
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return data


def _geojson(doc: dict[str, Any]) -> JSONResponse:
    return JSONResponse(doc, media_type=GEOJSON)


def _items_page(ctx: Ctx, req: SearchRequest) -> tuple[list[dict[str, Any]], str | None]:
    """One page of items and the token for the next one (None on the last page)."""
    cat = ctx.archive.catalog
    rows = search.search_page(cat, req.query(), req.page(), ctx.viewer)
    more = len(rows) > req.limit
    rows = rows[:req.limit]
    info = search.details(cat, [r["lidvid"] for r in rows], ctx.viewer)
    features = [stac_model.item(r, info[r["lidvid"]], ctx.base) for r in rows if r["lidvid"] in info]
    token = encode_token(req.sort, req.descending, rows[-1]["_key"]) if more and rows else None
    return features, token


def _feature_collection(features: list[dict[str, Any]], links: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, "links": links, "numberReturned": len(features)}


def _get_links(request: Request, ctx: Ctx, token: str | None) -> list[dict[str, Any]]:
    links = [{"rel": "root", "href": f"{ctx.base}/", "type": "application/json"},
             {"rel": "self", "href": str(request.url), "type": GEOJSON}]
    if token:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "token"] + [("token", token)]
        links.append({"rel": "next", "href": f"{ctx.base}{request.url.path}?{urlencode(params)}",
                      "type": GEOJSON, "method": "GET"})
    return links


@router.get("/", summary="Landing page", responses={200: _OBJ})
def landing(ctx: CtxDep) -> JSONResponse:
    groups = search.collection_groups(ctx.archive.catalog, ctx.viewer)
    nested = {c for children in _children(groups, ctx).values() for c in children}
    top = [g["id"] for g in groups if g["id"] not in nested]
    return JSONResponse(stac_model.landing(ctx.base, top, ctx.state.title))


@router.get("/conformance", summary="Conformance classes", responses={200: {"description": "conformsTo"}})
def conformance() -> dict[str, Any]:
    return {"conformsTo": list(stac_model.CONFORMANCE)}


@router.get("/queryables", summary="Properties a filter may name", responses={200: {"description": "JSON Schema"}})
def queryables(ctx: CtxDep) -> JSONResponse:
    return _queryables(f"{ctx.base}/queryables", "lunarchive queryables")


def _queryables(url: str, title: str) -> JSONResponse:
    props = {name: {"description": text, "type": kind} for name, (_, kind, text) in QUERYABLES.items()}
    doc = {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": url,
           "type": "object", "title": title, "properties": props, "additionalProperties": False}
    return JSONResponse(doc, media_type="application/schema+json")


def _children(groups: list[dict[str, Any]], ctx: Ctx) -> dict[str, list[str]]:
    """Bundle id → its catalogued collections (the bundle's member entries)."""
    out: dict[str, list[str]] = {}
    for g in groups:
        if g["kind"] == "bundle" and g.get("lidvid"):
            _, members, _ = search.members(ctx.archive.catalog, g["lidvid"], 0, 1000, ctx.viewer)
            out[g["id"]] = [m["lidvid"].rpartition("::")[0] for m in members if m["lidvid"]]
    return out


@router.get("/collections", summary="All collections", responses={200: {"description": "Collections"}})
def collections(ctx: CtxDep) -> JSONResponse:
    groups = search.collection_groups(ctx.archive.catalog, ctx.viewer)
    children = _children(groups, ctx)
    docs = [stac_model.collection(g, ctx.base, children.get(g["id"], ())) for g in groups]
    links = [{"rel": "self", "href": f"{ctx.base}/collections", "type": "application/json"},
             {"rel": "root", "href": f"{ctx.base}/", "type": "application/json"}]
    return JSONResponse({"collections": docs, "links": links})


def _group(ctx: Ctx, cid: str) -> dict[str, Any]:
    """The collection group ``cid`` names (NotFound when none does)."""
    cat = ctx.archive.catalog
    try:
        row = search.get_product(cat, cid, ctx.viewer)
    except (NotFound, ValueError):
        row = None
    if row is not None and row["product_class"] in stac_model.ITEMLESS and row["lid"].lower() == cid.lower():
        cid = row["lid"]  # as catalogued: ids are case-insensitive
        for group in search.collection_groups(cat, ctx.viewer):  # as /collections gives it (normalised times)
            if group["id"] == cid:
                return group
        kind = "bundle" if row["product_class"] == "Product_Bundle" else "collection"
        return {"id": cid, "kind": kind, "lidvid": row["lidvid"], "title": row["title"], "start": row["start"],
                "stop": row["stop"], "bbox": None}
    probe = Page(limit=1, where=Compare("collection", "=", cid))
    if not search.search_page(cat, CatalogQuery(), probe, ctx.viewer):
        raise NotFound(f"no collection {cid}")
    kind = "kind" if cid.startswith("urn:lunarchive:") and cid.count(":") == 2 else "derived"
    return {"id": cid, "kind": kind, "lidvid": None, "title": None, "start": None, "stop": None, "bbox": None}


CollectionId = Annotated[str, Path(description="A collection id (a LID such as urn:nasa:pds:bundle:collection).")]


@router.get("/collections/{collection_id}", summary="One collection", responses={200: _OBJ})
def one_collection(collection_id: CollectionId, ctx: CtxDep) -> JSONResponse:
    group = _group(ctx, collection_id)
    children = _children([group], ctx).get(group["id"], [])
    return JSONResponse(stac_model.collection(group, ctx.base, children))


@router.get("/collections/{collection_id}/queryables", summary="Properties a filter of this collection may name",
            responses={200: {"description": "JSON Schema"}})
def collection_queryables(collection_id: CollectionId, ctx: CtxDep) -> JSONResponse:
    _group(ctx, collection_id)
    url = f"{ctx.base}/collections/{stac_model.path_id(collection_id)}/queryables"
    return _queryables(url, f"queryables of {collection_id}")  # every collection's items have the same ones


@router.get("/collections/{collection_id}/items", summary="Items of a collection", responses=_FC)
def collection_items(request: Request, collection_id: CollectionId, ctx: CtxDep, bbox: BBox = None,
                     datetime: Datetime = None, limit: Limit = 10, token: Token = None, sortby: SortBy = None,
                     filter: FilterText = None, filter_lang: FilterLang = None, body: Body = None) -> JSONResponse:
    collection_id = _group(ctx, collection_id)["id"]  # as catalogued
    req = SearchRequest.build(bbox=bbox, datetime=datetime, collections=[collection_id], limit=limit,
                              sortby=sortby, filter=filter, filter_lang=filter_lang, token=token, body=body,
                              default_body=ctx.state.default_body)
    features, next_token = _items_page(ctx, req)
    links = _get_links(request, ctx, next_token)
    links.append({"rel": "collection", "href": f"{ctx.base}/collections/{stac_model.path_id(collection_id)}",
                  "type": "application/json"})
    return _geojson(_feature_collection(features, links))


@router.get("/collections/{collection_id}/items/{item_id}", summary="One item", responses={200: _OBJ})
def one_item(collection_id: CollectionId, item_id: Annotated[str, Path(description="The item id: a LIDVID.")],
             ctx: CtxDep) -> JSONResponse:
    cat = ctx.archive.catalog
    try:
        row = search.get_product(cat, item_id, ctx.viewer) if "::" in item_id else None
    except InvalidIdentifier:
        row = None
    if row is None or row["product_class"] in stac_model.ITEMLESS:
        raise NotFound(f"no item {item_id} in collection {collection_id}")
    info = search.details(cat, [row["lidvid"]], ctx.viewer).get(row["lidvid"])
    if info is None or info["collection"].lower() != collection_id.lower():
        raise NotFound(f"no item {item_id} in collection {collection_id}")
    return _geojson(stac_model.item(row, info, ctx.base))


@router.get("/search", summary="Item search (GET)", responses=_FC)
def search_get(request: Request, ctx: CtxDep, bbox: BBox = None,
               intersects: Annotated[str | None, Query(description="A GeoJSON geometry (JSON text).")] = None,
               datetime: Datetime = None,
               ids: Annotated[str | None, Query(description="Comma-separated item ids (LIDVIDs).")] = None,
               collections: Annotated[str | None, Query(description="Comma-separated collection ids.")] = None,
               limit: Limit = 10, sortby: SortBy = None, filter: FilterText = None,
               filter_lang: FilterLang = None, token: Token = None, body: Body = None) -> JSONResponse:
    req = SearchRequest.build(bbox=bbox, intersects=intersects, datetime=datetime, ids=ids, collections=collections,
                              limit=limit, sortby=sortby, filter=filter, filter_lang=filter_lang, token=token,
                              body=body, default_body=ctx.state.default_body)
    features, next_token = _items_page(ctx, req)
    return _geojson(_feature_collection(features, _get_links(request, ctx, next_token)))


@router.post("/search", summary="Item search (POST)", responses=_FC)
def search_post(ctx: CtxDep, payload: SearchBody | None = None) -> JSONResponse:
    payload = payload or SearchBody.model_validate({})  # an empty body is the empty search, as {} is
    req = SearchRequest.build(bbox=payload.bbox, intersects=payload.intersects, datetime=payload.datetime,
                              ids=payload.ids, collections=payload.collections, limit=payload.limit,
                              sortby=payload.sortby, filter=payload.filter, filter_lang=payload.filter_lang,
                              token=payload.token, body=payload.body, default_body=ctx.state.default_body)
    features, next_token = _items_page(ctx, req)
    links: list[dict[str, Any]] = [{"rel": "root", "href": f"{ctx.base}/", "type": "application/json"}]
    if next_token:
        body = payload.model_dump(by_alias=True, exclude_none=True)
        body["token"] = next_token
        links.append({"rel": "next", "href": f"{ctx.base}/search", "type": GEOJSON, "method": "POST",
                      "body": body, "merge": False})
    return _geojson(_feature_collection(features, links))
