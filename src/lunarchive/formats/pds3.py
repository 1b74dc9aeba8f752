"""PDS3 labels: recognise them, read them into plain data, and describe them as :class:`Product` records.

A PDS3 label is ODL text, either *detached* (``x.lbl`` beside ``x.img``) or *attached* (the head of the data
file itself, up to ``END``). :func:`read_label` returns the label as a plain nested mapping (the shape is
described in :mod:`lunarchive.formats.odl`); :func:`parse_label` builds the catalogue record:

* ``lid`` = ``urn:lunarchive:pds3:<data_set_id>:<product_id>``, lowercased, every character outside
  ``[a-z0-9._-]`` replaced by ``_`` (PDS ids are case-insensitive; ``:`` separates fields). Without a
  PRODUCT_ID the label file's stem stands in; without a DATA_SET_ID, ``unknown``. ``vid`` is ``1.0``.
* ``files``: one FileRef per distinct file a ``^POINTER`` names (``^STRUCTURE`` → role ``format``,
  ``^DESCRIPTION``/``^..._DESC`` → ``document``, ``^..._CATALOG`` → ``catalog``, others ``data``), resolved
  beside the label trying case variants, else (format, document and catalog files) in the volume's LABEL/,
  DOCUMENT/ or CATALOG/ directory; a COMPRESSED_FILE's file is a data file too; attached pointers
  (``^IMAGE = 12``) name the label's own file, which is then the first FileRef (role ``data``, its objects as
  ``local_identifier``): ingest measures and stores it like any data file. A file of FIXED_LENGTH records
  declares its size (FILE_RECORDS x RECORD_BYTES).
* ``start``/``stop``: START_TIME/STOP_TIME as written (at the top, or in a GROUP such as HiRISE's
  TIME_PARAMETERS); else CORRECTED_START/STOP_TIME (SELENE map products); a label with none of them (Viking,
  Voyager images) gives its IMAGE_TIME as both.
* ``investigations``: MISSION_NAME, else MISSION_ID, else the host's name (INSTRUMENT_HOST_NAME or
  SPACECRAFT_NAME: MRO, NEAR and Magellan labels name no mission), else its id; ``instrument_hosts``: ids
  (without one, the host field of DATA_SET_ID) and names.
* ``extra``: identity strings, record layout, pointers and geometry in degrees (see :func:`_geometry`).
* ``discipline``: the whole label.
"""

from __future__ import annotations

import functools
import math
import os
import re
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..model import BBox, FileRef, Product
from ..times import time_problem
from . import odl
from .files import open_regular, read_whole

__all__ = [
    "BAD_TIME", "EMPTY_VALUE", "FILE_SIZE", "ID_FROM_DEFAULT", "MISSING_KEYWORD", "OBJECT_PAST_END", "OPEN_STOP_FLAGS",
    "PRODUCT_CLASS",
    "UNCLOSED", "file_notes", "is_pds3_label", "label_notes", "make_lid", "parse_label", "read_label", "resolve_file",
    "starts_as_label",
]

PRODUCT_CLASS = "PDS3"
_SIGNATURES = (b"PDS_VERSION_ID", b"ODL_VERSION_ID", b"CCSD3ZF", b"NJPL1I00PDS")
_ODL_START = re.compile(rb"(?:/\*.*?\*/\s*)*[A-Za-z^][A-Za-z0-9_:^]*\s*=", re.S)
_NULLS = {"", "N/A", "UNK", "UNKNOWN", "NULL"}
OPEN_STOP_FLAGS = frozenset({"UNK", "UNKNOWN", "NULL"})
"""STOP_TIME flags that say the stop is unknown, so the span stays open (``extra["stop_flag"]``, set only for
these); ``N/A`` (not applicable) makes the product an instant."""
_LID_BAD = re.compile(r"[^a-z0-9._-]")


# --------------------------------------------------------------------------------------------- detection
def is_pds3_label(path: Path, head: bytes) -> bool:
    """True for a detached ``.lbl`` that holds ODL, and for any file whose first bytes are a PDS3 label."""
    sig = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if sig[:32].upper().startswith(_SIGNATURES):
        return True
    if path.suffix.lower() != ".lbl":
        return False
    return _ODL_START.match(sig) is not None


def starts_as_label(path: str | Path) -> bool:
    """Whether the regular file at ``path`` is a PDS3 label by its first bytes (:func:`is_pds3_label`); a file
    that cannot be read, or is no regular file (a pipe is never opened to wait), is not."""
    try:
        with open_regular(path) as fh:
            head = fh.read(64)
    except OSError:
        return False
    return is_pds3_label(Path(path), head)


# --------------------------------------------------------------------------------------------- reading
DETACHED_SUFFIXES = (".lbl",)
"""Names of files that are all label (detached labels): one without an END statement is read whole."""


def read_label(path: Path, *, fast: bool = False, data: bytes | None = None) -> dict[str, Any]:
    """The label part of *path* as a plain nested mapping, read with pvl (or the fast reader if *fast*).

    ``data``: the file's bytes (or at least its label part) when already read.
    Raises FormatError (one line, with pvl's reason and line) when the label cannot be read.
    """
    ended = True
    try:
        try:
            text = odl.label_text(path, data)
        except FormatError:
            if path.suffix.lower() not in DETACHED_SUFFIXES:
                raise
            # a detached label is all label: without END, the whole file (old volumes leave END out)
            text, ended = odl.detached_text(read_whole(str(path)) if data is None else data)
        try:
            label = odl.loads(text, fast=fast)
        except FormatError as err:
            if ended:
                raise
            raise FormatError(f"no END statement (truncated label?), and the whole file is no label: {err.message}",
                              line=err.line) from None
        if not ended and label.unclosed:
            name, line = label.unclosed[0]
            raise FormatError(f"no END statement (truncated label?): OBJECT or GROUP {name} is still open at the end "
                              "of the file", line=line)
    except OSError as err:
        raise FormatError(f"not a readable PDS3 label: {err.strerror or err}") from None
    except FormatError as err:
        raise FormatError(f"not a readable PDS3 label: {err.message}", line=err.line) from None
    if not label:
        raise FormatError("not a readable PDS3 label: no keywords" + (" before END" if ended else ""))
    label.no_end = not ended
    return label


def make_lid(data_set_id: str, product_id: str) -> str:
    """``urn:lunarchive:pds3:<data_set_id>:<product_id>`` following PDS LID character rules."""
    parts = [_LID_BAD.sub("_", p.strip().lower()) or "unknown" for p in (data_set_id, product_id)]
    return f"urn:lunarchive:pds3:{parts[0]}:{parts[1]}"


def parse_label(path: Path, fast: bool = True, data: bytes | None = None) -> Product:
    """Read the PDS3 label at *path* (or its bytes ``data`` already read) and describe it as a Product
    (``label_format="pds3"``)."""
    path = Path(path)
    label = read_label(path, fast=fast, data=data)
    data_set_id = _first(label.get("DATA_SET_ID"))
    product_id = _first(label.get("PRODUCT_ID"))
    blocks = _blocks(label)
    files, pointers = _files(blocks, path.parent)
    # a pointer to record or byte 0 names no place (locations count from 1): not data after the label
    attached = [str(p["object"]) for p in pointers if p["file"] is None and not _no_place(p)]
    if attached:  # the label's own file holds data after it: a data file of the product like any other
        own = FileRef(name=path.name, role="data", local_identifier=",".join(dict.fromkeys(attached)),
                      path=os.path.abspath(path))
        own.records = _count(label.get("FILE_RECORDS"))
        own.declared_size = _declared_size(label, own.records)
        files.insert(0, own)
    extra = _identity(label)
    _compressed(label, files, path.parent, extra)
    if pointers:
        extra["pointers"] = pointers
    records = {k.lower(): label[k] for k in ("RECORD_TYPE", "RECORD_BYTES", "FILE_RECORDS", "LABEL_RECORDS")
               if k in label}
    if records:
        extra["records"] = records
    geometry = _geometry(blocks)
    extra.update(geometry)
    start_key, stop_key = _time_keys(label)
    start, stop = _time(_keyword(label, start_key)), _time(_keyword(label, stop_key))
    flag = _keyword(label, "STOP_TIME", _ABSENT) if stop is None and start is not None else _ABSENT
    if flag is not _ABSENT:
        flag = "NULL" if flag is None else str(flag).strip().upper()  # pvl reads NULL as None
        if flag in OPEN_STOP_FLAGS:
            extra["stop_flag"] = flag  # an unknown stop: the span stays open (N/A: an instant)
    return Product(
        lid=make_lid(data_set_id or "unknown", product_id or path.stem),
        vid="1.0",
        product_class=PRODUCT_CLASS,
        title=_title(label, product_id, path),
        targets=_texts(label.get("TARGET_NAME")),
        investigations=_pick(label, "MISSION_NAME", "MISSION_ID") or _all(label, "INSTRUMENT_HOST_NAME",
                                                                          "SPACECRAFT_NAME")
        or _all(label, "SPACECRAFT_ID", "INSTRUMENT_HOST_ID"),
        instruments=_texts(label.get("INSTRUMENT_ID")) or _texts(label.get("INSTRUMENT_NAME")),
        instrument_hosts=_hosts(label, data_set_id),
        start=start,
        stop=stop,
        information_model_version=_first(label.get("PDS_VERSION_ID")),
        files=files,
        bbox=_bbox(geometry),
        label_path=os.path.abspath(path),
        label_format="pds3",
        extra=extra,
        discipline=label,
    )


_TIME_KEYS = (("START_TIME", "STOP_TIME"), ("CORRECTED_START_TIME", "CORRECTED_STOP_TIME"),
              ("IMAGE_TIME", "IMAGE_TIME"))


def _time_keys(label: dict[str, Any]) -> tuple[str, str]:
    """The keywords that give a product's span: the first pair that gives a time (not UNK, N/A, NULL) of
    START/STOP_TIME, SELENE's CORRECTED_START/STOP_TIME (its map products give no other), and IMAGE_TIME as
    both (Viking, Voyager images: the span is that instant); else the first pair the label writes at all
    (its times are then reported as unreadable or flags); else IMAGE_TIME."""
    for keys in _TIME_KEYS:
        if any(_time(_keyword(label, key)) is not None for key in keys):
            return keys
    for keys in _TIME_KEYS:
        if any(_keyword(label, key) is not None for key in keys):
            return keys
    return _TIME_KEYS[-1]


def _hosts(label: dict[str, Any], data_set_id: str | None) -> list[str]:
    """The host's ids and names; without an id, the host id a DATA_SET_ID begins with by the PDS3 naming rule
    (``LRO-L-LOLA-4-GDR-V1.0``: ``<host>-<target>-<instrument>-<level>-...``), so ``--mission LRO`` finds a
    LOLA product whose label names only INSTRUMENT_HOST_NAME."""
    hosts = _all(label, "SPACECRAFT_ID", "INSTRUMENT_HOST_ID")
    if not hosts and data_set_id and _DATA_SET_ID.match(data_set_id):
        hosts = [data_set_id.split("-", 1)[0].strip().upper()]
    for name in _all(label, "SPACECRAFT_NAME", "INSTRUMENT_HOST_NAME"):
        _add_name(hosts, name)
    return hosts


_DATA_SET_ID = re.compile(r"[A-Za-z0-9/_]+-[A-Za-z0-9/_]+-[^-]+-.+")
"""The shape of a PDS3 data set id made by the naming rule (host, target, instrument, level, ... separated by
hyphens): at least four fields."""


# ------------------------------------------------------------------------------------------ plain values
MISSING_KEYWORD = "warning.pds3.missing_keyword"
EMPTY_VALUE = "warning.pds3.empty_value"
UNCLOSED = "warning.pds3.unclosed_block"
ID_FROM_DEFAULT = "info.pds3.id_not_in_label"
BAD_TIME = "warning.pds3.unreadable_time"
FILE_SIZE = "error.label.filesize_mismatch"
"""A file of fixed-length records whose size is not FILE_RECORDS x RECORD_BYTES (as for a PDS4 file_size)."""
OBJECT_PAST_END = "error.label.table_definition_problem"
"""A pointer to a place past the end of its file (as for a truncated PDS4 data object)."""
TABLE_ROWS = "error.table.records_mismatch"
"""A detached table whose ROWS is not the number of rows its file holds."""


def label_notes(product: Product) -> list[tuple[str, str, int | None]]:
    """(message id, text, line) for what a PDS3 product's label lacks; it is catalogued all the same.

    A label with neither PDS_VERSION_ID nor an SFDU header (``CCSD3ZF...`` labels of the PDS2 era) is ODL
    but not a whole PDS label; keywords written with no value (``KEY =``) are read as empty strings; an
    OBJECT or GROUP still open at END is dropped with all it holds; a START/STOP_TIME that is no time leaves the
    product out of time searches. These are warnings. Without DATA_SET_ID
    or PRODUCT_ID the LID is built from stand-ins, which is noted.
    """
    label = product.discipline
    out: list[tuple[str, str, int | None]] = []
    if getattr(label, "no_end", False):
        out.append((MISSING_KEYWORD, "the label has no END statement: it was read to the end of its file", None))
    if "PDS_VERSION_ID" not in label and not any(k.upper().startswith(_SFDU) for k in label):
        out.append((MISSING_KEYWORD, "the label has neither PDS_VERSION_ID nor an SFDU header: it reads as ODL, "
                    "but is not a whole PDS label", None))
    for key, line in getattr(label, "empty_values", ()):
        out.append((EMPTY_VALUE, f"keyword {key} has no value on line {line}; read as an empty string", line))
    for name, line in getattr(label, "unclosed", ()):
        where = f" (opened on line {line})" if line else ""
        out.append((UNCLOSED, f"OBJECT or GROUP {name}{where} is still open at an END statement: pvl stops there "
                    "and drops it, so nothing from it on is read", line))
    first, second = _time_keys(label)
    for key, value in ((first, product.start), (second, product.stop))[: 1 if first == second else 2]:
        problem = time_problem(value)
        if problem is not None:
            out.append((BAD_TIME, f"{key} {value!r} is not a UTC time ({problem[1]}); the product cannot be found "
                        "by time", None))
    if _first(label.get("DATA_SET_ID")) is None:
        out.append((ID_FROM_DEFAULT, f"the label has no DATA_SET_ID: the LID {product.lid} names the data set "
                    "'unknown'", None))
    if _first(label.get("PRODUCT_ID")) is None:
        name = os.path.basename(product.label_path or "")
        out.append((ID_FROM_DEFAULT, f"the label has no PRODUCT_ID: the LID {product.lid} is built from the file "
                    f"name {name!r}", None))
    return out


_SFDU = ("CCSD", "NJPL")


def file_notes(product: Product) -> list[tuple[str, str, int | None]]:
    """What the measured files say against the label: a fixed-length file whose size is not FILE_RECORDS x
    RECORD_BYTES, and a pointer to a place past the end of its file (the object's data is not there). Files
    not measured (``size`` None) are not judged; a file whose size is reported already is not again."""
    out: list[tuple[str, str, int | None]] = []
    reported = set()
    for ref in product.files:
        if ref.size is not None and ref.declared_size is not None and ref.size != ref.declared_size:
            out.append((FILE_SIZE, f"file {ref.name!r}: FILE_RECORDS {ref.records} x RECORD_BYTES "
                        f"{ref.declared_size // (ref.records or 1)} is {ref.declared_size} bytes, the file has "
                        f"{ref.size}", None))
            reported.add(ref.name)
    by_name = {ref.name.lower(): ref for ref in product.files}
    own = os.path.basename(product.label_path or "").lower()
    record_bytes = product.extra.get("records", {}).get("record_bytes")
    for pointer in product.extra.get("pointers", ()):
        target = by_name.get(str(pointer["file"] if pointer["file"] is not None else own).lower())
        offset = pointer["offset"]
        size = target.size if target is not None and target.name not in reported else None
        if _no_place(pointer):
            out.append((OBJECT_PAST_END, f"^{pointer['object']} = {offset}: a pointer's location counts from 1, so "
                        "it names no place in the file (the object's data is not located)", None))
            continue
        if target is None or size is None or not isinstance(offset, int) or offset < 1:
            continue
        if pointer["unit"] == "byte":
            start = offset - 1
        elif isinstance(record_bytes, int) and not isinstance(record_bytes, bool) and record_bytes > 0:
            start = (offset - 1) * record_bytes
        else:
            continue
        if start >= size:
            where = f"{offset} <BYTES>" if pointer["unit"] == "byte" else f"record {offset}"
            out.append((OBJECT_PAST_END, f"^{pointer['object']} points at {where} (byte {start}) of {target.name!r}, "
                        f"which holds {size} bytes: the object's data is not there", None))
            reported.add(target.name)
    out += _table_rows(product, by_name, own, reported)
    return out


def _table_rows(product: Product, by_name: dict[str, FileRef], own: str,
                reported: set[str]) -> list[tuple[str, str, int | None]]:
    """A table alone in its own data file (a detached .tab) whose ROWS x ROW_BYTES is not the file's size while
    the file is a whole number of such rows: ROWS says another number of rows than the file holds."""
    out: list[tuple[str, str, int | None]] = []
    pointers = product.extra.get("pointers", ())
    per_file: dict[str, int] = {}
    for pointer in pointers:
        name = str(pointer["file"] if pointer["file"] is not None else own).lower()
        per_file[name] = per_file.get(name, 0) + 1
    for pointer in pointers:
        rows, row_bytes = pointer.get("rows"), pointer.get("row_bytes")
        if pointer["file"] is None or rows is None or row_bytes is None or pointer["offset"] not in (None, 1):
            continue
        target = by_name.get(str(pointer["file"]).lower())
        if target is None or target.size is None or target.name in reported or per_file[target.name.lower()] != 1:
            continue
        held, rest = divmod(target.size, row_bytes)
        if rest == 0 and held != rows:
            out.append((TABLE_ROWS, f"^{pointer['object']}: ROWS = {rows}, but {target.name!r} holds {held} rows "
                        f"of {row_bytes} bytes", None))
    return out


def _no_place(pointer: dict[str, Any]) -> bool:
    """A pointer whose location is below 1 (``^TABLE = 0``): record and byte locations count from 1."""
    offset = pointer["offset"]
    return isinstance(offset, int) and not isinstance(offset, bool) and offset < 1


def _texts(value: Any) -> list[str]:
    """The text values of a keyword (a sequence gives several; a value with units, its value), without PDS3
    null flags, no repeats."""
    out: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if _is_quantity(item):  # SPACECRAFT_CLOCK_START_COUNT = 922997380.1775 <sec> (Kaguya)
            item = item["value"]
        if isinstance(item, list):
            found = _texts(item)
        elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
            text = str(item).strip()
            found = [] if text.upper() in _NULLS else [text]
        else:
            found = []
        out.extend(t for t in found if t not in out)
    return out


def _first(value: Any) -> str | None:
    texts = _texts(value)
    return texts[0] if texts else None


def _pick(label: dict[str, Any], *keys: str) -> list[str]:
    for key in keys:
        texts = _texts(label.get(key))
        if texts:
            return texts
    return []


def _all(label: dict[str, Any], *keys: str) -> list[str]:
    """The texts of all ``keys``, in order, each once (an id and a name of one spacecraft are both kept; one
    name spelt with underscores and with spaces, ``MARS_RECONNAISSANCE_ORBITER`` and ``"MARS RECONNAISSANCE
    ORBITER"``, is one name, kept with its spaces)."""
    out: list[str] = []
    for key in keys:
        for text in _texts(label.get(key)):
            _add_name(out, text)
    return out


def _add_name(names: list[str], text: str) -> None:
    """Append ``text`` to ``names`` unless it is one of them written with underscores for spaces (or back, when
    the one held has the underscores: the spaced name replaces it)."""
    key = _name_key(text)
    for i, held in enumerate(names):
        if _name_key(held) == key:
            if "_" in held and "_" not in text:
                names[i] = text
            return
    names.append(text)


def _name_key(text: str) -> str:
    """A name as compared: upper case, underscores as spaces, white space collapsed."""
    return " ".join(text.replace("_", " ").upper().split())


_GROUPED = frozenset({"START_TIME", "STOP_TIME", "IMAGE_TIME", "PRODUCT_CREATION_TIME", "SPACECRAFT_CLOCK_START_COUNT",
                      "SPACECRAFT_CLOCK_STOP_COUNT", "CORRECTED_START_TIME", "CORRECTED_STOP_TIME"})
"""Keywords a label may give inside a GROUP instead of at its top (HiRISE's TIME_PARAMETERS)."""


_ABSENT = object()


def _keyword(label: dict[str, Any], key: str, default: Any = None) -> Any:
    """A top-level keyword's value, else (for the times of ``_GROUPED``) its value in the first GROUP or OBJECT
    directly inside the label that has it; ``default`` when neither has it (a NULL given is None: pass
    ``_ABSENT`` to tell the two apart)."""
    if key in label:
        return label[key]
    if key in _GROUPED:
        for value in label.values():
            if isinstance(value, dict) and not _is_quantity(value) and key in value:
                return value[key]
    return default


def _time(value: Any) -> str | None:
    """START_TIME/STOP_TIME exactly as written; None for N/A, UNK, NULL or nothing."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, (bool, dict)):
        return None
    text = str(value).strip()
    return None if text.upper() in _NULLS else text


def _title(label: dict[str, Any], product_id: str | None, path: Path) -> str:
    name = _first(label.get("PRODUCT_NAME"))
    if name:
        return name
    data_set = _first(label.get("DATA_SET_NAME")) or _first(label.get("DATA_SET_ID"))
    product = product_id or path.stem
    return f"{product} - {data_set}" if data_set else product


_IDENTITY = (
    "DATA_SET_ID", "DATA_SET_NAME", "PRODUCT_ID", "PRODUCT_TYPE", "PRODUCT_VERSION_ID",
    "STANDARD_DATA_PRODUCT_ID", "ORIGINAL_PRODUCT_ID", "SOURCE_PRODUCT_ID", "PRODUCT_CREATION_TIME",
    "INSTRUMENT_ID", "INSTRUMENT_NAME", "INSTRUMENT_HOST_ID", "INSTRUMENT_HOST_NAME", "SPACECRAFT_ID",
    "SPACECRAFT_NAME", "MISSION_ID", "MISSION_NAME", "MISSION_PHASE_NAME", "TARGET_TYPE",
    "PROCESSING_LEVEL_ID", "ORBIT_NUMBER", "SPACECRAFT_CLOCK_START_COUNT", "SPACECRAFT_CLOCK_STOP_COUNT",
    "FILE_NAME", "PDS_VERSION_ID",
)


def _identity(label: dict[str, Any]) -> dict[str, Any]:
    """Top-level identity keywords as strings (first value of a sequence), lowercased keys."""
    out: dict[str, Any] = {}
    for key in _IDENTITY:
        text = _first(_keyword(label, key))
        if text is not None:
            out[key.lower()] = text
    return out


def _is_quantity(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == {"value", "units"}


def _blocks(label: dict[str, Any]) -> list[dict[str, Any]]:
    """The label and every OBJECT/GROUP inside it, depth first, in label order."""
    out: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = [label]
    while stack:
        block = stack.pop()
        out.append(block)
        inner: list[dict[str, Any]] = []
        for value in block.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and not _is_quantity(item):
                    inner.append(item)
        stack.extend(reversed(inner))
    return out


# ------------------------------------------------------------------------------------------------ files
def _pointer_role(name: str) -> str:
    if name == "STRUCTURE" or name.endswith("_STRUCTURE"):
        return "format"
    if name == "DESCRIPTION" or name.endswith(("_DESCRIPTION", "_DESC")):
        return "document"
    if name.endswith("CATALOG") or name == "DATA_SET_MAP_PROJECTION":
        return "catalog"
    return "data"


_VOLUME_DIRS = {"format": ("label",), "document": ("document",), "catalog": ("catalog", "label")}
"""Where a volume keeps the files of each pointer role that are not beside the label: format files in LABEL/,
documents in DOCUMENT/, catalog files in CATALOG/ or, as supplemental labels (Mars MDIM's DSMAPDIM.LBL),
LABEL/ (directories one level below the volume's root)."""
_VOLUME_DEPTH = 6
"""How many directories up from a label its volume's root is looked for."""


def _resolve_in_volume(base: Path, name: str, role: str) -> Path | None:
    """A pointer's file that is not beside the label, in its volume's LABEL/, DOCUMENT/ or CATALOG/ directory
    (the nearest one, going up from the label), whatever the case of its name."""
    subs = _VOLUME_DIRS.get(role)
    if subs is None or "/" in name.strip().replace("\\", "/"):
        return None  # a data file, or a path the label spells out: only where it says
    current = base.absolute()
    for _ in range(_VOLUME_DEPTH):
        parent = current.parent
        if parent == current:
            return None
        current = parent
        try:
            listing = _listing(str(current), current.stat().st_mtime_ns)
        except OSError:
            return None
        for sub in subs:
            actual = listing.get(sub)
            found = resolve_file(current / actual, name) if actual is not None else None
            if found is not None:
                return found
    return None


def _offset(value: Any) -> tuple[int | None, str | None]:
    """An object's start inside a file: ``12`` (records) or ``12 <BYTES>``."""
    if _is_quantity(value):
        unit = "byte" if str(value["units"]).strip().upper() in ("BYTES", "BYTE") else "record"
        value = value["value"]
    else:
        unit = "record"
    if isinstance(value, int) and not isinstance(value, bool):
        return value, unit
    return None, None


def _pointer_targets(value: Any) -> list[tuple[str | None, int | None, str | None]]:
    """(file name or None when attached, offset, offset unit) for each place a pointer value names."""
    if isinstance(value, str):
        return [(value, None, None)]
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], str) and not isinstance(value[1], (str, list)):
            offset, unit = _offset(value[1])
            return [(value[0], offset, unit)]
        out: list[tuple[str | None, int | None, str | None]] = []
        for item in value:  # a sequence of files, or a pointer repeated in one block
            out.extend(_pointer_targets(item))
        return out
    offset, unit = _offset(value)
    return [(None, offset, unit)] if offset is not None else []


def _files(blocks: list[dict[str, Any]], base: Path) -> tuple[list[FileRef], list[dict[str, Any]]]:
    """One FileRef per distinct file named by a pointer in any block, and the list of pointers."""
    refs: dict[str, FileRef] = {}
    pointers: list[dict[str, Any]] = []
    for block in blocks:
        names: set[str] = set()
        attached = False
        for key, value in block.items():
            if not key.startswith("^"):
                continue
            obj = key[1:]
            role = _pointer_role(obj)
            shape = _table_shape(block.get(obj))
            for name, offset, unit in _pointer_targets(value):
                pointers.append({"object": obj, "file": name, "offset": offset, "unit": unit, **shape})
                if name is None:
                    attached = True
                    continue
                ref = _add_file(refs, name, role, obj, base)
                if ref.role == "data":
                    names.add(ref.name.lower())
        records = _count(block.get("FILE_RECORDS"))
        if len(names) == 1 and not attached and records is not None:
            ref = refs[names.pop()]
            ref.records, ref.declared_size = records, _declared_size(block, records)
    return list(refs.values()), pointers


def _table_shape(obj: Any) -> dict[str, int]:
    """``rows`` and ``row_bytes`` (prefix and suffix bytes included) of a TABLE-like object, when it gives them."""
    if not isinstance(obj, dict):
        return {}
    rows, row_bytes = _count(obj.get("ROWS")), _count(_plain(obj.get("ROW_BYTES")))
    if rows is None or row_bytes is None or rows < 0 or row_bytes <= 0:
        return {}
    extra = sum(_count(_plain(obj.get(k))) or 0 for k in ("ROW_PREFIX_BYTES", "ROW_SUFFIX_BYTES"))
    return {"rows": rows, "row_bytes": row_bytes + extra}


def _plain(value: Any) -> Any:
    """A value without its unit (``ROW_BYTES = 80 <BYTES>``)."""
    return value.get("value") if isinstance(value, dict) and _is_quantity(value) else value


def _compressed(label: dict[str, Any], files: list[FileRef], base: Path, extra: dict[str, Any]) -> None:
    """A COMPRESSED_FILE object names the file delivered (HiRISE's JPEG 2000), which is a data file; the
    UNCOMPRESSED_FILE it describes is what decompressing it gives, so it is kept only when it is there too
    (``extra["uncompressed_files"]`` names it either way)."""
    compressed, uncompressed = label.get("COMPRESSED_FILE"), label.get("UNCOMPRESSED_FILE")
    if not isinstance(compressed, dict):
        return
    have = {f.name.lower() for f in files}
    for name in _texts(compressed.get("FILE_NAME")):
        if name.lower() not in have:
            found = resolve_file(base, name)
            files.append(FileRef(name=name, role="data", local_identifier="COMPRESSED_FILE",
                                 path=str(found) if found is not None else None))
    names = _texts(uncompressed.get("FILE_NAME")) if isinstance(uncompressed, dict) else []
    if names:
        extra["uncompressed_files"] = names
        derived = {n.lower() for n in names}
        files[:] = [f for f in files if f.name.lower() not in derived or f.path is not None]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _declared_size(block: dict[str, Any], records: int | None) -> int | None:
    """The size a file of ``records`` fixed-length records declares, by the RECORD_TYPE and RECORD_BYTES of
    the block that gives its FILE_RECORDS (the label, or an OBJECT = FILE); None for other record types."""
    record_bytes = _count(block.get("RECORD_BYTES"))
    if (_first(block.get("RECORD_TYPE")) or "").upper() != "FIXED_LENGTH" or not record_bytes or not records:
        return None
    return records * record_bytes if record_bytes > 0 and records > 0 else None


def _add_file(refs: dict[str, FileRef], name: str, role: str, obj: str, base: Path) -> FileRef:
    key = name.lower()
    ref = refs.get(key)
    if ref is None:
        found = resolve_file(base, name) or _resolve_in_volume(base, name, role)
        ref = refs[key] = FileRef(name=name, role=role, local_identifier=obj,
                                  path=str(found) if found is not None else None)
    else:
        if role == "data" and ref.role != "data":
            ref.role = "data"
        if obj not in (ref.local_identifier or "").split(","):
            ref.local_identifier = f"{ref.local_identifier},{obj}"
    return ref


@functools.lru_cache(maxsize=512)
def _listing(directory: str, mtime_ns: int) -> dict[str, str]:
    """Lowercased name → actual name for one directory (cached while its mtime holds)."""
    try:
        return {entry.name.lower(): entry.name for entry in os.scandir(directory)}
    except OSError:
        return {}


def resolve_file(base: Path, name: str) -> Path | None:
    """The file *name* (relative to *base*, as a label writes it) on disk, whatever its case; None if absent.

    PDS3 file names are case-insensitive and archives mix case (``^TABLE = "X.DAT"`` beside ``x.dat``).
    """
    name = name.strip().replace("\\", "/")
    exact = base / name
    if exact.is_file():
        return Path(os.path.abspath(exact))
    current = base
    for part in Path(name).parts:
        if part in (".", ".."):
            current = current / part
            continue
        for variant in (part, part.lower(), part.upper()):
            if (current / variant).exists():
                current = current / variant
                break
        else:
            try:
                mtime = current.stat().st_mtime_ns
            except OSError:
                return None
            actual = _listing(str(current), mtime).get(part.lower())
            if actual is None:
                return None
            current = current / actual
    return Path(os.path.abspath(current)) if current.is_file() else None


# --------------------------------------------------------------------------------------------- geometry
def _degrees(value: Any) -> float | None:
    """A latitude/longitude in degrees (units stripped); None for N/A, non-degree units or non-numbers."""
    if _is_quantity(value):
        if not str(value["units"]).strip().lower().startswith("deg"):
            return None
        value = value["value"]
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _pair(block: dict[str, Any], key_a: str, key_b: str) -> list[float] | None:
    """[a, b] in degrees when both keywords of *block* hold one (so [lon, lat] or [min, max])."""
    if key_a not in block or key_b not in block:
        return None
    a, b = _degrees(block[key_a]), _degrees(block[key_b])
    return [a, b] if a is not None and b is not None else None


def _first_pair(blocks: list[dict[str, Any]], key_a: str, key_b: str) -> list[float] | None:
    for block in blocks:
        pair = _pair(block, key_a, key_b)
        if pair is not None:
            return pair
    return None


def _corners(blocks: list[dict[str, Any]]) -> list[list[float]] | None:
    order = ("UPPER_LEFT", "UPPER_RIGHT", "LOWER_RIGHT", "LOWER_LEFT")
    for block in blocks:
        pairs = [_pair(block, f"{c}_LONGITUDE", f"{c}_LATITUDE") for c in order]
        if all(p is not None for p in pairs):
            return [p for p in pairs if p is not None]
    return None


def _footprint(blocks: list[dict[str, Any]]) -> list[list[float]] | None:
    for block in blocks:
        lats, lons = block.get("FOOTPRINT_POINT_LATITUDE"), block.get("FOOTPRINT_POINT_LONGITUDE")
        if isinstance(lats, list) and isinstance(lons, list) and len(lats) == len(lons) and lats:
            points = [[_degrees(lo), _degrees(la)] for lo, la in zip(lons, lats, strict=True)]
            if all(lo is not None and la is not None for lo, la in points):
                return points  # type: ignore[return-value]
    return None


def _geometry(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Footprint facts the label states, in degrees as written (no normalisation here).

    ``corners``: [[lon, lat] × 4] in the order UL, UR, LR, LL (UPPER_LEFT_LATITUDE...; Kaguya TC/MI).
    ``center``: [lon, lat] from CENTER_LATITUDE/LONGITUDE (anywhere but an IMAGE_MAP_PROJECTION object,
    where they are the projection's centre, not the image's: 0, 0 for Kaguya MI map tiles), else
    SCENE_CENTER_*. ``lat_range``: [min, max]; ``lon_range``: [west, east] (MINIMUM/MAXIMUM_LATITUDE,
    WESTERNMOST/EASTERNMOST_LONGITUDE, else MINIMUM/MAXIMUM_LONGITUDE: the highest is the westernmost when
    longitudes are positive west). ``footprint``: [[lon, lat], ...] from FOOTPRINT_POINT_* (HRSC).
    ``positive_longitude_direction`` / ``longitude_convention``: as the label writes them.
    """
    out: dict[str, Any] = {}
    corners = _corners(blocks)
    if corners:
        out["corners"] = corners
    unprojected = [b for b in blocks if "MAP_PROJECTION_TYPE" not in b]  # a projection's centre is not the image's
    center = _first_pair(unprojected, "CENTER_LONGITUDE", "CENTER_LATITUDE") or _first_pair(
        blocks, "SCENE_CENTER_LONGITUDE", "SCENE_CENTER_LATITUDE")
    if center:
        out["center"] = center
    lats = _first_pair(blocks, "MINIMUM_LATITUDE", "MAXIMUM_LATITUDE")
    if lats:
        out["lat_range"] = lats
    footprint = _footprint(blocks)
    if footprint:
        out["footprint"] = footprint
    for key, out_key in (("POSITIVE_LONGITUDE_DIRECTION", "positive_longitude_direction"),
                         ("LONGITUDE_DOMAIN", "longitude_convention"),
                         ("LONGITUDE_CONVENTION", "longitude_convention")):
        for block in blocks:
            text = _first(block.get(key)) if key in block else None
            if text is not None and out_key not in out:
                out[out_key] = text.upper()
    lons = _first_pair(blocks, "WESTERNMOST_LONGITUDE", "EASTERNMOST_LONGITUDE")
    if lons is None:  # the lowest and highest longitude (Magellan): west to east, in the label's direction
        lons = _first_pair(blocks, "MINIMUM_LONGITUDE", "MAXIMUM_LONGITUDE")
        if lons is not None and "WEST" in out.get("positive_longitude_direction", ""):
            lons.reverse()
    if lons:
        out["lon_range"] = lons
    return out


def _bbox(geometry: dict[str, Any]) -> BBox | None:
    """The box a label states with MINIMUM/MAXIMUM_LATITUDE and WESTERN/EASTERNMOST_LONGITUDE, as written."""
    lats, lons = geometry.get("lat_range"), geometry.get("lon_range")
    if not lats or not lons:
        return None
    return BBox(west=lons[0], south=lats[0], east=lons[1], north=lats[1])
