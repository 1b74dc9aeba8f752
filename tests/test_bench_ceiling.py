"""The ceiling benchmark runs on real labels (its figures are printed by bench/, never asserted as times)."""

from __future__ import annotations

import sys
from pathlib import Path

from .conftest import LOCAL_CORPUS, REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_ceiling import _minimal, _record_and_rules, ceilings  # noqa: E402


def _labels() -> list[Path]:
    return sorted(p for p in (LOCAL_CORPUS / "pds4").rglob("*.xml") if "invalid" not in p.parts)


def test_ceiling_pipelines_read_the_same_products() -> None:
    """Both stripped-down pipelines give one row per readable label, with the LIDVID lunarchive reads."""
    paths = [str(p) for p in _labels()]
    minimal = {row[0]: row for row in _minimal(paths)}
    full = {row[0]: row for row in _record_and_rules(paths)}
    assert len(minimal) > 10
    assert minimal.keys() == full.keys()
    for lidvid, row in full.items():
        assert row[6] == minimal[lidvid][6]  # the label's sha256
        assert sorted(t for t, _ in row[8]) == sorted(t for t, _ in minimal[lidvid][8] if t)


def test_ceilings_report_every_pipeline() -> None:
    out = ceilings(_labels(), bare_rate=1000.0, workers=2)
    assert set(out) == {"parse_only", "minimal", "record_and_rules"}
    for r in out.values():
        assert r["labels_per_s"] > 0 and r["ratio"] > 0 and r["cpu_us_per_label"] > 0
