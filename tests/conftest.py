"""Shared fixtures: where the real test data lives.

Tests read real archive files. Small ones are copied into ``tests/data/corpus/`` (same layout as
``../shared/corpus``, SOURCES lines kept) or already shipped as demo data in ``examples/`` (same layout),
so ``make test`` runs on a user's clone. The heaviest checks
read ``../shared/corpus`` itself and skip, saying why, when it is not beside the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCAL_CORPUS = REPO / "tests" / "data" / "corpus"
EXAMPLES = REPO / "examples"
SHARED_CORPUS = (REPO.parent / "shared" / "corpus").resolve()


def corpus_file(rel: str) -> Path:
    """A corpus file from the local copies (the demo's examples/, then tests/data/corpus, both real files with
    their SOURCES lines; examples/ first as it holds whole subtrees), else from ../shared/corpus, else skip."""
    for base in (EXAMPLES, LOCAL_CORPUS, SHARED_CORPUS):
        p = base / rel
        if p.exists():
            return p
    pytest.skip(f"corpus file {rel} is neither in tests/data/corpus nor in ../shared/corpus")


def shared_corpus() -> Path:
    """The whole shared corpus, for the heaviest checks; skips when it is absent."""
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside this clone (heavy whole-corpus check)")
    return SHARED_CORPUS


@pytest.fixture
def corpus() -> Path:
    """Root of the best available corpus copy (local copy first)."""
    return LOCAL_CORPUS if LOCAL_CORPUS.is_dir() else shared_corpus()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, empty lunarchive data directory."""
    d = tmp_path / "lunarchive-data"
    d.mkdir()
    return d
