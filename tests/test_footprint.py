"""Footprint normalisation: conventions, wrapping, poles, zero-size boxes, corners, bodies and CRS codes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import shapely
import shapely.geometry

from lunarchive.bodies import (
    body_from_targets,
    known_bodies,
    minor_planet_number,
    normalize_target,
    read_pck_radii,
    resolve_body,
)
from lunarchive.errors import FormatError, InvalidQuery
from lunarchive.footprint import (
    MAX_PIECE_VERTICES,
    Box,
    box_parts,
    cap_for,
    corner_parts,
    footprint_of,
    lon_spans,
    point_parts,
    query_box_parts,
    query_pieces,
)
from lunarchive.model import BBox, Product, Reference

from .conftest import corpus_file


@pytest.mark.parametrize(
    ("west", "east", "spans"),
    [
        (10, 20, [(10, 20)]),
        (190, 200, [(-170, -160)]),  # 0..360 input
        (-20, 10, [(-20, 10)]),  # -180..180 input
        (350, 10, [(-10, 10)]),  # west > east wraps across 0°
        (170, -170, [(170, 180), (-180, -170)]),  # wraps across 180°: two parts
        (170, 190, [(170, 180), (-180, -170)]),  # continuous across 180°
        (0, 360, [(-180, 180)]),
        (360, 0, [(-180, 180)]),  # same meridian, different numbers: all longitudes
        (-180, 180, [(-180, 180)]),
        (42, 42, [(42, 42)]),  # zero width is valid
        (180, 180, [(-180, -180)]),
        (170, 180, [(170, 180)]),
    ],
)
def test_lon_spans(west: float, east: float, spans: list[tuple[float, float]]) -> None:
    assert lon_spans(west, east) == spans


def test_positive_west_boxes_are_turned_east() -> None:
    # Titan's Cassini BIDR: westernmost 320.23°W, easternmost 306.92°W = 39.77°E .. 53.08°E
    (b,) = box_parts(320.23069762, -18.34847358, 306.92146819, 4.82875716, positive_west=True)
    assert b.west == pytest.approx(39.76930238) and b.east == pytest.approx(53.07853181)
    # Read as positive east the same numbers would wrap across 0° (and 180°).
    assert len(box_parts(320.23069762, -18.3, 306.92146819, 4.8)) == 2


def test_poles_and_zero_height() -> None:
    assert box_parts(10, 80, 20, 90) == (Box(-180, 80, 180, 90),)
    assert box_parts(0, -90, 0, -85) == (Box(-180, -90, 180, -85),)
    assert box_parts(-135, 61, 135, 61) == (Box(-135, 61, 135, 61),)  # Clementine north pole: north = south
    assert query_box_parts([10, 80, 20, 90]) == (Box(10, 80, 20, 90),)  # a query wedge stays a wedge
    with pytest.raises(InvalidQuery):
        box_parts(0, 10, 1, 5)
    with pytest.raises(InvalidQuery):
        box_parts(0, 10, 1, 95)
    with pytest.raises(InvalidQuery):
        query_box_parts([0, 0, float("nan"), 1])


def test_query_edges_on_the_antimeridian_are_mirrored() -> None:
    assert set(point_parts(180, 5)) == {Box(-180, 5, -180, 5), Box(180, 5, 180, 5)}
    assert Box(-180, 0, -180, 10) in query_box_parts([170, 0, 180, 10])
    assert point_parts(-181, 0) == (Box(179, 0, 179, 0),)
    with pytest.raises(InvalidQuery):
        point_parts(800, 0)


def test_corners_hull_split_and_polar() -> None:
    kaguya = [[44.883039, -81.172073], [48.534829, -81.20035], [48.427901, -82.797271],
              [43.996992, -82.764677]]
    (part,) = corner_parts(kaguya)
    assert part.quad is not None and part.box.west == pytest.approx(43.996992)
    crossing = corner_parts([[178, 0], [182, 0], [182, 2], [178, 2]])
    assert [(p.box.west, p.box.east) for p in crossing] == [(178, 180), (-180, -178)]
    assert crossing[1].quad is not None and min(x for x, _ in crossing[1].quad) == -182
    around_pole = corner_parts([[0, 85], [90, 85], [180, 85], [270, 85]])
    assert [p.box for p in around_pole] == [Box(-180, 85, 180, 90)]
    line = corner_parts([[0, 0], [1, 1], [2, 2], [3, 3]])
    assert line[0].quad is None and line[0].box == Box(0, 0, 3, 3)


def test_cap_boxes() -> None:
    moon = resolve_body("moon")
    cap = cap_for(0, 0, 1737.4 * math.radians(10), moon)
    (b,) = cap.boxes
    assert b.west == pytest.approx(-10) and b.north == pytest.approx(10)
    assert cap_for(0, 85, 1737.4 * math.radians(10), moon).boxes[0].west == -180  # holds the pole
    assert len(cap_for(179, 0, 200, moon).boxes) == 2  # crosses 180°
    with pytest.raises(InvalidQuery, match="radius"):
        cap_for(0, 0, 10, resolve_body("Lunar Sample"))
    with pytest.raises(InvalidQuery):
        cap_for(0, 0, -1, moon)


def test_query_pieces_wrap_and_merge_into_convex_pieces() -> None:
    square = {"type": "Polygon", "coordinates": [[[170, 0], [190, 0], [190, 10], [170, 10], [170, 0]]]}
    pieces = query_pieces(square)
    xs = sorted({x for p in pieces for x, _ in p.vertices})
    assert xs[0] == -180 and xs[-1] == 180 and sorted(len(p.vertices) for p in pieces) == [4, 4]  # two squares
    concave = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 1], [1, 1], [1, 4], [0, 4], [0, 0]]]}
    pieces = query_pieces(concave)
    assert 2 <= len(pieces) <= 3  # an L: its 4 triangles merged as far as convexity allows
    assert shapely.unary_union([shapely.Polygon(p.vertices) for p in pieces]).equals(shapely.geometry.shape(concave))
    for p in pieces:  # convex, counter-clockwise
        poly = shapely.Polygon(p.vertices)
        assert poly.exterior.is_ccw and abs(poly.convex_hull.area - poly.area) < 1e-9
    # a crater rim of 300 vertices is a handful of pieces of at most MAX_PIECE_VERTICES vertices (was 298)
    rim = [[10 + 5 * math.cos(2 * math.pi * k / 300), -80 + 2 * math.sin(2 * math.pi * k / 300)] for k in range(300)]
    pieces = query_pieces({"type": "Polygon", "coordinates": [rim + rim[:1]]})
    assert len(pieces) <= 20
    assert all(len(p.vertices) <= MAX_PIECE_VERTICES for p in pieces)
    area = sum(shapely.Polygon(p.vertices).area for p in pieces)
    assert abs(area - shapely.Polygon(rim).area) < 1e-9
    assert query_pieces({"type": "Point", "coordinates": [200, 5]})[0].vertices == ((-160, 5),)
    for bad in ({"type": "Polygon"}, {"type": "Point", "coordinates": [0, 95]}, {"type": "Nope"}):
        with pytest.raises(InvalidQuery):
            query_pieces(bad)


def _product(**kw: object) -> Product:
    return Product("urn:test:fp:x", "1.0", "Product_Observational", **kw)  # type: ignore[arg-type]


def test_footprint_of_every_source() -> None:
    fp = footprint_of(_product(targets=["Moon"], bbox=BBox(350, -5, 10, 5)))
    assert fp is not None and fp.source == "bbox" and fp.body.crs == "IAU_2015:30100"
    assert fp.geometry()["type"] == "Polygon"
    fp = footprint_of(_product(targets=["MERCURY"], extra={"center": [248.17066, 46.26998]}))
    assert fp is not None and fp.source == "center"
    assert fp.geometry() == {"type": "Point", "coordinates": (-111.82934, 46.26998)}
    fp = footprint_of(_product(targets=["1 CERES"], extra={"lat_range": [-10, 10], "lon_range": [350, 10],
                                                           "positive_longitude_direction": "EAST"}))
    assert fp is not None and fp.body.name == "CERES" and fp.body.crs == "IAU_2015:200000100"
    fp = footprint_of(_product(targets=["moon"], extra={"corners": [[179, 0], [181, 0], [181, 1], [179, 1]]}))
    assert fp is not None and fp.geometry()["type"] == "MultiPolygon"
    json.dumps(fp.to_dict())
    assert footprint_of(_product(targets=["moon"])) is None
    assert footprint_of(_product(bbox=BBox(0, 0, 1, 1))) is None  # no body to put it on
    with pytest.raises(FormatError):
        footprint_of(_product(targets=["moon"], bbox=BBox(0, 10, 1, 5)))


def test_footprint_body_from_context_reference() -> None:
    """Clementine's north-pole label names its target ``{target}``; its context reference names the Moon."""
    ref = Reference("urn:nasa:pds:context:target:satellite.earth.moon::1.1", "data_to_target", "lidvid")
    fp = footprint_of(_product(targets=["{target}"], references=[ref], bbox=BBox(-135, 61, 135, 61)))
    assert fp is not None and fp.body.name == "MOON"
    assert fp.geometry() == {"type": "LineString", "coordinates": ((-135.0, 61.0), (135.0, 61.0))}


@pytest.mark.parametrize(
    ("name", "body", "naif"),
    [("MOON", "MOON", 301), ("Moon", "MOON", 301), ("moon", "MOON", 301), (" moon ", "MOON", 301),
     ("(134340) Pluto", "PLUTO", 999), ("1 CERES", "CERES", 2000001), ("(101955) BENNU", "BENNU", 2101955),
     ("TITAN", "TITAN", 606), ("Mars", "MARS", 499), ("Lunar Sample", "LUNAR SAMPLE", None),
     ("urn:nasa:pds:context:target:satellite.earth.moon::1.1", "MOON", 301)],
)
def test_body_names(name: str, body: str, naif: int | None) -> None:
    b = resolve_body(name)
    assert (b.name, b.naif_id) == (body, naif)
    assert b.crs == (None if naif is None else f"IAU_2015:{naif * 100}")


def test_bodies_apart_and_normalize_target_unchanged() -> None:
    assert resolve_body("Moon") != resolve_body("Mars")
    assert normalize_target("(134340) Pluto") == "PLUTO" and normalize_target("  moon ") == "MOON"
    assert body_from_targets(["Lunar Sample", "Moon"]) == resolve_body("MOON")
    assert body_from_targets([]) is None and "MOON" in known_bodies()
    assert resolve_body("moon").mean_radius_km == 1737.4


def test_radii_table_is_pck00011() -> None:
    """The radii lunarchive ships are exactly the BODYnnn_RADII of NAIF's pck00011.tpc."""
    radii = read_pck_radii(corpus_file("spice/pck/pck00011.tpc"))
    assert radii[301] == (1737.4, 1737.4, 1737.4) and len(radii) == 95
    for name in known_bodies():
        b = resolve_body(name)
        assert b.radii == radii.get(b.naif_id or 0), name
    assert all(any(resolve_body(n).naif_id == naif for n in known_bodies()) for naif in radii)


def test_chandrayaan2_image_corners_are_its_footprint(data_dir: Path) -> None:
    """A Chandrayaan-2 OHRC image near the south pole (ISIS3's test label): its isda: corners, the refined
    set rather than the system-level one, are its footprint, found by a point inside it and not outside."""
    from lunarchive.config import open_archive
    from lunarchive.formats.pds4 import parse_label
    from lunarchive.ingest import ingest
    from lunarchive.query import Query
    from lunarchive.search import search

    label = Path(__file__).parent / "data/github/pds4/chandrayaan2_ohrc/ch2_ohr_ncp_20240229T0921593215_d_img_d18.xml"
    product = parse_label(label)
    assert product.extra["corners_from"] == "Refined_Corner_Coordinates"
    assert product.extra["corners"][0] == [31.591745, -85.086985]  # upper left, as [lon, lat]
    assert parse_label(label).extra["corners"] == pds4_without_discipline(label).extra["corners"]
    with open_archive(data_dir) as archive:
        ingest(archive, [label])
        inside = search(archive.catalog, Query(body="moon", point=(30.0, -85.5)))
        outside = search(archive.catalog, Query(body="moon", point=(30.0, -84.0)))
    assert [r["lid"] for r in inside] == [product.lid] and outside == []


def pds4_without_discipline(label: Path) -> Product:
    from lunarchive.formats.pds4 import product_from_tree
    from lunarchive.formats.xmlsafe import parse_xml

    return product_from_tree(parse_xml(label.read_bytes(), str(label)), str(label), discipline=False)


def test_minor_planet_numbers_and_provisional_designations() -> None:
    """A numbered minor planet's number is a search term beside its name; a provisional designation (Bennu was
    1999 RQ36) is a name whole, not a number and a name (it had been cut to "RQ36")."""
    assert [minor_planet_number(t) for t in ("(101955) Bennu", "1 CERES", "Bennu", "1999 RQ36", "2008 EV5")] == [
        "101955", "1", None, None, None]
    assert normalize_target("1999 RQ36") == "1999 RQ36" and normalize_target("(101955) BENNU") == "BENNU"


def test_comet_names_in_either_pds_order_and_ring_targets() -> None:
    """A comet's PDS name gives its number, its name with and without the discoverer's count, and its first
    designation, whichever of the two is in parentheses (``122P/1846 D1 (de Vico 1)``, from pds4-tools'
    test labels, was found by neither "de Vico" nor "1846 D1"); a ring target LID gives its planet too."""
    from lunarchive.bodies import comet_names
    from lunarchive.catalog.rows import context_terms

    assert comet_names("122P/1846 D1 (de Vico 1)") == [
        "122P", "122P/DE VICO 1", "122P/DE VICO", "DE VICO 1", "DE VICO", "1846 D1"]
    assert comet_names("67P/CHURYUMOV-GERASIMENKO 1 (1969 R1)")[:2] == ["67P", "67P/CHURYUMOV-GERASIMENKO 1"]
    assert "1969 R1" in comet_names("67P/CHURYUMOV-GERASIMENKO 1 (1969 R1)")
    assert comet_names("C/2012 S1 (ISON)") == ["C/2012 S1", "C/ISON", "ISON", "2012 S1"]
    assert comet_names("67P/CHURYUMOV-GERASIMENKO 1 (1969 R1)")[-2:] == ["CHURYUMOV", "GERASIMENKO"]
    assert comet_names("D/1993 F2 (Shoemaker-Levy 9)")[-2:] == ["SHOEMAKER", "LEVY"]
    assert comet_names("Moon") == [] and comet_names("9P/TEMPEL 1 (a note)") == []
    terms = context_terms(["urn:nasa:pds:context:target:ring.uranus.rings"])
    assert ("target", "URANUS") in terms and ("target", "URANUS RINGS") in terms
    assert ("target", "MOON") in context_terms(["urn:nasa:pds:context:target:satellite.earth.moon"])
    assert ("target", "EARTH") not in context_terms(["urn:nasa:pds:context:target:satellite.earth.moon"])
