"""Spatial search on real labels: the hand-checked cases of the corpus, body scoping, the Clementine index."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import shapely

from lunarchive.config import open_archive
from lunarchive.errors import InvalidQuery
from lunarchive.ingest import ingest
from lunarchive.query import Query
from lunarchive.search import count, search

from .conftest import corpus_file, shared_corpus

TITAN = "pds4/non_lunar/titan_cassini_radar/BILQH07S314_D065_T008S02_V02.xml"
NORTH_POLE = "pds4/clementine/basemap/basemap_north_pole.xml"
KAGUYA_TC = "pds3/kaguya_tc/TC1S2B0_01_06691S820E0465.lbl"
MESSENGER = "pds3/non_lunar/messenger_mdis/EN1072174528M.lbl"
DAWN = "pds3/non_lunar/dawn_fc/FC21A0038582_15170161546F6F.lbl"


def _lids(data_dir: Path, **kw: object) -> set[str]:
    with open_archive(data_dir) as archive:
        q = Query(limit=1000, **kw)  # type: ignore[arg-type]
        rows = search(archive.catalog, q)
        assert count(archive.catalog, q) == len(rows)
    return {r["lid"].rsplit(":", 1)[-1] for r in rows}


@pytest.fixture
def labels(data_dir: Path) -> Path:
    with open_archive(data_dir) as archive:
        ingest(archive, [corpus_file(rel) for rel in (TITAN, NORTH_POLE, KAGUYA_TC, MESSENGER, DAWN)])
    return data_dir


def test_titan_box_follows_the_labels_longitude_direction(labels: Path) -> None:
    """west=320.23 east=306.92 with *Positive West*: 306.92–320.23°W = 39.77–53.08°E, centred 314°W (the
    BIDR's name, BILQH07S314, says 7°S 314°W). Read as positive east the box would wrap across 0°."""
    found = {"bilqh07s314_d065_t008s02_v02"}
    assert _lids(labels, body="TITAN", point=(360 - 314, -7)) == found
    assert _lids(labels, body="titan", bbox=(53.0, -20, 60, 0)) == found  # touches its east edge (53.08)
    assert _lids(labels, body="titan", point=(0, -7)) == set()  # not across 0°
    assert _lids(labels, body="titan", bbox=(300, -20, 30, 10)) == set()  # wraps over 0°, misses 40–53°E
    assert _lids(labels, body="moon", point=(46, -7)) == set()  # a Titan box never matches a Moon search
    assert _lids(labels, body="titan", within=(30, -7, 2575 * 0.175)) == found  # 10° ≈ 0.175 rad from 40°E


def test_numbered_minor_planet_targets_match_their_name(labels: Path) -> None:
    """Dawn's label says TARGET_NAME = "1 CERES": --target ceres (or "(1) Ceres") finds it."""
    dawn = {"0038582"}  # the last part of its LID (from PRODUCT_ID)
    assert _lids(labels, targets=["ceres"]) == dawn
    assert _lids(labels, targets=["(1) Ceres"]) == dawn
    assert _lids(labels, targets=["52 Europa"]) == set()


def test_clementine_north_pole_zero_height_box(labels: Path) -> None:
    """The label gives north = south = 61 (and target ``{target}``; its context reference names the Moon)."""
    found = {"basemap_north_pole"}
    assert _lids(labels, body="moon", bbox=(-10, 60, 10, 62)) == found
    assert _lids(labels, body="moon", point=(135, 61)) == found  # its east end, boundary included
    assert _lids(labels, body="moon", bbox=(-10, 61, 10, 61)) == found
    assert _lids(labels, body="moon", bbox=(-10, 61.000001, 10, 62)) == set()
    assert _lids(labels, body="moon", point=(136, 61)) == set()
    assert _lids(labels, body="moon", point=(0, 62)) == set()


def _tc_corners() -> list[tuple[float, float]]:
    """UL, UR, LR, LL corners read from the label text (independently of the PDS3 parser)."""
    text = corpus_file(KAGUYA_TC).read_text(encoding="latin-1")
    out = []
    for corner in ("UPPER_LEFT", "UPPER_RIGHT", "LOWER_RIGHT", "LOWER_LEFT"):
        lat = float(re.search(rf"{corner}_LATITUDE\s*=\s*([-\d.]+)", text)[1])  # type: ignore[index]
        lon = float(re.search(rf"{corner}_LONGITUDE\s*=\s*([-\d.]+)", text)[1])  # type: ignore[index]
        out.append((lon, lat))
    return out


def test_kaguya_scene_found_inside_its_four_corners_only(labels: Path) -> None:
    quad = shapely.Polygon(_tc_corners())
    scene = {"tc1s2b0_01_06691s820e0465"}
    centre = quad.centroid
    assert _lids(labels, body="moon", point=(centre.x, centre.y)) == scene
    # The middle of the western edge, and points 0.001° either side of it (inside the scene's box both).
    (ax, ay), (bx, by) = _tc_corners()[3], _tc_corners()[0]
    mx, my = (ax + bx) / 2, (ay + by) / 2
    assert _lids(labels, body="moon", point=(mx + 0.001, my)) == scene
    assert _lids(labels, body="moon", point=(mx - 0.001, my)) == set()
    minx, miny, maxx, maxy = quad.bounds
    assert minx < mx - 0.001 < maxx and miny < my < maxy  # "just outside" is inside the bounding box
    assert _lids(labels, body="moon", point=(minx, maxy)) == set()  # the box's corner is outside the scene
    miss = shapely.Polygon([(40, -81), (44.8, -81), (40, -83)])  # overlaps the scene's box, not the scene
    hit = shapely.Polygon([(40, -81), (46, -81), (40, -84)])
    assert miss.intersects(shapely.box(*quad.bounds)) and not miss.intersects(quad) and hit.intersects(quad)
    assert _lids(labels, body="moon", intersects=shapely.geometry.mapping(miss)) == set()
    assert _lids(labels, body="moon", intersects=shapely.geometry.mapping(hit)) == scene
    assert _lids(labels, body="moon", point=(centre.x, centre.y), start="2009-04-05T20:10:00",
                 stop="2009-04-05T20:10:01") == scene
    assert _lids(labels, body="moon", point=(centre.x, centre.y), start="2009-04-06") == set()


def test_messenger_centre_and_dawn_without_geometry(labels: Path) -> None:
    assert _lids(labels, body="mercury", within=(248.17066, 46.26998, 0.001)) == {"en1072174528m"}
    assert _lids(labels, body="mercury", point=(248.17066 - 360, 46.26998)) == {"en1072174528m"}
    assert _lids(labels, body="ceres") == set()  # Dawn's label gives N/A for every lat/lon keyword
    assert _lids(labels, body="moon") == {"basemap_north_pole", "tc1s2b0_01_06691s820e0465"}


def test_spatial_filters_combine_with_the_others(labels: Path) -> None:
    box = (-180, -90, 180, 90)
    # the Clementine basemap's target name is a template placeholder, but its target LID is the Moon's
    assert _lids(labels, body="moon", bbox=box, targets=["MOON"]) == {"tc1s2b0_01_06691s820e0465", "basemap_north_pole"}
    assert _lids(labels, body="moon", bbox=box, targets=["MOON"], text="TC1S2B0*") == {"tc1s2b0_01_06691s820e0465"}
    assert _lids(labels, body="moon", bbox=box, text="basemap") == {"basemap_north_pole"}
    assert _lids(labels, targets=["titan"], bbox=(0, -90, 360, 90)) == {"bilqh07s314_d065_t008s02_v02"}
    with pytest.raises(InvalidQuery, match="body"):
        Query(bbox=box)
    with pytest.raises(InvalidQuery):
        Query(body="moon", bbox=(0, 0, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidQuery, match="radius"):
        Query(body="lunar sample", within=(0, 0, 5))
    assert Query(body="moon", bbox=[0, 0, 1, 1]).bbox == (0.0, 0.0, 1.0, 1.0)  # type: ignore[arg-type]


def test_footprints_stored_as_geojson_with_the_body_crs(labels: Path) -> None:
    conn = sqlite3.connect(labels / "catalog.sqlite")
    rows = conn.execute("SELECT p.lid, b.name, b.crs, f.source, f.geojson FROM footprints f"
                        " JOIN products p ON p.id = f.product_id"
                        " JOIN footprint_bodies b ON b.id = f.body_id").fetchall()
    conn.close()
    got = {lid.rsplit(":", 1)[-1]: (body, crs, source, json.loads(g)) for lid, body, crs, source, g in rows}
    assert got["tc1s2b0_01_06691s820e0465"][:3] == ("MOON", "IAU_2015:30100", "corners")
    assert got["tc1s2b0_01_06691s820e0465"][3]["type"] == "Polygon"
    assert got["bilqh07s314_d065_t008s02_v02"][:3] == ("TITAN", "IAU_2015:60600", "bbox")
    assert got["en1072174528m"][3]["type"] == "Point" and got["en1072174528m"][1] == "IAU_2015:19900"
    assert got["basemap_north_pole"][3] == {"type": "LineString", "coordinates": [[-135.0, 61.0], [135.0, 61.0]]}


def test_upgrade_indexes_footprints_of_existing_products(labels: Path) -> None:
    """A catalogue written before footprints existed gets them when migration 0002 runs."""
    db = labels / "catalog.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript("DROP TABLE footprint_rtree; DROP TABLE footprints; DROP TABLE footprint_bodies;"
                       " DELETE FROM _migrations WHERE name = '0002_footprints';")
    conn.close()
    assert _lids(labels, body="moon") == {"basemap_north_pole", "tc1s2b0_01_06691s820e0465"}
    assert _lids(labels, body="titan", point=(46, -7)) == {"bilqh07s314_d065_t008s02_v02"}


def test_clementine_index_tiles(data_dir: Path) -> None:
    """The two Clementine index tables: one product per tile (9,431 joined on the PDS3 path), footprints
    from the tile ids."""
    index = shared_corpus() / "pds3" / "index" / "clementine"
    with open_archive(data_dir) as archive:
        report = ingest(archive, [index / "mosaic_product_index.csv"])  # joined with the table beside it
    assert (report.added, report.failed, report.findings) == (9431, 0, [])
    with open_archive(data_dir) as archive:
        assert count(archive.catalog, Query(body="moon")) == 9431
        row = archive.catalog.get("urn:lunarchive:clementine_index:cl_6016:h02n3162::1.0")
    assert row["extra"]["pds4_product_id"] == "hires_02n_3162e" and row["label_format"] == "other"
    assert "h02n3162" in _lids(data_dir, body="moon", point=(316.2, 2.6))  # hires_02n_3162e
    assert "h02n3162" not in _lids(data_dir, body="moon", point=(316.2, 3.6))  # 1.75–3.5°N
    assert "g78nn029" in _lids(data_dir, body="moon", point=(29.5, 78.5))
    pole = _lids(data_dir, body="moon", point=(123, -90))
    assert {"bj90a000", "bi87s090"} <= pole and all(not x.startswith(("bi87n", "bj90b")) for x in pole)
    tile = _lids(data_dir, body="moon", bbox=(3, 3, 3, 3), text="basemap_03n_003e")
    assert tile == {"bi03n003"}  # 0–6°E, 0–7°N
    assert _lids(data_dir, body="moon", bbox=(6.5, 3, 6.5, 3), text="basemap_03n_003e") == set()
    with open_archive(data_dir) as archive:
        again = ingest(archive, [index])  # both tables read once, together; and the PDS4 label beside them
    assert (again.added, again.unchanged) == (1, 9431)


def test_place_names_find_products(labels: Path) -> None:
    """Scott crater (LOLA catalogue, radius 51.5 km) holds the Kaguya TC scene's centre."""
    from lunarchive.formats.gazetteer import Gazetteer

    scott = Gazetteer.load().resolve("scott")
    assert scott.radius_km == 51.5
    assert _lids(labels, body="moon", **scott.filter()) == {"tc1s2b0_01_06691s820e0465"}
    nobile = Gazetteer.load().resolve("Nobile")
    assert _lids(labels, body="moon", within=(nobile.lon, nobile.lat, 50)) == set()
    assert _lids(labels, body="moon", within=(nobile.lon, nobile.lat, 120)) == {"tc1s2b0_01_06691s820e0465"}
