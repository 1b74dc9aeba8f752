"""The CLI as a script sees it: JSON shapes, exit codes, one clear line for user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert all("MOON" in {t.upper() for t in row["targets"]} for row in rows)
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
