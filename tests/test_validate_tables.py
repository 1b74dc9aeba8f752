"""Table definitions and table contents: real tables read as their labels define them, and bad input
(built in tmp_path from real files) giving findings, not crashes, in bounded memory."""

from __future__ import annotations

import shutil
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lunarchive.errors import FormatError
from lunarchive.formats.pds4 import parse_label
from lunarchive.formats.tables import DelimitedReader, FixedReader, tables_from_tree
from lunarchive.formats.xmlsafe import parse_xml
from lunarchive.validate import validate_paths
from lunarchive.validate.table_rules import check_table_content
from lunarchive.validate.values import format_ok, format_problems

from .conftest import corpus_file

DIVINER = "pds4/lro/diviner/201401031400_rdr.xml"


def _copy(rel_label: str, dest: Path, *data: str) -> Path:
    """The label and its data files (each found with corpus_file) side by side in ``dest``."""
    label = corpus_file(rel_label)
    shutil.copyfile(label, dest / label.name)
    for name in data:
        shutil.copyfile(corpus_file(str(Path(rel_label).parent / name)), dest / name)
    return dest / label.name


def _tables(label: Path) -> list:
    return tables_from_tree(parse_xml(label.read_bytes(), str(label)), str(label.parent.resolve()))


def _errors(path: Path, **kw: object) -> Counter[str]:
    report = validate_paths([path], **kw)  # type: ignore[arg-type]
    return Counter(f.message_id for f in report.all_findings() if f.severity in ("error", "warning"))


@pytest.fixture
def diviner(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A writable copy of the Diviner RDR product: (label path, label bytes, table bytes)."""
    copy = _copy(DIVINER, tmp_path, "201401031400_rdr.tab")
    return copy, copy.read_bytes(), copy.with_suffix(".tab").read_bytes()


def test_character_table_definition_follows_the_label(diviner: tuple[Path, bytes, bytes]) -> None:
    (table,) = _tables(diviner[0])
    assert (table.kind, table.offset, table.records, table.record_length) == ("character", 1368, 10, 342)
    assert len(table.fields) == 33 and table.delimiter_bytes == b"\r\n" and not table.problems
    jdate = table.fields[2]
    assert (jdate.name, jdate.offset, jdate.length, jdate.data_type) == ("jdate", 31, 17, "ASCII_Real")
    assert jdate.maximum == 2456661.084471756 and "-9999" in jdate.constants


def test_nested_groups_expand_to_absolute_offsets() -> None:
    (table,) = _tables(corpus_file("pds4/apollo/sws/a12_sws_1975124_l1_arcsav_yz_tab.xml"))
    assert not table.problems
    assert len(table.fields) == 5 + 14 * (2 + 7 * 2)
    offsets = [f.offset for f in table.fields]
    assert offsets == sorted(offsets) and offsets[5] == 34 + 3  # group at byte 35, first field at 4
    assert table.fields[-1].offset + table.fields[-1].length <= table.record_length - 2


def test_group_length_that_does_not_fit_its_fields_is_a_definition_problem() -> None:
    (table,) = _tables(corpus_file("pds4/invalid/apollo_sws_table_definition/b.xml"))
    assert table.problems and "group_length is smaller" in table.problems[0]


def test_binary_table_with_packed_bit_fields_reads_clean(tmp_path: Path) -> None:
    rel = "pds4/invalid/kaguya_bundle_bad_filenames/VALID_odf07155_msgr_11_with_bad_char_#_.xml"
    label = _copy(rel, tmp_path, "odf07155.dat")
    tables = _tables(label)
    assert len(tables) == 13 and all(t.kind == "binary" and not t.problems for t in tables)
    assert any(f.bits for t in tables for f in t.fields)
    product = parse_label(label)
    for t in tables:
        check = check_table_content(t, product.label_path or "", product.lidvid)
        assert check.findings == [], check.findings[:3]


def test_fixed_reader_stops_at_declared_records_and_chunks(diviner: tuple[Path, bytes, bytes]) -> None:
    (table,) = _tables(diviner[0])
    reader = FixedReader(table, chunk_bytes=342 * 3)
    chunks = list(reader)
    assert [c.shape for c in chunks] == [(3, 342), (3, 342), (3, 342), (1, 342)]
    assert reader.records_read == 10 and reader.tail == b""
    assert bytes(chunks[0][0, -2:]) == b"\r\n"


def test_delimited_reader_reads_inventory_lines() -> None:
    (table,) = _tables(corpus_file("pds4/invalid/voyager_collection_records_mismatch/collection6.xml"))
    reader = DelimitedReader(table, chunk_bytes=64)
    lines = [line for chunk in reader for line in chunk]
    assert reader.records_read == 6 == len(lines)  # declared 6 of 7: stops there, as validate does
    assert all(line.endswith(b"\r") for line in lines) and lines[0].startswith(b"P,urn:nasa:pds:")


@pytest.mark.parametrize(
    ("rel", "data"),
    [
        (DIVINER, "201401031400_rdr.tab"),
        ("pds4/lro/lend/lend_rdr_dld_20240615.xml", "lend_rdr_dld_20240615.dat"),
        ("pds4/apollo/sws/a12_sws_1975124_l1_arcsav_yz_tab.xml", "b.tab"),
    ],
)
def test_real_tables_have_clean_content(rel: str, data: str, tmp_path: Path) -> None:
    label = _copy(rel, tmp_path, data)
    product = parse_label(label)
    for t in _tables(label):
        check = check_table_content(t, product.label_path or "")
        assert check.findings == [] and check.bytes_read > 0


def test_value_above_field_statistics_maximum_names_record_and_field() -> None:
    report = validate_paths(
        [corpus_file("pds4/invalid/lro_diviner_max_out_of_range/201401031400_rdr_max_FAIL.xml")]
    )
    (f,) = report.all_findings()
    assert f.message_id == "error.table.field_value_out_of_min_max_range"
    assert "record 10, field 33 (qmi)" in f.message and "130" in f.message and "128" in f.message


def test_shorter_table_is_a_truncated_object(diviner: tuple[Path, bytes, bytes]) -> None:
    label, _, tab = diviner
    label.with_suffix(".tab").write_bytes(tab[:3000])
    report = validate_paths([label])
    (f,) = report.all_findings()
    assert f.message_id == "error.label.table_definition_problem" and "truncated" in f.message
    assert f.line is not None


def test_longer_table_is_not_an_error(diviner: tuple[Path, bytes, bytes]) -> None:
    label, _, tab = diviner
    label.with_suffix(".tab").write_bytes(tab + tab[1368 : 1368 + 342 * 2])
    assert _errors(label) == Counter()


def test_absurd_record_count_is_a_finding_in_no_time(diviner: tuple[Path, bytes, bytes]) -> None:
    label, text, _ = diviner
    label.write_bytes(text.replace(b"<records>10</records>", b"<records>1000000000000</records>"))
    t0 = time.perf_counter()
    assert _errors(label) == Counter({"error.label.table_definition_problem": 1})
    assert time.perf_counter() - t0 < 2


def test_absurd_record_count_in_a_delimited_table(tmp_path: Path) -> None:
    src = corpus_file(
        "pds4/invalid/kaguya_bundle_bad_filenames/data_spectra/kgrs_calibrated_spectra_per1.xml"
    )
    shutil.copyfile(src.with_suffix(".csv"), tmp_path / src.with_suffix(".csv").name)
    label = tmp_path / src.name
    label.write_bytes(src.read_bytes().replace(b"<records>1</records>", b"<records>1000000000000</records>"))
    report = validate_paths([label])
    (f,) = [f for f in report.all_findings() if f.severity == "error"]
    assert (
        f.message_id == "error.table.records_mismatch"
        and "1000000000000" in f.message
        and "holds 1" in f.message
    )


def test_unknown_data_type_is_a_definition_problem(diviner: tuple[Path, bytes, bytes]) -> None:
    label, text, _ = diviner
    label.write_bytes(
        text.replace(b"<data_type>ASCII_Real</data_type>", b"<data_type>ASCII_Realz</data_type>", 1)
    )
    report = validate_paths([label])
    (f,) = report.all_findings()
    assert f.message_id == "error.label.table_definition_problem" and "ASCII_Realz" in f.message


def test_binary_garbage_gives_capped_findings_not_a_crash(diviner: tuple[Path, bytes, bytes]) -> None:
    label, _, tab = diviner
    rng = np.random.default_rng(4)
    garbage = bytes(np.frombuffer(tab, np.uint8)[rng.permutation(len(tab) - 1368) + 1368])
    label.with_suffix(".tab").write_bytes(tab[:1368] + garbage)
    counts = _errors(label)
    assert counts["error.table.field_value_data_type_mismatch"] >= 50
    assert counts["error.table.missing_CRLF"] >= 9
    assert all(n <= 201 for n in counts.values())  # capped per kind (+1 line saying how many more)


def test_bad_number_and_lf_line_ends(diviner: tuple[Path, bytes, bytes]) -> None:
    label, _, tab = diviner
    data = bytearray(tab)
    i = tab.index(b"2456661.083333990")
    data[i : i + 5] = b"24x66"
    label.with_suffix(".tab").write_bytes(bytes(data))
    report = validate_paths([label])
    (f,) = report.all_findings()
    assert f.message_id == "error.table.field_value_data_type_mismatch" and "field 3 (jdate)" in f.message
    label.with_suffix(".tab").write_bytes(tab[:1368] + tab[1368:].replace(b"\r\n", b" \n"))
    assert _errors(label) == Counter({"error.table.missing_CRLF": 10})


def test_delimited_table_with_lf_and_a_bad_member_status(tmp_path: Path) -> None:
    src = corpus_file("pds4/invalid/voyager_collection_records_mismatch/collection6.xml")
    csv = src.parent / "collection_document.csv"
    rows = csv.read_bytes().split(b"\r\n")
    (tmp_path / csv.name).write_bytes(b"\r\n".join([b"X" + rows[0][1:], *rows[1:]]).replace(b"\r\n", b"\n"))
    label = tmp_path / src.name
    label.write_bytes(src.read_bytes())
    counts = _errors(label)
    assert counts["error.inventory_table.invalid_member_status"] == 1
    assert counts["error.table.missing_CRLF"] == 6  # the 6 records the label declares
    assert counts["error.label.filesize_mismatch"] == 1 and counts["error.label.checksum_mismatch"] == 1


def test_large_table_is_read_in_bounded_memory(diviner: tuple[Path, bytes, bytes]) -> None:
    label, text, tab = diviner
    records = tab[1368:]
    n = 6000  # 600 repetitions of the 10 real records: about 20 MB
    label.with_suffix(".tab").write_bytes(tab[:1368] + records * (n // 10))
    label.write_bytes(text.replace(b"<records>10</records>", f"<records>{n}</records>".encode()))
    product = parse_label(label)
    (table,) = _tables(label)
    tracemalloc.start()
    check = check_table_content(table, product.label_path or "", chunk_bytes=1 << 20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert check.findings == [] and check.bytes_read == n * 342
    assert peak < 8 << 20, f"peak {peak / 1e6:.1f} MB for a {n * 342 / 1e6:.1f} MB table"


_NOISE = b'0123456789-+.eE "X\xff,\t\x00Z:T/'
_MUTATED = [
    "pds4/clps/pitms_bundle/data_raw/PITMS_RAW_AUX.xml",  # delimited, integers, reals and a date
    "pds4/invalid/apollo_sws_table_definition/b.xml",  # character, formats
    DIVINER,  # character, Field_Statistics limits and special constants
    "pds4/non_lunar/maven_iuvs_unicode_name/äf.xml",  # binary, hundreds of fields, text fields among them
]


def _same_as_column_checks(label: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """The label's table findings read in chunks big and small (both runs' findings, one after the other),
    after asserting that each run's equal those of checking every column on its own."""
    from lunarchive.validate.columns import TablePlan

    out: list[tuple[str, str, str]] = []
    for chunk_bytes in (8 << 20, 700):
        got = _content_findings(label, chunk_bytes)
        with monkeypatch.context() as m:
            m.setattr(TablePlan, "to_check", lambda self, cells: list(range(len(self.fields))))
            assert got == _content_findings(label, chunk_bytes)
        out += got
    return out


def _content_findings(label: Path, chunk_bytes: int) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for table in _tables(label):
        if not table.problems:
            check = check_table_content(table, str(label), cap=50, chunk_bytes=chunk_bytes)
            out += [(f.message_id, f.severity, f.message) for f in check.findings]
    return out


@pytest.mark.parametrize("rel", _MUTATED)
@pytest.mark.parametrize("seed", range(4))
def test_whole_chunk_pass_gives_the_column_checks_findings(
    rel: str, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real tables with seeded random bytes overwritten: the findings are those of checking every column on
    its own (the pass over whole chunks only skips columns with nothing to report), in chunks big and small."""
    source = corpus_file(rel)
    names = sorted({t.file_name for t in _tables(source) if t.path})
    label = _copy(rel, tmp_path, *names)
    rng = np.random.default_rng(seed)
    for name in names:
        data = np.frombuffer((tmp_path / name).read_bytes(), np.uint8).copy()
        where = rng.integers(0, data.size, size=[0, 3, 40, 400][seed])
        data[where] = rng.choice(np.frombuffer(_NOISE, np.uint8), size=where.size)
        (tmp_path / name).write_bytes(data.tobytes())
    got = _same_as_column_checks(label, monkeypatch)
    if seed == 0:
        assert got == [] or rel.endswith("b.xml")  # the corpus tables as they are (b.xml: a bad definition)


def test_carriage_return_inside_a_delimited_record_is_a_finding(tmp_path: Path) -> None:
    rel = "pds4/clps/pitms_bundle/data_raw/PITMS_RAW_AUX.xml"
    names = sorted({t.file_name for t in _tables(corpus_file(rel)) if t.path})
    label = _copy(rel, tmp_path, *names)
    data = (tmp_path / names[0]).read_bytes()
    cut = data.index(b",", data.index(b"\n") + 1)  # in the record, after the header line
    (tmp_path / names[0]).write_bytes(data[:cut] + b"\r," + data[cut:])  # one field more, and a bare CR
    found = _content_findings(label, 8 << 20)
    assert any(m == "error.table.fields_mismatch" and "cannot be split into fields" in text for m, _, text in found)


def _fresh(label: Path, data: bytes) -> list:
    """The label's tables with the definition cache emptied first (each read from its element)."""
    from lunarchive.formats import tables

    tables._CACHE.clear()
    return tables_from_tree(parse_xml(data, str(label)), str(label.parent))


def test_cached_definitions_equal_those_read_afresh_on_the_whole_corpus() -> None:
    """Every table of every corpus label, read twice through the definition cache and once afresh."""
    from .conftest import shared_corpus

    labels = sorted(p for p in shared_corpus().rglob("*") if p.suffix in (".xml", ".lblx") and p.is_file())
    checked = 0
    for label in labels:
        data = label.read_bytes()
        try:
            root = parse_xml(data, str(label))
        except FormatError:
            continue
        cached = [tables_from_tree(root, str(label.parent)) for _ in range(2)]
        assert cached[0] == cached[1] == _fresh(label, data), label
        checked += len(cached[0])
    assert checked >= 70


@pytest.mark.parametrize("seed", range(4))
def test_whole_chunk_pass_on_numbers_out_of_their_limits(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Diviner's table with digits overwritten by other digits: the numbers stay well formed but many leave
    their Field_Statistics limits; the findings are those of checking every column on its own."""
    label = _copy(DIVINER, tmp_path, "201401031400_rdr.tab")
    data = np.frombuffer((tmp_path / "201401031400_rdr.tab").read_bytes(), np.uint8).copy()
    digits = np.flatnonzero((data >= ord("0")) & (data <= ord("9")))
    rng = np.random.default_rng(seed)
    where = rng.choice(digits, size=[5, 30, 120, 600][seed], replace=False)
    data[where] = rng.choice(np.frombuffer(b"0123456789", np.uint8), size=where.size)
    (tmp_path / "201401031400_rdr.tab").write_bytes(data.tobytes())
    got = _same_as_column_checks(label, monkeypatch)
    assert any(m == "error.table.field_value_out_of_min_max_range" for m, _, _ in got) or seed == 0


def test_special_constants_need_not_have_the_data_type(diviner: tuple[Path, bytes, bytes]) -> None:
    """A value equal to one of its field's special constants is not checked against the data type (as
    validate exempts them: ``UNK`` in an ASCII_Real field); any other such value still is."""
    label, text, tab = diviner
    at = text.index(b"<name>jdate</name>")  # this field's constant only
    label.write_bytes(text[:at] + text[at:].replace(b"<unknown_constant>-9999</unknown_constant>",
                                                    b"<unknown_constant>UNK</unknown_constant>", 1))
    i = tab.index(b"2456661.083333990")
    for value, expected in ((b"              UNK", Counter()),
                            (b"              UNX", Counter({"error.table.field_value_data_type_mismatch": 1}))):
        label.with_suffix(".tab").write_bytes(tab[:i] + value + tab[i + 17:])
        assert _errors(label) == expected, value


def test_field_format_is_a_description_and_validation_format_a_rule(diviner: tuple[Path, bytes, bytes]) -> None:
    """As validate checks them since 3.5: a value may have fewer digits than its field_format's precision,
    more give a warning; a validation_format (character tables) must be met exactly, or it is an error."""
    label, text, _ = diviner
    at = text.index(b"<name>jdate</name>")  # values like 2456661.083333990: 9 digits after the point
    length = b'<field_length unit="byte">17</field_length>'
    end = text.index(length, at) + len(length)

    def with_format(element: bytes) -> Counter[str]:
        label.write_bytes(text[:end] + element + text[end:])
        report = validate_paths([label])
        return Counter(f"{f.severity}:{f.message_id}" for f in report.all_findings())

    assert with_format(b"<field_format>%17.12f</field_format>") == Counter()
    loose = with_format(b"<field_format>%17.6f</field_format>")
    assert set(loose) == {"warning:warning.table.field_value_format_precision_mismatch"}
    strict = with_format(b"<field_format>%17.9f</field_format><validation_format>%17.12f</validation_format>")
    assert set(strict) == {"error:error.table.field_value_format_precision_mismatch"}


def test_nasa_validate_case_github837_special_constants_of_other_types() -> None:
    """NASA validate's own regression case github837 (its files, unchanged): special constants that are not
    of their field's data type pass; validate's feature file expects no error and no warning."""
    label = Path(__file__).parent / "data/github/pds4/validate_github837/x.xml"
    report = validate_paths([label])
    assert [(f.message_id, f.message) for f in report.all_findings() if f.severity in ("error", "warning")] == []


@pytest.mark.parametrize("fmt", ["%7.3f", "%-7.3f", "%+7.3f", "%5d", "%-5o", "%10.4e", "%10.4E", "%8x", "%12s", "%6.0f",
                                 "%17.12f", "not a format"])
@pytest.mark.parametrize("advisory", [True, False])
def test_format_ok_is_format_problems_finding_nothing(fmt: str, advisory: bool) -> None:
    """The quick verdict the whole-chunk pass uses agrees with the full check, message for message absent."""
    values = ["1.234", "1.2345", ".5", "5.", "-0.001", "+3", "1e5", "1.5E-03", "12.3456e+10", "abc", "ff", "0x1F",
              "123456789", "1.", "1.23e", "0.000", "7.0e0", "1.2.3", "2456661.083333990", "-.99", "N/A", ""]
    for value in values:
        for untrimmed in (value, f" {value}", f"{value} ", f"\t{value}"):
            fmt_ = (fmt, advisory)
            assert format_ok(value, untrimmed, fmt_) == (not format_problems(value, untrimmed, fmt_))
