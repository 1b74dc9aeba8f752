"""PDS4 tables: their definitions read from a label tree, and chunked readers for their records.

:func:`tables_from_tree` turns every ``Table_Character``, ``Table_Binary``, ``Table_Delimited``,
``Inventory`` and other class the information model derives from them (``Transfer_Manifest``,
``Manifest_SIP_Deep_Archive``...) of a label into a :class:`TableDef`: fields expanded out of their groups
(each repetition of ``Group_Field_*`` becomes its own fields, offsets made absolute and 0-based), with the
data type, the ``Field_Statistics`` minimum/maximum, ``Special_Constants``, scaling and formats. Definitions that cannot
be right (a group whose length does not match its fields, fields outside the record, unknown data types,
non-integer counts) are kept as ``TableDef.problems`` instead of raising, so a validator can report them.

The readers never hold a whole table: :class:`FixedReader` yields ``(n, record_length)`` ``uint8`` arrays
of at most ``chunk_bytes``, :class:`DelimitedReader` yields lists of lines. Both stop at the number of
records the label declares or at the end of the file, whichever comes first, so a label claiming 10^12
records costs what the file holds, not what the label says.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from lxml import etree

__all__ = [
    "BINARY_DTYPES",
    "BIT_TYPES",
    "CHARACTER_TYPES",
    "file_name_of",
    "fixed_record_tag",
    "BitField",
    "DelimitedReader",
    "FieldDef",
    "FixedReader",
    "TableDef",
    "delimiter_char",
    "line_of",
    "parse_number",
    "tables_from_tree",
]

_P = "{http://pds.nasa.gov/pds4/pds/v1}"
TableKind = Literal["character", "binary", "delimited"]

# fmt: off
BINARY_DTYPES: dict[str, str] = {
    "SignedByte": "i1", "UnsignedByte": "u1",
    "SignedMSB2": ">i2", "SignedLSB2": "<i2", "UnsignedMSB2": ">u2", "UnsignedLSB2": "<u2",
    "SignedMSB4": ">i4", "SignedLSB4": "<i4", "UnsignedMSB4": ">u4", "UnsignedLSB4": "<u4",
    "SignedMSB8": ">i8", "SignedLSB8": "<i8", "UnsignedMSB8": ">u8", "UnsignedLSB8": "<u8",
    "IEEE754MSBSingle": ">f4", "IEEE754LSBSingle": "<f4", "IEEE754MSBDouble": ">f8",
    "IEEE754LSBDouble": "<f8", "ComplexMSB8": ">c8", "ComplexLSB8": "<c8", "ComplexMSB16": ">c16",
    "ComplexLSB16": "<c16",
}
"""Binary data types (PDS4 names) and the numpy dtype that decodes them."""

BIT_TYPES = frozenset({"SignedBitString", "UnsignedBitString"})
CHARACTER_TYPES = frozenset({
    "ASCII_AnyURI", "ASCII_BibCode", "ASCII_Boolean", "ASCII_DOI", "ASCII_Date", "ASCII_Date_DOY",
    "ASCII_Date_Time", "ASCII_Date_Time_DOY", "ASCII_Date_Time_DOY_UTC", "ASCII_Date_Time_UTC",
    "ASCII_Date_Time_YMD", "ASCII_Date_Time_YMD_UTC", "ASCII_Date_YMD", "ASCII_Directory_Path_Name",
    "ASCII_File_Name", "ASCII_File_Specification_Name", "ASCII_Integer", "ASCII_LID", "ASCII_LIDVID",
    "ASCII_LIDVID_LID", "ASCII_MD5_Checksum", "ASCII_NonNegative_Integer", "ASCII_Numeric_Base16",
    "ASCII_Numeric_Base2", "ASCII_Numeric_Base8", "ASCII_Real", "ASCII_Short_String_Collapsed",
    "ASCII_Short_String_Preserved", "ASCII_String", "ASCII_Text_Collapsed", "ASCII_Text_Preserved",
    "ASCII_Time", "ASCII_VID", "UTF8_Short_String_Collapsed", "UTF8_Short_String_Preserved", "UTF8_String",
    "UTF8_Text_Collapsed", "UTF8_Text_Preserved",
})
_DELIMITERS = {"comma": ",", "horizontal_tab": "\t", "semicolon": ";", "vertical_bar": "|"}
_CONSTANT_TAGS = ("saturated_constant", "missing_constant", "error_constant", "invalid_constant",
                  "unknown_constant", "not_applicable_constant", "high_instrument_saturation",
                  "high_representation_saturation", "low_instrument_saturation", "low_representation_saturation")
# fmt: on
_TABLE_TAGS: dict[str, TableKind] = {
    _P + "Table_Character": "character",
    _P + "Table_Binary": "binary",
    _P + "Table_Delimited": "delimited",
    _P + "Inventory": "delimited",
    # the classes the information model derives from them (a SIP's or AIP's manifests, source-product tables)
    _P + "Manifest_SIP_Deep_Archive": "delimited",
    _P + "Table_Delimited_Source_Product_Internal": "delimited",
    _P + "Table_Delimited_Source_Product_External": "delimited",
    _P + "Transfer_Manifest": "character",
}
_RECORD_TAGS: dict[TableKind, str] = {
    "character": _P + "Record_Character", "binary": _P + "Record_Binary", "delimited": _P + "Record_Delimited"}


def fixed_record_tag(table_tag: str) -> str | None:
    """The record element's tag of a table class of fixed-length records (Table_Character, Table_Binary and
    the classes derived from them, such as Transfer_Manifest), by the table element's tag; else None."""
    kind = _TABLE_TAGS.get(table_tag)
    return _RECORD_TAGS[kind] if kind in ("character", "binary") else None


_MAX_FIELDS = 1_000_000
_HEX = re.compile(r"^(?:0x([0-9a-fA-F]+)|16#([0-9a-fA-F]+)#)$")


@dataclass(slots=True)
class BitField:
    """One ``Field_Bit`` of a ``Packed_Data_Fields``: bits ``start..stop`` (0-based, inclusive)."""

    name: str
    data_type: str
    start: int
    stop: int
    minimum: float | None = None
    maximum: float | None = None


@dataclass(slots=True)
class FieldDef:
    """One field of a record after group expansion (``offset`` 0-based bytes; ``index`` for delimited)."""

    name: str
    data_type: str
    number: int
    offset: int = 0
    length: int = 0
    minimum: float | None = None
    maximum: float | None = None
    """``Field_Statistics`` minimum / maximum, compared with the unscaled values as validate does."""
    constants: tuple[str, ...] = ()
    """Special_Constants values other than valid_minimum/maximum, as written."""
    valid_minimum: str | None = None
    valid_maximum: str | None = None
    scaling_factor: float | None = None
    value_offset: float | None = None
    field_format: str | None = None
    validation_format: str | None = None
    max_length: int | None = None
    bits: list[BitField] = field(default_factory=list)
    line: int | None = None

    def shifted(self, by: int) -> FieldDef:
        """A copy of this field ``by`` bytes further into the record (one repetition of a group)."""
        return FieldDef(
            self.name,
            self.data_type,
            self.number,
            self.offset + by,
            self.length,
            self.minimum,
            self.maximum,
            self.constants,
            self.valid_minimum,
            self.valid_maximum,
            self.scaling_factor,
            self.value_offset,
            self.field_format,
            self.validation_format,
            self.max_length,
            self.bits,
            self.line,
        )


@dataclass
class TableDef:
    """One table of a label, as the label defines it."""

    kind: TableKind
    index: int
    """1-based position of this table among the data objects of its file area."""
    file_name: str
    path: str | None
    offset: int
    records: int
    name: str | None = None
    record_length: int | None = None
    max_record_length: int | None = None
    record_delimiter: str | None = None
    field_delimiter: str = ","
    fields: list[FieldDef] = field(default_factory=list)
    declared_fields: int | None = None
    inventory: bool = False
    line: int | None = None
    problems: list[str] = field(default_factory=list)
    """Definition problems (error.label.table_definition_problem); content cannot be read as defined."""

    @property
    def label_extent(self) -> int | None:
        """Bytes the label says a fixed-length table occupies, None for delimited tables."""
        if self.kind == "delimited" or not self.record_length:
            return None
        return self.records * self.record_length

    @property
    def delimiter_bytes(self) -> bytes:
        rd = (self.record_delimiter or "").lower()
        if rd == "line-feed":
            return b"\n"
        return b"\r\n" if rd.startswith("carriage-return") or self.kind == "delimited" else b""


def delimiter_char(name: str) -> str:
    """The character for a PDS4 field_delimiter name (``Comma``, ``Horizontal Tab``...); comma if unknown."""
    return _DELIMITERS.get(name.strip().lower().replace(" ", "_"), ",")


def line_of(el: etree._Element) -> int | None:
    """Source line of an element (lxml's stubs do not type ``sourceline``)."""
    line = getattr(el, "sourceline", None)
    return line if isinstance(line, int) else None


def parse_number(text: str | None) -> float | None:
    """A label number (decimal, ``0x..`` or ``16#..#``) as float; None when absent or not a number."""
    if text is None:
        return None
    text = text.strip()
    m = _HEX.match(text)
    try:
        return float(int(m.group(1) or m.group(2), 16)) if m else float(text)
    except ValueError:
        return None


def tables_from_tree(root: etree._Element, label_dir: str) -> list[TableDef]:
    """Every table of the label rooted at ``root`` (whose file is in ``label_dir``), in label order."""
    out: list[TableDef] = []
    for file_el in root.iter(_P + "File"):
        area = file_el.getparent()
        if area is None:
            continue
        name = file_name_of(file_el)
        path = resolve_file(label_dir, name) if name else None
        index = 0
        for el in area:
            if not isinstance(el.tag, str) or el.tag == _P + "File":
                continue
            index += 1
            kind = _TABLE_TAGS.get(el.tag)
            if kind is not None:
                out.append(_cached_table(el, kind, index, name, path))
    return out


_CACHE: OrderedDict[tuple[bytes, int | None], TableDef] = OrderedDict()
_CACHE_SIZE = 256
_KEY_BYTES = 32 << 10
"""Definitions with more XML than this are keyed by its digest (hashing costs more than comparing)."""


def _cached_table(el: etree._Element, kind: TableKind, index: int, name: str, path: str | None) -> TableDef:
    """The definition of a table element, shared by the labels that define it identically.

    Products of one collection usually repeat the same table definition, and expanding a group of
    thousands of repetitions costs far more than hashing the element's XML. Definitions are only read.
    """
    xml = etree.tostring(el)
    if len(xml) > _KEY_BYTES:  # keys stay small: big definitions are keyed by a digest of their XML
        xml = hashlib.blake2b(xml, digest_size=32).digest()
    key = (xml, line_of(el))
    template = _CACHE.get(key)
    if template is None:
        template = _table(el, kind, 0, "", None)
        _CACHE[key] = template
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    table = copy.copy(template)  # shallow: the field definitions are shared, and only read
    table.index, table.file_name, table.path, table.problems = index, name, path, list(template.problems)
    return table


def file_name_of(file_el: etree._Element) -> str:
    """The name a ``File`` element gives its file, below the label's directory: ``file_name`` after its
    ``directory_path_name`` when there is one ('' when it gives neither)."""
    name = _text(file_el, "file_name") or ""
    directory = _text(file_el, "directory_path_name")
    return directory.rstrip("/") + "/" + name if directory else name


def resolve_file(label_dir: str, name: str) -> str | None:
    """The path of the file a label in ``label_dir`` names ``name`` (with its directory_path_name), or None
    when the name leaves the label's directory (``../``, an absolute path): such a file is never read."""
    path = os.path.normpath(os.path.join(label_dir, name))
    return path if not os.path.isabs(name) and path.startswith(label_dir.rstrip(os.sep) + os.sep) else None


def _text(el: etree._Element, local: str) -> str | None:
    for c in el.iterchildren(_P + local):
        t = c.text
        return t.strip() if t and t.strip() else None
    return None


def _int(el: etree._Element, local: str, problems: list[str], *, required: bool = False) -> int | None:
    text = _text(el, local)
    if text is None:
        if required:
            problems.append(f"{el.tag[len(_P) :]} on line {el.sourceline} has no {local}")
        return None
    try:
        value = int(text)
    except ValueError:
        problems.append(f"{local} on line {el.sourceline} is not an integer: {text!r}")
        return None
    if value < 0:
        problems.append(f"{local} on line {el.sourceline} is negative: {value}")
        return None
    return value


def _table(el: etree._Element, kind: TableKind, index: int, name: str, path: str | None) -> TableDef:
    problems: list[str] = []
    table = TableDef(
        kind=kind,
        index=index,
        file_name=name,
        path=path,
        offset=_int(el, "offset", problems, required=True) or 0,
        records=_int(el, "records", problems, required=True) or 0,
        name=_text(el, "name") or _text(el, "local_identifier"),
        record_delimiter=_text(el, "record_delimiter"),
        inventory=el.tag == _P + "Inventory",
        line=line_of(el),
        problems=problems,
    )
    if kind == "delimited":
        delim = (_text(el, "field_delimiter") or "Comma").lower().replace(" ", "_")
        table.field_delimiter = _DELIMITERS.get(delim, ",")
        if delim not in _DELIMITERS:
            problems.append(f"unknown field_delimiter {delim!r}")
    record = next(el.iterchildren(_RECORD_TAGS[kind]), None)
    if record is None:
        problems.append(f"{el.tag[len(_P) :]} on line {el.sourceline} has no record description")
        return table
    table.declared_fields = _int(record, "fields", problems)
    if kind == "delimited":
        table.max_record_length = _int(record, "maximum_record_length", problems)
        table.fields = _delimited_fields(record, problems)
    else:
        table.record_length = _int(record, "record_length", problems, required=True)
        table.fields = _fixed_fields(record, kind, problems)
    for i, f in enumerate(table.fields):
        f.number = i + 1
        if kind == "delimited":
            f.offset = i
    if kind != "delimited":
        _check_layout(table, problems)
    for f in table.fields:
        if f.data_type not in CHARACTER_TYPES and f.data_type not in BINARY_DTYPES and f.data_type not in BIT_TYPES:
            problems.append(f"field {f.name!r} on line {f.line} has unknown data_type {f.data_type!r}")
        elif kind != "binary" and f.data_type not in CHARACTER_TYPES:
            problems.append(f"field {f.name!r} on line {f.line}: {f.data_type} is not a character data type")
    return table


def _field_common(el: etree._Element, number: int, problems: list[str]) -> FieldDef:
    f = FieldDef(
        name=_text(el, "name") or f"field {number}",
        data_type=_text(el, "data_type") or "",
        number=number,
        line=line_of(el),
        field_format=_text(el, "field_format"),
        validation_format=_text(el, "validation_format"),
        scaling_factor=parse_number(_text(el, "scaling_factor")),
        value_offset=parse_number(_text(el, "value_offset")),
    )
    stats = next(el.iterchildren(_P + "Field_Statistics"), None)
    if stats is not None:
        f.minimum = parse_number(_text(stats, "minimum"))
        f.maximum = parse_number(_text(stats, "maximum"))
    sc = next(el.iterchildren(_P + "Special_Constants"), None)
    if sc is not None:
        f.valid_minimum = _text(sc, "valid_minimum")
        f.valid_maximum = _text(sc, "valid_maximum")
        f.constants = tuple(t for t in (_text(sc, tag) for tag in _CONSTANT_TAGS) if t is not None)
    return f


def _fixed_fields(record: etree._Element, kind: TableKind, problems: list[str]) -> list[FieldDef]:
    """Fields of ``record`` (a Record_* or a group) with offsets relative to it, groups expanded."""
    field_tag = _P + ("Field_Character" if kind == "character" else "Field_Binary")
    group_tag = _P + ("Group_Field_Character" if kind == "character" else "Group_Field_Binary")
    out: list[FieldDef] = []
    for el in record:
        if el.tag == field_tag:
            f = _field_common(el, 0, problems)
            loc = _int(el, "field_location", problems, required=True)
            f.offset = loc - 1 if loc else 0
            f.length = _int(el, "field_length", problems, required=True) or 0
            packed = next(el.iterchildren(_P + "Packed_Data_Fields"), None)
            if packed is not None:
                f.bits = _bit_fields(packed, f, problems)
            out.append(f)
        elif el.tag == group_tag:
            out += _fixed_group(el, kind, problems)
    return out


def _fixed_group(group: etree._Element, kind: TableKind, problems: list[str]) -> list[FieldDef]:
    reps = _int(group, "repetitions", problems, required=True) or 0
    location = _int(group, "group_location", problems, required=True) or 1
    length = _int(group, "group_length", problems, required=True) or 0
    if reps == 0 or length % reps:
        problems.append(
            f"group on line {group.sourceline}: group_length {length} is not a multiple of repetitions {reps}"
        )
        return []
    each = length // reps
    extent = _group_extent(group, problems)
    if each != extent:
        word = "smaller" if each < extent else "larger"
        problems.append(
            f"group on line {group.sourceline}: group_length is {word} than the size of the "
            f"contained fields: {length} {'<' if each < extent else '>'} {extent * reps} "
            f"({reps} repetitions of {extent} bytes, the extent of the group's fields)"
        )
        return []
    template = _fixed_fields(group, kind, problems)
    return _repeat(template, reps, location - 1, each, problems, line_of(group))


def _repeat(
    template: list[FieldDef], reps: int, start: int, step: int, problems: list[str], line: int | None
) -> list[FieldDef]:
    """``reps`` copies of ``template``, the k-th shifted by ``start + k * step`` bytes."""
    if reps * max(len(template), 1) > _MAX_FIELDS:
        problems.append(
            f"group on line {line}: {reps} repetitions of {len(template)} fields is more than {_MAX_FIELDS} fields"
        )
        return []
    out = []
    for k in range(reps):
        shift = start + k * step
        out += [f.shifted(shift) for f in template]
    return out


def _group_extent(group: etree._Element, problems: list[str]) -> int:
    """Bytes one repetition of ``group`` spans: the furthest end of its fields and inner groups."""
    extent = 0
    for el in group:
        if not isinstance(el.tag, str):
            continue
        if el.tag.startswith(_P + "Group_Field_"):
            end = (_int(el, "group_location", problems) or 1) + (_int(el, "group_length", problems) or 0) - 1
        elif el.tag.startswith(_P + "Field_"):
            end = (_int(el, "field_location", problems) or 1) + (_int(el, "field_length", problems) or 0) - 1
        else:
            continue
        extent = max(extent, end)
    return extent


def _bit_fields(packed: etree._Element, owner: FieldDef, problems: list[str]) -> list[BitField]:
    bits = []
    for el in packed.iterchildren(_P + "Field_Bit"):
        start = _int(el, "start_bit_location", problems) or _int(el, "start_bit", problems) or 1
        stop = _int(el, "stop_bit_location", problems) or _int(el, "stop_bit", problems) or start
        bf = BitField(
            name=_text(el, "name") or "bit field",
            data_type=_text(el, "data_type") or "",
            start=start - 1,
            stop=stop - 1,
        )
        stats = next(el.iterchildren(_P + "Field_Statistics"), None)
        if stats is not None:
            bf.minimum, bf.maximum = (
                parse_number(_text(stats, "minimum")),
                parse_number(_text(stats, "maximum")),
            )
        if bf.stop < bf.start or bf.stop >= owner.length * 8:
            problems.append(
                f"Field_Bit {bf.name!r} on line {el.sourceline}: bits {start}..{stop} do not fit "
                f"the {owner.length}-byte field {owner.name!r}"
            )
        bits.append(bf)
    declared = _int(packed, "bit_fields", problems)
    if declared is not None and declared != len(bits):
        problems.append(
            f"Packed_Data_Fields on line {packed.sourceline} declares {declared} bit fields, defines {len(bits)}"
        )
    return bits


def _check_layout(table: TableDef, problems: list[str]) -> None:
    """Fields in physical order, not overlapping, inside the record. As validate does, a field may reach into
    the record delimiter (its case github480 passes a field ending at the record's last byte)."""
    if not table.record_length:
        return
    prev_end, prev_name = 0, None
    for f in table.fields:
        size = np.dtype(BINARY_DTYPES[f.data_type]).itemsize if f.data_type in BINARY_DTYPES else None
        if size is not None and f.length != size:
            problems.append(
                f"field {f.name!r} on line {f.line}: field_length {f.length} does not match "
                f"{f.data_type} ({size} bytes)"
            )
        if f.length <= 0:
            problems.append(f"field {f.name!r} on line {f.line} has no length")
        if f.offset + f.length > table.record_length:
            problems.append(
                f"field {f.name!r} on line {f.line} ends at byte {f.offset + f.length}, beyond the "
                f"record ({table.record_length} bytes with its delimiter)"
            )
            return
        if f.offset < prev_end:
            problems.append(
                f"field {f.name!r} on line {f.line} overlaps field {prev_name!r} "
                f"(starts at byte {f.offset + 1}, previous field ends at byte {prev_end})"
            )
            return
        prev_end, prev_name = f.offset + f.length, f.name


def _delimited_fields(record: etree._Element, problems: list[str]) -> list[FieldDef]:
    out: list[FieldDef] = []
    for el in record:
        if el.tag == _P + "Field_Delimited":
            f = _field_common(el, 0, problems)
            f.max_length = _int(el, "maximum_field_length", problems)
            out.append(f)
        elif el.tag == _P + "Group_Field_Delimited":
            reps = _int(el, "repetitions", problems, required=True) or 0
            out += _repeat(_delimited_fields(el, problems), reps, 0, 0, problems, line_of(el))
    return out


class FixedReader:
    """Records of a fixed-length table, ``chunk_bytes`` at a time, as ``(n, record_length)`` uint8 arrays.

    After iteration ``records_read`` is the number of complete records found (at most the declared
    number) and ``tail`` the bytes of an incomplete last record, if the file ends inside one.
    """

    def __init__(self, table: TableDef, *, chunk_bytes: int = 8 << 20) -> None:
        if not table.path or not table.record_length:
            raise ValueError("table has no file or no record_length")
        self.table = table
        self.path = table.path
        self.record_length = table.record_length
        self.chunk_records = max(1, chunk_bytes // table.record_length)
        self.records_read = 0
        self.tail = b""

    def __iter__(self) -> Iterator[np.ndarray]:
        rl, wanted = self.record_length, self.table.records
        with open(self.path, "rb") as fh:
            fh.seek(self.table.offset)
            while self.records_read < wanted:
                n = min(self.chunk_records, wanted - self.records_read)
                data = fh.read(n * rl)
                whole = len(data) // rl
                if whole:
                    self.records_read += whole
                    yield np.frombuffer(data, np.uint8, whole * rl).reshape(whole, rl)
                if whole < n:
                    self.tail = data[whole * rl :]
                    return


class DelimitedReader:
    """Lines of a delimited table, as lists of at most ``chunk_bytes`` worth of lines.

    Lines keep a trailing ``\\r`` but lose the ``\\n``; ``last_line_terminated`` tells whether the last
    line read ended with ``\\n``. Reading stops after the declared number of records.
    """

    def __init__(self, table: TableDef, *, chunk_bytes: int = 4 << 20) -> None:
        if not table.path:
            raise ValueError("table has no file")
        self.table = table
        self.path = table.path
        self.chunk_bytes = chunk_bytes
        self.records_read = 0
        self.last_line_terminated = True

    def __iter__(self) -> Iterator[list[bytes]]:
        wanted = self.table.records
        rest = b""
        with open(self.path, "rb") as fh:
            fh.seek(self.table.offset)
            while self.records_read < wanted:
                data = fh.read(self.chunk_bytes)
                if not data:
                    break
                lines = (rest + data).split(b"\n")
                rest = lines.pop()
                if len(rest) > 64 * self.chunk_bytes:
                    raise ValueError(f"no record delimiter in the first {len(rest)} bytes of a record")
                yield self._take(lines, wanted)
            if rest and self.records_read < wanted:
                self.last_line_terminated = False
                yield self._take([rest], wanted)

    def _take(self, lines: list[bytes], wanted: int) -> list[bytes]:
        lines = lines[: wanted - self.records_read]
        self.records_read += len(lines)
        return lines
