"""The one Query model that every read path (CLI, API, web, sync) hands to the catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .bodies import resolve_body
from .errors import InvalidQuery
from .footprint import cap_for, point_parts, query_box_parts, query_pieces
from .times import normalize_utc

__all__ = ["Query", "SORT_KEYS"]

SORT_KEYS = ("lidvid", "start", "stop", "title", "ingested")


_MAX_INT = 2**63 - 1
"""The largest limit or offset (SQLite's integers are 64-bit)."""


@dataclass
class Query:
    """Filters combine with AND; list-valued filters match any of their values."""

    targets: list[str] = field(default_factory=list)
    missions: list[str] = field(default_factory=list)
    instruments: list[str] = field(default_factory=list)
    product_classes: list[str] = field(default_factory=list)
    lids: list[str] = field(default_factory=list)
    lidvids: list[str] = field(default_factory=list)
    start: str | None = None
    """Only products whose time range overlaps [start, stop]."""
    stop: str | None = None
    text: str | None = None
    latest_only: bool = False
    valid: bool | None = None
    """True: only products with no error finding; False: only products with at least one."""
    body: str | None = None
    """The body every spatial filter refers to (``moon``, ``MOON``, ``Titan``...); without a spatial filter,
    only products with a footprint on that body. Defaults to the one ``targets`` entry when there is one."""
    bbox: tuple[float, float, float, float] | None = None
    """``(west, south, east, north)`` in degrees, 0..360 or −180..180; west > east wraps across 180°/0°."""
    point: tuple[float, float] | None = None
    """``(lon, lat)``: footprints holding this point (boundaries included)."""
    intersects: dict[str, Any] | None = None
    """A GeoJSON geometry (Polygon, MultiPolygon, ...): footprints intersecting it."""
    within: tuple[float, float, float] | None = None
    """``(lon, lat, km)``: footprints within ``km`` of the point, on the body's mean sphere."""
    sort: str = "lidvid"
    descending: bool = False
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit < 0 or self.offset < 0:
            raise InvalidQuery("limit and offset must not be negative")
        if self.text is not None and not self.text.strip():
            self.text = None  # blank: no text filter (as when it is left out)
        if max(self.limit, self.offset) > _MAX_INT:
            raise InvalidQuery(f"limit and offset must be at most {_MAX_INT}")
        for name in ("targets", "missions", "instruments", "product_classes"):
            if any(not str(v).strip() for v in getattr(self, name)):
                raise InvalidQuery(f"{name}: an empty value would match everything; leave the filter out instead")
        if self.sort not in SORT_KEYS:
            raise InvalidQuery(f"cannot sort by {self.sort!r}; use one of {', '.join(SORT_KEYS)}")
        for name in ("start", "stop"):
            value = getattr(self, name)
            if value is not None and normalize_utc(value) is None:
                raise InvalidQuery(f"--{name}: not an ISO 8601 UTC time: {value!r}")
        if self.start is not None and self.stop is not None and (self.start_utc or "") > (self.stop_utc or ""):
            raise InvalidQuery(f"--start {self.start} is after --stop {self.stop}")
        self._check_spatial()

    def _check_spatial(self) -> None:
        """Turn list inputs (JSON) into tuples and reject malformed spatial filters early."""
        for name, size in (("bbox", 4), ("point", 2), ("within", 3)):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                numbers = tuple(float(v) for v in value)
            except (TypeError, ValueError) as exc:
                raise InvalidQuery(f"{name}: expected {size} numbers, got {value!r}") from exc
            if len(numbers) != size:
                raise InvalidQuery(f"{name}: expected {size} numbers, got {len(numbers)}")
            setattr(self, name, numbers)
        if self.intersects is not None and not isinstance(self.intersects, Mapping):
            raise InvalidQuery("intersects: expected a GeoJSON geometry object")
        if any(v is not None for v in (self.bbox, self.point, self.intersects, self.within)):
            if not self.body and len(self.targets) != 1:
                raise InvalidQuery("a spatial filter needs a body: give --body (for example --body moon)")
            body = resolve_body(self.body or self.targets[0])
            if self.bbox is not None:
                query_box_parts(self.bbox)
            if self.point is not None:
                point_parts(*self.point)
            if self.intersects is not None:
                query_pieces(self.intersects)
            if self.within is not None:
                cap_for(self.within[0], self.within[1], self.within[2], body)

    @property
    def start_utc(self) -> str | None:
        return normalize_utc(self.start)

    @property
    def stop_utc(self) -> str | None:
        return normalize_utc(self.stop, end=True)
