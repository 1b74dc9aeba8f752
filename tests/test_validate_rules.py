"""Label-level and tree-level rules one by one, and the report's shape (validate's summary keys)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from lunarchive.errors import PathNotFound, UserError
from lunarchive.validate import render_text, validate_paths
from lunarchive.validate.label_rules import check_image, naming_problem

from .conftest import corpus_file

INVALID = "error.validation.invalid_label"


def _ids(report: object) -> Counter[str]:
    return Counter(f.message_id for f in report.all_findings())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "is_dir", "problem"),
    [
        ("core", False, "base_name"),
        ("core.vmac", False, None),
        ("this_file_should_be_ok_core.tab", False, None),
        ("a.out", False, "file_name"),
        ("file_with_bad_char_#_.txt", False, "name_chars"),
        ("3juno_lwr01896_ines fits headers.pdfa.xml", False, "name_chars"),
        ("äf.xml", False, "name_chars"),
        ("_leading.xml", False, "name_chars"),
        ("x" * 256, False, "name_long"),
        ("data.raw", True, "dir_chars"),
        ("aux", True, "dir_name"),
        ("data_raw", True, None),
    ],
)
def test_file_and_directory_names(name: str, is_dir: bool, problem: str | None) -> None:
    found = naming_problem(name, is_dir=is_dir)
    assert (found[0] if found else None) == problem


def test_labels_that_are_not_well_formed(tmp_path: Path) -> None:
    good = corpus_file("pds4/invalid/esa_test_filesize_mismatch/minimal_test_product_good2.xml").read_bytes()
    (tmp_path / "empty.xml").write_bytes(b"")
    (tmp_path / "truncated.xml").write_bytes(good[: len(good) // 2])
    shutil.copyfile(corpus_file("pds4/chandrayaan1/m3_partial/M3G20090513T150646_V03_RDN.xml_partial"),
                    tmp_path / "fragment.xml")  # fmt: skip
    (tmp_path / "notpds.xml").write_bytes(b"<?xml version='1.0'?><catalog><book/></catalog>")
    report = validate_paths([tmp_path])
    by_name = {Path(r.path).name: r for r in report.products}
    assert set(by_name) == {"empty.xml", "truncated.xml", "fragment.xml", "notpds.xml"}
    for r in by_name.values():
        (f,) = r.findings
        assert f.message_id == INVALID and r.status == "FAIL" and "\n" not in f.message
    assert by_name["fragment.xml"].findings[0].line is not None
    assert report.exit_code == 1


def test_broken_and_good_images(tmp_path: Path) -> None:
    png = corpus_file("basemap/moon/moon_256x128.png")
    assert check_image(str(png)) == []
    cut = tmp_path / "cut.png"
    cut.write_bytes(png.read_bytes()[:20_000])
    (f,) = check_image(str(cut))
    assert f.message_id == "error.file.not_png_compliant"
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(png.read_bytes())
    (f,) = check_image(str(fake))
    assert f.message_id == "error.file.not_jpeg_compliant" and "PNG" in f.message


def test_truncated_jpeg_from_the_corpus_is_reported() -> None:
    broken = corpus_file("basemap/broken/moon_texture_truncated.jpg")
    report = validate_paths([broken])
    assert _ids(report) == Counter({"error.file.not_jpeg_compliant": 1}) and report.exit_code == 1


def test_duplicate_lidvid_in_an_inventory(tmp_path: Path) -> None:
    src = corpus_file("pds4/invalid/voyager_collection_records_mismatch/collection6.xml")
    csv = (src.parent / "collection_document.csv").read_bytes()
    lines = csv.split(b"\r\n")
    (tmp_path / "collection_document.csv").write_bytes(b"\r\n".join(lines[:6] + [lines[2]] + lines[6:]))
    (tmp_path / src.name).write_bytes(
        src.read_bytes().replace(b"<records>6</records>", b"<records>8</records>")
    )
    ids = _ids(validate_paths([tmp_path / src.name]))
    assert ids["error.inventory.duplicate_lidvid"] == 1
    assert ids["error.table.records_mismatch"] == 0  # 8 rows for 8 records


def test_clean_bundle_passes_with_integrity_checks() -> None:
    report = validate_paths([corpus_file("pds4/clps/pitms_bundle")])
    assert report.rule_set == "pds4.bundle" and report.exit_code == 0
    s = report.summary()
    assert (
        s["totalErrors"] == 0
        and s["productValidation"]["passed"] == 3
        and s["productValidation"]["failed"] == 0
    )
    assert s["referentialIntegrity"]["failed"] == 0


def test_bundle_with_a_missing_member_and_an_unlisted_product(tmp_path: Path) -> None:
    tree = tmp_path / "pitms"
    shutil.copytree(corpus_file("pds4/clps/pitms_bundle"), tree)
    inventory = next(tree.rglob("collection*.csv"))
    rows = inventory.read_bytes().split(b"\r\n")
    inventory.write_bytes(rows[0].replace(b"::1.0", b"::9.0") + b"\r\n" + b"\r\n".join(rows[1:]))
    report = validate_paths([tree])
    assert _ids(report) == Counter(
        {"error.integrity.member_not_found": 1, "warning.integrity.unreferenced_member": 1}
    )  # an error since validate 4.2 (its case github1601), a warning before
    assert report.exit_code == 1 and report.summary()["referentialIntegrity"]["failed"] == 1
    lax = validate_paths([tree], strict_membership=False)
    assert _ids(lax) == Counter({"warning.integrity.member_not_found": 1, "warning.integrity.unreferenced_member": 1})
    assert lax.exit_code == 0 and lax.summary()["totalWarnings"] == 2


def test_report_json_has_validates_summary_keys() -> None:
    label = corpus_file("pds4/invalid/kaguya_bundle_bad_filenames/bundle_kaguya_derived.xml")
    report = validate_paths([label], rule_set="pds4.bundle")
    doc = json.loads(json.dumps(report.to_dict()))
    s = doc["summary"]
    assert {
        "totalErrors",
        "totalWarnings",
        "productValidation",
        "referentialIntegrity",
        "messageTypes",
    } <= set(s)
    for phase in ("productValidation", "referentialIntegrity"):
        assert {"passed", "failed", "skipped"} <= set(s[phase])
    assert sum(n for k, n in s["messageTypes"].items() if k.startswith("error.")) == s["totalErrors"]
    statuses = Counter(p["status"] for p in doc["products"])
    assert statuses == Counter({"SKIP": 6, "PASS": 3, "FAIL": 2})
    juno = next(p for p in doc["products"] if "3juno" in p["label"])
    assert {m["type"] for m in juno["messages"]} == {
        "error.file.name_has_invalid_characters",
        "error.label.missing_file",
    }
    assert any("line" in m for m in juno["messages"])
    text = render_text(report)
    assert "FAIL: " in text and "SKIP: " in text and "7 error(s)" in text and "13 warning(s)" in text


def test_usage_errors() -> None:
    with pytest.raises(PathNotFound):
        validate_paths(["/nonexistent/label.xml"])
    with pytest.raises(UserError):
        validate_paths([corpus_file("pds4/clps/pitms_bundle")], rule_set="pds4.nope")
    with pytest.raises(UserError):
        validate_paths([])


def test_label_content_the_reader_cannot_use_is_a_schema_error(tmp_path: Path, data_dir: Path) -> None:
    """A file_size that is not an integer and a reference without a LID (real label, two values changed):
    ``validate`` and ``ingest`` both report each as error.label.schema on its line."""
    from lunarchive.config import open_archive
    from lunarchive.ingest import ingest
    from lunarchive.search import get_product

    src = corpus_file("pds4/ladee/ladee_spice/document/spiceds_v001.xml")
    shutil.copyfile(src.parent / "spiceds_v001.html", tmp_path / "spiceds_v001.html")
    data = src.read_bytes()
    data = data.replace(b'<file_size unit="byte">32143</file_size>', b'<file_size unit="byte">32143.0</file_size>')
    data = data.replace(b"<lid_reference>urn:nasa:pds:context:investigation:mission.ladee</lid_reference>", b"")
    (tmp_path / src.name).write_bytes(data)
    report = validate_paths([tmp_path / src.name])
    schema = sorted((f.line, f.message) for f in report.all_findings() if f.message_id == "error.label.schema")
    assert [line for line, _ in schema] == [36, 85]
    assert "no lid/lidvid reference" in schema[0][1] and "file_size on line 85 is not an integer" in schema[1][1]
    with open_archive(data_dir) as archive:
        ingest(archive, [tmp_path / src.name])
        shown = get_product(archive.catalog, "urn:nasa:pds:ladee.spice:document:spiceds")
    stored = sorted((f["line"], f["message_id"]) for f in shown["findings"] if f["message_id"].endswith("schema"))
    assert stored == [(36, "error.label.schema"), (85, "error.label.schema")]


def test_a_logical_identifier_that_is_no_lid_is_a_schema_error(tmp_path: Path, data_dir: Path) -> None:
    """A template placeholder or a mixed-case id as the LID (real label, LID changed): both commands report
    error.label.schema on its line, and ingest catalogues the product under it all the same."""
    from lunarchive.config import open_archive
    from lunarchive.ingest import ingest
    from lunarchive.search import get_product

    src = corpus_file("pds4/ladee/ladee_spice/document/spiceds_v001.xml")
    for lid in ("{{random_lid}}", "urn:nasa:pds:LADEE.spice:document:spiceds"):
        data = src.read_bytes().replace(b"urn:nasa:pds:ladee.spice:document:spiceds<", lid.encode() + b"<", 1)
        label = tmp_path / lid.strip("{}").replace(":", "_") / src.name
        label.parent.mkdir()
        label.write_bytes(data)
        found = [f for f in validate_paths([label]).all_findings() if "is not a PDS4 LID" in f.message]
        assert [(f.message_id, f.line) for f in found] == [("error.label.schema", 7)], lid
        with open_archive(data_dir) as archive:
            ingest(archive, [label])
            shown = get_product(archive.catalog, f"{lid}::1.0")
        assert any("is not a PDS4 LID" in f["message"] for f in shown["findings"]), lid


def test_label_times_that_name_no_instant_are_reported(tmp_path: Path, data_dir: Path) -> None:
    """A real LRO LEND label with its stop time changed to a day that does not exist and its start time to
    text that is no time: each leaves the product out of time searches, so both commands say so on its line
    (no ISO 8601 form: the schema's pattern fails, an error; February 30: a warning)."""
    from lunarchive.config import open_archive
    from lunarchive.ingest import ingest
    from lunarchive.query import Query
    from lunarchive.search import get_product, search

    src = corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml")
    data = src.read_bytes()
    data = data.replace(b"<start_date_time>2024-06-15T00:00:00Z<", b"<start_date_time>2024-06-15 noon<")
    data = data.replace(b"<stop_date_time>2024-06-15T23:59:59Z<", b"<stop_date_time>2024-02-30T23:59:59Z<")
    (tmp_path / src.name).write_bytes(data)
    found = [(f.message_id, f.line) for f in validate_paths([tmp_path / src.name]).all_findings()
             if "is not a UTC time" in f.message]
    assert found == [("error.label.schema", 30), ("warning.label.schema", 31)]
    with open_archive(data_dir) as archive:
        ingest(archive, [tmp_path / src.name])
        shown = get_product(archive.catalog, "urn:nasa:pds:lro_lend:data_science_derived:lend_rdr_dld_20240615")
        assert shown["stop"] == "2024-02-30T23:59:59Z"  # kept as the label gives it
        assert search(archive.catalog, Query(start="2024-06-01", stop="2024-06-30")) == []
    assert sorted(f["line"] for f in shown["findings"] if "is not a UTC time" in f["message"]) == [30, 31]


def test_a_collection_validated_on_its_own_is_no_unreferenced_member() -> None:
    """``-R pds4.collection`` on a collection's directory (the Mars 2020 SPICE document collection): no bundle
    is in the target to list the collection, so it is not reported as a member of none (as validate does)."""
    folder = corpus_file("pds4/non_lunar/mars2020_spice_versions/naif2/document")
    report = validate_paths([folder], rule_set="pds4.collection")
    assert "warning.integrity.unreferenced_member" not in _ids(report)
    assert report.exit_code == 0


def test_a_pds3_label_named_to_validate_is_skipped_with_the_reason() -> None:
    """validate's rules are PDS4's: a PDS3 label named on its own (Kaguya TC, real) is skipped saying so, not
    failed as XML that is not well-formed."""
    report = validate_paths([corpus_file("pds3/kaguya_tc/TC1S2B0_01_06691S820E0465.lbl")])
    [result] = report.products
    assert result.skipped and "a PDS3 label" in (result.reason or "") and report.exit_code == 0
    assert not _ids(report)


GITHUB_PDS4 = Path(__file__).parent / "data" / "github" / "pds4"


def test_manifest_tables_are_checked_like_the_tables_they_derive_from() -> None:
    """validate's case PDS-543: the LADEE mission bundle SIP's Manifest_SIP_Deep_Archive (a Table_Delimited)
    declares maximum_record_length 59, its 13 records are 156-204 bytes: validate's expected report gives 13
    error.table.record_length_mismatch (the manifest had not been read as a table at all)."""
    report = validate_paths([GITHUB_PDS4 / "validate_pds543" / "ladee_mission_bundle_SIP_4col_manifest_v1.0.xml"])
    assert report.summary()["messageTypes"] == {"error.table.record_length_mismatch": 13}


def test_a_hyphen_in_the_lid_authority_is_allowed() -> None:
    """validate's case github1359 (fixed by its PR #1360, which took the information model 1O00's patterns): JAXA's
    `urn:jaxa:darts-ard:...` LIDs are LIDs, in the label and as inventory values: the label passes, and as a
    collection only its 83 members (not delivered with it) are missing."""
    label = GITHUB_PDS4 / "validate_github1359" / "collection_hyb2_nirs3_sp_ard_data_iof_thermalcorr_v001.lblx"
    summary = validate_paths([label]).summary()
    assert summary["totalErrors"] == 0 and summary["totalWarnings"] == 0, summary
    summary = validate_paths([label.parent], rule_set="pds4.collection").summary()  # its 83 members not delivered
    assert summary["messageTypes"] == {"error.integrity.member_not_found": 83}


def test_references_not_found_are_the_bundles_own_each_once() -> None:
    """validate's case github1481 (New Horizons LEISA): the calibrated label's comments mark the 5 references
    validate reports. References into another bundle (nh_documents) are not this bundle's to hold, and a
    product referenced twice by one label (as bin centres and bin widths) is reported once."""
    bundle = GITHUB_PDS4 / "validate_github1481" / "bundle.lblx"
    report = validate_paths([bundle], rule_set="pds4.bundle")
    found = [f for r in report.integrity for f in r.findings
             if f.message_id == "warning.integrity.reference_not_found"]
    targets = sorted(f.message.split()[3].split("::")[0].rsplit(":", 1)[-1] for f in found)
    assert targets == ["flatmap", "lsb_0287692018_0x53c_eng", "pixelmap", "wave_map", "wavemap"]
    assert report.summary()["messageTypes"] == {"error.label.missing_file": 3,
                                                "warning.integrity.reference_not_found": 5}


def test_blank_lines_that_end_an_inventory_are_no_rows(data_dir: Path) -> None:
    """Both inventories of validate's case github1481 end with a blank CRLF line after their one record:
    validate passes them, and ingest had recorded error.table.fields_mismatch ("blank row") for each."""
    from lunarchive.config import open_archive
    from lunarchive.formats.inventory import read_inventory
    from lunarchive.ingest import ingest

    tree = GITHUB_PDS4 / "validate_github1481"
    members, problems = read_inventory(tree / "pluto_raw" / "inventory.csv")
    assert [m.ref for m in members] == ["urn:nasa:pds:nh_leisa:pluto_raw:overview::1.0"] and problems == []
    with open_archive(data_dir, fsync=False) as archive:
        report = ingest(archive, [tree], workers=0)
    assert Counter(f.message_id for f in report.findings) == Counter(
        {"error.label.missing_file": 3, "warning.integrity.reference_not_found": 5})


@pytest.mark.parametrize(("label", "expected"), [
    ("test_success.xml", {}),
    ("test_fail_header_offset.xml", {"error.label.invalid_object_definition": 1}),
    ("test_fail_table_offset.xml", {"error.label.invalid_object_definition": 1}),
])
def test_fields_may_reach_the_record_delimiter_and_overlapping_objects_are_found(label: str,
                                                                                 expected: dict[str, int]) -> None:
    """validate's case github480 (--skip-content-validation): a field ending at the record's last byte passes
    (it was a table_definition_problem, which also hid the overlap of the Header and the tables)."""
    report = validate_paths([GITHUB_PDS4 / "validate_github480" / label], skip_content=True)
    assert report.summary()["messageTypes"] == expected


def test_a_value_of_spaces_in_a_delimited_number_field_is_no_number(tmp_path: Path) -> None:
    """validate's case github09 (row 4): in a delimited table a value of one space is text, not blank, so an
    ASCII_Integer field holding it is error.table.field_value_data_type_mismatch; an empty value passes."""
    src = GITHUB_PDS4 / "validate_github09"
    report = validate_paths([src / "csv_empty_field_test_INVALID.xml"])
    assert report.summary()["messageTypes"] == {"error.table.field_value_data_type_mismatch": 1}
    [finding] = [f for r in report.products for f in r.findings]
    assert "field 11 (APXS Archive Sol): value ' '" in finding.message
    for name in ("csv_empty_field_test_INVALID.xml", "csv_empty_field_test_INVALID.csv"):
        shutil.copyfile(src / name, tmp_path / name)
    table = tmp_path / "csv_empty_field_test_INVALID.csv"
    data = table.read_bytes()
    assert data.count(b", ,") == 1
    table.write_bytes(data.replace(b", ,", b",,"))  # validate's VALID twin of this table
    label = tmp_path / "csv_empty_field_test_INVALID.xml"
    assert validate_paths([label], rule_set="pds4.label").summary()["totalErrors"] == 0


def test_an_observational_file_named_by_two_labels_of_one_run() -> None:
    """validate's case github681: ff_char.xml and ff_del.xml both describe ff_test.csv in a
    File_Area_Observational; validated together, the second is error.label.file_areas_duplicated_reference.
    Each alone passes."""
    src = GITHUB_PDS4 / "validate_github681"
    report = validate_paths([src / "ff_char.xml", src / "ff_del.xml"])
    assert report.summary()["messageTypes"] == {"error.label.file_areas_duplicated_reference": 1}
    [failed] = [r for r in report.products if r.findings]
    assert failed.path.endswith("ff_del.xml") and "ff_char_test" in failed.findings[0].message
    for name in ("ff_char.xml", "ff_del.xml"):
        assert validate_paths([src / name]).summary()["totalErrors"] == 0


def test_a_label_named_without_its_extension(data_dir: Path) -> None:
    """validate's case github364: a PDS4 label in a file with no extension, named on its own, is
    error.label.bad_extension; ingest reads it as the label it is (it had skipped it as "not a label") and
    records the same finding."""
    from lunarchive.config import open_archive
    from lunarchive.ingest import ingest

    label = GITHUB_PDS4 / "validate_github364" / "MIS000XXX_2021001T000000_DEV0_2021001T0000_RAW010"
    report = validate_paths([label], skip_content=True)
    assert report.summary()["messageTypes"] == {"error.label.bad_extension": 1, "error.label.missing_file": 2}
    with open_archive(data_dir, fsync=False) as archive:
        ingested = ingest(archive, [label], workers=0)
    assert ingested.added == 1
    assert Counter(f.message_id for f in ingested.findings) == report.summary()["messageTypes"]


def test_an_archive_package_checks_its_manifests_against_the_checksums_it_declares(tmp_path: Path) -> None:
    """A Product_AIP declares the MD5 of each manifest in its package component (its File elements give none):
    the real LADEE package passes; one byte of its checksum manifest changed, size kept, is a checksum error."""
    src = Path(__file__).parent / "data" / "github" / "pds4" / "deep_archive_ladee_aip"
    label = "ladee_mission_bundle_v1.0_20250404_aip_v1.0.xml"
    manifest = "ladee_mission_bundle_v1.0_20250404_checksum_manifest_v1.0.tab"
    ids = _ids(validate_paths([src / label]))
    assert ids["error.label.checksum_mismatch"] == 0 and ids["error.label.filesize_mismatch"] == 0
    shutil.copytree(src, tmp_path / "aip")
    data = (tmp_path / "aip" / manifest).read_bytes()
    (tmp_path / "aip" / manifest).write_bytes(data[:40] + (b"0" if data[40:41] != b"0" else b"1") + data[41:])
    ids = _ids(validate_paths([tmp_path / "aip" / label]))
    assert ids["error.label.checksum_mismatch"] == 1 and ids["error.label.filesize_mismatch"] == 0


def test_a_bundle_listing_a_member_twice(tmp_path: Path) -> None:
    """validate's case github476: one Bundle_Member_Entry reference written twice is one duplicate_lidvid
    (as a collection inventory's are); the bundle's absent collections are not looked for with pds4.label."""
    label = Path(__file__).parent / "data" / "github" / "pds4" / "validate_github476" / "bundle_mars2020_spice_v003.xml"
    report = validate_paths([label], rule_set="pds4.label")
    ids = _ids(report)
    assert ids["error.inventory.duplicate_lidvid"] == 1 and sum(ids.values()) == 1, ids


def test_an_absolute_directory_path_name(tmp_path: Path) -> None:
    """validate's case github349: an absolute directory_path_name is one error.directory.unallowed_name at its
    File, and that file is not looked for (no missing_file beside it)."""
    src = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    text = src.read_text()
    label = tmp_path / src.name
    label.write_text(text.replace("<file_name>", "<directory_path_name>/tmp/01/</directory_path_name><file_name>", 1))
    report = validate_paths([label], rule_set="pds4.label", skip_content=True)
    ids = _ids(report)
    assert ids == Counter({"error.directory.unallowed_name": 1}), ids
    line = next(f.line for f in report.all_findings())
    assert line == next(i for i, s in enumerate(text.splitlines(), 1) if "<File>" in s)


def test_two_labels_declaring_one_lidvid_and_table_bytes_of_a_label_alone() -> None:
    """The LEND label delivered as .xml and as .lblx: the second read declares a LIDVID already declared, an
    error.label.duplicate_identifier (SR 6D.2), as ingest refuses it. A label named on its own reports the
    table bytes it read (it said 0)."""
    lend = corpus_file("pds4/lro/lend")
    report = validate_paths([lend / "lend_rdr_dld_20240615.lblx", lend / "lend_rdr_dld_20240615.xml"])
    dups = [f for f in report.all_findings() if f.message_id == "error.label.duplicate_identifier"]
    assert len(dups) == 1 and dups[0].path.endswith(".xml") and ".lblx" in dups[0].message
    diviner = validate_paths([corpus_file("pds4/lro/diviner/201401031400_rdr.xml")])
    assert diviner.stats["table_bytes"] > 0 and diviner.stats["labels"] == 1


def test_an_absolute_file_name_without_a_directory_is_still_a_missing_file(tmp_path: Path) -> None:
    """Only a File under an absolute directory_path_name is left unlooked-for; an absolute file_name alone is
    a schema note and a missing file, as before."""
    src = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    label = tmp_path / src.name
    label.write_text(src.read_text().replace("<file_name>201401031400_rdr.tab</file_name>",
                                             "<file_name>/etc/passwd</file_name>", 1))
    ids = _ids(validate_paths([label], rule_set="pds4.label", skip_content=True))
    assert ids["error.label.missing_file"] == 1 and ids["error.directory.unallowed_name"] == 0
