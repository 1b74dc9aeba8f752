"""STAC API over real corpus data, through httpx on the ASGI app: landing page, conformance, collections,
items, item search (GET/POST, bbox, intersects, datetime, ids, collections, sortby, CQL2, paging), with every
STAC document fetched validated by pystac against the STAC JSON schemas, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from lunarchive.config import open_archive
from lunarchive.ingest import ingest

from .conftest import corpus_file
from .test_api_fixtures import app_client

pytest_plugins = ["tests.test_api_fixtures"]

INSIGHT_RAW = "urn:nasa:pds:insight_rad:data_raw"
KAGUYA_TC = "urn:lunarchive:pds3:sln-l-tc-3-s-level2b0-v1.0:tc1s2b0_01_06691s820e0465::1.0"


def ids(fc: dict[str, Any]) -> list[str]:
    return [f["id"] for f in fc["features"]]


def follow(client: httpx.Client, url: str) -> list[str]:
    """Every item id reached by following ``next`` links from ``url``."""
    seen: list[str] = []
    for _ in range(100):
        r = client.get(url)
        assert r.status_code == 200, r.text
        seen += ids(r.json())
        nxt = [link for link in r.json()["links"] if link["rel"] == "next"]
        if not nxt:
            return seen
        url = nxt[0]["href"]
    raise AssertionError("paging did not end")


def test_landing_conformance_and_collections_validate(client: httpx.Client, stac_validate: Any) -> None:
    landing = client.get("/").json()
    assert stac_validate(landing)
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "root", "conformance", "data", "search", "service-desc", "child"} <= rels
    conformance = client.get("/conformance").json()["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/item-search" in conformance
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json" in conformance
    cols = client.get("/collections").json()["collections"]
    by_id = {c["id"]: c for c in cols}
    # one per PDS4 bundle and collection, LID-prefix groups, and one per other input kind
    assert by_id["urn:nasa:pds:insight_rad"]["pds:kind"] == "bundle"
    assert by_id[INSIGHT_RAW]["pds:kind"] == "collection"
    assert by_id["urn:lunarchive:pds3"]["pds:kind"] == "kind"
    assert by_id["urn:nasa:pds:clementine:data"]["pds:kind"] == "derived"
    children = [link["href"] for link in by_id["urn:nasa:pds:insight_rad"]["links"] if link["rel"] == "child"]
    assert any(h.endswith(INSIGHT_RAW) for h in children)
    for c in cols:
        assert stac_validate(c)
        one = client.get(f"/collections/{quote(c['id'], safe=':')}")
        assert one.status_code == 200 and one.json()["id"] == c["id"]


def test_items_of_a_collection_are_its_inventory_and_validate(client: httpx.Client, stac_validate: Any) -> None:
    fc = client.get(f"/collections/{INSIGHT_RAW}/items?limit=100").json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 7
    for item in fc["features"]:
        assert item["collection"] == INSIGHT_RAW
        assert stac_validate(item)
        again = client.get(f"/collections/{INSIGHT_RAW}/items/{item['id']}")
        assert again.status_code == 200 and again.json() == item
    # the same item under another collection is not there
    assert client.get(f"/collections/urn:lunarchive:pds3/items/{fc['features'][0]['id']}").status_code == 404


def test_item_carries_ssys_crs_validation_and_file_assets(client: httpx.Client, stac_validate: Any) -> None:
    item = client.get(f"/collections/urn:lunarchive:pds3/items/{KAGUYA_TC}").json()
    assert stac_validate(item)
    p = item["properties"]
    assert p["ssys:targets"] == ["MOON"] and p["ssys:target_class"] == "satellite"
    assert p["proj:code"] == "IAU_2015:30100" and p["pds:lidvid"] == KAGUYA_TC
    assert p["pds:valid"] is False and p["pds:errors"] >= 1  # its image is not in the corpus
    assert item["geometry"]["type"] == "Polygon" and item["bbox"][1] < -81
    label = item["assets"]["label"]
    assert label["file:checksum"].startswith("1220") and len(label["file:checksum"]) == 68
    body = client.get(label["href"].replace("http://testserver", "")).content
    assert len(body) == label["file:size"]
    raw = client.get(f"/collections/{INSIGHT_RAW}/items?limit=1").json()["features"][0]
    data = [a for k, a in raw["assets"].items() if k != "label"]
    assert data and all(a["roles"] == ["data"] and a["file:size"] > 0 for a in data)
    got = client.get(data[0]["href"].replace("http://testserver", ""))
    assert got.status_code == 200 and "1220" + got.headers["etag"].strip('"') == data[0]["file:checksum"]


def test_search_bbox_datetime_get_and_post_agree(client: httpx.Client, stac_validate: Any) -> None:
    params = {"bbox": "40,-83,50,-81", "datetime": "2009-01-01T00:00:00Z/2009-12-31T23:59:59Z"}
    get = client.get("/search", params=params).json()
    assert ids(get) == [KAGUYA_TC]
    post = client.post("/search", json={"bbox": [40, -83, 50, -81],
                                        "datetime": "2009-01-01T00:00:00Z/2009-12-31T23:59:59Z"}).json()
    assert ids(post) == ids(get)
    assert stac_validate(post["features"][0])
    # 0..360 longitudes and the antimeridian: Kaguya TC sits at 44..48°E
    assert KAGUYA_TC in ids(client.get("/search", params={"bbox": "40,-83,50,-81", "body": "MOON"}).json())
    assert KAGUYA_TC in ids(client.get("/search", params={"bbox": "350,-83,50,-81"}).json())
    assert ids(client.get("/search", params={"bbox": "40,-83,50,-81", "datetime": "2010-01-01T00:00:00Z/.."
                                             }).json()) == []
    # a Titan box never matches a Moon product
    assert ids(client.get("/search", params={"bbox": "40,-83,50,-81", "body": "titan"}).json()) == []


def test_search_intersects_ids_collections_and_filter(client: httpx.Client) -> None:
    poly = {"type": "Polygon", "coordinates": [[[44, -82], [46, -82], [46, -81.5], [44, -81.5], [44, -82]]]}
    when = "2009-01-01T00:00:00Z/2009-12-31T23:59:59Z"
    assert ids(client.post("/search", json={"intersects": poly, "datetime": when}).json()) == [KAGUYA_TC]
    assert ids(client.get("/search", params={"intersects": json.dumps(poly), "datetime": when}).json()) == [KAGUYA_TC]
    everywhere = ids(client.post("/search", json={"intersects": poly}).json())
    assert KAGUYA_TC in everywhere and "urn:nasa:pds:clementine:data:basemap_nearside::1.0" in everywhere
    assert ids(client.get("/search", params={"ids": KAGUYA_TC}).json()) == [KAGUYA_TC]
    raw = ids(client.get("/search", params={"collections": INSIGHT_RAW, "limit": 50}).json())
    assert len(raw) == 7
    text = client.get("/search", params={"filter": "ssys:targets = 'Mars' AND pds:vid >= '3.0'", "limit": 50})
    assert ids(text.json()) == ["urn:nasa:pds:insight_rad:data_raw:hp3_rad_raw_00004_20181130_085325::3.1"]
    cql_json = {"op": "and", "args": [{"op": "=", "args": [{"property": "collection"}, INSIGHT_RAW]},
                                      {"op": "like", "args": [{"property": "title"}, "%00004%"]}]}
    assert ids(client.post("/search", json={"filter": cql_json, "limit": 50}).json()) == ids(text.json())
    invalid = ids(client.get("/search", params={"filter": "pds:valid = false", "limit": 200}).json())
    valid = ids(client.get("/search", params={"filter": "pds:valid = true", "limit": 200}).json())
    assert invalid and valid and not set(invalid) & set(valid)
    q = client.get("/queryables").json()
    assert "ssys:targets" in q["properties"]


def test_sortby_and_paging_cover_every_item_once(client: httpx.Client) -> None:
    everything = follow(client, "/search?limit=200")
    paged = follow(client, "/search?limit=7")
    assert paged == everything and len(set(paged)) == len(paged) > 40
    for sortby in ("-datetime", "title", "+id", "end_datetime", "-created"):
        one = follow(client, f"/search?limit=200&sortby={sortby}")
        assert sorted(one) == sorted(everything)
        assert follow(client, f"/search?limit=6&sortby={sortby}") == one
    desc = client.get("/search", params={"sortby": "-datetime", "limit": 5}).json()["features"]
    starts = [f["properties"].get("start_datetime") or f["properties"]["datetime"] for f in desc]
    assert starts == sorted(starts, reverse=True)
    # POST paging: the next link carries the body with the token
    first = client.post("/search", json={"limit": 3, "sortby": [{"field": "id", "direction": "asc"}]}).json()
    nxt = [link for link in first["links"] if link["rel"] == "next"][0]
    assert nxt["method"] == "POST" and "token" in nxt["body"]
    second = client.post("/search", json=nxt["body"]).json()
    assert not set(ids(first)) & set(ids(second))
    assert ids(first) + ids(second) == sorted(ids(first) + ids(second))


def test_paging_stays_correct_while_products_are_ingested(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_archive(data, fsync=False) as archive:
        ingest(archive, [corpus_file("pds4/non_lunar/mars_insight_rad_bundle")])
    with app_client(data) as c:
        before = follow(c, "/search?limit=200&sortby=id")
        r = c.get("/search", params={"limit": 5, "sortby": "id"}).json()
        page1 = ids(r)
        token_link = [link for link in r["links"] if link["rel"] == "next"][0]["href"]
        with open_archive(data, fsync=False) as archive:  # new products, some sorting before the cursor
            ingest(archive, [corpus_file("pds4/apollo"), corpus_file("pds4/ladee/ladee_spice")])
        rest = follow(c, token_link)
        after = follow(c, "/search?limit=200&sortby=id")
    seen = page1 + rest
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(before) <= set(seen)  # nothing of what existed skipped
    expected_rest = [i for i in after if i > page1[-1].rpartition("::")[0]]
    assert [i for i in rest if i in expected_rest] == rest
    assert len(after) > len(before)
