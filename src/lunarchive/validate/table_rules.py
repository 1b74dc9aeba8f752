"""Table content rules (validate's TableValidator): records, record delimiters and lengths, field values.

:func:`check_table_content` reads one table in chunks (fixed-length records as numpy byte arrays,
delimited records as lines split by the csv module) and reports, with validate's message ids:
fewer records than declared, records that do not end with the declared delimiter, records longer than
``maximum_record_length``, delimited records with the wrong number of fields, inventory rows whose member
status is neither P nor S, and every field value that does not match its data type, format or
``Field_Statistics`` minimum/maximum. Findings of one kind are capped per table (``cap``); the last one
says how many more there were. Memory stays bounded by the chunk size whatever the label claims.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..formats.tables import DelimitedReader, FixedReader, TableDef
from ..model import Finding
from .label_rules import finding
from .values import ColumnChecker, Problem

__all__ = ["TableCheck", "check_table_content"]

RECORDS = "error.table.records_mismatch"
RECORD_LENGTH = "error.table.record_length_mismatch"
MISSING_CRLF = "error.table.missing_CRLF"
MISSING_LF = "error.table.missing_LF"
FIELDS = "error.table.fields_mismatch"
BAD_READ = "error.table.bad_file_read"
MEMBER_STATUS = "error.inventory_table.invalid_member_status"


@dataclass
class TableCheck:
    """Findings of one table's content check, and how much of the file was read."""

    label_path: str
    lidvid: str | None
    table: TableDef
    cap: int = 200
    findings: list[Finding] = field(default_factory=list)
    bytes_read: int = 0
    _counts: Counter[str] = field(default_factory=Counter)

    def add(self, message_id: str, message: str, *, severity: str | None = None) -> None:
        self._counts[message_id] += 1
        if self._counts[message_id] <= self.cap:
            f = finding(
                message_id,
                f"table {self.table.index} ({self.table.file_name}): {message}",
                self.label_path,
                line=self.table.line,
                lidvid=self.lidvid,
            )
            if severity is not None:
                f.severity = severity  # type: ignore[assignment]
            self.findings.append(f)

    def problem(self, p: Problem) -> None:
        self.add(p.message_id, p.message, severity=p.severity)

    def close(self) -> None:
        """Add one finding per capped kind saying how many were left out."""
        for message_id, n in list(self._counts.items()):
            if n > self.cap:
                note = f"table {self.table.index} ({self.table.file_name}): ... and {n - self.cap} more"
                self.findings.append(
                    finding(
                        message_id,
                        note + " of this kind, not listed",
                        self.label_path,
                        line=self.table.line,
                        lidvid=self.lidvid,
                    )
                )


def check_table_content(
    table: TableDef, label_path: str, lidvid: str | None = None, *, cap: int = 200, chunk_bytes: int = 8 << 20
) -> TableCheck:
    """Check the content of one table (whose definition has no problems) against its label."""
    check = TableCheck(label_path, lidvid, table, cap)
    if not table.path or not os.path.isfile(table.path):
        return check  # a missing file is reported by the file-reference rule
    try:
        if table.kind == "delimited":
            _delimited(table, check, chunk_bytes)
        else:
            _fixed(table, check, chunk_bytes)
    except (OSError, ValueError, MemoryError) as exc:
        check.add(BAD_READ, f"error while reading the data file: {exc}")
    check.close()
    return check


def _fixed(table: TableDef, check: TableCheck, chunk_bytes: int) -> None:
    rl = table.record_length or 0
    if rl <= 0 or table.offset + table.records * rl > os.path.getsize(table.path or ""):
        return  # truncated objects are reported by the data-object rule, as validate does, unread
    checkers: list[ColumnChecker] | None = None
    delim = np.frombuffer(table.delimiter_bytes, np.uint8) if table.kind == "character" else None
    reader = FixedReader(table, chunk_bytes=chunk_bytes)
    for chunk in reader:
        first = reader.records_read - chunk.shape[0] + 1
        check.bytes_read += chunk.nbytes
        if delim is not None:
            _fixed_delimiters(chunk, delim, table, first, check)
        if checkers is None:
            checkers = [ColumnChecker(f, table.kind, check.problem) for f in table.fields]
        for c in checkers:
            block = chunk[:, c.f.offset : c.f.offset + c.f.length]
            if table.kind == "character":
                c.text(block, first)
            else:
                c.binary(block, first)
    if reader.records_read < table.records:
        check.add(RECORDS, f"the label defines {table.records} records, the file holds {reader.records_read}")


def _fixed_delimiters(
    chunk: np.ndarray, delim: np.ndarray, table: TableDef, first: int, check: TableCheck
) -> None:
    n = delim.size
    lf_only = n == 1
    if n == 0:
        return
    bad = (chunk[:, -n:] != delim).any(axis=1)
    if lf_only and chunk.shape[1] >= 2:
        crlf = ~bad & (chunk[:, -2] == 13)
        for i in np.flatnonzero(crlf):
            check.add(
                MISSING_LF,
                f"record {first + int(i)} is delimited with 'Line-Feed' but ends with "
                "carriage-return line-feed",
            )
    for i in np.flatnonzero(bad):
        what = "line feed" if lf_only else "carriage-return line feed"
        check.add(MISSING_LF if lf_only else MISSING_CRLF, f"record {first + int(i)} does not end in {what}")


def _delimited(table: TableDef, check: TableCheck, chunk_bytes: int) -> None:
    checkers: list[ColumnChecker] | None = None  # built on the first records: tables may have 10^4 fields
    reader = DelimitedReader(table, chunk_bytes=chunk_bytes)
    for lines in reader:
        first = reader.records_read - len(lines) + 1
        chunk = _Lines(lines, table.field_delimiter)
        check.bytes_read += chunk.buf.size + 1
        _line_ends(chunk, table, first, check, last_unterminated=not reader.last_line_terminated)
        split = _split(chunk, len(table.fields), first, check, table.field_delimiter)
        if split is None:
            continue
        if checkers is None:
            checkers = [ColumnChecker(f, "delimited", check.problem) for f in table.fields]
        records, columns = split
        for c, codes in zip(checkers, columns, strict=True):
            c.text(codes(), records)
        if table.inventory:
            _member_status(columns[0](), records, check)
    if reader.records_read < table.records:
        check.add(RECORDS, f"the label defines {table.records} records, the file holds {reader.records_read}")


class _Lines:
    """A chunk of lines as one byte array: where each line starts and ends (without its CR)."""

    def __init__(self, lines: list[bytes], delimiter: str) -> None:
        self.lines = lines
        self.buf = np.frombuffer(b"\n".join(lines), np.uint8)
        breaks = np.flatnonzero(self.buf == 10)
        self.starts = np.concatenate(([0], breaks + 1)).astype(np.int64)
        ends = np.concatenate((breaks, [self.buf.size])).astype(np.int64)
        self.lengths = ends - self.starts
        last = self.buf[np.maximum(ends - 1, 0)] if self.buf.size else np.zeros(len(lines), np.uint8)
        self.cr = (self.lengths > 0) & (last == 13)
        self.ends = ends - self.cr  # content end, CR excluded
        is_delim = self.buf == ord(delimiter)
        self.delims = np.flatnonzero(is_delim)
        self.cumulative = np.concatenate(([0], np.cumsum(is_delim, dtype=np.int64)))


def _line_ends(
    chunk: _Lines, table: TableDef, first: int, check: TableCheck, *, last_unterminated: bool
) -> None:
    """Each record ends with the declared delimiter and is no longer than maximum_record_length."""
    lf_only = (table.record_delimiter or "").lower() == "line-feed"
    terminated = np.ones(len(chunk.lines), bool)
    if last_unterminated:
        terminated[-1] = False
    if lf_only:
        for i in np.flatnonzero(chunk.cr):
            check.add(
                MISSING_LF,
                f"record {first + int(i)} is delimited with 'Line-Feed' but ends with "
                "carriage-return line-feed",
            )
        for i in np.flatnonzero(~chunk.cr & ~terminated):
            check.add(MISSING_LF, f"record {first + int(i)} does not end in line feed")
    else:
        for i in np.flatnonzero(~chunk.cr | ~terminated):
            check.add(MISSING_CRLF, f"record {first + int(i)} does not end in carriage-return line feed")
    limit = table.max_record_length
    if limit is not None:
        lengths = chunk.lengths + terminated
        for i in np.flatnonzero(lengths > limit):
            n = int(lengths[i])
            check.add(RECORD_LENGTH, f"record {first + int(i)}: {n} bytes, maximum_record_length is {limit}")


Column = Callable[[], np.ndarray]


def _split(
    chunk: _Lines, want: int, first: int, check: TableCheck, delimiter: str
) -> tuple[np.ndarray, list[Column]] | None:
    """(record numbers, one lazy ``(n, width)`` code matrix per field) of the records with ``want`` fields.

    Lines whose delimiters give ``want`` fields are cut with numpy (quotes kept: validate strips them);
    the others go through the csv module, which honours quoted delimiters.
    """
    counts = chunk.cumulative[chunk.ends] - chunk.cumulative[chunk.starts] + 1
    fast = np.flatnonzero(counts == want)
    slow = np.flatnonzero(counts != want)
    bounds = np.empty((fast.size, want, 2), np.int64)
    if fast.size:
        first_delim = chunk.cumulative[chunk.starts[fast]]
        if want > 1:
            pos = chunk.delims[first_delim[:, None] + np.arange(want - 1)]
            bounds[:, 1:, 0] = pos + 1
            bounds[:, :-1, 1] = pos
        bounds[:, 0, 0] = chunk.starts[fast]
        bounds[:, -1, 1] = chunk.ends[fast]
    extra = _csv_rows(chunk, slow, want, first, check, delimiter)
    if fast.size == 0 and not extra:
        return None
    records = np.concatenate((fast + first, np.array([r for r, _ in extra], np.int64)))
    columns = [_column(chunk.buf, bounds[:, j], [v[j] for _, v in extra]) for j in range(want)]
    return records, columns


def _csv_rows(
    chunk: _Lines, rows: np.ndarray, want: int, first: int, check: TableCheck, delimiter: str
) -> list[tuple[int, list[bytes]]]:
    out = []
    texts = [chunk.lines[i].rstrip(b"\r").decode("latin-1") for i in rows]
    for i, values in zip(rows, csv.reader(texts, delimiter=delimiter, quotechar='"'), strict=True):
        if len(values) != want:
            check.add(FIELDS, f"record {first + int(i)} has {len(values)} fields, the label defines {want}")
            continue
        out.append((first + int(i), [v.encode("latin-1") for v in values]))
    return out


def _column(buf: np.ndarray, bounds: np.ndarray, extra: list[bytes]) -> Column:
    """A function building the ``(n, width)`` NUL-padded code matrix of one field when called."""

    def build() -> np.ndarray:
        lengths = bounds[:, 1] - bounds[:, 0]
        width = max(1, int(lengths.max()) if lengths.size else 1, max(map(len, extra), default=1))
        idx = bounds[:, :1] + np.arange(width)
        codes = np.where(idx < bounds[:, 1:], buf[np.minimum(idx, max(buf.size - 1, 0))], 0).astype(np.uint8)
        if extra:
            tail = np.array(extra, dtype=f"S{width}").view(np.uint8).reshape(len(extra), width)
            codes = np.concatenate((codes, tail))
        return codes

    return build


def _member_status(codes: np.ndarray, records: np.ndarray, check: TableCheck) -> None:
    """Collection inventories: the member status begins with P or S (blank and quotes skipped)."""
    for i in range(codes.shape[0]):
        value = bytes(codes[i]).strip(b"\x00 \t").strip(b'"')
        if not value.startswith((b"P", b"S")):
            check.add(
                MEMBER_STATUS,
                f"record {int(records[i])}: invalid member status {value.decode('latin-1')!r},"
                " it should begin with 'P' or 'S'",
            )
