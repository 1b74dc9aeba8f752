"""Field value checks for table content, one column chunk at a time, with numpy.

Character values arrive as an ``(n, width)`` array of byte codes (a fixed-width column, or delimited
values padded with NUL), binary values as the raw ``(n, length)`` bytes of the field. Numeric text is
matched against validate's patterns by a small table-driven automaton run column by column over all rows
at once; other text types are matched by regular expression once per distinct value in the chunk.
Findings use NASA PDS validate's message ids and its rules (FieldValueValidator): blank values are
allowed (in a delimited table only empty ones), surrounding double quotes are removed, special constants
are exempt from the data-type and min/max checks (a constant is written as the label gives it: ``UNK`` in
a number field),
minimum/maximum come from ``Field_Statistics`` and are compared with the unscaled value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..formats.tables import BINARY_DTYPES, BIT_TYPES, FieldDef, parse_number

__all__ = ["ColumnChecker", "Problem", "text_format"]

TYPE_MISMATCH = "error.table.field_value_data_type_mismatch"
OUT_OF_RANGE = "error.table.field_value_out_of_min_max_range"
OUT_OF_SPECIAL_RANGE = "warning.table.field_value_out_of_special_constant_min_max_range"
NOT_A_NUMBER = "error.table.field_value_not_a_number"
TOO_LONG = "error.table.field_value_too_long"
PRECISION = "error.table.field_value_format_precision_mismatch"
SPECIFIER = "error.table.field_value_format_specifier_mismatch"
NOT_RIGHT = "error.table.field_value_not_right_justified"
NOT_LEFT = "error.table.field_value_not_left_justified"
_ADVISORY = {m: "warning." + m.removeprefix("error.") for m in (TOO_LONG, PRECISION, SPECIFIER, NOT_RIGHT, NOT_LEFT)}
"""The same findings about a ``field_format``, which only describes values: warnings (validate 3.5 on)."""

Format = tuple[str, bool]
"""The format a field's text values are checked against: (format, advisory); advisory for a field_format."""


@dataclass(slots=True)
class Problem:
    """One finding about one value: record number (1-based), message id and text."""

    message_id: str
    record: int
    message: str
    severity: str | None = None
    """None: as the message id says (``error.``, ``warning.``)."""


def _automaton(
    spec: dict[int, dict[bytes, int]], states: int, accept: set[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(transitions, accepting) from ``{state: {byte set: next state}}``; state 0 starts, the last state is
    the dead state. Space and NUL (padding) are allowed before and after the token. The transitions are
    flat, with state ``s`` kept as ``s * 256``: ``next = transitions[state + byte]``, one add and one take."""
    dead = states - 1
    table = np.full((states, 256), dead, np.uint8)
    for state, moves in spec.items():
        for chars, nxt in moves.items():
            table[state, list(chars)] = nxt
    ok = np.zeros(states, bool)
    ok[list(accept)] = True
    return (table.astype(np.intp) * 256).ravel(), ok


_D = b"0123456789"
_BLANK = b" \x00\t"
# 0 blank so far · 1 quote · 2 sign · 3 digits · 4 "." after digits · 5 fraction · 6 "." first · 7 "e"
# 8 exponent sign · 9 exponent digits · 10 closing quote · 11 trailing blanks · 12 dead
_REAL = _automaton(
    {
        0: {_BLANK: 0, b'"': 1, b"+-": 2, _D: 3, b".": 6},
        1: {b"+-": 2, _D: 3, b".": 6},
        2: {_D: 3, b".": 6},
        3: {_D: 3, b".": 4, b"eE": 7, b'"': 10, _BLANK: 11},
        4: {_D: 5, b"eE": 7, b'"': 10, _BLANK: 11},
        5: {_D: 5, b"eE": 7, b'"': 10, _BLANK: 11},
        6: {_D: 5},
        7: {b"+-": 8, _D: 9},
        8: {_D: 9},
        9: {_D: 9, b'"': 10, _BLANK: 11},
        10: {_BLANK: 11},
        11: {_BLANK: 11},
    },
    13,
    {3, 4, 5, 9, 10, 11},
)


def _integer(signs: bytes, digits: bytes) -> tuple[np.ndarray, np.ndarray]:
    # 0 blank · 1 quote · 2 sign · 3 digits · 4 closing quote · 5 trailing blanks · 6 dead
    first = {_BLANK: 0, b'"': 1, digits: 3}
    if signs:
        first[signs] = 2
    return _automaton(
        {
            0: first,
            1: {signs: 2, digits: 3} if signs else {digits: 3},
            2: {digits: 3},
            3: {digits: 3, b'"': 4, _BLANK: 5},
            4: {_BLANK: 5},
            5: {_BLANK: 5},
        },
        7,
        {3, 4, 5},
    )


_AUTOMATA = {
    "ASCII_Real": _REAL,
    "ASCII_Integer": _integer(b"+-", _D),
    "ASCII_NonNegative_Integer": _integer(b"+", _D),
    "ASCII_Numeric_Base2": _integer(b"", b"01"),
    "ASCII_Numeric_Base8": _integer(b"", b"01234567"),
    "ASCII_Numeric_Base16": _integer(b"", _D + b"abcdefABCDEF"),
}
_PATTERN_TEXT = {
    "ASCII_Real": "(+|-)?([0-9]+(.[0-9]*)?|.[0-9]+)([Ee](+|-)?[0-9]+)?",
    "ASCII_Integer": "[+-]?[0-9]+",
    "ASCII_NonNegative_Integer": "[+]?[0-9]+",
}

_T = r"(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?"
_YMD = r"\d{4}(-\d{2}(-\d{2})?)?"
_DOY = r"\d{4}(-\d{3})?"
_DIR = r"[A-Za-z0-9][A-Za-z0-9_\-]*[A-Za-z0-9]"
_REGEX = {
    "ASCII_Date_DOY": _DOY + "Z?",
    "ASCII_Date_YMD": _YMD + "Z?",
    "ASCII_Date_Time_DOY": r"\d{4}(-\d{3}" + _T + ")?Z?",
    "ASCII_Date_Time_DOY_UTC": r"\d{4}(-\d{3}" + _T + ")?Z",
    "ASCII_Date_Time_YMD": r"\d{4}(-\d{2}-\d{2}" + _T + ")?Z?",
    "ASCII_Date_Time_YMD_UTC": r"\d{4}(-\d{2}-\d{2}" + _T + ")?Z",
    "ASCII_Date_Time": r"\d{4}(-(\d{2}-\d{2}|\d{3})" + _T + ")?Z?",
    "ASCII_Date_Time_UTC": r"\d{4}(-(\d{2}-\d{2}|\d{3})" + _T + ")?Z",
    "ASCII_Date": r"\d{4}(-(\d{2}(-\d{2})?|\d{3}))?Z?",
    "ASCII_Time": r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?",
    "ASCII_MD5_Checksum": r"[0-9a-fA-F]{32}",
    "ASCII_DOI": r"10\.\S+/\S+",
    # the information model's (1O00) patterns: 3 to 5 fields after urn, each of lower-case letters, digits and
    # - . _ (so an authority such as JAXA's darts-ard), then for a LIDVID a VID of digits . digits
    "ASCII_LID": r"urn(:[0-9a-z\-._]+){3,5}",
    "ASCII_LIDVID": r"urn(:[0-9a-z\-._]+){3,5}::[0-9]+\.[0-9]+",
    "ASCII_LIDVID_LID": r"urn(:[0-9a-z\-._]+){3,5}(::[0-9]+\.[0-9]+)?",
    "ASCII_VID": r"[1-9][0-9]*\.[0-9]+(\.[0-9]+)?(\.[0-9]+)?",
    "ASCII_File_Name": r"[A-Za-z0-9]+[A-Za-z0-9\-_.]*\.[A-Za-z0-9\-_]*[A-Za-z0-9]+",
    "ASCII_Directory_Path_Name": _DIR + "(/" + _DIR + ")*",
    "ASCII_Boolean": r"(true|false|1|0)",
    "ASCII_BibCode": r"\d{4}[A-Za-z\d.&]{5}[A-Za-z\d.]{9}[A-Z]",
}
_COMPILED = {k: re.compile(v) for k, v in _REGEX.items()}
_INF_NAN = {"INF", "-INF", "+INF", "INFINITY", "-INFINITY", "+INFINITY", "NAN", "-NAN", "+NAN"}
_FORMAT = re.compile(r"%([+-])?(\d+)(\.(\d+))?([doxfeEs])")
_F_VALUE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_E_VALUE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)[Ee][+-]?\d+")
_D_VALUE = re.compile(r"[+-]?\d+")
_HEX_VALUE = re.compile(r"[0-9a-fA-F]+")
_SPEC_VALUE = {"e": _E_VALUE, "E": _E_VALUE, "f": _F_VALUE, "d": _D_VALUE, "o": _D_VALUE}


_NO_CONSTANTS = np.zeros(0, float)
First = int | np.ndarray
Raw = np.ndarray | None
"""Record number of the first row of a chunk, or the record number of every row."""


class ColumnChecker:
    """Checks the values of one field across the chunks of one table (cheap to build: tables may have
    tens of thousands of fields)."""

    __slots__ = (
        "f",
        "kind",
        "report",
        "format",
        "_constants",
        "_bit_constants",
        "_text_constants",
        "_vmin",
        "_vmax",
        "_range",
        "_regex_cache",
    )

    def __init__(self, f: FieldDef, kind: str, report: Callable[[Problem], None]) -> None:
        self.f, self.kind, self.report = f, kind, report
        self.format = text_format(f, kind)
        self._constants = _NO_CONSTANTS
        self._bit_constants: list[int] = []
        self._text_constants = frozenset(_clean(c.encode("latin-1", "replace")) for c in f.constants)
        """The special constants as written: a value equal to one is not checked against the data type."""
        if f.constants:
            decimal = [c for c in f.constants if not _is_hex(c)]
            self._constants = np.array([v for v in map(parse_number, decimal) if v is not None], float)
            self._bit_constants = [int(parse_number(c) or 0) for c in f.constants if _is_hex(c)]
        self._vmin = parse_number(f.valid_minimum) if f.valid_minimum else None
        self._vmax = parse_number(f.valid_maximum) if f.valid_maximum else None
        self._range = (
            f.minimum is not None or f.maximum is not None or self._vmin is not None or self._vmax is not None
        )
        self._regex_cache: dict[bytes, bool] = {}

    @property
    def checks_numbers(self) -> bool:
        """Whether well-formed numeric text goes on to the format and minimum/maximum checks."""
        return self._range or self.format is not None

    # ----------------------------------------------------------------------------------- text values

    def text(self, codes: np.ndarray, first: First) -> None:
        """``codes``: ``(n, width)`` byte codes of this field, for records ``first .. first + n - 1`` (or
        for the record numbers in the array ``first``)."""
        dtype = self.f.data_type
        n, width = codes.shape
        if n == 0:
            return
        automaton = _AUTOMATA.get(dtype)
        if automaton is not None:
            ok, blank = _run(automaton, codes, self.kind)
            for i in np.flatnonzero(~ok & ~blank):
                value = _decode(codes[i])
                if not self._is_constant(value):
                    self._mismatch(_rec(first, i), value, _PATTERN_TEXT.get(dtype, dtype))
            if self.checks_numbers:
                good = np.flatnonzero(ok & ~blank)
                self._numbers_from_text(codes, good, first)
            return
        if dtype.startswith("ASCII"):
            bad = np.flatnonzero((codes > 127).any(axis=1))
            for i in bad:
                self._mismatch(_rec(first, i), _decode(codes[i]), "ASCII characters only")
        regex = _COMPILED.get(dtype)
        if regex is not None or self.format is not None or self.f.max_length is not None:
            self._by_value(codes, first, regex)

    def _numbers_from_text(self, codes: np.ndarray, rows: np.ndarray, first: First) -> None:
        if rows.size == 0:
            return
        raw = _as_bytes(codes[rows])
        if (codes[rows] == 34).any():
            raw = np.char.strip(np.char.strip(raw), b'"')
        if self.format is not None:
            self._formats(raw, rows, first, self.format)
        if self._range:
            values = raw.astype(np.float64) if self.f.data_type == "ASCII_Real" else _int_values(raw, self.f)
            self._check_range(values, rows, first, raw)

    def _by_value(self, codes: np.ndarray, first: First, regex: re.Pattern[str] | None) -> None:
        raw = _as_bytes(codes)
        uniq, inverse = np.unique(raw, return_inverse=True)
        bad_values: list[bool] = []
        for u in uniq:
            cached = self._regex_cache.get(u)
            if cached is None:
                cached = self._value_ok(u, regex)
                if len(self._regex_cache) < 100_000:
                    self._regex_cache[u] = cached
            bad_values.append(not cached)
        bad = np.asarray(bad_values, bool)[inverse.ravel()]
        for i in np.flatnonzero(bad):
            self._explain(_rec(first, i), bytes(raw[i]), regex)

    def _is_constant(self, text: str) -> bool:
        """Whether a value is one of the field's special constants (which need not have its data type:
        ``N/A`` in a number field, ``XOXOXOXO`` in a time field), as validate exempts them."""
        return bool(self._text_constants) and _clean(text.encode("latin-1", "replace")) in self._text_constants

    def _value_ok(self, raw: bytes, regex: re.Pattern[str] | None) -> bool:
        value = _clean(raw)
        if not value or value in self._text_constants:
            return True
        if self.f.max_length is not None and len(value) > self.f.max_length:
            return False
        if value.upper() in _INF_NAN:
            return False
        if regex is not None and not regex.fullmatch(value):
            return False
        return self.format is None or format_ok(value, raw.decode("latin-1").strip("\x00"), self.format)

    def _explain(self, record: int, raw: bytes, regex: re.Pattern[str] | None) -> None:
        value = _clean(raw)
        where = f"record {record}, field {self.f.number} ({self.f.name})"
        if self.f.max_length is not None and len(value) > self.f.max_length:
            self.report(
                Problem(
                    TOO_LONG,
                    record,
                    f"{where}: the length of the value {value!r} exceeds the "
                    f"maximum field length ({self.f.max_length})",
                )
            )
        if value.upper() in _INF_NAN or (regex is not None and not regex.fullmatch(value)):
            self._mismatch(record, value, regex.pattern if regex else "no INF/NaN")
        if self.format is not None:
            for message_id, text in format_problems(value, raw.decode("latin-1").strip("\x00"), self.format):
                self.report(Problem(message_id, record, f"{where}: {text}"))

    def _formats(self, raw: np.ndarray, rows: np.ndarray, first: First, fmt: Format) -> None:
        uniq, inverse = np.unique(raw, return_inverse=True)
        for k, u in enumerate(uniq):
            text = u.decode("latin-1").strip("\x00")
            if format_ok(text.strip(), text, fmt):
                continue
            problems = format_problems(text.strip(), text, fmt)
            for i in np.flatnonzero(inverse.ravel() == k):
                where = f"record {_rec(first, rows[i])}, field {self.f.number} ({self.f.name})"
                for message_id, msg in problems:
                    self.report(Problem(message_id, _rec(first, rows[i]), f"{where}: {msg}"))

    def _mismatch(self, record: int, value: str, pattern: str) -> None:
        self.report(
            Problem(
                TYPE_MISMATCH,
                record,
                f"record {record}, field {self.f.number} ({self.f.name}): "
                f"value {value.strip() or value!r} does not match its data type "
                f"{self.f.data_type} ({pattern})",
            )
        )

    # --------------------------------------------------------------------------------- binary values

    def binary(self, block: np.ndarray, first: First) -> None:
        """``block``: ``(n, length)`` raw bytes of this binary field."""
        dtype = self.f.data_type
        if dtype in BIT_TYPES or self.f.bits:
            if self.f.bits:
                self._bit_fields(block, first)
            if dtype in BIT_TYPES and self._range:
                self._check_range(
                    _bits(block, 0, block.shape[1] * 8 - 1, dtype == "SignedBitString"),
                    np.arange(block.shape[0]),
                    first,
                    None,
                )
            return
        np_type = BINARY_DTYPES.get(dtype)
        if np_type is None:
            self.text(block, first)
            return
        if not self._range or np_type.lstrip("<>")[0] == "c":
            return
        values = np.ascontiguousarray(block).view(np_type).ravel()
        rows = np.arange(values.size)
        if self._bit_constants and values.dtype.kind == "f":
            bits = np.ascontiguousarray(block).view(np_type[0] + "u" + np_type[-1]).ravel()
            keep = ~np.isin(bits, np.array(self._bit_constants, dtype=bits.dtype))
            values, rows = values[keep], rows[keep]
        self._check_range(values.astype(np.float64), rows, first, None)

    def _bit_fields(self, block: np.ndarray, first: First) -> None:
        for bf in self.f.bits:
            if bf.minimum is None and bf.maximum is None:
                continue
            values = _bits(block, bf.start, bf.stop, bf.data_type == "SignedBitString")
            sub = FieldDef(
                name=f"{self.f.name}/{bf.name}",
                data_type=bf.data_type,
                number=self.f.number,
                minimum=bf.minimum,
                maximum=bf.maximum,
            )
            ColumnChecker(sub, "binary", self.report)._check_range(
                values, np.arange(values.size), first, None
            )

    # ----------------------------------------------------------------------------------- min / max

    def _check_range(
        self, values: np.ndarray, rows: np.ndarray, first: First, raw: np.ndarray | None
    ) -> None:
        f = self.f
        if self._constants.size:
            keep = ~np.isin(values, self._constants)
            values, rows = values[keep], rows[keep]
            raw = raw[keep] if raw is not None else None
        nan = ~np.isfinite(values)
        for i in np.flatnonzero(nan):
            self.report(
                Problem(
                    NOT_A_NUMBER,
                    _rec(first, rows[i]),
                    f"record {_rec(first, rows[i])}, field "
                    f"{f.number} ({f.name}): value {values[i]} cannot be compared with the "
                    "minimum/maximum",
                )
            )
        for limit, below, label, mid, sev in (
            (self._vmin, True, "valid_minimum", OUT_OF_SPECIAL_RANGE, "warning"),
            (self._vmax, False, "valid_maximum", OUT_OF_SPECIAL_RANGE, "warning"),
            (f.minimum, True, "minimum", OUT_OF_RANGE, "error"),
            (f.maximum, False, "maximum", OUT_OF_RANGE, "error"),
        ):
            if limit is None:
                continue
            with np.errstate(invalid="ignore"):
                out = (values < limit) if below else (values > limit)
            for i in np.flatnonzero(out & ~nan):
                shown = raw[i].decode("latin-1").strip().strip('"') if raw is not None else _num(values[i])
                self.report(
                    Problem(
                        mid,
                        _rec(first, rows[i]),
                        f"record {_rec(first, rows[i])}, field {f.number} "
                        f"({f.name}): value {shown} is {'less' if below else 'greater'} than the "
                        f"{label} {_num(limit)}",
                        sev,
                    )
                )


def text_format(f: FieldDef, kind: str) -> Format | None:
    """The format a text value of ``f`` is checked against in a table of ``kind``, as validate checks it
    (since 3.5): a character table's ``validation_format`` exactly (errors); otherwise the ``field_format``
    of a character or delimited table as a description (warnings; its precision is a maximum); none in a
    binary table, where ``field_format`` only says how to print a value."""
    if kind == "binary":
        return None
    if kind == "character" and f.validation_format:
        return f.validation_format, False
    return (f.field_format, True) if f.field_format else None


def _rec(first: First, i: int | np.integer) -> int:
    """Record number of row ``i`` of a chunk: ``first + i``, or ``first[i]`` when given by an array."""
    return first + int(i) if isinstance(first, int) else int(first[i])


def _is_hex(text: str) -> bool:
    t = text.strip()
    return t.lower().startswith("0x") or t.startswith("16#")


def _run(automaton: tuple[np.ndarray, np.ndarray], codes: np.ndarray,
         kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(matches, blank) for each value of ``codes`` (``(..., width)`` byte codes) run through the automaton. In a
    table of ``kind`` delimited only an empty value is blank, as validate has it: one of spaces is text, which no
    number type matches (in a fixed-width table spaces are blank)."""
    transitions, accept = automaton
    state = np.zeros(codes.shape[:-1], np.intp)
    for j in range(codes.shape[-1]):
        state = transitions[state + codes[..., j]]
    state //= 256
    blank = state == 0
    if kind == "delimited":
        blank &= ~codes.any(axis=-1)  # NUL padding only: the value is empty
    return accept[state], blank


def _as_bytes(codes: np.ndarray) -> np.ndarray:
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return codes.view(f"S{codes.shape[1]}").ravel() if codes.shape[1] else np.zeros(codes.shape[0], "S1")


def _decode(row: np.ndarray) -> str:
    return bytes(np.asarray(row, np.uint8)).decode("latin-1").strip("\x00")


def _clean(raw: bytes) -> str:
    text = raw.decode("latin-1").strip("\x00").strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return text


def _int_values(raw: np.ndarray, f: FieldDef) -> np.ndarray:
    base = {"ASCII_Numeric_Base2": 2, "ASCII_Numeric_Base8": 8, "ASCII_Numeric_Base16": 16}.get(f.data_type)
    if base is None:
        try:
            return raw.astype(np.int64).astype(np.float64)
        except (ValueError, OverflowError):
            return raw.astype(np.float64)
    return np.array([float(int(v, base)) for v in raw], np.float64)


def _bits(block: np.ndarray, start: int, stop: int, signed: bool) -> np.ndarray:
    """Bits ``start..stop`` (0 = most significant bit of the first byte) of each row, as float64."""
    width = stop - start + 1
    first_byte, last_byte = start // 8, stop // 8
    acc = np.zeros(block.shape[0], np.uint64)
    for k in range(first_byte, last_byte + 1):
        acc = (acc << np.uint64(8)) | block[:, k].astype(np.uint64)
    acc >>= np.uint64(7 - stop % 8)
    if width < 64:
        acc &= np.uint64((1 << width) - 1)
    values = acc.astype(np.float64)
    if signed and width < 64:
        values = np.where(values >= 2.0 ** (width - 1), values - 2.0**width, values)
    return values


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


@lru_cache(maxsize=256)
def _parsed_format(fmt: str) -> tuple[str | None, int, int | None, str, re.Pattern[str] | None] | None:
    """(justification, width, precision, specifier, value pattern) of a PDS4 format such as ``%-7.3f``
    (None when it is not one: nothing is checked against it); worked out once per format."""
    m = _FORMAT.fullmatch(fmt.strip())
    if m is None:
        return None
    spec = m.group(5)
    pattern = _HEX_VALUE if spec == "x" else _SPEC_VALUE.get(spec)
    return m.group(1), int(m.group(2)), None if m.group(4) is None else int(m.group(4)), spec, pattern


def _digits(value: str) -> int:
    """Digits after the decimal point of a value's mantissa."""
    cut = min((k for k in (value.find("e"), value.find("E")) if k >= 0), default=len(value))
    point = value.find(".", 0, cut)
    return cut - point - 1 if point >= 0 else 0


def _precision_ok(digits: int, precision: int, advisory: bool) -> bool:
    """Digits after the point against a format's precision: at most it for a field_format (a description),
    exactly it for a validation_format."""
    return digits <= precision if advisory else digits == precision


def format_ok(value: str, untrimmed: str, format_: Format) -> bool:
    """Whether ``format_problems`` finds nothing (without building its messages: most values are fine)."""
    parsed = _parsed_format(format_[0])
    if parsed is None or not value:
        return True
    justify, width, precision, spec, pattern = parsed
    if len(value) > width or (pattern is not None and pattern.fullmatch(value) is None):
        return False
    if justify == "+" and untrimmed[-1:].isspace() or justify == "-" and untrimmed[:1].isspace():
        return False
    return precision is None or spec not in "feE" or _precision_ok(_digits(value), precision, format_[1])


def format_problems(value: str, untrimmed: str, format_: Format) -> list[tuple[str, str]]:
    """Problems of ``value`` against a PDS4 format such as ``%-7.3f`` (validate's checkFormat). An advisory
    format (a field_format) gives warnings, and fewer digits than its precision are fine (a maximum)."""
    fmt, advisory = format_
    parsed = _parsed_format(fmt)
    if parsed is None or not value:
        return []
    out: list[tuple[str, str]] = []
    justify, width, precision, spec, pattern = parsed
    if justify == "+" and untrimmed != untrimmed.rstrip():
        out.append((NOT_RIGHT, f"the value {untrimmed!r} is not right-justified"))
    elif justify == "-" and untrimmed != untrimmed.lstrip():
        out.append((NOT_LEFT, f"the value {untrimmed!r} is not left-justified"))
    if pattern is not None and pattern.fullmatch(value) is None:
        out.append((SPECIFIER, f"the value {value!r} does not match the field format specifier {spec!r}"))
    if len(value) > width:
        out.append(
            (
                TOO_LONG,
                f"the length of the value {value!r} exceeds the width of the field format "
                f"{fmt} ({len(value)} > {width})",
            )
        )
    if precision is not None and spec in "feE":
        digits = _digits(value)
        if not _precision_ok(digits, precision, advisory):
            out.append(
                (
                    PRECISION,
                    f"the value {value!r} has {digits} digits after the decimal point, the "
                    f"field format {fmt} asks for {'at most ' if advisory else ''}{precision}",
                )
            )
    return [(_ADVISORY[m], text) for m, text in out] if advisory else out
