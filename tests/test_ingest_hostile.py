"""Hostile deliveries and a failing archive, on real labels: names that are not UTF-8, trees deeper than
Python's recursion limit, links that lead out of the delivered tree, a blob store that cannot be written, two
first ingests at once, a damaged catalogue, odd paths given to the CLI. Each gives one clear finding or
one clear line and an exit code, never a traceback, and never loses what else the batch holds."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lunarchive.catalog.migrations import apply_migrations
from lunarchive.config import open_archive
from lunarchive.errors import StoreWriteError
from lunarchive.ingest import ingest
from lunarchive.query import Query

from .conftest import corpus_file

DIVINER = "pds4/lro/diviner"
"""A Diviner RDR label and its table (4,788 bytes)."""


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lunarchive.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def _diviner(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in corpus_file(DIVINER).iterdir():
        shutil.copy(f, dest)
    return dest / "201401031400_rdr.xml"


def test_a_name_that_is_not_utf8_is_a_finding_and_the_rest_goes_in(tmp_path: Path) -> None:
    """A label named with a Latin-1 byte (x\\xff.lbl) aborted the whole batch with a traceback; now it is passed
    over with error.file.name_has_invalid_characters and the good labels are catalogued. validate --json on
    such a tree is valid JSON in UTF-8 (it wrote the raw byte)."""
    tree = tmp_path / "tree"
    lend = corpus_file("pds3/lro_lend/lend_rdr_dlx_20240615.lbl")
    _diviner(tree / "diviner")
    shutil.copy(lend, tree / os.fsdecode(b"x\xff.lbl"))
    r = cli("ingest", str(tree), "--json", "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["added"] == 1
    bad = [f for f in report["findings"] if f["message_id"] == "error.file.name_has_invalid_characters"]
    assert [f["path"] for f in bad] == [str(tree.resolve() / "x\\xff.lbl")]
    r = cli("validate", str(tree), "--json")
    assert "Traceback" not in r.stderr
    json.loads(r.stdout.encode("utf-8"))  # valid UTF-8 and valid JSON
    r = cli("validate", str(tree))
    assert "Traceback" not in r.stderr and "x\\xff.lbl" in r.stdout


def test_a_path_given_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    label = _diviner(tmp_path / os.fsdecode(b"d\xe9p\xf4t"))
    r = cli("ingest", str(label), "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 2 and "not valid UTF-8" in r.stderr and "Traceback" not in r.stderr


def test_a_tree_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    """A label 1,100 directories down (a 2.2 kB path) gave a RecursionError in the label directory's
    resolution, losing the batch; it is catalogued, and validate reads it too."""
    top = deep = str(tmp_path / "tree")
    os.mkdir(deep)
    for _ in range(1100):  # level by level: Path.mkdir(parents=True) and os.makedirs recurse as deep
        deep = os.path.join(deep, "a")
        os.mkdir(deep)
    try:
        _diviner(Path(deep))
        r = cli("ingest", top, "--json", "--data-dir", str(tmp_path / "data"))
        assert r.returncode == 0, r.stderr[-2000:]
        assert json.loads(r.stdout)["added"] == 1
        r = cli("validate", top, "--json")
        assert "Traceback" not in r.stderr and json.loads(r.stdout)["summary"]["productValidation"]["passed"] == 1
    finally:  # removed level by level too: pytest's own clean-up (shutil.rmtree) recurses as deep
        for name in os.listdir(deep):
            os.unlink(os.path.join(deep, name))
        while deep != top:
            os.rmdir(deep)
            deep = os.path.dirname(deep)


def test_a_link_out_of_the_delivered_tree_is_not_read(tmp_path: Path) -> None:
    """A delivered data file that is a symbolic link to a file elsewhere (here a stand-in for /etc/shadow) is
    not stored, and no finding tells anything of its content or size; --allow-links-to DIR follows links
    into DIR. A link within the tree is read as the file it leads to."""
    secret = tmp_path / "host" / "shadow"
    secret.parent.mkdir()
    secret.write_text("root:$6$not-for-the-archive$:19000:0:99999:7:::\n")
    tree = tmp_path / "tree"
    label = _diviner(tree / "a")
    table = tree / "a" / "201401031400_rdr.tab"
    table.unlink()
    table.symlink_to(secret)
    with open_archive(tmp_path / "data") as archive:
        report = ingest(archive, [tree], workers=0)
        shown = [(f.message_id, f.message) for f in report.findings]
        assert any("outside the trees being ingested" in m for _, m in shown), shown
        assert not any("$6$" in m or "bytes" in m and "shadow" in m for _, m in shown)
        assert not any(f.message_id.startswith("error.table.") for f in report.findings)
        blobs = {p.read_bytes() for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file()}
        assert secret.read_bytes() not in blobs
    inside = tree / "b"
    _diviner(inside)
    moved = tree / "store" / "rdr.tab"
    moved.parent.mkdir()
    shutil.move(inside / "201401031400_rdr.tab", moved)
    (inside / "201401031400_rdr.tab").symlink_to(moved)
    label.unlink()  # only the label whose link stays in the tree
    with open_archive(tmp_path / "data2") as archive:
        report = ingest(archive, [tree], workers=0)
        assert [f for f in report.findings if f.severity == "error"] == []
    with open_archive(tmp_path / "data3") as archive:  # the first tree again, its link allowed
        shutil.rmtree(tree / "b")
        _diviner(tree / "a")
        table.unlink()
        shutil.copy(corpus_file(DIVINER + "/201401031400_rdr.tab"), secret)
        table.symlink_to(secret)
        report = ingest(archive, [tree], workers=0, allow_links_to=[secret.parent])
        assert [f for f in report.findings if f.severity == "error"] == []


def test_a_blob_store_that_cannot_be_written_stops_the_ingest(tmp_path: Path) -> None:
    """The store's temp directory replaced by a file (as a read-only or full store fails): the ingest stops
    with exit 5 and names the store, rather than recording the delivery's files as unreadable."""
    label = _diviner(tmp_path / "tree")
    data = tmp_path / "data"
    with open_archive(data) as archive:
        shutil.rmtree(data / "blobs" / "tmp")
        (data / "blobs" / "tmp").write_text("not a directory")
        with pytest.raises(StoreWriteError, match="cannot write the blob store"):
            ingest(archive, [label.parent], workers=0)
    r = cli("ingest", str(label.parent), "--data-dir", str(data))  # found when the store opens, now
    assert r.returncode == 5 and "blob store" in r.stderr and "Traceback" not in r.stderr
    assert sqlite3.connect(data / "catalog.sqlite").execute("SELECT count(*) FROM products").fetchone() == (0,)


def test_migrations_applied_meanwhile_by_another_process_are_not_applied_again(tmp_path: Path) -> None:
    """Two first ingests into a new data directory: the second found a migration applied between its reading
    of the applied ones and its write lock ("table batches already exists", exit 5). Here the other process
    applies them all at that moment, which is the race made certain."""
    path = tmp_path / "catalog.sqlite"

    class Racing(sqlite3.Connection):
        raced = False

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql == "BEGIN IMMEDIATE" and not Racing.raced:
                Racing.raced = True
                other = sqlite3.connect(path, isolation_level=None)
                apply_migrations(other)
                other.close()
            return super().execute(sql, *args)  # type: ignore[arg-type]

    conn = sqlite3.connect(path, isolation_level=None, factory=Racing)
    assert apply_migrations(conn) == []  # all applied by the other one; none again, no error
    assert Racing.raced


def test_a_damaged_catalogue_is_one_line_and_exit_5(tmp_path: Path) -> None:
    label = _diviner(tmp_path / "tree")
    data = tmp_path / "data"
    assert cli("ingest", str(label), "--data-dir", str(data)).returncode == 0
    with sqlite3.connect(data / "catalog.sqlite") as conn:
        conn.execute("DROP TABLE refs")
    r = cli("show", "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr", "--data-dir", str(data))
    assert r.returncode == 5 and "damaged" in r.stderr and "Traceback" not in r.stderr


def test_odd_paths_given_to_the_cli(tmp_path: Path) -> None:
    """validate "" walked the current directory; a label given twice failed against itself; --intersects
    /dev/zero read without end (a FIFO waited forever)."""
    label = _diviner(tmp_path / "tree")
    r = cli("validate", "", cwd=tmp_path)
    assert r.returncode == 2 and "empty path" in r.stderr
    r = cli("validate", str(label), str(label), str(label.parent), "--json")
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout)["summary"]["productValidation"]["total"] == 1
    r = cli("search", "--body", "moon", "--intersects", "/dev/zero", "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 2 and "not a regular file" in r.stderr


def test_control_characters_from_a_label_do_not_reach_the_terminal(tmp_path: Path) -> None:
    """The real LEND label with an ESC sequence (retitle the terminal, turn it red) in its PRODUCT_ID: search
    and show print it escaped (\\x1b), and --json keeps it as data."""
    src = corpus_file("pds3/lro_lend/lend_rdr_dld_20240615.lbl")
    text = src.read_bytes()
    start = text.index(b"PRODUCT_ID")
    end = text.index(b"\n", start)
    label = tmp_path / "tree" / src.name
    label.parent.mkdir()
    label.write_bytes(text[:start] + b'PRODUCT_ID = "X\x1b]0;owned\x07\x1b[31mRED"' + text[end:])
    data = tmp_path / "data"
    assert cli("ingest", str(label), "--data-dir", str(data)).returncode == 0
    r = cli("search", "--data-dir", str(data))
    assert r.returncode == 0 and "\x1b" not in r.stdout and "\\x1b" in r.stdout
    lidvid = json.loads(cli("search", "--json", "--data-dir", str(data)).stdout)[0]["lidvid"]
    r = cli("show", lidvid, "--data-dir", str(data))
    assert r.returncode == 0 and "\x1b" not in r.stdout and "\x07" not in r.stdout


def test_a_data_file_changed_or_gone_under_an_unchanged_label_is_reported(tmp_path: Path) -> None:
    """The Diviner table overwritten with more bytes under its unchanged label was re-ingested as
    "unchanged" without a word: it is an error finding on the catalogued product (once, however often the
    delivery is repeated), and a table no longer delivered is a warning; the archive keeps what it stored."""
    label = _diviner(tmp_path / "tree")
    table = label.parent / "201401031400_rdr.tab"
    original = table.read_bytes()
    with open_archive(tmp_path / "data") as archive:
        assert ingest(archive, [label.parent], workers=0).added == 1
        table.write_bytes(original + original[:100])
        for _ in range(2):
            report = ingest(archive, [label.parent], workers=0)
            assert report.unchanged == 1
        lidvid = "urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr::1.0"
        rows = archive.catalog.conn.execute(  # type: ignore[attr-defined]
            "SELECT message_id, severity FROM findings WHERE lidvid=? AND message_id LIKE '%.ingest.%'",
            (lidvid,)).fetchall()
        assert rows == [("error.ingest.file_changed", "error")]
        table.unlink()
        report = ingest(archive, [label.parent], workers=0)
        assert [f.message_id for f in report.findings] == ["warning.ingest.file_not_delivered"]
        sha = archive.catalog.conn.execute(  # type: ignore[attr-defined]
            "SELECT sha256 FROM files WHERE name='201401031400_rdr.tab'").fetchone()[0]
        assert archive.store.blob_path(sha).read_bytes() == original  # type: ignore[attr-defined]


def test_a_data_file_changed_in_place_with_its_size_kept_is_reported(tmp_path: Path) -> None:
    """One digit of the Diviner table changed, its size kept: a re-ingest of the unchanged label hashes the
    touched file again and reports it (it said "unchanged"); a file touched but not changed, or copied back
    as it was, gives nothing; the archive keeps the bytes it stored."""
    label = _diviner(tmp_path / "tree")
    table = label.parent / "201401031400_rdr.tab"
    original = table.read_bytes()
    with open_archive(tmp_path / "data") as archive:
        assert ingest(archive, [label.parent], workers=0).added == 1
        os.utime(table, ns=(1_000_000_000, 1_000_000_000))  # touched, same bytes
        assert ingest(archive, [label.parent], workers=0).findings == []
        k = original.index(b"1", 300)
        table.write_bytes(original[:k] + b"2" + original[k + 1:])
        report = ingest(archive, [label.parent], workers=0)
        assert report.unchanged == 1
        assert [f.message_id for f in report.findings] == ["error.ingest.file_changed"]
        assert "other bytes" in report.findings[0].message and "same size" in report.findings[0].message
        sha = archive.catalog.conn.execute(  # type: ignore[attr-defined]
            "SELECT sha256 FROM files WHERE name='201401031400_rdr.tab'").fetchone()[0]
        assert archive.store.blob_path(sha).read_bytes() == original  # type: ignore[attr-defined]
        table.write_bytes(original)
        assert ingest(archive, [label.parent], workers=0).findings == []


def test_search_and_show_read_a_catalogue_that_cannot_be_written(tmp_path: Path) -> None:
    """A data directory on read-only storage (a snapshot or a read-only mount at a partner site): search and
    show read it (they failed with "attempt to write a readonly database", exit 5); ingest cannot write it
    and says so in one line."""
    label = _diviner(tmp_path / "tree")
    data = tmp_path / "data"
    assert cli("ingest", str(label), "--data-dir", str(data)).returncode == 0
    drop: list[str] = []
    if os.geteuid() == 0:  # root writes anywhere: run the commands without the capabilities that allow it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv, so a read-only directory cannot be made")
        drop = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    for p in [data, *data.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*drop, sys.executable, "-m", "lunarchive.cli", *args, "--data-dir", str(data)],
                                  capture_output=True, text=True, timeout=120)

        r = run("search", "--json")
        assert r.returncode == 0, r.stderr
        (row,) = json.loads(r.stdout)
        assert run("show", row["lidvid"]).returncode == 0
        r = run("ingest", str(label))
        assert r.returncode == 5 and "Traceback" not in r.stderr, r.stderr
    finally:
        for p in [data, *data.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)


def test_a_label_file_too_big_to_be_a_label_is_refused_unread(tmp_path: Path) -> None:
    """A 1 GB (sparse) .xml and .lbl were read whole (1.1 GB of memory, per worker): each is a finding
    saying its size, and nothing is read."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("huge.xml", "huge.lbl"):
        with open(tree / name, "wb") as fh:
            fh.truncate(1 << 30)
    with open_archive(tmp_path / "data") as archive:
        report = ingest(archive, [tree], workers=0)
    assert report.failed == 2
    assert all("more than the 256 MiB read as a label" in f.message for f in report.findings), report.findings


def test_small_cli_edges(tmp_path: Path) -> None:
    """A mistyped ingest path made the data directory before it was refused; --place "" was no filter at
    all; places --limit -1 cut the list by one; --workers had no bound."""
    data = tmp_path / "new-data"
    r = cli("ingest", str(tmp_path / "nowhere"), "--data-dir", str(data))
    assert r.returncode == 2 and not data.exists()
    label = _diviner(tmp_path / "tree")
    assert cli("ingest", str(label), "--data-dir", str(data)).returncode == 0
    r = cli("search", "--body", "moon", "--place", "", "--data-dir", str(data))
    assert r.returncode == 2 and "--place" in r.stderr
    assert cli("places", "copernicus", "--limit", "-1").returncode == 2
    assert cli("ingest", str(label), "--workers", "200", "--data-dir", str(data)).returncode == 2


def test_a_label_linked_from_outside_the_tree_is_not_read(tmp_path: Path) -> None:
    """A delivered label that is a symbolic link to a file elsewhere on the host is recorded as unreadable and
    not read (its text would be kept in the catalogue and shown by ``show``); allowed, it is ingested."""
    outside = _diviner(tmp_path / "elsewhere")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / outside.name).symlink_to(outside)
    (tree / "201401031400_rdr.tab").symlink_to(outside.parent / "201401031400_rdr.tab")
    with open_archive(tmp_path / "data") as archive:
        report = ingest(archive, [tree], workers=0)
        assert report.counts() == {"added": 0, "unchanged": 0, "new_versions": 0, "failed": 1}
        assert [f.message_id for f in report.findings] == ["error.label.unresolvable_resource"]
        assert "symbolic link to a file outside" in report.findings[0].message
        assert archive.catalog.search(Query()) == []
    with open_archive(tmp_path / "data2") as archive:
        report = ingest(archive, [tree], workers=0, allow_links_to=[outside.parent])
        assert report.added == 1 and report.failed == 0
