"""A whole chunk of a table checked at once, to find the columns that have nothing to report.

Checking field values one column at a time (values.ColumnChecker) costs a few numpy calls per column,
which dominates small, wide tables (a few records of hundreds of fields). :class:`TablePlan` sorts a
table's fields once into groups that are checked alike (same automaton, same format, same value rules)
and, for every chunk, runs each group over all of its columns in one pass: the automaton over an
``(n, k, width)`` array, the format and value rules once per distinct value of the group, the
minimum/maximum as one comparison. A column with anything to report (or anything this pass does not
decide) is then checked by its own ColumnChecker exactly as before, so the findings, their wording and
their order are those of the column-by-column check; the pass only skips the columns that are clean.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..formats.tables import BINARY_DTYPES, BIT_TYPES, FieldDef
from .values import (
    _AUTOMATA,
    _COMPILED,
    ColumnChecker,
    Problem,
    _as_bytes,
    _int_values,
    _run,
    format_ok,
    text_format,
)

__all__ = ["Cells", "TablePlan"]

_DECIMAL = frozenset({"ASCII_Real", "ASCII_Integer"})
"""Data types whose well-formed values numpy reads as decimal text (to the values _int_values gives)."""

_VALUE_CACHE = 100_000
"""Distinct values whose verdict a group remembers across the chunks of one table."""


class Cells(Protocol):
    """One chunk of a table's values, field by field, as NUL-padded byte codes."""

    def widths(self) -> np.ndarray:
        """The width (bytes) of each field in this chunk: its length, or its longest value."""
        ...

    def gather(self, cols: np.ndarray, width: int) -> np.ndarray:
        """``(n, len(cols), width)`` uint8 codes of fields ``cols`` (0-based), NUL-padded."""
        ...

    def any_high(self) -> bool:
        """Whether any byte of the chunk is above 127."""
        ...


class TablePlan:
    """The fields of one table sorted into groups checked together, and their ColumnCheckers (built when
    first needed: tables may have tens of thousands of fields)."""

    def __init__(self, fields: list[FieldDef], kind: str, report: Callable[[Problem], None]) -> None:
        self.fields, self.kind, self.report = fields, kind, report
        self._checkers: dict[int, ColumnChecker] = {}
        self.always, self._groups, self._numeric, self._bounds, self._spans = _layout(fields, kind)
        """``always``: fields checked column by column in every chunk (bit strings, binary numbers with
        limits); ``_groups``: the other fields with something to check, by how they are checked;
        ``_numeric``: the fields whose column check goes on to their numbers (a format, or limits), with a
        ColumnChecker each that only tells their rules (it reports nothing; kept with the layout, so a
        table's later products do not build them again); ``_bounds``: their lowest and highest values;
        ``_spans``: the fields' offsets and lengths in a fixed-length record (empty for a delimited table)."""
        self._verdicts: dict[tuple[object, ...], dict[bytes, bool]] = defaultdict(dict)

    def fixed_cells(self, chunk: np.ndarray) -> FixedCells:
        """The cells of one chunk of a fixed-length table (``(n, record_length)`` uint8)."""
        return FixedCells(chunk, *self._spans)

    def checker(self, i: int) -> ColumnChecker:
        c = self._checkers.get(i)
        if c is None:
            c = self._checkers[i] = ColumnChecker(self.fields[i], self.kind, self.report)
        return c

    # --------------------------------------------------------------------------------------- per chunk

    def to_check(self, cells: Cells) -> list[int]:
        """The fields (0-based, in order) that have findings in this chunk or that the pass cannot clear."""
        dirty = set(self.always)
        widths = cells.widths()
        high = None
        for key, members in self._groups.items():
            if key[0] == "ascii":
                high = cells.any_high() if high is None else high
                if not high:
                    continue
            cols = np.asarray(members, np.intp)
            buckets = np.array([int(w).bit_length() for w in widths[cols]])
            for b in np.unique(buckets):
                part = cols[buckets == b]
                width = max(1, int(widths[part].max()))
                codes = cells.gather(part, width)
                if key[0] == "auto":
                    found = self._automaton(str(key[1]), part, codes)
                elif key[0] == "value":
                    found = self._values(key, part, codes)
                else:
                    found = np.asarray((codes > 127).any(axis=(0, 2)), bool)
                dirty.update(int(i) for i in part[found])
        return sorted(dirty)

    def _automaton(self, dtype: str, cols: np.ndarray, codes: np.ndarray) -> np.ndarray:
        ok, blank = _run(_AUTOMATA[dtype], codes, self.kind)
        found = np.asarray((~ok & ~blank).any(axis=0), bool)
        numeric = np.array([int(i) in self._numeric for i in cols], bool) & ~found
        if not numeric.any():
            return found
        good = ok & ~blank
        if (codes[:, numeric] == 34).any():  # quoted numbers: left to the column check
            return found | numeric
        raw = _as_bytes(codes.reshape(-1, codes.shape[2])).reshape(codes.shape[:2])
        together = []
        for k in np.flatnonzero(numeric):
            c, f = self._numeric[int(cols[k])], self.fields[int(cols[k])]
            if c.format is None and c._range and f.data_type in _DECIMAL:
                together.append(int(k))  # limits only, decimal text: checked with the others below
            else:
                found[k] = self._numbers_dirty(int(cols[k]), raw[:, k], good[:, k])
        if together:
            found[together] = self._limits_dirty([int(cols[k]) for k in together], raw[:, together],
                                                 good[:, together])
        return found

    def _numbers_dirty(self, i: int, raw: np.ndarray, good: np.ndarray) -> bool:
        """Whether the well-formed values of field ``i`` break its format or limits."""
        c, f = self._numeric[i], self.fields[i]
        values = raw[good]
        if values.size == 0:
            return False
        if c.format is not None:
            verdicts = self._verdicts[("format", c.format)]
            for u in np.unique(values):
                bad = verdicts.get(u)
                if bad is None:
                    text = u.decode("latin-1").strip("\x00")
                    bad = not format_ok(text.strip(), text, c.format)
                    if len(verdicts) < _VALUE_CACHE:
                        verdicts[u] = bad
                if bad:
                    return True
        if not c._range:
            return False
        try:
            numbers = values.astype(np.float64) if f.data_type == "ASCII_Real" else _int_values(values, f)
        except (ValueError, OverflowError):
            return True
        lower, upper = self._bounds[i]
        flagged = _outside(numbers, lower, upper)
        return bool(flagged.any()) and _not_constants(numbers[flagged], c._constants)

    def _limits_dirty(self, fields: list[int], raw: np.ndarray, good: np.ndarray) -> np.ndarray:
        """``_numbers_dirty`` for decimal fields with limits and no format, all columns in one pass: one
        conversion and one comparison for the chunk instead of a few numpy calls per column."""
        try:
            numbers = np.where(good, raw, b"0").astype(np.float64)
        except (ValueError, OverflowError):  # some value is not plain decimal: column by column
            return np.array([self._numbers_dirty(i, raw[:, k], good[:, k]) for k, i in enumerate(fields)], bool)
        lower, upper = np.array([self._bounds[i] for i in fields]).T
        flagged = _outside(numbers, lower, upper) & good
        dirty = flagged.any(axis=0)
        for k in np.flatnonzero(dirty):
            dirty[k] = _not_constants(numbers[flagged[:, k], k], self._numeric[fields[k]]._constants)
        return np.asarray(dirty, bool)

    def _values(self, key: tuple[object, ...], cols: np.ndarray, codes: np.ndarray) -> np.ndarray:
        found = np.zeros(cols.size, bool)
        if str(key[1]).startswith("ASCII"):
            found |= (codes > 127).any(axis=(0, 2))
        raw = _as_bytes(codes.reshape(-1, codes.shape[2]))
        uniq, inverse = np.unique(raw, return_inverse=True)
        verdicts = self._verdicts[key]
        checker = self.checker(int(cols[0]))  # the fields of a group share the rules _value_ok applies
        regex = _COMPILED.get(str(key[1]))
        bad = np.zeros(uniq.size, bool)
        for k, u in enumerate(uniq):
            ok = verdicts.get(u)
            if ok is None:
                ok = checker._value_ok(u, regex)
                if len(verdicts) < _VALUE_CACHE:
                    verdicts[u] = ok
            bad[k] = not ok
        if bad.any():
            found |= bad[inverse.ravel()].reshape(codes.shape[:2]).any(axis=0)
        return found


_Layout = tuple[
    list[int], dict[tuple[object, ...], list[int]], dict[int, ColumnChecker], dict[int, tuple[float, float]],
    tuple[np.ndarray, np.ndarray],
]
_LAYOUTS: OrderedDict[tuple[int, str], tuple[list[FieldDef], _Layout]] = OrderedDict()
"""Recent tables' field groups, by the identity of their field list (cached table definitions share theirs)."""


def _layout(fields: list[FieldDef], kind: str) -> _Layout:
    """(fields checked in every chunk, the other fields to check by group key, the fields with numbers to
    check with a rules-only ColumnChecker each, their lowest and highest values, and the fields' offsets and
    lengths in a fixed-length record) of a table."""
    hit = _LAYOUTS.get((id(fields), kind))
    if hit is not None and hit[0] is fields:
        _LAYOUTS.move_to_end((id(fields), kind))
        return hit[1]
    always: list[int] = []
    groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, f in enumerate(fields):
        key = _key(f, kind)
        if key == ("always",):
            always.append(i)
        elif key is not None:
            groups[key].append(i)
    automaton = [i for key, members in groups.items() if key[0] == "auto" for i in members]
    specs = {i: ColumnChecker(fields[i], kind, _ignore) for i in automaton}
    numeric = {i: c for i, c in specs.items() if c.checks_numbers}
    bounds = {i: _bounds(c, fields[i]) for i, c in numeric.items()}
    fixed = fields if kind != "delimited" else []
    spans = (np.array([f.offset for f in fixed], np.intp), np.array([f.length for f in fixed], np.intp))
    out = (always, dict(groups), numeric, bounds, spans)
    _LAYOUTS[(id(fields), kind)] = (fields, out)  # the list is kept, so its id is not reused
    if len(_LAYOUTS) > 256:
        _LAYOUTS.popitem(last=False)
    return out


def _outside(numbers: np.ndarray, lower: float | np.ndarray, upper: float | np.ndarray) -> np.ndarray:
    """Where ``numbers`` are not finite or fall outside ``[lower, upper]`` (scalars, or one per column)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(~np.isfinite(numbers) | (numbers < lower) | (numbers > upper), bool)


def _not_constants(flagged: np.ndarray, constants: np.ndarray) -> bool:
    """Whether some of the out-of-limit values ``flagged`` is not one of the field's special constants."""
    return not (constants.size and np.isin(flagged, constants).all())


def _bounds(c: ColumnChecker, f: FieldDef) -> tuple[float, float]:
    """The lowest and highest values field ``f`` may hold (valid_minimum/maximum and its statistics)."""
    lower = max((v for v in (c._vmin, f.minimum) if v is not None), default=-np.inf)
    upper = min((v for v in (c._vmax, f.maximum) if v is not None), default=np.inf)
    return lower, upper


def _ignore(p: Problem) -> None:
    return None


def _key(f: FieldDef, kind: str) -> tuple[object, ...] | None:
    """How field ``f`` is checked: None (never anything to report), ``("always",)`` or a group key."""
    dtype = f.data_type
    if kind == "binary":
        if dtype in BIT_TYPES or f.bits:
            return ("always",)
        np_type = BINARY_DTYPES.get(dtype)
        if np_type is not None:
            limits = (f.minimum, f.maximum, f.valid_minimum, f.valid_maximum)
            ranged = any(v is not None for v in limits)
            return ("always",) if ranged and np_type.lstrip("<>")[0] != "c" else None
    fmt = text_format(f, kind)
    if dtype in _AUTOMATA:
        return ("auto", dtype)
    if dtype in _COMPILED or fmt is not None or f.max_length is not None:
        return ("value", dtype, fmt, f.max_length, tuple(sorted(f.constants)))  # constants pass _value_ok
    if dtype.startswith("ASCII"):
        return ("ascii",)
    return None


class FixedCells:
    """Cells of a fixed-length chunk (``(n, record_length)`` uint8) for fields at ``offsets`` (0-based
    bytes) of ``lengths`` bytes (``TablePlan.fixed_cells`` gives them, worked out once per definition)."""

    def __init__(self, chunk: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> None:
        self.chunk = chunk
        self.offsets = offsets
        self.lengths = lengths
        self._padded: np.ndarray | None = None

    def widths(self) -> np.ndarray:
        return self.lengths

    def gather(self, cols: np.ndarray, width: int) -> np.ndarray:
        if self._padded is None:  # one NUL column at the end, read where a field is shorter than width
            n, rl = self.chunk.shape
            self._padded = np.concatenate((self.chunk, np.zeros((n, 1), np.uint8)), axis=1)
        pad = self._padded.shape[1] - 1
        steps = np.arange(width)
        idx = np.where(steps < self.lengths[cols, None], self.offsets[cols, None] + steps, pad)
        return self._padded[:, idx]

    def any_high(self) -> bool:
        return bool((self.chunk > 127).any())
