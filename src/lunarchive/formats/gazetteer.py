"""Lunar place names: a gazetteer read from three public feature tables.

- ``pylunar_lunar_features.sqlite`` (pylunar): named features with centre and *full* extent in degrees
  (``Delta_Latitude``/``Delta_Longitude``; pylunar's own ``latitude_range`` is centre ± delta / 2), east
  longitudes −180..180;
- ``lunar_craters_lola_gt20km.csv`` (LOLA crater catalogue, Head et al. 2010, via pdsimage): centre on a
  0–360°E scale and diameter/radius in km; names are written without spaces (``SegnerC``) and with ``?``
  where the source lost an accented letter (``Kohlsch?tter``);
- ``lunar_domes.csv`` (pdsimage): centre (0–360°E) and radius in km.

Names match case-, accent-, space- and punctuation-insensitively (``von kármán`` = ``VonKarman``); a ``?`` in
a source name matches the letter it replaced. A place becomes a search filter through ``Place.filter()``:
a feature's extent box, or a circle of the crater's / dome's radius.
"""

from __future__ import annotations

import csv
import difflib
import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import FormatError, NotFound

__all__ = ["DEFAULT_FEATURES", "Gazetteer", "Place", "place_key"]

DEFAULT_FEATURES = Path(__file__).resolve().parent.parent / "data" / "features"
"""The feature tables shipped with lunarchive (copies of the corpus files, credits in SOURCES.md there)."""

FEATURES_DB = "pylunar_lunar_features.sqlite"
CRATERS_CSV = "lunar_craters_lola_gt20km.csv"
DOMES_CSV = "lunar_domes.csv"
_SOURCE_RANK = {FEATURES_DB: 0, CRATERS_CSV: 1, DOMES_CSV: 2}


def place_key(name: str) -> str:
    """The matching form of a name: accents dropped, case folded, only letters, digits (and ``?``) kept."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in plain.casefold() if ch.isalnum() or ch == "?")


def _asked(text: str) -> str:
    """The matching form of a name someone typed (a ``?`` there is punctuation, not a wildcard)."""
    return place_key(text).replace("?", "")


def _lon180(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0 if not -180.0 <= lon <= 180.0 else lon


@dataclass(frozen=True)
class Place:
    """A named place: centre (east longitude −180..180, latitude), and an extent box or a radius."""

    name: str
    kind: str
    lon: float
    lat: float
    source: str
    radius_km: float | None = None
    extent: tuple[float, float, float, float] | None = None
    """``(west, south, east, north)`` in degrees; west > east when it crosses 180°."""

    def filter(self) -> dict[str, Any]:
        """The Query fields that find products over this place: its extent, else its radius around it."""
        if self.extent is not None:
            return {"bbox": self.extent}
        return {"within": (self.lon, self.lat, self.radius_km or 0.0)}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "lon": self.lon, "lat": self.lat,
                "radius_km": self.radius_km, "extent": list(self.extent) if self.extent else None,
                "source": self.source}


def _features(path: Path) -> Iterable[Place]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT Name, Type, Latitude, Longitude, Delta_Latitude, Delta_Longitude,"
                                " Diameter FROM Features ORDER BY Id").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise FormatError(f"cannot read {path.name}: {exc}") from exc
    for name, kind, lat, lon, dlat, dlon, diameter in rows:
        lon = _lon180(float(lon))
        extent = None
        if dlat and dlon:
            south, north = max(-90.0, lat - dlat / 2.0), min(90.0, lat + dlat / 2.0)
            west, east = _lon180(lon - dlon / 2.0), _lon180(lon + dlon / 2.0)
            extent = (west, south, east, north)
        yield Place(str(name), str(kind or "Feature"), lon, float(lat), path.name,
                    radius_km=float(diameter) / 2.0 if diameter else None, extent=extent)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a pandas-written CSV (an unnamed index column before the named ones)."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise FormatError(f"cannot read {path.name}: {exc.strerror}") from exc
    header, body = rows[0], rows[1:]
    out = []
    for n, values in enumerate(body, 2):
        if len(values) == len(header) + 1:
            values = values[1:]
        if len(values) != len(header):
            raise FormatError(f"{path.name}: {len(values)} fields, header has {len(header)}", line=n)
        out.append(dict(zip(header, values, strict=True)))
    return out


def _craters(path: Path) -> Iterable[Place]:
    for row in _csv_rows(path):
        if row["name"].strip():
            yield Place(row["name"].strip(), "Crater", _lon180(float(row["lon0"])), float(row["lat0"]),
                        path.name, radius_km=float(row["radius"]))


def _domes(path: Path) -> Iterable[Place]:
    for row in _csv_rows(path):
        yield Place(row["name"].strip(), "Dome", _lon180(float(row["lon0"])), float(row["lat0"]), path.name,
                    radius_km=float(row["radius"]))


class Gazetteer:
    """Places by name: exact (normalised) lookup, substring search and close-name suggestions."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.places = sorted(places, key=lambda p: (_SOURCE_RANK.get(p.source, 9), p.name))
        self._by_key: dict[str, list[Place]] = {}
        self._wild: list[tuple[re.Pattern[str], Place]] = []
        for p in self.places:
            key = place_key(p.name)
            self._by_key.setdefault(key, []).append(p)
            if "?" in key:
                pattern = "".join("[a-z0-9]" if ch == "?" else re.escape(ch) for ch in key)
                self._wild.append((re.compile(pattern + r"\Z"), p))

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_FEATURES) -> Gazetteer:
        """The places of the feature tables found in ``directory`` (any of the three may be absent)."""
        d = Path(directory)
        places: list[Place] = []
        for name, reader in ((FEATURES_DB, _features), (CRATERS_CSV, _craters), (DOMES_CSV, _domes)):
            if (d / name).is_file():
                places += reader(d / name)
        if not places:
            raise FormatError(f"no lunar feature tables in {d}")
        return cls(places)

    def __len__(self) -> int:
        return len(self.places)

    def lookup(self, name: str) -> list[Place]:
        """Places whose name is ``name`` up to case, accents, spaces and punctuation (best source first)."""
        key = _asked(name)
        found = list(self._by_key.get(key, []))
        found += [p for rx, p in self._wild if rx.match(key) and p not in found]
        return sorted(found, key=lambda p: _SOURCE_RANK.get(p.source, 9))

    def search(self, text: str, limit: int = 20) -> list[Place]:
        """Exact matches first, then names starting with, then containing ``text``."""
        key = _asked(text)
        if not key:
            return []
        out = self.lookup(text)
        for test in (str.startswith, str.__contains__):
            for k, places in self._by_key.items():
                if test(k, key):
                    out += [p for p in places if p not in out]
        return out[:limit]

    def suggest(self, text: str, n: int = 5) -> list[str]:
        """The closest place names to ``text`` (for a "did you mean" message)."""
        keys = difflib.get_close_matches(_asked(text), list(self._by_key), n=n, cutoff=0.6)
        return [self._by_key[k][0].name for k in keys]

    def resolve(self, name: str) -> Place:
        """The place ``name`` names (best source first), or NotFound suggesting the closest names."""
        found = self.lookup(name)
        if found:
            return found[0]
        close = self.suggest(name)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise NotFound(f"no lunar place named {name!r}{hint}")


@lru_cache(maxsize=4)
def default_gazetteer(directory: str = str(DEFAULT_FEATURES)) -> Gazetteer:
    """The shipped gazetteer, read once per process."""
    return Gazetteer.load(directory)
