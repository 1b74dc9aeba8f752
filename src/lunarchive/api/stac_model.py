"""Catalogue rows as STAC 1.1 JSON: items, collections, the landing page (pure functions, no I/O)."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from ..bodies import Body, resolve_body
from ..catalog.rows import OPEN_END
from ..times import normalize_utc

__all__ = [
    "CONFORMANCE",
    "EXTENSIONS",
    "STAC_VERSION",
    "collection",
    "geometry_bbox",
    "item",
    "landing",
    "media_type",
    "path_id",
    "rfc3339",
    "target_class",
]

STAC_VERSION = "1.1.0"
SSYS = "https://stac-extensions.github.io/ssys/v1.1.0/schema.json"
PROJ = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
FILE = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
EXTENSIONS = (SSYS, PROJ, FILE)
ITEMLESS = ("Product_Bundle", "Product_Collection")
"""Product classes shown as STAC collections, never as items."""

CONFORMANCE = (
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
    "https://api.stacspec.org/v1.0.0-rc.2/ogcapi-features#filter",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
)
_MEDIA = {
    # SPICE kernels: binary ones, and text ones whose suffixes mimetypes takes for other formats (.tm: TeXmacs)
    ".bsp": "application/octet-stream", ".bc": "application/octet-stream", ".bpc": "application/octet-stream",
    ".bds": "application/octet-stream", ".bes": "application/octet-stream", ".tm": "text/plain",
    ".tls": "text/plain", ".tpc": "text/plain", ".tf": "text/plain", ".ti": "text/plain", ".tsc": "text/plain",
    ".fmt": "text/plain", ".cat": "text/plain", ".asc": "text/plain", ".qub": "application/octet-stream",
    ".imq": "application/octet-stream", ".sts": "text/plain",
    ".xml": "application/xml", ".lblx": "application/xml", ".lbl": "text/plain", ".tab": "text/plain",
    ".csv": "text/csv", ".fits": "application/fits", ".fit": "application/fits", ".img": "application/octet-stream",
    ".dat": "application/octet-stream", ".cub": "application/octet-stream", ".txt": "text/plain",
    ".pdf": "application/pdf", ".tif": "image/tiff", ".tiff": "image/tiff", ".jpg": "image/jpeg", ".png": "image/png",
}


def path_id(ident: str) -> str:
    """An identifier as a URL path segment (``:`` kept as is, everything unsafe escaped)."""
    return quote(ident, safe=":")


def rfc3339(value: str | None, *, end: bool = False) -> str | None:
    """A label time as an RFC 3339 UTC timestamp (None when it is absent or a PDS null)."""
    if not value:
        return None
    try:
        return normalize_utc(value, end=end)
    except ValueError:
        return None


def target_class(body: Body) -> str | None:
    """The ssys target class of a body, from its NAIF id (None when unknown)."""
    n = body.naif_id
    if n is None:
        return None
    if n == 10:
        return "star"
    if n in (999, 2000001, 136199, 136108, 136472):
        return "dwarf_planet"
    if 100 < n < 1000:
        return "planet" if n % 100 == 99 else "satellite"
    if 1000000 <= n < 2000000:
        return "comet"
    return "asteroid" if n >= 2000000 else None


def _coords(geom: dict[str, Any]) -> Iterable[tuple[float, float]]:
    if geom.get("type") == "GeometryCollection":
        for g in geom.get("geometries", []):
            yield from _coords(g)
        return
    stack: list[Any] = [geom.get("coordinates", [])]
    while stack:
        c = stack.pop()
        if c and isinstance(c[0], int | float):
            yield float(c[0]), float(c[1])
        else:
            stack.extend(c)


def geometry_bbox(geom: dict[str, Any]) -> list[float] | None:
    """The bbox of a GeoJSON geometry; one split at the antimeridian (parts reaching both -180 and 180) gets
    west > east across the largest longitude gap, as RFC 7946 section 5.2 says, not -180..180."""
    pts = list(_coords(geom))
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    west, east = min(xs), max(xs)
    if west == -180.0 and east == 180.0:
        spans = sorted((min(x for x, _ in part), max(x for x, _ in part)) for part in _parts(geom))
        merged: list[list[float]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        gaps = [(merged[k + 1][0] - merged[k][1], k) for k in range(len(merged) - 1)]
        if gaps:
            _, k = max(gaps)
            west, east = merged[k + 1][0], merged[k][1]
    return [west, min(ys), east, max(ys)]


def _parts(geom: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """The points of each part of a geometry (each polygon of a MultiPolygon, each member of a collection)."""
    kind = geom.get("type")
    if kind == "GeometryCollection":
        return [p for g in geom.get("geometries", []) for p in _parts(g)]
    if kind in ("MultiPolygon", "MultiLineString", "MultiPoint"):
        return [list(_coords({"type": "x", "coordinates": c})) for c in geom.get("coordinates", [])]
    return [list(_coords(geom))]


def media_type(name: str) -> str:
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    return _MEDIA.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _times(row: dict[str, Any], ingested: str | None) -> dict[str, Any]:
    if "start_utc" in row:  # normalised by the catalogue already
        start, stop = row["start_utc"], row["stop_utc"]
        stop = None if stop == OPEN_END else stop  # no known end: the item has its start as its time
    else:
        start, stop = rfc3339(row.get("start")), rfc3339(row.get("stop"), end=True)
    if start and stop and stop > start:
        return {"datetime": None, "start_datetime": start, "end_datetime": stop}
    if start or stop:
        return {"datetime": start or stop}
    return {"datetime": rfc3339(ingested) or "1970-01-01T00:00:00Z", "pds:time_from": "ingest"}


def _assets(lidvid: str, detail: dict[str, Any], row: dict[str, Any], base: str) -> dict[str, Any]:
    product = f"{base}/products/{path_id(lidvid)}"
    label = detail["label"]
    assets: dict[str, Any] = {}
    if label.get("sha256"):
        assets["label"] = {
            "href": f"{product}/label", "title": label.get("name") or "label", "roles": ["metadata"],
            "type": "application/xml" if row.get("label_format") == "pds4" else "text/plain",
            "file:size": int(label.get("size") or 0), "file:checksum": "1220" + label["sha256"],
        }
    for f in detail["files"]:
        if f.get("status") != "ok" or not f.get("sha256"):
            continue
        key = f["name"] if f["name"] not in assets else f"{f['role']}:{f['name']}"
        assets[key] = {
            "href": f"{product}/files/{quote(f['name'], safe='')}", "title": f["name"],
            "type": media_type(f["name"]), "roles": ["data" if f["role"] == "data" else f["role"]],
            "file:size": int(f["size"] or 0), "file:checksum": "1220" + f["sha256"],
        }
    return assets


def _body(row: dict[str, Any], detail: dict[str, Any]) -> Body | None:
    fp = detail.get("footprint")
    if fp:
        return resolve_body(fp["body"])
    known = [b for b in (resolve_body(t) for t in row.get("targets") or [] if t.strip()) if b.known]
    return known[0] if known else None


def item(row: dict[str, Any], detail: dict[str, Any], base: str) -> dict[str, Any]:
    """A product as a STAC Item (``detail`` from ``search.details``); ``base`` is the API's root URL."""
    lidvid, cid = row["lidvid"], detail["collection"]
    fp = detail.get("footprint")
    geometry = fp["geometry"] if fp else None
    props: dict[str, Any] = {"title": row.get("title") or lidvid, **_times(row, detail.get("ingested_at"))}
    if detail.get("ingested_at"):
        props["created"] = detail["ingested_at"]  # ISO 8601 with its UTC offset: already RFC 3339
    targets = [t for t in row.get("targets") or [] if t.strip()]
    if targets:
        props["ssys:targets"] = targets
    body = _body(row, detail)
    if body is not None:
        tc = target_class(body)
        if tc:
            props["ssys:target_class"] = tc
        if body.crs:
            props["proj:code"] = body.crs
    if row.get("instruments"):
        props["instruments"] = list(row["instruments"])
    investigations = row.get("investigations") or []
    if len(investigations) == 1:
        props["mission"] = investigations[0]
    props.update({
        "pds:lidvid": lidvid, "pds:lid": row["lid"], "pds:vid": row["vid"], "pds:product_class": row["product_class"],
        "pds:label_format": row.get("label_format"), "pds:investigations": investigations,
        "pds:valid": detail["errors"] == 0, "pds:errors": detail["errors"], "pds:warnings": detail["warnings"],
    })
    if row.get("processing_level"):
        props["pds:processing_level"] = row["processing_level"]
    if fp:
        props["pds:footprint_source"] = fp["source"]
    coll = f"{base}/collections/{path_id(cid)}"
    product = f"{base}/products/{path_id(lidvid)}"
    return _without_bbox({
        "type": "Feature", "stac_version": STAC_VERSION, "stac_extensions": list(EXTENSIONS),
        "id": lidvid, "collection": cid, "geometry": geometry, "bbox": geometry_bbox(geometry) if geometry else None,
        "properties": props,
        "links": [
            {"rel": "self", "href": f"{coll}/items/{path_id(lidvid)}", "type": "application/geo+json"},
            {"rel": "parent", "href": coll, "type": "application/json"},
            {"rel": "collection", "href": coll, "type": "application/json"},
            {"rel": "root", "href": f"{base}/", "type": "application/json"},
            {"rel": "alternate", "href": product, "type": "application/json", "title": "PDS API product"},
            {"rel": "alternate", "href": f"{product}/archive", "type": "application/zip",
             "title": "the product's files as a zip"},
        ],
        "assets": _assets(lidvid, detail, row, base),
    })


def _without_bbox(d: dict[str, Any]) -> dict[str, Any]:
    if d["bbox"] is None:
        del d["bbox"]
    return d


_KIND_TEXT = {"bundle": "PDS4 bundle", "collection": "PDS4 collection",
              "derived": "Products sharing this LID prefix (their collection product is not catalogued)",
              "kind": "Products of this input kind (not PDS4)"}


def collection(group: dict[str, Any], base: str, children: Iterable[str] = ()) -> dict[str, Any]:
    """A collection group (``search.collection_groups``) as a STAC Collection."""
    cid = group["id"]
    here = f"{base}/collections/{path_id(cid)}"
    start, stop = rfc3339(group.get("start")), rfc3339(group.get("stop"), end=True)
    if stop == OPEN_END or (start and stop and stop < start):
        stop = None  # an open end
    links = [
        {"rel": "self", "href": here, "type": "application/json"},
        {"rel": "root", "href": f"{base}/", "type": "application/json"},
        {"rel": "parent", "href": f"{base}/", "type": "application/json"},
        {"rel": "items", "href": f"{here}/items", "type": "application/geo+json"},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "href": f"{here}/queryables",
         "type": "application/schema+json"},
    ]
    links += [{"rel": "child", "href": f"{base}/collections/{path_id(c)}", "type": "application/json"}
              for c in children]
    out: dict[str, Any] = {
        "type": "Collection", "stac_version": STAC_VERSION, "stac_extensions": [], "id": cid,
        "title": group.get("title") or cid, "description": f"{_KIND_TEXT[group['kind']]}: {cid}",
        "license": "other",
        "extent": {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]}, "temporal": {"interval": [[start, stop]]}},
        "links": links, "pds:kind": group["kind"],
    }
    if group.get("lidvid"):
        out["pds:lidvid"] = group["lidvid"]
        out["links"].append({"rel": "alternate", "href": f"{base}/products/{path_id(group['lidvid'])}",
                             "type": "application/json", "title": "PDS API product"})
    return out


def landing(base: str, collection_ids: Iterable[str], title: str) -> dict[str, Any]:
    """The landing page: conformance classes and links to everything else."""
    links = [
        {"rel": "self", "href": f"{base}/", "type": "application/json"},
        {"rel": "root", "href": f"{base}/", "type": "application/json"},
        {"rel": "service-desc", "href": f"{base}/openapi.json",
         "type": "application/vnd.oai.openapi+json;version=3.1"},
        {"rel": "service-doc", "href": f"{base}/docs", "type": "text/html"},
        {"rel": "conformance", "href": f"{base}/conformance", "type": "application/json"},
        {"rel": "data", "href": f"{base}/collections", "type": "application/json"},
        {"rel": "search", "href": f"{base}/search", "type": "application/geo+json", "method": "GET"},
        {"rel": "search", "href": f"{base}/search", "type": "application/geo+json", "method": "POST"},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "href": f"{base}/queryables",
         "type": "application/schema+json"},
    ]
    links += [{"rel": "child", "href": f"{base}/collections/{path_id(c)}", "type": "application/json"}
              for c in collection_ids]
    return {"type": "Catalog", "stac_version": STAC_VERSION, "stac_extensions": [], "id": "lunarchive",
            "title": title, "description": "Lunar and deep-space archive products (PDS4, PDS3 and more) as STAC.",
            "conformsTo": list(CONFORMANCE), "links": links}
