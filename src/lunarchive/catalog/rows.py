"""A product as catalogue rows: everything a backend inserts, worked out before its transaction.

Ingest workers build these in parallel (pure functions of the Product and its label, picklable), so the
process that holds the write transaction only assigns row ids and inserts. The tuples follow the SQLite
schema's column order; another backend maps the same fields by position.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import lz4.frame

from ..bodies import comet_names, minor_planet_number, normalize_target
from ..errors import CatalogError, FormatError
from ..footprint import footprint_of
from ..model import Product, parse_vid, split_lidvid
from ..times import normalize_utc
from .spatial import index_rows

__all__ = [
    "LABEL_CODEC", "PRODUCT_COLUMNS", "FootprintRows", "ProductRows", "cited_dois", "context_terms", "label_bytes",
    "product_rows", "target_terms", "vid_key",
]

LABEL_CODEC = "lz4"
"""How ``ProductRows.label`` is compressed: one LZ4 frame. Labels are most of a catalogue's bytes (about
two thirds), and LZ4 keeps a third of them at about 1 GB/s, so an ingest writes far fewer pages (and
checkpoints far fewer) for about 12 us per label in the workers; reading one back costs about 8 us."""

PRODUCT_COLUMNS = (
    "lidvid", "lid", "vid", "vid_key", "product_class", "title", "start", "stop", "start_utc", "stop_utc",
    "processing_level", "information_model_version", "label_format", "label_name", "label_sha256",
    "source_path", "targets", "investigations", "instruments", "instrument_hosts", "bbox_west", "bbox_south",
    "bbox_east", "bbox_north", "extra", "discipline",
)
"""The ``products`` columns of ``ProductRows.product``, in order (``id``, ``batch_id`` and ``ingested_at``
are added by the backend)."""


def label_bytes(data: bytes, codec: str | None) -> bytes:
    """A kept label's own bytes from its stored ``data`` and ``codec`` (None: stored as read)."""
    if codec is None:
        return bytes(data)
    if codec != LABEL_CODEC:
        raise CatalogError(f"label stored with an unknown codec {codec!r} (written by a newer lunarchive?)")
    try:
        return bytes(lz4.frame.decompress(data))
    except RuntimeError as exc:
        raise CatalogError(f"a kept label cannot be decompressed: {exc}") from None


OPEN_END = "9999-12-31T23:59:59.999999Z"
"""The stop (normalised) of a product whose span goes on past its start with no known end: every time query
from its start on finds it."""

_OPEN_REASONS = frozenset({"unknown", "anticipated", "missing"})
"""PDS4 nilReasons of a stop_date_time that leave the span open (``inapplicable``: the product is an instant)."""


def open_ended(product: Product) -> bool:
    """Whether the label says the product's stop is unknown rather than not applicable: a PDS4 nilReason of
    ``_OPEN_REASONS``, or a PDS3 ``stop_flag`` (which the PDS3 reader sets for such flags only)."""
    reason = product.extra.get("stop_nil_reason")
    return (isinstance(reason, str) and reason.lower() in _OPEN_REASONS) or "stop_flag" in product.extra


@lru_cache(maxsize=1024)
def vid_key(vid: str) -> str:
    """A text key that sorts VIDs numerically (``1.10`` after ``1.9``)."""
    return ".".join(f"{part:08d}" for part in parse_vid(vid))


@dataclass
class FootprintRows:
    """A footprint ready to insert: its body, GeoJSON and R*Tree rows (body and product ids left 0)."""

    body: tuple[str, int | None, str | None]
    """``(name, naif_id, crs)`` of the body (the backend finds or adds its row)."""
    source: str
    geojson: str
    rtree: list[tuple[Any, ...]]


@dataclass
class ProductRows:
    """One product's rows, without the product id (assigned at insert time)."""

    lidvid: str
    lid: str
    label_sha256: str
    label: bytes
    """The label as kept: compressed with ``label_codec``."""
    label_size: int
    product: tuple[Any, ...]
    terms: list[tuple[str, str]] = field(default_factory=list)
    files: list[tuple[Any, ...]] = field(default_factory=list)
    refs: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    fts: tuple[str, str] = ("", "")
    footprint: FootprintRows | None = None


_json = json.JSONEncoder(default=str).encode
"""``json.dumps(x, default=str)`` with one encoder made once (``dumps`` builds a new one for each call that
passes ``default``: half the cost of the six columns of a product row)."""


def product_rows(product: Product, label: bytes, label_sha256: str) -> ProductRows:
    """The rows that catalogue ``product`` (whose label bytes are ``label``)."""
    b = product.bbox
    start_utc = normalize_utc(product.start) or normalize_utc(product.stop)  # one time given: that instant
    stop_utc = normalize_utc(product.stop, end=True) or (
        OPEN_END if start_utc and open_ended(product) else normalize_utc(product.start, end=True))
    row = (
        product.lidvid, product.lid, product.vid, vid_key(product.vid), product.product_class,
        product.title, product.start, product.stop, start_utc, stop_utc,
        product.processing_level, product.information_model_version, product.label_format,
        os.path.basename(product.label_path) if product.label_path else None, label_sha256,
        product.label_path, _json(product.targets), _json(product.investigations),
        _json(product.instruments), _json(product.instrument_hosts),
        b.west if b else None, b.south if b else None, b.east if b else None, b.north if b else None,
        _json(product.extra), _json(product.discipline),
    )
    terms = target_terms(product.targets, product.extra.get("target_types"))
    terms += [("investigation", i.upper()) for i in product.investigations]
    terms += [("instrument", i.upper()) for i in product.instruments + product.instrument_hosts]
    terms += [("investigation", h.upper()) for h in product.instrument_hosts]  # the mission of its spacecraft
    own = [product.lid] if product.product_class == "Product_Context" else []  # an instrument is its own
    terms = list(dict.fromkeys(terms))  # a mission named as such and as its spacecraft (MGS) is one term
    terms += context_terms([*own, *(r.target for r in product.references)], terms)
    ids = " ".join([product.lidvid, *product.targets, *product.investigations, *product.instruments,
                    *product.instrument_hosts, *(str(v) for k, v in product.extra.items()
                                                 if k.endswith("_id") and isinstance(v, str)), *_cited(product)])
    return ProductRows(
        lidvid=product.lidvid,
        lid=product.lid,
        label_sha256=label_sha256,
        label=lz4.frame.compress(label),
        label_size=len(label),
        product=row,
        terms=terms,
        files=[(f.name, f.role, f.declared_size, f.declared_md5, f.records, f.local_identifier, f.sha256,
                f.size, f.md5, f.status, f.mtime_ns) for f in product.files],
        refs=[(r.target, split_lidvid(r.target)[0], r.ref_type, r.kind, r.comment) for r in product.references],
        members=[(m.ref, split_lidvid(m.ref)[0], m.status, m.kind, m.member_type) for m in product.members],
        fts=(product.title or "", ids),
        footprint=_footprint_rows(product, start_utc, stop_utc),
    )


def _cited(product: Product) -> list[str]:
    """What ``--text`` finds a product by besides its title and ids: its DOI and keywords (Citation_Information)
    and the DOIs it cites."""
    extra = product.extra
    if "doi" not in extra and "keywords" not in extra and "external_references" not in extra:
        return []
    out = [extra["doi"]] if isinstance(extra.get("doi"), str) else []
    out += [k for k in extra.get("keywords") or () if isinstance(k, str)]
    return out + cited_dois(extra)


def cited_dois(extra: dict[str, Any]) -> list[str]:
    """The DOIs a product cites (its ``extra["external_references"]`` that have one)."""
    return [r["doi"] for r in extra.get("external_references") or () if isinstance(r, dict) and r.get("doi")]


def target_terms(names: Iterable[str], types: Any = None) -> list[tuple[str, str]]:
    """(kind, value) search terms of a product's targets: each name as ``normalize_target`` gives it, a
    numbered minor planet's number beside its name (``--target 101955``), a periodic comet's number and
    shorter names (``--target 67P``), and each target type the label gives (``--target asteroid``), once each."""
    names = list(names)
    out = [("target", normalize_target(t)) for t in names]
    out += [("target", n) for n in map(minor_planet_number, names) if n is not None]
    out += [("target", n) for name in names for n in comet_names(name)]  # --target 67P
    if isinstance(types, list):
        out += [("target", normalize_target(t)) for t in types if isinstance(t, str) and t.strip()]
    return list(dict.fromkeys(out))


_CONTEXT_KINDS = ((":context:investigation:", ("investigation",)), (":context:instrument:", ("instrument",)),
                  (":context:instrument_host:", ("instrument", "investigation")), (":context:target:", ("target",)))
"""Which search terms a reference to a context product gives: its investigation's LID is a mission term,
an instrument's an instrument term, a host's both (``--mission LRO`` finds what LRO's spacecraft took), and
a target's a target term."""


def context_terms(targets: Iterable[str], held: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(kind, value) search terms from the LIDs (or LIDVIDs) a product references that ``held`` lacks: its
    context products' LIDs in upper case, so ``--mission``, ``--instrument`` and ``--target`` match ids as
    well as names; and the body a target LID names (``satellite.earth.moon`` → ``MOON``), so that
    ``--target moon`` finds a mission or instrument that only references the Moon."""
    seen = set(held)
    out: list[tuple[str, str]] = []
    for target in targets:
        lid = split_lidvid(target)[0].lower()
        for marker, kinds in _CONTEXT_KINDS:
            if marker in lid:
                terms = [(kind, lid.upper()) for kind in kinds]
                if marker == ":context:target:":
                    parts = lid.rsplit(":", 1)[-1].split(".")
                    body = parts[-1].replace("_", " ")
                    if parts[0] == "ring" and len(parts) >= 3:  # ring.uranus.rings: Uranus's rings, of Uranus
                        terms.append(("target", normalize_target(parts[-2])))
                        body = f"{parts[-2]} {body}".replace("_", " ")
                    terms.append(("target", normalize_target(body)))
                for term in terms:
                    if term not in seen:
                        seen.add(term)
                        out.append(term)
    return out


def _footprint_rows(product: Product, start_utc: str | None, stop_utc: str | None) -> FootprintRows | None:
    """The product's footprint when its label gives a usable one (else None: it is left out of the index)."""
    try:
        fp = footprint_of(product)
    except FormatError:
        return None
    if fp is None:
        return None
    return FootprintRows(
        body=(fp.body.name, fp.body.naif_id, fp.body.crs),
        source=fp.source,
        geojson=json.dumps(fp.geometry()),
        rtree=index_rows(0, 0, fp.parts, start_utc, stop_utc),
    )
