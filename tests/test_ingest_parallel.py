"""Ingest in worker processes stores exactly what an ingest in one process stores."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from lunarchive.config import open_archive
from lunarchive.errors import IngestError
from lunarchive.formats import inventory
from lunarchive.ingest import ingest
from lunarchive.ingest_work import MSG

from .conftest import EXAMPLES, LOCAL_CORPUS

_DUMPS = {
    "products": "SELECT id, lidvid, vid_key, product_class, title, start_utc, stop_utc, targets, bbox_west,"
                " bbox_south, bbox_east, bbox_north, extra, discipline, label_sha256, source_path FROM products"
                " ORDER BY id",
    "files": "SELECT product_id, name, sha256, md5, size, status FROM files ORDER BY product_id, id",
    "refs": "SELECT * FROM refs ORDER BY product_id, rowid",
    "members": "SELECT * FROM members ORDER BY product_id, rowid",
    "terms": "SELECT * FROM product_terms ORDER BY product_id, kind, value",
    "findings": "SELECT product_id, lidvid, path, message_id, severity, message, line FROM findings"
                " ORDER BY product_id, path, message_id, message",
    "footprints": "SELECT product_id, source, geojson FROM footprints ORDER BY product_id",
    "rtree": "SELECT product_id, x0, x1, y0, y1, lon0, lon1, lat0, lat1, t0, t1 FROM footprint_rtree"
             " ORDER BY product_id, x0, y0",
    "fts": "SELECT rowid, title, ids FROM products_fts ORDER BY rowid",
}


def _dump(data_dir: Path) -> dict[str, list[Any]]:
    db = sqlite3.connect(data_dir / "catalog.sqlite")
    try:
        return {name: db.execute(sql).fetchall() for name, sql in _DUMPS.items()}
    finally:
        db.close()


def test_workers_store_what_one_process_stores(tmp_path: Path) -> None:
    trees = [EXAMPLES, LOCAL_CORPUS / "pds4", LOCAL_CORPUS / "pds3"]
    reports = {}
    for workers in (0, 2):
        with open_archive(tmp_path / f"w{workers}", fsync=False) as archive:
            reports[workers] = ingest(archive, trees, workers=workers)
    serial, parallel = reports[0], reports[2]
    assert serial.workers == 0 and parallel.workers == 2
    assert serial.counts() == parallel.counts()
    assert serial.added > 100 and serial.failed > 0  # the invalid/ cases are in the local corpus copy
    assert [f.to_dict() for f in serial.findings] == [f.to_dict() for f in parallel.findings]
    one, two = _dump(tmp_path / "w0"), _dump(tmp_path / "w2")
    for name in _DUMPS:
        assert one[name] == two[name], name
    assert one["findings"] and one["footprints"] and one["members"]


def test_reingest_with_workers_adds_nothing(tmp_path: Path) -> None:
    with open_archive(tmp_path / "d", fsync=False) as archive:
        first = ingest(archive, [EXAMPLES], workers=2)
        again = ingest(archive, [EXAMPLES], workers=2)
    assert first.added > 50
    catalogued = first.added + first.new_versions + first.unchanged
    assert (again.added, again.new_versions, again.unchanged) == (0, 0, catalogued)
    assert again.failed == first.failed


def test_a_dead_worker_stops_the_ingest_with_a_clear_error(tmp_path: Path) -> None:
    """A worker killed mid-way (the OOM killer, an operator) must not leave the ingest waiting forever."""
    killer_done = threading.Event()

    def kill_a_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            children = psutil.Process().children()
            if children:
                children[0].send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
        killer_done.set()

    data_dir = tmp_path / "d"
    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    with open_archive(data_dir, fsync=False) as archive, pytest.raises(IngestError, match="worker process died"):
        ingest(archive, [EXAMPLES, LOCAL_CORPUS / "pds4"], workers=2)
    killer.join()
    assert killer_done.is_set()
    db = sqlite3.connect(data_dir / "catalog.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM products").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM batches").fetchone()[0] == 0
    finally:
        db.close()
    assert not psutil.Process().children(), "worker processes left behind"


def test_ingest_without_rules_catalogues_the_same_products(tmp_path: Path) -> None:
    """``validate=False`` (copies of data validated elsewhere; the benchmark's cost of the rules) stores the
    same products and files, and of the findings only ingest's own: unreadable labels, missing files."""
    trees = [EXAMPLES, LOCAL_CORPUS / "pds4"]
    with open_archive(tmp_path / "rules", fsync=False) as archive:
        full = ingest(archive, trees, workers=2)
    with open_archive(tmp_path / "bare", fsync=False) as archive:
        bare = ingest(archive, trees, workers=2, validate=False)
    assert bare.counts() == full.counts()
    with_rules, without = _dump(tmp_path / "rules"), _dump(tmp_path / "bare")
    for name in ("products", "files", "refs", "members", "terms", "footprints"):
        assert with_rules[name] == without[name], name
    ingest_own = set(MSG.values()) | {inventory.STATUS, inventory.FIELDS, inventory.VALUE, inventory.ENCODING,
                                      inventory.DEFINITION, inventory.MISSING, inventory.UNRESOLVABLE,
                                      inventory.REQUIRED, inventory.CRLF}
    kinds = {row[3] for row in without["findings"]}
    assert MSG["missing_file"] in kinds and MSG["invalid_label"] in kinds
    assert kinds <= ingest_own, kinds - ingest_own
    assert set(without["findings"]) <= set(with_rules["findings"])
    assert len(with_rules["findings"]) > len(without["findings"])
