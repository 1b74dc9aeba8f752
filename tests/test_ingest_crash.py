"""An ingest killed with SIGKILL mid-way leaves the catalogue with none or all of its batch, blobs intact."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from .conftest import EXAMPLES


def _ingest_cmd(tree: Path, data_dir: Path, workers: int = 0) -> list[str]:
    return [sys.executable, "-m", "lunarchive.cli", "ingest", str(tree), "--data-dir", str(data_dir), "--json",
            "--workers", str(workers)]


def _state(data_dir: Path) -> tuple[int, int]:
    """(products, batches) in the catalogue, and check every blob it names is whole."""
    db_path = data_dir / "catalog.sqlite"
    if not db_path.exists():
        return 0, 0
    db = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "products" not in tables:
            return 0, 0
        products = db.execute("SELECT count(*) FROM products").fetchone()[0]
        batches = db.execute("SELECT count(*) FROM batches").fetchone()[0]
        for (sha,) in db.execute("SELECT DISTINCT sha256 FROM files WHERE sha256 IS NOT NULL"):
            blob = data_dir / "blobs" / sha[:2] / sha[2:4] / sha
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha
        return products, batches
    finally:
        db.close()


@pytest.mark.parametrize("workers", [0, 2])
def test_sigkill_mid_ingest_leaves_none_or_all(tmp_path: Path, workers: int) -> None:
    tree = EXAMPLES
    ref_dir = tmp_path / "reference"
    done = subprocess.run(_ingest_cmd(tree, ref_dir), capture_output=True, timeout=300, check=True)
    assert done.returncode == 0
    full, _ = _state(ref_dir)
    assert full > 50

    killed_mid_way = 0
    for i, extra in enumerate((0.0, 0.02, 0.1, 0.3, 0.6)):
        data_dir = tmp_path / f"run{i}"
        proc = subprocess.Popen(_ingest_cmd(tree, data_dir, workers), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # Kill once the batch has started writing (its first blob exists), plus a little more each run.
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if any((data_dir / "blobs").glob("??/??/*")):
                break
            time.sleep(0.005)
        time.sleep(extra)
        children = []
        if proc.poll() is None:
            try:
                children = psutil.Process(proc.pid).children()
            except psutil.NoSuchProcess:
                pass
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, "worker processes outlived the killed ingest"
        products, batches = _state(data_dir)
        assert (products, batches) in {(0, 0), (full, 1)}, f"partial batch after kill at +{extra}s"
        blobs = list((data_dir / "blobs").glob("??/??/*")) if data_dir.exists() else []
        if proc.returncode == -signal.SIGKILL and products == 0 and blobs:
            killed_mid_way += 1
            # A later ingest into the same directory completes the batch.
            subprocess.run(_ingest_cmd(tree, data_dir, workers), capture_output=True, timeout=300, check=True)
            assert _state(data_dir) == (full, 1)
    assert killed_mid_way >= 1, "no run was killed while it was writing; the test proved nothing"
