"""Ingest: walk a tree, parse every label, store its files by sha256, catalogue it in one transaction.

The per-label work (parse, hash and store files, validate, build rows) is in ingest_work.py and runs in
worker processes; this process decides what each result is (new, unchanged, new version, conflict) and
inserts the rows in bulk inside the batch's one transaction. The order keeps a crash harmless: blobs are
written (atomically) before the transaction that names them commits, so a killed ingest leaves at most
some unnamed blobs and never a row without its blob.
"""

from __future__ import annotations

import gc
import itertools
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import validate as validation
from .config import Archive
from .errors import CatalogError, InvalidIdentifier, NotFound, PathNotFound, UserError
from .formats import clementine_index, pds3, pds4
from .formats.files import is_utf8, open_regular, printable
from .ingest_work import LABEL_KINDS, MSG, Context, Kind, Prepared, prepared_results
from .model import Finding, Product
from .validate.bundle_rules import lax_membership

__all__ = ["IngestReport", "MSG_INVALID_LABEL", "MSG_MISSING_FILE", "ingest", "iter_candidates"]

MSG_INVALID_LABEL = MSG["invalid_label"]
MSG_MISSING_FILE = MSG["missing_file"]
MSG_CONFLICT = MSG["conflict"]

_FLUSH_EVERY = 256
"""Products buffered before their rows are inserted (in one executemany per table)."""
_PARALLEL_FROM = 64
"""Fewer candidate files than this are ingested in this process (starting workers would cost more)."""

Progress = Callable[[str, int, int | None], None]
"""Called as ``progress(stage, done, total)``; ``total`` is None while the walk is still finding labels."""

BAD_NAME = "error.file.name_has_invalid_characters"
"""validate's id for a file name outside the characters PDS allows (here: not even UTF-8)."""
_PDS4_SUFFIXES = pds4.LABEL_SUFFIXES
_PDS3_SUFFIXES = (".lbl",)
_ATTACHED_SUFFIXES = (".img", ".imq", ".dat", ".qub", ".cub", ".lab")
"""Names of files that are PDS3 labels when they begin as one: attached labels at the head of images and
cubes, and ``.lab`` (the detached labels of Clementine's basemap volumes)."""
_NUMBERED = re.compile(r"\.\d{3}$").search
"""Clementine's EDR files are named by orbit (``lub0204c.313``) and begin with their attached label."""

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
    """Seconds per phase, summed over the worker processes (``catalog`` and ``wall`` are this process's)."""
    workers: int = 0

    def counts(self) -> dict[str, int]:
        return {"added": self.added, "unchanged": self.unchanged, "new_versions": self.new_versions,
                "failed": self.failed}

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, **self.counts(), "files_stored": self.files_stored,
                "bytes_hashed": self.bytes_hashed, "findings": [f.to_dict() for f in self.findings],
                "timings": self.timings, "workers": self.workers}


def iter_candidates(paths: Iterable[Path], skip: Path | None = None) -> Iterator[tuple[Path, Kind]]:
    """Every label under ``paths`` in a stable order, with the format it claims by its name."""
    for path, kind in _candidates(paths, skip):
        yield Path(path), kind


def _candidates(paths: Iterable[Path], skip: Path | None = None,
                problems: list[Finding] | None = None) -> Iterator[tuple[str, Kind]]:
    """``iter_candidates`` with the paths as strings (what the workers are sent).

    Each directory's files come first (by name), then its subdirectories (by name), each walked the same
    way; symbolic links to directories are not followed. A directory that cannot be read, and a file or
    directory whose name is not UTF-8 (which the catalogue could neither store nor give back), are passed
    over with an error finding appended to ``problems``. Only names that may be labels are looked at
    further, so a tree of data files costs no ``stat`` each.
    """
    skip_id = _inode(str(skip)) if skip is not None else None
    for root in paths:
        if not root.is_dir():  # named on its own: one that is not a label is reported, not passed over
            regular = root.is_file()  # (devices and pipes are not opened to find out what they hold)
            # a pipe named like a label is taken for one, so its finding says it is no regular file
            kind = _kind_of(str(root), root.name) or (_named_label(str(root)) if regular else None)
            yield str(root), kind or "other"
            continue
        stack = [str(root)]
        while stack:
            top = stack.pop()
            try:
                with os.scandir(top) as it:
                    entries = sorted(it, key=_name)
            except OSError as exc:
                if problems is not None:
                    problems.append(Finding(MSG["unreadable"], f"directory cannot be read: {exc.strerror or exc}; "
                                            "nothing under it was ingested", top, "error"))
                continue
            subdirs = []
            for entry in entries:
                if not is_utf8(entry.name):
                    if problems is not None:
                        problems.append(Finding(BAD_NAME, "the name is not valid UTF-8 "
                                                "(PDS file names are ASCII): passed over, with all it holds",
                                                printable(entry.path), "error"))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if skip_id is None or entry.inode() != skip_id[1] or _inode(entry.path) != skip_id:
                        subdirs.append(entry.path)
                    continue
                kind = _kind_of(entry.path, entry.name)
                if kind and not (entry.is_symlink() and os.path.isdir(entry.path)):
                    yield entry.path, kind
            stack += reversed(subdirs)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _kind_of(path: str, name: str) -> Kind | None:
    low = name.lower()
    if low.endswith(_PDS4_SUFFIXES) or ".xml_" in low:
        return "pds4"
    if low.endswith(_PDS3_SUFFIXES):
        return "pds3"
    if pds4.is_level_label_name(low):  # a Chang'e level label (x.2BL): PDS4 when it holds XML
        return "pds4" if _holds_xml(path) else None
    if low.endswith(_ATTACHED_SUFFIXES) or _NUMBERED(low):
        return "pds3" if pds3.starts_as_label(path) else None
    if low.endswith(".csv"):  # a Clementine product index table, recognised by its header row
        head = _head(path, 200)
        return "clementine_index" if head is not None and clementine_index.index_kind(head) is not None else None
    return None


def _named_label(path: str) -> Kind | None:
    """A file named on its own whatever its name (``x.pvl``, ``x.cat``, a PDS4 label without .xml) that begins
    as a PDS3 label does, or as XML whose root is a ``Product_*`` (then read as a PDS4 label, its name
    reported)."""
    if pds3.starts_as_label(path):
        return "pds3"
    head = _head(path, 4096)  # XML with a Product_ root early on (an HTML page or other XML is no label)
    return "pds4" if head is not None and _starts_as_xml(head) and b"<Product_" in head else None


def _holds_xml(path: str) -> bool:
    """Whether the file begins as XML does."""
    head = _head(path, 64)
    return head is not None and _starts_as_xml(head)


def _starts_as_xml(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")  # after a byte-order mark and white space


def _head(path: str, n: int) -> bytes | None:
    """The first ``n`` bytes of a regular file (None when it cannot be read or is no regular file)."""
    try:
        with open_regular(path) as fh:
            return fh.read(n)
    except OSError:
        return None


def _one_index_per_dir(candidates: Iterable[tuple[str, Kind]]) -> Iterator[tuple[str, Kind]]:
    """Index tables in one directory are read together (joined), so keep the first of them only."""
    dirs: set[str] = set()
    for path, kind in candidates:
        if kind == "clementine_index":
            parent = os.path.dirname(path)
            if parent in dirs:
                continue
            dirs.add(parent)
        yield path, kind


class _Walk:
    """The candidates of a walk that runs ahead of the workers (it is not finished before they start),
    counted as they are found."""

    def __init__(self, candidates: Iterable[tuple[str, Kind]], directories: Iterable[str] = ()) -> None:
        self._candidates = candidates
        self.found = 0
        self.done = False
        self.empty = {d.rstrip(os.sep) + os.sep for d in directories}
        """The directories walked (each with a trailing separator) in which no candidate has been found yet."""

    def __iter__(self) -> Iterator[tuple[str, Kind]]:
        for item in self._candidates:
            self.found += 1
            if self.empty:
                self.empty = {d for d in self.empty if not item[0].startswith(d)}
            yield item
        self.done = True


class _Batch:
    """The ingesting process's side of one run: decisions, buffered rows, and the report."""

    def __init__(self, archive: Archive, report: IngestReport, batch_id: int, *, checks: bool = True,
                 one_walk: bool = False, lax_membership: bool = False) -> None:
        self.archive = archive
        self.catalog = archive.catalog
        self.report = report
        self.batch_id = batch_id
        self.seen: list[Product] = []
        self.stored: dict[str, int] = {}
        """Label path → product id, for the products this run catalogued."""
        self._pending: list[Prepared] = []
        self._loose: list[tuple[Finding, int | None]] = []
        self._digests: dict[str, str] = {}
        """Label digests of the LIDVIDs this run has taken (flushed or not)."""
        self._lids: set[str] = set()
        self._checks = checks
        self._lax_membership = lax_membership
        """A listed member missing from the tree and the catalogue is a warning (validate before 4.2)."""
        self._one_walk = checks and one_walk
        """Results come from one walk (each directory's subtree in one run, its own files first): a bundle
        is checked as soon as the results leave its directory, while the workers go on."""
        self._open: list[str] = []
        """Bundle directories the results are still inside, outermost first (``one_walk`` only)."""

    def take(self, prep: Prepared) -> None:
        report = self.report
        for k, v in prep.timings.items():
            report.timings[k] = report.timings.get(k, 0.0) + v
        report.bytes_hashed += prep.bytes_hashed
        report.files_stored += prep.files_stored
        product = prep.product
        if product is None:
            report.failed += prep.failed
            report.findings += prep.findings
            self._loose += [(f, None) for f in prep.findings]
            return
        t0 = time.perf_counter()
        lidvid = product.lidvid
        existing = self._digests.get(lidvid) or prep.committed_digest
        if existing is not None and existing != prep.label_sha256:
            report.failed += 1
            f = Finding(MSG_CONFLICT, f"{lidvid} is already catalogued with a different label; "
                        "a changed product needs a new version id", prep.path, "error", None, lidvid)
            report.findings.append(f)
            self._loose.append((f, None))
            report.timings["catalog"] += time.perf_counter() - t0
            return
        if existing is not None:
            report.unchanged += 1
            if prep.completed:  # files missing when it was catalogued, delivered since
                report.findings += self.catalog.complete_files(lidvid, prep.completed, prep.findings, self.batch_id)
            if prep.changed and prep.committed_digest is not None:  # its data files are not what was stored
                report.findings += self.catalog.add_product_findings(lidvid, prep.changed, self.batch_id)
        else:
            if prep.rows is None:
                raise CatalogError(f"{lidvid}: no rows prepared for a new product")
            if product.lid in self._lids or prep.committed_lid:
                report.new_versions += 1
            else:
                report.added += 1
            self._digests[lidvid] = prep.label_sha256
            self._lids.add(product.lid)
            self._pending.append(prep)
            report.findings += prep.findings
        report.timings["catalog"] += time.perf_counter() - t0  # flush and the tree checks time themselves
        self._saw(product)
        if len(self._pending) >= _FLUSH_EVERY:
            self.flush()

    def note(self, finding: Finding) -> None:
        """A finding about the run rather than a product (recorded with the next flush)."""
        self.report.findings.append(finding)
        self._loose.append((finding, None))

    def flush(self) -> None:
        """Insert the buffered products and findings (inside the batch's transaction)."""
        t0 = time.perf_counter()
        pending, self._pending = self._pending, []
        ids = self.catalog.add_rows([p.rows for p in pending if p.rows is not None], self.batch_id)
        findings = self._loose
        for prep, pid in zip(pending, ids, strict=True):
            assert prep.product is not None
            self.stored[prep.product.label_path or prep.path] = pid
            findings += [(f, pid) for f in prep.findings]
        self.catalog.add_findings(findings, self.batch_id)
        self._loose = []
        self.report.timings["catalog"] += time.perf_counter() - t0

    def _saw(self, product: Product) -> None:
        """Keep a catalogued or unchanged product for the tree checks; with ``one_walk``, check the bundles
        whose directories the results have now left. Without the checks nothing is kept."""
        if not self._checks:
            return
        path = product.label_path
        if self._one_walk and path:
            while self._open and not _holds(self._open[-1], path):
                self._check_bundle(self._open.pop())
            if not self._open:
                self._forget_before(path)
            if product.product_class == "Product_Bundle":
                root = os.path.dirname(path)
                if not self._open or self._open[-1] != root:
                    self._open.append(root)
        self.seen.append(product)

    def _forget_before(self, path: str) -> None:
        """With no bundle open, drop the products kept so far except those beside ``path`` (a bundle label
        there may come after them): no check will need them, so a long ingest keeps at most one bundle's
        products at a time, not every product of the run."""
        here = os.path.dirname(path)
        k = len(self.seen)
        while k and _holds(here, self.seen[k - 1].label_path or ""):
            k -= 1
        for p in self.seen[:k]:
            if p.label_path and p.label_path != path:
                self.stored.pop(p.label_path, None)
        del self.seen[:k]

    def _check_bundle(self, root: str) -> None:
        """The tree checks of one bundle directory whose products have all been seen (the latest ones)."""
        under = []
        for p in reversed(self.seen):
            if p.label_path:
                if not _holds(root, p.label_path):
                    break
                under.append(p)
        if self._pending:
            self.flush()  # ``stored``: which of them this run catalogued, and the ids findings name
        if any(p.label_path in self.stored for p in under):
            under.reverse()
            self._record_tree_findings(root, under)

    def tree_checks(self) -> None:
        """validate's referential-integrity rules for each bundle directory this run catalogued a product of
        (those not checked already as the results came in).

        Findings about products catalogued by an earlier batch are not recorded again.
        """
        if not self._checks:
            return
        if self._one_walk:
            while self._open:
                self._check_bundle(self._open.pop())
            return
        roots = {os.path.dirname(p.label_path) for p in self.seen
                 if p.product_class == "Product_Bundle" and p.label_path}
        under: dict[str, list[Product]] = {root: [] for root in roots}
        holders: dict[str, list[str]] = {}  # directory → the bundle roots that hold it
        for p in self.seen:
            for root in _roots_holding(p.label_path, roots, holders):
                under[root].append(p)
        touched = {root for path in self.stored for root in _roots_holding(path, roots, holders)}
        for root in sorted(touched):
            self._record_tree_findings(root, under[root])

    def _catalogued(self, ident: str) -> bool:
        """Whether the catalogue holds the LID or LIDVID ``ident`` (catalogued before this batch, or by it)."""
        try:
            self.catalog.resolve(ident)
        except (NotFound, InvalidIdentifier):
            return False
        return True

    def _record_tree_findings(self, root: str, under: list[Product]) -> None:
        """Record the tree findings of one bundle directory (every product of the run already flushed)."""
        t0 = time.perf_counter()
        seen_paths = {p.label_path for p in under}
        out: list[tuple[Finding, int | None]] = []
        for f in validation.tree_findings(under, root, catalogued=self._catalogued,
                                          catalogued_files=self.catalog.files_under):
            if self._lax_membership:
                f = lax_membership(f)
            pid = self.stored.get(f.path)
            if pid is None and f.path in seen_paths:
                continue
            out.append((f, pid))
            self.report.findings.append(f)
        self.catalog.add_findings(out, self.batch_id)
        self.report.timings["validate"] = self.report.timings.get("validate", 0.0) + time.perf_counter() - t0


def _holds(directory: str, path: str) -> bool:
    """Whether the file ``path`` is inside ``directory`` (at any depth)."""
    return path.startswith(directory + os.sep)


def _roots_holding(path: str | None, roots: set[str], memo: dict[str, list[str]]) -> list[str]:
    """The directories among ``roots`` that hold the file ``path`` at any depth (memoised per directory;
    worked out in a loop, however deep the tree)."""
    if not path:
        return []
    chain = []
    directory = os.path.dirname(path)
    while directory not in memo:
        chain.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            memo[directory] = [directory] if directory in roots else []
            chain.pop()
            break
        directory = parent
    for d in reversed(chain):
        above = memo[os.path.dirname(d)]
        memo[d] = [d, *above] if d in roots else above
    return memo[os.path.dirname(path)]


def _worker_count(workers: int | None, candidates: int) -> int:
    if workers is not None:
        return max(0, workers)
    if candidates < _PARALLEL_FROM:
        return 0
    return min(os.cpu_count() or 1, 4)


_GC_THRESHOLD = (50_000, 50, 1000)
"""The cyclic collector's thresholds during an ingest (Python's defaults: 700, 10, 10)."""


@contextmanager
def _bulk_gc() -> Iterator[None]:
    """Collect cycles rarely while an ingest runs, then restore the collector as it was.

    An ingest allocates millions of small objects (tuples, strings, Products) and makes almost no cycles,
    so the default thresholds only make the collector walk a young generation full of live rows over and
    over, and the full collections walk every Product kept for the tree checks. Objects alive when the
    ingest starts are frozen (never scanned; forked workers share their pages instead of copying them
    as the collector touches them). Cycles made during the ingest are still collected, just less often.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def ingest(archive: Archive, paths: list[Path], *, progress: Progress | None = None,
           workers: int | None = None, validate: bool = True, strict_membership: bool = True,
           allow_links_to: Sequence[Path] = ()) -> IngestReport:
    """Ingest every label under ``paths`` into ``archive`` as one batch (one transaction).

    ``workers``: processes that parse, store and validate (default: one per core, up to 4, once the walk
    has found ``_PARALLEL_FROM`` (64) labels; 0 or 1 does it all in this process). The result is the same either way.
    ``strict_membership=False``: a member a collection or bundle lists that is in neither the tree nor the
    catalogue is a warning, not an error (validate's ``--skip-strict-collection-membership``).
    ``validate=False`` leaves out validate's rules (product-level and referential integrity): labels that
    cannot be read and files that are missing are still recorded. For copies of data validated elsewhere
    (and for the ingest benchmark, which reports what the rules cost).
    A data file reached through a symbolic link is read only when it lies inside ``paths`` (a file's
    directory) or ``allow_links_to``; one that leads elsewhere is recorded as unreadable, so a delivery
    cannot put the host's files (/etc/shadow, /proc/self/environ) in the archive.
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise PathNotFound(f"no such file or directory: {', '.join(missing)}")
    roots = [p.resolve() for p in paths]
    bad = [printable(str(r)) for r in roots if not is_utf8(str(r))]  # resolved: a relative path's parents too
    if bad:
        raise UserError(f"a path given is not valid UTF-8 (rename it): {', '.join(bad)}")
    problems: list[Finding] = []
    walk = _Walk(_one_index_per_dir(_candidates(roots, skip=archive.root, problems=problems)),
                 [str(r) for r in roots if r.is_dir()])
    found = iter(walk)
    head = list(itertools.islice(found, _PARALLEL_FROM))  # enough to tell whether workers are worth it
    items = itertools.chain(head, found)
    report = IngestReport()
    allowed = [r if r.is_dir() else r.parent for r in roots] + [Path(d).resolve() for d in allow_links_to]
    ctx = Context(archive.store, archive.catalog.digest_lookup(), _INGEST_CHECKS if validate else None,
                  tuple(dict.fromkeys(str(d).rstrip(os.sep) + os.sep for d in allowed)))
    n_workers = _worker_count(workers, len(head))
    report.workers = n_workers
    t0 = time.perf_counter()
    with _bulk_gc(), prepared_results(ctx, items, n_workers) as results, \
            archive.catalog.batch([str(p.resolve()) for p in paths]) as batch_id:
        report.batch_id = batch_id
        run = _Batch(archive, report, batch_id, checks=validate, one_walk=len(paths) == 1,
                     lax_membership=not strict_membership)
        for i, prepared in enumerate(results, 1):
            for prep in prepared:
                run.take(prep)
            if progress:
                progress("ingest", i, walk.found if walk.done else None)
        for problem in problems:
            run.note(problem)
        unread = {f.path for f in problems}
        for root in roots:  # say so, rather than nothing: the tree holds nothing ingest reads
            if str(root).rstrip(os.sep) + os.sep in walk.empty and str(root) not in unread:
                run.note(Finding(MSG["not_product"], f"no labels found under this directory ({LABEL_KINDS})",
                                 str(root), "info"))
        run.flush()
        run.tree_checks()
        archive.catalog.finish_batch(batch_id, report.counts())
    report.timings["wall"] = time.perf_counter() - t0
    return report
