"""Against a real uvicorn server on loopback (started and stopped by a fixture): pystac-client as a real
client (bbox + datetime search with paging), streamed downloads and archives over TCP, and schemathesis
over the served OpenAPI document with no 5xx."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from .conftest import corpus_file
from .test_api_fixtures import LiveServer

pytest_plugins = ["tests.test_api_fixtures"]

KAGUYA_TC = "urn:lunarchive:pds3:sln-l-tc-3-s-level2b0-v1.0:tc1s2b0_01_06691s820e0465::1.0"


def test_pystac_client_bbox_datetime_search_with_paging(live: LiveServer, stac_validate: Any) -> None:
    from pystac_client import Client

    api = Client.open(f"{live.url}/")
    assert api.conforms_to("ITEM_SEARCH")
    box = api.search(bbox=[-180, -90, 180, 90], datetime="1990-01-01/2010-12-31", limit=2, max_items=50)
    items = list(box.items())
    pages = list(api.search(bbox=[-180, -90, 180, 90], datetime="1990-01-01/2010-12-31", limit=2).pages())
    assert len(pages) >= 3 and all(len(p.items) <= 2 for p in pages)
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)) == sum(len(p.items) for p in pages)
    assert KAGUYA_TC in ids and "urn:nasa:pds:clementine:data:basemap_nearside::1.0" in ids
    for item in items:
        assert item.datetime or item.properties.get("start_datetime")
        stac_validate(item.to_dict())
    south = list(api.search(bbox=[40, -83, 50, -81], datetime="2009-04-01/2009-04-30").items())
    assert [i.id for i in south] == [KAGUYA_TC]
    post = list(api.search(bbox=[40, -83, 50, -81], datetime="2009-04-01/2009-04-30", method="POST").items())
    assert [i.id for i in post] == [KAGUYA_TC]
    collection = api.get_collection("urn:nasa:pds:insight_rad:data_raw")
    assert collection is not None
    assert len(list(collection.get_items())) == 7


def test_download_and_archive_over_tcp(live: LiveServer) -> None:
    data = corpus_file("pds4/apollo/sws/b.tab").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with httpx.Client(base_url=live.url) as c:
        r = c.get(f"/files/{sha}", headers={"Range": "bytes=3-"})
        assert r.status_code == 206 and r.content == data[3:]
        with c.stream("GET", "/products/urn:nasa:pds:insight_rad::2.1/archive") as s:
            assert s.headers.get("transfer-encoding") == "chunked"
            body = b"".join(s.iter_bytes())
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_errors(live: LiveServer, mode: str) -> None:
    """Requests generated from the served OpenAPI document (valid ones, then invalid ones) for every
    operation: never a 5xx. Bounded: a dozen examples per operation and mode."""
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    generation = schemathesis.GenerationMode.POSITIVE if mode == "positive" else schemathesis.GenerationMode.NEGATIVE
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 18
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        def run(case: Any) -> None:
            response = case.call(timeout=30)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        try:
            run()
        except Unsatisfiable:  # no parameter to make invalid (the landing page, /conformance...)
            assert mode == "negative", operation.label
    assert not failures, "\n".join(failures[:10])
