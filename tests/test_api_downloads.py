"""Downloads: ETag = sha256, Digest/Repr-Digest, Range (206 / 416), If-None-Match, HEAD and a UTF-8
Content-Disposition, for /files/{sha256} and a product's asset links."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

import httpx
import pytest

from lunarchive.api.downloads import content_disposition, parse_range
from lunarchive.api.errors import RangeNotSatisfiable

from .conftest import corpus_file
from .test_api_fixtures import UTF8_LIDVID, UTF8_NAME, error_shape

pytest_plugins = ["tests.test_api_fixtures"]

TAB = "pds4/apollo/sws/b.tab"


@pytest.fixture(scope="module")
def tab() -> tuple[bytes, str]:
    data = corpus_file(TAB).read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def test_whole_file_by_digest(client: httpx.Client, tab: tuple[bytes, str]) -> None:
    data, sha = tab
    r = client.get(f"/files/{sha}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["etag"] == f'"{sha}"'
    b64 = base64.b64encode(bytes.fromhex(sha)).decode()
    assert r.headers["digest"] == f"sha-256={b64}" and r.headers["repr-digest"] == f"sha-256=:{b64}:"
    assert r.headers["accept-ranges"] == "bytes" and int(r.headers["content-length"]) == len(data)


def test_head_and_conditional(client: httpx.Client, tab: tuple[bytes, str]) -> None:
    data, sha = tab
    h = client.head(f"/files/{sha}")
    assert h.status_code == 200 and h.content == b"" and int(h.headers["content-length"]) == len(data)
    n = client.get(f"/files/{sha}", headers={"If-None-Match": f'"{sha}"'})
    assert n.status_code == 304 and n.content == b""


@pytest.mark.parametrize("header, start, end", [("bytes=0-9", 0, 9), ("bytes=10-", 10, None), ("bytes=-7", -7, None),
                                                ("bytes=5-999999999", 5, None)])
def test_ranges(client: httpx.Client, tab: tuple[bytes, str], header: str, start: int, end: int | None) -> None:
    data, sha = tab
    r = client.get(f"/files/{sha}", headers={"Range": header})
    want = data[start:] if end is None else data[start:end + 1]
    assert r.status_code == 206 and r.content == want
    first = start % len(data)
    assert r.headers["content-range"] == f"bytes {first}-{first + len(want) - 1}/{len(data)}"
    assert r.headers["etag"] == f'"{sha}"'


@pytest.mark.parametrize("header", ["bytes=999999-", "bytes=5-2", "bytes=-0", "bytes=abc", "bytes=-"])
def test_bad_ranges_are_416(client: httpx.Client, tab: tuple[bytes, str], header: str) -> None:
    data, sha = tab
    r = client.get(f"/files/{sha}", headers={"Range": header})
    assert r.status_code == 416 and error_shape(r.json())
    assert r.headers["content-range"] == f"bytes */{len(data)}"


def test_if_range_mismatch_sends_everything(client: httpx.Client, tab: tuple[bytes, str]) -> None:
    data, sha = tab
    r = client.get(f"/files/{sha}", headers={"Range": "bytes=0-3", "If-Range": '"other"'})
    assert r.status_code == 200 and r.content == data


def test_utf8_name_in_content_disposition(client: httpx.Client) -> None:
    r = client.get(f"/products/{UTF8_LIDVID}/files/{quote(UTF8_NAME)}")
    assert r.status_code == 200
    cd = r.headers["content-disposition"]
    assert "filename*=UTF-8''%C3%A4f.tab" in cd and 'filename="_f.tab"' in cd
    assert content_disposition("äf.fits").endswith("filename*=UTF-8''%C3%A4f.fits")
    item = client.get(f"/search?ids={UTF8_LIDVID}").json()["features"][0]
    href = item["assets"][UTF8_NAME]["href"].replace("http://testserver", "")
    assert client.get(href).content == r.content


def test_unknown_or_malformed_digests(client: httpx.Client) -> None:
    assert client.get("/files/" + "0" * 64).status_code == 404
    bad = client.get("/files/not-a-digest")
    assert bad.status_code == 400 and error_shape(bad.json())
    assert client.get(f"/products/{UTF8_LIDVID}/files/nothing.tab").status_code == 404


def test_parse_range_unit() -> None:
    assert parse_range(None, 10) is None and parse_range("items=1-2", 10) is None
    assert parse_range("bytes=0-1,4-5", 10) is None  # several ranges: the whole file
    assert parse_range("bytes=2-", 10) == (2, 9)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-0", 0)
