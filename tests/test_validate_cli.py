"""``lunarchive validate`` as a script sees it: exit codes 0 / 1 / 2, the JSON summary, the text report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import corpus_file


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lunarchive.cli", "validate", *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_clean_bundle_exits_0_with_json_summary() -> None:
    r = run(str(corpus_file("pds4/clps/pitms_bundle")), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["summary"]["totalErrors"] == 0 and doc["parameters"]["ruleType"] == "pds4.bundle"
    assert all(p["status"] == "PASS" for p in doc["products"])


def test_errors_exit_1_and_the_text_report_names_them() -> None:
    label = corpus_file("pds4/invalid/kaguya_bundle_bad_filenames/bundle_kaguya_derived.xml")
    r = run("-R", "pds4.bundle", str(label))
    assert r.returncode == 1, r.stderr
    assert "FAIL: " in r.stdout and "[error.file.unallowed_base_name]" in r.stdout
    assert "7 error(s)" in r.stdout and "13 warning(s)" in r.stdout
    r = run("--skip-content-validation", "-R", "pds4.bundle", "--json",
            str(corpus_file("pds4/invalid/kaguya_grs_inventory_records_mismatch")))  # fmt: skip
    assert r.returncode == 1
    s = json.loads(r.stdout)["summary"]
    assert s["messageTypes"]["error.table.records_mismatch"] == 2 and s["referentialIntegrity"]["failed"] == 1


def test_table_finding_has_its_label_line() -> None:
    r = run(str(corpus_file("pds4/invalid/apollo_sws_table_definition/b.xml")), "--json")
    assert r.returncode == 1
    (message,) = json.loads(r.stdout)["products"][0]["messages"]
    assert message["type"] == "error.label.table_definition_problem" and message["line"] > 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    r = run(str(tmp_path / "nope.xml"))
    assert r.returncode == 2 and "no such file" in r.stderr
    r = run("-R", "pds4.everything", str(tmp_path))
    assert r.returncode == 2 and "rule set" in r.stderr
    r = run("/dev/null")  # neither a file nor a directory
    assert r.returncode == 2 and "not a file or directory" in r.stderr and "Traceback" not in r.stderr
    r = run()
    assert r.returncode == 2


def test_a_folder_of_pds3_labels_lists_them_as_skipped_saying_why() -> None:
    """A folder holding a detached PDS3 label (GDAL's LOLA GDR) lists it as skipped, as one named on its own
    is ("0 skipped" had said nothing of it)."""
    folder = Path(__file__).parent / "data" / "github" / "pds3" / "lro_lola_gdr"
    r = run(str(folder), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["summary"]["productValidation"]["skipped"] == 1
    (product,) = report["products"]
    assert product["status"] == "SKIP" and "PDS3" in json.dumps(product)
