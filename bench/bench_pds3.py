"""PDS3 label reading speed: pvl against the fast ODL reader, same labels, same run.

Reads every corpus PDS3 label (pds3/**/*.lbl and the Odyssey .LBL beside its PDS4 twin) again and again,
first with pvl (``read_label(path)``), then with the fast reader (``read_label(path, fast=True)``); both
include finding and decoding the label part of the file. The time budget goes in whole passes over the
corpus: 40% pvl, 25% fast, 25% fast with its name/value caches emptied before every label (the figure for
labels that share nothing, a lower bound), 10% ``parse_label`` (the full Product) with the fast reader.
Prints labels/second, the ratio fast / pvl and how many labels the fast reader read itself (the rest it
hands to pvl).

    python bench/bench_pds3.py [--corpus ../shared/corpus] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from lunarchive.formats import odl, pds3

HERE = Path(__file__).resolve().parent
ODYSSEY_DUAL = "pds4/non_lunar/mars_odyssey_accel_dual_labels"


def corpus_labels(corpus: Path) -> list[Path]:
    """Every PDS3 label in the corpus."""
    labels = sorted(p for p in (corpus / "pds3").rglob("*") if p.suffix.lower() == ".lbl")
    labels += sorted(p for p in (corpus / ODYSSEY_DUAL).rglob("*") if p.suffix.lower() == ".lbl")
    return labels


def _rate(labels: list[Path], budget: float, work: Any) -> tuple[float, int]:
    """Labels/second over whole passes of *work(path)* until *budget* seconds are used (one pass at least)."""
    passes = 0
    start = time.perf_counter()
    while True:
        for path in labels:
            work(path)
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return passes * len(labels) / elapsed, passes


def _read_cold(path: Path) -> None:
    odl._names.clear()
    odl._values.clear()
    pds3.read_label(path, fast=True)


def run(corpus: Path, seconds: float = 20.0) -> dict[str, Any]:
    """Time both readers over the corpus PDS3 labels for about *seconds* in all; JSON-able figures."""
    labels = corpus_labels(Path(corpus))
    if not labels:
        raise SystemExit(f"no PDS3 labels under {corpus}")
    native = 0
    for path in labels:  # warm up (imports pvl, compiles regexes) and count the fast reader's own reads
        pds3.read_label(path)
        try:
            odl.loads_fast(odl.label_text(path))
            native += 1
        except odl.Unsupported:
            pass
    pvl_rate, pvl_passes = _rate(labels, 0.40 * seconds, lambda p: pds3.read_label(p))
    fast_rate, fast_passes = _rate(labels, 0.25 * seconds, lambda p: pds3.read_label(p, fast=True))
    cold_rate, _ = _rate(labels, 0.25 * seconds, _read_cold)
    product_rate, _ = _rate(labels, 0.10 * seconds, lambda p: pds3.parse_label(p, fast=True))
    return {
        "labels": len(labels),
        "fast_native": native,
        "pvl_labels_per_s": round(pvl_rate, 1),
        "fast_labels_per_s": round(fast_rate, 1),
        "ratio_fast_over_pvl": round(fast_rate / pvl_rate, 1),
        "fast_cold_labels_per_s": round(cold_rate, 1),
        "ratio_fast_cold_over_pvl": round(cold_rate / pvl_rate, 1),
        "parse_label_fast_per_s": round(product_rate, 1),
        "pvl_passes": pvl_passes,
        "fast_passes": fast_passes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    r = run(args.corpus, args.seconds)
    print(f"PDS3 labels: {r['labels']} (fast reader reads {r['fast_native']} itself, the rest via pvl)")
    print(f"pvl        : {r['pvl_labels_per_s']:10.1f} labels/s ({r['pvl_passes']} passes)")
    print(f"fast       : {r['fast_labels_per_s']:10.1f} labels/s ({r['fast_passes']} passes)")
    print(f"ratio      : {r['ratio_fast_over_pvl']:10.1f} x (fast / pvl)")
    print(f"fast, cold : {r['fast_cold_labels_per_s']:10.1f} labels/s (caches emptied before each label;"
          f" {r['ratio_fast_cold_over_pvl']:.1f} x pvl)")
    print(f"parse_label: {r['parse_label_fast_per_s']:10.1f} products/s (fast reader, full Product)")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
