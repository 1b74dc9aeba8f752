"""PDS3 labels: detection, reading (pvl and the fast ODL reader, which must agree), Product records."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from lunarchive.errors import FormatError
from lunarchive.formats import odl, pds3

from .conftest import LOCAL_CORPUS, corpus_file, shared_corpus

ODYSSEY_DUAL = "pds4/non_lunar/mars_odyssey_accel_dual_labels"


def pds3_labels(root: Path) -> list[Path]:
    """Every PDS3 label of a corpus tree: pds3/**/*.lbl plus the Odyssey .LBL beside its PDS4 twin."""
    labels = sorted(p for p in (root / "pds3").rglob("*") if p.suffix.lower() == ".lbl")
    labels += sorted(p for p in (root / ODYSSEY_DUAL).rglob("*") if p.suffix.lower() == ".lbl")
    return labels


def same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False)


# ------------------------------------------------------------------------------------ the whole corpus
def test_every_shared_pds3_label_is_read_or_refused_with_a_reason() -> None:
    labels = pds3_labels(shared_corpus())
    assert len(labels) >= 16
    for path in labels:
        try:
            product = pds3.parse_label(path)
        except FormatError as err:
            assert err.message.strip() and "\n" not in err.message, path
            continue
        assert product.label_format == "pds3" and product.product_class == "PDS3", path
        assert product.lid.startswith("urn:lunarchive:pds3:") and product.vid == "1.0", path
        assert product.discipline, path
        json.dumps(product.to_dict())  # plain data all the way down
        assert all(f.role in ("data", "format", "document") for f in product.files), path


def test_fast_reader_equals_pvl_on_every_shared_label() -> None:
    labels = pds3_labels(shared_corpus())
    for path in labels:
        text = odl.label_text(path)
        reference = odl.loads_pvl(text)
        fast = odl.loads_fast(text)  # no fallback here: the fast path itself must handle the corpus
        assert same(fast, reference), path
        assert same(pds3.read_label(path, fast=True), pds3.read_label(path)), path


def test_fast_reader_equals_pvl_on_the_local_copies() -> None:
    labels = pds3_labels(LOCAL_CORPUS)
    if not labels:
        pytest.skip("no local PDS3 copies in tests/data/corpus/pds3")
    assert len(labels) >= 14
    for path in labels:
        text = odl.label_text(path)
        assert same(odl.loads_fast(text), odl.loads_pvl(text)), path
        slow, fast = pds3.parse_label(path, fast=False), pds3.parse_label(path, fast=True)
        assert same(fast.to_dict(), slow.to_dict()), path


def test_local_copies_match_the_shared_corpus_labels() -> None:
    shared = shared_corpus()
    for path in pds3_labels(LOCAL_CORPUS):
        rel = path.relative_to(LOCAL_CORPUS)
        assert odl.label_text(path) == odl.label_text(shared / rel), rel


# --------------------------------------------------------------------- fast vs pvl on generated labels
VALUES = [
    "1", "-2", "+3", "0526", "1_000", "1.5", "-.5", "5.", "1e5", "1.30000e-02", "NaN", "-inf", "\u0663",
    "N/A", "NULL", "null", "True", "FALSE", "ABC", "a-b/c", "x*y", "2009-04-05T20:09:53.610804",
    "2015-170T16:15:46.345", "2008-02-08T12:08:53.843Z", "16#FF#", "-16#FF#", "16#-FF#", "2#12#", "16#",
    '"quoted"', '""', '"a  b\n   c"', '"dash-\n   cont"', "'VO1/VO2'", '"/* no */ # no"', '"END"',
    "(1, 2, 3)", "()", "(\n)", "((1,2),(3,4))", "{A, B, A}", "{}", '{1, 1.0, "1"}', "{(1,2)}",
    "(1 <m>, 2 <s>)", "1 <deg>", "1.5 <W*m**-2*sr**-1>", "(1,2) <DEG>", "1 < m >", "1 <km\n/s>",
    "1/* c */<m>", "( /*c*/ 1 , /*d*/ 2 /*e*/ )", "A # comment\n", "1;", "OBJECT", "END", "<m>", ",",
    "AB-\n   CD", "'it''s'", "a*/b", "é", "-", "e5", "1e", "\xa0", "1 \x1c", "A\xa0B",
]
NAMES = ["KEY", "^IMAGE", "LRO:X", "a", "X-Y", "x/y", "K*", "NaN", "123", "END", "OBJECT"]


def _statement(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if r < 0.12 and depth < 3:
        begin = rng.choice(["OBJECT", "GROUP", "Object", "BEGIN_OBJECT", "begin_group"])
        end = "END_GROUP" if "group" in begin.lower() else rng.choice(["END_OBJECT", "End_Object"])
        name = rng.choice(["IMAGE", "TABLE", "COLUMN"])
        body = "".join(_statement(rng, depth + 1) for _ in range(rng.randint(0, 4)))
        tail = rng.choice([f"{end} = {name}\n", f"{end}\n", f"{end} = {name};\n", f"{end}=OTHER\n",
                           f"{end} /*c*/ = /*d*/ {name}\n", "END\n"])
        return f"{begin} = {name}\n{body}{tail}"
    if r < 0.17:
        return rng.choice(["/* comment */\n", "# hash comment\n", "\n", "/* multi\n line */\n", ";\n",
                           "# a /* b\n", "# x */ K9 = 1\n", "/* # */\n", "# 16#FF#\n", "# a/b\n"])
    name = rng.choice(NAMES) if rng.random() < 0.3 else f"K{rng.randint(0, 5)}"
    equals = rng.choice([" = ", "=", " =\n  ", " /*x*/ = "])
    return f"{name}{equals}{rng.choice(VALUES)}{rng.choice(['', ';', ' /*t*/', ' # h'])}\n"


def test_fast_reader_equals_pvl_on_generated_labels() -> None:
    rng = random.Random(20240615)
    native = 0
    for _ in range(400):
        text = "PDS_VERSION_ID = PDS3\n" + "".join(_statement(rng, 0) for _ in range(rng.randint(1, 7)))
        text += rng.choice(["END", "END\n", "end", "END;"])
        try:
            reference: object = odl.loads_pvl(text)
        except FormatError as err:
            reference = ("FormatError", err.message)
        try:
            fast: object = odl.loads(text, fast=True)
        except FormatError as err:
            fast = ("FormatError", err.message)
        assert same(fast, reference), text
        try:
            odl.loads_fast(text)
            native += 1
        except odl.Unsupported:
            pass
    assert native > 100  # most generated labels are read without pvl


def test_fast_reader_grammar_constants_are_pvls() -> None:
    pvl, _decoder = odl._pvl()
    grammar = pvl.grammar.OmniGrammar()
    assert odl.WHITESPACE == "".join(grammar.whitespace)
    assert set(odl.RESERVED) == set(grammar.reserved_characters)
    other = "".join(c for c in map(chr, range(0x110000)) if c.isspace() and c not in odl.WHITESPACE)
    assert len(odl._OTHER_SPACE.findall(other)) == len(other)
    assert odl._OTHER_SPACE.search(odl.WHITESPACE + "AZaz09_-") is None


@pytest.mark.parametrize("text", [
    "A = 1\nB = \nEND",                       # empty value: pvl fills in EmptyValueAtLine
    "OBJECT = X\nA = 1\nEND_OBJECT = Y\nEND",  # END_OBJECT names another block
    "A = 16#FF\nEND",                         # radix number that does not close
    "A = x */ y\nEND",                        # stray comment end
    "A = (1, 2,)\nEND",                       # trailing comma
    "A = 1 \xa0\nB = 2\nEND",                 # a token of no-break space: pvl skips it as white space
    "\xa0 = 2\nEND",
])
def test_fast_reader_hands_subtle_labels_to_pvl(text: str) -> None:
    with pytest.raises(odl.Unsupported):
        odl.loads_fast(text)
    try:
        expected: object = odl.loads_pvl(text)
    except FormatError as err:
        expected = err.message
    try:
        got: object = odl.loads(text)
    except FormatError as err:
        got = err.message
    assert same(got, expected)


def test_label_pvl_would_loop_on_gives_format_error(tmp_path: Path) -> None:
    # pvl's OmniParser never returns on an empty value followed by a numeric name (it re-reads "=" for
    # ever); read_label budgets pvl's tokens and reports a FormatError instead of hanging ingest.
    path = tmp_path / "loop.lbl"
    path.write_text("PDS_VERSION_ID = PDS3\nK =\n123 = 1\nEND\n")
    for fast in (True, False):
        with pytest.raises(FormatError, match="loops"):
            pds3.read_label(path, fast=fast)


def test_deeply_nested_value_is_an_error_not_a_crash() -> None:
    text = "A = " + "(" * 3000 + "1" + ")" * 3000 + "\nEND"
    with pytest.raises(FormatError):
        odl.loads(text)


def test_viking_inline_format_file_ends_the_label_as_pvl_does() -> None:
    # The Viking EDR label pastes a format file, END and all, inside OBJECT = ENGINEERING_TABLE. pvl drops
    # the blocks still open at that END and stops; the fast reader does the same (and is not a fallback).
    text = odl.label_text(corpus_file("pds3/non_lunar/viking_orbiter/f004a47.lbl"))
    label = odl.loads_fast(text)
    assert same(label, odl.loads_pvl(text))
    assert "ENCODING_HISTOGRAM" in label and "ENGINEERING_TABLE" not in label and "IMAGE" not in label
    assert label["^IMAGE"] == 1122 and label["DATA_SET_ID"] == "VO1/VO2-M-VIS-2-EDR-V2.0"


# ------------------------------------------------------------------------------------------ hand checks
def test_kaguya_tc_corners_and_scene_centre() -> None:
    product = pds3.parse_label(corpus_file("pds3/kaguya_tc/TC1S2B0_01_06691S820E0465.lbl"))
    assert product.extra["corners"] == [
        [44.883039, -81.172073], [48.534829, -81.20035], [48.427901, -82.797271], [43.996992, -82.764677]]
    assert product.extra["center"] == [46.482457, -81.988555]
    assert product.lid == "urn:lunarchive:pds3:sln-l-tc-3-s-level2b0-v1.0:tc1s2b0_01_06691s820e0465"
    assert product.start == "2009-04-05T20:09:53.610804" and product.targets == ["MOON"]
    assert [(f.name, f.role, f.path) for f in product.files] == [
        ("TC1S2B0_01_06691S820E0465.img", "data", None)]
    assert product.discipline["UPPER_LEFT_LATITUDE"] == {"value": -81.172073, "units": "deg"}
    assert product.discipline["IMAGE"]["INVALID_TYPE"] == ["SATURATION", "MINUS", "DUMMY_DEFECT", "OTHER"]


def test_kaguya_mi_corners() -> None:
    product = pds3.parse_label(corpus_file("pds3/kaguya_mi/MVA_2B2_01_02329N002E0302.lbl"))
    assert product.extra["corners"][0] == [29.865282, 0.570818]
    assert product.extra["corners"][3] == [29.858614, -0.069627]


def test_messenger_centre_is_east_longitude_in_degrees() -> None:
    product = pds3.parse_label(corpus_file("pds3/non_lunar/messenger_mdis/EN1072174528M.lbl"))
    assert product.extra["center"] == [248.17066, 46.26998]
    assert "corners" not in product.extra and "lat_range" not in product.extra
    assert product.lid == "urn:lunarchive:pds3:mess-e_v_h-mdis-2-edr-rawdata-v1.0:en1072174528m"
    assert product.discipline["RETICLE_POINT_RA"] == {
        "value": [167.79928, 166.25168, 166.4961, 164.92873], "units": "DEG"}
    assert product.discipline["INSTRUMENT_NAME"] == "MERCURY DUAL IMAGING SYSTEM NARROW ANGLE CAMERA"


def test_dawn_ranges_are_absent_when_na_and_read_when_given(tmp_path: Path) -> None:
    original = corpus_file("pds3/non_lunar/dawn_fc/FC21A0038582_15170161546F6F.lbl")
    product = pds3.parse_label(original)
    assert not {"lat_range", "lon_range", "center"} & product.extra.keys() and product.bbox is None
    assert product.start == "2015-170T16:15:46.345" and product.targets == ["1 CERES"]
    # The same real label with the N/A geometry filled in (the values a Dawn FC RDR label carries):
    text = original.read_text()
    for key, value in [("MINIMUM_LATITUDE", "-12.5 <DEG>"), ("MAXIMUM_LATITUDE", "-3.25"),
                       ("WESTERNMOST_LONGITUDE", "350.0 <DEG>"), ("EASTERNMOST_LONGITUDE", "10.5 <degree>")]:
        text = text.replace(f'{key:<30}= "N/A"', f"{key:<30}= {value}", 1)
    filled = tmp_path / original.name
    filled.write_text(text)
    product = pds3.parse_label(filled)
    assert product.extra["lat_range"] == [-12.5, -3.25]
    assert product.extra["lon_range"] == [350.0, 10.5]
    assert product.bbox is not None and product.bbox.as_list() == [350.0, -12.5, 10.5, -3.25]


def test_lroc_nac_ids_times_and_attached_pointer() -> None:
    path = corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl")
    product = pds3.parse_label(path)
    assert product.lid == "urn:lunarchive:pds3:lro-l-lroc-2-edr-v1.0:m103595705le"
    assert product.lidvid == "urn:lunarchive:pds3:lro-l-lroc-2-edr-v1.0:m103595705le::1.0"
    assert (product.start, product.stop) == ("2009-07-30T12:20:38.185", "2009-07-30T12:21:32.155")
    assert product.instruments == ["LROC"] and product.instrument_hosts == ["LRO", "LUNAR RECONNAISSANCE ORBITER"]
    assert product.investigations == ["LUNAR RECONNAISSANCE ORBITER"] and product.targets == ["MOON"]
    assert product.title == "M103595705LE - LRO-L-LROC-2-EDR-V1.0"
    # ^IMAGE = 2: the image follows the label in the same file, which is then a data file of fixed-length records
    [own] = product.files
    assert (own.name, own.role, own.local_identifier, own.path) == (path.name, "data", "IMAGE", str(path.absolute()))
    assert (own.records, own.declared_size) == (52225, 52225 * 5064)
    assert product.extra["pointers"] == [{"object": "IMAGE", "file": None, "offset": 2, "unit": "record"}]
    assert product.extra["product_type"] == "EDR" and product.extra["instrument_host_id"] == "LRO"
    assert product.extra["records"] == {"record_type": "FIXED_LENGTH", "record_bytes": 5064,
                                        "file_records": 52225, "label_records": 1}
    assert product.label_path == str(path.absolute())
    assert product.discipline["LRO:TEMPERATURE_SCS"] == {"value": 2.49, "units": "degC"}


def test_m3_cropped_label_resolves_its_time_table() -> None:
    path = corpus_file("pds3/chandrayaan1_m3/M3T20090630T083407_V03_L1B_cropped.lbl")
    product = pds3.parse_label(path)
    assert product.lid == "urn:lunarchive:pds3:ch1-orb-l-m3-4-l1b-radiance-v3.0:m3t20090630t083407_v03_rdn"
    files = {f.name: f for f in product.files}
    tim = files["M3T20090630T083407_V03_TIM_cropped.TAB"]
    assert tim.role == "data" and tim.records == 5 and tim.local_identifier == "UTC_TIME_TABLE"
    assert tim.path == str((path.parent / "M3T20090630T083407_V03_TIM_cropped.TAB").absolute())
    assert files["M3T20090630T083407_V03_RDN_cropped.IMG"].path is None  # not in the corpus
    assert files["L1B_NAV_DESC.ASC"].role == "document"
    assert len(product.files) == 8 and product.instruments == ["M3"]
    assert product.investigations == ["CHANDRAYAAN-1"]
    assert product.instrument_hosts == ["CH1-ORB", "CHANDRAYAAN-1 ORBITER"]
    columns = product.discipline["UTC_FILE"]["UTC_TIME_TABLE"]["COLUMN"]
    assert [c["NAME"] for c in columns] == ["LINE NUMBER", "UTC_TIME", "YEAR", "DDOY"]
    assert product.discipline["SPACECRAFT_ORIENTATION"] == ["N/A", "N/A", "N/A"]


def test_lend_pointers_resolve_across_case_and_keep_the_format_file() -> None:
    path = corpus_file("pds3/lro_lend/lend_rdr_dld_20240615.lbl")
    product = pds3.parse_label(path)
    table, fmt = product.files
    assert (table.name, table.role, table.records) == ("LEND_RDR_DLD_20240615.DAT", "data", 74898)
    assert table.path == str((path.parent / "lend_rdr_dld_20240615.dat").absolute())
    assert (fmt.name, fmt.role, fmt.path) == ("LEND_RDR_DLD.FMT", "format", None)
    assert product.lid == "urn:lunarchive:pds3:lro-l-lend-4_5-rdr-v1.0:lend_rdr_dld_20240615_dat"
    assert product.instrument_hosts == ["LRO", "LUNAR RECONNAISSANCE ORBITER"]  # LRO from its DATA_SET_ID
    other = pds3.parse_label(corpus_file("pds3/lro_lend/lend_rdr_dlx_20240615.lbl"))
    assert other.files[0].path is not None and other.files[0].path.endswith("lend_rdr_dlx_20240615.dat")


def test_lid_is_built_from_data_set_id_and_product_id() -> None:
    assert pds3.make_lid("LRO-L-LEND-4/5-RDR-V1.0", "LEND_RDR_DLD_20240615_DAT") == (
        "urn:lunarchive:pds3:lro-l-lend-4_5-rdr-v1.0:lend_rdr_dld_20240615_dat")
    assert pds3.make_lid("CO-S-ISSNA/ISSWA-2-EDR-V1.0", "1_N1702360370.120") == (
        "urn:lunarchive:pds3:co-s-issna_isswa-2-edr-v1.0:1_n1702360370.120")
    assert pds3.make_lid("A B:C", "x:y") == "urn:lunarchive:pds3:a_b_c:x_y"
    cassini = pds3.parse_label(corpus_file("pds3/non_lunar/cassini_iss/N1702360370_1.lbl"))
    assert cassini.lid == "urn:lunarchive:pds3:co-s-issna_isswa-2-edr-v1.0:1_n1702360370.120"
    image = cassini.files[0]  # four pointers into one file give one FileRef
    assert image.local_identifier == "IMAGE_HEADER,TELEMETRY_TABLE,LINE_PREFIX_TABLE,IMAGE"
    assert image.records == 1028
    viking = pds3.parse_label(corpus_file("pds3/non_lunar/viking_orbiter/f004a47.lbl"))
    assert viking.lid == "urn:lunarchive:pds3:vo1_vo2-m-vis-2-edr-v2.0:f004a47"  # no PRODUCT_ID: file stem
    assert viking.start == viking.stop == "1976-06-23T18:42:11Z"  # no START/STOP_TIME: its IMAGE_TIME


def test_hrsc_footprint_points_and_documents() -> None:
    product = pds3.parse_label(corpus_file("pds3/non_lunar/mex_hrsc/h5270_0000_ir2.lbl"))
    footprint = product.extra["footprint"]
    assert len(footprint) == 100 and footprint[0] == [78.2107, 25.9975] and footprint[-1] == footprint[0]
    assert {(f.name, f.role) for f in product.files} == {
        ("h5270_0000_ir2.lbl", "data"),  # ^IMAGE: attached (the label part of the image kept in the corpus)
        ("MEX_ORIENTATION_DESC.TXT", "document"), ("MEX_POINTING_DESC.TXT", "document"), ("VICAR2.TXT", "document"),
    }
    assert product.start == "2008-02-08T12:08:53.843Z"


def test_attached_label_is_read_up_to_end_only(tmp_path: Path) -> None:
    themis = corpus_file("pds3/non_lunar/odyssey_themis/I74199019RDR.lbl")
    label = pds3.read_label(themis)
    assert label["PRODUCT_ID"] == "I74199019RDR" and "SFDU2CUBE" not in label  # history after END ignored
    assert label["SPECTRAL_QUBE"]["BAND_BIN"]["BAND_BIN_CENTER"][0] == 6.78
    head = odl.label_text(themis).encode()
    image = tmp_path / "ATTACHED.IMG"
    image.write_bytes(head + b"\r\n" + bytes(range(256)) * 64)
    assert pds3.is_pds3_label(image, image.read_bytes()[:256])
    product = pds3.parse_label(image)
    assert product.lid == "urn:lunarchive:pds3:ody-m-thm-3-irrdr-v1.0:i74199019rdr"
    assert [(f.name, f.role) for f in product.files] == [("ATTACHED.IMG", "data"), ("ODY_ORIENT_POINT.TXT", "document")]
    assert product.files[0].declared_size == 2755 * 644  # FILE_RECORDS x RECORD_BYTES, fixed-length records


def test_is_pds3_label(tmp_path: Path) -> None:
    lbl = corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl")
    assert pds3.is_pds3_label(lbl, lbl.read_bytes()[:512])
    viking = corpus_file("pds3/non_lunar/viking_orbiter/f004a47.lbl")
    assert pds3.is_pds3_label(Path("f004a47.img"), viking.read_bytes()[:512])  # SFDU-wrapped label
    assert pds3.is_pds3_label(Path("X.LBL"), b"/* comment */\r\nRECORD_TYPE = STREAM\r\n")
    assert pds3.is_pds3_label(Path("x.IMG"), b"\xef\xbb\xbfpds_version_id = PDS3\n")
    assert not pds3.is_pds3_label(Path("x.lbl"), b'<?xml version="1.0"?><Product_Observational/>')
    assert not pds3.is_pds3_label(Path("x.xml"), b"PDS4 text <Product_Observational/>")
    assert not pds3.is_pds3_label(Path("x.tab"), b"     1 2009-06-30T08:34:35.653371 2009")
    assert not pds3.is_pds3_label(Path("x.lbl"), b"")


# --------------------------------------------------------------------------------------- broken labels
def test_truncated_label_gives_format_error(tmp_path: Path) -> None:
    original = corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl").read_bytes()
    broken = tmp_path / "M103595705LE.lbl"
    broken.write_bytes(original[: len(original) // 2])
    for fast in (True, False):
        with pytest.raises(FormatError, match="no END statement") as info:
            pds3.parse_label(broken, fast=fast)
        assert "\n" not in info.value.message


def test_syntax_error_gives_format_error_with_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.lbl"
    broken.write_text("PDS_VERSION_ID = PDS3\nPRODUCT_ID = (A, B\nTARGET_NAME = MOON\nEND\n")
    for fast in (True, False):
        with pytest.raises(FormatError) as info:
            pds3.parse_label(broken, fast=fast)
        assert info.value.line is not None and "line" in info.value.message
        assert info.value.message.startswith("not a readable PDS3 label: ")
        assert "\n" not in info.value.message


@pytest.mark.parametrize("content", [b"", b"END\n", b"\x00\x01\x02" * 100])
def test_empty_or_binary_file_gives_format_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.lbl"
    path.write_bytes(content)
    with pytest.raises(FormatError):
        pds3.read_label(path)


def test_resolve_file_finds_any_case(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "Mixed.Img"
    target.write_bytes(b"x")
    assert pds3.resolve_file(tmp_path, "DATA/MIXED.IMG") == target.absolute()
    assert pds3.resolve_file(tmp_path, "data/mixed.img") == target.absolute()
    assert pds3.resolve_file(tmp_path, "data/other.img") is None
    assert pds3.resolve_file(tmp_path, "nowhere/x.img") is None


def test_label_notes_name_what_a_label_lacks(tmp_path: Path) -> None:
    """A label with no PDS_VERSION_ID (and no SFDU header) and a keyword with no value is still catalogued,
    with a warning for each; ids left out of the label are noted with the LID they led to."""
    path = tmp_path / "bare.lbl"
    path.write_text("TARGET_NAME = MOON\nOBJECT = IMAGE\n  LINES =\n  LINE_SAMPLES = 10\nEND_OBJECT = IMAGE\nEND\n")
    product = pds3.parse_label(path)
    notes = pds3.label_notes(product)
    assert [(m, line) for m, _, line in notes] == [
        (pds3.MISSING_KEYWORD, None), (pds3.EMPTY_VALUE, 3), (pds3.ID_FROM_DEFAULT, None), (pds3.ID_FROM_DEFAULT, None),
    ]
    assert "IMAGE.LINES has no value on line 3" in notes[1][1]
    assert "urn:lunarchive:pds3:unknown:bare" in notes[3][1] and "'bare.lbl'" in notes[3][1]
    assert product.discipline["IMAGE"]["LINES"] == ""  # pvl's reading, kept


def test_label_notes_of_corpus_labels() -> None:
    """Whole PDS3 labels get no notes. The PDS2-era Viking label (an SFDU header, IMAGE_ID but no PRODUCT_ID)
    gets a warning for the format file pasted inside OBJECT = ENGINEERING_TABLE, whose END ends the label
    there (so that object and the IMAGE after it are not read), and the note that its LID is built from
    the file name."""
    assert pds3.label_notes(pds3.parse_label(corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl"))) == []
    viking = pds3.label_notes(pds3.parse_label(corpus_file("pds3/non_lunar/viking_orbiter/f004a47.lbl")))
    assert [(m, line) for m, _, line in viking] == [(pds3.UNCLOSED, 42), (pds3.ID_FROM_DEFAULT, None)]
    assert "ENGINEERING_TABLE" in viking[0][1] and "PRODUCT_ID" in viking[1][1]


def test_a_block_still_open_at_end_is_a_warning() -> None:
    """rms-pdsparser's Cassini VIMS label with END_OBJECT = SPECTRAL_QUBE left out: pvl (and the fast
    reader, equal to it) drop the open object; the note says so, on the line that opens it."""
    folder = Path(__file__).parent / "data" / "pypi" / "pds3" / "cassini_vims"
    whole, broken = folder / "v1877838443_1.lbl", folder / "v1877838443_1-EXCEPTION2.lbl"
    for path in (whole, broken):
        text = odl.label_text(path)
        assert same(odl.loads_fast(text), odl.loads_pvl(text)), path.name
    assert pds3.label_notes(pds3.parse_label(whole)) == []
    assert "SPECTRAL_QUBE" in pds3.parse_label(whole).discipline
    product = pds3.parse_label(broken)
    assert "SPECTRAL_QUBE" not in product.discipline
    notes = pds3.label_notes(product)
    assert [(m, line) for m, _, line in notes] == [(pds3.UNCLOSED, 130)] and "SPECTRAL_QUBE" in notes[0][1]


def test_a_map_projections_centre_is_not_the_images() -> None:
    """A Kaguya MI map tile (ISIS3's test label): its IMAGE_MAP_PROJECTION says CENTER_LATITUDE/LONGITUDE
    0, 0, the projection's centre; the tile is 50-51 N, 124-125 E, which its ranges give."""
    label = Path(__file__).parent / "data/github/pds3/kaguya_mi_map/MI_MAP_03_N51E124N50E125SC_cropped.lbl"
    product = pds3.parse_label(label)
    assert "center" not in product.extra
    assert product.extra["lat_range"] == [50.00048828, 51.0] and product.extra["lon_range"] == [124.0, 124.99951172]


def test_a_time_that_names_no_instant_is_a_warning(tmp_path: Path) -> None:
    """The real LROC NAC label with its START_TIME moved to day 366 of a common year: kept as written, noted,
    and the stop time (still good) is not."""
    src = corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl")
    label = tmp_path / src.name
    label.write_bytes(src.read_bytes().replace(b"= 2009-07-30T12:20:38.185", b"= 2009-366T12:20:38.185", 1))
    product = pds3.parse_label(label)
    assert product.start == "2009-366T12:20:38.185"
    notes = [(m, text) for m, text, _ in pds3.label_notes(product)]
    assert len(notes) == 1 and notes[0][0] == pds3.BAD_TIME
    assert "START_TIME '2009-366T12:20:38.185'" in notes[0][1] and "day of year 366 is not in 2009" in notes[0][1]


def test_measured_files_against_the_label(data_dir: Path) -> None:
    """Ingest measures the file an attached label heads, and what files hold is held against the label: the
    LEND tables (real, cut to a few records by NASA validate's tests) are shorter than FILE_RECORDS x
    RECORD_BYTES; the Viking label (its image cut off in the ale test data) points ^IMAGE_HISTOGRAM past its
    end. The whole LROC NAC image file is stored as the product's data file."""
    from lunarchive.config import open_archive
    from lunarchive.ingest import ingest
    from lunarchive.search import get_product

    lend = corpus_file("pds3/lro_lend/lend_rdr_dld_20240615.lbl")
    viking = corpus_file("pds3/non_lunar/viking_orbiter/f004a47.lbl")
    with open_archive(data_dir) as archive:
        report = ingest(archive, [lend, viking], workers=0)
        found = {(Path(f.path).name, f.message_id): f.message for f in report.findings if f.severity == "error"}
        shown = get_product(archive.catalog, "urn:lunarchive:pds3:vo1_vo2-m-vis-2-edr-v2.0:f004a47")
    assert found[("lend_rdr_dld_20240615.lbl", pds3.FILE_SIZE)] == (
        "file 'LEND_RDR_DLD_20240615.DAT': FILE_RECORDS 74898 x RECORD_BYTES 239 is 17900622 bytes, the file has 288")
    assert "^IMAGE_HISTOGRAM points at record 62 (byte 73444) of 'f004a47.lbl', which holds 67218 bytes" in found[
        ("f004a47.lbl", pds3.OBJECT_PAST_END)]
    [own] = [f for f in shown["files"] if f["name"] == "f004a47.lbl"]
    assert own["status"] == "ok" and own["size"] == viking.stat().st_size and own["role"] == "data"


GITHUB_PDS3 = Path(__file__).parent / "data" / "github" / "pds3"


def test_hirise_times_in_a_group_compressed_file_and_mission_from_host(tmp_path: Path) -> None:
    """GDAL's copy of a HiRISE RDR label: its times are in GROUP = TIME_PARAMETERS (read as pvl reads them);
    the delivered file is the COMPRESSED_FILE's (a data file), and the UNCOMPRESSED_FILE it decompresses to is
    not expected; with no MISSION_NAME its host's name is its mission, and host id and name are both kept."""
    label = tmp_path / "ESP_013951_1955_RED.LBL"
    shutil.copyfile(GITHUB_PDS3 / "hirise_mars" / label.name, label)
    (tmp_path / "byte.tif").write_bytes(b"II*\x00")
    product = pds3.parse_label(label)
    assert (product.start, product.stop) == ("2009-07-18T13:54:41.485", "2009-07-18T13:54:52.028")
    assert product.extra["product_creation_time"] == "2009-08-09T01:26:11"
    assert product.investigations == ["MARS RECONNAISSANCE ORBITER"]
    assert product.instrument_hosts == ["MRO", "MARS RECONNAISSANCE ORBITER"]
    files = {f.name: f for f in product.files}
    assert files["byte.tif"].role == "data" and files["byte.tif"].path == str(tmp_path / "byte.tif")
    assert "ESP_013951_1955_RED_cnode26:398.IMG" not in files
    assert product.extra["uncompressed_files"] == ["ESP_013951_1955_RED_cnode26:398.IMG"]
    assert files["DSMAP.CAT"].role == "catalog" and files["JP2INFO.TXT"].role == "document"


def test_extent_from_minimum_and_maximum_longitude() -> None:
    """Magellan MIDR labels give their extent as MINIMUM/MAXIMUM_LONGITUDE (positive east here)."""
    product = pds3.parse_label(GITHUB_PDS3 / "magellan_venus" / "ff17_cropped.lbl")
    assert product.extra["lon_range"] == [322.0367, 322.8903] and product.extra["lat_range"] == [-29.6357, -28.9092]
    assert product.bbox is not None and (product.bbox.west, product.bbox.east) == (322.0367, 322.8903)
    assert product.targets == ["VENUS"] and product.investigations == ["MAGELLAN"]


def test_format_document_and_catalog_files_are_found_in_their_volume_directories(tmp_path: Path) -> None:
    """A volume keeps format files in LABEL/, documents in DOCUMENT/ and catalog files in CATALOG/: a pointer's
    file that is not beside the label is found there (the HiRISE label's DSMAP.CAT and JP2INFO.TXT)."""
    volume = tmp_path / "MROHR_0001"
    data = volume / "RDR" / "ESP" / "ORB_013900_013999" / "ESP_013951_1955"
    data.mkdir(parents=True)
    shutil.copyfile(GITHUB_PDS3 / "hirise_mars" / "ESP_013951_1955_RED.LBL", data / "ESP_013951_1955_RED.LBL")
    for sub, name in (("CATALOG", "dsmap.cat"), ("DOCUMENT", "JP2INFO.TXT")):
        (volume / sub).mkdir()
        (volume / sub / name).write_text("x")
    files = {f.name: f.path for f in pds3.parse_label(data / "ESP_013951_1955_RED.LBL").files}
    assert files["DSMAP.CAT"] == str(volume / "CATALOG" / "dsmap.cat")
    assert files["JP2INFO.TXT"] == str(volume / "DOCUMENT" / "JP2INFO.TXT")
    assert files["byte.tif"] is None  # a data file is only looked for where the label says
    shutil.rmtree(volume / "CATALOG")  # a catalog file kept as a supplemental label (Mars MDIM: LABEL/DSMAPDIM.LBL)
    (volume / "LABEL").mkdir()
    (volume / "LABEL" / "DSMAP.CAT").write_text("x")
    files = {f.name: f.path for f in pds3.parse_label(data / "ESP_013951_1955_RED.LBL").files}
    assert files["DSMAP.CAT"] == str(volume / "LABEL" / "DSMAP.CAT")


def test_attached_pointer_past_the_end_and_clock_counts_with_units() -> None:
    """ale's Kaguya TC label (its image cut off): ^IMAGE points past the end of the file, which is said once the
    file is measured; clock counts written with units are kept (they were dropped)."""
    path = GITHUB_PDS3 / "kaguya_tc_attached" / "TC1S2B0_01_06691S820E0465_pds3.lbl"
    product = pds3.parse_label(path)
    assert product.extra["spacecraft_clock_start_count"] == "922997380.1775"
    [own] = product.files
    assert (own.name, own.local_identifier, own.declared_size) == (path.name, "IMAGE", None)
    own.size = path.stat().st_size  # measured, as ingest does
    [(message_id, text, _)] = pds3.file_notes(product)
    assert message_id == pds3.OBJECT_PAST_END
    assert text.startswith("^IMAGE points at 7599 <BYTES> (byte 7598) of") and "holds 7087 bytes" in text


def test_an_unknown_pds3_stop_time_is_flagged_open(tmp_path: Path) -> None:
    """STOP_TIME = UNK or NULL (CRISM CDRs, from 1980 on) leaves the span open; N/A does not."""
    src = corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl")
    for flag, expected in (("UNK", "UNK"), ("UNKNOWN", "UNKNOWN"), ("NULL", "NULL"), ('"N/A"', None)):
        label = tmp_path / f"{flag.strip(chr(34)).replace('/', '')}.lbl"
        label.write_bytes(src.read_bytes().replace(b"= 2009-07-30T12:21:32.155", f"= {flag}".encode(), 1))
        product = pds3.parse_label(label)
        assert product.stop is None and product.extra.get("stop_flag") == expected, flag


def test_an_unknown_stop_time_inside_a_group_is_flagged_open(tmp_path: Path) -> None:
    """The HiRISE label gives its times in GROUP = TIME_PARAMETERS: a STOP_TIME of UNK or NULL there leaves the
    span open as it does at the top of a label (it had been read as an instant)."""
    src = (GITHUB_PDS3 / "hirise_mars" / "ESP_013951_1955_RED.LBL").read_bytes()
    for flag, expected in (("UNK", "UNK"), ("NULL", "NULL"), ('"N/A"', None)):
        label = tmp_path / f"G{flag.strip(chr(34)).replace('/', '')}.LBL"
        label.write_bytes(src.replace(b"= 2009-07-18T13:54:52.028", f"= {flag}".encode(), 1))
        product = pds3.parse_label(label)
        assert product.start == "2009-07-18T13:54:41.485", flag
        assert product.stop is None and product.extra.get("stop_flag") == expected, flag


def test_selene_map_products_take_their_corrected_times() -> None:
    """ISIS3's SELENE MI level-3C label (lunar south pole, 79 S) gives no START/STOP_TIME, only JAXA's
    CORRECTED_START/STOP_TIME: they are its span (it had no time, so no time search found it)."""
    product = pds3.parse_label(GITHUB_PDS3 / "kaguya_mi_l3c" / "3C5_label.pvl")
    assert (product.start, product.stop) == ("2008-01-28T01:09:00.152227Z", "2008-01-28T01:09:11.514177Z")
    assert pds3.label_notes(product) == []


def test_the_host_id_comes_from_the_data_set_id_and_a_host_id_is_a_mission() -> None:
    """GDAL's LOLA GDR label names only INSTRUMENT_HOST_NAME: its DATA_SET_ID LRO-L-LOLA-4-GDR-V1.0 begins with
    the host id (the PDS3 naming rule), so --mission LRO finds it; the MGS TES label gives only SPACECRAFT_ID,
    which is then its mission (the list was empty)."""
    lola = pds3.parse_label(GITHUB_PDS3 / "lro_lola_gdr" / "LDEM_4.LBL")
    assert lola.instrument_hosts == ["LRO", "LUNAR RECONNAISSANCE ORBITER"]
    assert lola.investigations == ["LUNAR RECONNAISSANCE ORBITER"]
    tes = pds3.parse_label(GITHUB_PDS3 / "mgs_tes_atm" / "atm37301.lbl")
    assert (tes.investigations, tes.instrument_hosts) == (["MGS"], ["MGS"])


def test_a_label_with_an_end_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    """The real LEND label with CR-only line ends, and in UTF-16: each does end in END, and was reported as
    "no END statement (truncated label?)"; the finding now names the cause."""
    src = corpus_file("pds3/lro_lend/lend_rdr_dld_20240615.lbl").read_bytes()
    cases = {"cr_only.lbl": (src.replace(b"\r\n", b"\r"), "CR only"),
             "utf16.lbl": (src.decode("latin-1").encode("utf-16"), "UTF-16")}
    for name, (data, why) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(FormatError, match=why):
            pds3.parse_label(tmp_path / name)


def test_a_pointer_to_location_0_is_reported_and_makes_no_attached_data() -> None:
    """ISIS3's CRISM TRDR label gives ^TRDR_HK_TABLE = 0: the detached label had become its own data file
    (hashed and stored as the HK table) with no finding; locations count from 1, so it is a finding."""
    product = pds3.parse_label(GITHUB_PDS3 / "crism_trdr" / "frt0001e5c3_07_if124s_trr3_cropped.lbl")
    assert [f.name for f in product.files] == ["frt0001e5c3_07_if124s_trr3_cropped.img"]
    notes = pds3.file_notes(product)
    assert [(m, "TRDR_HK_TABLE = 0" in text) for m, text, _ in notes] == [
        ("error.label.table_definition_problem", True)]


def test_a_time_keyword_given_as_a_flag_leaves_the_next_one_to_give_the_span(tmp_path: Path) -> None:
    """START/STOP_TIME written as UNK or N/A give no time: SELENE's CORRECTED times, or a Viking image's
    IMAGE_TIME, then give the span (the real labels with the flags added, as other volumes write them)."""
    selene = (GITHUB_PDS3 / "kaguya_mi_l3c" / "3C5_label.pvl").read_bytes()
    at = selene.index(b"CORRECTED_START_TIME")
    (tmp_path / "selene.lbl").write_bytes(selene[:at] + b"START_TIME = UNK\nSTOP_TIME = UNK\n" + selene[at:])
    product = pds3.parse_label(tmp_path / "selene.lbl")
    assert (product.start, product.stop) == ("2008-01-28T01:09:00.152227Z", "2008-01-28T01:09:11.514177Z")
    viking = corpus_file("pds3/non_lunar/viking_orbiter/f004a47.lbl").read_bytes()
    at = viking.index(b"IMAGE_TIME")
    (tmp_path / "viking.lbl").write_bytes(viking[:at] + b'START_TIME = "N/A"\r\nSTOP_TIME = "N/A"\r\n' + viking[at:])
    product = pds3.parse_label(tmp_path / "viking.lbl")
    assert product.start == product.stop == "1976-06-23T18:42:11Z"
    assert pds3.BAD_TIME not in {m for m, _, _ in pds3.label_notes(product)}


@pytest.mark.parametrize(("rows", "said"), [(2, True), (1, False)])
def test_a_detached_table_whose_rows_the_file_does_not_hold(tmp_path: Path, rows: int, said: bool) -> None:
    """The LEND table label over the first real row of its .dat (rms-pdstable's bad-rows case, here made from
    the corpus copy): ROWS = 2 over a file of one 239-byte row is a records mismatch; ROWS = 1 is not."""
    src = corpus_file("pds3/lro_lend/lend_rdr_dld_20240615.lbl")
    label = tmp_path / src.name
    text = src.read_text().replace("FILE_RECORDS                   = 74898", "FILE_RECORDS                   = 1")
    label.write_text(text.replace("ROWS                        = 74898", f"ROWS                        = {rows}"))
    (tmp_path / "lend_rdr_dld_20240615.dat").write_bytes(
        corpus_file("pds3/lro_lend/lend_rdr_dld_20240615.dat").read_bytes()[:239])
    product = pds3.parse_label(label)
    table = next(f for f in product.files if f.name.lower().endswith(".dat"))
    table.size = 239  # measured, as ingest does
    notes = [(m, t) for m, t, _ in pds3.file_notes(product)]
    assert notes == ([(pds3.TABLE_ROWS, "^TABLE: ROWS = 2, but 'LEND_RDR_DLD_20240615.DAT' holds 1 rows of 239 "
                       "bytes")] if said else [])


def test_a_detached_label_cut_at_a_statement_inside_an_object_is_still_truncated(tmp_path: Path) -> None:
    """Read to the end of its file, a detached label without END is refused when a block is still open there
    (pvl and the fast reader alike): it was cut short, not written without END."""
    original = corpus_file("pds3/lro_lroc_nac_edr/M103595705LE.lbl").read_bytes()
    cut = original.index(b"    MD5_CHECKSUM")
    broken = tmp_path / "M103595705LE.lbl"
    broken.write_bytes(original[:cut])
    for fast in (True, False):
        with pytest.raises(FormatError, match="no END statement") as info:
            pds3.parse_label(broken, fast=fast)
        assert "\n" not in info.value.message


def test_one_spacecraft_named_with_underscores_and_with_spaces_is_one_name() -> None:
    """A CTX EDR label (DOI-USGS/ale) gives SPACECRAFT_NAME = MARS_RECONNAISSANCE_ORBITER and INSTRUMENT_HOST_NAME
    = "MARS RECONNAISSANCE ORBITER": one mission and one host name (it was listed twice), kept with spaces."""
    label = GITHUB_PDS3 / "mro_ctx_edr" / "B10_013341_1010_XN_79S172W_pds3.lbl"
    for fast in (True, False):
        product = pds3.parse_label(label, fast=fast)
        assert product.investigations == ["MARS RECONNAISSANCE ORBITER"]
        assert product.instrument_hosts == ["MRO", "MARS RECONNAISSANCE ORBITER"]
        assert product.instruments == ["CTX"] and product.targets == ["MARS"]


def test_an_empty_detached_label_says_it_is_empty(tmp_path: Path) -> None:
    """Read whole for want of END, an empty .lbl is still reported as an empty file (not as one without
    keywords)."""
    empty = tmp_path / "EMPTY.LBL"
    empty.write_bytes(b"")
    for fast in (True, False):
        with pytest.raises(FormatError, match="empty file"):
            pds3.parse_label(empty, fast=fast)
