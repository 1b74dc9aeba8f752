"""UTC time strings as labels write them, normalised so that they sort and compare as text.

Labels give times at any precision (``2004-08-13Z``, ``2001-10-31T01:04:31.00Z``, PDS3 day-of-year
``2009-095T20:09:53.61``). The catalogue keeps the label's own string and, beside it, a normalised
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` form; a stop time given to the day means the end of that day.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from .errors import InvalidQuery

__all__ = ["DAYS_IN_400_YEARS", "normalize_utc", "parse_utc", "time_problem", "year_zero_as_400"]

_ISO = re.compile(
    r"^(?P<y>\d{4})(?:-(?:(?P<doy>\d{3})|(?P<m>\d{2})(?:-(?P<d>\d{2}))?))?"
    r"(?:[Tt ](?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d+))?)?)?)?"
    r"\s*(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII,  # digits are 0-9 only (\d would take ２０１４ and ٢٠١٤ as a year)
)
_NULLS = {"", "N/A", "NA", "UNK", "UNKNOWN", "NULL", "NONE"}


def parse_utc(text: str, *, end: bool = False) -> datetime | None:
    """Parse a label or user time to an aware UTC datetime; ``end`` rounds up to the end of its precision.

    Returns None for PDS null values (``N/A``, ``UNK``...). Raises InvalidQuery when it is not a time.
    """
    s = text.strip().strip('"')
    if s.upper() in _NULLS:
        return None
    m = _ISO.match(s)
    if not m:
        raise InvalidQuery(f"not an ISO 8601 time: {text!r}")
    g = m.groupdict()
    try:
        if g["doy"]:
            year, doy = int(g["y"]), int(g["doy"])
            if not 1 <= doy <= (366 if calendar.isleap(year) else 365):
                raise ValueError(f"day of year {doy} is not in {year}")
            base = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=doy - 1)
        else:
            base = datetime(int(g["y"]), int(g["m"] or 1), int(g["d"] or 1), tzinfo=UTC)
        if int(g["S"] or 0) > 60:  # 60: a leap second, read as 59
            raise ValueError(f"second {g['S']} is not in a minute")
        frac = (g["f"] or "")[:6].ljust(6, "0")
        dt = base.replace(
            hour=int(g["H"] or 0), minute=int(g["M"] or 0), second=min(int(g["S"] or 0), 59),
            microsecond=int(frac),
        )
    except ValueError as exc:
        raise InvalidQuery(f"not a valid time: {text!r} ({exc})") from exc
    tz = g["tz"]
    if tz and tz.upper() != "Z" and (int(tz[1:3]) > 23 or (len(tz) > 3 and int(tz[-2:]) > 59)):
        raise InvalidQuery(f"not a valid time: {text!r} (UTC offset {tz} is not hours 00-23, minutes 00-59)")
    try:
        if tz and tz.upper() != "Z":  # +hh:mm, +hhmm or +hh (RFC 3339 and ISO 8601 both allow lower-case t and z)
            sign = 1 if tz[0] == "+" else -1
            hh, mm = int(tz[1:3]), int(tz[-2:]) if len(tz) > 3 else 0
            dt -= sign * timedelta(hours=hh, minutes=mm)
        if end:
            dt = _next_step(dt, g) - timedelta(microseconds=1)
    except (OverflowError, ValueError):  # past the ends of datetime's range (year 1 to 9999): its first or last instant
        dt = _FIRST if dt.year == 1 else _LAST
    return dt


_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def _next_step(dt: datetime, g: dict[str, str | None]) -> datetime:
    """The first instant after the period that ``dt`` names at the precision it was written with."""
    if g["m"] and not g["d"] and not g["H"]:
        return dt.replace(year=dt.year + dt.month // 12, month=dt.month % 12 + 1)
    if not g["m"] and not g["doy"]:
        return dt.replace(year=dt.year + 1)
    return dt + _precision_step(g)


def _precision_step(g: dict[str, str | None]) -> timedelta:
    if g["f"]:
        digits = min(len(g["f"] or ""), 6)
        return timedelta(microseconds=10 ** (6 - digits))
    if g["S"]:
        return timedelta(seconds=1)
    if g["M"]:
        return timedelta(minutes=1)
    if g["H"]:
        return timedelta(hours=1)
    return timedelta(days=1)


_FULL = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z?", re.ASCII)


def _real_time(y: str, mo: str, d: str, hh: str, mm: str, ss: str) -> bool:
    """Whether the fast path may format these fields: a real date and time, year >= 1000, no leap second
    (anything else goes through parse_utc)."""
    if int(y) < 1000 or int(ss) > 59:
        return False
    try:
        datetime(int(y), int(mo), int(d), int(hh), int(mm))
    except ValueError:
        return False
    return True


def normalize_utc(text: str | None, *, end: bool = False) -> str | None:
    """The sortable ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` form of a time string, or None."""
    if text is None:
        return None
    m = _FULL.fullmatch(text)
    if m is not None:  # calendar time to the second or finer, UTC: the common case, without datetime math
        y, mo, d, hh, mm, ss, frac = m.groups()
        if _real_time(y, mo, d, hh, mm, ss):  # the end of a time given to 10^-k s: the same digits, then nines
            return f"{y}-{mo}-{d}T{hh}:{mm}:{ss}.{(frac or '').ljust(6, '9' if end else '0')}Z"
    s, year_zero = year_zero_as_400(text.strip().strip('"'))
    try:
        dt = parse_utc(s, end=end)
    except InvalidQuery:
        return None
    if dt is None:
        return None
    year = dt.year - 400 if year_zero else dt.year
    if year < 0:  # an offset took it before year 0
        return "0000-01-01T00:00:00.000000Z"
    return f"{year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond:06d}Z"


DAYS_IN_400_YEARS = 146_097
"""The Gregorian calendar's cycle: year 400 falls on the same days as year 0, this many days later."""


def year_zero_as_400(text: str) -> tuple[str, bool]:
    """``text`` (a time starting with its year) with a year 0 (1 BC; PDS4 allows it) written as year 400, whose
    calendar is the same, and whether it was: ``datetime`` has no year 0."""
    if text.startswith("0000") and not text[4:5].isdigit():
        return "0400" + text[4:], True
    return text, False


def time_problem(text: str | None) -> tuple[bool, str] | None:
    """Why a label's time cannot be read, or None when it can (or is a PDS null such as ``N/A``):
    ``(well_formed, reason)``, ``well_formed`` telling a real form that names no instant (February 30,
    day 366 of a common year, hour 24) from text that is no ISO 8601 time at all."""
    if text is None or normalize_utc(text) is not None:
        return None
    try:
        parse_utc(text)
    except InvalidQuery as exc:
        detail = exc.__cause__
        return (True, str(detail)) if detail is not None else (False, "not an ISO 8601 time")
    return None
