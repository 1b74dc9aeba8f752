"""The CLI as a script sees it: JSON shapes, exit codes, one clear line for user errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lunarchive.formats import pds3

from .conftest import corpus_file

SUMMARY_KEYS = {"lidvid", "lid", "vid", "product_class", "title", "targets", "investigations", "instruments",
                "start", "stop", "bbox"}


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lunarchive.cli", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def filled(data_dir: Path) -> Path:
    for rel in ("pds4/lro", "pds4/clementine/basemap", "pds3/kaguya_tc"):
        r = run("ingest", str(corpus_file(rel)), data_dir=data_dir)
        assert r.returncode == 0, r.stderr
    return data_dir


def test_search_json_shape_and_filters(filled: Path) -> None:
    r = run("search", "--target", "moon", "--json", "--limit", "100", data_dir=filled)
    rows = json.loads(r.stdout)
    assert r.returncode == 0 and len(rows) >= 10
    for row in rows:
        assert SUMMARY_KEYS <= set(row)
        assert isinstance(row["targets"], list) and isinstance(row["instruments"], list)
    # each names the Moon, but for the Clementine basemap whose name is a template placeholder: its target
    # LID (urn:nasa:pds:context:target:satellite.earth.moon) is the Moon
    assert {row["lid"] for row in rows if "MOON" not in {t.upper() for t in row["targets"]}} == {
        "urn:nasa:pds:clementine:data:basemap_north_pole"}
    # The north-pole basemap names its target "{target}" (a real label oddity): found without --target.
    r = run("search", "--text", "north pole", "--json", data_dir=filled)
    boxes = {row["lid"].rsplit(":", 1)[1]: row["bbox"] for row in json.loads(r.stdout)}
    assert boxes["basemap_north_pole"] == [-135.0, 61.0, 135.0, 61.0]
    r = run("search", "--start", "2014-01-03T14:00:00Z", "--stop", "2014-01-03T14:00:10Z", "--json",
            data_dir=filled)
    assert [row["lid"] for row in json.loads(r.stdout)] == [
        "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr"]
    r = run("search", "--text", "Diviner", "--class", "observational", "--json", data_dir=filled)
    assert len(json.loads(r.stdout)) == 1


def test_show_json_has_detail_keys(filled: Path) -> None:
    r = run("show", "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr", "--json",
            data_dir=filled)
    row = json.loads(r.stdout)
    assert SUMMARY_KEYS | {"files", "references", "members", "findings", "versions"} <= set(row)
    assert row["vid"] == "1.0" and row["versions"] == [row["lidvid"]]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("show", "urn:nasa:pds:nothing:here::1.0"), 3, "no product"),
        (("show", "urn:nasa:pds:nothing::x.y"), 2, "LIDVID"),
        (("ingest", "/no/such/path"), 2, "no such file"),
        (("search", "--start", "last tuesday"), 2, "ISO 8601"),
        (("search", "--start", "2019-366"), 2, "ISO 8601"),  # day 366 of a common year
        (("search", "--start", "2019-03-05T12:00:99"), 2, "ISO 8601"),
        (("search", "--start", "2020", "--stop", "2019"), 2, "is after --stop"),
        (("search", "--limit", "9223372036854775808"), 2, "at most"),
        (("search", "--mission", ""), 2, "empty value"),
        (("show", "foo"), 2, "not a LID or LIDVID"),
        (("show", "urn:nasa:pds:lro_lend::1.0::1.0"), 2, "not a LID or LIDVID"),
        (("show", "urn:nasa:pds:"), 2, "not a LID or LIDVID"),
        (("ingest", ""), 2, "empty path"),
    ],
)
def test_user_errors_are_one_line(filled: Path, args: tuple[str, ...], code: int, needle: str) -> None:
    r = run(*args, data_dir=filled)
    assert r.returncode == code
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("ingest",), "Missing argument 'paths'"),
        (("search", "--limit", "abc"), "'--limit'"),
        (("search", "--bogus"), "No such option: --bogus"),
        (("frobnicate",), "No such command 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(data_dir: Path, args: tuple[str, ...], needle: str) -> None:
    r = run(*args, data_dir=data_dir)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("lunarchive: error: ") and needle in lines[0] and "--help" in lines[0]


def test_help_exits_0() -> None:
    r = subprocess.run([sys.executable, "-m", "lunarchive.cli", "search", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--bbox" in r.stdout and not r.stderr


def test_read_commands_never_make_a_data_directory(tmp_path: Path) -> None:
    """A mistyped --data-dir is an error for search and show (nothing is created there), and an empty one is
    refused by every command rather than read as the current directory."""
    missing = tmp_path / "typo"
    for args in (("search",), ("show", "urn:nasa:pds:ladee.spice")):
        r = run(*args, data_dir=missing)
        assert r.returncode == 2 and "no catalogue in" in r.stderr and not missing.exists()
    r = subprocess.run([sys.executable, "-m", "lunarchive.cli", "search", "--data-dir", ""], capture_output=True,
                       text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and "--data-dir is empty" in r.stderr and list(tmp_path.iterdir()) == []


def test_label_text_is_printed_as_written_not_as_markup(data_dir: Path, tmp_path: Path) -> None:
    """A real Diviner label whose title holds square brackets: printed as written by search and show (rich
    read ``[/bold]`` as markup and stopped with a traceback, and dropped ``[calibrated]``)."""
    src = corpus_file("pds4/lro/diviner/201401031400_rdr.xml")
    label = tmp_path / src.name
    data = src.read_bytes()
    start = data.index(b"<title>") + len(b"<title>")
    label.write_bytes(data[:start] + b"LRO Diviner [/bold] data [calibrated]" + data[data.index(b"</title>"):])
    assert run("ingest", str(label), data_dir=data_dir).returncode == 0
    for args in (("search", "--text", "Diviner"), ("show", "urn:nasa:pds:lro_diviner_derived1:data_calibrated:"
                                                            "201401031400_rdr")):
        r = run(*args, data_dir=data_dir)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        assert "[calibrated]" in r.stdout and "[/bold]" in r.stdout


def test_ids_in_any_case_and_text_operators(filled: Path) -> None:
    """PDS ids are case-insensitive; --text takes a whole LIDVID, OR, -word and word* (they were literal
    words that nothing matched); --mission's % and _ are letters."""
    lid = "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr"
    r = run("show", lid.upper(), "--json", data_dir=filled)
    assert r.returncode == 0 and json.loads(r.stdout)["lid"] == lid

    def lids(*args: str) -> set[str]:
        r = run("search", *args, "--json", "--limit", "1000", data_dir=filled)
        assert r.returncode == 0, r.stderr
        return {row["lid"] for row in json.loads(r.stdout)}

    assert lids("--text", f"{lid}::1.0") == {lid}
    diviner, lend = lids("--text", "Diviner"), lids("--text", "LEND")
    assert diviner and lend and lids("--text", "Diviner OR LEND") == diviner | lend
    assert lids("--text", "Divin*") == diviner and lids("--text", "Diviner -calibrated") < diviner
    assert lids("--mission", "%") == set() and lids("--mission", "L_NAR") == set()
    assert lids("--mission", "lunar") == lids("--mission", "LUNAR") != set()


def test_a_product_with_only_a_stop_time_is_that_instant(data_dir: Path, tmp_path: Path) -> None:
    """The real LEND label with its start time nil (as the comet colour table of the corpus has it): found by a
    query around its stop time, with --stop given too (its start was stored as nothing, which no --stop
    matched)."""
    src = corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml")
    label = tmp_path / src.name
    label.write_bytes(src.read_bytes().replace(b"<start_date_time>2024-06-15T00:00:00Z</start_date_time>",
                                               b'<start_date_time xsi:nil="true" nilReason="unknown"/>'))
    assert run("ingest", str(label), data_dir=data_dir).returncode == 0
    for args in (("--stop", "2024-06-16"), ("--start", "2024-06-15T23:59:59Z", "--stop", "2024-06-15T23:59:59Z"),
                 ("--start", "2024-06-15",)):
        r = run("search", *args, "--json", data_dir=data_dir)
        assert [row["start"] for row in json.loads(r.stdout)] == [None], args
    r = run("search", "--stop", "2024-06-15T12:00:00Z", "--json", data_dir=data_dir)
    assert json.loads(r.stdout) == []


def test_missions_and_instruments_by_context_ids_and_hosts(filled: Path) -> None:
    """--mission and --instrument match the context products a label references (by LID) and its host, as
    well as the names it gives. A catalogue written before these terms gets them from its migration."""
    import sqlite3

    def lids(*args: str) -> set[str]:
        r = run("search", *args, "--json", "--limit", "1000", data_dir=filled)
        assert r.returncode == 0, r.stderr
        return {row["lid"] for row in json.loads(r.stdout)}

    lro = lids("--mission", "urn:nasa:pds:context:investigation:mission.lunar_reconnaissance_orbiter")
    assert "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr" in lro
    assert lids("--instrument", "lro.dlre") == {"urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr"}
    by_host = lids("--mission", "LRO")  # the host's context LID, ...spacecraft.lro, or its id in a PDS3 label
    assert "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr" in by_host
    with sqlite3.connect(filled / "catalog.sqlite") as conn:  # as a catalogue written before 0004 holds them
        conn.execute("DELETE FROM product_terms WHERE value LIKE 'URN:%' OR (kind = 'investigation' AND value IN "
                     "(SELECT upper(h.value) FROM products p, json_each(p.instrument_hosts) h))")
        conn.execute("DELETE FROM _migrations WHERE name = '0004_context_terms'")
    assert lids("--instrument", "lro.dlre") != set() and lids("--mission", "LRO") == by_host


@pytest.mark.parametrize(("reason", "open_ended"), [("unknown", True), ("anticipated", True), ("inapplicable", False)])
def test_a_stop_time_nil_because_unknown_leaves_the_span_open(data_dir: Path, tmp_path: Path, reason: str,
                                                              open_ended: bool) -> None:
    """The real LEND label with its stop time nil (as the InSight RAD bundle's is, nilReason unknown): a span
    that goes on is found by any query after its start; an inapplicable stop leaves the product an instant."""
    src = corpus_file("pds4/lro/lend/lend_rdr_dld_20240615.xml")
    label = tmp_path / src.name
    label.write_bytes(src.read_bytes().replace(b"<stop_date_time>2024-06-15T23:59:59Z</stop_date_time>",
                                               f'<stop_date_time xsi:nil="true" nilReason="{reason}"/>'.encode()))
    assert run("ingest", str(label), data_dir=data_dir).returncode == 0
    r = run("search", "--start", "2025-01-01", "--stop", "2025-02-01", "--json", data_dir=data_dir)
    assert len(json.loads(r.stdout)) == (1 if open_ended else 0)
    r = run("search", "--stop", "2024-06-14", "--json", data_dir=data_dir)
    assert json.loads(r.stdout) == []  # never before its start


GITHUB_PDS4 = Path(__file__).parent / "data" / "github" / "pds4"
GITHUB_PDS3 = Path(__file__).parent / "data" / "github" / "pds3"


def test_a_span_from_year_zero_is_found_by_time_and_years_below_1000_compare(data_dir: Path) -> None:
    """SBN's comet compilation (validate's case github1660) spans 0000Z to 1975Z: it is found in 1960 (it was
    catalogued as 1975 only, with a false warning), and query years below 1000 are compared as years (``--stop
    0500`` matched every product: '500-...' sorted after '1978-...')."""
    r = run("ingest", str(GITHUB_PDS4 / "validate_github1660"), str(GITHUB_PDS4 / "validate_github427"),
            data_dir=data_dir)
    assert r.returncode == 0 and "warning.label.schema" not in r.stdout, r.stdout
    def lids(*args: str) -> list[str]:
        r = run("search", *args, "--json", data_dir=data_dir)
        assert r.returncode == 0, r.stderr
        return sorted(row["lid"].rsplit(":", 1)[-1] for row in json.loads(r.stdout))
    comets = ["head_diameters_and_tail_lengths"]
    assert lids("--start", "1960-01-01", "--stop", "1961-12-31") == comets
    assert lids("--stop", "0500") == comets
    assert lids("--start", "0999", "--stop", "1001") == comets
    assert lids("--start", "2016-05-18", "--stop", "2016-05-18") == ["rs_20160518_014000_udsc64_l3_e"]


def test_source_products_are_references(data_dir: Path) -> None:
    """Akatsuki products (validate's cases github1357 and github427) name their source products in
    Source_Product_Internal, one element holding two lidvid_reference: each is a reference with its type."""
    label = GITHUB_PDS4 / "validate_github1357" / "uvi_20151207_051953_283_l3b_v21.lblx"
    assert run("ingest", str(label), str(GITHUB_PDS4 / "validate_github427"), data_dir=data_dir).returncode == 0
    show = json.loads(run("show", "urn:jaxa:darts-ard:vco_uvi_map:data_map:uvi_20151207_051953_283_l3b",
                          "--json", data_dir=data_dir).stdout)
    refs = {(r["target"], r["ref_type"]) for r in show["references"]}
    uvi = "urn:jaxa:darts:vco_uvi:"
    assert {(t, ty) for t, ty in refs if ty.endswith("source_product")} == {
        (f"{uvi}data_calibrated:uvi_20151207_051953_283_l2b::1.0", "data_to_calibrated_source_product"),
        (f"{uvi}geometry:uvi_20151207_051953_283_geo::1.0", "data_to_derived_source_product"),
        (f"{uvi}data-map:uvi_20151207_051953_283_l3b::1.0", "data_to_derived_source_product"),
    }
    assert not any(f["message_id"] == "error.label.schema" for f in show["findings"])  # darts-ard is a LID authority
    show = json.loads(run("show", "urn:jaxa:darts:vco_rs:data_derived:rs_20160518_014000_udsc64_l3_e", "--json",
                          data_dir=data_dir).stdout)
    assert {r["ref_type"] for r in show["references"]} >= {"data_to_raw_source_product",
                                                            "data_to_calibrated_source_product"}


def test_a_context_product_is_found_by_its_own_lid(data_dir: Path) -> None:
    """The Apollo 15 XRFS instrument's context product: `--instrument xrfs.a15c` finds the instrument itself
    as it finds the products that reference it (its own LID had given no search term)."""
    label = GITHUB_PDS4 / "context_a15c_xrfs" / "a15c.xrfs_1.1.xml"
    assert run("ingest", str(label), data_dir=data_dir).returncode == 0
    for value in ("xrfs.a15c", "urn:nasa:pds:context:instrument:xrfs.a15c"):
        r = run("search", "--instrument", value, "--json", data_dir=data_dir)
        assert [row["lid"] for row in json.loads(r.stdout)] == ["urn:nasa:pds:context:instrument:xrfs.a15c"], value


def test_a_numbered_minor_planet_is_found_by_its_number(data_dir: Path) -> None:
    """The OSIRIS-REx OLA label's target is "(101955) BENNU": `--target 101955` finds it as `--target bennu`
    does (the number had been dropped from the search terms)."""
    label = corpus_file("pds4/non_lunar/bennu_orex_ola/binobs2.xml")
    assert run("ingest", str(label), data_dir=data_dir).returncode == 0
    for value in ("101955", "bennu", "(101955) Bennu"):
        r = run("search", "--target", value, "--json", data_dir=data_dir)
        assert len(json.loads(r.stdout)) == 1, value


def test_context_products_targets_by_lid_and_type_and_names_by_their_words(data_dir: Path) -> None:
    """Real context products (SLIM, Blue Ghost, 1627 Ivar), the LRO LDD's NAC DTM example (its investigation
    named only by LID) and Chandrayaan-2 OHRC: a context product is found by what it describes, a target by
    its context LID, its type, and the body a referenced target LID names; --mission/--instrument match
    words that begin a name or id, with a space matching an underscore, and no longer the middle of a word
    (--instrument LUTI found OHRC, an "orbiter high resolution camera")."""
    assert run("ingest", str(GITHUB_PDS4 / "context_lunar"), str(GITHUB_PDS4 / "ldd_lro_nac_dtm"),
               str(GITHUB_PDS4 / "chandrayaan2_ohrc"), data_dir=data_dir).returncode == 0

    def found(*args: str) -> set[str]:
        r = run("search", *args, "--json", data_dir=data_dir)
        assert r.returncode == 0, r.stderr
        return {row["lid"].rsplit(":", 1)[-1] for row in json.loads(r.stdout)}

    assert found("--mission", "SLIM") == {"mission.slim"}
    assert found("--mission", "Blue Ghost") == {"spacecraft.clps_to_19d_bgl"}
    assert found("--start", "2024-01-19", "--stop", "2024-01-20") == {"mission.slim"}  # the landing, in its span
    assert found("--target", "ivar") == found("--target", "1627") == found("--target", "asteroid") == {
        "asteroid.1627_ivar"}
    moon = found("--target", "moon")
    dtm = "sdp.nac_dtm.a12lmas.nac_dtm_a12lmas"
    assert {"mission.slim", "spacecraft.clps_to_19d_bgl", dtm} <= moon
    by_lid = found("--target", "urn:nasa:pds:context:target:satellite.earth.moon")  # OHRC names the Moon only
    assert by_lid == {"mission.slim", "spacecraft.clps_to_19d_bgl", dtm} and len(moon) == 4
    assert found("--mission", "Lunar Reconnaissance") == found("--mission", "lunar_recon") == {dtm}
    assert found("--instrument", "LUTI") == set()
    assert found("--instrument", ".lroc") == found("--instrument", ":lro.lroc") == {dtm}  # punctuation: its own start
    # where letters turn to digits a word begins too (SCALPSS camera ids sfl0, lfl0: as MARS2020 holds 2020)
    assert found("--instrument", "0") == {"spacecraft.clps_to_19d_bgl"}
    ohrc = found("--instrument", "high resolution")
    assert len(ohrc) == 1 and ohrc == found("--instrument", "resolution")


def test_pds3_labels_named_by_archive_conventions_comets_and_data_set_hosts(data_dir: Path, tmp_path: Path) -> None:
    """A walk reads PDS3 labels named as Clementine's volumes name them (detached ``.lab``, orbit-numbered
    ``.313`` files), which it had passed over without a word (real SELENE MI and MGS TES labels, renamed);
    Rosetta's comet is found by its number and short names; the LOLA GDR by --mission LRO."""
    tree = tmp_path / "vol"
    tree.mkdir()
    shutil.copy(GITHUB_PDS3 / "kaguya_mi_l3c" / "3C5_label.pvl", tree / "mia_3c5.lab")
    shutil.copy(GITHUB_PDS3 / "mgs_tes_atm" / "atm37301.lbl", tree / "atm37301.313")
    (tree / "notes.313").write_bytes(b"an orbit log, not a label\n")
    r = run("ingest", str(tree), str(GITHUB_PDS3 / "rosetta_navcam_map"), str(GITHUB_PDS3 / "lro_lola_gdr"),
            "--json", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == 4

    def found(*args: str) -> set[str]:
        r = run("search", *args, "--json", data_dir=data_dir)
        assert r.returncode == 0, r.stderr
        return {row["lid"].rsplit(":", 1)[-1] for row in json.loads(r.stdout)}

    assert found("--start", "2008-01-28T01:09:05", "--stop", "2008-01-28T01:09:06") == {"mia_3c5_03_01351s791e0024sc"}
    assert found("--mission", "MGS") == {"tes137301"}
    for name in ("67P", "Churyumov-Gerasimenko", "67P/Churyumov-Gerasimenko", "67P/CHURYUMOV-GERASIMENKO 1 (1969 R1)",
                 "churyumov", "Gerasimenko"):  # a discoverer's name alone, as Ceres finds 1 CERES
        assert found("--target", name) == {"map_000_038"}, name
    assert found("--mission", "LRO") == {"ldem_4"}
    import sqlite3

    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:  # a catalogue from before the discoverer terms
        conn.execute("DELETE FROM product_terms WHERE value IN ('CHURYUMOV', 'GERASIMENKO')")
        conn.execute("DELETE FROM _migrations WHERE name = '0007_comet_discoverer_terms'")
    assert found("--target", "churyumov") == {"map_000_038"}  # migration 0007 gave them back
    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
        rows = conn.execute("SELECT product_id, kind, value FROM product_terms GROUP BY 1, 2, 3 HAVING count(*) > 1")
        assert rows.fetchall() == []  # no term twice (MGS, the mission and its spacecraft, was)


def test_a_catalogue_from_before_the_minor_planet_and_own_lid_terms_gets_them(data_dir: Path) -> None:
    """A catalogue written before ingest gave a numbered minor planet's number and a context product's own LID
    as search terms (and when it cut ``1999 RQ36`` to ``RQ36``) gets them from migration 0005."""
    import sqlite3

    label = corpus_file("pds4/non_lunar/bennu_orex_ola/binobs2.xml")
    context = GITHUB_PDS4 / "context_a15c_xrfs" / "a15c.xrfs_1.1.xml"
    assert run("ingest", str(label), str(context), data_dir=data_dir).returncode == 0
    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:  # the terms as the catalogue held them before
        conn.execute("DELETE FROM product_terms WHERE value IN ('101955', 'URN:NASA:PDS:CONTEXT:INSTRUMENT:XRFS.A15C')")
        # Bennu's provisional designation beside its name (not in this label), with the term it was cut to
        conn.execute("""UPDATE products SET targets = '["(101955) BENNU", "1999 RQ36"]' WHERE lid LIKE '%orex%'""")
        conn.execute("INSERT INTO product_terms SELECT id, 'target', 'RQ36' FROM products WHERE lid LIKE '%orex%'")
        conn.execute("DELETE FROM _migrations WHERE name = '0005_target_and_own_terms'")
        before = conn.execute("SELECT count(*) FROM product_terms WHERE kind != 'target'").fetchone()[0]

    def found(*args: str) -> int:
        r = run("search", *args, "--json", data_dir=data_dir)
        assert r.returncode == 0, r.stderr
        return len(json.loads(r.stdout))

    assert found("--target", "101955") == found("--target", "1999 RQ36") == 1 and found("--target", "RQ36") == 0
    assert found("--instrument", "xrfs.a15c") == 1
    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
        # the other terms are left as they were, the own LID added once (mission terms of the OLA untouched)
        after = conn.execute("SELECT count(*) FROM product_terms WHERE kind != 'target'").fetchone()[0]
        assert after == before + 1


def test_show_gives_the_dois_a_product_cites(data_dir: Path) -> None:
    label_dir = Path(__file__).parent / "data" / "github" / "pds4" / "ldd_lro_nac_dtm"
    assert run("ingest", str(label_dir), data_dir=data_dir).returncode == 0  # its GeoTIFF missing: a finding
    r = run("show", "urn:nasa:pds:lro-l-lroc-5-rdr:lrolrc_2001_data:sdp.nac_dtm.a12lmas.nac_dtm_a12lmas",
            data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    cites = [line for line in r.stdout.splitlines() if line.startswith("cites")]
    assert cites == ["cites            10.1016/j.icarus.2016.05.012, 10.1007/s11214-010-9634-2"]


def test_a_detached_pds3_label_without_end_is_read_whole(data_dir: Path, tmp_path: Path) -> None:
    """An LROC NAC EDR label (DOI-USGS/ale) with its END line left out, as old volumes do: every block is closed,
    pvl reads it whole, so it is catalogued (with a warning saying so) instead of failing as truncated; the
    same label with END gives no such warning. A file with no END that holds binary bytes still fails."""
    real = GITHUB_PDS3 / "lroc_nac_edr" / "M103595705LE_pds3.lbl"
    text = real.read_bytes()
    assert text.endswith(b"END_OBJECT                         = IMAGE\nEND\n")
    no_end = tmp_path / "noend" / real.name
    no_end.parent.mkdir()
    no_end.write_bytes(text[: -len(b"END\n")])
    assert pds3.read_label(no_end, fast=True) == pds3.read_label(no_end) == pds3.read_label(real)
    r = run("ingest", "--json", str(no_end.parent), data_dir=data_dir)
    assert r.returncode in (0, 1) and json.loads(r.stdout)["added"] == 1, r.stdout
    lid = "urn:lunarchive:pds3:lro-l-lroc-2-edr-v1.0:m103595705le"
    show = json.loads(run("show", lid, "--json", data_dir=data_dir).stdout)
    assert show["start"] == "2009-07-30T12:20:38.185" and show["targets"] == ["MOON"]
    notes = [f["message"] for f in show["findings"] if f["message_id"] == "warning.pds3.missing_keyword"]
    assert notes == ["the label has no END statement: it was read to the end of its file"]
    with_end = tmp_path / "withend" / real.name
    with_end.parent.mkdir()
    shutil.copy(real, with_end)
    other = tmp_path / "other"
    run("ingest", str(with_end.parent), data_dir=other)
    show = json.loads(run("show", lid, "--json", data_dir=other).stdout)
    assert not any("END statement" in f["message"] for f in show["findings"])
    binary = tmp_path / "binary" / real.name
    binary.parent.mkdir()
    binary.write_bytes(text[: -len(b"END\n")] + b"\x00\x01\x02" * 100)
    r = run("ingest", "--json", str(binary.parent), data_dir=tmp_path / "third")
    out = json.loads(r.stdout)
    assert out["failed"] == 1 and "no END statement" in out["findings"][0]["message"], out
