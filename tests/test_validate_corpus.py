"""The whole shared corpus (outside invalid/): the exact errors, product by product, each with its reason.

Bundles (directories holding a bundle label) are validated as bundles (``pds4.bundle``: product checks and
referential integrity, checksum manifests included); every other label on its own. Every product not
listed here must give no error at all. The errors listed are real properties of the corpus copies: files
the corpus did not copy (its README says which), files cut down or re-encoded when the corpus was made,
and a few genuine label defects; what NASA PDS validate reports for them is what is expected here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from lunarchive.validate import validate_paths

from .conftest import shared_corpus

MISSING = "error.label.missing_file"
SIZE = "error.label.filesize_mismatch"
MD5 = "error.label.checksum_mismatch"
DEFINITION = "error.label.table_definition_problem"
RECORDS = "error.table.records_mismatch"
CRLF = "error.table.missing_CRLF"
NAME = "error.file.name_has_invalid_characters"

EXPECTED: dict[str, dict[str, int]] = {}


# Data files the corpus did not copy (label-only harvest; README: "The image .tif files are not included",
# "has md5, no image", "no data file", "three LUT labels point at missing files", Bennu bin.05.dat...).
for p in [
    "astromat/bundle_astromat_chem.xml",  # readme.txt of the bundle not copied
    "chandrayaan1/minirf/fsb_01500_rhk_xib_85s238_v1.xml",  # names its PDS3 twin .lbl, kept under pds3/
    "chandrayaan2/iirs_bundle/calibration/ch2_iirs_cal_e2g2_lut_coeff.xml",  # e2-e4 LUTs not copied
    "chandrayaan2/iirs_bundle/calibration/ch2_iirs_cal_e3g2_lut_coeff.xml",
    "chandrayaan2/iirs_bundle/calibration/ch2_iirs_cal_e4g2_lut_coeff.xml",
    "chandrayaan2/iirs_bundle/document/ch2_iirs_pds_dp_archive_sis.xml",  # SIS pdf not copied
    *[
        f"clementine/basemap/basemap_{n}.xml"
        for n in (
            "emission_farside",
            "emission_nearside",
            "incidence_farside",
            "nearside",
            "north_pole",
            "phase_nearside",
            "planetwide",
        )
    ],
    *[f"clementine/browse/basemap_{n}_browse.xml" for n in ("nearside", "north_pole", "planetwide")],
    *[
        f"clementine/document/index/{n}.xml"
        for n in ("basemap_edr_source_index", "duplicate_edr_products", "edr_index", "edr_metadata_index")
    ],  # index CSVs not copied
    "ladee/nms/nms_cal_mkr_36006_20130918_220556.xml",  # "no data file"
    "lro/lend/lend_rdr_dld_20240615.lblx",  # both name the PDS3 .lbl, kept under pds3/lro_lend
    "lro/lend/lend_rdr_dld_20240615.xml",
    "lro/lroc/M102600893LC_VALID.xml",  # ldd-lro mock-up labels name a file "No.Data"
    "lro/lroc/M102600893LE_VALID.xml",
    "lro/lroc/M102601080CC_VALID.xml",
    "lro/lroc/M1431146123CC.xml",  # "has md5, no image"
    "non_lunar/bennu_orex_ola/binobs2.xml",  # points at bin.05.dat, not there (bin.02.dat is)
    "non_lunar/pluto_nh_albedo/pluto_albedo_hof22.xml",  # .fit not copied
    "non_lunar/titan_cassini_radar/BILQH07S314_D065_T008S02_V02.xml",  # .IMG not copied
]:
    EXPECTED[p] = {MISSING: 1}
# validate's cross-label rule: one run's observational labels name a file once. The LEND label is the same in
# .lblx and .xml (checked first: sorted; both name the .dat and the PDS3 .lbl), and the three LROC mock-ups
# all name "No.Data"
SHARED = "error.label.file_areas_duplicated_reference"
for p in ["lro/lroc/M102600893LE_VALID.xml", "lro/lroc/M102601080CC_VALID.xml"]:
    EXPECTED[p] = {MISSING: 1, SHARED: 1}
# ... and, being the same label, both declare one LIDVID: the second read is a duplicate identifier (SR 6D.2)
EXPECTED["lro/lend/lend_rdr_dld_20240615.xml"] = {MISSING: 1, SHARED: 2, "error.label.duplicate_identifier": 1}
EXPECTED["clementine/document/index/mosaic_tiling_scheme.xml"] = {MISSING: 2}  # .html and .gif not copied
# .fits and Image_Information/..._inf.txt not copied
EXPECTED["non_lunar/jupiter_cassini_iss_map/Cassini_ISS_CB2_Jupiter_global_map_2.xml"] = {MISSING: 2}

# Chandrayaan-2 IIRS: the copies differ from what the labels describe (line endings / a later inventory).
for p in [
    "chandrayaan2/iirs_bundle/calibration/ch2_iirs_cal_e1g2_lut_coeff.xml",  # 1760220 declared, 1747171 held
    "chandrayaan2/iirs_bundle/calibration/ch2_iirs_cal_e1g2_saturations_radiance.xml",
    "chandrayaan2/iirs_bundle/calibration/collection_calibration_inventory.xml",
    "chandrayaan2/iirs_bundle/document/collection_document_inventory.xml",
]:
    EXPECTED[p] = {SIZE: 1}
# The label describes a 1-record, 57-byte inventory; the copied CSV has 7 records (504 bytes): size, md5,
# <records> against the inventory (product level) and against the members (referential integrity).
EXPECTED["chandrayaan2/iirs_bundle/miscellaneous/collection_miscellaneous_inventory.xml"] = {
    SIZE: 1,
    MD5: 1,
    RECORDS: 2,
}

# Kaguya GRS: the spectra CSVs are 0 bytes in the source test data ("spectra .csv files are 0 bytes").
for n in (1, 2, 3):  # 264544, 541419 and 527736 records declared, 0 present
    EXPECTED[f"kaguya/grs_bundle/data_spectra/kgrs_calibrated_spectra_per{n}.xml"] = {RECORDS: 1}
# The 2-member inventory variant: its last line has no carriage-return line-feed.
EXPECTED["kaguya/grs_inventory_variants/spectra_data_collection_inventory_2.xml"] = {CRLF: 1}

# LADEE SPICE: kernels were shortened for the test bundle ("some kernels are shortened test versions"): their
# file_size and md5 no longer match; and every label (and the inventories, re-encoded with LF line ends) no
# longer matches the bundle's checksum manifest miscellaneous/checksum/checksum_v001.tab.
L = "ladee/ladee_spice/"
for k in [
    "fk/ladee_frames_2021140_v01",
    "fk/moon_080317",
    "fk/moon_assoc_me",
    "ik/ladee_ldex_v01",
    "ik/ladee_nms_v00",
    "ik/ladee_uvs_v00",
    "lsk/naif0010",
    "pck/pck00010",
    "sclk/ladee_clkcor_13250_14108_v01",
    "sclk/ladee_clkcor_2013015_v01",
]:
    EXPECTED[f"{L}spice_kernels/{k}.xml"] = {SIZE: 1, MD5: 2}  # kernel md5 (label) + label md5 (manifest)
for k in ["ck/ladee_14030_14108_v04", "mk/ladee_v01", "spk/de432s", "spk/ladee_r_13325_14108_sci_v01"]:
    EXPECTED[f"{L}spice_kernels/{k}.xml"] = {MD5: 1}  # kernel intact; the label differs from the manifest
EXPECTED[f"{L}bundle_ladee_spice_v001.xml"] = {SIZE: 1, MD5: 2}  # readme.txt (label, manifest)
EXPECTED[f"{L}document/spiceds_v001.xml"] = {SIZE: 1, MD5: 3}  # html (label, manifest) + label (manifest)
EXPECTED[f"{L}miscellaneous/checksum/checksum_v001.xml"] = {SIZE: 1, MD5: 1}
# LF-only inventories: size, md5 (label and manifest) and one missing_CRLF per record.
EXPECTED[f"{L}document/collection_document_v001.xml"] = {SIZE: 1, MD5: 2, CRLF: 1}
EXPECTED[f"{L}miscellaneous/collection_miscellaneous_v001.xml"] = {SIZE: 1, MD5: 2, CRLF: 1}
EXPECTED[f"{L}spice_kernels/collection_spice_kernels_v001.xml"] = {SIZE: 1, MD5: 2, CRLF: 14}

# Mars 2020 SPICE: naif1 and naif3 hold inventories of the same name whose contents were swapped between
# releases when the corpus was made (naif1 declares 53 bytes and holds 59, naif3 the other way round).
M = "non_lunar/mars2020_spice_versions/"
EXPECTED[f"{M}naif1/document/collection_document_v001.xml"] = {SIZE: 1, MD5: 1}
EXPECTED[f"{M}naif1/spice_kernels/collection_spice_kernels_v001.xml"] = {SIZE: 1, MD5: 1}
for p in ["naif3/document/collection_document_v001.xml"] + [
    f"naif3/spice_kernels/collection_spice_kernels_v00{v}.xml" for v in (1, 2, 3)
]:
    EXPECTED[M + p] = {SIZE: 1}

# InSight RAD: the tables hold 10 of their declared records, so each table runs past the end of its file
# (validate: "data object is truncated", error.label.table_definition_problem) and no longer matches the
# bundle's .md5 manifest; the calibrated collection label itself differs from the manifest too.
R = "non_lunar/mars_insight_rad_bundle/"
RAD_SOLS = (  # the calibrated and derived products share these sol/time stamps
    "00014_20181211_073042",
    "00122_20190401_123217",
    "00213_20190703_052044",
    "00305_20191006_053040",
    "00390_20200101_120222",
    "00478_20200401_121608",
    "00567_20200701_125545",
)
for p in (
    [
        f"data_calibrated/hp3_rad_cal_{s}.xml"
        for s in RAD_SOLS
    ]
    + [
        f"data_derived/hp3_rad_der_{s}.xml"
        for s in RAD_SOLS
    ]
    + [
        f"data_raw/hp3_rad_raw_{s}"
        for s in (
            "00004_20181130_085325.xml",
            "00122_20190401_123217.XML",
            "00213_20190703_051705.xml",
            "00305_20191006_053040.xml",
            "00390_20200101_120222.xml",
            "00478_20200401_121608.xml",
            "00567_20200701_125545.xml",
        )
    ]
):
    EXPECTED[R + p] = {DEFINITION: 1, MD5: 1}
EXPECTED[R + "data_calibrated/collection_data_rad_calibrated.xml"] = {MD5: 1}

# Mars Odyssey ACCANCP007/8: <offset> 1 with one 242-byte record in a 242-byte file (a genuine label defect).
for p in ["ACCANCP007", "ACCANCP008"]:
    EXPECTED[f"non_lunar/mars_odyssey_accel_dual_labels/Data/ANC/{p}.xml"] = {DEFINITION: 1}

# MAVEN IUVS: the label file is named äf.xml (README: "non-ASCII file name edge case"); PDS4 names are ASCII.
EXPECTED["non_lunar/maven_iuvs_unicode_name/äf.xml"] = {NAME: 1}


def _bundle_dirs(root: Path) -> list[Path]:
    return sorted(
        {
            p.parent
            for p in root.rglob("*")
            if p.suffix.lower() in (".xml", ".lblx")
            and "invalid" not in p.parts
            and b"<Product_Bundle" in p.read_bytes()[:4096]
        }
    )


def test_every_corpus_product_gives_exactly_its_listed_errors() -> None:
    root = shared_corpus() / "pds4"
    bundles = _bundle_dirs(root)
    others = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in (".xml", ".lblx")
        and "invalid" not in p.parts
        and not any(b in p.parents for b in bundles)
    )
    # the corpus copies parts of bundles: their missing members are warnings here (validate 4.2's
    # --skip-strict-collection-membership), and the listed errors are what is wrong in the parts copied
    reports = [validate_paths(bundles, rule_set="pds4.bundle", strict_membership=False), validate_paths(others)]
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    labels = set()
    for report in reports:
        for r in report.products + report.integrity:
            rel = str(Path(r.path).relative_to(root))
            labels.add(rel)
            for f in r.findings:
                if f.severity == "error":
                    errors[rel][f.message_id] += 1
        assert not [f for f in report.general if f.severity == "error"]
    assert len(labels) >= 170
    unexpected = {p: dict(c) for p, c in errors.items() if dict(c) != EXPECTED.get(p, {})}
    missing = {p: e for p, e in EXPECTED.items() if p not in errors}
    assert not unexpected and not missing, f"unexpected: {unexpected}\nnot found: {missing}"
