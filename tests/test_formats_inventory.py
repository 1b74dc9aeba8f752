"""Collection inventories (CSV and .tab) → members with P/S status; bad rows become problems."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lunarchive.errors import FormatError
from lunarchive.formats.inventory import CRLF, collection_members, read_inventory
from lunarchive.formats.pds4 import parse_label
from lunarchive.model import FileRef, Member, Product

from .conftest import corpus_file, shared_corpus

M2020 = "pds4/non_lunar/mars2020_spice_versions/naif3/spice_kernels"


def test_csv_with_lf_line_ends() -> None:
    members, problems = read_inventory(
        corpus_file("pds4/ladee/ladee_spice/spice_kernels/collection_spice_kernels_inventory_v001.csv")
    )
    # every record read; each one reported as validate's table check reports it (inventories end in CRLF)
    assert [(p.message_id, p) for p in problems] == [
        (CRLF, f"collection_spice_kernels_inventory_v001.csv: record {i} does not end in carriage-return line feed")
        for i in range(1, 15)
    ]
    assert len(members) == 14
    assert {m.status for m in members} == {"P"} and {m.kind for m in members} == {"lidvid"}
    assert members[0].ref == "urn:nasa:pds:ladee.spice:spice_kernels:ck_ladee_14030_14108_v04.bc::1.0"
    assert members[0].member_type is None


def test_csv_with_crlf_and_no_final_line_end() -> None:
    members, problems = read_inventory(corpus_file("pds4/clps/pitms_bundle/data_raw/collection.csv"))
    assert problems == []
    ref = "urn:nasa:pds:clps_to_2ab_pll.pitms:data_raw:pitms_raw_aux::1.0"
    assert [(m.ref, m.status) for m in members] == [(ref, "P")]
    members, problems = read_inventory(
        corpus_file("pds4/kaguya/grs_inventory_variants/spectra_data_collection_inventory_2.csv")
    )
    assert problems == ["spectra_data_collection_inventory_2.csv: record 2 does not end in carriage-return line feed"]
    assert [m.ref.rsplit(":", 3)[-3] for m in members] == [
        "kgrs_calibrated_spectra_per1",
        "kgrs_calibrated_spectra_per2",
    ]


def test_secondary_members_of_a_later_release() -> None:
    collection = parse_label(corpus_file(f"{M2020}/collection_spice_kernels_v003.xml"))
    assert collection.vid == "3.0"
    members, problems = collection_members(collection)
    assert problems == []
    assert len(members) == collection.extra["inventory_records"] == 13
    statuses = [m.status for m in members]
    assert statuses.count("S") == 9 and statuses.count("P") == 4
    assert members[0].status == "S"
    assert members[0].ref == (
        "urn:nasa:pds:mars2020.spice:spice_kernels:sclk_m2020_168_sclkscet_00007.tsc::1.0"
    )
    assert all(m.kind == "lidvid" for m in members)


def test_tab_inventory_found_from_the_collection_label() -> None:
    label = corpus_file("pds4/non_lunar/mars_odyssey_accel_dual_labels/Data/ANC/collection_odya_data_anc.xml")
    members, problems = collection_members(parse_label(label))
    assert problems == []
    assert [(m.ref, m.status) for m in members] == [
        ("urn:nasa:pds:ody_accel:anc:accancp007::1.0", "P"),
        ("urn:nasa:pds:ody_accel:anc:accancp008::1.0", "P"),
    ]


@pytest.mark.corpus
def test_every_collection_in_the_shared_corpus() -> None:
    corpus = shared_corpus() / "pds4"
    with open(corpus / "LABELS.tsv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["product_class"] == "Product_Collection"]
    assert len(rows) >= 25
    for row in rows:
        members, problems = collection_members(parse_label(corpus / row["path"]))
        assert [p for p in problems if p.message_id != CRLF] == [], row["path"]  # LF-only ones are listed
        assert members and all(m.status in ("P", "S") for m in members), row["path"]


def test_bad_rows_are_problems_not_errors(tmp_path: Path) -> None:
    inv = tmp_path / "collection_inventory.csv"
    inv.write_bytes(
        b"P,urn:nasa:pds:a:b:c::1.0\r\n"
        b"X,urn:nasa:pds:a:b:d::1.0\r\n"
        b"\r\n"
        b"P\r\n"
        b"S,urn:nasa:pds:a:b:e\r\n"
        b"P,urn:nasa:pds:a:b:f::1.x\r\n"
        b"s,urn:nasa:pds:a:b:g::2.0\r\n"
        b"P,\r\n"
        b"P,urn:nasa:pds:a:b:h::1.0,extra\r\n"
    )
    members, problems = read_inventory(inv)
    assert [(m.ref, m.status, m.kind) for m in members] == [
        ("urn:nasa:pds:a:b:c::1.0", "P", "lidvid"),
        ("urn:nasa:pds:a:b:e", "S", "lid"),
        ("urn:nasa:pds:a:b:g::2.0", "S", "lidvid"),
        ("urn:nasa:pds:a:b:h::1.0", "P", "lidvid"),
    ]
    assert [p.split(":", 1)[0] for p in problems] == [
        f"{inv.name} line {n}" for n in (2, 3, 4, 6, 7, 8, 9)
    ]
    assert "unknown member status 'X'" in problems[0]
    assert all("\n" not in p for p in problems)


def test_other_delimiters_and_undecodable_bytes(tmp_path: Path) -> None:
    inv = tmp_path / "inv.tab"
    inv.write_bytes(b"P\turn:nasa:pds:x:y::1.0\r\nS\turn:nasa:pds:x:z::2.0\r\nP\turn:nasa:pds:x:\xffw::1.0\r\n")
    members, problems = read_inventory(inv, "\t")
    assert [m.status for m in members] == ["P", "S", "P"]
    assert len(problems) == 1 and "not UTF-8" in problems[0]


def test_unreadable_inventory_raises_but_collection_members_reports(tmp_path: Path) -> None:
    with pytest.raises(FormatError):
        read_inventory(tmp_path / "nope.csv")
    with pytest.raises(FormatError):
        read_inventory(tmp_path)  # a directory
    label = tmp_path / "collection_spice_kernels_v003.xml"
    label.write_bytes(corpus_file(f"{M2020}/collection_spice_kernels_v003.xml").read_bytes())
    members, problems = collection_members(parse_label(label))
    assert members == []
    assert len(problems) == 1 and "does not exist" in problems[0]


def test_collection_members_needs_a_collection_with_an_inventory(tmp_path: Path) -> None:
    bundle = parse_label(corpus_file("pds4/ladee/ladee_spice/bundle_ladee_spice_v001.xml"))
    members, problems = collection_members(bundle)
    assert members == [] and "not a Product_Collection" in problems[0]
    bare = Product(lid="urn:x:c", vid="1.0", product_class="Product_Collection")
    bare.label_path = str(tmp_path / "c.xml")
    assert "no inventory file" in collection_members(bare)[1][0]
    bare.extra.update(inventory_file="../../etc/passwd")
    bare.files.append(FileRef(name="../../etc/passwd", path=None))
    assert "cannot be located" in collection_members(bare)[1][0]
    (tmp_path / "inv.csv").write_bytes(b"P;urn:x:c:a::1.0\r\n")
    bare.files.clear()
    bare.extra.update(inventory_file="inv.csv", field_delimiter="Semicolon")
    assert collection_members(bare) == ([Member(ref="urn:x:c:a::1.0", status="P", kind="lidvid")], [])
    bare.extra.update(field_delimiter="Pipe-ish")
    members, problems = collection_members(bare)
    assert members == [] and "unknown field_delimiter" in problems[0] and "expected 2 fields" in problems[1]



def test_each_problem_carries_the_message_id_validate_uses(tmp_path: Path) -> None:
    inv = tmp_path / "inv.csv"
    inv.write_bytes(b"P,urn:x:c:a::1.0\r\nX,urn:x:c:b::1.0\r\np,urn:x:c:c::1.0\r\nP,\r\nP,urn:x:c:d::1.0,extra\r\n"
                    b"\r\nP\r\nP,urn x c::one\r\n")
    members, problems = read_inventory(inv)
    assert [m.ref for m in members] == ["urn:x:c:a::1.0", "urn:x:c:c::1.0", "urn:x:c:d::1.0"]
    assert [p.message_id for p in problems] == [
        "error.inventory_table.invalid_member_status",  # X
        "error.inventory_table.invalid_member_status",  # p for P
        "error.validation.invalid_field_value",  # empty LIDVID_LID
        "error.table.fields_mismatch",  # third field
        "error.table.fields_mismatch",  # blank row
        "error.table.fields_mismatch",  # one field
        "error.validation.invalid_field_value",  # not a LIDVID
    ]
    assert all(isinstance(p, str) and p.startswith("inv.csv line ") for p in problems)


def test_a_missing_inventory_is_reported_once_by_ingest(tmp_path: Path) -> None:
    from lunarchive.config import open_archive
    from lunarchive.ingest import ingest

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "collection_spice_kernels_v003.xml").write_bytes(
        corpus_file(f"{M2020}/collection_spice_kernels_v003.xml").read_bytes())
    with open_archive(tmp_path / "data", fsync=False) as archive:
        report = ingest(archive, [tree])
    about_inventory = [f for f in report.findings if "collection_spice_kernels_inventory_v003.csv" in f.message]
    assert [f.message_id for f in about_inventory] == ["error.label.missing_file"]
