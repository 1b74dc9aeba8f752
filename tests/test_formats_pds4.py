"""PDS4 labels → Product, on real labels; safe XML parsing (billion laughs, XXE) and broken input."""

from __future__ import annotations

import csv
import os
import tracemalloc
from pathlib import Path

import pytest

from lunarchive.errors import FormatError, UnsafeXML
from lunarchive.formats.pds4 import is_pds4_label, parse_label, product_from_tree
from lunarchive.formats.xmlsafe import parse_xml

from .conftest import corpus_file, shared_corpus

# ------------------------------------------------------------------------------------ whole corpus


def _row_mismatches(row: dict[str, str], corpus: Path) -> list[str]:
    path = corpus / "pds4" / row["path"]
    if row["parse"] != "ok":
        try:
            parse_label(path)
        except FormatError:
            return []
        return [f"{row['path']}: parsed, but LABELS.tsv says {row['parse']!r}"]
    p = parse_label(path)
    expected = {
        "lid": row["lid"],
        "vid": row["vid"],
        "product_class": row["product_class"],
        "targets": [t for t in row["targets"].split("|") if t],
        "start": row["start"] or None,
        "stop": row["stop"] or None,
        "bbox": tuple(float(row[k]) for k in ("west", "east", "north", "south")) if row["west"] else None,
    }
    got = {
        "lid": p.lid,
        "vid": p.vid,
        "product_class": p.product_class,
        "targets": p.targets,
        "start": p.start,
        "stop": p.stop,
        "bbox": (p.bbox.west, p.bbox.east, p.bbox.north, p.bbox.south) if p.bbox else None,
    }
    return [f"{row['path']}: {k} {got[k]!r} != {expected[k]!r}" for k in expected if got[k] != expected[k]]


@pytest.mark.corpus
def test_every_label_in_labels_tsv() -> None:
    corpus = shared_corpus()
    with open(corpus / "pds4" / "LABELS.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) > 190
    assert sum(r["parse"] == "ok" for r in rows) > 190
    mismatches = [m for row in rows for m in _row_mismatches(row, corpus)]
    assert mismatches == []


# --------------------------------------------------------------------------------- fields and shapes


def test_diviner_fields() -> None:
    p = parse_label(corpus_file("pds4/lro/diviner/201401031400_rdr.xml"))
    assert p.lidvid == "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr::1.0"
    assert p.product_class == "Product_Observational"
    assert p.title == "LRO Diviner calibrated data product: 201401031400_rdr"
    assert p.information_model_version == "1.16.0.0"
    assert p.targets == ["Moon"]
    assert p.investigations == ["Lunar Reconnaissance Orbiter"]
    assert p.instruments == ["DIVINER LUNAR RADIOMETER EXPERIMENT for LRO"]
    assert p.instrument_hosts == ["Lunar Reconnaissance Orbiter"]
    assert (p.start, p.stop) == ("2014-01-03T13:59:59.993Z", "2014-01-03T14:01:38.423Z")
    assert p.label_format == "pds4"
    assert p.label_path is not None and os.path.isabs(p.label_path)
    assert p.label_path.endswith("201401031400_rdr.xml")
    refs = {(r.target, r.ref_type, r.kind) for r in p.references}
    assert ("urn:nasa:pds:context:instrument:lro.dlre", "is_instrument", "lid") in refs
    assert ("urn:nasa:pds:context:target:satellite.earth.moon", "data_to_target", "lid") in refs
    assert [f.name for f in p.files] == ["201401031400_rdr.tab"]
    assert p.files[0].local_identifier == "diviner_calibrated_data_table"


def test_discipline_and_mission_areas_kept_raw() -> None:
    p = parse_label(corpus_file("pds4/lro/diviner/201401031400_rdr.xml"))
    lro = p.discipline["lro:LRO_Parameters"]
    assert lro["lro:product_type"] == "RDR"
    assert lro["lro:spacecraft_clock_start_count"] == "0410450400.01835"
    div = lro["lro:Diviner_Parameters"]
    assert div["lro:observation_type"] == ["BLACKBODY CALIBRATION", "SPACE CALIBRATION", "STANDARD NADIR"]
    assert div["lro:flight_software_version_id"] == "0x31"
    ranges = div["lro:Parameter_Range"]
    assert [r["lro:parameter_name"] for r in ranges] == ["DLRE_QCA_SOLAR", "DLRE_QCA_THERMAL"]
    channels = div["lro:Channel_Range"]
    assert [c["lro:channel"] for c in channels][:3] == ["CH1", "CH2", "CH3"]
    assert channels[0]["lro:radiance_min"] == {"@unit": "W/(m**2*sr)", "#text": "-0.0621"}
    assert channels[2]["lro:tb_min"] == {"@unit": "K", "#text": "-182.345"}


def test_discipline_cartography_with_units_and_common_elements() -> None:
    p = parse_label(corpus_file("pds4/clementine/basemap/basemap_north_pole.xml"))
    cart = p.discipline["cart:Cartography"]
    box = cart["cart:Spatial_Domain"]["cart:Bounding_Coordinates"]
    assert box["cart:west_bounding_coordinate"] == {"@unit": "deg", "#text": "-135"}
    assert cart["Local_Internal_Reference"]["local_identifier_reference"] == "image"
    assert set(p.discipline) >= {"cart:Cartography", "disp:Display_Settings", "img:Imaging",
                                 "msn:Mission_Information", "proc:Processing_Information",
                                 "clementine:Clementine_Parameters"}  # fmt: skip
    assert p.processing_level == "Derived"


def test_bbox_zero_height_box_and_odd_target_name() -> None:
    p = parse_label(corpus_file("pds4/clementine/basemap/basemap_north_pole.xml"))
    assert p.bbox is not None
    assert (p.bbox.west, p.bbox.south, p.bbox.east, p.bbox.north) == (-135.0, 61.0, 135.0, 61.0)
    assert p.targets == ["{target}"]  # a real label oddity, kept as written


def test_bbox_west_greater_than_east_is_kept() -> None:
    p = parse_label(corpus_file("pds4/non_lunar/titan_cassini_radar/BILQH07S314_D065_T008S02_V02.xml"))
    assert p.bbox is not None
    assert p.bbox.as_list() == [320.23069762, -18.34847358, 306.92146819, 4.82875716]
    assert p.targets == ["TITAN"]


def test_file_with_size_md5_records() -> None:
    label = corpus_file("pds4/chandrayaan2/iirs_bundle/calibration/"
                        "ch2_iirs_cal_e1g2_saturations_radiance.xml")  # fmt: skip
    p = parse_label(label)
    assert len(p.files) == 1
    f = p.files[0]
    assert f.name == "ch2_iirs_cal_e1g2_saturations_radiance.csv"
    assert f.declared_size == 6012
    assert f.declared_md5 == "1ff7ed1dcde87f6b80da2cd9e7a68654"
    assert f.records == 256
    assert f.local_identifier
    assert f.role == "data" and f.status == "pending"
    assert f.path == str(label.resolve().parent / f.name)


def test_bundle_members() -> None:
    p = parse_label(corpus_file("pds4/ladee/ladee_spice/bundle_ladee_spice_v001.xml"))
    assert p.product_class == "Product_Bundle"
    assert [(m.ref, m.status, m.kind, m.member_type) for m in p.members] == [
        ("urn:nasa:pds:ladee.spice:spice_kernels::1.0", "P", "lidvid", "bundle_has_spice_kernel_collection"),
        ("urn:nasa:pds:ladee.spice:miscellaneous::1.0", "P", "lidvid", "bundle_has_member_collection"),
        ("urn:nasa:pds:ladee.spice:document::1.0", "P", "lidvid", "bundle_has_document_collection"),
    ]
    assert p.extra["bundle_type"] == "Archive"
    assert p.instrument_hosts == ["LADEE"] and p.instruments == []
    readme = p.files[0]
    assert (readme.name, readme.declared_size) == ("readme.txt", 1362)
    assert readme.declared_md5 == "b3bc1cf148704879c61c752c5ebb6515"


def test_collection_extra_names_inventory() -> None:
    rel = "pds4/non_lunar/mars_odyssey_accel_dual_labels/Data/ANC/collection_odya_data_anc.xml"
    p = parse_label(corpus_file(rel))
    assert p.product_class == "Product_Collection"
    assert p.extra["collection_type"] == "Data"
    assert p.extra["inventory_file"] == "collection_odya_data_anc_inventory.tab"
    assert p.extra["field_delimiter"] == "Comma"
    assert p.extra["inventory_records"] == 2
    assert (p.start, p.stop) == (None, None)  # xsi:nil in the label


def test_lblx_extension_reads_like_xml() -> None:
    lblx = parse_label(corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.lblx"))
    xml = parse_label(corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml"))
    assert lblx.label_path is not None and lblx.label_path.endswith(".lblx")
    assert lblx.lidvid == xml.lidvid
    assert lblx.lidvid == "urn:nasa:pds:lro_lend:data_science_derived:lend_rdr_dld_20240615::1.0"
    a, b = lblx.to_dict(), xml.to_dict()
    a.pop("label_path"), b.pop("label_path")
    assert a == b


def test_non_ascii_file_names() -> None:
    label = corpus_file("pds4/non_lunar/maven_iuvs_unicode_name/äf.xml")
    p = parse_label(label)
    assert p.label_path == str(label.resolve())
    assert p.files[0].name == "äf.fits"
    assert p.files[0].path == str(label.resolve().parent / "äf.fits")
    assert p.files[0].records == 79
    assert p.targets == ["MARS"] and p.processing_level == "Raw"
    same = parse_label(label, label.read_bytes())
    assert same.to_dict() == p.to_dict()


def test_product_from_tree_and_is_pds4_label() -> None:
    label = corpus_file("pds4/ladee/ladee_spice/bundle_ladee_spice_v001.xml")
    root = parse_xml(label.read_bytes(), str(label))
    assert is_pds4_label(root)
    assert product_from_tree(root, str(label)).lid == "urn:nasa:pds:ladee.spice"
    assert not is_pds4_label(parse_xml(b"<Product_Observational/>", "x.xml"))  # no PDS4 namespace
    other = b'<Ingest_LDD xmlns="http://pds.nasa.gov/pds4/pds/v1"/>'
    assert not is_pds4_label(parse_xml(other, "x.xml"))


# -------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("rel", "line"),
    [
        ("pds4/chandrayaan1/m3_partial/M3G20081118T222604_V01_RFL.xml_partial", 128),
        ("pds4/chandrayaan1/m3_partial/M3G20090513T150646_V03_RDN.xml_partial", 74),
    ],
)
def test_m3_fragments_unbound_prefix(rel: str, line: int) -> None:
    with pytest.raises(FormatError) as info:
        parse_label(corpus_file(rel))
    assert info.value.line == line
    assert "chan1" in info.value.message and "not defined" in info.value.message
    assert "\n" not in info.value.message


def test_empty_and_truncated_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(FormatError) as info:
        parse_label(empty)
    assert info.value.line == 1 and "empty" in info.value.message
    data = corpus_file("pds4/lro/diviner/201401031400_rdr.xml").read_bytes()
    cut = data[: len(data) // 2]
    with pytest.raises(FormatError) as info:
        parse_label(tmp_path / "cut.xml", cut)
    assert info.value.line is not None and info.value.line > 100
    assert not isinstance(info.value, UnsafeXML)
    with pytest.raises(FormatError):
        parse_label(tmp_path / "missing.xml")


def test_xml_that_is_not_a_pds4_product(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="not a PDS4 product label"):
        parse_label(tmp_path / "a.xml", b"<?xml version='1.0'?><a><b/></a>")
    no_lid = b'<Product_Observational xmlns="http://pds.nasa.gov/pds4/pds/v1"><Identification_Area/>' \
             b"</Product_Observational>"  # fmt: skip
    with pytest.raises(FormatError, match="logical_identifier"):
        parse_label(tmp_path / "b.xml", no_lid)


def _label(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Product_Observational xmlns="http://pds.nasa.gov/pds4/pds/v1"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        "<Identification_Area><logical_identifier>urn:x:y</logical_identifier>"
        "<version_id>1.0</version_id></Identification_Area>\n" + body + "</Product_Observational>"
    ).encode()


def test_label_edge_cases_become_problems(tmp_path: Path) -> None:
    """Inputs the real corpus lacks: upper-case md5, a file name leaving the directory, a bad size."""
    body = (
        "<Observation_Area><Time_Coordinates><start_date_time> 2020-01-01T00:00:00.123456Z </start_date_time>"
        '<stop_date_time xsi:nil="true" nilReason="unknown"/></Time_Coordinates></Observation_Area>'
        "<File_Area_Observational><File><file_name>../../etc/passwd</file_name></File></File_Area_Observational>"
        "<File_Area_Observational><File><file_name>d.dat</file_name><file_size unit='byte'>12x</file_size>"
        "<md5_checksum>ABCDEF0123456789ABCDEF0123456789</md5_checksum></File></File_Area_Observational>"
    )
    p = parse_label(tmp_path / "l.xml", _label(body))
    assert (p.start, p.stop) == ("2020-01-01T00:00:00.123456Z", None)
    assert p.files[0].path is None
    assert p.files[1].declared_md5 == "abcdef0123456789abcdef0123456789"
    assert p.files[1].declared_size is None
    assert p.files[1].path == str(tmp_path.resolve() / "d.dat")
    problems = p.extra["problems"]
    assert any("leaves the label's directory" in x for x in problems)
    assert any("file_size" in x for x in problems)


# ---------------------------------------------------------------------------------------- attacks

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Product_Observational xmlns="http://pds.nasa.gov/pds4/pds/v1">&lol9;</Product_Observational>
"""


def _xxe(target: Path) -> bytes:
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE p [ <!ENTITY xxe SYSTEM "file://' + str(target) + '"> ]>\n'
        '<Product_Observational xmlns="http://pds.nasa.gov/pds4/pds/v1"><Identification_Area>'
        "<logical_identifier>&xxe;</logical_identifier></Identification_Area></Product_Observational>"
    ).encode()


def _refused_with_small_peak(data: bytes, path: str) -> UnsafeXML:
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeXML) as info:
            parse_label(Path(path), data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"refusing used {peak} bytes"
    assert "\n" not in info.value.message
    return info.value


def test_billion_laughs_refused_without_expansion() -> None:
    err = _refused_with_small_peak(BILLION_LAUGHS, "lol.xml")
    assert "entit" in err.message and err.line == 2
    declared = BILLION_LAUGHS.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"')
    utf16 = declared.decode().encode("utf-16")
    _refused_with_small_peak(utf16, "lol16.xml")


def test_xxe_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    err = _refused_with_small_peak(_xxe(secret), "xxe.xml")
    assert "TOP-SECRET" not in err.message


@pytest.mark.parametrize(
    "payload",
    [
        b'<!DOCTYPE p SYSTEM "http://example.invalid/evil.dtd"><p/>',
        b'<!DOCTYPE p PUBLIC "-//X//EN" "file:///etc/passwd"><p/>',
        b'<!-- a comment --><?pi x?>\n<!DOCTYPE p [<!ENTITY % ext SYSTEM "http://example.invalid/x">%ext;]><p/>',
        b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE p +AFs-+ADw-!ENTITY x \'y\'+AD4-+AF0-+AD4-<p/>',
    ],
    ids=["external-dtd", "public-id", "parameter-entity", "utf7-hidden-doctype"],
)
def test_external_ids_and_hidden_doctypes_refused(payload: bytes) -> None:
    with pytest.raises(UnsafeXML):
        parse_xml(payload, "evil.xml")


def test_doctype_without_entities_is_allowed() -> None:
    root = parse_xml(b"<?xml version='1.0'?>\n<!DOCTYPE a>\n<a>x</a>", "a.xml")
    assert root.text == "x"


def test_label_directories_resolve_as_realpath_does(tmp_path: Path) -> None:
    """Label directories are resolved from their (cached) parents: the same result as ``os.path.realpath``
    through absolute and relative directory links, links to links, and directories that do not exist."""
    from lunarchive.formats.files import real_dir as _real_dir

    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "x").mkdir()
    (tmp_path / "abs").symlink_to(tmp_path / "a" / "b", target_is_directory=True)
    (tmp_path / "a" / "rel").symlink_to("b/c", target_is_directory=True)
    (tmp_path / "x" / "up").symlink_to("../a", target_is_directory=True)
    (tmp_path / "x" / "chain").symlink_to("up/rel", target_is_directory=True)
    cases = ["a/b/c", "abs/c", "a/rel", "x/up/b/c", "x/chain", "nowhere/q", "abs"]
    for rel in cases:
        directory = os.path.abspath(tmp_path / rel)
        assert _real_dir(directory) == os.path.realpath(directory), rel
    assert _real_dir("/") == "/"


PYPI = Path(__file__).parent / "data" / "pypi"


def test_information_packages_list_their_manifests_and_bundle() -> None:
    """Product_AIP and Product_SIP_Deep_Archive keep their file areas inside the package component."""
    package = PYPI / "pds4/ladee_deep_archive/package"
    aip = parse_label(package / "ladee_mission_bundle_v1.0_aip_v1.0.xml")
    assert aip.product_class == "Product_AIP"
    assert [(f.name, f.declared_size) for f in aip.files] == [
        ("ladee_mission_bundle_v1.0_checksum_manifest_v1.0.tab", 938),
        ("ladee_mission_bundle_v1.0_transfer_manifest_v1.0.tab", 6656),
    ]
    assert all(f.path and os.path.isfile(f.path) for f in aip.files)
    assert [f.declared_md5 for f in aip.files] == [  # the package component's, for files that give none
        "85fe2322e70e1e29259b2f15f5eac5b0", "1f4d6921055ebb72314c15e9b244614f"]
    sip = parse_label(package / "ladee_mission_bundle_v1.0_sip_v1.0.xml")
    assert [(f.name, f.declared_size) for f in sip.files] == [("ladee_mission_bundle_v1.0_sip_v1.0.tab", 2431)]
    assert sip.files[0].declared_md5 == "9b7cf41cadd6d3b5b1212fe33f66268e"  # the package's manifest_checksum
    for p in (aip, sip):
        assert [(r.target, r.ref_type) for r in p.references] == [
            ("urn:nasa:pds:ladee_mission_bundle::1.0", "package_has_bundle")]


def test_document_files_of_information_model_1_1() -> None:
    """IM 1.1 documents name their files in a Document_Format_Set beside Document."""
    doc = parse_label(PYPI / "pds4/ladee_deep_archive/document/ladee_mission_rev1_5.xml")
    assert doc.product_class == "Product_Document"
    assert [(f.name, f.role) for f in doc.files] == [("ladee_mission_rev1_5.pdf", "data")]


GITHUB_PDS4 = Path(__file__).parent / "data" / "github" / "pds4"


def test_a_context_product_gives_what_it_describes() -> None:
    """Real context products (NASA-PDS/pds4-context-products): the Investigation, Instrument_Host or Target a
    Product_Context describes is its investigation, host or target, with its type; a mission's start_date
    and stop_date are its span. They had come out with every list empty and no time."""
    slim = parse_label(GITHUB_PDS4 / "context_lunar" / "mission.slim_1.1.xml")
    assert slim.investigations == ["Smart Lander for Investigating Moon mission"]
    assert (slim.start, slim.stop, slim.extra["context_type"]) == ("2023-09-06", "2024-08-23", "Mission")
    lander = parse_label(GITHUB_PDS4 / "context_lunar" / "spacecraft.clps_to_19d_bgl_1.0.xml")
    assert lander.instrument_hosts == ["Firefly Aerospace's Blue Ghost lunar lander"] and not lander.instruments
    assert lander.extra["context_type"] == "Lander" and lander.start is None
    ivar = parse_label(GITHUB_PDS4 / "context_lunar" / "asteroid.1627_ivar_1.0.xml")
    assert (ivar.targets, ivar.extra["target_types"]) == (["1627 Ivar"], ["Asteroid"])


def test_every_processing_level_and_the_target_types_are_kept() -> None:
    """Europa Clipper's SUDA bundle (validate's case github1100) gives two processing levels (0..* in the
    information model): the first is the product's, and both are kept; Target_Identification's type is kept."""
    suda = parse_label(GITHUB_PDS4 / "validate_github1100" / "bundle_suda.XML")
    assert suda.processing_level == "Raw"
    assert suda.extra["processing_levels"] == ["Raw", "Partially Processed"]
    assert suda.extra["target_types"] == ["Dust"]


def test_a_nil_start_keeps_its_reason(tmp_path: Path) -> None:
    """The LEND label with its start time nil: the nilReason is kept, as a nil stop's is."""
    src = corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml")
    data = src.read_bytes()
    start = data[data.index(b"<start_date_time>"):data.index(b"</start_date_time>") + len(b"</start_date_time>")]
    label = tmp_path / src.name
    label.write_bytes(data.replace(start, b'<start_date_time xsi:nil="true" nilReason="missing"/>'))
    product = parse_label(label)
    assert product.start is None and product.extra["start_nil_reason"] == "missing"


def test_file_paths_through_links_resolve_as_realpath_does(tmp_path: Path) -> None:
    """``real_path`` (how ingest tells where a linked data file lies) equals ``os.path.realpath`` for a file,
    links to it (absolute, relative, chained, through a linked directory), a dangling link and a loop."""
    from lunarchive.formats.files import real_path

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.tab").write_text("x")
    (tmp_path / "dir").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "abs.tab").symlink_to(tmp_path / "a" / "b" / "f.tab")
    (tmp_path / "a" / "rel.tab").symlink_to("b/f.tab")
    (tmp_path / "chain.tab").symlink_to("a/rel.tab")
    (tmp_path / "via.tab").symlink_to("dir/b/f.tab")
    (tmp_path / "dangling.tab").symlink_to("nowhere/f.tab")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    for rel in ("a/b/f.tab", "abs.tab", "a/rel.tab", "chain.tab", "via.tab", "dir/b/f.tab", "dangling.tab", "loop1"):
        path = os.path.abspath(tmp_path / rel)
        assert real_path(path) == os.path.realpath(path), rel


def test_external_references_are_kept() -> None:
    """External_Reference entries (a paper's DOI and citation) are kept in ``extra``, their text collapsed, in
    label order; the LID references are unchanged by them."""
    p = parse_label(GITHUB_PDS4 / "ldd_lro_nac_dtm" / "NAC_DTM_A12LMAS_VALID.xml")
    refs = p.extra["external_references"]
    assert [r["doi"] for r in refs] == ["10.1016/j.icarus.2016.05.012", "10.1007/s11214-010-9634-2"]
    assert all(r["type"] == "External_Reference" for r in refs)
    assert refs[0]["reference_text"].startswith("Henriksen, M.R., Manheim, M.R., Burns, K.N., Seymour, P., Speyerer")
    assert "\n" not in refs[1]["reference_text"] and "Instrument Overview" in refs[1]["reference_text"]
    slim = parse_label(GITHUB_PDS4 / "context_lunar" / "mission.slim_1.1.xml")
    assert [r["doi"] for r in slim.extra["external_references"]][0] == "10.1016/j.actaastro.2025.05.047"
    assert "external_references" not in parse_label(corpus_file("pds4/lro/diviner/201401031400_rdr.xml")).extra


def test_citation_information_is_kept() -> None:
    """Citation_Information gives the product's DOI, authors, editors and year, beside its description."""
    p = parse_label(GITHUB_PDS4 / "validate_github1481" / "pluto_raw" / "collection.lblx")
    assert p.extra["doi"] == "10.26007/teh9-zj21"
    assert p.extra["author_list"] == "Stern, S. Alan"
    assert p.extra["editor_list"] == "Sharkey, Benjamin; Gicquel, Adeline; Gobat, Caden; Finley, Tiffany"
    assert p.extra["publication_year"] == "2025"
    assert p.extra["description"].startswith("This collection contains a set of raw images")
    assert "doi" not in parse_label(corpus_file("pds4/clps/pitms_bundle/bundle.xml")).extra  # commented out
