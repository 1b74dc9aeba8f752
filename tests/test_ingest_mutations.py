"""Bad input never stops an ingest: real labels and bundles with values changed, elements removed or
repeated, inventories cut or garbled (seeded, so a failure can be replayed). Each case must give an ingest
(and a ``validate``) that finishes; whatever is wrong with it is a finding."""

from __future__ import annotations

import copy
import random
import shutil
from pathlib import Path

import pytest
from lxml import etree

from lunarchive.config import open_archive
from lunarchive.ingest import _INGEST_CHECKS, ingest
from lunarchive.ingest_work import Context, Worker
from lunarchive.validate import validate_paths

from .conftest import EXAMPLES, corpus_file

_VALUES = ["", " ", "-1", "0", "1e309", "NaN", "inf", "abc", "::", "x::", "::1.0", "urn::1.0", "1.5.2",
           "99999999999999999999999", "-9223372036854775809", "2020-13-45T99:99:99Z", "../../x", "ü", "a" * 300,
           "P", "Secondary", "Bogus", "-180", "400"]
_BUNDLES = ["pds4/ladee/ladee_spice", "pds4/clps/pitms_bundle", "pds4/kaguya/grs_bundle",
            "pds4/non_lunar/mars_insight_rad_bundle"]


def _mutate_label(path: Path, rng: random.Random) -> None:
    root = etree.parse(str(path)).getroot()
    for _ in range(rng.randint(1, 3)):
        el = rng.choice([e for e in root.iter() if isinstance(e.tag, str)])
        parent = el.getparent()
        r = rng.random()
        if r < 0.6 and len(el) == 0:
            el.text = rng.choice(_VALUES)
        elif parent is not None and r < 0.8:
            parent.remove(el)
        elif parent is not None:
            parent.insert(parent.index(el), copy.deepcopy(el))
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _mutate_table(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    if not data:
        return
    r = rng.random()
    if r < 0.4:
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.choice(b'0123456789,-.ePS"\r\n :x')
    elif r < 0.7:
        del data[rng.randrange(len(data)):]
    else:
        data += rng.choice([b"P,urn::1.0\r\n", b"S,\r\n", b",,,\r\n", b"X,urn:a:b::9\r\n"])
    path.write_bytes(bytes(data))


def _labels() -> list[Path]:
    if not EXAMPLES.is_dir():
        pytest.skip("examples/ is not in this clone")
    return sorted(p for p in (EXAMPLES / "pds4").rglob("*.xml") if p.is_file())


@pytest.mark.parametrize("seed", range(3))
def test_changed_labels_never_stop_the_worker(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    labels = _labels()
    with open_archive(tmp_path / "data", fsync=False) as archive:
        worker = Worker(Context(archive.store, archive.catalog.digest_lookup(), _INGEST_CHECKS))
        for n in range(150):
            src = rng.choice(labels)
            case = tmp_path / f"case{n}"
            case.mkdir()
            for sib in src.parent.iterdir():
                if sib.is_file() and sib != src:
                    (case / sib.name).symlink_to(sib)
            shutil.copyfile(src, case / src.name)
            _mutate_label(case / src.name, rng)
            for prep in worker.run(str(case / src.name), "pds4"):  # raises if the label stops it
                assert prep.product is not None or prep.findings


@pytest.mark.parametrize("seed", range(4))
def test_changed_bundles_never_stop_ingest_or_validate(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    _labels()
    for n in range(6):
        rel = rng.choice(_BUNDLES)
        tree = tmp_path / f"tree{n}" / Path(rel).name
        shutil.copytree(EXAMPLES / rel, tree)
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        for _ in range(rng.randint(1, 4)):
            f = rng.choice(files)
            if f.suffix == ".xml":
                _mutate_label(f, rng)
            elif f.suffix in (".csv", ".tab", ".txt") and f.exists() and f.stat().st_size < 5_000_000:
                _mutate_table(f, rng)
            elif f.exists() and rng.random() < 0.5:
                f.unlink()
        with open_archive(tmp_path / f"data{n}", fsync=False) as archive:
            report = ingest(archive, [tree.parent], workers=0)
        assert report.added + report.failed + report.unchanged > 0
        validate_paths([tree])


def test_changed_labels_ingest_alike_with_one_worker_or_two(data_dir: Path, tmp_path: Path) -> None:
    """Real labels (each with its data files) changed as above: ingest finishes, with one worker or two
    alike, and every finding is one line naming its file."""
    rng = random.Random(7)
    sources = [corpus_file(rel) for rel in (
        "pds4/lro/diviner/201401031400_rdr.xml", "pds4/clps/pitms_bundle/data_raw/PITMS_RAW_AUX.xml",
        "pds4/non_lunar/maven_iuvs_unicode_name/äf.xml", "pds4/invalid/apollo_sws_table_definition/b.xml",
        "pds4/ladee/ladee_spice/spice_kernels/collection_spice_kernels_v001.xml")]
    tree = tmp_path / "t"
    for k in range(60):
        src = sources[k % len(sources)]
        dest = tree / f"m{k:02d}"
        shutil.copytree(src.parent, dest, ignore=lambda d, names: [n for n in names if n.endswith(".xml")])
        shutil.copyfile(src, dest / src.name)
        _mutate_label(dest / src.name, rng)
    counts = []
    for workers in (0, 2):
        with open_archive(data_dir / str(workers)) as archive:
            report = ingest(archive, [tree], workers=workers)
        counts.append(report.counts())
        assert report.added + report.new_versions > 0
        for f in report.findings:
            assert f.path and f.message and "\n" not in f.message
    assert counts[0] == counts[1]
