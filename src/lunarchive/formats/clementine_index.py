"""The Clementine mosaic product index tables: one catalogue product per tile, its footprint from the tile id.

``mosaic_product_index.csv`` (pds3_path, pds4_path, pds3_product_id, pds4_product_id) and
``standard_mosaic_products.csv`` (file, newpath, checksum, pds3_product_id) list the tiles of the Clementine
mosaics (MillionConcepts' PDS3 → PDS4 migration). Tables in one directory are read together and joined
on the PDS3 file path (``cl_3002/bi00_35n/bi03n003.img``): the PDS3 product id alone is not unique (16 HiRes
tiles sit on two volumes with different checksums). Each tile becomes one product
``urn:lunarchive:clementine_index:<volume>:<pds3 product id>`` (a lunarchive URN: the index is not a PDS
label, and the PDS4 product id is not in both tables); its "label" is the tile's rows, verbatim.

Tile footprints (degrees, east-positive), from the Clementine documents in the corpus
(``pds4/clementine/document``) and the HiRes volume document of the same archive:

- 100 m/pixel basemap, UVVIS, NIR and phase tiles (``bi31n117`` = ``basemap_31n_117e``): the name holds the
  *truncated* centre latitude and longitude (basemap_volinfo.txt, file naming). Tiles are 7° of latitude
  from the equator ("each tile covers 7 degrees of latitude and 6 degrees of longitude" near the equator,
  basemap_dataset.txt; the volinfo example tile spans 62.99–70°N); their width grows poleward to keep
  ~2000 pixels: 6° up to 35°, 10° to 56°, 15° to 77° (volinfo example: 330–345°E at 63–70°N), 30° to 84°
  and 60° to the pole — the widths the tile centres of the index are spaced by.
- 500 m/pixel basemap tiles (``bm14n015`` = ``basemap_14n_015e_500m``, volume cl_3015): 28° bands
  (0–28, 28–56, 56–90°), 30° wide, 60° wide poleward of 56°.
- HiRes sub-polar strips (``h00n0108`` = ``hires_00n_0108e``; longitude in tenths of a degree): tiles
  "cover approximately 1.75 degrees of latitude and span the longitude range of the mosaicked frames";
  the longitude is the orbit's projection centre (HiRes volinfo: H49S0378 lies at 37.01–37.17°E, centre
  37.8°). Orbits are ~2.73° apart (the spacing of the names), so a strip is taken as ±1.4° about its
  longitude, widened by the ground-track drift of a 90 ± 1° orbit (asin(tan φ · tan 1°)).
- HiRes polar tiles (``g78nn029`` = ``hires_polar_78n_n_peri_029e``): "squares 2250 pixels on a side"
  at 30 m/pixel (67.5 km) whose name is INT(centre latitude), INT(centre longitude): a circle of the
  half-diagonal (47.7 km) around any centre the name allows.
- Polar orthographic basemaps (``bj90a000``/``bj90b000``): the polar zone of their volume (cl_3014:
  90–70°S, cl_3001: 70–90°N, basemap_volinfo.txt "CD GEOGRAPHIC COVERAGES").
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import FormatError
from ..model import BBox, Product
from .files import open_regular

__all__ = ["INDEX_HEADERS", "Tile", "index_kind", "read_products", "tile_of"]

INDEX_HEADERS: dict[tuple[str, ...], str] = {
    ("pds3_path", "pds4_path", "pds3_product_id", "pds4_product_id"): "mosaic_product_index",
    ("file", "newpath", "checksum", "pds3_product_id"): "standard_mosaic_products",
}
LID_PREFIX = "urn:lunarchive:clementine_index:"
MISSION_SPAN = ("1994-01-25", "1994-05-07")
"""START_TIME / STOP_TIME of the basemap, UVVIS and NIR data set catalogs (catalog/*_dataset.txt)."""

_MOON_KM_PER_DEG = 1737.4 * math.pi / 180.0
_POLAR_HALF_DIAGONAL_DEG = (2250 * 0.030 / 2 * math.sqrt(2)) / _MOON_KM_PER_DEG
_VOLUME_POLAR = {"cl_3001": (70.0, 90.0), "cl_3014": (-90.0, -70.0)}
_KINDS = {"b": "basemap", "u": "uvvis", "n": "nir", "p": "uvvis_phase"}
_INSTRUMENT = {"basemap": "UVVIS", "uvvis": "UVVIS", "uvvis_phase": "UVVIS", "nir": "NIR", "hires": "HIRES",
               "hires_polar": "HIRES", "basemap_500m": "UVVIS", "basemap_polar": "UVVIS"}
_DATA_SET = {"basemap": "CLEM1-L-U-5-DIM-BASEMAP-V1.0", "basemap_500m": "CLEM1-L-U-5-DIM-BASEMAP-V1.0",
             "basemap_polar": "CLEM1-L-U-5-DIM-BASEMAP-V1.0", "uvvis": "CLEM1-L-U-5-DIM-UVVIS-V1.0",
             "uvvis_phase": "CLEM1-L-U-5-DIM-UVVIS-V1.0", "nir": "CLEM1-L-N-5-DIM-NIR-V1.0",
             "hires": "CLEM1-L-H-5-DIM-HIRES-V1.0", "hires_polar": "CLEM1-L-H-5-DIM-HIRES-V1.0"}

_DIM = re.compile(r"^([bunp])i(\d\d)([ns])(\d{3})$")
_DIM500 = re.compile(r"^bm(\d\d)([ns])(\d{3})$")
_HIRES = re.compile(r"^h(\d\d)([ns])(\d{4})$")
_HIRES_POLAR = re.compile(r"^g(\d\d)([ns])([ns])(\d{3})$")
_POLAR_BASEMAP = re.compile(r"^bj90[ab]000$")


@dataclass(frozen=True)
class Tile:
    """A tile's kind, the centre its name gives, and its box (west, south, east, north; 0..360 east)."""

    kind: str
    center: tuple[float, float]
    box: tuple[float, float, float, float]


def _signed(value: float, hemisphere: str) -> float:
    return -value if hemisphere == "s" else value


def _lat_band(c: int, hemisphere: str, edges: list[float]) -> tuple[float, float]:
    """The band of ``edges`` (from the equator) whose middle truncates to ``c``, signed by hemisphere."""
    for lo, hi in zip(edges, edges[1:], strict=False):
        if lo <= c < hi:
            return (-hi, -lo) if hemisphere == "s" else (lo, hi)
    raise FormatError(f"no tile band holds latitude {c}{hemisphere}")


def _dim_tile(kind: str, c_lat: int, hemi: str, c_lon: int, edges: list[float],
              widths: list[float]) -> Tile:
    south, north = _lat_band(c_lat, hemi, edges)
    band = next(i for i, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False)) if lo <= c_lat < hi)
    w = widths[band]
    west = math.floor(c_lon / w) * w
    return Tile(kind, (c_lon, _signed(c_lat, hemi)), (west, south, west + w, north))


_DIM_EDGES = [0.0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 90]
_DIM_WIDTHS = [6.0, 6, 6, 6, 6, 10, 10, 10, 15, 15, 15, 30, 60]
_DIM500_EDGES = [0.0, 28, 56, 90]
_DIM500_WIDTHS = [30.0, 30, 60]


def _hires_tile(c_lat: int, hemi: str, tenths: int) -> Tile:
    k = next(k for k in range(max(0, int(c_lat / 1.75) - 1), int(c_lat / 1.75) + 2)
             if int((k + 0.5) * 1.75) == c_lat)
    lo, hi = k * 1.75, (k + 1) * 1.75
    south, north = (-hi, -lo) if hemi == "s" else (lo, hi)
    lon = tenths / 10.0
    drift = math.degrees(math.asin(min(1.0, math.tan(math.radians(hi)) * math.tan(math.radians(1.0)))))
    half = 1.4 + drift
    return Tile("hires", (lon, _signed((k + 0.5) * 1.75, hemi)), (lon - half, south, lon + half, north))


def _hires_polar_tile(c_lat: int, hemi: str, c_lon: int) -> Tile:
    a = _POLAR_HALF_DIAGONAL_DEG
    far = c_lat + 1.0
    if far + a >= 90.0:
        lat_lo, lat_hi, west, east = c_lat - a, 90.0, 0.0, 360.0
    else:
        half = math.degrees(math.asin(math.sin(math.radians(a)) / math.cos(math.radians(far))))
        lat_lo, lat_hi, west, east = c_lat - a, far + a, c_lon - half, c_lon + 1.0 + half
    south, north = (-lat_hi, -lat_lo) if hemi == "s" else (lat_lo, lat_hi)
    return Tile("hires_polar", (c_lon + 0.5, _signed(c_lat + 0.5, hemi)), (west, south, east, north))


def tile_of(pds3_id: str, pds3_path: str = "") -> Tile | None:
    """The tile a PDS3 product id names (``bi31n117``, ``h02n3162``, ``g78nn029``...), or None."""
    pid = pds3_id.lower().removesuffix(".img")
    if m := _DIM.match(pid):
        return _dim_tile(_KINDS[m[1]], int(m[2]), m[3], int(m[4]), _DIM_EDGES, _DIM_WIDTHS)
    if m := _DIM500.match(pid):
        return _dim_tile("basemap_500m", int(m[1]), m[2], int(m[3]), _DIM500_EDGES, _DIM500_WIDTHS)
    if m := _HIRES.match(pid):
        return _hires_tile(int(m[1]), m[2], int(m[3]))
    if m := _HIRES_POLAR.match(pid):
        return _hires_polar_tile(int(m[1]), m[2], int(m[4]))
    if _POLAR_BASEMAP.match(pid):
        volume = pds3_path.split("/", 1)[0].lower()
        if volume in _VOLUME_POLAR:
            south, north = _VOLUME_POLAR[volume]
            return Tile("basemap_polar", (0.0, 90.0 if north == 90.0 else -90.0), (0.0, south, 360.0, north))
    return None


# ------------------------------------------------------------------------------------------- tables
def index_kind(head: bytes) -> str | None:
    """Which Clementine index table a file is, from its first line (None for any other file)."""
    first = head.split(b"\n", 1)[0].strip().decode("ascii", "replace")
    return INDEX_HEADERS.get(tuple(c.strip() for c in first.split(",")))


@dataclass
class _Rows:
    name: str
    header: str
    lines: dict[str, str]
    """PDS3 path → the row's line, verbatim."""
    fields: dict[str, dict[str, str]]


def _read_table(path: Path) -> _Rows | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read index table {path.name}: {exc}") from exc
    lines = text.splitlines()
    if not lines or index_kind(lines[0].encode()) is None:
        return None
    names = next(csv.reader([lines[0]]))
    key = "pds3_path" if "pds3_path" in names else "file"
    out = _Rows(path.name, lines[0], {}, {})
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        values = next(csv.reader(io.StringIO(line)))
        if len(values) != len(names):
            raise FormatError(f"{path.name}: row has {len(values)} fields, the header {len(names)}", line=n)
        row = dict(zip(names, values, strict=True))
        out.lines[row[key]] = line
        out.fields[row[key]] = row
    return out


def _tables(path: Path) -> list[_Rows]:
    """This table and the other Clementine index tables beside it, sorted by file name."""
    tables = []
    for p in sorted(path.parent.glob("*.csv")):
        try:
            with open_regular(p) as fh:
                head = fh.read(200)
        except OSError:
            continue
        if index_kind(head) is not None or p == path:
            table = _read_table(p)
            if table is not None:
                tables.append(table)
    return tables


def read_products(path: Path) -> Iterator[tuple[Product, bytes]]:
    """Products for every tile listed in ``path`` or the index tables beside it, each with its label bytes
    (the tile's line of every table, with the table's name and header)."""
    tables = _tables(path)
    keys = sorted({k for t in tables for k in t.lines})
    for key in keys:
        rows = [(t, t.fields[key]) for t in tables if key in t.lines]
        label = "".join(f"# {t.name}\n{t.header}\n{t.lines[key]}\n" for t, _ in rows).encode()
        merged: dict[str, str] = {}
        for _, row in rows:
            merged.update(row)
        yield _product(key, merged, path, [t.name for t, _ in rows]), label


def _product(pds3_path: str, row: dict[str, str], path: Path, tables: list[str]) -> Product:
    volume = pds3_path.split("/", 1)[0].lower()
    pds3_id = row.get("pds3_product_id", "").lower().removesuffix(".img")
    pds4_id = row.get("pds4_product_id") or None
    tile = tile_of(pds3_id, pds3_path)
    kind = tile.kind if tile else "unknown"
    extra: dict[str, object] = {
        "pds3_product_id": pds3_id, "pds3_path": pds3_path, "index_tables": tables, "tile_kind": kind,
        "pds4_path": row.get("pds4_path") or row.get("newpath"),
    }
    if pds4_id:
        extra["pds4_product_id"] = pds4_id
    if row.get("checksum"):
        extra["md5"] = row["checksum"]
    if kind in _DATA_SET:
        extra["data_set_id"] = _DATA_SET[kind]
    bbox = None
    if tile is not None:
        extra["tile_center"] = list(tile.center)
        extra["footprint_source"] = "tile"
        bbox = BBox(*(float(v) for v in tile.box))
    lon, lat = tile.center if tile else (None, None)
    where = f" centred near {abs(lat):g}°{'N' if lat >= 0 else 'S'} {lon:g}°E" if lat is not None else ""
    return Product(
        lid=f"{LID_PREFIX}{volume}:{pds3_id}", vid="1.0", product_class="Product_Observational",
        title=f"Clementine {kind.replace('_', ' ')} mosaic tile {pds4_id or pds3_id}{where}",
        targets=["MOON"], investigations=["DEEP SPACE PROGRAM SCIENCE EXPERIMENT"],
        instruments=[_INSTRUMENT[kind]] if kind in _INSTRUMENT else [], instrument_hosts=["CLEMENTINE 1"],
        start=MISSION_SPAN[0], stop=MISSION_SPAN[1], bbox=bbox, label_path=str(path), label_format="other",
        extra=extra,
    )
