"""The shared vocabulary: records that parsers produce and the catalogue stores.

These are plain dataclasses with no I/O. Parsers in ``formats/`` build them, ``validate/`` reads them,
``ingest`` fills in what it measured, and the catalogue turns them into rows and back.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .errors import InvalidIdentifier

__all__ = [
    "BBox",
    "FileRef",
    "Finding",
    "Member",
    "Product",
    "Reference",
    "Severity",
    "parse_vid",
    "split_lidvid",
]

Severity = Literal["error", "warning", "info"]

_VID_RE = re.compile(r"^\d+(\.\d+)*$")


def parse_vid(vid: str) -> tuple[int, ...]:
    """Turn a VID such as ``1.10`` into a sortable tuple ``(1, 10)``; ``1.10`` is newer than ``1.9``."""
    if not _VID_RE.match(vid):
        raise InvalidIdentifier(f"not a version id: {vid!r}")
    return tuple(int(p) for p in vid.split("."))


def split_lidvid(text: str) -> tuple[str, str | None]:
    """Split ``urn:...::1.0`` into (lid, vid); a bare LID gives (lid, None)."""
    text = text.strip()
    if not text:
        raise InvalidIdentifier("empty identifier")
    if "::" in text:
        lid, _, vid = text.rpartition("::")
        if not lid or not _VID_RE.match(vid):
            raise InvalidIdentifier(f"not a LIDVID: {text!r}")
        return lid, vid
    return text, None


@dataclass
class BBox:
    """A bounding box exactly as the label gives it (degrees; west may exceed east when it wraps)."""

    west: float
    south: float
    east: float
    north: float

    def as_list(self) -> list[float]:
        return [self.west, self.south, self.east, self.north]


@dataclass
class FileRef:
    """One file of a product: what the label declares and, after ingest, what was measured."""

    name: str
    """File name as written in the label (relative to the label's directory)."""
    role: str = "data"
    """``data`` for a file the label describes, ``label`` for the label file itself."""
    declared_size: int | None = None
    declared_md5: str | None = None
    records: int | None = None
    local_identifier: str | None = None
    path: str | None = None
    """Absolute path on disk where it was found (set by the parser when it resolves it)."""
    # Measured on ingest:
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    status: str = "pending"
    """``pending`` before ingest; then ``ok``, ``missing`` or ``unreadable``."""
    mtime_ns: int | None = None
    """The file's modification time (ns since the epoch) when it was measured."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Reference:
    """An Internal_Reference (or a PDS3 pointer to another product): a LID or LIDVID and its type."""

    target: str
    ref_type: str
    kind: Literal["lid", "lidvid"] = "lid"
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Member:
    """A member of a collection inventory (or a bundle member entry)."""

    ref: str
    """The LIDVID or LID as written in the inventory."""
    status: Literal["P", "S"] = "P"
    kind: Literal["lid", "lidvid"] = "lidvid"
    member_type: str | None = None
    """For bundle member entries: ``bundle_has_data_collection`` and so on."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Finding:
    """A problem found in input data; message ids follow NASA PDS validate (``error.label.missing_file``)."""

    message_id: str
    message: str
    path: str
    severity: Severity = "error"
    line: int | None = None
    lidvid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Product:
    """One catalogued product: a PDS4 label, a PDS3 label or another kind of input."""

    lid: str
    vid: str
    product_class: str
    """``Product_Observational`` and so on for PDS4; ``PDS3`` for PDS3 labels."""
    title: str | None = None
    targets: list[str] = field(default_factory=list)
    investigations: list[str] = field(default_factory=list)
    instruments: list[str] = field(default_factory=list)
    """Observing systems / instruments (names as the label gives them)."""
    instrument_hosts: list[str] = field(default_factory=list)
    start: str | None = None
    """Start time as the label writes it (ISO 8601, precision kept)."""
    stop: str | None = None
    processing_level: str | None = None
    information_model_version: str | None = None
    references: list[Reference] = field(default_factory=list)
    files: list[FileRef] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    bbox: BBox | None = None
    label_path: str | None = None
    """Absolute path of the label file that was parsed."""
    label_format: Literal["pds4", "pds3", "other"] = "pds4"
    extra: dict[str, Any] = field(default_factory=dict)
    """Format-specific identity and geometry: PDS3 ids, corner lat/lon, inventory file name..."""
    discipline: dict[str, Any] = field(default_factory=dict)
    """Discipline / mission areas kept as raw data (``{"cart:Cartography": {...}}``), nothing dropped."""

    @property
    def lidvid(self) -> str:
        return f"{self.lid}::{self.vid}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lidvid"] = self.lidvid
        d["bbox"] = self.bbox.as_list() if self.bbox else None
        return d
