"""Search parameters as STAC clients send them (GET strings or a POST body) → one Query and one Page.

Paging is by keyset: the ``token`` is opaque to clients (URL-safe base64 of the sort and the last row's sort
key), never an offset, so products ingested between two pages neither repeat nor hide a row.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..catalog.base import Compare, Filter, Logical, Page
from ..errors import InvalidQuery
from ..query import Query
from ..times import normalize_utc
from .cql2 import in_int64, parse_cql2
from .stac_model import ITEMLESS

__all__ = ["MAX_LIMIT", "SearchRequest", "decode_token", "encode_token", "parse_bbox", "parse_datetime",
           "parse_sortby"]

MAX_LIMIT = 10000
MAX_LIST = 500
"""Values ``ids`` and ``collections`` may each list."""
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?$")
SORT_FIELDS = {
    "id": "lidvid", "pds:lidvid": "lidvid", "datetime": "start", "start_datetime": "start",
    "end_datetime": "stop", "title": "title", "created": "ingested",
}
"""STAC sortby field → catalogue sort key."""


def parse_bbox(value: str | list[Any] | None) -> tuple[float, float, float, float] | None:
    """``w,s,e,n`` (or 6 numbers with heights) → four finite numbers; 400 for anything else."""
    if value is None or value == "":
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        nums = [float(v) for v in parts]
    except (TypeError, ValueError) as exc:
        raise InvalidQuery(f"bbox: expected 4 or 6 numbers, got {value!r}") from exc
    if len(nums) not in (4, 6) or not all(math.isfinite(v) for v in nums):
        raise InvalidQuery(f"bbox: expected 4 or 6 finite numbers, got {value!r}")
    if len(nums) == 6:
        if nums[2] > nums[5]:
            raise InvalidQuery(f"bbox: the lowest height is above the highest, in {value!r}")
        nums = [nums[0], nums[1], nums[3], nums[4]]
    w, s, e, n = nums
    if not (-90.0 <= s <= n <= 90.0):
        raise InvalidQuery(f"bbox: latitudes need -90 <= south <= north <= 90, got {value!r}")
    if not (-180.0 <= w <= 360.0 and -180.0 <= e <= 360.0):
        raise InvalidQuery(f"bbox: longitudes must lie within -180..360, got {value!r}")
    return w, s, e, n


def _instant(text: str) -> str | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    if not _RFC3339.match(text):
        raise InvalidQuery(f"datetime: not an RFC 3339 date-time: {text!r}")
    utc = normalize_utc(text)
    if utc is None:
        raise InvalidQuery(f"datetime: not a time: {text!r}")
    return utc


def parse_datetime(value: str | None) -> tuple[str | None, str | None]:
    """A STAC ``datetime`` (instant, ``a/b``, ``../b``, ``a/..``) → (start, stop) in normalised UTC."""
    if value is None or value.strip() == "":
        return None, None
    if "/" not in value:
        t = _instant(value)
        if t is None:
            raise InvalidQuery("datetime: '..' needs an interval (a/.. or ../b)")
        if "T" not in value.upper():
            return t, normalize_utc(value.strip(), end=True)
        return t, t
    if value.count("/") != 1:
        raise InvalidQuery(f"datetime: not an interval: {value!r}")
    a, b = value.split("/")
    start = _instant(a)
    stop = _instant(b)
    if stop is not None and "T" not in b.upper():
        stop = normalize_utc(b.strip(), end=True)
    if start is None and stop is None:
        raise InvalidQuery("datetime: an interval needs at least one end")
    if start and stop and start > stop:
        raise InvalidQuery(f"datetime: the interval ends before it starts: {value!r}")
    return start, stop


def parse_sortby(value: str | list[Any] | None) -> tuple[str, bool]:
    """``sortby`` (GET ``-datetime,+id`` or POST ``[{"field", "direction"}]``) → (sort key, descending).

    One field orders; a trailing ``id`` is accepted as the tie-break the catalogue always applies."""
    if not value:
        return "ingested", False
    specs: list[tuple[str, bool]] = []
    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if part:
                specs.append((part.lstrip("+-"), part.startswith("-")))
    else:
        for spec in value:
            if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
                raise InvalidQuery("sortby: expected objects with 'field' and 'direction'")
            direction = str(spec.get("direction", "asc")).lower()
            if direction not in ("asc", "desc"):
                raise InvalidQuery(f"sortby: direction must be asc or desc, got {direction!r}")
            specs.append((spec["field"], direction == "desc"))
    keys = []
    for name, desc in specs:
        key = name[len("properties."):] if name.startswith("properties.") else name
        if key not in SORT_FIELDS:
            raise InvalidQuery(f"sortby: cannot sort by {name!r}; use one of {', '.join(sorted(SORT_FIELDS))}")
        keys.append((SORT_FIELDS[key], desc))
    if not keys:
        return "ingested", False
    if len(keys) > 2 or (len(keys) == 2 and keys[1][0] != "lidvid"):
        raise InvalidQuery("sortby: one field can be given (optionally followed by id)")
    return keys[0]


def encode_token(sort: str, descending: bool, key: list[Any]) -> str:
    raw = json.dumps({"s": sort, "d": descending, "k": key}, separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str | None, sort: str, descending: bool) -> tuple[Any, ...] | None:
    """The sort key a ``token`` continues after; 400 when it is malformed or from another sort order."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw)
        ok = isinstance(doc, dict) and isinstance(doc.get("k"), list)
    except (ValueError, TypeError) as exc:
        raise InvalidQuery("token: not a paging token from this server") from exc
    if not ok:
        raise InvalidQuery("token: not a paging token from this server")
    if doc.get("s") != sort or bool(doc.get("d")) != descending:
        raise InvalidQuery("token: it was issued for another sort order")
    if not all(isinstance(v, str) or isinstance(v, int | float) and not isinstance(v, bool)
               and in_int64(v) for v in doc["k"]):  # a row id or a time: never beyond 64 bits
        raise InvalidQuery("token: not a paging token from this server")
    return tuple(doc["k"])


def _list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


@dataclass
class SearchRequest:
    """An item search, whatever encoding it came in."""

    bbox: tuple[float, float, float, float] | None = None
    intersects: dict[str, Any] | None = None
    start: str | None = None
    stop: str | None = None
    ids: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    limit: int = 10
    sort: str = "ingested"
    descending: bool = False
    where: Filter | None = None
    after: tuple[Any, ...] | None = None
    body: str = "moon"

    @classmethod
    def build(cls, *, bbox: Any = None, intersects: Any = None, datetime: str | None = None, ids: Any = None,
              collections: Any = None, limit: int = 10, sortby: Any = None, filter: Any = None,
              filter_lang: str | None = None, token: str | None = None, body: str | None = None,
              default_body: str = "moon") -> SearchRequest:
        if isinstance(intersects, str):
            try:
                intersects = json.loads(intersects)
            except ValueError as exc:
                raise InvalidQuery(f"intersects: not JSON ({exc})") from exc
        if intersects is not None and not isinstance(intersects, dict):
            raise InvalidQuery("intersects: expected a GeoJSON geometry object")
        if limit < 1:
            raise InvalidQuery(f"limit must be at least 1 (at most {MAX_LIMIT} items are given per page)")
        # a larger limit is answered as if it were the largest (STAC API Item Search), not refused
        req = cls(bbox=parse_bbox(bbox), intersects=intersects, ids=_list(ids), collections=_list(collections),
                  limit=min(limit, MAX_LIMIT), body=body or default_body)
        if req.bbox is not None and req.intersects is not None:
            raise InvalidQuery("bbox and intersects cannot be combined")
        if len(req.ids) > MAX_LIST or len(req.collections) > MAX_LIST:
            raise InvalidQuery(f"ids and collections take at most {MAX_LIST} values each")
        req.start, req.stop = parse_datetime(datetime)
        req.sort, req.descending = parse_sortby(sortby)
        if filter not in (None, "", {}):
            req.where = parse_cql2(filter, filter_lang)
        req.after = decode_token(token, req.sort, req.descending)
        return req

    def query(self) -> Query:
        spatial = self.bbox is not None or self.intersects is not None
        return Query(lidvids=self.ids, start=self.start, stop=self.stop, bbox=self.bbox,
                     intersects=self.intersects, body=self.body if spatial else None)

    def page(self) -> Page:
        parts: list[Filter] = [Logical("not", (Compare("product_class", "in", ITEMLESS),))]
        if self.collections:
            parts.append(Compare("collection", "in", tuple(self.collections)))
        if self.where is not None:
            parts.append(self.where)
        where = parts[0] if len(parts) == 1 else Logical("and", tuple(parts))
        return Page(sort=self.sort, descending=self.descending, after=self.after, limit=self.limit + 1,
                    where=where)
