"""The one Query model that every read path (CLI, API, web, sync) hands to the catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InvalidQuery
from .times import normalize_utc

__all__ = ["Query", "SORT_KEYS"]

SORT_KEYS = ("lidvid", "start", "stop", "title", "ingested")


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
    sort: str = "lidvid"
    descending: bool = False
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit < 0 or self.offset < 0:
            raise InvalidQuery("limit and offset must not be negative")
        if self.sort not in SORT_KEYS:
            raise InvalidQuery(f"cannot sort by {self.sort!r}; use one of {', '.join(SORT_KEYS)}")
        for name in ("start", "stop"):
            value = getattr(self, name)
            if value is not None and normalize_utc(value) is None:
                raise InvalidQuery(f"--{name}: not an ISO 8601 UTC time: {value!r}")

    @property
    def start_utc(self) -> str | None:
        return normalize_utc(self.start)

    @property
    def stop_utc(self) -> str | None:
        return normalize_utc(self.stop, end=True)
