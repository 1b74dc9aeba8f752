"""Target bodies: one normal name per body (MOON, Moon and moon are one body), NAIF ids, radii, CRS codes.

Radii are the ``BODYnnn_RADII`` of NAIF's ``pck00011.tpc`` (a, b, c in km); ``read_pck_radii`` reads them
from any text PCK and ``tests/test_footprint_bodies.py`` checks the table below against the real kernel.
The CRS of a body follows the IAU 2015 planetary CRS codes: NAIF id × 100 (sphere, planetocentric), so the
Moon is ``IAU_2015:30100``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Body", "body_from_targets", "comet_names", "known_bodies", "minor_planet_number", "normalize_target",
           "read_pck_radii", "resolve_body"]

_NUMBERED = re.compile(r"^\(\d+\)\s*")
_SPACES = re.compile(r"\s+")
_MINOR_PLANET = re.compile(r"^\(?(\d+)\)?[\s_]+(?=[A-Z])")
_PROVISIONAL = re.compile(r"^\(?\d{4} [A-Z]{2}\d*\)?$")
"""A provisional designation (``1999 RQ36``, Bennu's before its number): a name, not a number and a name."""
_COMET = re.compile(r"^(\d*[PCDXI])/(.+?)(?: \((.+)\))?$")
"""A comet as PDS names it: number and letter (a letter alone for a comet that is not periodic), then its
name and, in parentheses, its first designation (``67P/CHURYUMOV-GERASIMENKO 1 (1969 R1)``), or the
designation and the name in parentheses (``122P/1846 D1 (DE VICO 1)``, ``C/2012 S1 (ISON)``)."""
_DESIGNATION = re.compile(r"^\d{4} [A-Z]{1,2}\d*$")
_TRAILING_NUMBER = re.compile(r" \d+$")
_CONTEXT_TARGET = re.compile(r"^urn:nasa:pds:context:target:[^.:]+(?:\.[^.:]+)*\.([^.:]+?)(?:::.*)?$", re.I)


def normalize_target(name: str) -> str:
    """Upper-case, trimmed, with a minor-planet number prefix dropped: ``(134340) Pluto`` and ``1 CERES`` →
    ``PLUTO`` and ``CERES`` (but ``52 EUROPA``, the asteroid, stays apart from Jupiter's Europa)."""
    s = _NUMBERED.sub("", _SPACES.sub(" ", name.strip())).upper()
    m = _MINOR_PLANET.match(s)
    if m is not None and s not in _NAIF_IDS and not _PROVISIONAL.match(s):
        s = s[m.end():]
    return s


def comet_names(name: str) -> list[str]:
    """The shorter names a periodic comet's PDS name holds, each as ``normalize_target`` gives it: its number
    (``67P``), and its name with and without the number and the discoverer's count
    (``67P/CHURYUMOV-GERASIMENKO 1 (1969 R1)`` → ``67P/CHURYUMOV-GERASIMENKO 1``, ``CHURYUMOV-GERASIMENKO 1``,
    ``67P/CHURYUMOV-GERASIMENKO``, ``CHURYUMOV-GERASIMENKO``), its designation, and each discoverer's name of a
    hyphenated one (``CHURYUMOV``, ``GERASIMENKO``: comets are named after their discoverers, so ``--target
    hale`` finds Hale-Bopp); none for another name."""
    m = _COMET.match(_SPACES.sub(" ", name.strip()).upper())
    if m is None:
        return []
    number, first, second = m.group(1), m.group(2).strip(), (m.group(3) or "").strip()
    designation = None
    if second and _DESIGNATION.match(second):
        title, designation = first, second
    elif second and _DESIGNATION.match(first):
        title, designation = second, first
    elif second:
        return []  # parentheses that hold neither a name nor a designation: not a comet's PDS name
    else:
        title = first
        designation = first if _DESIGNATION.match(first) else None
    titles = [title] + ([bare] if (bare := _TRAILING_NUMBER.sub("", title)) != title and bare else [])
    prefix = number if number[:-1] else f"{number}/{designation}" if designation else number
    names = [prefix, *(f"{number}/{t}" for t in titles if t != designation), *titles]
    discoverers = [part.strip() for part in titles[-1].split("-")] if "-" in titles[-1] else []
    return list(dict.fromkeys(n for n in [*names, designation, *discoverers]
                              if n and n not in ("C", "P", "D", "X", "I") and not n.isdigit()))


def minor_planet_number(name: str) -> str | None:
    """The number of a numbered minor planet's name (``(101955) Bennu``, ``1 CERES``), else None: the number is a
    search term beside the name, so ``--target 101955`` finds Bennu."""
    s = _SPACES.sub(" ", name.strip()).upper()
    m = _MINOR_PLANET.match(s)
    return str(int(m.group(1))) if m is not None and not _PROVISIONAL.match(s) else None


# NAIF integer ids of the bodies named in NAIF's built-in table that a lunar / deep-space archive meets:
# every body with radii in pck00011.tpc, plus mission targets without radii there (Bennu, Ryugu, ...).
_NAIF_IDS: dict[str, int] = {
    "SUN": 10, "MERCURY": 199, "VENUS": 299, "EARTH": 399, "MARS": 499, "JUPITER": 599, "SATURN": 699,
    "URANUS": 799, "NEPTUNE": 899, "PLUTO": 999, "MOON": 301, "PHOBOS": 401, "DEIMOS": 402,
    "IO": 501, "EUROPA": 502, "GANYMEDE": 503, "CALLISTO": 504, "AMALTHEA": 505, "HIMALIA": 506,
    "ELARA": 507, "PASIPHAE": 508, "SINOPE": 509, "LYSITHEA": 510, "CARME": 511, "ANANKE": 512, "LEDA": 513,
    "THEBE": 514, "ADRASTEA": 515, "METIS": 516,
    "MIMAS": 601, "ENCELADUS": 602, "TETHYS": 603, "DIONE": 604, "RHEA": 605, "TITAN": 606, "HYPERION": 607,
    "IAPETUS": 608, "PHOEBE": 609, "JANUS": 610, "EPIMETHEUS": 611, "HELENE": 612, "TELESTO": 613,
    "CALYPSO": 614, "ATLAS": 615, "PROMETHEUS": 616, "PANDORA": 617, "PAN": 618, "METHONE": 632,
    "PALLENE": 633, "POLYDEUCES": 634, "DAPHNIS": 635, "ANTHE": 649, "AEGAEON": 653,
    "ARIEL": 701, "UMBRIEL": 702, "TITANIA": 703, "OBERON": 704, "MIRANDA": 705, "CORDELIA": 706,
    "OPHELIA": 707, "BIANCA": 708, "CRESSIDA": 709, "DESDEMONA": 710, "JULIET": 711, "PORTIA": 712,
    "ROSALIND": 713, "BELINDA": 714, "PUCK": 715,
    "TRITON": 801, "NEREID": 802, "NAIAD": 803, "THALASSA": 804, "DESPINA": 805, "GALATEA": 806,
    "LARISSA": 807, "PROTEUS": 808, "CHARON": 901, "NIX": 902, "HYDRA": 903, "KERBEROS": 904, "STYX": 905,
    "CERES": 2000001, "VESTA": 2000004, "PSYCHE": 2000016, "LUTETIA": 2000021, "52 EUROPA": 2000052,
    "IDA": 2431010, "MATHILDE": 2000253, "EROS": 2000433, "DAVIDA": 2000511, "GASPRA": 9511010,
    "STEINS": 2002867, "TOUTATIS": 2004179, "ITOKAWA": 2025143, "BENNU": 2101955, "RYUGU": 2162173,
    "ARROKOTH": 2486958, "DIDYMOS": 2065803, "DIMORPHOS": 120065803,
    "HALLEY": 1000036, "TEMPEL 1": 1000093, "BORRELLY": 1000005, "WILD 2": 1000107,
    "CHURYUMOV-GERASIMENKO": 1000012, "HARTLEY 2": 1000041,
}
_ALIASES: dict[str, str] = {
    "LUNA": "MOON", "LUNAR": "MOON", "THE MOON": "MOON", "EARTH MOON": "MOON", "EARTH'S MOON": "MOON",
    "SATELLITE.EARTH.MOON": "MOON", "SOL": "SUN", "67P": "CHURYUMOV-GERASIMENKO",
    "67P/CHURYUMOV-GERASIMENKO": "CHURYUMOV-GERASIMENKO", "9P/TEMPEL 1": "TEMPEL 1",
    "19P/BORRELLY": "BORRELLY",
    "81P/WILD 2": "WILD 2", "103P/HARTLEY 2": "HARTLEY 2", "1P/HALLEY": "HALLEY", "243 IDA": "IDA",
    "1 CERES": "CERES", "4 VESTA": "VESTA",
}

# BODYnnn_RADII (km) of pck00011.tpc, checked against the kernel by the tests.
_RADII: dict[int, tuple[float, float, float]] = {
    10: (695700.0, 695700.0, 695700.0), 199: (2440.53, 2440.53, 2438.26), 299: (6051.8, 6051.8, 6051.8),
    399: (6378.1366, 6378.1366, 6356.7519), 499: (3396.19, 3396.19, 3376.2),
    599: (71492.0, 71492.0, 66854.0), 699: (60268.0, 60268.0, 54364.0), 799: (25559.0, 25559.0, 24973.0),
    899: (24764.0, 24764.0, 24341.0), 999: (1188.3, 1188.3, 1188.3), 301: (1737.4, 1737.4, 1737.4),
    401: (13.0, 11.4, 9.1), 402: (7.8, 6.0, 5.1), 501: (1829.4, 1819.4, 1815.7),
    502: (1562.6, 1560.3, 1559.5), 503: (2631.2, 2631.2, 2631.2), 504: (2410.3, 2410.3, 2410.3),
    505: (125.0, 73.0, 64.0), 506: (85.0, 85.0, 85.0), 507: (40.0, 40.0, 40.0), 508: (18.0, 18.0, 18.0),
    509: (14.0, 14.0, 14.0), 510: (12.0, 12.0, 12.0), 511: (15.0, 15.0, 15.0), 512: (10.0, 10.0, 10.0),
    513: (5.0, 5.0, 5.0), 514: (58.0, 49.0, 42.0), 515: (10.0, 8.0, 7.0), 516: (30.0, 20.0, 17.0),
    601: (207.8, 196.7, 190.6), 602: (256.6, 251.4, 248.3), 603: (538.4, 528.3, 526.3),
    604: (563.4, 561.3, 559.6), 605: (765.0, 763.1, 762.4), 606: (2575.15, 2574.78, 2574.47),
    607: (180.1, 133.0, 102.7), 608: (745.7, 745.7, 712.1), 609: (109.4, 108.5, 101.8),
    610: (101.7, 93.0, 76.3), 611: (64.9, 57.3, 53.0), 612: (22.5, 19.6, 13.3), 613: (16.3, 11.8, 9.8),
    614: (15.3, 9.3, 6.3), 615: (20.5, 17.8, 9.4), 616: (68.2, 41.6, 28.2), 617: (52.2, 40.8, 31.5),
    618: (17.2, 15.4, 10.4), 632: (1.94, 1.29, 1.21), 633: (2.88, 2.08, 1.8), 634: (1.5, 1.2, 1.0),
    635: (4.6, 4.5, 2.8), 649: (0.5, 0.5, 0.5), 653: (0.7, 0.25, 0.2), 701: (581.1, 577.9, 577.7),
    702: (584.7, 584.7, 584.7), 703: (788.9, 788.9, 788.9), 704: (761.4, 761.4, 761.4),
    705: (240.4, 234.2, 232.9), 706: (13.0, 13.0, 13.0), 707: (15.0, 15.0, 15.0), 708: (21.0, 21.0, 21.0),
    709: (31.0, 31.0, 31.0), 710: (27.0, 27.0, 27.0), 711: (42.0, 42.0, 42.0), 712: (54.0, 54.0, 54.0),
    713: (27.0, 27.0, 27.0), 714: (33.0, 33.0, 33.0), 715: (77.0, 77.0, 77.0),
    801: (1352.6, 1352.6, 1352.6), 802: (170.0, 170.0, 170.0), 803: (29.0, 29.0, 29.0),
    804: (40.0, 40.0, 40.0), 805: (74.0, 74.0, 74.0), 806: (79.0, 79.0, 79.0), 807: (96.0, 96.0, 96.0),
    808: (218.0, 208.0, 201.0), 901: (606.0, 606.0, 606.0), 2000001: (487.3, 487.3, 446.0),
    2000004: (289.0, 280.0, 229.0), 2000016: (139.5, 116.0, 94.5), 2000021: (62.0, 50.5, 46.5),
    2000052: (189.5, 165.0, 124.5), 2431010: (26.8, 12.0, 7.6), 2000253: (33.0, 24.0, 23.0),
    2000433: (17.0, 5.5, 5.5), 2000511: (180.0, 147.0, 127.0), 9511010: (9.1, 5.2, 4.4),
    2002867: (3.24, 2.73, 2.04), 2004179: (2.13, 1.015, 0.85), 2025143: (0.268, 0.147, 0.104),
    1000036: (8.0, 4.0, 4.0), 1000093: (3.0, 3.0, 3.0), 1000005: (4.22, 4.22, 4.22),
    1000107: (2.7, 1.9, 1.5), 1000012: (2.4, 1.55, 1.2),
}


@dataclass(frozen=True)
class Body:
    """A target body: its normal name, NAIF id and tri-axial radii (km) when known."""

    name: str
    naif_id: int | None = None
    radii: tuple[float, float, float] | None = None

    @property
    def known(self) -> bool:
        return self.naif_id is not None

    @property
    def mean_radius_km(self) -> float | None:
        """Radius of the sphere that distances on this body use: the mean of the three radii."""
        if self.radii is None:
            return None
        a, b, c = self.radii
        return a if a == b == c else (a + b + c) / 3.0

    @property
    def crs(self) -> str | None:
        """IAU 2015 CRS code of the body's planetocentric sphere (``IAU_2015:30100`` for the Moon)."""
        return None if self.naif_id is None else f"IAU_2015:{self.naif_id * 100}"


def _key(name: str) -> str:
    m = _CONTEXT_TARGET.match(name.strip())
    s = normalize_target(m.group(1) if m else name).replace("_", " ")
    s = _ALIASES.get(s, s)
    if s not in _NAIF_IDS:  # a comet's PDS name: the first of its shorter names this module knows
        s = next((_ALIASES.get(c, c) for c in comet_names(s) if c in _NAIF_IDS or c in _ALIASES), s)
    if s not in _NAIF_IDS:
        stripped = _MINOR_PLANET.sub("", s)
        if stripped in _NAIF_IDS or stripped in _ALIASES:
            s = _ALIASES.get(stripped, stripped)
    return s


def resolve_body(name: str) -> Body:
    """The body a target name, NAIF id (``499``) or context-target LID names; unknown names keep their normal
    form, no id."""
    key = name.strip()
    if key.isascii() and key.lstrip("-").isdigit() and len(key) < 12 and int(key) in _NAMES_BY_ID:
        key = _NAMES_BY_ID[int(key)]
    key = _key(key)
    naif = _NAIF_IDS.get(key)
    return Body(key, naif, _RADII.get(naif) if naif is not None else None)


_NAMES_BY_ID: dict[int, str] = {}
for _name, _naif in _NAIF_IDS.items():
    _NAMES_BY_ID.setdefault(_naif, _name)  # the first name of an id is its usual one


def known_bodies() -> list[str]:
    """Every body name this module knows, sorted (for error messages and suggestions)."""
    return sorted(_NAIF_IDS)


def body_from_targets(targets: Sequence[str], target_refs: Sequence[str] = ()) -> Body | None:
    """The body a product's geometry refers to: the first known target name, else the first known
    context-target LID (a label whose target name is a template placeholder), else the first target."""
    candidates = [resolve_body(t) for t in targets if t.strip()]
    candidates += [resolve_body(r) for r in target_refs if _CONTEXT_TARGET.match(r.strip())]
    for b in candidates:
        if b.known:
            return b
    names = [b for b in candidates if b.name and not b.name.startswith("{")]
    return names[0] if names else None


_BEGINDATA = re.compile(r"\\begindata(.*?)(?=\\begintext|\Z)", re.S)
_RADII_ASSIGN = re.compile(r"BODY(-?\d+)_RADII\s*=\s*\(([^)]*)\)", re.I)


def read_pck_radii(path: str | Path) -> dict[int, tuple[float, float, float]]:
    """``BODYnnn_RADII`` of a NAIF text PCK, read from its ``\\begindata`` blocks only (comments hold old
    values)."""
    text = Path(path).read_text(encoding="latin-1")
    out: dict[int, tuple[float, float, float]] = {}
    for block in _BEGINDATA.findall(text):
        for m in _RADII_ASSIGN.finditer(block):
            numbers = m.group(2).replace(",", " ").replace("D", "E").replace("d", "e").split()
            values = [float(v) for v in numbers]
            if len(values) == 3:
                out[int(m.group(1))] = (values[0], values[1], values[2])
    return out
