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
from dataclasses import dataclass, field

import numpy as np

from ..formats.tables import DelimitedReader, FixedReader, TableDef
from ..model import Finding
from .columns import TablePlan
from .label_rules import finding
from .values import Problem

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
    plan: TablePlan | None = None  # built on the first records: tables may have 10^4 fields
    delim = np.frombuffer(table.delimiter_bytes, np.uint8) if table.kind == "character" else None
    reader = FixedReader(table, chunk_bytes=chunk_bytes)
    for chunk in reader:
        first = reader.records_read - chunk.shape[0] + 1
        check.bytes_read += chunk.nbytes
        if delim is not None:
            _fixed_delimiters(chunk, delim, table, first, check)
        plan = plan or TablePlan(table.fields, table.kind, check.problem)
        for i in plan.to_check(plan.fixed_cells(chunk)):
            c = plan.checker(i)
            block = chunk[:, c.f.offset : c.f.offset + c.f.length]
            if table.kind == "binary":
                c.binary(block, first)
            else:
                c.text(block, first)
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
    plan: TablePlan | None = None
    reader = DelimitedReader(table, chunk_bytes=chunk_bytes)
    for lines in reader:
        first = reader.records_read - len(lines) + 1
        chunk = _Lines(lines, table.field_delimiter)
        check.bytes_read += chunk.buf.size + 1
        _line_ends(chunk, table, first, check, last_unterminated=not reader.last_line_terminated)
        cells = _split(chunk, len(table.fields), first, check, table.field_delimiter)
        if cells is None:
            continue
        plan = plan or TablePlan(table.fields, "delimited", check.problem)
        for i in plan.to_check(cells):
            plan.checker(i).text(cells.column(i), cells.records)
        if table.inventory:
            _member_status(cells.column(0), cells.records, check)
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


class _DelimitedCells:
    """The fields of the records of one chunk that have the declared number of fields (``Cells``)."""

    def __init__(self, buf: np.ndarray, records: np.ndarray, bounds: np.ndarray, extra: list[list[bytes]]):
        self.buf, self.records, self.bounds, self.extra = buf, records, bounds, extra
        """``bounds``: ``(n, fields, 2)`` start and end of each value in ``buf``; ``extra``: the values of
        the records the csv module split (quoted delimiters), after those."""
        self._widths: np.ndarray | None = None

    def widths(self) -> np.ndarray:
        if self._widths is None:  # asked once for the pass, then once per column checked on its own
            lengths = self.bounds[:, :, 1] - self.bounds[:, :, 0]
            out = lengths.max(axis=0) if lengths.shape[0] else np.zeros(lengths.shape[1], np.int64)
            for values in self.extra:
                out = np.maximum(out, [len(v) for v in values])
            self._widths = out
        return self._widths

    def gather(self, cols: np.ndarray, width: int) -> np.ndarray:
        b = self.bounds[:, cols]
        idx = b[:, :, :1] + np.arange(width)
        top = max(self.buf.size - 1, 0)
        codes = np.where(idx < b[:, :, 1:], self.buf[np.minimum(idx, top)], 0).astype(np.uint8)
        if self.extra:
            rows = [[values[j] for j in cols] for values in self.extra]
            tail = np.array(rows, dtype=f"S{width}").view(np.uint8).reshape(len(rows), len(cols), width)
            codes = np.concatenate((codes, tail))
        return codes

    def column(self, j: int) -> np.ndarray:
        """The ``(n, width)`` codes of field ``j`` (0-based), NUL-padded to its longest value."""
        width = max(1, int(self.widths()[j]))
        return self.gather(np.array([j]), width)[:, 0, :]

    def any_high(self) -> bool:
        return bool((self.buf > 127).any())


def _split(chunk: _Lines, want: int, first: int, check: TableCheck, delimiter: str) -> _DelimitedCells | None:
    """The records with ``want`` fields, cut into their values (None if there are none).

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
    return _DelimitedCells(chunk.buf, records, bounds, [v for _, v in extra])


def _csv_rows(
    chunk: _Lines, rows: np.ndarray, want: int, first: int, check: TableCheck, delimiter: str
) -> list[tuple[int, list[bytes]]]:
    out = []
    for i in rows:
        text = chunk.lines[i].rstrip(b"\r").decode("latin-1")
        try:
            values = next(csv.reader([text], delimiter=delimiter, quotechar='"'), [])
        except csv.Error as exc:  # a carriage return or NUL inside the record
            check.add(FIELDS, f"record {first + int(i)} cannot be split into fields: {exc}")
            continue
        if len(values) != want:
            check.add(FIELDS, f"record {first + int(i)} has {len(values)} fields, the label defines {want}")
            continue
        out.append((first + int(i), [v.encode("latin-1") for v in values]))
    return out


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
