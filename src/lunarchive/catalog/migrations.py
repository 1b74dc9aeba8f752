"""Schema migrations for the SQLite catalogue: small named functions, applied once, recorded in a table.

A new migration is a new function appended to ``MIGRATIONS``; a released one is never edited.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from ..errors import CatalogError

__all__ = ["MIGRATIONS", "apply_migrations"]

Migration = Callable[[sqlite3.Connection], None]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL inside the caller's transaction (``executescript`` would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def m0001_initial(conn: sqlite3.Connection) -> None:
    """Products, their files, references, collection members, findings and ingest batches."""
    run_script(
        conn,
        """
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            sources TEXT NOT NULL,
            added INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            new_versions INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            data BLOB NOT NULL
        );
        CREATE TABLE products (
            id INTEGER PRIMARY KEY,
            lidvid TEXT NOT NULL UNIQUE,
            lid TEXT NOT NULL,
            vid TEXT NOT NULL,
            vid_key TEXT NOT NULL,
            product_class TEXT NOT NULL,
            title TEXT,
            start TEXT,
            stop TEXT,
            start_utc TEXT,
            stop_utc TEXT,
            processing_level TEXT,
            information_model_version TEXT,
            label_format TEXT NOT NULL,
            label_name TEXT,
            label_sha256 TEXT REFERENCES labels(sha256),
            source_path TEXT,
            targets TEXT NOT NULL DEFAULT '[]',
            investigations TEXT NOT NULL DEFAULT '[]',
            instruments TEXT NOT NULL DEFAULT '[]',
            instrument_hosts TEXT NOT NULL DEFAULT '[]',
            bbox_west REAL, bbox_south REAL, bbox_east REAL, bbox_north REAL,
            extra TEXT NOT NULL DEFAULT '{}',
            discipline TEXT NOT NULL DEFAULT '{}',
            batch_id INTEGER NOT NULL REFERENCES batches(id),
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX products_lid ON products(lid, vid_key);
        CREATE INDEX products_class ON products(product_class);
        CREATE INDEX products_start ON products(start_utc);
        CREATE INDEX products_stop ON products(stop_utc);
        CREATE TABLE product_terms (
            product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            value TEXT NOT NULL
        );
        CREATE INDEX product_terms_kv ON product_terms(kind, value, product_id);
        CREATE INDEX product_terms_p ON product_terms(product_id);
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            declared_size INTEGER,
            declared_md5 TEXT,
            records INTEGER,
            local_identifier TEXT,
            sha256 TEXT,
            size INTEGER,
            md5 TEXT,
            status TEXT NOT NULL
        );
        CREATE INDEX files_product ON files(product_id);
        CREATE INDEX files_sha ON files(sha256);
        CREATE TABLE refs (
            product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
            target TEXT NOT NULL,
            target_lid TEXT NOT NULL,
            ref_type TEXT NOT NULL,
            kind TEXT NOT NULL,
            comment TEXT
        );
        CREATE INDEX refs_product ON refs(product_id);
        CREATE INDEX refs_target ON refs(target_lid);
        CREATE TABLE members (
            product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
            ref TEXT NOT NULL,
            ref_lid TEXT NOT NULL,
            status TEXT NOT NULL,
            kind TEXT NOT NULL,
            member_type TEXT
        );
        CREATE INDEX members_product ON members(product_id);
        CREATE INDEX members_ref ON members(ref_lid);
        CREATE TABLE findings (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER REFERENCES batches(id),
            product_id INTEGER REFERENCES products(id) ON DELETE CASCADE,
            lidvid TEXT,
            path TEXT NOT NULL,
            message_id TEXT NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL,
            line INTEGER
        );
        CREATE INDEX findings_product ON findings(product_id);
        CREATE INDEX findings_message ON findings(message_id);
        CREATE VIRTUAL TABLE products_fts USING fts5(title, ids);
        """
    )


def m0002_footprints(conn: sqlite3.Connection) -> None:
    """Footprints: bodies, one GeoJSON footprint per product, the R*Tree over their parts; then index the
    footprints of products catalogued before this migration."""
    from .spatial import SCHEMA, backfill

    run_script(conn, SCHEMA)
    backfill(conn)


def m0003_label_codec(conn: sqlite3.Connection) -> None:
    """Labels may be kept compressed: ``codec`` says how (NULL: as read; ``lz4``: one LZ4 frame) and
    ``size`` gives the label's own length (NULL: the length of ``data``)."""
    run_script(conn, "ALTER TABLE labels ADD COLUMN codec TEXT; ALTER TABLE labels ADD COLUMN size INTEGER")


def m0004_context_terms(conn: sqlite3.Connection) -> None:
    """Search terms from the context products a product references (its investigation, instruments and host,
    by LID) and its hosts' names and ids as mission terms, as ingest now writes them, for the products
    catalogued before."""
    from .rows import context_terms

    rows = conn.execute("SELECT product_id, target FROM refs WHERE target_lid LIKE '%:context:%'").fetchall()
    by_product: dict[int, list[str]] = {}
    for pid, target in rows:
        by_product.setdefault(pid, []).append(target)
    conn.executemany("INSERT INTO product_terms VALUES (?,?,?)",
                     [(pid, kind, value) for pid, targets in by_product.items()
                      for kind, value in context_terms(targets)])
    conn.execute("INSERT INTO product_terms SELECT p.id, 'investigation', upper(h.value) "
                 "FROM products p, json_each(p.instrument_hosts) h")


def m0005_target_and_own_terms(conn: sqlite3.Connection) -> None:
    """Search terms ingest now writes that older catalogues lack or hold wrongly: the target terms as
    ``target_terms`` gives them (a provisional designation such as ``1999 RQ36`` kept whole, a numbered minor
    planet's number beside its name, the target types the label gives), the targets a product references by
    LID (``--target urn:...:satellite.earth.moon``, and ``--target moon`` for a mission that only references
    it), and a context product's own LID as a term of its kind (``--instrument xrfs.a15c``)."""
    import json

    from .rows import context_terms, target_terms

    conn.execute("DELETE FROM product_terms WHERE kind = 'target'")
    refs: dict[int, list[str]] = {}
    for pid, target in conn.execute("SELECT product_id, target FROM refs WHERE target_lid LIKE '%:context:%'"):
        refs.setdefault(pid, []).append(target)
    rows: list[tuple[int, str, str]] = []
    for pid, lid, product_class, targets, extra in conn.execute(
            "SELECT id, lid, product_class, targets, extra FROM products"):
        names = [t for t in json.loads(targets or "[]") if isinstance(t, str)]
        terms = target_terms(names, json.loads(extra or "{}").get("target_types"))
        own = [lid] if product_class == "Product_Context" else []
        if own or pid in refs:
            held = set(conn.execute("SELECT kind, value FROM product_terms WHERE product_id = ?", (pid,)).fetchall())
            terms += context_terms([*own, *refs.get(pid, [])], held | set(terms))
        rows += [(pid, kind, value) for kind, value in terms]
        if len(rows) >= 50_000:  # a big catalogue's terms are inserted as they are made, not all kept first
            conn.executemany("INSERT INTO product_terms VALUES (?,?,?)", rows)
            rows = []
    conn.executemany("INSERT INTO product_terms VALUES (?,?,?)", rows)


def m0006_file_mtimes(conn: sqlite3.Connection) -> None:
    """Each stored file's modification time (ns) when it was measured, so that a re-delivered file of the same
    size is hashed again only when it has been touched since (NULL in older rows: never hashed again)."""
    conn.execute("ALTER TABLE files ADD COLUMN mtime_ns INTEGER")


def m0007_comet_discoverer_terms(conn: sqlite3.Connection) -> None:
    """Target terms ingest now writes for a comet with a hyphenated name: each discoverer's name
    (``--target churyumov`` finds ``67P/CHURYUMOV-GERASIMENKO 1 (1969 R1)``)."""
    import json

    from .rows import target_terms

    rows: list[tuple[int, str, str]] = []
    for pid, targets in conn.execute("SELECT id, targets FROM products WHERE targets LIKE '%-%'"):
        names = [t for t in json.loads(targets or "[]") if isinstance(t, str)]
        held = {v for (v,) in conn.execute("SELECT value FROM product_terms WHERE product_id = ? AND kind = 'target'",
                                           (pid,))}
        rows += [(pid, kind, value) for kind, value in target_terms(names) if value not in held]
    conn.executemany("INSERT INTO product_terms VALUES (?,?,?)", rows)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_initial", m0001_initial),
    ("0002_footprints", m0002_footprints),
    ("0003_label_codec", m0003_label_codec),
    ("0004_context_terms", m0004_context_terms),
    ("0005_target_and_own_terms", m0005_target_and_own_terms),
    ("0006_file_mtimes", m0006_file_mtimes),
    ("0007_comet_discoverer_terms", m0007_comet_discoverer_terms),
]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; return the names applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    known = {name for name, _ in MIGRATIONS}
    unknown = done - known
    if unknown:
        raise CatalogError(
            f"catalogue was written by a newer lunarchive (migrations {', '.join(sorted(unknown))}); upgrade"
        )
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                conn.execute("COMMIT")  # another process (a second first ingest) applied it meanwhile
                continue
            fn(conn)
            conn.execute(
                "INSERT INTO _migrations VALUES (?, ?)", (name, datetime.now(UTC).isoformat(timespec="seconds"))
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite has rolled back already after some failures (a full disk)
                conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
