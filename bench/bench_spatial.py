"""Spatial search speed: R*Tree-indexed bbox + time + target queries against a brute-force numpy scan.

Loads N seeded synthetic lunar footprints (default 1,000,000; a few percent on Mars, some crossing 180°,
some reaching a pole) plus the real footprints of the corpus (Clementine index tiles, PDS4 and PDS3 labels)
into a fresh catalogue, then runs Q random queries (body MOON + target MOON + box + time window, limit 100)
through ``lunarchive.search`` and, in the same run, through a numpy scan over the same parts (same
semantics: boxes intersect boundaries included, time ranges overlap, same body). Prints p50/p95 latency,
the scan/index ratio, how many result pages agreed, and the peak memory of the process.

    python bench/bench_spatial.py [--n 1000000] [--queries 1000] [--corpus ../shared/corpus] [--keep DIR]

``--keep DIR`` keeps the catalogue (about 1.1 GB for a million footprints) and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from lunarchive.bodies import resolve_body
from lunarchive.catalog.spatial import RTREE_INSERT, body_id, index_rows
from lunarchive.catalog.spatial import _time as _rtree_time
from lunarchive.config import open_archive
from lunarchive.footprint import Part, box_parts, query_box_parts
from lunarchive.ingest import ingest
from lunarchive.query import Query
from lunarchive.search import search

HERE = Path(__file__).resolve().parent
REAL = ["pds3/index/clementine", "pds4/clementine", "pds4/non_lunar/titan_cassini_radar",
        "pds4/non_lunar/jupiter_cassini_iss_map", "pds4/non_lunar/pluto_nh_albedo", "pds3/kaguya_tc",
        "pds3/kaguya_mi", "pds3/non_lunar"]
T0 = np.datetime64("2009-06-18T00:00:00", "s")  # LRO's launch: the synthetic products span 15 years
SPAN_S = 15 * 365 * 86400
J2000 = np.datetime64("2000-01-01T12:00:00", "s")


def synthetic(n: int, seed: int) -> dict[str, np.ndarray]:
    """Footprint centres uniform on the sphere, sizes log-uniform 0.02°–5°, durations up to a day."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    h = 10 ** rng.uniform(math.log10(0.02), math.log10(5), n)
    w = np.minimum(h / np.maximum(np.cos(np.radians(lat)), 0.02), 360)
    start = T0 + rng.integers(0, SPAN_S, n).astype("timedelta64[s]")
    stop = start + rng.integers(0, 86400, n).astype("timedelta64[s]")
    mars = rng.random(n) < 0.03
    return {"west": lon - w / 2, "east": lon + w / 2, "south": np.maximum(lat - h / 2, -90),
            "north": np.minimum(lat + h / 2, 90), "start": start, "stop": stop, "mars": mars}


def _utc(t: np.datetime64) -> str:
    return str(t) + ".000000Z"


def load_synthetic(db: Path, fp: dict[str, np.ndarray], chunk: int = 50_000) -> None:
    """Products, target terms, footprints and R*Tree rows, written in bulk (one transaction per chunk)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    batch = conn.execute("INSERT INTO batches (started_at, sources) VALUES ('bench', '[]')").lastrowid
    moon, mars = body_id(conn, resolve_body("MOON")), body_id(conn, resolve_body("MARS"))
    first = int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM products").fetchone()[0])
    conn.execute("COMMIT")
    n = len(fp["west"])
    for lo in range(0, n, chunk):
        conn.execute("BEGIN")
        products, terms, footprints, rtree = [], [], [], []
        for i in range(lo, min(n, lo + chunk)):
            pid, target = first + i, "MARS" if fp["mars"][i] else "MOON"
            start, stop = _utc(fp["start"][i]), _utc(fp["stop"][i])
            products.append((pid, f"urn:bench:synthetic:{i:07d}::1.0", f"urn:bench:synthetic:{i:07d}", "1.0",
                             "00000001.00000000", "Product_Observational", f"synthetic footprint {i}",
                             start, stop, start, stop, "pds4", json.dumps([target]), batch, "bench"))
            terms.append((pid, "target", target))
            parts = [Part(b) for b in box_parts(fp["west"][i], fp["south"][i], fp["east"][i], fp["north"][i])]
            bid = mars if target == "MARS" else moon
            footprints.append((pid, bid, "bbox", "{}"))
            rtree += index_rows(pid, bid, parts, start, stop)
        conn.executemany("INSERT INTO products (id, lidvid, lid, vid, vid_key, product_class, title, start, stop,"
                         " start_utc, stop_utc, label_format, targets, batch_id, ingested_at)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", products)
        conn.executemany("INSERT INTO product_terms VALUES (?,?,?)", terms)
        conn.executemany("INSERT INTO footprints VALUES (?,?,?,?)", footprints)
        conn.executemany(RTREE_INSERT, rtree)
        conn.execute("COMMIT")
    conn.close()


def scan_arrays(db: Path) -> dict[str, np.ndarray]:
    """Every indexed part as numpy columns, with its product's lid rank and exact time range (days)."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT r.product_id, r.x0, r.x1, r.y0, r.y1, (r.body0 + r.body1) / 2, p.start_utc, p.stop_utc, p.lid"
        " FROM footprint_rtree r JOIN products p ON p.id = r.product_id").fetchall()
    conn.close()
    cols = list(zip(*rows, strict=True))
    _, lid_rank = np.unique(np.array(cols[8], dtype=object), return_inverse=True)  # parts share their rank

    def days(values: tuple[str | None, ...]) -> np.ndarray:
        t = np.array([np.datetime64(v[:-1]) if v else np.datetime64("NaT") for v in values], "datetime64[us]")
        return (t - J2000).astype("timedelta64[us]").astype(np.float64) / 86400e6

    return {"pid": np.array(cols[0]), "x0": np.array(cols[1]), "x1": np.array(cols[2]),
            "y0": np.array(cols[3]), "y1": np.array(cols[4]), "body": np.array(cols[5]),
            "t0": days(cols[6]), "t1": days(cols[7]), "rank": lid_rank, "lid": np.array(cols[8], dtype=object)}


def scan(a: dict[str, np.ndarray], body: int, boxes: list[tuple[float, float, float, float]], t0: float,
         t1: float, limit: int) -> list[str]:
    """The brute-force answer: every part tested, products deduplicated, sorted by lid, first ``limit``."""
    hit = np.zeros(len(a["x0"]), bool)
    for w, s, e, n in boxes:
        hit |= (a["x0"] <= e) & (a["x1"] >= w) & (a["y0"] <= n) & (a["y1"] >= s)
    hit &= (a["body"] == body) & (a["t1"] >= t0) & (a["t0"] <= t1)
    ranks = np.unique(a["rank"][hit])[:limit]
    order = {r: lid for r, lid in zip(a["rank"][hit], a["lid"][hit], strict=True)}
    return [order[r] for r in ranks]


def random_queries(q: int, seed: int) -> list[tuple[tuple[float, float, float, float], str, str]]:
    rng = np.random.default_rng(seed + 1)
    out = []
    for _ in range(q):
        lat = math.degrees(math.asin(rng.uniform(-0.98, 0.98)))
        lon = rng.uniform(-180, 180)
        h = rng.uniform(1, 10)
        w = min(h / max(math.cos(math.radians(lat)), 0.05), 60)
        start = T0 + np.timedelta64(int(rng.integers(0, SPAN_S)), "s")
        stop = start + np.timedelta64(int(rng.integers(30, 365)) * 86400, "s")
        box = (lon - w / 2, max(-90, lat - h / 2), lon + w / 2, min(90, lat + h / 2))
        out.append((box, str(start) + "Z", str(stop) + "Z"))
    return out


def _status_mb(*keys: str) -> dict[str, float]:
    """Fields of /proc/self/status in MB (0 where the system has no such file)."""
    out = dict.fromkeys(keys, 0.0)
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        name, _, value = line.partition(":")
        if name in out:
            out[name] = float(value.split()[0]) / 1024
    return out


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


def build(work: Path, args: argparse.Namespace) -> None:
    t = time.perf_counter()
    real = [args.corpus / r for r in REAL if (args.corpus / r).exists()]
    with open_archive(work, fsync=False) as archive:
        report = ingest(archive, real) if real else None
    print(f"real footprints: {report.added if report else 0} products from {len(real)} corpus folders"
          f" ({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    load_synthetic(work / "catalog.sqlite", synthetic(args.n, args.seed))
    size = (work / "catalog.sqlite").stat().st_size / 1e6
    print(f"synthetic footprints: {args.n:,} loaded in {time.perf_counter() - t:.1f} s; catalogue {size:.0f} MB")


def run_indexed(work: Path, queries: list[Query]) -> tuple[list[float], list[list[str]], dict[str, float]]:
    """Each query through ``lunarchive.search`` (the path the CLI and the API take), timed; and the memory
    in use at the end, with the catalogue still open."""
    times, pages = [], []
    with open_archive(work, fsync=False) as archive:
        for q in queries:
            t = time.perf_counter()
            rows = search(archive.catalog, q)
            times.append((time.perf_counter() - t) * 1000)
            pages.append([r["lid"] for r in rows])
        mem = _status_mb("RssAnon", "RssFile")
    return times, pages, mem


def run_scan(work: Path, queries: list[Query]) -> tuple[list[float], list[list[str]]]:
    """Each query as a numpy scan over every part (arrays loaded once, before timing)."""
    arrays = scan_arrays(work / "catalog.sqlite")
    conn = sqlite3.connect(work / "catalog.sqlite")
    moon = int(conn.execute("SELECT id FROM footprint_bodies WHERE name='MOON'").fetchone()[0])
    conn.close()
    times, pages = [], []
    for q in queries:
        assert q.bbox is not None and q.start_utc and q.stop_utc
        boxes = [(b.west, b.south, b.east, b.north) for b in box_parts(*q.bbox, polar_all_longitudes=False)]
        t = time.perf_counter()
        t0 = (np.datetime64(q.start_utc[:-1]) - J2000) / np.timedelta64(1, "D")
        t1 = (np.datetime64(q.stop_utc[:-1]) - J2000) / np.timedelta64(1, "D")
        pages.append(scan(arrays, moon, boxes, float(t0), float(t1), 100))
        times.append((time.perf_counter() - t) * 1000)
    return times, pages


def run_rtree_only(work: Path, queries: list[Query]) -> list[float]:
    """The floor under any R*Tree-indexed answer: the bare R*Tree lookup of each query's boxes, returning the
    R*Tree's own row ids (not even the product id, an auxiliary column), with no exact test, no join, no time
    or target check, no sort and no rows built; warm."""
    conn = sqlite3.connect(work / "catalog.sqlite")
    moon = int(conn.execute("SELECT id FROM footprint_bodies WHERE name='MOON'").fetchone()[0])
    sql = ("SELECT id FROM footprint_rtree WHERE body0 <= ? AND body1 >= ? AND lon0 <= ? AND lon1 >= ?"
           " AND lat0 <= ? AND lat1 >= ? AND t1 >= ? AND t0 <= ?")
    times = []
    for rep in range(2):  # the first pass warms the pages, the second is timed
        for q in queries:
            assert q.bbox is not None and q.start_utc and q.stop_utc
            t0, t1 = _rtree_time(q.start_utc), _rtree_time(q.stop_utc)
            boxes = query_box_parts(q.bbox)  # the boxes the search itself looks up
            t = time.perf_counter()
            for b in boxes:
                conn.execute(sql, (moon, moon, b.east, b.west, b.north, b.south, t0, t1)).fetchall()
            if rep:
                times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return times


def run_unindexed(work: Path, queries: list[Query]) -> list[float]:
    """The same SQL with the R*Tree constraints hidden from it (``+r.lon0``): what the index saves."""
    from lunarchive.catalog.sqlite import SUMMARY_COLUMNS, _where

    conn = sqlite3.connect(work / "catalog.sqlite")
    times = []
    for q in queries:
        where, params = _where(q)
        for col in ("r.body0", "r.body1", "r.lon0", "r.lon1", "r.lat0", "r.lat1", "r.t0", "r.t1"):
            where = where.replace(f"{col} ", f"+{col} ")
        t = time.perf_counter()
        conn.execute(f"SELECT {SUMMARY_COLUMNS} FROM products p {where} ORDER BY p.lid, p.vid_key LIMIT 100",
                     params).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20260523)
    ap.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus")
    ap.add_argument("--keep", type=Path, help="build the catalogue here and keep it (reused when it exists)")
    ap.add_argument("--unindexed", type=int, default=10, help="also run this many queries without the index")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_spatial_"))
    if (work / "catalog.sqlite").exists():
        print(f"reusing the catalogue in {work}")
    else:
        build(work, args)

    def queries(n: int, seed: int) -> list[Query]:
        return [Query(body="moon", targets=["moon"], bbox=box, start=start, stop=stop, limit=100)
                for box, start, stop in random_queries(n, seed)]

    run_indexed(work, queries(200, args.seed + 7))  # warm the page cache with other queries
    timed = queries(args.queries, args.seed)
    idx_ms, idx_pages, idx_mem = run_indexed(work, timed)
    idx_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scan_ms, scan_pages = run_scan(work, timed)
    agree = sum(a == b for a, b in zip(idx_pages, scan_pages, strict=True))
    hits = sum(len(p) for p in idx_pages)
    p50, p95 = percentile(idx_ms, 50), percentile(idx_ms, 95)
    s50, s95 = percentile(scan_ms, 50), percentile(scan_ms, 95)
    print(f"queries: {len(timed)} bbox + time + target (limit 100), {hits / len(timed):.1f} rows on average;"
          f" {agree}/{len(timed)} pages identical to the scan")
    print(f"indexed search: p50 {p50:.2f} ms  p95 {p95:.2f} ms")
    print(f"numpy scan:     p50 {s50:.2f} ms  p95 {s95:.2f} ms")
    print(f"ratio scan/index: p50 {s50 / p50:.1f}x  p95 {s95 / p95:.1f}x")
    floor = run_rtree_only(work, timed)
    print(f"bare R*Tree lookup (warm, R*Tree row ids only): p50 {percentile(floor, 50):.2f} ms"
          f" = {s50 / percentile(floor, 50):.0f}x faster than the scan: the most any R*Tree-indexed search could reach")
    if args.unindexed:
        u = run_unindexed(work, timed[:args.unindexed])
        print(f"same SQL without the R*Tree ({len(u)} queries): p50 {percentile(u, 50):.0f} ms"
              f" = {percentile(u, 50) / p50:.0f}x the indexed p50")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {idx_peak:.0f} MB through the indexed queries, {peak:.0f} MB with the scan;"
          f" at the end of the indexed queries {idx_mem['RssAnon']:.0f} MB was the process's own memory and"
          f" {idx_mem['RssFile']:.0f} MB file pages (the memory-mapped catalogue: page cache, shared)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
