"""What any ingest of these labels can reach here: stripped-down pipelines over the same files, same run.

Each pipeline runs in worker processes (forked, chunks of 32 labels, as ingest sends them) and this process
inserts what they return into a small SQLite catalogue (products with a unique LIDVID and a LID index,
references, file names) in one transaction. They keep only part of what ``lunarchive ingest`` must do, so
their rates are ceilings for it, each printed as a ratio to the bare lxml parse:

- ``parse_only``: the workers parse each label and return nothing (the pool's own ceiling);
- ``minimal``: read, parse with entity resolution off, take the LIDVID, title, class, internal references and
  file names with ``findtext``, the label's sha256; insert them;
- ``record_and_rules``: lunarchive's product record (``pds4.product_from_tree``) and validate's product-level
  rules (``validate.product_findings`` with ingest's options: file sizes and checksums, data objects, table
  contents up to 1 MiB) that issue 4 runs inside ingest, with every data file measured beforehand (ingest's
  hashing is left out of its rate the same way); no search terms, text index, footprints, stored blobs,
  findings or bundle checks.

    python bench/bench_ceiling.py [--labels 5000] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from lxml import etree

from lunarchive import validate
from lunarchive.errors import FormatError
from lunarchive.formats import pds4
from lunarchive.formats.xmlsafe import parse_xml
from lunarchive.ingest import _INGEST_CHECKS

HERE = Path(__file__).resolve().parent
_NS = "{http://pds.nasa.gov/pds4/pds/v1}"
_SCHEMA = """
CREATE TABLE products (id INTEGER PRIMARY KEY, lidvid TEXT NOT NULL UNIQUE, lid TEXT NOT NULL, vid TEXT NOT NULL,
                       product_class TEXT, title TEXT, label_path TEXT, label_sha256 TEXT, label BLOB);
CREATE INDEX products_lid ON products(lid, vid);
CREATE TABLE refs (product_id INTEGER NOT NULL, target TEXT, ref_type TEXT);
CREATE INDEX refs_product ON refs(product_id);
CREATE INDEX refs_target ON refs(target);
CREATE TABLE files (product_id INTEGER NOT NULL, name TEXT);
CREATE INDEX files_product ON files(product_id);
"""

Row = tuple[Any, ...]
"""(lidvid, lid, vid, class, title, path, sha256, label bytes, [(target, type)], [file name])"""

_MEASURED: dict[str, tuple[int, str]] = {}
"""Data file path → (size, md5), filled before the workers are forked."""


def _parse_only(chunk: list[str]) -> list[Row]:
    for path in chunk:
        etree.parse(path)
    return []


def _parsed(chunk: list[str]) -> Iterator[tuple[str, bytes, etree._Element]]:
    """Each label's path, bytes and root element, as ingest reads them (labels that are not XML left out)."""
    for path in chunk:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            yield path, data, parse_xml(data, path)
        except FormatError:
            continue


def _minimal(chunk: list[str]) -> list[Row]:
    out = []
    for path, data, root in _parsed(chunk):
        ident = root.find(_NS + "Identification_Area")
        if ident is None:
            continue
        lid, vid = ident.findtext(_NS + "logical_identifier") or path, ident.findtext(_NS + "version_id") or "1.0"
        refs = [(e.findtext(_NS + "lid_reference") or e.findtext(_NS + "lidvid_reference"),
                 e.findtext(_NS + "reference_type")) for e in root.iter(_NS + "Internal_Reference")]
        files = [e.findtext(_NS + "file_name") for e in root.iter(_NS + "File")]
        out.append((f"{lid}::{vid}", lid, vid, root.tag, ident.findtext(_NS + "title"), path,
                    hashlib.sha256(data).hexdigest(), data, refs, files))
    return out


def _record_and_rules(chunk: list[str]) -> list[Row]:
    out = []
    for path, data, root in _parsed(chunk):
        try:
            product = pds4.product_from_tree(root, path, discipline=False)
        except FormatError:
            continue
        for ref in product.files:  # measured beforehand, as ingest's hashing is left out of its rate
            known = _MEASURED.get(ref.path or "")
            if known is None:
                ref.status = "missing"
            else:
                (ref.size, ref.md5), ref.status = known, "ok"
        validate.product_findings(product, data=data, root=root, options=_INGEST_CHECKS)
        out.append((product.lidvid, product.lid, product.vid, product.product_class, product.title, path,
                    hashlib.sha256(data).hexdigest(), data, [(r.target, r.ref_type) for r in product.references],
                    [f.name for f in product.files]))
    return out


def _measure(paths: list[str]) -> None:
    """Size and md5 of every data file the labels name (what ingest's hashing gives the rules)."""
    for path in paths:
        try:
            with open(path, "rb") as fh:
                product = pds4.product_from_tree(parse_xml(fh.read(), path), path, discipline=False)
        except FormatError:
            continue
        for ref in product.files:
            if ref.path and ref.path not in _MEASURED and os.path.isfile(ref.path):
                with open(ref.path, "rb") as fh:
                    digest = hashlib.file_digest(fh, "md5")
                _MEASURED[ref.path] = (os.path.getsize(ref.path), digest.hexdigest())


def _pipeline(work: Callable[[list[str]], list[Row]], paths: list[str], workers: int) -> dict[str, float]:
    """Run ``work`` over ``paths`` in ``workers`` processes, inserting its rows here in one transaction."""
    chunks = [paths[i:i + 32] for i in range(0, len(paths), 32)]
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "ceiling.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        c0, t0 = os.times(), time.perf_counter()
        n = 0
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            db.execute("BEGIN IMMEDIATE")
            for rows in pool.map(work, chunks):
                for row in rows:
                    cur = db.execute("INSERT OR IGNORE INTO products (lidvid, lid, vid, product_class, title,"
                                     " label_path, label_sha256, label) VALUES (?,?,?,?,?,?,?,?)", row[:8])
                    pid = cur.lastrowid
                    db.executemany("INSERT INTO refs VALUES (?,?,?)", [(pid, t, k) for t, k in row[8]])
                    db.executemany("INSERT INTO files VALUES (?,?)", [(pid, name) for name in row[9]])
                n += len(rows)
            db.execute("COMMIT")
        seconds, c1 = time.perf_counter() - t0, os.times()
        db.close()
    cpu = sum(c1[:4]) - sum(c0[:4])
    done = n or len(paths)
    return {"labels_per_s": done / seconds, "cpu_us_per_label": cpu / done * 1e6}


def ceilings(paths: list[Path], bare_rate: float, workers: int = 2) -> dict[str, dict[str, float]]:
    """The three pipelines' rates over ``paths``, with their ratios to ``bare_rate`` (labels/s)."""
    names = [str(p) for p in paths]
    _measure(names)
    out = {}
    for key, work in (("parse_only", _parse_only), ("minimal", _minimal), ("record_and_rules", _record_and_rules)):
        r = _pipeline(work, names, workers)
        out[key] = {"labels_per_s": round(r["labels_per_s"]), "ratio": round(r["labels_per_s"] / bare_rate, 3),
                    "cpu_us_per_label": round(r["cpu_us_per_label"])}
    return out


def print_ceilings(result: dict[str, dict[str, float]], workers: int) -> None:
    what = {"parse_only": "parse only", "minimal": "minimal ingest",
            "record_and_rules": "record + validate's rules"}
    print(f"ceilings ({workers} worker processes, one transaction of minimal inserts; see bench_ceiling.py):")
    for key, r in result.items():
        print(f"  {what[key] + ':':<27} {r['labels_per_s']:>6} labels/s  ratio {r['ratio']:.2f}x  "
              f"CPU {r['cpu_us_per_label']} us/label")


def main() -> None:
    sys.path.insert(0, str(HERE))
    from bench_ingest import bare_parse, build_tree, corpus_labels  # noqa: E402

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=int, default=5000)
    ap.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found at {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_tree(corpus_labels(args.corpus), args.corpus, args.labels, Path(tmp) / "tree")
        bare_parse(paths[:500])
        bare_rate = len(paths) / min(bare_parse(paths) for _ in range(3))
        result = ceilings(paths, bare_rate)
    if args.json:
        print(json.dumps({"bare_lxml_labels_per_s": round(bare_rate), "ceilings": result}, indent=2))
        return
    print(f"bare lxml parse: {round(bare_rate)} labels/s ({len(paths)} labels)")
    print_ceilings(result, 2)


if __name__ == "__main__":
    main()

