"""What a robustness sweep of the HTTP API found (each was a 500, a refusal the STAC API forbids, or a header
that misleads a cache or a client): the requests it sent, and what they must give now."""

from __future__ import annotations

import json

import httpx
import pytest

from .test_api_fixtures import LiveServer, error_shape

pytest_plugins = ["tests.test_api_fixtures"]

MK = "urn:nasa:pds:insight_rad"


def _fails_cleanly(r: httpx.Response, status: int = 400) -> None:
    assert r.status_code == status, r.text
    assert error_shape(r.json())


@pytest.mark.parametrize("flt", [
    "NOT " * 40 + "pds:valid = true",  # SQLite's parser stack overflowed at about 40
    "NOT " * 500 + "pds:valid = true",  # a RecursionError
    " OR ".join(f"title = 'x{i}'" for i in range(1000)),
    "title = 99999999999999999999999",  # beyond 64 bits
    "title = " + "9" * 5000,  # beyond Python's int parsing limit
])
def test_filters_that_were_server_errors(client: httpx.Client, flt: str) -> None:
    r = client.get("/search", params={"filter": flt})
    if flt.startswith("NOT " * 40) and flt.count("NOT") % 2 == 0:  # an even run of NOTs is no negation
        assert r.status_code == 200, r.text
    else:
        _fails_cleanly(r)


def test_deep_json_filters_lists_and_tokens(client: httpx.Client) -> None:
    node: dict[str, object] = {"op": "=", "args": [{"property": "title"}, "x"]}
    for _ in range(41):
        node = {"op": "not", "args": [node]}
    assert client.get("/search", params={"filter": json.dumps(node), "filter-lang": "cql2-json"}).status_code == 200
    nested: dict[str, object] = {"op": "=", "args": [{"property": "title"}, "x"]}
    for i in range(30):
        nested = {"op": "and" if i % 2 else "or", "args": [nested, {"op": "=", "args": [{"property": "title"}, "y"]}]}
    _fails_cleanly(client.get("/search", params={"filter": json.dumps(nested), "filter-lang": "cql2-json"}))
    _fails_cleanly(client.get("/search", params={"collections": ",".join(f"x{i}" for i in range(1000))}))
    assert client.get("/search", params={"collections": ",".join(f"x{i}" for i in range(300))}).status_code == 200
    _fails_cleanly(client.get("/products", params={"search-after": "9" * 20}))
    _fails_cleanly(client.get("/products", params={"search-after": "9" * 5000}))
    token = "eyJzIjoiaW5nZXN0ZWQiLCJkIjpmYWxzZSwiayI6Wzk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XX0"
    _fails_cleanly(client.get("/search", params={"token": token}))


@pytest.mark.parametrize("body", [
    '{"bbox":[-180,-90,NaN,180,90,NaN],"limit":1}', '{"bbox":[-180,-90,0,180,90,Infinity],"limit":1}',
    '{"filter":{"op":"=","args":[{"property":"title"},1e400]}}',
    '{"intersects":{"type":"Point","coordinates":[0,0,NaN]}}',
])
def test_non_finite_numbers_in_a_post_body(client: httpx.Client, body: str) -> None:
    _fails_cleanly(client.post("/search", content=body, headers={"content-type": "application/json"}))


def test_bbox_heights(client: httpx.Client) -> None:
    _fails_cleanly(client.get("/search", params={"bbox": "-180,-90,nan,180,90,nan"}))
    _fails_cleanly(client.get("/search", params={"bbox": "-180,-90,10,180,90,5"}))  # lowest above highest
    assert client.get("/search", params={"bbox": "-180,-90,-5,180,90,5", "limit": 1}).status_code == 200


def test_a_limit_above_the_largest_is_answered_as_the_largest(client: httpx.Client) -> None:
    """STAC API Item Search: "the server must act as if the request were for the maximum"."""
    for r in (client.get("/search", params={"limit": 10001}), client.post("/search", json={"limit": 50000}),
              client.get("/collections/urn:nasa:pds:insight_rad:data_raw/items", params={"limit": 99999})):
        assert r.status_code == 200, r.text
        assert r.json()["numberReturned"] > 0


def test_bodies_requests_and_media_types(client: httpx.Client) -> None:
    _fails_cleanly(client.post("/search", content=b"x" * (2 << 20), headers={"content-type": "application/json"}),
                   413)
    _fails_cleanly(client.post("/search", content=b"{}", headers={"content-type": "text/plain"}), 415)
    from lunarchive.api.stac_model import media_type

    assert media_type("m2020_v01.tm") == "text/plain"  # not TeXmacs
    assert media_type("de430.bsp") == "application/octet-stream"  # not a Valve game map


def test_lid_urls_are_not_immutable_and_if_match(client: httpx.Client) -> None:
    by_lid = client.get(f"/products/{MK}/label")
    assert by_lid.status_code == 200 and by_lid.headers["cache-control"] == "no-cache"
    lidvid = client.get(f"/products/{MK}").json()["id"]
    assert "::" in lidvid and "immutable" in client.get(f"/products/{lidvid}/label").headers["cache-control"]
    etag = by_lid.headers["etag"]
    assert client.get(f"/products/{MK}/label", headers={"If-Match": etag}).status_code == 200
    _fails_cleanly(client.get(f"/products/{MK}/label", headers={"If-Match": '"abc"'}), 412)
    # If-Match compares strongly (RFC 9110 13.1.1): the weak form of the right tag matches nothing
    _fails_cleanly(client.get(f"/products/{MK}/label", headers={"If-Match": f"W/{etag}"}), 412)
    assert client.get(f"/products/{MK}/label", headers={"If-Match": f'"abc", {etag}'}).status_code == 200
    assert client.get(f"/products/{MK}/label", headers={"If-None-Match": f"W/{etag}"}).status_code == 304


def test_head_and_allow(client: httpx.Client) -> None:
    for path in ("/", "/search", "/collections", f"/products/{MK}", "/products/urn:nasa:pds:insight_rad::2.1/archive"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]
    r = client.delete("/search")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"
    assert client.delete("/files/" + "f" * 64).headers["allow"] == "GET, HEAD"


def test_conformance_openapi_and_queryables(client: httpx.Client) -> None:
    landing = client.get("/").json()
    desc = next(link for link in landing["links"] if link["rel"] == "service-desc")
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert desc["type"].endswith("version=3.1")
    assert not any(c.endswith("/oas30") for c in client.get("/conformance").json()["conformsTo"])
    cid = "urn:nasa:pds:insight_rad:data_raw"
    doc = client.get(f"/collections/{cid}").json()
    link = next(link for link in doc["links"] if link["rel"].endswith("/queryables"))
    q = client.get(link["href"].replace("http://testserver", ""))
    assert q.status_code == 200 and q.json()["properties"] == client.get("/queryables").json()["properties"]
    assert client.get("/collections/urn:nasa:pds:nothing/queryables").status_code == 404


def test_a_collection_reads_the_same_alone_and_listed(client: httpx.Client) -> None:
    listed = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    for cid in ("urn:nasa:pds:insight_rad", "urn:nasa:pds:insight_rad:data_raw"):
        alone = client.get(f"/collections/{cid}").json()
        assert alone["extent"] == listed[cid]["extent"], cid
        assert "9999-12-31" not in json.dumps(alone["extent"])


def test_cql2_like_is_case_sensitive_and_the_pds_like_is_not(client: httpx.Client) -> None:
    def hits(flt: str) -> int:
        return len(client.get("/search", params={"filter": flt, "limit": 1000}).json()["features"])

    upper, lower, exact = hits("title LIKE '%INSIGHT%'"), hits("title LIKE '%insight%'"), hits("title LIKE '%InSight%'")
    assert exact > 0 and upper == lower == 0
    pds = client.get("/products", params={"q": 'title like "*insight*"', "limit": 0}).json()["summary"]["hits"]
    assert pds >= exact


def test_archive_is_named_by_what_was_asked_for(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as c:
        r = c.head("/products/urn:nasa:pds:insight_rad::2.1/archive")
        assert r.status_code == 200 and r.content == b""
        assert 'filename="insight_rad-2.1.zip"' in r.headers["content-disposition"]


def test_an_item_across_the_antimeridian_has_west_above_east() -> None:
    """RFC 7946 5.2: a footprint split at 180 degrees gets a bbox across it, not one around the body."""
    from lunarchive.api.stac_model import geometry_bbox

    split = {"type": "MultiPolygon", "coordinates": [
        [[[174, -59.5], [180, -59.5], [180, -57.75], [174, -57.75], [174, -59.5]]],
        [[[-180, -59.5], [-179.8, -59.5], [-179.8, -57.75], [-180, -57.75], [-180, -59.5]]]]}
    assert geometry_bbox(split) == [174.0, -59.5, -179.8, -57.75]
    whole = {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}
    assert geometry_bbox(whole) == [-180.0, -90.0, 180.0, 90.0]
    assert geometry_bbox({"type": "Point", "coordinates": [10, 5]}) == [10.0, 5.0, 10.0, 5.0]


def test_ids_are_case_insensitive_on_every_route(client: httpx.Client) -> None:
    """PDS ids are case-insensitive: /products took URN:...; /collections/URN:... was a 404 and ids=URN:... none."""
    cid = "urn:nasa:pds:insight_rad:data_raw"
    upper = cid.upper()
    assert client.get(f"/collections/{upper}").json()["id"] == cid
    items = client.get(f"/collections/{upper}/items").json()["features"]
    assert items and items == client.get(f"/collections/{cid}/items").json()["features"]
    lidvid = items[0]["id"]
    lid, _, vid = lidvid.partition("::")
    found = client.get("/search", params={"ids": f"{lid.upper()}::{vid}"}).json()["features"]
    assert [f["id"] for f in found] == [lidvid]
    assert client.get(f"/collections/{upper}/items/{lid.upper()}::{vid}").status_code == 200


def test_what_the_re_sweep_found(client: httpx.Client) -> None:
    """A LIKE on target names took 20 s (a correlated scan per product), a far longitude looped per turn for
    hours, non-ASCII digits were 500s, and the body checks answered 415 where the route was missing."""
    import time

    t0 = time.perf_counter()
    assert client.get("/products", params={"q": 'target like "x0*"'}).status_code == 200
    assert client.get("/search", params={"filter": "ssys:targets LIKE 'x0%'"}).status_code == 200
    or_500 = " OR ".join(f"ssys:targets = 'x{i}'" for i in range(400))
    assert client.get("/search", params={"filter": or_500}).status_code == 200
    assert time.perf_counter() - t0 < 10
    far = {"type": "MultiPoint", "coordinates": [[0, 0], [1e12, 0]]}
    _fails_cleanly(client.post("/search", json={"intersects": far}))
    _fails_cleanly(client.get("/products", params={"search-after": "\u00b2"}))
    _fails_cleanly(client.get("/products", params={"search-after": "\u0661\u0662"}))
    _fails_cleanly(client.get("/search", params={"bbox": "0,0,1,1", "body": "\u00b2"}))
    _fails_cleanly(client.post("/files/" + "f" * 64, content=b"{}", headers={"content-type": "text/plain"}), 405)
    _fails_cleanly(client.post("/nosuch", content=b"x"), 404)


def test_a_search_that_runs_too_long_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from lunarchive.catalog import sqlite_browse
    from lunarchive.errors import InvalidQuery

    monkeypatch.setattr(sqlite_browse, "QUERY_SECONDS", 0.2)
    conn = sqlite3.connect(":memory:")
    with pytest.raises(InvalidQuery, match="ran longer than"):
        sqlite_browse._query(conn, "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"
                             " SELECT count(*) FROM r", [])
    assert conn.execute("SELECT 1").fetchone() == (1,)  # the handler is gone afterwards


def test_an_empty_post_body_and_a_valid_flag_that_is_no_boolean(client: httpx.Client) -> None:
    empty = client.post("/search", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 200, empty.text
    assert empty.json()["numberReturned"] == client.post("/search", json={}).json()["numberReturned"]
    _fails_cleanly(client.get("/products", params={"q": 'lunarchive:valid eq "maybe"'}))
    assert client.get("/products", params={"q": 'lunarchive:valid eq "true"', "limit": 0}).status_code == 200
