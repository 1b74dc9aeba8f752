"""HTTP API speed with a real server (``lunarchive serve``) on loopback and a bounded async httpx load.

1. A catalogue of the sample data plus N synthetic products (default 1,000,000) bulk-inserted by SQL, each
   a copy of a real PDS3 product row (Kaguya TC, with its label, terms, file and footprint) moved to a random
   place on the Moon and a random time in 2000-2020.
2. Requests/second, p50 and p99 at 1, 8 and 32 concurrent clients for ``/search`` (bbox 20°×20° + a
   two-year datetime, limit 100) and for an item GET.
3. A 1 GB download's throughput against reading the same blob from disk in the same run (target ≥ 0.5×),
   and the archive route streaming a bundle holding that 1 GB file while the server's RSS is sampled
   (target: under 100 MB).

    python bench/bench_api.py [--products 1000000] [--requests 300] [--download-mb 1024] [--keep DIR]

Loopback only; every loop is bounded by a request count and a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from lunarchive.catalog.spatial import RTREE_INSERT, index_rows
from lunarchive.catalog.sqlite import vid_key
from lunarchive.config import open_archive
from lunarchive.footprint import Box, Part
from lunarchive.ingest import ingest

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = "urn:lunarchive:pds3:sln-l-tc-3-s-level2b0-v1.0:tc1s2b0_01_06691s820e0465::1.0"
BUNDLE_LID = "urn:nasa:pds:clps_to_2ab_pll.pitms_big"
COLUMNS = ("lidvid, lid, vid, vid_key, product_class, title, start, stop, start_utc, stop_utc, processing_level,"
           " information_model_version, label_format, label_name, label_sha256, source_path, targets,"
           " investigations, instruments, instrument_hosts, bbox_west, bbox_south, bbox_east, bbox_north, extra,"
           " discipline, batch_id, ingested_at")
EPOCH = 946_728_000.0  # 2000-01-01T12:00:00Z
SPAN = 20 * 365.25 * 86400


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e6):06d}Z"


def _synthetic(i: int, pid: int, tpl: list[Any], rng: random.Random) -> tuple[list[Any], Box, float, float]:
    t0 = EPOCH + rng.random() * SPAN
    t1 = t0 + rng.uniform(10, 86400)
    w, s = rng.uniform(-180, 178), rng.uniform(-85, 83)
    box = Box(w, s, w + rng.uniform(0.1, 2.0), s + rng.uniform(0.1, 2.0))
    row = list(tpl)
    lid = f"urn:lunarchive:pds3:bench-synthetic:p{i:07d}"
    row[0:4] = [f"{lid}::1.0", lid, "1.0", vid_key("1.0")]
    row[5] = f"Synthetic copy {i} of {tpl[5]}"
    row[6:10] = [_utc(t0), _utc(t1), _utc(t0), _utc(t1)]
    row[20:24] = [box.west, box.south, box.east, box.north]
    row[25] = "{}"  # the label's raw discipline block (5.8 kB) is left out of the copies
    return [pid, *row], box, t0, t1


def build_catalogue(data: Path, n: int, seed: int = 7) -> list[str]:
    """Ingest the sample data, then bulk-insert ``n`` synthetic products; returns some synthetic LIDVIDs."""
    with open_archive(data, fsync=False) as archive:
        ingest(archive, [REPO / "examples"])
    t = time.perf_counter()
    with open_archive(data, fsync=False) as archive:
        conn = archive.catalog.conn  # type: ignore[attr-defined]
        tpl = list(conn.execute(f"SELECT {COLUMNS} FROM products WHERE lidvid=?", (TEMPLATE,)).fetchone())
        tpl_id = conn.execute("SELECT id FROM products WHERE lidvid=?", (TEMPLATE,)).fetchone()[0]
        blob = conn.execute("SELECT sha256, size, md5 FROM files WHERE status='ok' ORDER BY size DESC").fetchone()
        body = conn.execute("SELECT body_id FROM footprints WHERE product_id=?", (tpl_id,)).fetchone()[0]
        rng = random.Random(seed)
        conn.execute("BEGIN IMMEDIATE")
        batch = conn.execute("INSERT INTO batches (started_at, sources) VALUES ('bench', '[]')").lastrowid
        tpl[26] = batch
        base = conn.execute("SELECT max(id) FROM products").fetchone()[0] + 1
        sample: list[str] = []
        for start in range(0, n, 50_000):
            _insert_chunk(conn, range(start, min(n, start + 50_000)), base, tpl, rng, blob, body, sample)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    print(f"catalogue: {n:,} synthetic products inserted in {time.perf_counter() - t:.1f} s", flush=True)
    return sample


def _insert_chunk(conn: Any, ids: range, base: int, tpl: list[Any], rng: random.Random, blob: tuple[Any, ...],
                  body: int, sample: list[str]) -> None:
    products, terms, files, fps, rtree = [], [], [], [], []
    for i in ids:
        pid = base + i
        row, box, t0, t1 = _synthetic(i, pid, tpl, rng)
        products.append(row)
        terms += [(pid, "target", "MOON"), (pid, "investigation", "SELENE"), (pid, "instrument", "TC")]
        files.append((pid, f"p{i:07d}.img", "data", blob[0], blob[1], blob[2], "ok"))
        geo = {"type": "Polygon", "coordinates": [[[box.west, box.south], [box.east, box.south],
                                                    [box.east, box.north], [box.west, box.north],
                                                    [box.west, box.south]]]}
        fps.append((pid, body, "bbox", json.dumps(geo)))
        rtree += index_rows(pid, body, [Part(box)], row[9], row[10])
        if i % 997 == 0:
            sample.append(row[1])
    conn.executemany(f"INSERT INTO products (id, {COLUMNS}) VALUES ({','.join('?' * 29)})", products)
    conn.executemany("INSERT INTO product_terms VALUES (?,?,?)", terms)
    conn.executemany("INSERT INTO files (product_id, name, role, sha256, size, md5, status) VALUES (?,?,?,?,?,?,?)",
                     files)
    conn.executemany("INSERT INTO footprints (product_id, body_id, source, geojson) VALUES (?,?,?,?)", fps)
    conn.executemany(RTREE_INSERT, rtree)


# ------------------------------------------------------------------------------------------ server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lunarchive.cli", "serve", "--data-dir", str(data),
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/conformance", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


# ------------------------------------------------------------------------------------------ load
async def _load(url: str, paths: list[str], concurrency: int, total: int, limit_s: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    next_i = 0
    stop_at = time.perf_counter() + limit_s

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_i, errors
        while next_i < total and time.perf_counter() < stop_at:
            path = paths[next_i % len(paths)]
            next_i += 1
            t = time.perf_counter()
            r = await client.get(path)
            latencies.append(time.perf_counter() - t)
            errors += r.status_code != 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        await client.get(paths[0])  # warm the connection
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()
    return {"n": len(latencies), "rps": len(latencies) / wall, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)] * 1000,
            "errors": errors}


def search_paths(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        w, s = rng.uniform(-180, 160), rng.uniform(-80, 60)
        year = rng.randint(2000, 2018)
        out.append(f"/search?bbox={w:.3f},{s:.3f},{w + 20:.3f},{s + 20:.3f}"
                   f"&datetime={year}-01-01T00:00:00Z/{year + 1}-12-31T23:59:59Z&limit=100")
    return out


def bench_queries(url: str, lidvids: list[str], requests: int, limit_s: float) -> None:
    items = [f"/collections/urn:lunarchive:pds3/items/{v}::1.0" for v in lidvids]
    searches = search_paths(requests)
    sizes = [len(httpx.get(url + p, timeout=120).json()["features"]) for p in searches[:20]]
    print(f"search pages hold {statistics.mean(sizes):.0f} items on average (limit 100)")
    print(f"{'route':8} {'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for name, paths in (("search", searches), ("item", items)):
        for c in (1, 8, 32):
            s = asyncio.run(_load(url, paths, c, requests, limit_s))
            print(f"{name:8} {c:>7} {s['n']:>8.0f} {s['rps']:>8.1f} {s['p50']:>8.1f} {s['p99']:>8.1f} "
                  f"{s['errors']:>6.0f}", flush=True)


# ------------------------------------------------------------------------------------------ big files
def big_bundle(root: Path, data: Path, mb: int) -> None:
    """The real PITMS bundle copied with its data table grown to ``mb`` MiB (its rows repeated), ingested."""
    src = REPO / "examples" / "pds4" / "clps" / "pitms_bundle"
    dest = root / "pitms_big"
    shutil.copytree(src, dest)
    for f in dest.rglob("*"):  # its own LIDs: the sample bundle itself is catalogued already
        if f.suffix in (".xml", ".csv") and f.is_file():
            f.write_bytes(f.read_bytes().replace(b"clps_to_2ab_pll.pitms", b"clps_to_2ab_pll.pitms_big"))
    table = dest / "data_raw" / "PITMS_RAW_AUX.csv"
    head, *rows = table.read_bytes().splitlines(keepends=True)
    block = b"".join(rows) * max(1, (1 << 20) // max(1, sum(map(len, rows))))
    with open(table, "wb") as out:
        out.write(head)
        while out.tell() < mb << 20:
            out.write(block)
    with open_archive(data, fsync=False) as archive:
        ingest(archive, [dest])


def big_blob(data: Path) -> tuple[str, Path]:
    """The sha256 and store path of the bundle's big data file."""
    with open_archive(data, fsync=False) as archive:
        lidvid = archive.catalog.resolve(f"{BUNDLE_LID}:data_raw:pitms_raw_aux")
        sha = str(archive.catalog.layout(lidvid)["files"][0]["sha256"])
    return sha, data / "blobs" / sha[:2] / sha[2:4] / sha


def _read_disk(path: Path) -> float:
    buf = bytearray(1 << 20)
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass
    return path.stat().st_size / (time.perf_counter() - t)


def _read_http(url: str, path: str) -> tuple[float, int]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    buf = bytearray(1 << 20)
    t = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    got = 0
    while n := resp.readinto(buf):
        got += n
    conn.close()
    return got / (time.perf_counter() - t), got


def _evict(path: Path) -> None:
    """Drop the file's pages from the OS cache, so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def bench_download(url: str, sha: str, blob: Path) -> None:
    size = blob.stat().st_size
    for label, cold in (("from disk (file evicted from the page cache before each read)", True),
                        ("both from the page cache", False)):
        disk, web = [], []
        for _ in range(2):
            if cold:
                _evict(blob)
            disk.append(_read_disk(blob))
            if cold:
                _evict(blob)
            rate, got = _read_http(url, f"/files/{sha}")
            assert got == size
            web.append(rate)
        d, w = max(disk), max(web)
        print(f"download {size / 2**30:.2f} GiB {label}: disk {d / 2**20:.0f} MiB/s, HTTP {w / 2**20:.0f} MiB/s,"
              f" ratio {w / d:.2f} (target >= 0.5)")


def bench_archive(url: str, pid: int, size: int) -> None:
    proc = psutil.Process(pid)
    base = proc.memory_info().rss
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    rate, got = _read_http(url, f"/products/{BUNDLE_LID}::1.0/archive")
    done.set()
    sampler.join()
    print(f"archive {got / 2**30:.2f} GiB zip of a bundle with a {size / 2**30:.2f} GiB file: {rate / 2**20:.0f} MiB/s;"
          f" server RSS {base / 2**20:.0f} MiB before, peak {peak / 2**20:.0f} MiB (+{(peak - base) / 2**20:.0f})"
          f" (target < 100 MiB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=300, help="requests per route and concurrency level")
    ap.add_argument("--seconds", type=float, default=60.0, help="time limit per route and concurrency level")
    ap.add_argument("--download-mb", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=1, help="server worker processes for the query load")
    ap.add_argument("--keep", type=Path, help="build (or reuse) the catalogue in this directory")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-api-"))
    data = root / "data"
    try:
        if (root / "sample.json").exists():
            lidvids = json.loads((root / "sample.json").read_text())
        else:
            lidvids = build_catalogue(data, args.products)
            big_bundle(root, data, args.download_mb)
            (root / "sample.json").write_text(json.dumps(lidvids))
        sha, blob = big_blob(data)
        proc, url = start_server(data)
        try:  # a fresh one-process server: its memory is the figure
            bench_archive(url, proc.pid, blob.stat().st_size)
            bench_download(url, sha, blob)
        finally:
            stop_server(proc)
        proc, url = start_server(data, args.workers)
        try:
            print(f"queries: {args.workers} server worker process(es) on {os.cpu_count()} cores, client in this one")
            bench_queries(url, [v.rpartition("::")[0] if "::" in v else v for v in lidvids], args.requests,
                          args.seconds)
            rss = sum(p.memory_info().rss for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children()])
            print(f"server RSS after the load: {rss / 2**20:.0f} MiB")
        finally:
            stop_server(proc)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
