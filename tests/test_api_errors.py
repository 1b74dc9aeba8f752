"""One JSON error shape for every error (validation, unknown routes, bad ids, bad filters), never a 500
for bad input, and a complete OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from lunarchive.api.errors import STATUS, status_for
from lunarchive.errors import CatalogError, InvalidQuery, NotFound

from .test_api_fixtures import error_shape

pytest_plugins = ["tests.test_api_fixtures"]

BAD = [
    ("GET", "/search?bbox=1,2,3", 400), ("GET", "/search?bbox=0,10,5,-10", 400), ("GET", "/search?bbox=a,b,c,d", 400),
    ("GET", "/search?bbox=0,0,1,1&intersects={}", 400), ("GET", "/search?datetime=yesterday", 400),
    ("GET", "/search?datetime=2020-01-02T00:00:00Z/2020-01-01T00:00:00Z", 400), ("GET", "/search?datetime=../..", 400),
    ("GET", "/search?token=garbage!", 400), ("GET", "/search?token=eyJzIjoieCJ9", 400),
    ("GET", "/search?limit=0", 400), ("GET", "/search?limit=lots", 400), ("GET", "/search?sortby=colour", 400),
    ("GET", "/search?filter=nonsense%20%3D%201", 400), ("GET", "/search?filter=title%20%3D", 400),
    ("GET", "/search?filter={}&filter-lang=cql2-json", 400), ("GET", "/search?filter-lang=xml&filter=a", 400),
    ("GET", "/search?intersects=notjson", 400), ("GET", '/search?intersects={"type":"Polygon"}', 400),
    ("GET", "/search?bbox=0,0,1,1&body=vulcan", 400), ("GET", "/search?bbox=0,0,1,1&body=301", 200),
    ("POST", "/search", 400), ("GET", "/nowhere", 404), ("DELETE", "/search", 405),
    ("GET", "/collections/urn:nasa:pds:nothing", 404), ("GET", "/collections/x/items", 404),
    ("GET", "/collections/urn:lunarchive:pds3/items/urn:x::1.0", 404),
    ("GET", "/collections/urn:lunarchive:pds3/items/bad::id::x", 404),
    ("GET", "/products/urn:nasa:pds:nothing::1.0", 404), ("GET", "/products/bad::x", 400),
    ("GET", "/products/urn:nasa:pds:nothing/all", 404), ("GET", "/products/urn:nasa:pds:nothing/members", 404),
    ("GET", "/products?q=title%20zz%20%22a%22", 400), ("GET", "/products?q=(", 400),
    ("GET", "/products?sort=colour", 400), ("GET", "/products?search-after=a&sort=lidvid", 400),
    ("GET", "/products?start=-1", 400), ("GET", "/products?limit=100000", 400),
    ("GET", "/products?bbox=0,0,1", 400), ("GET", "/products/urn:nasa:pds:nothing::1.0/archive", 404),
    ("GET", "/files/abc", 400), ("GET", "/files/" + "f" * 64, 404),
]


@pytest.mark.parametrize("method, url, status", BAD)
def test_errors_have_one_shape(client: httpx.Client, method: str, url: str, status: int) -> None:
    r = client.request(method, url, content=b"{not json" if method == "POST" else None,
                       headers={"content-type": "application/json"} if method == "POST" else None)
    assert r.status_code == status, r.text
    if status >= 400:
        assert error_shape(r.json()), r.text


def test_validation_error_of_a_post_body(client: httpx.Client) -> None:
    r = client.post("/search", json={"limit": "many", "bbox": [1, 2]})
    assert r.status_code == 400 and error_shape(r.json()) and "limit" in r.json()["description"]


def test_status_table() -> None:
    assert status_for(InvalidQuery("x")) == 400 and status_for(NotFound("x")) == 404
    assert status_for(CatalogError("x")) == 503
    assert STATUS[-1][1] == 500


def test_openapi_is_served_and_complete(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path in ("/", "/conformance", "/collections", "/collections/{collection_id}",
                 "/collections/{collection_id}/items", "/collections/{collection_id}/items/{item_id}",
                 "/search", "/queryables", "/products", "/products/{identifier}", "/products/{identifier}/latest",
                 "/products/{identifier}/all", "/products/{identifier}/members", "/products/{identifier}/member-of",
                 "/products/{identifier}/label", "/products/{identifier}/archive", "/files/{sha256}",
                 "/products/{identifier}/files/{name}"):
        assert path in paths, path
    for path, ops in paths.items():
        for method, op in ops.items():
            responses = op["responses"]
            assert "200" in responses and "404" in responses and "422" not in responses, (path, method)
            assert op.get("summary") and op.get("operationId"), (path, method)
    assert set(paths["/search"]) == {"get", "post"}
    assert "ErrorBody" in doc["components"]["schemas"]
