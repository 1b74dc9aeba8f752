"""Ingest: walk a tree, parse every label, store its files by sha256, catalogue it in one transaction.

The order keeps a crash harmless: blobs are written (atomically) before the catalogue transaction that
names them commits, so a killed ingest leaves at most some unnamed blobs and never a row without its blob.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import validate as validation
from .config import Archive
from .errors import FormatError, PathNotFound, StoreError
from .formats import clementine_index, inventory, pds3, pds4
from .formats.xmlsafe import parse_xml
from .model import FileRef, Finding, Product
from .store.base import BlobInfo

__all__ = ["IngestReport", "MSG_INVALID_LABEL", "MSG_MISSING_FILE", "ingest", "iter_candidates"]

MSG_INVALID_LABEL = "error.validation.invalid_label"
MSG_MISSING_FILE = "error.label.missing_file"
MSG_UNREADABLE = "error.label.unresolvable_resource"
MSG_CONFLICT = "error.label.duplicate_identifier"
MSG_INVENTORY = "error.inventory_table.invalid_member_status"
MSG_NOT_PRODUCT = "info.validation.general"

Kind = Literal["pds4", "pds3", "clementine_index"]
Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``."""

_PDS4_SUFFIXES = (".xml", ".lblx")
_PDS3_SUFFIXES = (".lbl",)
_ATTACHED_SUFFIXES = (".img", ".imq", ".dat", ".qub", ".cub")

INGEST_TABLE_LIMIT = 1 << 20
"""Tables with more bytes than this (from their offset to the end of their file) are not content-checked
during ingest (every other product-level rule is); ``lunarchive validate`` checks them whatever their size."""
_INGEST_CHECKS = validation.Options(max_table_bytes=INGEST_TABLE_LIMIT, inventory_content=False)


@dataclass
class IngestReport:
    """What one ingest did: counts, findings, bytes hashed and where the time went."""

    batch_id: int | None = None
    added: int = 0
    unchanged: int = 0
    new_versions: int = 0
    failed: int = 0
    files_stored: int = 0
    bytes_hashed: int = 0
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"parse": 0.0, "hash": 0.0, "catalog": 0.0})

    def counts(self) -> dict[str, int]:
        return {"added": self.added, "unchanged": self.unchanged, "new_versions": self.new_versions,
                "failed": self.failed}

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, **self.counts(), "files_stored": self.files_stored,
                "bytes_hashed": self.bytes_hashed, "findings": [f.to_dict() for f in self.findings],
                "timings": self.timings}


def iter_candidates(paths: Iterable[Path], skip: Path | None = None) -> Iterator[tuple[Path, Kind]]:
    """Every label under ``paths`` in a stable order, with the format it claims by its name."""
    for root in paths:
        if root.is_file():
            kind = _kind_of(root)
            if kind:
                yield root, kind
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if skip is None or (here / d).resolve() != skip)
            for name in sorted(filenames):
                kind = _kind_of(here / name)
                if kind:
                    yield here / name, kind


def _kind_of(path: Path) -> Kind | None:
    low = path.name.lower()
    if low.endswith(_PDS4_SUFFIXES) or ".xml_" in low:
        return "pds4"
    if low.endswith(_PDS3_SUFFIXES):
        return "pds3"
    if low.endswith(_ATTACHED_SUFFIXES):
        try:
            with open(path, "rb") as fh:
                head = fh.read(64)
        except OSError:
            return None
        return "pds3" if pds3.is_pds3_label(path, head) else None
    if low.endswith(".csv"):
        return "clementine_index" if _index_head(path) else None
    return None


def _index_head(path: Path) -> bool:
    """Whether a CSV is a Clementine product index table (recognised by its header row)."""
    try:
        with open(path, "rb") as fh:
            return clementine_index.index_kind(fh.read(200)) is not None
    except OSError:
        return False


def _one_index_per_dir(candidates: list[tuple[Path, Kind]]) -> list[tuple[Path, Kind]]:
    """Index tables in one directory are read together (joined), so keep the first of them only."""
    dirs: set[Path] = set()
    out = []
    for path, kind in candidates:
        if kind == "clementine_index":
            if path.parent in dirs:
                continue
            dirs.add(path.parent)
        out.append((path, kind))
    return out


class _Ingest:
    """One ingest run's state: the open batch, the report, and files already hashed in this run."""

    def __init__(self, archive: Archive, report: IngestReport, batch_id: int) -> None:
        self.archive = archive
        self.report = report
        self.batch_id = batch_id
        self._hashed: dict[tuple[str, int, int], BlobInfo] = {}
        self._root: Any = None
        """Parsed tree of the PDS4 label being stored (handed to the validation rules)."""
        self.seen: list[Product] = []
        self.stored: dict[str, int] = {}
        """Label path → product id, for the products this run catalogued."""

    def finding(self, message_id: str, message: str, path: Path, *, severity: str = "error",
                line: int | None = None, lidvid: str | None = None, product_id: int | None = None) -> None:
        f = Finding(message_id, message, str(path), severity, line, lidvid)  # type: ignore[arg-type]
        self.report.findings.append(f)
        self.archive.catalog.add_finding(f, self.batch_id, product_id)

    def one(self, path: Path, kind: Kind) -> None:
        self._root = None  # set by _parse for a PDS4 label; the validation rules need it
        if kind == "clementine_index":
            self._index_table(path)
            return
        t0 = time.perf_counter()
        try:
            data = path.read_bytes() if kind == "pds4" else b""
            product = self._parse(path, kind, data)
            if kind == "pds3":
                data = path.read_bytes()
        except FormatError as exc:
            self.report.failed += 1
            self.finding(MSG_INVALID_LABEL, exc.message, path, line=exc.line)
            return
        except OSError as exc:
            self.report.failed += 1
            self.finding(MSG_UNREADABLE, f"cannot read label: {exc.strerror or exc}", path)
            return
        finally:
            self.report.timings["parse"] += time.perf_counter() - t0
        if product is not None:
            self._store(path, product, data)

    def _index_table(self, path: Path) -> None:
        """One product per tile of a Clementine index table and the tables beside it (one label each)."""
        t0 = time.perf_counter()
        try:
            rows = list(clementine_index.read_products(path))
        except FormatError as exc:
            self.report.failed += 1
            self.finding(MSG_INVALID_LABEL, exc.message, path, line=exc.line)
            return
        finally:
            self.report.timings["parse"] += time.perf_counter() - t0
        for product, label in rows:
            self._store(path, product, label)

    def _parse(self, path: Path, kind: Kind, data: bytes) -> Product | None:
        if kind == "pds3":
            return pds3.parse_label(path)
        root = parse_xml(data, str(path))
        self._root = root
        if not pds4.is_pds4_label(root):
            self.finding(MSG_NOT_PRODUCT, "XML file is not a PDS4 product label; skipped", path, severity="info")
            return None
        return pds4.product_from_tree(root, str(path))

    def _store(self, path: Path, product: Product, data: bytes) -> None:
        catalog = self.archive.catalog
        t0 = time.perf_counter()
        label_sha = hashlib.sha256(data).hexdigest()
        existing = catalog.label_digest(product.lidvid)
        if existing == label_sha:
            self.report.unchanged += 1
            self.seen.append(product)
            self.report.timings["catalog"] += time.perf_counter() - t0
            return
        if existing is not None:
            self.report.failed += 1
            self.finding(MSG_CONFLICT, f"{product.lidvid} is already catalogued with a different label; "
                         "a changed product needs a new version id", path, lidvid=product.lidvid)
            return
        new_version = catalog.has_lid(product.lid)
        self.report.timings["catalog"] += time.perf_counter() - t0
        problems = self._hash_files(product)
        problems += self._members(product)
        checks = self._validate(product, data)
        t1 = time.perf_counter()
        pid = catalog.add_product(product, data, label_sha, self.batch_id)
        for message_id, message in problems:
            self.finding(message_id, message, path, lidvid=product.lidvid, product_id=pid)
        for f in checks:
            self.finding(f.message_id, f.message, path, severity=f.severity, line=f.line,
                         lidvid=product.lidvid, product_id=pid)
        self.seen.append(product)
        self.stored[product.label_path or str(path)] = pid
        self.report.timings["catalog"] += time.perf_counter() - t1
        if new_version:
            self.report.new_versions += 1
        else:
            self.report.added += 1

    def _hash_files(self, product: Product) -> list[tuple[str, str]]:
        problems = []
        t0 = time.perf_counter()
        for ref in product.files:
            problem = self._hash_one(ref)
            if problem:
                problems.append(problem)
        self.report.timings["hash"] += time.perf_counter() - t0
        return problems

    def _hash_one(self, ref: FileRef) -> tuple[str, str] | None:
        if not ref.path:
            ref.status = "missing"
            return MSG_MISSING_FILE, f"file {ref.name!r} named in the label has no resolvable path"
        try:
            st = os.stat(ref.path)
        except FileNotFoundError:
            ref.status = "missing"
            return MSG_MISSING_FILE, f"file {ref.name!r} named in the label does not exist"
        except OSError as exc:
            ref.status = "unreadable"
            return MSG_UNREADABLE, f"file {ref.name!r} cannot be read: {exc.strerror}"
        key = (ref.path, st.st_size, st.st_mtime_ns)
        info = self._hashed.get(key)
        if info is None:
            try:
                info = self.archive.store.put_file(Path(ref.path))
            except StoreError as exc:
                ref.status = "unreadable"
                return MSG_UNREADABLE, f"file {ref.name!r} cannot be stored: {exc.message}"
            self._hashed[key] = info
            self.report.bytes_hashed += info.size
            self.report.files_stored += 0 if info.existed else 1
        ref.sha256, ref.md5, ref.size, ref.status = info.sha256, info.md5, info.size, "ok"
        return None

    def _validate(self, product: Product, data: bytes) -> list[Finding]:
        """validate's product-level rules for a PDS4 label (tables up to INGEST_TABLE_LIMIT bytes)."""
        if product.label_format != "pds4" or self._root is None:
            return []
        t0 = time.perf_counter()
        try:
            return validation.product_findings(product, data=data, root=self._root, options=_INGEST_CHECKS)
        except (OSError, ValueError) as exc:
            return [Finding(MSG_UNREADABLE, f"validation stopped: {exc}", product.label_path or "")]
        finally:
            self._timed(t0)

    def tree_checks(self) -> None:
        """validate's referential-integrity rules for each bundle directory this run catalogued a product of.

        Findings about products catalogued by an earlier batch are not recorded again.
        """
        t0 = time.perf_counter()
        roots = sorted({os.path.dirname(p.label_path) for p in self.seen
                        if p.product_class == "Product_Bundle" and p.label_path})
        for root in roots:
            if not any(path.startswith(root + os.sep) for path in self.stored):
                continue
            for f in validation.tree_findings(self.seen, root):
                pid = self.stored.get(f.path)
                if pid is None and any(p.label_path == f.path for p in self.seen):
                    continue
                self.finding(f.message_id, f.message, Path(f.path), severity=f.severity, line=f.line,
                             lidvid=f.lidvid, product_id=pid)
        self._timed(t0)

    def _timed(self, t0: float) -> None:
        self.report.timings["validate"] = self.report.timings.get("validate", 0.0) + time.perf_counter() - t0

    def _members(self, product: Product) -> list[tuple[str, str]]:
        if product.product_class != "Product_Collection":
            return []
        members, problems = inventory.collection_members(product)
        product.members = members
        return [(MSG_INVENTORY, p) for p in problems]


def ingest(archive: Archive, paths: list[Path], *, progress: Progress | None = None) -> IngestReport:
    """Ingest every label under ``paths`` into ``archive`` as one batch (one transaction)."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise PathNotFound(f"no such file or directory: {', '.join(missing)}")
    candidates = _one_index_per_dir(list(iter_candidates([p.resolve() for p in paths], skip=archive.root)))
    report = IngestReport()
    with archive.catalog.batch([str(p.resolve()) for p in paths]) as batch_id:
        report.batch_id = batch_id
        run = _Ingest(archive, report, batch_id)
        for i, (path, kind) in enumerate(candidates, 1):
            run.one(path, kind)
            if progress:
                progress("ingest", i, len(candidates))
        run.tree_checks()
        archive.catalog.finish_batch(batch_id, report.counts())
    return report
