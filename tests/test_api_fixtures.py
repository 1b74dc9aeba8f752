"""Shared fixtures of the API suites (no tests here): an archive of real corpus data, clients, a live server,
and pystac's validator pointed at the STAC schemas on disk (pystac's own 1.1.0 core copies plus the vendored
extension schemas in tests/data/stac_schemas), with network reads refused so validation stays offline."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest

from lunarchive.api import create_app
from lunarchive.config import open_archive
from lunarchive.ingest import ingest

from .conftest import REPO, corpus_file

SCHEMAS = REPO / "tests" / "data" / "stac_schemas"
UTF8_NAME = "äf.tab"
UTF8_LIDVID = "urn:nasa:pds:a17sws_raw_arcsav:data:utf8_named_copy::1.0"


def _utf8_copy(into: Path) -> Path:
    """A real label (Apollo 12 SWS table) copied with its data file renamed to a non-ASCII name."""
    label = corpus_file("pds4/apollo/sws/a12_sws_1975124_l1_arcsav_yz_tab.xml")
    into.mkdir(parents=True, exist_ok=True)
    text = label.read_text(encoding="utf-8")
    text = text.replace("<file_name>b.tab</file_name>", f"<file_name>{UTF8_NAME}</file_name>")
    text = text.replace("a12_sws_1975124_l1_arcsav_yz_tab</logical_identifier>",
                        "utf8_named_copy</logical_identifier>")
    (into / "utf8_copy.xml").write_text(text, encoding="utf-8")
    shutil.copyfile(label.parent / "b.tab", into / UTF8_NAME)
    return into


def build_archive(root: Path) -> Path:
    """Ingest the demo corpus (PDS4 bundles, loose PDS4 products, PDS3 labels) into ``root``."""
    data = root / "data"
    sources = [corpus_file("pds4"), corpus_file("pds3"), _utf8_copy(root / "extra")]
    with open_archive(data, fsync=False) as archive:
        ingest(archive, sources)
    return data


@pytest.fixture(scope="session")
def api_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("api"))


class SyncASGI(httpx.BaseTransport):
    """httpx's ASGITransport driven from synchronous tests (an event loop in a portal thread)."""

    def __init__(self, app: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            inner = httpx.Request(request.method, request.url, headers=request.headers, content=content)
            response = await self._asgi.handle_async_request(inner)
            body = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers.raw, body

        status, headers, body = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


def app_client(data: Path) -> httpx.Client:
    """An httpx client calling the ASGI app in process (links say http://testserver)."""
    return httpx.Client(transport=SyncASGI(create_app(data)), base_url="http://testserver")


@pytest.fixture(scope="session")
def client(api_data: Path) -> Iterator[httpx.Client]:
    with app_client(api_data) as c:
        yield c


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread of this process."""

    def __init__(self, data: Path) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(create_app(data), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture(scope="session")
def live(api_data: Path) -> Iterator[LiveServer]:
    with LiveServer(api_data) as server:
        yield server


@pytest.fixture(scope="session")
def stac_validate() -> Iterator[Any]:
    """``validate(doc)`` → pystac's JSON-schema validation of a STAC dict, offline."""
    import pystac
    import pystac.validation
    from pystac.validation.stac_validator import JsonSchemaSTACValidator

    class Offline(pystac.StacIO):
        def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
            raise AssertionError(f"validation tried to fetch {source} (schemas must be local)")

        def write_text(self, dest: Any, txt: str, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("not used")

    validator = JsonSchemaSTACValidator()
    for path in SCHEMAS.glob("*/*/schema.json"):
        name, version = path.parent.parent.name, path.parent.name
        validator.schema_cache[f"https://stac-extensions.github.io/{name}/{version}/schema.json"] = json.loads(
            path.read_text(encoding="utf-8"))
    previous_io = pystac.StacIO._default_io
    pystac.StacIO.set_default(Offline)
    pystac.validation.set_validator(validator)

    def validate(doc: dict[str, Any]) -> list[Any]:
        return pystac.validation.validate_dict(doc)

    yield validate
    pystac.validation.set_validator(JsonSchemaSTACValidator())
    pystac.StacIO._default_io = previous_io


def error_shape(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"code", "description"} and all(
        isinstance(v, str) and v for v in body.values())
