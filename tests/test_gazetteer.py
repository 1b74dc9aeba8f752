"""The lunar gazetteer: the three feature tables, name matching, extents and radii, suggestions."""

from __future__ import annotations

import pytest

from lunarchive.errors import NotFound
from lunarchive.formats.gazetteer import DEFAULT_FEATURES, Gazetteer, default_gazetteer, place_key

from .conftest import shared_corpus


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def test_loads_every_table(gazetteer: Gazetteer) -> None:
    by_source: dict[str, int] = {}
    for p in gazetteer.places:
        by_source[p.source] = by_source.get(p.source, 0) + 1
    # 175 pylunar features, the 4,318 named craters of the 10,907 in the LOLA catalogue, 12 domes
    assert by_source == {"pylunar_lunar_features.sqlite": 175, "lunar_craters_lola_gt20km.csv": 4318,
                         "lunar_domes.csv": 12}
    assert all(-180 <= p.lon <= 180 and -90 <= p.lat <= 90 for p in gazetteer.places)
    assert default_gazetteer() is default_gazetteer()


def test_shipped_tables_are_the_corpus_files() -> None:
    corpus = shared_corpus() / "basemap" / "features"
    for src in corpus.iterdir():
        assert (DEFAULT_FEATURES / src.name).read_bytes() == src.read_bytes(), src.name


@pytest.mark.parametrize(
    ("name", "found"),
    [("Tycho", "Tycho"), ("TYCHO", "Tycho"), ("  tycho ", "Tycho"), ("mare imbrium", "Mare Imbrium"),
     ("MareImbrium", "Mare Imbrium"), ("Segner C", "SegnerC"), ("Von Kármán", "VonK?rm?n"),
     ("von karman", "VonK?rm?n"), ("Kohlschütter", "Kohlsch?tter"), ("Bečvář", "Be?v??"),
     ("T. Mayer", "T.Mayer"), ("Apollo 11", "Apollo 11"), ("gr1", "Gr1")],
)
def test_names_match_case_accent_and_space_insensitively(gazetteer: Gazetteer, name: str, found: str) -> None:
    assert gazetteer.lookup(name)[0].name == found


def test_wildcard_matches_one_letter_only(gazetteer: Gazetteer) -> None:
    assert [p.name for p in gazetteer.lookup("Bečvář Q")] == ["Be?v??Q"]
    assert place_key("Bečvář Q") == "becvarq" and place_key("VonK?rm?n") == "vonk?rm?n"


def test_extents_and_radii(gazetteer: Gazetteer) -> None:
    tycho = gazetteer.lookup("tycho")
    assert [p.source for p in tycho] == ["pylunar_lunar_features.sqlite", "lunar_craters_lola_gt20km.csv"]
    feature, crater = tycho
    # pylunar: Latitude -43.2958, Delta_Latitude 2.8128 (the full extent: centre ± delta / 2)
    assert feature.extent is not None and feature.extent[1] == pytest.approx(-43.2958059 - 2.8128090 / 2)
    assert feature.filter() == {"bbox": feature.extent}
    # LOLA: lon0 348.790625 on a 0–360 scale, radius 41.998 km
    assert crater.lon == pytest.approx(348.790625 - 360) and crater.radius_km == 41.998
    assert crater.filter() == {"within": (crater.lon, crater.lat, 41.998)}
    dome = gazetteer.resolve("V1")
    assert dome.kind == "Dome" and dome.radius_km == 14.95


def test_misses_suggest_close_names(gazetteer: Gazetteer) -> None:
    with pytest.raises(NotFound, match="did you mean Tycho"):
        gazetteer.resolve("Tyco")
    assert gazetteer.lookup("Shackleton") == []  # not in these tables (not named in the ≥20 km catalogue)
    assert gazetteer.search("tycho")[0].name == "Tycho"
    assert {p.name for p in gazetteer.search("tycho", limit=50)} >= {"TychoA", "TychoZ"}
    assert gazetteer.search("?!") == []
