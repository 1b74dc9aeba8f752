"""``lunarchive search`` spatial options and ``lunarchive places`` as a script sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import corpus_file

SCENE = "urn:lunarchive:pds3:sln-l-tc-3-s-level2b0-v1.0:tc1s2b0_01_06691s820e0465"
NORTH_POLE = "urn:nasa:pds:clementine:data:basemap_north_pole"
TITAN = "urn:nasa:pds:cassini-huygens-coradar:coradr_0065:bilqh07s314_d065_t008s02_v02"


def run(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.run([sys.executable, "-m", "lunarchive.cli", *args, *extra], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    for rel in ("pds3/kaguya_tc/TC1S2B0_01_06691S820E0465.lbl", "pds4/clementine/basemap/basemap_north_pole.xml",
                "pds4/non_lunar/titan_cassini_radar/BILQH07S314_D065_T008S02_V02.xml"):
        r = run("ingest", str(corpus_file(rel)), data_dir=data_dir)
        assert r.returncode == 0, r.stderr
    return data_dir


def lids(r: subprocess.CompletedProcess[str]) -> set[str]:
    assert r.returncode == 0, r.stderr
    return {row["lid"] for row in json.loads(r.stdout)}


def test_bbox_point_within(filled: Path) -> None:
    assert lids(run("search", "--body", "moon", "--bbox", "-10,60,10,62", "--json", data_dir=filled)) == {
        NORTH_POLE}
    assert lids(run("search", "--body", "Moon", "--point", "46.48,-81.99", "--json", data_dir=filled)) == {SCENE}
    assert lids(run("search", "--body", "MOON", "--within-km", "46.48,-81.99,1", "--json",
                    data_dir=filled)) == {SCENE}
    assert lids(run("search", "--body", "titan", "--bbox", "300,-20,60,10", "--json", data_dir=filled)) == {
        TITAN}
    assert lids(run("search", "--target", "titan", "--point", "46,-7", "--json", data_dir=filled)) == {TITAN}


def test_intersects_geojson_file(filled: Path, tmp_path: Path) -> None:
    feature = {"type": "Feature", "properties": {},
               "geometry": {"type": "Polygon", "coordinates": [[[40, -81], [46, -81], [40, -84], [40, -81]]]}}
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert lids(run("search", "--body", "moon", "--intersects", str(path), "--json", data_dir=filled)) == {SCENE}


def test_place_and_near(filled: Path) -> None:
    assert lids(run("search", "--place", "Scott", "--json", data_dir=filled)) == {SCENE}
    assert lids(run("search", "--near", "nobile", "--radius", "120", "--json", data_dir=filled)) == {SCENE}
    assert lids(run("search", "--near", "nobile", "--radius", "50", "--json", data_dir=filled)) == set()


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("search", "--bbox", "0,0,1,1"), 2, "needs a body"),
        (("search", "--body", "moon", "--bbox", "0,0,1"), 2, "4 comma-separated numbers"),
        (("search", "--body", "moon", "--bbox", "0,10,1,5"), 2, "south <= north"),
        (("search", "--body", "moon", "--point", "0,95"), 2, "-90"),
        (("search", "--body", "bennu", "--within-km", "0,0,1"), 2, "no radius"),
        (("search", "--near", "Tycho"), 2, "--radius"),
        (("search", "--place", "Tycho", "--body", "mars"), 2, "lunar"),
        (("search", "--place", "Tyco"), 3, "did you mean Tycho"),
        (("search", "--body", "moon", "--intersects", "/nonexistent.geojson"), 2, "no such file"),
        (("places", "Shakleton"), 3, "did you mean"),
    ],
)
def test_errors_are_one_line(filled: Path, args: tuple[str, ...], code: int, needle: str) -> None:
    r = run(*args, data_dir=filled) if args[0] == "search" else run(*args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_places(tmp_path: Path) -> None:
    r = run("places", "tycho", "--json", "--limit", "5")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows[0]["name"] == "Tycho" and rows[0]["extent"] and rows[1]["radius_km"] == 41.998
    assert {"name", "kind", "lon", "lat", "radius_km", "extent", "source"} == set(rows[0])
    r = run("places", "von karman")
    assert r.returncode == 0 and "VonK?rm?n" in r.stdout
