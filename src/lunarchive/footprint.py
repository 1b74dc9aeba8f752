"""Footprints: where on a body a product looks, normalised once for storage, indexing and queries.

One convention everywhere: planetocentric latitude, longitude east-positive in −180..180. Inputs may use
0..360 or −180..180; ``west > east`` means the box wraps eastwards across 180°/0° (in the label's own
longitude direction: a *Positive West* label is turned east-positive first). Zero-height and zero-width boxes
are valid. A stored footprint that reaches a pole covers all longitudes (query boxes are taken literally:
a query wedge touching a pole still meets every footprint that holds the pole, as those span all
longitudes). A box crossing the antimeridian is stored as two parts.

A footprint is a union of *parts*. Each part is a box (``west <= east``) and, for four-corner footprints,
the convex quadrilateral of the corners (straight edges in lon/lat, as GeoJSON draws them); the box is then
the bounding box of the quadrilateral's share of −180..180 and the quadrilateral keeps its own longitudes
(a copy shifted by ±360° for the second part), which is exact because queries never leave −180..180.

Semantics (the property tests check the index against a brute-force scan with exactly these):
- box, point and GeoJSON queries: the query and a part *intersect*, boundaries included;
- ``within R km of P``: a spherical cap on the body's mean sphere; a part matches when the great-circle
  distance from P to the part's *box* is at most R (quadrilaterals are taken by their box here).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import box as shapely_box
from shapely.geometry import mapping, shape

from .bodies import Body, body_from_targets
from .errors import FormatError, InvalidQuery
from .model import Product

__all__ = [
    "Box",
    "Cap",
    "Footprint",
    "Part",
    "Piece",
    "box_parts",
    "cap_for",
    "corner_parts",
    "footprint_of",
    "lon_spans",
    "point_parts",
    "query_box_parts",
    "query_pieces",
]

MAX_QUERY_PIECES = 400
"""A GeoJSON query is cut into at most this many convex pieces (triangles, segments, points)."""

Pt = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A lon/lat box, east-positive: −180 <= west <= east <= 180, −90 <= south <= north <= 90."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class Part:
    """One piece of a footprint: a box, and the convex quadrilateral (counter-clockwise) it bounds, if any."""

    box: Box
    quad: tuple[Pt, Pt, Pt, Pt] | None = None


@dataclass(frozen=True)
class Footprint:
    """Where a product looks: its body, its parts, and which label fields it came from."""

    body: Body
    parts: tuple[Part, ...]
    source: str
    """``bbox`` (PDS4 cart:Bounding_Coordinates or PDS3 ranges), ``corners``, ``footprint`` (PDS3 points;
    more than four hull vertices become their box), ``center``, ``ranges`` or ``tile`` (Clementine index)."""

    def geometry(self) -> dict[str, Any]:
        """The footprint as a GeoJSON geometry in east-positive −180..180 (parts kept apart)."""
        geoms = [_part_geometry(p) for p in self.parts]
        if len(geoms) == 1:
            return dict(mapping(geoms[0]))
        if all(g.geom_type == "Polygon" for g in geoms):
            return dict(mapping(shapely.MultiPolygon(geoms)))
        return dict(mapping(shapely.GeometryCollection(geoms)))

    def to_dict(self) -> dict[str, Any]:
        return {"body": self.body.name, "naif_id": self.body.naif_id, "crs": self.body.crs,
                "source": self.source, "geometry": self.geometry()}


# ----------------------------------------------------------------------------------------- boxes
def _finite(*values: float) -> None:
    for v in values:
        if not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidQuery(f"not a finite number: {v!r}")


def _wrap(lon: float) -> float:
    """Longitude into [−180, 180)."""
    return (lon + 180.0) % 360.0 - 180.0


def lon_spans(west: float, east: float) -> list[tuple[float, float]]:
    """East-positive ``west``/``east`` (0..360 or −180..180; west > east wraps) as 1–2 spans in −180..180."""
    _finite(west, east)
    if east - west >= 360.0 or (west != east and (east - west) % 360.0 == 0.0):
        return [(-180.0, 180.0)]
    width = (east - west) % 360.0
    w = _wrap(west)
    e = w + width
    if e <= 180.0:
        return [(w, e)]
    return [(w, 180.0), (-180.0, e - 360.0)]


def _check_lats(south: float, north: float) -> None:
    _finite(south, north)
    if not -90.0 <= south <= north <= 90.0:
        raise InvalidQuery(f"latitudes need -90 <= south <= north <= 90 (south={south}, north={north})")


def box_parts(west: float, south: float, east: float, north: float, *, positive_west: bool = False,
              polar_all_longitudes: bool = True) -> tuple[Box, ...]:
    """Normalised boxes for a west/south/east/north box (see the module notes for the rules)."""
    if positive_west:
        west, east = -west, -east
    _check_lats(south, north)
    if polar_all_longitudes and (north >= 90.0 or south <= -90.0):
        spans = [(-180.0, 180.0)]
    else:
        spans = lon_spans(west, east)
    return tuple(Box(w, south, e, north) for w, e in spans)


def corner_parts(corners: Sequence[Sequence[float]], *, positive_west: bool = False) -> tuple[Part, ...]:
    """Parts of a corner footprint (``[lon, lat]`` per corner, any order): their convex hull (its box when
    it has more than four vertices), split at the antimeridian; a ring that reaches or winds around a pole
    becomes a full-longitude polar cap."""
    pts = [(float(c[0]), float(c[1])) for c in corners]
    if len(pts) < 3:
        raise InvalidQuery("a corner footprint needs at least three corners")
    for lon, lat in pts:
        _finite(lon, lat)
        _check_lats(lat, lat)
    if positive_west:
        pts = [(-lon, lat) for lon, lat in pts]
    base = pts[0][0]
    pts = [(base + _wrap(lon - base), lat) for lon, lat in pts]
    winding = sum(_wrap(b[0] - a[0]) for a, b in zip(pts, pts[1:] + pts[:1], strict=True))
    lats = [lat for _, lat in pts]
    if abs(winding) > 180.0 or max(lats) >= 90.0 or min(lats) <= -90.0:
        pole = 90.0 if sum(lats) > 0 else -90.0
        south, north = (min(lats), pole) if pole > 0 else (pole, max(lats))
        return (Part(Box(-180.0, south, 180.0, north)),)
    hull = shapely.convex_hull(shapely.MultiPoint(pts))
    ring = list(shapely.geometry.polygon.orient(hull, 1.0).exterior.coords)[:-1] \
        if hull.geom_type == "Polygon" else []
    if not 3 <= len(ring) <= 4:  # a line, a point, or more than four corners: their bounding box
        minx, miny, maxx, maxy = hull.bounds
        return tuple(Part(b) for b in box_parts(minx, miny, maxx, maxy, polar_all_longitudes=False))
    quad = _four(ring)
    shift = 360.0 * math.floor((min(x for x, _ in quad) + 180.0) / 360.0)
    out = []
    for k in (0.0, 360.0):
        moved = tuple((x - shift - k, y) for x, y in quad)
        piece = shapely.Polygon(moved).intersection(_WORLD)
        if not piece.is_empty:
            minx, miny, maxx, maxy = piece.bounds
            out.append(Part(Box(minx, miny, maxx, maxy), moved))  # type: ignore[arg-type]
    return tuple(out)


def _four(ring: list[tuple[float, ...]]) -> tuple[Pt, Pt, Pt, Pt]:
    """A convex ring of 3 or 4 vertices as exactly four (a triangle repeats its last vertex)."""
    pts = [(float(p[0]), float(p[1])) for p in ring[:4]]
    while len(pts) < 4:
        pts.append(pts[-1])
    return pts[0], pts[1], pts[2], pts[3]


_WORLD = shapely_box(-180.0, -90.0, 180.0, 90.0)


def _part_geometry(part: Part) -> shapely.Geometry:
    b = part.box
    if part.quad is not None:
        return shapely.Polygon(part.quad).intersection(_WORLD)
    if b.west == b.east and b.south == b.north:
        return shapely.Point(b.west, b.south)
    if b.west == b.east or b.south == b.north:
        return shapely.LineString([(b.west, b.south), (b.east, b.north)])
    return shapely_box(b.west, b.south, b.east, b.north)


# ------------------------------------------------------------------------------ products → footprints
def _longitude_direction(product: Product) -> bool:
    """True when the label says longitudes are positive west (PDS4 cart or the PDS3 keyword)."""
    value = product.extra.get("positive_longitude_direction")
    if value is None:
        value = _find_key(product.discipline, "longitude_direction")
    return isinstance(value, str) and "WEST" in value.upper()


def _find_key(tree: Any, suffix: str) -> Any:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            if str(key).endswith(suffix):
                return value.get("#text") if isinstance(value, Mapping) else value
            found = _find_key(value, suffix)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for item in tree:
            found = _find_key(item, suffix)
            if found is not None:
                return found
    return None


def product_body(product: Product) -> Body | None:
    """The body the product's geometry is on (first known target, else its context-target reference)."""
    refs = [r.target for r in product.references if "context:target:" in r.target]
    return body_from_targets(product.targets, refs)


def footprint_of(product: Product) -> Footprint | None:
    """The footprint a product's label gives, or None when it gives none (or no body to put it on).

    Raises FormatError when the label's numbers cannot be a footprint (latitude 95, south above north...).
    """
    extra = product.extra
    has_shape = (product.bbox is not None or extra.get("corners") or extra.get("footprint") or extra.get("center")
                 or (extra.get("lat_range") and extra.get("lon_range")))
    if not has_shape:
        return None
    body = product_body(product)
    if body is None:
        return None
    west = _longitude_direction(product)
    try:
        for key in ("corners", "footprint"):
            if extra.get(key):
                return Footprint(body, corner_parts(extra[key], positive_west=west), key)
        if product.bbox is not None:
            b = product.bbox
            parts = box_parts(b.west, b.south, b.east, b.north, positive_west=west)
            return Footprint(body, tuple(Part(x) for x in parts), str(extra.get("footprint_source", "bbox")))
        if extra.get("lat_range") and extra.get("lon_range"):
            (south, north), (w, e) = extra["lat_range"], extra["lon_range"]
            parts = box_parts(float(w), float(south), float(e), float(north), positive_west=west)
            return Footprint(body, tuple(Part(x) for x in parts), "ranges")
        if extra.get("center"):
            lon, lat = (float(v) for v in extra["center"])
            parts = box_parts(lon, lat, lon, lat, positive_west=west)
            return Footprint(body, tuple(Part(x) for x in parts), "center")
    except (InvalidQuery, TypeError, ValueError) as exc:
        raise FormatError(f"unusable footprint in {product.lidvid}: {exc}") from exc
    return None


# ------------------------------------------------------------------------------------ query shapes
def _mirror(boxes: Iterable[Box]) -> tuple[Box, ...]:
    """Add a zero-width copy on the other side for every box edge lying on ±180 (the same meridian)."""
    out = list(boxes)
    for b in list(out):
        if b.west == -180.0 and b.east < 180.0:
            out.append(Box(180.0, b.south, 180.0, b.north))
        if b.east == 180.0 and b.west > -180.0:
            out.append(Box(-180.0, b.south, -180.0, b.north))
    return tuple(out)


def query_box_parts(bbox: Sequence[float]) -> tuple[Box, ...]:
    """A query box ``[west, south, east, north]`` (0..360 or ±180, west > east wraps), taken literally."""
    if len(bbox) != 4:
        raise InvalidQuery("a bbox is four numbers: west,south,east,north")
    w, s, e, n = (float(v) for v in bbox)
    _check_query_lons(w, e)
    return _mirror(box_parts(w, s, e, n, polar_all_longitudes=False))


def point_parts(lon: float, lat: float) -> tuple[Box, ...]:
    """A query point as a zero-size box (a pole is one point whatever its longitude)."""
    _finite(lon, lat)
    _check_query_lons(lon, lon)
    return _mirror(box_parts(lon, lat, lon, lat, polar_all_longitudes=False))


def _check_query_lons(*lons: float) -> None:
    _finite(*lons)
    for v in lons:
        if not -360.0 <= v <= 720.0:
            raise InvalidQuery(f"longitude {v} is outside -360..720")


@dataclass(frozen=True)
class Cap:
    """A spherical cap: centre (lon, lat) in degrees, angular radius in radians, and its bounding boxes."""

    lon: float
    lat: float
    radius_rad: float
    boxes: tuple[Box, ...]


def cap_for(lon: float, lat: float, km: float, body: Body) -> Cap:
    """The cap of ``km`` around (lon, lat) on ``body``'s mean sphere, with boxes that hold it."""
    _finite(lon, lat, km)
    _check_query_lons(lon)
    _check_lats(lat, lat)
    if km < 0:
        raise InvalidQuery("a radius must not be negative")
    radius = body.mean_radius_km
    if radius is None:
        raise InvalidQuery(f"no radius is known for {body.name}; distance queries need one")
    r = km / radius
    lon = _wrap(lon) if lon != 180.0 else 180.0
    pad = 1e-9
    rdeg = math.degrees(r) + pad
    south, north = max(-90.0, lat - rdeg), min(90.0, lat + rdeg)
    boxes: tuple[Box, ...]
    if r >= math.pi or north >= 90.0 or south <= -90.0:
        boxes = (Box(-180.0, south, 180.0, north),)
    else:
        half = math.degrees(math.asin(min(1.0, math.sin(r) / math.cos(math.radians(lat))))) + pad
        boxes = box_parts(lon - half, south, lon + half, north, polar_all_longitudes=False)
    return Cap(lon, lat, min(r, math.pi), boxes)


@dataclass(frozen=True)
class Piece:
    """A convex piece of a query geometry: 1 (point), 2 (segment) or 3+ vertices counter-clockwise."""

    vertices: tuple[Pt, ...]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs = [x for x, _ in self.vertices]
        ys = [y for _, y in self.vertices]
        return min(xs), min(ys), max(xs), max(ys)


def query_pieces(geometry: Mapping[str, Any]) -> tuple[Piece, ...]:
    """A GeoJSON geometry (any type; 0..360 or ±180, continuous across 180° or split) as convex pieces
    inside −180..180: the geometry wrapped onto the body, then cut into triangles, segments and points."""
    try:
        geom = shape(geometry)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as exc:
        raise InvalidQuery(f"not a GeoJSON geometry: {exc}") from exc
    if geom.is_empty:
        raise InvalidQuery("the GeoJSON geometry is empty")
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds):
        raise InvalidQuery("GeoJSON coordinates must be finite numbers (no NaN or Infinity)")
    if miny < -90.0 or maxy > 90.0:
        raise InvalidQuery("GeoJSON latitudes must lie within -90..90")
    if minx < -360.0 or maxx > 720.0:  # the geometry is wrapped once per turn: 1e12 degrees would never end
        raise InvalidQuery("GeoJSON longitudes must lie within -360..720")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    pieces: list[Piece] = []
    for k in range(math.floor((minx + 180.0) / 360.0), math.floor((maxx + 180.0) / 360.0) + 1):
        moved = shapely.transform(geom, lambda xy, k=k: xy - [360.0 * k, 0.0])
        pieces += _convex_pieces(moved.intersection(_WORLD))
        if len(pieces) > MAX_QUERY_PIECES:
            raise InvalidQuery(f"the geometry is too complex (over {MAX_QUERY_PIECES} pieces); simplify it")
    if not pieces:
        raise InvalidQuery("the GeoJSON geometry lies outside -180..180 / -90..90 after wrapping")
    return tuple(pieces)


def _convex_pieces(geom: shapely.Geometry) -> list[Piece]:
    if geom.is_empty:
        return []
    kind = geom.geom_type
    if kind.startswith("Multi") or kind == "GeometryCollection":
        return [p for g in geom.geoms for p in _convex_pieces(g)]
    if kind == "Point":
        return [Piece(((geom.x, geom.y),))]
    if kind in ("LineString", "LinearRing"):
        c = list(geom.coords)
        return [Piece(((a[0], a[1]), (b[0], b[1]))) for a, b in zip(c, c[1:], strict=False) if a != b] or \
            [Piece(((c[0][0], c[0][1]),))]
    if kind == "Polygon":
        if geom.area == 0.0:
            return _convex_pieces(geom.exterior)
        tris = shapely.constrained_delaunay_triangles(geom)
        rings = []
        for t in tris.geoms:
            ring = list(shapely.geometry.polygon.orient(t, 1.0).exterior.coords)[:-1]
            rings.append([(float(x), float(y)) for x, y, *_ in ring])
        return [Piece(tuple(r)) for r in _merged_convex(rings)]
    raise InvalidQuery(f"cannot search by a GeoJSON {kind}")


MAX_PIECE_VERTICES = 32
"""Vertices a merged convex query piece may have (each is a term of its exact test in SQL)."""


def _merged_convex(rings: list[list[Pt]]) -> list[list[Pt]]:
    """Triangles of a polygon (counter-clockwise rings) merged across their shared edges while the union stays
    convex (Hertel–Mehlhorn): a convex outline of 300 vertices (a crater rim, a landing ellipse) is a
    handful of pieces, not 298 triangles, and a search runs one R*Tree branch per piece."""
    alive = dict(enumerate(rings))
    owner: dict[tuple[Pt, Pt], int] = {}
    for k, ring in alive.items():
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            owner[(a, b)] = k
    for a, b in [e for e in owner if (e[1], e[0]) in owner and e < (e[1], e[0])]:
        left, right = owner.get((a, b)), owner.get((b, a))
        if left is None or right is None or left == right:
            continue
        i, j = left, right
        merged = _stitch(alive[i], alive[j], a, b)
        if merged is None or len(merged) > MAX_PIECE_VERTICES or not _convex(merged):
            continue
        for ring in (alive[i], alive[j]):
            for e in zip(ring, ring[1:] + ring[:1], strict=True):
                owner.pop(e, None)
        alive[i] = merged
        del alive[j]
        for e in zip(merged, merged[1:] + merged[:1], strict=True):
            owner[e] = i
    return list(alive.values())


def _stitch(first: list[Pt], second: list[Pt], a: Pt, b: Pt) -> list[Pt] | None:
    """The ring of two counter-clockwise rings joined along the edge a→b of ``first`` (b→a of ``second``)."""
    try:
        k, m = first.index(b), second.index(a)
    except ValueError:
        return None
    own = first[k:] + first[:k]  # b ... a
    other = second[m:] + second[:m]  # a ... b
    return own + other[1:-1]


def _convex(ring: list[Pt]) -> bool:
    """Whether a counter-clockwise ring turns left (or goes straight) at every vertex."""
    n = len(ring)
    scale = max(max(abs(x), abs(y)) for x, y in ring) or 1.0
    for k in range(n):
        (ax, ay), (bx, by), (cx, cy) = ring[k - 1], ring[k], ring[(k + 1) % n]
        if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) < -1e-12 * scale * scale:
            return False
    return True
