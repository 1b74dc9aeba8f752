"""Validation speed: the whole corpus in labels/second, and table checking in MB/second against
``pds4_tools.read`` of the same tables, in the same run.

1. Every PDS4 label of the corpus is validated (bundle directories as bundles, the rest label by label,
   invalid/ included): labels/second and the table bytes read.
2. Three real tables (LRO Diviner RDR ``Table_Character``, LRO LEND ``Table_Binary``, Chandrayaan-1
   Mini-RF ``Table_Delimited``) are grown to ``--mb`` megabytes each by repeating their real records (labels
   copied with ``<records>`` updated). Each is checked by lunarchive (every field of every record against
   its type and Field_Statistics) and read whole by ``pds4_tools.read`` (every field materialised):
   MB/second for both and the ratio (target: lunarchive >= 1.0x pds4_tools). The LEND and Mini-RF labels
   also name their PDS3 twin label, which is not copied: one error.label.missing_file each is expected.
   validate has no value rule for a binary number without Field_Statistics, so the binary figure is mostly
   the cost of reading the records.

    python bench/bench_validate.py [--corpus ../shared/corpus] [--mb 32] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lunarchive.validate import validate_paths

HERE = Path(__file__).resolve().parent
TABLES = {
    "character": "pds4/lro/diviner/201401031400_rdr.xml",
    "binary": "pds4/lro/lend/lend_rdr_dld_20240615.xml",
    "delimited": "pds4/chandrayaan1/minirf/fsb_01500_rhk_xib_85s238_v1.xml",
}


def corpus_run(corpus: Path) -> dict[str, float]:
    root = corpus / "pds4"
    labels = [p for p in root.rglob("*") if p.suffix.lower() in (".xml", ".lblx")]
    bundles = sorted({p.parent for p in labels if b"<Product_Bundle" in p.read_bytes()[:4096]
                      and "invalid" not in p.parts})  # fmt: skip
    others = sorted(p for p in labels if not any(b in p.parents for b in bundles))
    t0 = time.perf_counter()
    reports = [validate_paths(bundles, rule_set="pds4.bundle"), validate_paths(others)]
    seconds = time.perf_counter() - t0
    n = sum(len(r.products) for r in reports)
    table_bytes = sum(r.stats.get("table_bytes", 0) for r in reports)
    return {"labels": n, "seconds": round(seconds, 3), "labels_per_s": round(n / seconds, 1),
            "table_mb": round(table_bytes / 1e6, 2)}  # fmt: skip


def grow(label: Path, dest: Path, mb: float) -> tuple[Path, int]:
    """A copy of ``label`` and its table whose records are the real ones repeated to ``mb`` megabytes."""
    text = label.read_text(encoding="utf-8")
    data_name = re.search(r"<file_name>\s*([^<\s]+)\s*</file_name>", text).group(1)  # type: ignore[union-attr]
    data = (label.parent / data_name).read_bytes()
    offset = int(re.search(r"<Table_\w+>.*?<offset[^>]*>(\d+)</offset>", text, re.S).group(1))  # type: ignore
    length_m = re.search(r"<record_length[^>]*>(\d+)</record_length>", text)
    declared = int(re.search(r"<Table_\w+>.*?<records>(\d+)</records>", text, re.S).group(1))  # type: ignore
    if length_m:
        body = data[offset : offset + declared * int(length_m.group(1))]
    else:
        body = data[offset:]
    reps = max(1, int(mb * 1e6 // max(len(body), 1)))
    records = declared * reps
    new_text = re.sub(r"(<Table_\w+>.*?<records>)\d+(</records>)", rf"\g<1>{records}\g<2>", text, count=1,
                      flags=re.S)  # fmt: skip
    new_text = re.sub(r"<file_size[^>]*>\d+</file_size>", "", new_text)
    new_text = re.sub(r"<md5_checksum>\w+</md5_checksum>", "", new_text)
    (dest / data_name).write_bytes(data[:offset] + body * reps)
    out = dest / label.name
    out.write_text(new_text, encoding="utf-8")
    return out, len(body) * reps


def pds4_tools_read(label: Path) -> float:
    import pds4_tools

    t0 = time.perf_counter()
    structures = pds4_tools.read(str(label), quiet=True, lazy_load=True)
    for s in structures:
        if s.is_table():
            data = s.data
            for name in data.dtype.names or ():
                np.asarray(data[name])
    return time.perf_counter() - t0


def table_run(corpus: Path, mb: float) -> dict[str, dict[str, float]]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, rel in TABLES.items():
            dest = Path(tmp) / kind
            dest.mkdir()
            label, size = grow(corpus / rel, dest, mb)
            t0 = time.perf_counter()
            report = validate_paths([label])
            ours = time.perf_counter() - t0
            errors = report.summary()["totalErrors"]
            theirs = pds4_tools_read(label)
            mb = size / 1e6
            out[kind] = {"mb": round(mb, 1), "lunarchive_mb_per_s": round(mb / ours, 1),
                         "pds4_tools_mb_per_s": round(mb / theirs, 1), "ratio": round(theirs / ours, 2),
                         "errors_found": errors}  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus")
    ap.add_argument("--mb", type=float, default=32.0, help="Size each benchmark table is grown to.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found at {args.corpus}")
    result: dict[str, Any] = {"corpus": corpus_run(args.corpus), "tables": table_run(args.corpus, args.mb)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    c = result["corpus"]
    print(f"corpus: {c['labels']} labels in {c['seconds']} s = {c['labels_per_s']} labels/s "
          f"({c['table_mb']} MB of tables checked)")  # fmt: skip
    for kind, r in result["tables"].items():
        print(f"{kind:9} table {r['mb']:>6} MB: lunarchive {r['lunarchive_mb_per_s']:>7} MB/s, "
              f"pds4_tools.read {r['pds4_tools_mb_per_s']:>7} MB/s, ratio {r['ratio']:.2f}x "
              f"(target >= 1.0x); {r['errors_found']} errors")  # fmt: skip


if __name__ == "__main__":
    main()
