"""PDS Search API routes over real corpus data: identifiers with ':' raw or encoded, latest/all versions,
members (Primary and Secondary), member-of, the original label bytes, q/keywords/fields/sort/start/search-after
and the geometry filter."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from lunarchive.config import open_archive
from lunarchive.ingest import ingest

from .conftest import corpus_file
from .test_api_fixtures import app_client

pytest_plugins = ["tests.test_api_fixtures"]

BUNDLE = "urn:nasa:pds:insight_rad::2.1"
RAW = "urn:nasa:pds:insight_rad:data_raw"
KAGUYA_TC = "urn:lunarchive:pds3:sln-l-tc-3-s-level2b0-v1.0:tc1s2b0_01_06691s820e0465::1.0"


@pytest.mark.parametrize("encode", [False, True])
def test_product_by_lidvid_raw_or_encoded(client: httpx.Client, encode: bool) -> None:
    ident = quote(BUNDLE, safe="") if encode else BUNDLE
    r = client.get(f"/products/{ident}")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["id"] == BUNDLE and p["type"] == "Product_Bundle"
    assert p["properties"]["lidvid"] == [BUNDLE]
    assert p["metadata"]["label_url"].endswith(f"/products/{BUNDLE}/label")


def test_lid_gives_latest_and_all_gives_versions(client: httpx.Client) -> None:
    assert client.get(f"/products/{RAW}").json()["id"] == f"{RAW}::8.0"
    assert client.get(f"/products/{RAW}::8.0/latest").json()["id"] == f"{RAW}::8.0"
    every = client.get(f"/products/{RAW}/all").json()
    assert [d["id"] for d in every["data"]] == [f"{RAW}::8.0"] and every["summary"]["hits"] == 1


def test_members_with_primary_and_secondary(client: httpx.Client) -> None:
    r = client.get(f"/products/{BUNDLE}/members").json()
    assert r["summary"]["hits"] == 4
    statuses = {d["id"]: d["member_status"] for d in r["data"]}
    assert statuses[f"{RAW}::8.0"] == "Primary"
    secondary = [u for u in r["summary"]["unresolved"] if u["member_status"] == "Secondary"]
    assert secondary and secondary[0]["ref"] == "urn:nasa:pds:insight_documents:document_hp3rad"
    products = client.get(f"/products/{RAW}/members?limit=3&start=2").json()
    assert products["summary"]["hits"] == 7 and len(products["data"]) == 3
    assert client.get(f"/products/{RAW}/members?limit=0").json()["data"] == []


def test_member_of_walks_up(client: httpx.Client) -> None:
    product = "urn:nasa:pds:insight_rad:data_raw:hp3_rad_raw_00004_20181130_085325::3.1"
    up = client.get(f"/products/{product}/member-of").json()
    assert [d["id"] for d in up["data"]] == [f"{RAW}::8.0"]
    assert [d["id"] for d in client.get(f"/products/{RAW}/member-of").json()["data"]] == [BUNDLE]


def test_label_is_the_original_bytes(client: httpx.Client) -> None:
    path = corpus_file("pds4/non_lunar/mars_insight_rad_bundle/bundle_insight_rad.xml")
    r = client.get(f"/products/{BUNDLE}/label")
    assert r.status_code == 200 and r.content == path.read_bytes()
    assert r.headers["content-type"].startswith("application/xml")
    assert r.headers["etag"] == f'"{hashlib.sha256(path.read_bytes()).hexdigest()}"'
    pds3 = client.get(f"/products/{quote(KAGUYA_TC, safe='')}/label")
    assert pds3.content == corpus_file("pds3/kaguya_tc/TC1S2B0_01_06691S820E0465.lbl").read_bytes()


def test_q_keywords_fields_sort_and_paging(client: httpx.Client) -> None:
    q = client.get("/products", params={"q": 'title like "*insight*" and vid ge "7.0"', "limit": 50}).json()
    assert q["summary"]["hits"] == len(q["data"]) == 3
    assert all(float(d["properties"]["vid"][0]) >= 7.0 for d in q["data"])
    kw = client.get("/products", params={"keywords": "kaguya", "limit": 50}).json()
    assert kw["data"] and all("kaguya" in (d["title"] + d["id"]).lower() for d in kw["data"])
    f = client.get("/products", params={"fields": "lidvid,pds:Time_Coordinates.pds:start_date_time",
                                        "limit": 3}).json()["data"]
    assert all(set(d["properties"]) <= {"lidvid", "pds:Time_Coordinates.pds:start_date_time"} for d in f)
    ordered = client.get("/products", params={"sort": "lidvid", "limit": 500}).json()
    all_ids = [d["id"] for d in ordered["data"]]
    assert all_ids == sorted(all_ids, key=lambda s: s.rpartition("::")[0])
    walked, after = [], None
    for _ in range(100):
        params: dict[str, str | int | list[str]] = {"sort": "lidvid", "limit": 9}
        if after:
            params["search-after"] = after
        page = client.get("/products", params=params).json()
        walked += [d["id"] for d in page["data"]]
        if len(page["data"]) < 9:
            break
        after = page["summary"]["search_after"]
    assert walked == all_ids
    by_start = client.get("/products", params={"sort": "lidvid", "limit": 9, "start": 9}).json()
    assert [d["id"] for d in by_start["data"]] == all_ids[9:18]


def test_geometry_filter_the_pds_api_lacks(client: httpx.Client) -> None:
    hit = client.get("/products", params={"bbox": "44,-82,46,-81.5", "q": 'lunarchive:label_format eq "pds3"'})
    assert [d["id"] for d in hit.json()["data"]] == [KAGUYA_TC]
    miss = client.get("/products", params={"bbox": "44,-82,46,-81.5", "body": "mars"}).json()
    assert miss["data"] == []


def test_archive_of_a_bundle_keeps_layout_and_manifest(client: httpx.Client, tmp_path: Path) -> None:
    import io
    import zipfile

    r = client.get(f"/products/{BUNDLE}/archive")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = zf.namelist()
    top = "mars_insight_rad_bundle/"
    assert top + "bundle_insight_rad.xml" in names
    assert top + "data_raw/collection_data_rad_raw.csv" in names
    assert top + "data_raw/hp3_rad_raw_00004_20181130_085325.tab" in names
    src = corpus_file("pds4/non_lunar/mars_insight_rad_bundle")
    manifest = zf.read(top + "SHA256SUMS").decode().splitlines()
    assert len(manifest) == len(names) - 2
    for line in manifest:
        digest, rel = line.split("  ", 1)
        data = zf.read(top + rel)
        assert hashlib.sha256(data).hexdigest() == digest
        assert data == (src / rel).read_bytes()
    md5: dict[str, str] = {}
    for line in zf.read(top + "checksum_manifest.txt").decode().splitlines():
        digest, rel = line.split("  ", 1)
        md5[rel] = digest
    assert md5["readme.txt"] == hashlib.md5((src / "readme.txt").read_bytes()).hexdigest()
    assert zf.testzip() is None


def test_archive_of_one_product(client: httpx.Client) -> None:
    import io
    import zipfile

    r = client.get(f"/products/{KAGUYA_TC}/archive")
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert names == ["kaguya_tc/TC1S2B0_01_06691S820E0465.lbl", "kaguya_tc/checksum_manifest.txt",
                     "kaguya_tc/SHA256SUMS"]


def test_versions_of_a_spice_bundle(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with open_archive(data, fsync=False) as archive:
        ingest(archive, [corpus_file("pds4/ladee/ladee_spice")])
    with app_client(data) as c:
        ms = c.get("/products/urn:nasa:pds:ladee.spice:spice_kernels/members?limit=100").json()
        assert ms["summary"]["hits"] == len(ms["data"]) == 14
        assert {d["member_status"] for d in ms["data"]} == {"Primary"}
