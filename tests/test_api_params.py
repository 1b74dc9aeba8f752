"""Parameter parsing on its own: STAC datetime/bbox/sortby/token, CQL2 text and JSON, the PDS ``q`` language,
and that the offline STAC validation really rejects a broken item."""

from __future__ import annotations

from typing import Any

import pytest

from lunarchive.api.cql2 import parse_cql2, parse_pds_q
from lunarchive.api.params import decode_token, encode_token, parse_bbox, parse_datetime, parse_sortby
from lunarchive.catalog.base import Compare, Logical
from lunarchive.errors import InvalidQuery

pytest_plugins = ["tests.test_api_fixtures"]


def test_datetime_forms() -> None:
    assert parse_datetime("2020-01-01T00:00:00Z") == ("2020-01-01T00:00:00.000000Z",) * 2
    assert parse_datetime("2020-01-01T00:00:00Z/..") == ("2020-01-01T00:00:00.000000Z", None)
    assert parse_datetime("../2020-01-01T00:00:00+01:00") == (None, "2019-12-31T23:00:00.000000Z")
    assert parse_datetime("2020-01-01/2020-01-02") == ("2020-01-01T00:00:00.000000Z", "2020-01-02T23:59:59.999999Z")
    for bad in ("2020", "../..", "2020-01-02T00:00:00Z/2020-01-01T00:00:00Z", "a/b/c", "2020-13-01T00:00:00Z"):
        with pytest.raises(InvalidQuery):
            parse_datetime(bad)


def test_bbox_forms() -> None:
    assert parse_bbox("350,-10,10,10") == (350.0, -10.0, 10.0, 10.0)
    assert parse_bbox([0, 0, 0, 1, 1, 5]) == (0.0, 0.0, 1.0, 1.0)
    for bad in ("1,2,3", "0,10,1,-10", "nan,0,1,1", "0,0,1,95", "-200,0,1,1"):
        with pytest.raises(InvalidQuery):
            parse_bbox(bad)


def test_sortby_and_tokens() -> None:
    assert parse_sortby("-properties.datetime,+id") == ("start", True)
    assert parse_sortby([{"field": "title", "direction": "asc"}]) == ("title", False)
    with pytest.raises(InvalidQuery):
        parse_sortby("title,datetime")
    token = encode_token("start", True, ["2020-01-01T00:00:00.000000Z", 42])
    assert decode_token(token, "start", True) == ("2020-01-01T00:00:00.000000Z", 42)
    with pytest.raises(InvalidQuery):
        decode_token(token, "start", False)
    with pytest.raises(InvalidQuery):
        decode_token("not base64 json", "start", True)


def test_cql2_text_and_json_agree() -> None:
    text = parse_cql2("ssys:targets = 'MOON' AND (pds:vid > '1.0' OR NOT title LIKE 'x%') AND mission IS NOT NULL",
                      None)
    json_form = parse_cql2({"op": "and", "args": [
        {"op": "=", "args": [{"property": "ssys:targets"}, "MOON"]},
        {"op": "or", "args": [{"op": ">", "args": [{"property": "pds:vid"}, "1.0"]},
                              {"op": "not", "args": [{"op": "like", "args": [{"property": "title"}, "x%"]}]}]},
        {"op": "not", "args": [{"op": "isNull", "args": [{"property": "mission"}]}]}]}, "cql2-json")
    assert text == json_form
    assert parse_cql2("datetime >= TIMESTAMP('2020-01-01T00:00:00Z')", "cql2-text") == \
        Compare("start", ">=", "2020-01-01T00:00:00Z")
    assert parse_cql2("pds:product_class IN ('Product_Observational', 'PDS3')", None) == \
        Compare("product_class", "in", ("Product_Observational", "PDS3"))
    for bad in ("colour = 'red'", "title =", "title = 'a' AND", "(title = 'a'", "title IS 5"):
        with pytest.raises(InvalidQuery):
            parse_cql2(bad, None)


def test_pds_q() -> None:
    f = parse_pds_q('pds:Identification_Area/pds:title like "*moon*" and (vid ge "2.0" or lid eq "urn:x:y")')
    assert f == Logical("and", (Compare("title", "ilike", "%moon%"), Logical("or", (
        Compare("vid", ">=", "2.0"), Compare("lid", "=", "urn:x:y")))))
    assert parse_pds_q('ref_lid_target eq "urn:nasa:pds:context:target:satellite.earth.moon"') == \
        Compare("target", "=", "MOON")
    assert parse_pds_q("lid exists") == Logical("not", (Compare("lid", "isnull"),))
    for bad in ('nosuch eq "a"', 'title qt "a"', "title eq"):
        with pytest.raises(InvalidQuery):
            parse_pds_q(bad)


def test_validation_rejects_a_broken_item(client: Any, stac_validate: Any) -> None:
    from pystac.errors import STACValidationError

    item = client.get("/search?limit=1&filter=ssys:targets%20=%20'MOON'").json()["features"][0]
    assert stac_validate(item)
    item["properties"]["ssys:target_class"] = "moonlet"
    with pytest.raises(STACValidationError):
        stac_validate(item)
    del item["properties"]["ssys:target_class"]
    item["assets"]["label"]["file:checksum"] = "not hex"
    with pytest.raises(STACValidationError):
        stac_validate(item)
