"""Label times at every precision normalise to sortable UTC strings."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunarchive.errors import InvalidQuery
from lunarchive.times import normalize_utc, parse_utc, time_problem


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2004-08-13Z", "2004-08-13T00:00:00.000000Z", "2004-08-13T23:59:59.999999Z"),
        ("2001-10-31T01:04:31.00Z", "2001-10-31T01:04:31.000000Z", "2001-10-31T01:04:31.009999Z"),
        ("2009-095T20:09:53.61", "2009-04-05T20:09:53.610000Z", "2009-04-05T20:09:53.619999Z"),
        ("1994-01-27T00:20:17.417000Z", "1994-01-27T00:20:17.417000Z", "1994-01-27T00:20:17.417000Z"),
        ("2020-02", "2020-02-01T00:00:00.000000Z", "2020-02-29T23:59:59.999999Z"),
        ("2014", "2014-01-01T00:00:00.000000Z", "2014-12-31T23:59:59.999999Z"),
        ("2014-01-03T14:00:00+01:00", "2014-01-03T13:00:00.000000Z", "2014-01-03T13:00:00.999999Z"),
        ("2014-01-03t14:00:00z", "2014-01-03T14:00:00.000000Z", "2014-01-03T14:00:00.999999Z"),  # RFC 3339 case
        ("2014-01-03T14:00:00+05", "2014-01-03T09:00:00.000000Z", "2014-01-03T09:00:00.999999Z"),  # hours only
        ("2014-01-03T14:00-0530", "2014-01-03T19:30:00.000000Z", "2014-01-03T19:30:59.999999Z"),
    ],
)
def test_normalize(text: str, start: str, end: str) -> None:
    assert normalize_utc(text) == start
    assert normalize_utc(text, end=True) == end


def test_nulls_and_garbage() -> None:
    assert parse_utc("N/A") is None and parse_utc("UNK") is None
    assert normalize_utc("yesterday") is None
    with pytest.raises(InvalidQuery):
        parse_utc("2014-13-45")


@given(
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
    st.integers(0, 6),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0, 59, 60]),
)
def test_full_precision_shortcut_agrees_with_datetime_math(
    dt: datetime, digits: int, zulu: bool, end: bool, second: int
) -> None:
    text = dt.strftime("%Y-%m-%dT%H:%M:") + f"{second:02d}"
    if digits:
        text += "." + f"{dt.microsecond:06d}"[:digits]
    text += "Z" if zulu else ""
    parsed = parse_utc(text, end=end)  # the general path (a 60th second is read as 59)
    assert parsed is not None
    assert normalize_utc(text, end=end) == parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("text", ["2021-02-29T00:00:00Z", "2021-04-31T10:00:00.5Z", "2021-01-01T24:00:00Z",
                                  "2009-366T00:00:00", "2009-000", "2009-999T12:00"])
def test_impossible_calendar_times_are_not_times(text: str) -> None:
    assert normalize_utc(text) is None
    assert (time_problem(text) or (False, ""))[0]  # well-formed, naming no instant
    with pytest.raises(InvalidQuery):
        parse_utc(text)


def test_day_of_year_bounds_follow_leap_years() -> None:
    assert normalize_utc("2008-366T12:00:00") == "2008-12-31T12:00:00.000000Z"
    assert normalize_utc("2009-365", end=True) == "2009-12-31T23:59:59.999999Z"
    assert normalize_utc("2009-001") == "2009-01-01T00:00:00.000000Z"


def test_time_problem_tells_malformed_from_impossible() -> None:
    assert time_problem(None) is None and time_problem("N/A") is None and time_problem("2009-095T20:09:53.61") is None
    assert time_problem("yesterday") == (False, "not an ISO 8601 time")
    well_formed, reason = time_problem("2009-366T00:00:00") or (False, "")
    assert well_formed and "day of year 366" in reason


def test_years_before_1000_are_zero_padded_so_they_sort() -> None:
    """strftime does not pad years below 1000 on Linux: '500-...' sorted after '1978-...'."""
    assert normalize_utc("0500") == "0500-01-01T00:00:00.000000Z"
    assert normalize_utc("0999-12-31T00:00:00Z") == "0999-12-31T00:00:00.000000Z"
    assert normalize_utc("0500", end=True) == "0500-12-31T23:59:59.999999Z"
    assert (normalize_utc("0500") or "") < (normalize_utc("1978") or "")


def test_year_zero_is_a_time() -> None:
    """PDS4 allows year 0 (1 BC, a leap year): SBN's comet compilation starts in 0000Z."""
    assert normalize_utc("0000Z") == "0000-01-01T00:00:00.000000Z"
    assert normalize_utc("0000Z", end=True) == "0000-12-31T23:59:59.999999Z"
    assert normalize_utc("0000-02-29") == "0000-02-29T00:00:00.000000Z"
    assert normalize_utc("0000-366T01", end=True) == "0000-12-31T01:59:59.999999Z"
    assert normalize_utc("0000-12-31T23:00-02:00") == "0001-01-01T01:00:00.000000Z"
    assert normalize_utc("0000-01-01T00:30+01:00") == "0000-01-01T00:00:00.000000Z"  # before year 0: its start
    assert time_problem("0000Z") is None
    assert normalize_utc("0000-02-30") is None and normalize_utc("00001") is None


def test_the_ends_of_the_calendar_do_not_overflow() -> None:
    """The end of year 9999 (a day, a year) and an offset before year 1 stop at datetime's range."""
    assert normalize_utc("9999Z", end=True) == "9999-12-31T23:59:59.999999Z"
    assert normalize_utc("9999-12-31", end=True) == "9999-12-31T23:59:59.999999Z"
    assert normalize_utc("9999-12-31T23:00-02:00") == "9999-12-31T23:59:59.999999Z"
    assert normalize_utc("0001-01-01T00:00:00+01:00") == "0001-01-01T00:00:00.000000Z"


@pytest.mark.parametrize("text", ["2014-01-03T14:00:00+25:00", "2014-01-03T14:00:00+99:99", "2014-01-03T14:00-07:60",
                                  "２０１４-01-03", "٢٠١٤-01-03"])
def test_offsets_out_of_range_and_digits_other_than_0_9_are_no_time(text: str) -> None:
    """A robustness sweep found these read as times (the offset +25:00 applied, ２０１４ read as 2014)."""
    with pytest.raises(InvalidQuery):
        parse_utc(text)
    assert normalize_utc(text) is None
