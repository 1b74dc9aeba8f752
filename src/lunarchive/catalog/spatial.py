"""Footprints in SQLite: an R*Tree over (body, longitude, latitude, time) and exact tests in plain SQL.

The R*Tree holds one row per footprint part. Its coordinates are 32-bit floats rounded outwards, so it
only narrows the search; every candidate is then tested exactly against double-precision *auxiliary*
columns of the same row (the part's box, its quadrilateral's vertices and edge normals, and the sines and
cosines that the great-circle distance test needs), so no SQL function has to be registered and no row is
read twice. Time is a dimension too (16-day units since J2000, from the normalised UTC strings), so a
box + time query touches only rows that pass both; the exact time test stays in the products query.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..bodies import Body, resolve_body
from ..errors import FormatError, InvalidQuery
from ..footprint import (
    Box,
    Cap,
    Footprint,
    Part,
    Piece,
    cap_for,
    footprint_of,
    point_parts,
    query_box_parts,
    query_pieces,
)
from ..model import BBox, Product, Reference
from ..query import Query
from ..times import DAYS_IN_400_YEARS, year_zero_as_400

__all__ = [
    "RTREE_INSERT", "SCHEMA", "backfill", "body_id", "index_rows", "insert_footprint", "rebind", "spatial_clauses",
]

_J2000 = datetime(2000, 1, 1, 12, tzinfo=UTC)
_NO_TIME = 0.0
_TIME_UNIT_DAYS = 16.0
"""The R*Tree's time unit: 16 days make a 15-year mission span about as many units as 360° of longitude,
so the R* split (which compares box margins, a sum over dimensions) weighs time and space alike."""
_PAD_DEG = 1e-6
_PAD_TIME = 1e-4
_VERTS = ("vx1", "vy1", "vx2", "vy2", "vx3", "vy3", "vx4", "vy4")
_EDGES = ("n1x", "n1y", "c1", "n2x", "n2y", "c2", "n3x", "n3y", "c3", "n4x", "n4y", "c4")
_TRIG = ("sin_w", "cos_w", "sin_e", "cos_e", "sin_s", "cos_s", "sin_n", "cos_n")
_AUX = ("product_id", "x0", "x1", "y0", "y1", "kind", *_VERTS, *_EDGES, *_TRIG)

SCHEMA = f"""
CREATE TABLE footprint_bodies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    naif_id INTEGER,
    crs TEXT
);
CREATE TABLE footprints (
    product_id INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
    body_id INTEGER NOT NULL REFERENCES footprint_bodies(id),
    source TEXT NOT NULL,
    geojson TEXT NOT NULL
);
CREATE INDEX footprints_body ON footprints(body_id);
CREATE VIRTUAL TABLE footprint_rtree USING rtree(
    id, body0, body1, lon0, lon1, lat0, lat1, t0, t1,
    {", ".join("+" + c for c in _AUX)}
)
"""
"""DDL run by migration ``0002_footprints``."""


def _time(utc: str | None) -> float | None:
    """R*Tree time of a normalised ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: units of 16 days since J2000 (monotonic
    in the text order, so the index never drops a product the exact text comparison keeps)."""
    if not utc:
        return None
    utc, year_zero = year_zero_as_400(utc)
    days = -DAYS_IN_400_YEARS if year_zero else 0
    return ((datetime.fromisoformat(utc) - _J2000).total_seconds() / 86400.0 + days) / _TIME_UNIT_DAYS


def body_id(conn: sqlite3.Connection, body: Body) -> int:
    """The row id of ``body`` in ``footprint_bodies`` (added on first use)."""
    row = conn.execute("SELECT id FROM footprint_bodies WHERE name=?", (body.name,)).fetchone()
    if row is not None:
        return int(row[0])
    cur = conn.execute("INSERT INTO footprint_bodies (name, naif_id, crs) VALUES (?,?,?)",
                       (body.name, body.naif_id, body.crs))
    return int(cur.lastrowid or 0)


def insert_footprint(conn: sqlite3.Connection, product_id: int, fp: Footprint, start_utc: str | None,
                     stop_utc: str | None) -> None:
    """Store a product's footprint (GeoJSON row) and index its parts (inside the caller's transaction)."""
    bid = body_id(conn, fp.body)
    conn.execute("INSERT INTO footprints (product_id, body_id, source, geojson) VALUES (?,?,?,?)",
                 (product_id, bid, fp.source, json.dumps(fp.geometry())))
    conn.executemany(RTREE_INSERT, index_rows(product_id, bid, fp.parts, start_utc, stop_utc))


RTREE_INSERT = f"INSERT INTO footprint_rtree VALUES ({','.join('?' * (9 + len(_AUX)))})"
"""The statement ``index_rows`` rows go into (bulk loaders use both)."""


def rebind(row: tuple[Any, ...], product_id: int, body: int) -> tuple[Any, ...]:
    """An ``index_rows`` row built with placeholder ids, given its product and body ids."""
    return (None, body - 0.25, body + 0.25, *row[3:9], product_id, *row[10:])


def _widen(lo: float, hi: float, pad: float) -> tuple[float, float]:
    return (lo - pad, hi + pad) if lo == hi else (lo, hi)


def index_rows(product_id: int, body: int, parts: Iterable[Part], start_utc: str | None,
               stop_utc: str | None) -> list[tuple[Any, ...]]:
    """R*Tree rows for a footprint's parts: body, box and time dimensions, then the exact-test columns.

    No indexed extent may be zero: the R*Tree chooses where to insert by the growth of box *volumes*, and
    one flat dimension makes every volume 0 and the tree a list. So the body is ``id ± 0.25`` and a zero
    width, height or duration is padded a little (the index only narrows; the exact tests decide).
    """
    t = [v for v in (_time(start_utc), _time(stop_utc)) if v is not None] or [_NO_TIME]
    t0, t1 = _widen(min(t), max(t), _PAD_TIME)
    rows = []
    for p in parts:
        w, e = _widen(p.box.west, p.box.east, _PAD_DEG)
        s, n = _widen(p.box.south, p.box.north, _PAD_DEG)
        rows.append((None, body - 0.25, body + 0.25, w, e, s, n, t0, t1, *_aux_values(product_id, p)))
    return rows


def _aux_values(product_id: int, part: Part) -> list[float | int]:
    b = part.box
    if part.quad is None:
        verts = [(b.west, b.south), (b.east, b.south), (b.east, b.north), (b.west, b.north)]
        edges = [0.0] * 12
    else:
        verts = list(part.quad)
        edges = []
        for (ax, ay), (bx, by) in zip(verts, verts[1:] + verts[:1], strict=True):
            nx, ny = by - ay, ax - bx
            edges += [nx, ny, nx * ax + ny * ay]
    trig = []
    for deg in (b.west, b.east, b.south, b.north):
        rad = math.radians(deg)
        trig += [math.sin(rad), math.cos(rad)]
    return [product_id, b.west, b.east, b.south, b.north, 0 if part.quad is None else 1,
            *(c for v in verts for c in v), *edges, *trig]


# ------------------------------------------------------------------------------------------ queries
class _Sql:
    """Positional parameters collected while SQL text is written (every number is bound, never inlined)."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    def v(self, value: Any) -> str:
        self.params.append(value)
        return "?"


def _body_of(q: Query) -> Body:
    if q.body:
        return resolve_body(q.body)
    if len(q.targets) == 1:
        return resolve_body(q.targets[0])
    raise InvalidQuery("a spatial filter needs a body: give --body (for example --body moon)")


def check_body(conn: sqlite3.Connection, q: Query) -> None:
    """InvalidQuery when a spatial filter names a body this catalogue has no footprint on and lunarchive does
    not know (a misspelt name would otherwise find nothing, silently)."""
    if q.body is None and not (len(q.targets) == 1 and any(
            x is not None for x in (q.bbox, q.point, q.intersects, q.within))):
        return
    try:
        body = _body_of(q)
    except InvalidQuery:
        return  # said when the clauses are built
    if body.known or conn.execute("SELECT 1 FROM footprint_bodies WHERE name = ?", (body.name,)).fetchone():
        return
    held = [r[0].lower() for r in conn.execute("SELECT name FROM footprint_bodies ORDER BY name")]
    raise InvalidQuery(f"body {body.name.lower()!r} is unknown and no footprint is catalogued on it"
                       + (f" (footprints are catalogued on {', '.join(held[:12])})" if held else ""))


def spatial_clauses(q: Query) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``p.id`` for the spatial filters of ``q`` (AND-ed), with their parameters."""
    has_spatial = any(x is not None for x in (q.bbox, q.point, q.intersects, q.within))
    if not has_spatial and not q.body:
        return [], []
    body = _body_of(q)
    s = _Sql()
    clauses = []
    if not has_spatial:
        clauses.append("p.id IN (SELECT product_id FROM footprints WHERE body_id = "
                       f"(SELECT id FROM footprint_bodies WHERE name = {s.v(body.name)}))")
    if q.bbox is not None:
        clauses.append(_union(s, q, body, [(b, _box_exact(b)) for b in query_box_parts(q.bbox)]))
    if q.point is not None:
        clauses.append(_union(s, q, body, [(b, _box_exact(b)) for b in point_parts(*q.point)]))
    if q.intersects is not None:
        pieces = query_pieces(q.intersects)
        clauses.append(_union(s, q, body, [(Box(*pc.bounds), _piece_exact(pc)) for pc in pieces]))
    if q.within is not None:
        cap = cap_for(q.within[0], q.within[1], q.within[2], body)
        clauses.append(_union(s, q, body, [(b, _cap_exact(cap)) for b in cap.boxes]))
    return clauses, s.params


def _union(s: _Sql, q: Query, body: Body, branches: list[tuple[Box, tuple[str, list[Any]]]]) -> str:
    """``p.id IN (...)`` over one R*Tree branch per query box, each with its exact test."""
    selects = []
    t_start, t_stop = _time(q.start_utc), _time(q.stop_utc)
    head = ("SELECT r.product_id FROM footprint_rtree r WHERE r.body0 <= (SELECT id FROM footprint_bodies"
            " WHERE name = ?) AND r.body1 >= (SELECT id FROM footprint_bodies WHERE name = ?)"
            " AND r.lon0 <= ? AND r.lon1 >= ? AND r.lat0 <= ? AND r.lat1 >= ?")
    head += "" if t_start is None else " AND r.t1 >= ?"
    head += "" if t_stop is None else " AND r.t0 <= ?"
    times = [t for t in (t_start, t_stop) if t is not None]
    for box, (exact, exact_params) in branches:
        s.params += [body.name, body.name, box.east, box.west, box.north, box.south, *times, *exact_params]
        selects.append(f"{head} AND {exact}")
    return "p.id IN (" + " UNION ALL ".join(selects) + ")"


def _box_exact(b: Box) -> tuple[str, list[Any]]:
    """Exact test of a query box against a part: box overlap, then the quadrilateral's edges (SAT).

    A part whose R*Tree box (rounded outwards) lies inside the query passes without reading the exact
    columns: its true box lies inside too, and so does the (non-empty) quadrilateral piece it bounds.
    """
    w, s_, e, n = b.west, b.south, b.east, b.north
    inside = "(r.lon0 >= ? AND r.lon1 <= ? AND r.lat0 >= ? AND r.lat1 <= ?)"
    overlap = "r.x0 <= ? AND r.x1 >= ? AND r.y0 <= ? AND r.y1 >= ?"
    params: list[Any] = [w, e, s_, n, e, w, n, s_]
    edges = []
    for i in range(1, 5):
        edges.append(f"min(r.n{i}x*?, r.n{i}x*?) + min(r.n{i}y*?, r.n{i}y*?) <= r.c{i}")
        params += [w, e, s_, n]
    return f"({inside} OR ({overlap} AND (r.kind = 0 OR ({' AND '.join(edges)}))))", params


def _piece_exact(piece: Piece) -> tuple[str, list[Any]]:
    """Exact separating-axis test of a convex query piece against a part (box or quadrilateral)."""
    minx, miny, maxx, maxy = piece.bounds
    conds = ["r.x0 <= ? AND r.x1 >= ? AND r.y0 <= ? AND r.y1 >= ?"]
    params: list[Any] = [maxx, minx, maxy, miny]
    verts = piece.vertices
    if len(verts) >= 2:
        ring = list(verts)
        for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1], strict=True):
            mx, my = by - ay, ax - bx
            dots = ", ".join(f"?*r.vx{k}+?*r.vy{k}" for k in range(1, 5))
            conds.append(f"min({dots}) <= ?")
            params += [mx, my] * 4 + [mx * ax + my * ay]
    quad_conds = []
    for i in range(1, 5):
        terms = [f"r.n{i}x*?+r.n{i}y*?" for _ in verts]
        params_i = [c for v in verts for c in v]
        expr = f"min({', '.join(terms)})" if len(terms) > 1 else terms[0]
        quad_conds.append(f"{expr} <= r.c{i}")
        params += params_i
    return f"({' AND '.join(conds)} AND (r.kind = 0 OR ({' AND '.join(quad_conds)})))", params


def _cap_exact(cap: Cap) -> tuple[str, list[Any]]:
    """Exact test ``great-circle distance(P, part box) <= r`` (the S2 point-to-rectangle distance)."""
    lam, phi, r = cap.lon, cap.lat, cap.radius_rad
    lam2 = -180.0 if lam == 180.0 else 180.0 if lam == -180.0 else lam
    rl, rp = math.radians(lam), math.radians(phi)
    px, py, pz = math.cos(rp) * math.cos(rl), math.cos(rp) * math.sin(rl), math.sin(rp)
    rdeg, sr, cr = math.degrees(r), math.sin(min(r, math.pi / 2)), math.cos(r)
    conds = ["((r.x0 <= ? AND r.x1 >= ?) OR (r.x0 <= ? AND r.x1 >= ?)) AND r.y1 >= ? AND r.y0 <= ?"]
    params: list[Any] = [lam, lam, lam2, lam2, phi - rdeg, phi + rdeg]
    for side in ("w", "e"):
        pu = f"(?*r.cos_{side} + ?*r.sin_{side})"
        conds.append(f"({pu} > 0 AND ?*r.cos_s - {pu}*r.sin_s >= 0 AND {pu}*r.sin_n - ?*r.cos_n >= 0"
                     f" AND abs(?*r.cos_{side} - ?*r.sin_{side}) <= ?)")
        params += [px, py, pz, px, py, px, py, pz, py, px, sr]
        for lat in ("s", "n"):
            conds.append(f"{pu}*r.cos_{lat} + ?*r.sin_{lat} >= ?")
            params += [px, py, pz, cr]
    return "(" + " OR ".join(f"({c})" for c in conds) + ")", params


def backfill(conn: sqlite3.Connection) -> int:
    """Index the footprints of products catalogued before footprints existed; returns how many."""
    done = 0
    rows = conn.execute(
        "SELECT id, lid, vid, product_class, targets, bbox_west, bbox_south, bbox_east, bbox_north, extra,"
        " discipline, start_utc, stop_utc FROM products"
        " WHERE id NOT IN (SELECT product_id FROM footprints)").fetchall()
    for pid, lid, vid, cls, targets, w, s, e, n, extra, discipline, start_utc, stop_utc in rows:
        refs = [Reference(t, "target") for (t,) in conn.execute(
            "SELECT target FROM refs WHERE product_id=? AND target LIKE '%context:target:%'", (pid,))]
        product = Product(lid, vid, cls, targets=json.loads(targets), extra=json.loads(extra),
                          discipline=json.loads(discipline), references=refs,
                          bbox=None if w is None else BBox(w, s, e, n))
        try:
            fp = footprint_of(product)
        except FormatError:
            continue
        if fp is not None:
            insert_footprint(conn, pid, fp, start_utc, stop_utc)
            done += 1
    return done
