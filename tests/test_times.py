"""Label times at every precision normalise to sortable UTC strings."""

from __future__ import annotations

import pytest

from lunarchive.errors import InvalidQuery
from lunarchive.times import normalize_utc, parse_utc


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
