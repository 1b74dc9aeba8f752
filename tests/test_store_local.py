"""LocalStore: content addressing, dedup, atomic writes, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lunarchive.errors import InvalidIdentifier, NotFound
from lunarchive.store.local import LocalStore

from .conftest import corpus_file


def test_put_file_is_content_addressed_and_deduplicated(tmp_path: Path) -> None:
    src = corpus_file("pds4/lro/diviner/201401031400_rdr.tab")
    store = LocalStore(tmp_path / "blobs")
    data = src.read_bytes()
    first = store.put_file(src)
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.md5 == hashlib.md5(data).hexdigest()
    assert first.size == len(data) and not first.existed
    again = store.put_file(src)
    assert again.existed and again.sha256 == first.sha256
    with store.open(first.sha256) as fh:
        assert fh.read() == data
    assert list(store.iter_digests()) == [first.sha256]
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_unknown_and_malformed_digests(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    with pytest.raises(NotFound):
        store.open("0" * 64)
    with pytest.raises(InvalidIdentifier):
        store.exists("../../etc/passwd")


def test_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")

    def chunks():  # type: ignore[no-untyped-def]
        yield b"partial"
        raise OSError("disk vanished")

    with pytest.raises(OSError):
        store._write(chunks())
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    assert list(store.iter_digests()) == []
