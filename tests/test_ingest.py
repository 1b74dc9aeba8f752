"""Ingest on real data: counts, re-ingest, versions, bad input, blobs intact."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from lunarchive.config import open_archive
from lunarchive.errors import PathNotFound
from lunarchive.ingest import MSG_INVALID_LABEL, MSG_MISSING_FILE, ingest
from lunarchive.query import Query
from lunarchive.search import get_product, search

from .conftest import corpus_file, shared_corpus


def _blobs_are_intact(data_dir: Path) -> int:
    """Every sha256 the catalogue names exists in the store with that digest; returns how many."""
    with open_archive(data_dir) as archive:
        digests = list(archive.catalog.blob_digests())
        for sha in digests:
            with archive.store.open(sha) as fh:
                assert hashlib.sha256(fh.read()).hexdigest() == sha
    return len(digests)


def test_ingest_tree_then_again_adds_nothing(data_dir: Path) -> None:
    tree = corpus_file("pds4/ladee/ladee_spice")
    with open_archive(data_dir) as archive:
        first = ingest(archive, [tree])
        assert first.added == 20 and first.failed == 0, [f.message for f in first.findings]
        assert first.files_stored >= 16 and first.bytes_hashed > 0
        second = ingest(archive, [tree])
        assert (second.added, second.unchanged, second.new_versions, second.failed) == (0, 20, 0, 0)
        assert archive.catalog.count(Query()) == 20
        bundle = get_product(archive.catalog, "urn:nasa:pds:ladee.spice")
        assert bundle["product_class"] == "Product_Bundle" and bundle["members"]
        kernels = get_product(archive.catalog, "urn:nasa:pds:ladee.spice:spice_kernels")
        assert len(kernels["members"]) == 14  # the rows of collection_spice_kernels_inventory_v001.csv
        assert {m["status"] for m in kernels["members"]} == {"P"}
    assert _blobs_are_intact(data_dir) >= 16


def test_files_measured_against_label(data_dir: Path) -> None:
    label = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    with open_archive(data_dir) as archive:
        ingest(archive, [label])
        row = get_product(archive.catalog, "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr")
    data = (label.parent / "201401031400_rdr.tab").read_bytes()
    (f,) = row["files"]
    assert f["name"] == "201401031400_rdr.tab" and f["status"] == "ok"
    assert f["size"] == len(data) and f["declared_size"] is None  # this label declares no file_size
    assert f["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["start"] == "2014-01-03T13:59:59.993Z" and row["targets"] == ["Moon"]


def test_new_versions_kept_beside_old_and_latest_resolves(data_dir: Path) -> None:
    base = corpus_file("pds4/non_lunar/mars2020_spice_versions")
    with open_archive(data_dir) as archive:
        r1 = ingest(archive, [base / "naif1"])
        r2 = ingest(archive, [base / "naif2"])
        r3 = ingest(archive, [base / "naif3"])
        assert r1.added > 0 and r2.new_versions >= 2 and r3.new_versions >= 2
        lid = "urn:nasa:pds:mars2020.spice"
        versions = archive.catalog.versions(lid)
        assert versions == [f"{lid}::1.0", f"{lid}::2.0", f"{lid}::3.0"]
        assert get_product(archive.catalog, lid)["lidvid"] == f"{lid}::3.0"
        assert get_product(archive.catalog, f"{lid}::1.0")["versions"] == versions
        latest = search(archive.catalog, Query(lids=[lid], latest_only=True))
        assert [r["lidvid"] for r in latest] == [f"{lid}::3.0"]
        coll = get_product(archive.catalog, "urn:nasa:pds:mars2020.spice:spice_kernels")
        assert {m["status"] for m in coll["members"]} == {"P", "S"}


def test_bad_input_becomes_findings_and_the_rest_goes_in(data_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "mixed"
    shutil.copytree(corpus_file("pds4/chandrayaan1/m3_partial"), tree / "m3")
    shutil.copytree(corpus_file("pds4/lro/diviner"), tree / "diviner")
    shutil.copytree(corpus_file("pds4/non_lunar/maven_iuvs_unicode_name"), tree / "maven")
    (tree / "empty.xml").write_bytes(b"")
    (tree / "truncated.xml").write_bytes((tree / "diviner" / "201401031400_rdr.xml").read_bytes()[:900])
    (tree / "xxe.xml").write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<Product_Observational xmlns="http://pds.nasa.gov/pds4/pds/v1">&x;</Product_Observational>'
    )
    lols = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    (tree / "lol.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY l0 "lol">{lols}]><p>&l9;</p>'
    )
    (tree / "diviner" / "201401031400_rdr.tab").unlink()
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree])
        assert report.added == 2 and report.failed == 6
        bad = {Path(f.path).name: f for f in report.findings if f.message_id == MSG_INVALID_LABEL}
        assert set(bad) == {"M3G20081118T222604_V01_RFL.xml_partial", "M3G20090513T150646_V03_RDN.xml_partial",
                            "empty.xml", "truncated.xml", "xxe.xml", "lol.xml"}
        assert all(f.message and "\n" not in f.message for f in bad.values())
        assert bad["M3G20090513T150646_V03_RDN.xml_partial"].line is not None
        missing = [f for f in report.findings if f.message_id == MSG_MISSING_FILE]
        assert len(missing) == 1 and "201401031400_rdr.tab" in missing[0].message
        assert missing[0].line == 254  # the File element naming it, as validate reports it
        maven = search(archive.catalog, Query(text="IUVS"))
        assert maven and maven[0]["label_format"] == "pds4"
        assert search(archive.catalog, Query(text="IUVS\x00")) == maven  # NUL would end SQLite's string early
        row = get_product(archive.catalog, maven[0]["lidvid"])
        assert row["label"]["name"] == "äf.xml" and row["files"][0]["name"] == "äf.fits"
    rows = sqlite3.connect(data_dir / "catalog.sqlite").execute("SELECT count(*) FROM findings").fetchone()
    assert rows[0] == len(report.findings)


def test_missing_path_is_a_user_error(data_dir: Path, tmp_path: Path) -> None:
    with open_archive(data_dir) as archive, pytest.raises(PathNotFound):
        ingest(archive, [tmp_path / "nope"])


def test_whole_corpus_ingests_without_crash(data_dir: Path) -> None:
    corpus = shared_corpus()
    with open_archive(data_dir) as archive:
        report = ingest(archive, [corpus / "pds4", corpus / "pds3"])
        assert report.added + report.new_versions > 200
        for f in report.findings:
            assert f.path and f.message and "\n" not in f.message
    # Every PDS3 label under pds3/ was catalogued or gave a finding naming it.
    pds3_labels = {str(p.resolve()) for p in (corpus / "pds3").rglob("*.lbl")}
    db = sqlite3.connect(data_dir / "catalog.sqlite")
    catalogued = {r[0] for r in db.execute("SELECT source_path FROM products WHERE label_format='pds3'")}
    failed = {f.path for f in report.findings if f.message_id == MSG_INVALID_LABEL}
    assert pds3_labels <= catalogued | failed
    _blobs_are_intact(data_dir)


def _diviner_copy(tree: Path, name: str, old: bytes, new: bytes) -> Path:
    """The Diviner label (with its table) in ``tree/name``, one piece of its text replaced."""
    src = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    (tree / name).mkdir(parents=True)
    label = src.read_bytes()
    assert old in label
    (tree / name / src.name).write_bytes(label.replace(old, new, 1))
    shutil.copyfile(src.with_suffix(".tab"), tree / name / "201401031400_rdr.tab")
    return tree / name / src.name


def test_unusable_identifiers_and_huge_numbers_are_findings(data_dir: Path, tmp_path: Path) -> None:
    """A version_id that is no version id, a LID with '::', a record count beyond any integer SQLite holds: each
    used to stop the whole ingest; now a finding for that label (or a problem noted on the product), the rest
    goes in."""
    tree = tmp_path / "t"
    vid = _diviner_copy(tree, "vid", b"<version_id>1.0</version_id>", b"<version_id>0x10</version_id>")
    lid = _diviner_copy(tree, "lid", b"</logical_identifier>", b"::2.0</logical_identifier>")
    _diviner_copy(tree, "size", b"<records>10</records>", b"<records>99999999999999999999</records>")
    shutil.copytree(corpus_file("pds4/non_lunar/maven_iuvs_unicode_name"), tree / "maven")
    for workers in (0, 2):
        with open_archive(data_dir / str(workers)) as archive:
            report = ingest(archive, [tree], workers=workers)
        assert (report.added, report.failed) == (2, 2)
        bad = {Path(f.path).parent.name: f.message for f in report.findings if f.message_id == MSG_INVALID_LABEL}
        assert set(bad) == {"vid", "lid"}
        assert "'0x10' is not a version id" in bad["vid"] and "::" in bad["lid"]
        assert str(lid) not in bad["lid"] and str(vid) not in bad["vid"]  # the path is the finding's, not repeated


def test_discipline_areas_are_shown_from_the_kept_label(data_dir: Path) -> None:
    """Ingest stores no discipline dicts for PDS4 products; show builds them from the label it kept, equal to
    what parsing the label gives, and the footprint still reads the label's longitude direction."""
    from lunarchive.formats.pds4 import parse_label

    label = corpus_file("pds4/clementine/basemap/basemap_north_pole.xml")
    parsed = parse_label(label)
    with open_archive(data_dir) as archive:
        ingest(archive, [label])
        row = get_product(archive.catalog, parsed.lidvid)
    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
        (stored,) = conn.execute("SELECT discipline FROM products WHERE lidvid=?", (parsed.lidvid,)).fetchone()
    assert stored == "{}" and parsed.discipline["cart:Cartography"]
    assert row["discipline"] == parsed.discipline
    assert row["extra"]["positive_longitude_direction"] == parsed.extra["positive_longitude_direction"]
    assert parsed.extra["positive_longitude_direction"] == "Positive East"


@pytest.mark.parametrize("workers", [0, 2])
def test_progress_counts_every_candidate_and_ends_with_the_total(data_dir: Path, workers: int) -> None:
    """The walk runs ahead of the work, so the total is unknown (None) until it ends; the last call says
    how many candidate files there were, all done."""
    calls: list[tuple[int, int | None]] = []
    with open_archive(data_dir) as archive:
        report = ingest(archive, [corpus_file("pds4/ladee/ladee_spice")], workers=workers,
                        progress=lambda stage, done, total: calls.append((done, total)))
    assert [done for done, _ in calls] == list(range(1, len(calls) + 1))
    assert calls[-1] == (len(calls), len(calls)) and len(calls) == report.added == 20
    assert all(total is None or total == len(calls) for _, total in calls)


def test_bundles_checked_during_one_walk_give_the_findings_of_checks_after_it(tmp_path: Path, corpus: Path) -> None:
    """One tree ingested as one path checks each bundle as soon as the results leave its directory, while
    the workers go on; the same tree given as several paths is checked after all results are in. Both
    record the same findings, against the same products (bundles and invalid bundles of the copied corpus,
    nested directories included)."""
    tree = corpus / "pds4"
    parts = sorted(p for p in tree.glob("*/*") if p.is_dir())

    def findings(data_dir: Path, paths: list[Path], workers: int) -> list[tuple[object, ...]]:
        with open_archive(data_dir) as archive:
            ingest(archive, paths, workers=workers)
        with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
            rows = conn.execute(
                "SELECT f.message_id, f.path, f.lidvid, f.message, f.line, p.lidvid FROM findings f"
                " LEFT JOIN products p ON p.id = f.product_id").fetchall()
        return sorted(rows, key=repr)

    one_walk = findings(tmp_path / "a", [tree], 2)
    after = findings(tmp_path / "b", parts, 0)
    # a part holding no label is said to hold none (kaguya/grs_inventory_variants: an inventory alone)
    empty = [r for r in after if "no labels found" in str(r[3])]
    assert [r[1] for r in empty] == [str((tree / "kaguya" / "grs_inventory_variants").resolve())]
    assert one_walk == [r for r in after if r not in empty]
    tree_rules = {str(r[0]) for r in one_walk} & {"error.integrity.member_not_found",
                                                  "warning.integrity.unreferenced_member",
                                                  "warning.file.not_referenced_in_label",
                                                  "error.file.name_has_invalid_characters"}
    assert len(tree_rules) == 4  # the tree checks did find something to compare


def test_labels_kept_compressed_and_labels_kept_before_that_read_alike(data_dir: Path) -> None:
    """Labels are kept as LZ4 frames with their own size; a catalogue written before migration 0003 (labels
    as read, no codec) gets the columns and still gives its labels back byte for byte."""
    label = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    raw = label.read_bytes()
    with open_archive(data_dir) as archive:
        ingest(archive, [label])
    db = data_dir / "catalog.sqlite"
    with sqlite3.connect(db) as conn:
        data, codec, size = conn.execute("SELECT data, codec, size FROM labels").fetchone()
    assert codec == "lz4" and size == len(raw) and len(data) < len(raw) / 2
    with open_archive(data_dir) as archive:
        lidvid = search(archive.catalog, Query())[0]["lidvid"]
        assert archive.catalog.label(lidvid) == raw
    with sqlite3.connect(db) as conn:  # back to the schema and rows of a catalogue written before 0003
        conn.executescript("ALTER TABLE labels DROP COLUMN codec; ALTER TABLE labels DROP COLUMN size;"
                           " DELETE FROM _migrations WHERE name = '0003_label_codec';")
        conn.execute("UPDATE labels SET data = ?", (raw,))
    with open_archive(data_dir) as archive:
        assert archive.catalog.label(lidvid) == raw
        sha = archive.catalog.get(lidvid)["label"]["sha256"]
        assert hashlib.sha256(archive.catalog.label(lidvid)).hexdigest() == sha
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT codec, size FROM labels").fetchone() == (None, None)


def test_walk_order_links_and_skipped_data_dir(tmp_path: Path) -> None:
    """Files of a directory by name, then its subdirectories by name; linked labels are found, linked
    directories (whatever their names) are not walked, and the data directory inside the tree is skipped."""
    from lunarchive.ingest import iter_candidates

    label = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    tree = tmp_path / "tree"
    (tree / "b" / "deep").mkdir(parents=True)
    (tree / "a").mkdir()
    (tree / "data").mkdir()
    for rel in ("z.xml", "b/x.xml", "b/deep/y.lblx", "a/w.xml", "data/skipped.xml"):
        shutil.copy(label, tree / rel)
    (tree / "b" / "linked.xml").symlink_to(label)
    (tree / "b" / "table.tab").symlink_to(label.parent / "201401031400_rdr.tab")
    (tree / "dir_named.xml").symlink_to(tree / "a", target_is_directory=True)
    (tree / "linked_dir").symlink_to(tree / "b", target_is_directory=True)
    found = [(p.relative_to(tree).as_posix(), kind) for p, kind in iter_candidates([tree], skip=tree / "data")]
    assert found == [("z.xml", "pds4"), ("a/w.xml", "pds4"), ("b/linked.xml", "pds4"), ("b/x.xml", "pds4"),
                     ("b/deep/y.lblx", "pds4")]


def test_phase_timings_do_not_overlap(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In one process each phase is timed once: the phases add up to no more than the ingest's wall time,
    even when the inserts (made inside the decisions' loop) are slow."""
    import time

    from lunarchive import ingest as ingest_module
    from lunarchive.catalog.sqlite import SqliteCatalog

    real_add_rows = SqliteCatalog.add_rows

    def slow_add_rows(self: SqliteCatalog, *args: object, **kwargs: object) -> list[int]:
        time.sleep(0.05)
        return real_add_rows(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteCatalog, "add_rows", slow_add_rows)
    monkeypatch.setattr(ingest_module, "_FLUSH_EVERY", 2)
    tree = corpus_file("pds4/ladee/ladee_spice")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree], workers=0)
    phases = {k: v for k, v in report.timings.items() if k != "wall"}
    assert {"parse", "hash", "catalog", "validate", "rows"} <= set(phases)
    assert phases["catalog"] >= 0.05 * 10
    assert sum(phases.values()) <= report.timings["wall"]


def test_one_walk_keeps_one_bundle_of_products_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three bundles and loose labels walked as one path: the bundle checks see only their own bundle's
    products, and what they find equals the checks made after the whole run (several paths), a label
    beside a bundle label that sorts before it included."""
    from lunarchive.ingest import _Batch

    tree = tmp_path / "tree"
    for rel in ("ladee/ladee_spice", "clps/pitms_bundle", "kaguya/grs_bundle"):
        shutil.copytree(corpus_file(f"pds4/{rel}"), tree / rel)
    shutil.copytree(corpus_file("pds4/lro/diviner"), tree / "lro" / "diviner")
    doc = tree / "ladee" / "ladee_spice" / "document" / "spiceds_v001.xml"
    early = doc.read_bytes().replace(b"document:spiceds</logical_identifier>", b"document:early</logical_identifier>")
    (tree / "ladee" / "ladee_spice" / "aaa_early.xml").write_bytes(early)
    shutil.copy(doc.with_suffix(".html"), tree / "ladee" / "ladee_spice" / "spiceds_v001.html")
    kept: list[int] = []
    real_check = _Batch._check_bundle

    def check(self: _Batch, root: str) -> None:
        kept.append(len(self.seen))
        real_check(self, root)

    monkeypatch.setattr(_Batch, "_check_bundle", check)

    def findings(data_dir: Path, paths: list[Path]) -> list[tuple[object, ...]]:
        with open_archive(data_dir) as archive:
            ingest(archive, paths, workers=0)
        with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
            rows = conn.execute(
                "SELECT f.message_id, f.path, f.lidvid, f.message, f.line, p.lidvid FROM findings f"
                " LEFT JOIN products p ON p.id = f.product_id").fetchall()
        return sorted(rows, key=repr)

    one_walk = findings(tmp_path / "a", [tree])
    assert len(kept) == 3 and max(kept) <= 24  # the largest bundle (LADEE, 21 labels and the early one)
    kept.clear()
    after = findings(tmp_path / "b", sorted(p for p in tree.glob("*/*") if p.is_dir()))
    assert one_walk == after and not kept  # several paths: checked after the run, not during it
    assert any("aaa_early.xml" in str(r[1]) and "integrity" in str(r[0]) for r in one_walk)


def test_reference_that_is_not_an_identifier_is_a_finding_not_a_crash(tmp_path: Path, data_dir: Path) -> None:
    """Found by mutating real labels: a reference of ``::`` (or a LIDVID whose VID is not a version) stopped
    the whole ingest when its rows were built. Now the reference is left out and reported on its line."""
    tree = tmp_path / "ladee_spice"
    shutil.copytree(corpus_file("pds4/ladee/ladee_spice"), tree)
    label = tree / "bundle_ladee_spice_v001.xml"
    data = label.read_bytes()
    data = data.replace(b"<lid_reference>urn:nasa:pds:context:target:satellite.earth.moon</lid_reference>",
                        b"<lid_reference>::</lid_reference>")
    data = data.replace(b"spice_kernels::1.0</lidvid_reference>", b"spice_kernels::one</lidvid_reference>")
    label.write_bytes(data)
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree])
        assert report.failed == 0 and report.added == 20
        bundle = get_product(archive.catalog, "urn:nasa:pds:ladee.spice")
    schema = sorted((f["line"], f["message"]) for f in bundle["findings"] if f["message_id"] == "error.label.schema")
    assert [line for line, _ in schema] == [49, 78]  # the Internal_Reference, the Bundle_Member_Entry
    assert "'::' is not a LID or a LIDVID" in schema[0][1] and "spice_kernels::one" in schema[1][1]
    assert all("::" != r["target"] for r in bundle["references"])
    assert len(bundle["members"]) == 2  # three entries in the label, the bad one left out


def test_read_whole_reads_files_whatever_their_stated_size(tmp_path: Path) -> None:
    """Labels are read with one read of their size; empty files, and files whose stated size is not their
    length (/proc reports 0), are read whole all the same."""
    from lunarchive.formats.files import read_whole

    label = corpus_file("pds4/invalid/kaguya_grs_inventory_records_mismatch/bundle_kaguya_derived.xml")
    assert read_whole(str(label)) == label.read_bytes()
    (tmp_path / "empty.xml").write_bytes(b"")
    assert read_whole(str(tmp_path / "empty.xml")) == b""
    status = Path("/proc/self/status")
    if status.exists() and status.stat().st_size == 0:
        assert read_whole(str(status)).startswith(b"Name:")
    with pytest.raises(IsADirectoryError):
        read_whole(str(tmp_path))


def test_a_file_named_on_its_own_that_is_no_label_is_reported(data_dir: Path) -> None:
    """Naming a file that is not a label (a data file here) records an info finding instead of nothing."""
    data_file = corpus_file("pds4/invalid/apollo_sws_table_definition/b.tab")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [data_file])
    assert (report.added, report.failed) == (0, 0)
    assert [(f.message_id, f.severity, f.path) for f in report.findings] == [
        ("info.validation.general", "info", str(data_file.resolve()))]
    assert "not a label lunarchive reads" in report.findings[0].message


def test_pds3_label_notes_are_recorded_with_the_product(data_dir: Path, tmp_path: Path) -> None:
    """A PDS3 label lacking PDS_VERSION_ID, with a keyword with no value, is catalogued with its notes."""
    label = tmp_path / "tree" / "bare.lbl"
    label.parent.mkdir()
    label.write_text("TARGET_NAME = MOON\nSTART_TIME =\nEND\n")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [label.parent])
        row = get_product(archive.catalog, "urn:lunarchive:pds3:unknown:bare")
    assert report.added == 1 and report.failed == 0
    got = sorted((f["message_id"], f["severity"], f["line"]) for f in row["findings"])
    assert got == [("info.pds3.id_not_in_label", "info", None), ("info.pds3.id_not_in_label", "info", None),
                   ("warning.pds3.empty_value", "warning", 2), ("warning.pds3.missing_keyword", "warning", None)]


def test_show_says_where_a_file_differs_from_its_label(data_dir: Path) -> None:
    """A file found and read has status ok; whether its size and md5 equal the label's is said apart."""
    tree = corpus_file("pds4/invalid/esa_test_filesize_mismatch")
    with open_archive(data_dir) as archive:
        ingest(archive, [tree])
        lidvid = search(archive.catalog, Query(limit=5))[0]["lidvid"]
        row = get_product(archive.catalog, lidvid)
    (data,) = [f for f in row["files"] if f["name"].endswith(".tab")]
    assert data["status"] == "ok"
    assert data["matches_label"] == {"size": False, "md5": True}
    assert data["size"] != data["declared_size"]


def test_information_package_manifests_are_measured(data_dir: Path) -> None:
    """The manifests of an AIP and a SIP are stored and measured like any product file: their real sizes
    differ from the ones their labels declare, and each is reported with the File element's line."""
    tree = Path(__file__).parent / "data" / "pypi" / "pds4" / "ladee_deep_archive" / "package"
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree])
    assert report.added == 2 and report.failed == 0
    sizes = sorted((Path(f.path).name, f.line) for f in report.findings
                   if f.message_id == "error.label.filesize_mismatch")
    assert sizes == [("ladee_mission_bundle_v1.0_aip_v1.0.xml", 34), ("ladee_mission_bundle_v1.0_aip_v1.0.xml", 50),
                     ("ladee_mission_bundle_v1.0_sip_v1.0.xml", 27)]


def test_a_tree_without_labels_says_so(data_dir: Path, tmp_path: Path) -> None:
    """A directory with no label in it gives one info finding, not an empty summary."""
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    shutil.copy(corpus_file("pds4/invalid/apollo_sws_table_definition/b.tab"), tmp_path / "tree" / "sub")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tmp_path / "tree"])
    assert report.counts() == {"added": 0, "unchanged": 0, "new_versions": 0, "failed": 0}
    assert [(f.severity, f.path) for f in report.findings] == [("info", str((tmp_path / "tree").resolve()))]
    assert "no labels found" in report.findings[0].message
    # beside a path that holds labels, the directory without any is still named (it was not, once the
    # batch had found anything)
    label = corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml")
    with open_archive(tmp_path / "other") as archive:
        report = ingest(archive, [tmp_path / "tree", label])
    assert report.added == 1
    assert [(f.severity, f.path) for f in report.findings if "no labels found" in f.message] == [
        ("info", str((tmp_path / "tree").resolve()))]


def test_pipes_named_like_labels_or_data_files_do_not_hang_an_ingest(data_dir: Path, tmp_path: Path) -> None:
    """A FIFO named like a label, and a FIFO where a label names its data file, are reported, not opened
    for a read that would wait for a writer forever."""
    import os

    src = corpus_file("pds4/invalid/esa_test_filesize_mismatch/minimal_test_product_good2.xml")
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(src, tree / src.name)
    os.mkfifo(tree / "minimal_test_product_good2.tab")  # the data file the label names
    os.mkfifo(tree / "pipe.xml")
    os.mkfifo(tree / "pipe.img")  # names whose first bytes are read to tell a label (attached PDS3, index)
    os.mkfifo(tree / "pipe.csv")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree], workers=0)
    assert (report.added, report.failed) == (1, 1)
    by_path = {Path(f.path).name: f for f in report.findings if f.severity == "error"}
    assert "not a regular file" in by_path["pipe.xml"].message
    assert "is not a regular file" in by_path[src.name].message
    with open_archive(tmp_path / "other") as archive:  # named on its own, it says the same (it said "not a label")
        report = ingest(archive, [tree / "pipe.xml"], workers=0)
    (finding,) = report.findings
    assert finding.severity == "error" and "not a regular file" in finding.message


def test_a_product_root_outside_the_pds4_namespace_is_a_broken_label(data_dir: Path) -> None:
    """ExoMars CaSSIS's pipeline header (ISIS3's test file) has a Product_Observational root in no namespace:
    ingest and validate both say that, as an error, rather than 'not a PDS4 label'."""
    from lunarchive.validate import validate_paths

    header = (Path(__file__).parent / "data/github/pds4/tgo_cassis_header"
              / "CAS-MCO-2016-11-26T22.50.27.381-RED-01005-B1.xml")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [header])
    found = [(f.message_id, f.severity) for f in report.findings]
    assert report.failed == 1 and found == [(MSG_INVALID_LABEL, "error")]
    assert "Product_Observational is in no namespace" in report.findings[0].message
    (checked,) = validate_paths([header]).all_findings()
    assert checked.message_id == MSG_INVALID_LABEL and "in no namespace" in checked.message


def test_change_level_labels_are_read_when_they_hold_xml(data_dir: Path, tmp_path: Path) -> None:
    """Chang'e releases name a product's label after its level (``x.2BL`` beside ``x.2B``). A real PDS4
    label under such a name is ingested and validated like any; a file so named that holds no XML is
    not taken for a label by ingest (validate, which checks every label name in a folder, reports it)."""
    from lunarchive.validate import validate_paths

    src = corpus_file("pds4/invalid/esa_test_filesize_mismatch/minimal_test_product_good2.xml")
    tree = tmp_path / "ce"
    tree.mkdir()
    shutil.copy(src, tree / "minimal_test_product_good2.2BL")
    shutil.copy(src.with_suffix(".tab"), tree / "minimal_test_product_good2.tab")
    (tree / "binary.2CL").write_bytes(b"\x00\x01\x02 not a label")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [tree])
    assert (report.added, report.failed) == (1, 0)
    assert {f.message_id for f in report.findings} >= {"error.label.filesize_mismatch"}
    checked = {Path(p.path).name: {f.message_id for f in p.findings} for p in validate_paths([tree]).products}
    assert "error.label.filesize_mismatch" in checked["minimal_test_product_good2.2BL"]
    assert checked["binary.2CL"] == {MSG_INVALID_LABEL}  # validate, told to, checks every label name


def test_data_files_delivered_after_their_label_are_stored_when_ingested_again(tmp_path: Path) -> None:
    """A partner delivers the LEND label first and its data files later (both real): ingesting the tree again
    leaves the product unchanged but measures and stores the files, which are then ``ok``, and the findings that
    they were missing give way to an info finding that says when they came; a third ingest changes nothing."""
    from lunarchive.search import get_product

    tree = tmp_path / "tree"
    tree.mkdir()
    label = corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml")
    shutil.copyfile(label, tree / label.name)
    lid = "urn:nasa:pds:lro_lend:data_science_derived:lend_rdr_dld_20240615"
    with open_archive(tmp_path / "data", fsync=False) as archive:
        first = ingest(archive, [tree], workers=0)
        before = get_product(archive.catalog, lid)
    assert first.added == 1 and {f["status"] for f in before["files"]} == {"missing"}
    assert sum(f["message_id"] == MSG_MISSING_FILE for f in before["findings"]) == 2
    for name in ("lend_rdr_dld_20240615.dat", "lend_rdr_dld_20240615.lbl"):
        shutil.copyfile(corpus_file(f"pds3/lro_lend/{name}"), tree / name)
    with open_archive(tmp_path / "data", fsync=False) as archive:
        second = ingest(archive, [tree], workers=0)
        after = get_product(archive.catalog, lid)
        third = ingest(archive, [tree], workers=0)
    assert (second.added, second.unchanged, second.files_stored) == (1, 1, 2)  # added: the PDS3 twin label
    assert {f["name"]: f["status"] for f in after["files"]} == {
        "lend_rdr_dld_20240615.dat": "ok", "lend_rdr_dld_20240615.lbl": "ok"}
    assert not any(f["message_id"] == MSG_MISSING_FILE for f in after["findings"])
    arrived = [f["message"] for f in after["findings"] if "is there now" in f["message"]]
    assert len(arrived) == 2 and all(f"missing when {lid}::1.0 was catalogued" in m for m in arrived)
    assert (third.unchanged, third.files_stored, third.findings) == (2, 0, [])


def test_a_pds3_label_named_on_its_own_is_read_whatever_its_name(tmp_path: Path) -> None:
    """ISIS3 keeps a Kaguya MI label as ``3C5_label.pvl``: named on its own, a file that begins with
    PDS_VERSION_ID is read as a PDS3 label (it was skipped as "not a label", a message that contradicted
    itself); in a tree walk only .lbl and the data-file names are read."""
    src = corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl")
    named = tmp_path / "M103595705LE.pvl"
    shutil.copyfile(src, named)
    with open_archive(tmp_path / "data", fsync=False) as archive:
        alone = ingest(archive, [named], workers=0)
        walked = ingest(archive, [named.parent], workers=0)
    assert alone.added == 1 and not any("not a label" in f.message for f in alone.findings)
    assert walked.added == 0 and walked.unchanged == 0


def test_a_late_data_file_is_checked_as_a_first_ingest_would(tmp_path: Path) -> None:
    """The Diviner label first, then its table cut to 2,000 bytes (real data): once the table arrives, the
    product gets what a first ingest of both gives (the truncated data object), so it is found invalid; what
    the product held already is not recorded twice."""
    from lunarchive.query import Query
    from lunarchive.search import get_product, search

    src = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    table = corpus_file("pds4/lro/diviner/201401031400_rdr.tab").read_bytes()[:2000]
    lid = "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr"
    tree, fresh = tmp_path / "tree", tmp_path / "fresh"
    tree.mkdir()
    shutil.copyfile(src, tree / src.name)
    with open_archive(tmp_path / "data", fsync=False) as archive:
        ingest(archive, [tree], workers=0)
        (tree / "201401031400_rdr.tab").write_bytes(table)
        second = ingest(archive, [tree], workers=0)
        stored = sorted((f["message_id"], f["line"]) for f in get_product(archive.catalog, lid)["findings"]
                        if f["severity"] != "info")
        invalid = [r["lid"] for r in search(archive.catalog, Query(valid=False))]
    shutil.copytree(tree, fresh)
    with open_archive(tmp_path / "data-fresh", fsync=False) as archive:
        first = ingest(archive, [fresh], workers=0)
    expected = sorted((f.message_id, f.line) for f in first.findings if f.severity != "info")
    assert stored == expected and ("error.label.table_definition_problem", 270) in expected
    assert invalid == [lid]
    assert sorted((f.message_id, f.line) for f in second.findings if f.severity != "info") == expected


def test_digest_lookups_of_a_first_ingest_ask_the_catalogue_once(tmp_path: Path) -> None:
    """A catalogue that holds nothing when a batch begins answers every lookup of that batch with "not
    catalogued" after one query; closed and reopened (the next batch), it looks again."""
    label = corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml")
    lid = "urn:nasa:pds:lro_lend:data_science_derived:lend_rdr_dld_20240615"
    with open_archive(tmp_path / "data", fsync=False) as archive:
        lookup = archive.catalog.digest_lookup()
        assert lookup.lookup(lid, "1.0") == (None, False)
        ingest(archive, [label], workers=0)
        assert lookup.lookup(lid, "1.0") == (None, False)  # as the batch that began empty saw it
        lookup.close()
        digest, known = lookup.lookup(lid, "1.0")
    assert known and digest == hashlib.sha256(label.read_bytes()).hexdigest()


def test_a_bundle_delivered_after_its_collections_is_checked_against_the_catalogue(tmp_path: Path) -> None:
    """The PITMS collection ingested first, its bundle label in a later batch: the collection the bundle lists
    is catalogued, and the files its products name are theirs, so the bundle's batch finds nothing a
    one-batch ingest of the whole bundle does not (it had found the member missing and the files unlabelled)."""
    bundle = corpus_file("pds4/clps/pitms_bundle")
    def findings(data: Path, batches: list[Path]) -> set[tuple[str, str]]:
        out = set()
        with open_archive(data, fsync=False) as archive:
            for paths in batches:
                out |= {(f.message_id, f.path) for f in ingest(archive, [paths], workers=0).findings}
        return out
    whole = findings(tmp_path / "a", [bundle])
    in_two = findings(tmp_path / "b", [bundle / "data_raw", bundle / "bundle.xml"])
    assert in_two == whole
    assert not any("member_not_found" in m or "not_referenced" in m for m, _ in in_two)


def test_an_html_page_named_on_its_own_is_no_label(data_dir: Path) -> None:
    """The LADEE SPICE bundle's HTML SPICE description begins with '<' but is no PDS4 label: named on its own it
    is reported and skipped (a PDS4 label named without .xml is read: its root is a Product_*)."""
    page = corpus_file("pds4/ladee/ladee_spice/document/spiceds_v001.html")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [page])
    assert (report.added, report.failed) == (0, 0)
    assert [f.message_id for f in report.findings] == ["info.validation.general"]


@pytest.mark.parametrize(("strict", "expected"), [(True, "error.integrity.member_not_found"),
                                                  (False, "warning.integrity.member_not_found")])
def test_a_member_in_neither_tree_nor_catalogue(tmp_path: Path, strict: bool, expected: str) -> None:
    """The PITMS inventory made to list version 9.0 of its product: a member missing from the tree and the
    catalogue is an error, as in validate 4.2, or with strict_membership=False the warning it was."""
    tree = tmp_path / "pitms"
    shutil.copytree(corpus_file("pds4/clps/pitms_bundle"), tree)
    inventory = tree / "data_raw" / "collection.csv"
    rows = inventory.read_bytes().split(b"\r\n")
    inventory.write_bytes(rows[0].replace(b"::1.0", b"::9.0") + b"\r\n" + b"\r\n".join(rows[1:]))
    with open_archive(tmp_path / "data", fsync=False) as archive:
        report = ingest(archive, [tree], workers=0, strict_membership=strict)
    assert [f.severity for f in report.findings if f.message_id == expected] == [
        "error" if strict else "warning"]


def test_text_search_finds_dois_and_keywords(data_dir: Path, tmp_path: Path) -> None:
    """``--text`` finds a product by its own DOI, a keyword of its citation, and a DOI it cites."""
    tree = tmp_path / "tree"
    tree.mkdir()
    github = Path(__file__).parent / "data" / "github" / "pds4"
    shutil.copy(github / "ldd_lro_nac_dtm" / "NAC_DTM_A12LMAS_VALID.xml", tree)
    shutil.copy(github / "validate_github1100" / "bundle_suda.XML", tree / "bundle_suda.xml")
    shutil.copy(corpus_file("pds4/non_lunar/mars2020_spice_versions/naif2/spice_kernels/m2020_v01.xml"), tree)
    with open_archive(data_dir) as archive:
        ingest(archive, [tree], workers=0)
        lids = {q: [r["lid"] for r in search(archive.catalog, Query(text=q))]
                for q in ("10.1016/j.icarus.2016.05.012", "10.26033/xaky-md22", '"Observation Geometry"',
                          "10.1016/j.icarus.2099.01.001")}
    assert lids["10.1016/j.icarus.2016.05.012"] == [
        "urn:nasa:pds:lro-l-lroc-5-rdr:lrolrc_2001_data:sdp.nac_dtm.a12lmas.nac_dtm_a12lmas"]
    assert lids["10.26033/xaky-md22"] == ["urn:nasa:pds:clipper.sud"]
    assert lids['"Observation Geometry"'] == ["urn:nasa:pds:mars2020.spice_test2:spice_kernels:mk_m2020"]
    assert lids["10.1016/j.icarus.2099.01.001"] == []  # another DOI of the same journal


def test_class_filter_takes_names_and_word_starts(data_dir: Path) -> None:
    """``--class`` takes a class by its name, with or without ``Product_``, in any case, or by words that
    begin its words (``spice``, ``kernel``); a word that begins none finds nothing."""
    with open_archive(data_dir) as archive:
        ingest(archive, [corpus_file("pds4/ladee/ladee_spice")], workers=0)

        def classes(*names: str) -> dict[str, int]:
            rows = search(archive.catalog, Query(product_classes=list(names), limit=1000))
            return {c: sum(r["product_class"] == c for r in rows) for c in {r["product_class"] for r in rows}}

        kernels = classes("Product_SPICE_Kernel")
        assert list(kernels) == ["Product_SPICE_Kernel"] and kernels["Product_SPICE_Kernel"] > 5
        assert classes("spice") == classes("KERNEL") == classes("spice_kernel") == classes("Spice Kernel") == kernels
        assert classes("collection") == {"Product_Collection": 3}
        assert classes("bundle", "spice") == {**kernels, "Product_Bundle": 1}
        assert classes("pice") == classes("observational") == {}


def test_a_lbl_file_holding_its_data_keeps_only_its_label(data_dir: Path) -> None:
    """THEMIS's .lbl files hold their qube after the label: the catalogue keeps the label up to END (the
    API's /label gave the whole 1.7 MB file as text), and the file itself is stored whole as the data."""
    themis = corpus_file("pds3/non_lunar/odyssey_themis/I74199019RDR.lbl")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [themis], workers=0)
        assert report.added == 1, [f.message for f in report.findings]
        lidvid = search(archive.catalog, Query())[0]["lidvid"]
        label = archive.catalog.label(lidvid)
        assert label.startswith(b"PDS_VERSION_ID") and label.rstrip().endswith(b"END") and len(label) < 8 * 644
        sizes = [f["size"] for f in get_product(archive.catalog, lidvid)["files"]]
    assert themis.stat().st_size in sizes
