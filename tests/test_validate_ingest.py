"""The validation rules inside ingest: findings stored per product, shown by ``show``, used by --valid /
--invalid, bundle checks after the walk, nothing recorded twice on re-ingest."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from lunarchive.config import open_archive
from lunarchive.ingest import ingest
from lunarchive.query import Query
from lunarchive.search import get_product, search

from .conftest import corpus_file

FAIL_LID = "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr"


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "deposit"
    shutil.copytree(corpus_file("pds4/invalid/kaguya_bundle_bad_filenames"), tree / "kaguya")
    shutil.copytree(corpus_file("pds4/invalid/lro_diviner_max_out_of_range"), tree / "diviner")
    return tree


def test_ingest_stores_validate_findings_per_product(data_dir: Path, tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree])
        ids = Counter(f.message_id for f in report.findings)
        assert ids["error.table.field_value_out_of_min_max_range"] == 1  # table content, small table
        assert ids["error.label.missing_file"] == 1  # reported once, by ingest's own file check
        assert (
            ids["error.file.unallowed_base_name"] == 1 and ids["error.file.name_has_invalid_characters"] >= 3
        )
        assert ids["warning.integrity.unreferenced_member"] == 2  # tree checks after the walk
        assert ids["warning.file.not_referenced_in_label"] == 6
        assert "validate" in report.timings

        row = get_product(archive.catalog, FAIL_LID)
        (f,) = [f for f in row["findings"] if f["severity"] == "error"]
        assert f["message_id"] == "error.table.field_value_out_of_min_max_range" and "130" in f["message"]
        assert f["line"] is not None

        invalid = {r["lid"] for r in search(archive.catalog, Query(valid=False, limit=100))}
        valid = {r["lid"] for r in search(archive.catalog, Query(valid=True, limit=100))}
        assert FAIL_LID in invalid and FAIL_LID not in valid
        assert "urn:nasa:pds:kaguya_grs_spectra:data_spectra" in valid

        again = ingest(archive, [tree])
        assert again.added == 0 and again.findings == []


def test_big_tables_are_left_to_validate(data_dir: Path, tmp_path: Path) -> None:
    """Ingest reads table contents only up to INGEST_TABLE_LIMIT bytes; ``validate`` reads any size."""
    from lunarchive.ingest import INGEST_TABLE_LIMIT
    from lunarchive.validate import Options, validate_paths

    tree = tmp_path / "big"
    shutil.copytree(corpus_file("pds4/invalid/lro_diviner_max_out_of_range"), tree)
    label = tree / "201401031400_rdr_max_FAIL.xml"
    tab = label.with_suffix(".tab")
    data = tab.read_bytes()
    reps = INGEST_TABLE_LIMIT // (len(data) - 1368) + 1  # the 10 real records, repeated past the limit
    tab.write_bytes(data[:1368] + data[1368:] * reps)
    label.write_bytes(
        label.read_bytes().replace(b"<records>10</records>", f"<records>{10 * reps}</records>".encode())
    )
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree])
    assert report.added == 1 and not [f for f in report.findings if f.message_id.startswith("error.table.")]
    s = validate_paths([label], options=Options(cap=10 * reps)).summary()
    assert s["messageTypes"] == {"error.table.field_value_out_of_min_max_range": reps}
