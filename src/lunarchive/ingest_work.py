"""The per-label work of an ingest: read, parse, store the files, validate, and build the catalogue rows.

It needs no write access to the catalogue, so it runs in worker processes (a ``ProcessPoolExecutor``)
while the ingesting process only decides (new, unchanged, new version, conflict) and inserts the rows
inside its one transaction. Blobs are written here, atomically, before the rows that name them are
committed there; a killed ingest leaves at most unnamed blobs. Workers die with the ingesting process
(``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import multiprocessing
import os
import signal
import stat
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import validate as validation
from .catalog.base import CataloguedFile, CommittedLookup
from .catalog.rows import ProductRows, product_rows
from .errors import FormatError, IngestError, StoreError, StoreWriteError
from .formats import clementine_index, inventory, odl, pds3, pds4
from .formats.files import file_digest, read_whole, real_path
from .formats.xmlsafe import parse_xml
from .model import FileRef, Finding, Product
from .store.base import BlobInfo, Store
from .validate.label_rules import file_line, file_lines
from .validate.label_rules import finding as note_finding

__all__ = ["LABEL_KINDS", "MSG", "Context", "Kind", "Prepared", "Worker", "prepared_results"]

Kind = Literal["pds4", "pds3", "clementine_index", "other"]
"""What a candidate file is taken for by its name (and first bytes); ``other``: a file named on its own
that is none of them, reported and skipped."""

MSG = {
    "invalid_label": "error.validation.invalid_label",
    "missing_file": "error.label.missing_file",
    "unreadable": "error.label.unresolvable_resource",
    "conflict": "error.label.duplicate_identifier",
    "not_product": "info.validation.general",
}

LABEL_KINDS = ("PDS4 labels end in .xml or .lblx, or are Chang'e level labels such as .2BL holding XML; PDS3 "
               "labels end in .lbl, or are .img/.imq/.dat/.qub/.cub/.lab files, files with a 3-digit suffix "
               "(Clementine's .313) or any file named on its own that begin with PDS_VERSION_ID; Clementine "
               "index tables are .csv files with their header row")
"""What ingest takes for a label, as findings about files and trees it passed over say."""

_PDS3_DETACHED = (".lbl",)
_CHUNKSIZE = 32


@dataclass
class Context:
    """What a worker needs: the blob store, committed label digests, and the validation options."""

    store: Store
    committed: CommittedLookup
    checks: validation.Options | None
    """None: validate's rules are not run (files are still measured, missing ones still recorded)."""
    roots: tuple[str, ...] = ()
    """Real directories (each ending in a separator) a data file reached through a symbolic link must lie in to
    be read: the trees being ingested and those the caller allows links into. Empty: links are not checked."""


@dataclass
class Prepared:
    """One product (or one failure) from a candidate file, ready for the ingesting process to decide on."""

    path: str
    product: Product | None = None
    label_sha256: str = ""
    committed_digest: str | None = None
    """The label digest catalogued under this LIDVID before the batch began (None: not catalogued)."""
    committed_lid: bool = False
    """Whether some version of the LID was catalogued before the batch began."""
    rows: ProductRows | None = None
    """None when nothing needs inserting (the worker saw the LIDVID catalogued) or for a failure."""
    findings: list[Finding] = field(default_factory=list)
    """Findings about the product (missing files, validation rules) or, with no product, about the file."""
    failed: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    bytes_hashed: int = 0
    files_stored: int = 0
    changed: list[Finding] = field(default_factory=list)
    """Of an unchanged label: its data files that differ in size from those catalogued, or are gone."""
    completed: list[tuple[str, str, str, int, int | None]] = field(default_factory=list)
    """Of an unchanged product, the files missing when it was catalogued that are there now, measured and
    stored: ``(name, sha256, md5, size, mtime_ns)`` (``findings`` say so)."""


class Worker:
    """Turns candidate files into Prepared records; keeps the files it has hashed (by inode) for reuse."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._hashed: dict[tuple[int, int, int, int], BlobInfo] = {}

    def run(self, path: str, kind: Kind) -> list[Prepared]:
        if kind != "other" and self.ctx.roots and not self._label_inside(path):
            return [_failure(path, MSG["unreadable"], "label is a symbolic link to a file outside the trees being "
                             "ingested: not read (`ingest --allow-links-to DIR` follows links into DIR)", None, {})]
        if kind == "clementine_index":
            return self._index_table(path)
        if kind == "other":
            note = Finding(MSG["not_product"], f"not a label lunarchive reads ({LABEL_KINDS}); skipped", path, "info")
            return [Prepared(path, findings=[note])]
        t0 = time.perf_counter()
        timings = {"parse": 0.0}
        root = None
        try:
            if kind == "pds4":
                data = read_whole(path)
                root = parse_xml(data, path)
                if not pds4.looks_like_a_label(root):
                    note = Finding(MSG["not_product"], "XML file is not a PDS4 product label; skipped", path, "info")
                    return [Prepared(path, findings=[note], timings=timings)]
                # shown from the kept label; a Product_* outside the PDS4 namespace is refused here, as broken
                product = pds4.product_from_tree(root, path, discipline=False)
            else:
                detached = path.lower().endswith(_PDS3_DETACHED)
                data = odl.detached_label(read_whole(path)) if detached else odl.label_bytes(Path(path))
                product = pds3.parse_label(Path(path), data=data)
        except FormatError as exc:
            return [_failure(path, MSG["invalid_label"], exc.about(path), exc.line, timings)]
        except OSError as exc:
            return [_failure(path, MSG["unreadable"], f"cannot read label: {exc.strerror or exc}", None, timings)]
        finally:
            timings["parse"] += time.perf_counter() - t0
        return [self._prepare(path, product, data, root, timings)]

    def _index_table(self, path: str) -> list[Prepared]:
        """One product per tile of a Clementine index table and the tables beside it (one label each)."""
        t0 = time.perf_counter()
        timings = {"parse": 0.0}
        try:
            rows = list(clementine_index.read_products(Path(path)))
        except FormatError as exc:
            return [_failure(path, MSG["invalid_label"], exc.about(path), exc.line, timings)]
        finally:
            timings["parse"] += time.perf_counter() - t0
        return [self._prepare(path, product, label, None, {}) for product, label in rows]

    def _prepare(self, path: str, product: Product, data: bytes, root: Any, timings: dict[str, float]) -> Prepared:
        out = Prepared(path, product, hashlib.sha256(data).hexdigest(), timings=timings)
        out.committed_digest, out.committed_lid = self.ctx.committed.lookup(product.lid, product.vid)
        if out.committed_digest is not None:  # unchanged or a conflict: the ingesting process decides
            if out.committed_digest == out.label_sha256:
                held = self.ctx.committed.catalogued_files(product.lidvid)
                missing = {f.name for f in held if f.status != "ok"}
                if missing:  # delivered since: store them now
                    self._complete(product, out, missing, data, root)
                out.changed = self._changed_files(product, {f.name: f for f in held if f.status == "ok"})
            return out
        unmeasured = self._hash_files(product, out)
        t0 = time.perf_counter()
        out.findings = self._findings(product, path, data, root, unmeasured)
        t1 = time.perf_counter()
        timings["validate"] = t1 - t0
        out.rows = product_rows(product, data, out.label_sha256)
        product.discipline = {}  # in the rows (as JSON) already; not needed again, so not sent back
        timings["rows"] = time.perf_counter() - t1
        return out

    def _findings(self, product: Product, path: str, data: bytes, root: Any,
                  unmeasured: list[tuple[str, str, str]]) -> list[Finding]:
        """Everything ingest finds about a product whose files have been measured: files it could not measure,
        inventory members, PDS3 label notes, and validate's product-level rules (when they run)."""
        lines = file_lines(root) if unmeasured and root is not None else {}  # where the label names each file
        problems = [(m, text, file_line(lines, name)) for m, text, name in unmeasured]
        problems += [(m, text, None) for m, text in _members(product)]
        findings = [Finding(m, text, path, "error", line, product.lidvid) for m, text, line in problems]
        if product.label_format == "pds3":
            notes = pds3.label_notes(product) + (pds3.file_notes(product) if self.ctx.checks is not None else [])
            findings += [note_finding(m, text, path, line=line, lidvid=product.lidvid) for m, text, line in notes]
        if product.label_format == "pds4" and root is not None and self.ctx.checks is not None:
            try:
                checks = validation.product_findings(product, data=data, root=root, options=self.ctx.checks)
            except (OSError, ValueError) as exc:
                checks = [Finding(MSG["unreadable"], f"validation stopped: {exc}", product.label_path or "")]
            findings += [Finding(f.message_id, f.message, path, f.severity, f.line, product.lidvid) for f in checks]
        return findings

    def _complete(self, product: Product, out: Prepared, missing: set[str], data: bytes, root: Any) -> None:
        """Measure and store the files of an unchanged product that were missing when it was catalogued and
        are there now; then find what a first ingest of the whole product would (contents, sizes, checksums),
        of which the catalogue records what it does not hold yet."""
        t0 = time.perf_counter()
        arrived = [ref for ref in product.files if ref.name in missing and self._hash_one(ref, out) is None]
        out.timings["hash"] = time.perf_counter() - t0
        if not arrived:
            return
        path = product.label_path or out.path
        out.completed = [(ref.name, ref.sha256 or "", ref.md5 or "", ref.size or 0, ref.mtime_ns) for ref in arrived]
        notes = [Finding(MSG["not_product"], f"file {ref.name!r}, missing when {product.lidvid} was catalogued, is "
                         "there now: measured and stored", path, "info", None, product.lidvid) for ref in arrived]
        unmeasured = self._hash_files(product, out)  # the files stored before: measured again (from the cache)
        t1 = time.perf_counter()
        out.findings = notes + self._findings(product, path, data, root, unmeasured)
        out.timings["validate"] = time.perf_counter() - t1

    def _hash_files(self, product: Product, out: Prepared) -> list[tuple[str, str, str]]:
        """(message id, text, file name) of each file that cannot be measured."""
        t0 = time.perf_counter()
        problems = []
        for ref in product.files:
            problem = self._hash_one(ref, out)
            if problem:
                problems.append((*problem, ref.name))
        out.timings["hash"] = time.perf_counter() - t0
        return problems

    def _changed_files(self, product: Product, stored: dict[str, CataloguedFile]) -> list[Finding]:
        """Findings on a re-delivered, unchanged label whose data files are not what was catalogued: a file of
        another size, or of the same size touched since it was measured and holding other bytes (a changed
        product needs a new version; the archive keeps the bytes it stored), or one no longer delivered. An
        untouched file of the catalogued size is not read again: re-hashing every file of an unchanged
        delivery would cost what its first ingest did."""
        out = []
        path = product.label_path or ""
        for ref in product.files:
            held = stored.get(ref.name)
            if held is None or ref.path is None:
                continue
            try:
                if self.ctx.roots and not self._inside(ref):  # not looked at, nor its size told (as at first)
                    continue
                st = os.stat(ref.path)
                if not stat.S_ISREG(st.st_mode):
                    raise FileNotFoundError(ref.path)
                changed = held.size is not None and st.st_size != held.size
                if not changed and held.mtime_ns is not None and st.st_mtime_ns != held.mtime_ns and held.sha256:
                    changed = file_digest(ref.path, "sha256") != held.sha256
            except OSError:
                out.append(Finding(FILE_NOT_DELIVERED, f"file {ref.name!r}, catalogued with {product.lidvid}, is "
                                   "not in this delivery (the archive keeps the copy it stored)", path, "warning",
                                   None, product.lidvid))
                continue
            if changed and st.st_size != held.size:
                out.append(Finding(FILE_CHANGED, f"file {ref.name!r} has {st.st_size} bytes; {product.lidvid} was "
                                   f"catalogued with {held.size}: a changed file needs a new version of the product "
                                   "(the archive keeps the bytes it stored)", path, "error", None, product.lidvid))
            elif changed:
                out.append(Finding(FILE_CHANGED, f"file {ref.name!r} holds other bytes than those catalogued with "
                                   f"{product.lidvid} (sha256 {(held.sha256 or '')[:12]}...), with the same size: a "
                                   "changed file needs a new version of the product (the archive keeps the bytes it "
                                   "stored)", path, "error", None, product.lidvid))
        return out

    def _inside(self, ref: FileRef) -> bool:
        """Whether a data file lies in the trees being ingested (or where links are allowed). A label's directory
        is a real one, so a file named without a directory that is no symbolic link is in it; others are
        resolved. A delivered link to /etc/shadow or /proc/self/environ must not put it in the archive."""
        assert ref.path is not None
        if not stat.S_ISLNK(os.lstat(ref.path).st_mode) and "/" not in ref.name:
            return True
        return self._in_roots(ref.path)

    def _label_inside(self, path: str) -> bool:
        """Whether a label lies in the trees being ingested: the walk gives labels in real directories, so only
        a label that is a symbolic link is resolved. A delivered link to a host file is not read as a label
        (its content would be kept, and shown, in the catalogue)."""
        try:
            if not stat.S_ISLNK(os.lstat(path).st_mode):
                return True
        except OSError:
            return True  # reading it will say why it cannot be read
        return self._in_roots(path)

    def _in_roots(self, path: str) -> bool:
        """Whether ``path``, its links followed, lies in one of the trees a link may lead into."""
        real = real_path(path)
        return any(real.startswith(root) for root in self.ctx.roots)

    def _hash_one(self, ref: FileRef, out: Prepared) -> tuple[str, str] | None:
        if not ref.path:
            ref.status = "missing"
            return MSG["missing_file"], f"file {ref.name!r} named in the label cannot be found from its directory"
        try:
            if self.ctx.roots and not self._inside(ref):
                ref.status = "unreadable"
                return MSG["unreadable"], (f"file {ref.name!r} is a symbolic link to a file outside the trees being "
                                           "ingested: not read (`ingest --allow-links-to DIR` follows links into DIR)")
            st = os.stat(ref.path)
        except FileNotFoundError:
            ref.status = "missing"
            return MSG["missing_file"], f"file {ref.name!r} named in the label does not exist"
        except OSError as exc:
            ref.status = "unreadable"
            return MSG["unreadable"], f"file {ref.name!r} cannot be read: {exc.strerror}"
        if not stat.S_ISREG(st.st_mode):  # a directory, pipe or device: never opened (a pipe would hang)
            ref.status = "unreadable"
            return MSG["unreadable"], f"file {ref.name!r} is not a regular file"
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        info = self._hashed.get(key)
        if info is None:
            try:
                info = self.ctx.store.put_file(Path(ref.path))
            except StoreWriteError:
                raise  # the archive cannot be written: the ingest stops (exit 5), nothing of the batch stored
            except StoreError as exc:
                ref.status = "unreadable"
                return MSG["unreadable"], f"file {ref.name!r} cannot be stored: {exc.message}"
            self._hashed[key] = info
            out.bytes_hashed += info.size
            out.files_stored += 0 if info.existed else 1
        ref.sha256, ref.md5, ref.size, ref.status = info.sha256, info.md5, info.size, "ok"
        ref.mtime_ns = st.st_mtime_ns
        return None


FILE_CHANGED = "error.ingest.file_changed"
FILE_NOT_DELIVERED = "warning.ingest.file_not_delivered"


def _members(product: Product) -> list[tuple[str, str]]:
    if product.product_class != "Product_Collection":
        return []
    members, problems = inventory.collection_members(product)
    product.members = members
    reported = {ref.name for ref in product.files if ref.status in ("missing", "unreadable")}
    name = product.extra.get("inventory_file")
    # a missing or unreadable inventory file has been reported already, when its FileRef was measured
    return [(p.message_id, str(p)) for p in problems
            if not (name in reported and p.message_id in (inventory.MISSING, inventory.UNRESOLVABLE))]


def _failure(path: str, message_id: str, message: str, line: int | None, timings: dict[str, float]) -> Prepared:
    return Prepared(path, findings=[Finding(message_id, message, path, "error", line)], failed=True, timings=timings)


# ------------------------------------------------------------------------------------------ processes
_WORKER: Worker | None = None


def _init(ctx: Context, parent: int) -> None:
    global _WORKER
    _WORKER = Worker(ctx)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the ingesting process's to handle
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the ingesting process
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _chunk(items: list[tuple[str, Kind]]) -> list[list[Prepared]]:
    assert _WORKER is not None
    return [_WORKER.run(path, kind) for path, kind in items]


def _ready() -> int:
    return os.getpid()


@contextmanager
def prepared_results(
    ctx: Context, items: Iterable[tuple[str, Kind]], workers: int
) -> Iterator[Iterator[list[Prepared]]]:
    """Prepared records for ``items`` in their order: in ``workers`` processes, or here when ``workers`` < 2.

    ``items`` may be a walk still under way: it is read a few chunks ahead of the results taken, so the
    workers start on the first labels found.

    The worker processes are forked on entry (before the caller opens its write transaction); the work
    starts with the first ``next()``, so the committed state the workers read is the one the caller's
    transaction (opened in between) sees and writes after. At most a few chunks per worker are in flight,
    so memory stays bounded however many labels there are. A worker that dies (killed, out of memory)
    raises IngestError instead of leaving the ingest waiting for it.
    """
    if workers < 2:
        worker = Worker(ctx)
        try:
            yield (worker.run(path, kind) for path, kind in items)
        finally:
            ctx.committed.close()
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_init,
                               initargs=(ctx, os.getpid()))
    try:
        started = [pool.submit(_ready) for _ in range(workers)]  # each submit forks one: all, before the transaction
        for f in started:
            f.result()
        yield _ordered(pool, items, workers)
    except BrokenExecutor as exc:
        raise IngestError(f"an ingest worker process died ({exc}); nothing from this ingest was stored") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(items: Iterable[tuple[str, Kind]]) -> Iterator[list[tuple[str, Kind]]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, _CHUNKSIZE)):
        yield chunk


def _ordered(pool: ProcessPoolExecutor, items: Iterable[tuple[str, Kind]], workers: int) -> Iterator[list[Prepared]]:
    chunks = _chunks(items)
    in_flight: deque[Future[list[list[Prepared]]]] = deque()
    for chunk in itertools.islice(chunks, 4 * workers):
        in_flight.append(pool.submit(_chunk, chunk))
    while in_flight:
        done = in_flight.popleft().result()
        nxt = next(chunks, None)
        if nxt is not None:
            in_flight.append(pool.submit(_chunk, nxt))
        yield from done
