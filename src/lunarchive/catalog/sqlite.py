"""SqliteCatalog: the embedded default catalogue, one SQLite file in the data directory.

Writes go through ``batch()``: ``BEGIN IMMEDIATE`` … ``COMMIT``, so an ingest killed mid-way leaves the
catalogue exactly as it was. WAL mode lets readers go on while a batch is written.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..bodies import normalize_target
from ..errors import CatalogError, InvalidIdentifier, InvalidQuery, NotFound
from ..formats.files import printable
from ..model import Finding, split_lidvid
from ..query import Query
from .base import Catalog, CataloguedFile, Filter, Page, ProductRow
from .migrations import MIGRATIONS, apply_migrations
from .rows import LABEL_CODEC, PRODUCT_COLUMNS, ProductRows, label_bytes, vid_key
from .spatial import RTREE_INSERT, check_body, rebind, spatial_clauses

__all__ = ["SqliteCatalog", "SqliteDigests", "vid_key"]

SUMMARY_COLUMNS = (
    "p.id, p.lidvid, p.lid, p.vid, p.product_class, p.title, p.targets, p.investigations, p.instruments, "
    "p.start, p.stop, p.bbox_west, p.bbox_south, p.bbox_east, p.bbox_north, p.label_format, "
    "p.processing_level, p.instrument_hosts"
)
_SORT_SQL = {
    "lidvid": "p.lid {d}, p.vid_key {d}",
    "start": "p.start_utc IS NULL, p.start_utc {d}, p.id",
    "stop": "p.stop_utc IS NULL, p.stop_utc {d}, p.id",
    "title": "p.title {d}, p.id",
    "ingested": "p.id {d}",
}


_MMAP_BYTES = 2 << 30
"""Up to 2 GiB of the catalogue file is memory-mapped for reading: an index lookup that misses SQLite's page
cache costs a page fault instead of a read() and a copy (spatial queries on a 1 GB catalogue: about 25 %
faster)."""
_INSERT_PRODUCT = (
    f"INSERT INTO products (id, {', '.join(PRODUCT_COLUMNS)}, batch_id, ingested_at)"
    f" VALUES ({','.join('?' * (len(PRODUCT_COLUMNS) + 3))})"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteCatalog(Catalog):
    """The catalogue in one SQLite file, schema created and upgraded by named migrations."""

    def __init__(self, path: Path, *, read_only_ok: bool = False) -> None:
        """``read_only_ok``: a catalogue that cannot be written (a read-only mount, snapshot or copy) is opened
        for reading, as commands that only read want it, rather than refused."""
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout=30000")  # first: a second process opening waits, not fails
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA cache_size=-65536")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")  # reads map pages instead of copying them
            apply_migrations(self.conn)
        except sqlite3.OperationalError as exc:
            if "full" in str(exc).lower():
                raise sqlite_failure(exc, self.path) from None
            if not read_only_ok or not _READ_ONLY.search(str(exc)):
                raise CatalogError(f"cannot open catalogue {self.path}: {exc}") from exc
            self.conn.close()
            self._open_read_only()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"cannot open catalogue {self.path}: {exc}") from exc
        self._body_ids: dict[str, int] = {}
        """footprint_bodies ids by name, known inside the open batch (forgotten when it rolls back)."""

    def _open_read_only(self) -> None:
        """Open a catalogue on storage that cannot be written: ``mode=ro``, else (a WAL catalogue whose shared
        memory file cannot be made beside it) ``immutable=1``, which reads the file as it is. Migrations cannot
        be applied there: a catalogue that needs them is refused, saying so."""
        uri = self.path.resolve().as_uri()
        for query in ("?mode=ro", "?immutable=1"):
            try:
                self.conn = sqlite3.connect(uri + query, uri=True, isolation_level=None, check_same_thread=False)
                self.conn.execute("PRAGMA busy_timeout=30000")
                applied = {row[0] for row in self.conn.execute("SELECT name FROM _migrations")}
                break
            except sqlite3.OperationalError as exc:
                if query == "?immutable=1" or not _READ_ONLY.search(str(exc)):
                    raise CatalogError(f"cannot open catalogue {self.path} (read-only): {exc}") from exc
                self.conn.close()
        pending = [name for name, _ in MIGRATIONS if name not in applied]
        if pending:
            raise CatalogError(f"the catalogue {self.path} cannot be written and needs migrations "
                               f"{', '.join(pending)}: open it once where it can be written")

    # -- writing -------------------------------------------------------------------------------------
    @contextmanager
    def batch(self, sources: list[str]) -> Iterator[int]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise sqlite_failure(exc, self.path) from None
        try:
            cur = self.conn.execute(
                "INSERT INTO batches (started_at, sources) VALUES (?, ?)", (_now(), json.dumps(sources))
            )
            yield int(cur.lastrowid or 0)
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._body_ids.clear()
            if self.conn.in_transaction:  # SQLite has rolled back already after some failures (a full disk)
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise sqlite_failure(exc, self.path) from None
            raise

    def finish_batch(self, batch_id: int, counts: dict[str, int]) -> None:
        self.conn.execute(
            "UPDATE batches SET finished_at=?, added=?, unchanged=?, new_versions=?, failed=? WHERE id=?",
            (_now(), counts.get("added", 0), counts.get("unchanged", 0), counts.get("new_versions", 0),
             counts.get("failed", 0), batch_id),
        )

    def add_rows(self, items: Sequence[ProductRows], batch_id: int) -> list[int]:
        if not items:
            return []
        c = self.conn
        first = int(c.execute("SELECT coalesce(max(id), 0) + 1 FROM products").fetchone()[0])
        ids = list(range(first, first + len(items)))
        now = _now()
        c.executemany("INSERT OR IGNORE INTO labels (sha256, data, codec, size) VALUES (?, ?, ?, ?)",
                      [(r.label_sha256, r.label, LABEL_CODEC, r.label_size) for r in items])
        c.executemany(_INSERT_PRODUCT, [(pid, *r.product, batch_id, now) for pid, r in zip(ids, items, strict=True)])
        c.executemany("INSERT INTO product_terms VALUES (?,?,?)",
                      [(pid, k, v) for pid, r in zip(ids, items, strict=True) for k, v in r.terms])
        c.executemany(
            "INSERT INTO files (product_id, name, role, declared_size, declared_md5, records, local_identifier,"
            " sha256, size, md5, status, mtime_ns) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(pid, *f) for pid, r in zip(ids, items, strict=True) for f in r.files],
        )
        c.executemany("INSERT INTO refs VALUES (?,?,?,?,?,?)",
                      [(pid, *x) for pid, r in zip(ids, items, strict=True) for x in r.refs])
        c.executemany("INSERT INTO members VALUES (?,?,?,?,?,?)",
                      [(pid, *x) for pid, r in zip(ids, items, strict=True) for x in r.members])
        c.executemany("INSERT INTO products_fts (rowid, title, ids) VALUES (?,?,?)",
                      [(pid, *r.fts) for pid, r in zip(ids, items, strict=True)])
        shapes, boxes = [], []
        for pid, r in zip(ids, items, strict=True):
            fp = r.footprint
            if fp is not None:
                bid = self._body_ids.get(fp.body[0]) or self._body_id(fp.body)
                shapes.append((pid, bid, fp.source, fp.geojson))
                boxes += [rebind(row, pid, bid) for row in fp.rtree]
        c.executemany("INSERT INTO footprints (product_id, body_id, source, geojson) VALUES (?,?,?,?)", shapes)
        c.executemany(RTREE_INSERT, boxes)
        return ids

    def _body_id(self, body: tuple[str, int | None, str | None]) -> int:
        row = self.conn.execute("SELECT id FROM footprint_bodies WHERE name=?", (body[0],)).fetchone()
        if row is None:
            cur = self.conn.execute("INSERT INTO footprint_bodies (name, naif_id, crs) VALUES (?,?,?)", body)
            row = (cur.lastrowid,)
        self._body_ids[body[0]] = int(row[0])
        return int(row[0])

    def add_findings(self, findings: Sequence[tuple[Finding, int | None]], batch_id: int | None) -> None:
        self.conn.executemany(
            "INSERT INTO findings (batch_id, product_id, lidvid, path, message_id, severity, message, line)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [(batch_id, pid, f.lidvid, f.path and printable(f.path), f.message_id, f.severity, printable(f.message),
              f.line) for f, pid in findings],  # a file name that is not UTF-8 cannot be stored as it is
        )

    def complete_files(self, lidvid: str, files: Sequence[tuple[str, str, str, int, int | None]],
                       findings: Sequence[Finding], batch_id: int) -> list[Finding]:
        row = self.conn.execute("SELECT id FROM products WHERE lidvid=?", (lidvid,)).fetchone()
        if row is None:
            raise CatalogError(f"{lidvid}: no catalogued product to complete")
        pid = int(row[0])
        for name, sha256, md5, size, mtime_ns in files:
            self.conn.execute("UPDATE files SET sha256=?, md5=?, size=?, mtime_ns=?, status='ok' WHERE product_id=?"
                              " AND name=?", (sha256, md5, size, mtime_ns, pid, name))
            self.conn.execute(  # the findings that said it was missing or unreadable name it (as repr)
                "DELETE FROM findings WHERE product_id=? AND message_id IN (?, ?) AND message LIKE ? ESCAPE '\\'",
                (pid, "error.label.missing_file", "error.label.unresolvable_resource",
                 _like(repr(name))))
        return self.add_product_findings(lidvid, findings, batch_id)

    def add_product_findings(self, lidvid: str, findings: Sequence[Finding], batch_id: int) -> list[Finding]:
        row = self.conn.execute("SELECT id FROM products WHERE lidvid=?", (lidvid,)).fetchone()
        if row is None:
            raise CatalogError(f"{lidvid}: no catalogued product to record findings against")
        pid = int(row[0])
        held = set(self.conn.execute("SELECT message_id, message, line FROM findings WHERE product_id=?", (pid,)))
        new = [f for f in findings if (f.message_id, printable(f.message), f.line) not in held]
        self.add_findings([(f, pid) for f in new], batch_id)
        return new

    def digest_lookup(self) -> SqliteDigests:
        return SqliteDigests(str(self.path))

    # -- reading -------------------------------------------------------------------------------------
    def resolve(self, ident: str) -> str:
        """The LIDVID ``ident`` names (a LID: its latest version). Ids are compared as catalogued, then in
        lower case (PDS ids are case-insensitive and written in lower case); one that is found neither way
        and is no well-formed id is an InvalidIdentifier rather than a NotFound."""
        lid, vid = split_lidvid(ident)
        for candidate in dict.fromkeys((lid, lid.lower())):
            if vid is not None:
                if self.conn.execute("SELECT 1 FROM products WHERE lidvid=?", (f"{candidate}::{vid}",)).fetchone():
                    return f"{candidate}::{vid}"
                continue
            row = self.conn.execute(
                "SELECT lidvid FROM products WHERE lid=? ORDER BY vid_key DESC LIMIT 1", (candidate,)
            ).fetchone()
            if row is not None:
                return str(row[0])
        if not _WELL_FORMED_LID.fullmatch(lid):
            raise InvalidIdentifier(f"not a LID or LIDVID: {ident.strip()!r} (urn:<agency>:<authority>:..., "
                                    "with '::<version>' for a LIDVID)")
        raise NotFound(f"no product {lid}::{vid}" if vid is not None else f"no product with LID {lid}")

    def versions(self, lid: str) -> list[str]:
        rows = self.conn.execute("SELECT lidvid FROM products WHERE lid=? ORDER BY vid_key", (lid,))
        return [r[0] for r in rows]

    def get(self, lidvid: str) -> ProductRow:
        row = self.conn.execute(
            f"SELECT {SUMMARY_COLUMNS}, p.information_model_version, p.extra, p.discipline, p.label_name,"
            " p.label_sha256, p.ingested_at FROM products p WHERE p.lidvid=?",
            (lidvid,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no product {lidvid}")
        out = _summary(row)
        pid = row[0]
        out.update(
            information_model_version=row[18], extra=json.loads(row[19]), discipline=json.loads(row[20]),
            label={"name": row[21], "sha256": row[22]}, ingested_at=row[23],
        )
        out["files"] = self._dicts(
            "SELECT name, role, declared_size, declared_md5, records, local_identifier, sha256, size, md5,"
            " status FROM files WHERE product_id=? ORDER BY id", pid)
        out["references"] = self._dicts(
            "SELECT target, ref_type, kind, comment FROM refs WHERE product_id=? ORDER BY rowid", pid)
        out["members"] = self._dicts(
            "SELECT ref, status, kind, member_type FROM members WHERE product_id=? ORDER BY rowid", pid)
        out["findings"] = self._dicts(
            "SELECT message_id, severity, message, path, line FROM findings WHERE product_id=? ORDER BY id", pid)
        out["versions"] = self.versions(out["lid"])
        return out

    def _dicts(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

    def search(self, query: Query) -> list[ProductRow]:
        check_body(self.conn, query)
        where, params = _where(query)
        order = _SORT_SQL[query.sort].format(d="DESC" if query.descending else "ASC")
        sql = f"SELECT {SUMMARY_COLUMNS} FROM products p {where} ORDER BY {order} LIMIT ? OFFSET ?"
        return [_summary(r) for r in self.conn.execute(sql, [*params, query.limit, query.offset])]

    def count(self, query: Query) -> int:
        check_body(self.conn, query)
        where, params = _where(query)
        return int(self.conn.execute(f"SELECT count(*) FROM products p {where}", params).fetchone()[0])

    def label(self, lidvid: str) -> bytes:
        row = self.conn.execute(
            "SELECT l.data, l.codec FROM products p JOIN labels l ON l.sha256 = p.label_sha256 WHERE p.lidvid=?",
            (lidvid,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no label for {lidvid}")
        return label_bytes(row[0], row[1])

    def blob_digests(self) -> Iterator[str]:
        for (sha,) in self.conn.execute("SELECT DISTINCT sha256 FROM files WHERE sha256 IS NOT NULL"):
            yield sha

    def files_under(self, root: str) -> set[str]:
        prefix = root.rstrip(os.sep) + os.sep
        rows = self.conn.execute(
            "SELECT p.source_path, f.name FROM products p JOIN files f ON f.product_id = p.id"
            " WHERE substr(p.source_path, 1, ?) = ? AND f.role != 'label'", (len(prefix), prefix))
        return {os.path.normpath(os.path.join(os.path.dirname(src), name)) for src, name in rows}

    def close(self) -> None:
        self.conn.close()

    # -- browsing (the API's reads; SQL in sqlite_browse.py) -------------------------------------------
    def search_page(self, query: Query, page: Page) -> list[ProductRow]:
        from . import sqlite_browse
        check_body(self.conn, query)
        return sqlite_browse.search_page(self.conn, query, page)

    def count_where(self, query: Query, where: Filter | None) -> int:
        from . import sqlite_browse
        check_body(self.conn, query)
        return sqlite_browse.count_where(self.conn, query, where)

    def details(self, lidvids: Sequence[str]) -> dict[str, dict[str, Any]]:
        from . import sqlite_browse
        return sqlite_browse.details(self.conn, lidvids)

    def members_page(self, lidvid: str, start: int, limit: int, after: int | None = None) -> list[dict[str, Any]]:
        from . import sqlite_browse
        return sqlite_browse.members_page(self.conn, lidvid, start, limit, after)

    def count_members(self, lidvid: str) -> int:
        from . import sqlite_browse
        return sqlite_browse.count_members(self.conn, lidvid)

    def containers(self, ident: str) -> list[str]:
        from . import sqlite_browse
        return sqlite_browse.containers(self.conn, ident)

    def collection_groups(self) -> list[dict[str, Any]]:
        from . import sqlite_browse
        return sqlite_browse.collection_groups(self.conn)

    def file_by_digest(self, sha256: str) -> dict[str, Any]:
        from . import sqlite_browse
        return sqlite_browse.file_by_digest(self.conn, sha256)

    def layout(self, lidvid: str) -> dict[str, Any]:
        from . import sqlite_browse
        return sqlite_browse.layout(self.conn, lidvid)


class SqliteDigests:
    """What the committed catalogue holds, read over a read-only connection of its own: label digests by
    LIDVID and whether a LID is known (one query for both). Picklable, opening its connection on first use,
    so each ingest worker process gets its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._empty: bool | None = None
        """Whether the catalogue held no product at the first lookup. It stays so while the batch that looks
        up holds the write lock (nothing else commits meanwhile), so a first ingest asks nothing more."""

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_conn": None, "_empty": None}

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(Path(self.path).as_uri() + "?mode=ro", uri=True, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=30000")
        return self._conn

    def lookup(self, lid: str, vid: str) -> tuple[str | None, bool]:
        if self._empty is None:
            self._empty = self._c().execute("SELECT NOT EXISTS (SELECT 1 FROM products)").fetchone()[0] == 1
        if self._empty:
            return None, False
        rows = self._c().execute("SELECT vid, label_sha256 FROM products WHERE lid=?", (lid,)).fetchall()
        return next((str(sha) for v, sha in rows if v == vid), None), bool(rows)

    def catalogued_files(self, lidvid: str) -> list[CataloguedFile]:
        rows = self._c().execute("SELECT f.name, f.status, f.size, f.sha256, f.mtime_ns FROM files f JOIN products p"
                                 " ON p.id = f.product_id WHERE p.lidvid=?", (lidvid,)).fetchall()
        return [CataloguedFile(str(name), str(status), size, sha256, mtime)
                for name, status, size, sha256, mtime in rows]

    def close(self) -> None:
        self._empty = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _summary(row: tuple[Any, ...]) -> ProductRow:
    bbox = None if row[11] is None else [row[11], row[12], row[13], row[14]]
    return {
        "lidvid": row[1], "lid": row[2], "vid": row[3], "product_class": row[4], "title": row[5],
        "targets": json.loads(row[6]), "investigations": json.loads(row[7]),
        "instruments": json.loads(row[8]), "start": row[9], "stop": row[10], "bbox": bbox,
        "label_format": row[15], "processing_level": row[16], "instrument_hosts": json.loads(row[17]),
    }


def _class_names(names: list[str]) -> list[str]:
    out = []
    for n in names:
        low = n.strip().lower()
        out.append(low)
        if not low.startswith("product_") and low != "pds3":
            out.append("product_" + low)
    return out


def _fts_expr(text: str) -> str:
    """An FTS5 query for a user's ``--text``: its words must all appear (``OR`` between two words takes
    either, ``-word`` or ``NOT word`` leaves out what has it, ``word*`` matches words starting so, and
    ``"two words"`` is a phrase); every word is quoted, so no other character is FTS5 syntax."""
    text = text.replace("\x00", " ")  # SQLite ends a bound string at NUL: the quoted token would be left open
    terms: list[str] = []
    excluded: list[str] = []
    joiner, negate = " AND ", False
    for raw in _TEXT_TOKEN.findall(text):
        if raw in ("AND", "OR", "NOT"):
            joiner = " OR " if raw == "OR" else joiner
            negate = negate or raw == "NOT"
            continue
        if raw.startswith("-") and len(raw) > 1:
            raw, negate = raw[1:], True
        if raw.startswith('"'):  # a phrase, its closing quote possibly left out
            word, prefix = raw[1:-1] if len(raw) > 1 and raw.endswith('"') else raw[1:], False
        else:
            word, prefix = raw.rstrip("*"), raw.endswith("*")
        if not any(ch.isalnum() for ch in word):
            continue
        term = '"' + word.replace('"', '""') + '"' + ("*" if prefix else "")
        if negate:
            excluded.append(term)
        elif terms:
            terms.append(joiner + term)
        else:
            terms.append(term)
        joiner, negate = " AND ", False
    if not terms:
        if excluded:
            raise InvalidQuery("--text: give a word to search for, not only words to leave out")
        return '""'
    return "(" + "".join(terms) + ")" + "".join(" NOT " + t for t in excluded)


_WELL_FORMED_LID = re.compile(r"urn:[^:\s]+:[^:\s]+(:[^:\s]+)*", re.I)
"""A LID's shape as far as telling a typo from an unknown product goes: urn and at least two more fields,
none empty, no spaces."""

_TEXT_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
"""A phrase in double quotes (possibly unclosed, or excluded with a leading -) or a run of non-spaces."""


def _like(value: str) -> str:
    """``%value%`` for ``LIKE ... ESCAPE '\\'``: the user's ``%`` and ``_`` are letters, not wildcards."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_READ_ONLY = re.compile(r"readonly|read-only|unable to open", re.I)
"""SQLite's words for a catalogue on storage that cannot be written."""


def sqlite_failure(exc: sqlite3.Error, path: Path | str) -> CatalogError:
    """A CatalogError (one line, exit 5) for an SQLite failure on the catalogue at ``path``, naming its cause
    as a curator would act on it: locked by another process, a full disk, a damaged file."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return CatalogError(f"the catalogue {path} is locked by another process (an ingest still running?); "
                            "nothing was changed: try again when it is done")
    if "full" in low:
        return CatalogError(f"no space left on the device holding the catalogue {path} ({text}); nothing from "
                            "this run was stored")
    if "malformed" in low or "not a database" in low or "no such table" in low or "no such column" in low:
        return CatalogError(f"the catalogue {path} is damaged ({text}): restore it from a copy or a replica")
    return CatalogError(f"catalogue failure on {path}: {text}")


_GLOB_SPECIAL = re.compile(r"[*?[]")
_GLOB_SEPARATOR = re.compile(r"[ _]")


def _word_globs(value: str) -> tuple[str, str, str]:
    """GLOB patterns matching a name or id in which ``value`` begins a word: at its start or after a character
    that is no letter or digit, or where letters turn to digits or back (``Lunar Reconnaissance`` in
    ``LUNAR RECONNAISSANCE ORBITER``, ``lro.dlre`` in ``URN:...:INSTRUMENT:LRO.DLRE``, ``2020`` in
    ``MARS2020``; ``LUTI`` not in ``RESOLUTION``). A space and an underscore match each other (names write
    ``Lunar Reconnaissance``, LIDs ``lunar_reconnaissance``). A value that begins with punctuation
    (``.dlre``) is its own boundary. The first pattern is the plain substring one, a cheap filter."""
    text = " ".join(value.upper().split())
    before = "[^0-9]" if text[:1].isdigit() else "[^A-Z]" if "A" <= text[:1] <= "Z" else ""
    text = _GLOB_SPECIAL.sub(lambda m: f"[{m.group()}]", text)
    text = _GLOB_SEPARATOR.sub("[ _]", text)
    return f"*{text}*", f"{text}*", f"*{before}{text}*"


def _lower_lid(lidvid: str) -> str:
    """A LIDVID with its LID in lower case (the VID as given)."""
    lid, sep, vid = lidvid.partition("::")
    return lid.lower() + sep + vid


def _in(n: int) -> str:
    return ",".join("?" * n)


def _where(q: Query) -> tuple[str, list[Any]]:
    clauses, params = spatial_clauses(q)  # first: the R*Tree drives the query when there is one
    if q.targets:
        # Beside a spatial filter, a per-candidate lookup; alone, the term index drives.
        clauses.append(("EXISTS (SELECT 1 FROM product_terms t WHERE t.product_id = p.id AND"
                        " t.kind='target' AND t.value IN " if clauses else "p.id IN (SELECT product_id FROM"
                        " product_terms WHERE kind='target' AND value IN ") + f"({_in(len(q.targets))}))")
        params += [normalize_target(t) for t in q.targets]
    for kind, values in (("investigation", q.missions), ("instrument", q.instruments)):
        if values:
            # the plain substring pattern first: cheap, it leaves few terms for the word-start patterns
            globs = " OR ".join("(value GLOB ? AND (value GLOB ? OR value GLOB ?))" for _ in values)
            clauses.append(f"p.id IN (SELECT product_id FROM product_terms WHERE kind='{kind}' AND ({globs}))")
            params += [pattern for v in values for pattern in _word_globs(v)]
    if q.product_classes:
        # a class by its name (``Product_Context``, ``context``) or by words that begin its words (``spice``)
        names = _class_names(q.product_classes)
        globs = " OR ".join("(upper(p.product_class) GLOB ? AND (upper(p.product_class) GLOB ? OR "
                            "upper(p.product_class) GLOB ?))" for _ in q.product_classes)
        clauses.append(f"(lower(p.product_class) IN ({_in(len(names))}) OR {globs})")
        params += names + [pattern for v in q.product_classes for pattern in _word_globs(v)]
    # ids as given and in lower case (PDS ids are case-insensitive and written in lower case), as resolve does
    if q.lids:
        lids = list(dict.fromkeys(v for lid in q.lids for v in (lid, lid.lower())))
        clauses.append(f"p.lid IN ({_in(len(lids))})")
        params += lids
    if q.lidvids:
        lidvids = list(dict.fromkeys(v for lidvid in q.lidvids for v in (lidvid, _lower_lid(lidvid))))
        clauses.append(f"p.lidvid IN ({_in(len(lidvids))})")
        params += lidvids
    if q.start_utc:
        clauses.append("p.stop_utc >= ?")
        params.append(q.start_utc)
    if q.stop_utc:
        clauses.append("p.start_utc <= ?")
        params.append(q.stop_utc)
    if q.text:
        clauses.append("p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ?)")
        params.append(_fts_expr(q.text))
    if q.valid is not None:
        clauses.append(("NOT " if q.valid else "") + "EXISTS (SELECT 1 FROM findings f WHERE f.product_id = p.id"
                       " AND f.severity = 'error')")
    if q.latest_only:
        clauses.append("p.vid_key = (SELECT max(o.vid_key) FROM products o WHERE o.lid = p.lid)")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params
