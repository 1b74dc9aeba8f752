"""The browsing reads of SqliteCatalog (keyset pages, property filters, members, collections, files).

Kept apart from ``sqlite.py`` so that module stays about writing and the core search; every function takes
the open connection and is called by a one-line ``SqliteCatalog`` method.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from ..bodies import normalize_target
from ..errors import InvalidIdentifier, InvalidQuery, NotFound
from ..model import split_lidvid
from ..query import Query
from ..times import normalize_utc
from .base import FILTER_FIELDS, Compare, Filter, Page, ProductRow
from .sqlite import SUMMARY_COLUMNS, _class_names, _summary, _where, vid_key

__all__ = [
    "PARENT_SQL",
    "collection_groups",
    "containers",
    "count_members",
    "count_where",
    "details",
    "file_by_digest",
    "layout",
    "members_page",
    "search_page",
]

_COLLECTIONS = "('Product_Bundle', 'Product_Collection')"
_DROP_LAST = "substr({c}, 1, length(rtrim({c}, replace({c}, ':', ''))) - 1)"
_KIND = "substr({c}, 1, 14 + instr(substr({c}, 16), ':'))"
PARENT_SQL = (
    "coalesce((SELECT c.lid FROM members m JOIN products c ON c.id = m.product_id"
    " WHERE m.ref_lid = p.lid AND (m.kind = 'lid' OR m.ref = p.lidvid) AND c.product_class = 'Product_Collection'"
    " ORDER BY m.status = 'P' DESC, c.lid LIMIT 1),"
    " CASE WHEN p.label_format <> 'pds4' AND p.lid LIKE 'urn:lunarchive:%:%' THEN " + _KIND.format(c="p.lid") +
    " ELSE " + _DROP_LAST.format(c="p.lid") + " END)"
)
"""A product's parent collection: the collection whose inventory lists it (Primary first), else its LID
minus the last field; a non-PDS4 input (``urn:lunarchive:<kind>:...``) belongs to ``urn:lunarchive:<kind>``."""

_NULL_HIGH = "\U0010ffff"
_KEYS: dict[str, tuple[str, ...]] = {
    "ingested": ("p.id",),
    "lidvid": ("p.lid", "p.vid_key", "p.id"),
    "start": ("coalesce(p.start_utc, ?)", "p.id"),
    "stop": ("coalesce(p.stop_utc, ?)", "p.id"),
    "title": ("coalesce(p.title, ?)", "p.id"),
}
_COLUMNS = {
    "lidvid": "p.lidvid", "lid": "p.lid", "vid": "p.vid_key", "title": "p.title",
    "product_class": "lower(p.product_class)", "processing_level": "p.processing_level",
    "label_format": "p.label_format", "start": "p.start_utc", "stop": "p.stop_utc",
}
_SQL_OPS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


# ------------------------------------------------------------------------------------------ filters
def _value(field: str, value: Any) -> Any:
    """A filter value in the form its column stores."""
    kind = FILTER_FIELDS[field]
    if kind == "time":
        utc = normalize_utc(str(value))
        if utc is None:
            raise InvalidQuery(f"{field}: not a time: {value!r}")
        return utc
    if kind == "version":
        try:
            return vid_key(str(value))
        except InvalidIdentifier as exc:
            raise InvalidQuery(f"{field}: {exc.message}") from exc
    if field == "target":
        return normalize_target(str(value))
    if field in ("investigation", "instrument"):
        return str(value).strip().upper()
    if field == "product_class":
        return str(value).strip().lower()
    return value


def _terms(kind: str, cond: str) -> str:
    """``p`` has a term of ``kind`` meeting ``cond``: the terms are looked at once, by the (kind, value) index
    (a correlated EXISTS made SQLite scan every term of the kind once per product: 20 s for a LIKE)."""
    return f"p.id IN (SELECT t.product_id FROM product_terms t WHERE t.kind = '{kind}'{cond})"


def _collection_sql(ids: list[str], params: list[Any]) -> str:
    """``p`` belongs to one of the collections ``ids``: narrow by index (inventory members, LID range), then
    check the parent exactly."""
    marks = ",".join("?" * len(ids))
    ranges = " OR ".join("(p.lid > ? AND p.lid < ?)" for _ in ids)
    params += ids
    for cid in ids:
        params += [cid + ":", cid + ";"]
    params += ids
    return (f"((p.id IN (SELECT q.id FROM products c JOIN members m ON m.product_id = c.id JOIN products q"
            f" ON q.lid = m.ref_lid WHERE c.lid IN ({marks}) AND c.product_class = 'Product_Collection')"
            f" OR {ranges}) AND {PARENT_SQL} IN ({marks}))")


def _compare_sql(f: Compare, params: list[Any]) -> str:
    kind = FILTER_FIELDS[f.field]
    if f.field == "valid":
        errors = "EXISTS (SELECT 1 FROM findings e WHERE e.product_id = p.id AND e.severity = 'error')"
        if f.op == "isnull":
            return "0"
        if isinstance(f.value, str) and f.value.strip().lower() not in ("true", "false", "1", "0"):
            raise InvalidQuery(f"valid: expected true or false, got {f.value[:40]!r}")
        want_valid = bool(f.value) if not isinstance(f.value, str) else f.value.strip().lower() in ("true", "1")
        return f"NOT {errors}" if want_valid == (f.op == "=") else errors
    values = [_value(f.field, v) for v in f.value] if f.op == "in" else \
        [] if f.op == "isnull" else [_value(f.field, f.value)]
    if f.field == "collection":
        if f.op not in ("=", "in"):
            raise InvalidQuery("collection: only = and in are supported")
        return _collection_sql([str(v) for v in values], params)
    if f.field == "product_class" and f.op in ("=", "<>", "in"):
        names = _class_names([str(v) for v in values])
        params += names
        return f"{'NOT ' if f.op == '<>' else ''}lower(p.product_class) IN ({','.join('?' * len(names))})"
    if kind == "set":
        term = f.field
        if f.op == "isnull":
            return "NOT " + _terms(term, "")
        params += values
        if f.op == "in":
            return _terms(term, f" AND t.value IN ({','.join('?' * len(values))})")
        if f.op in ("like", "ilike"):  # the values are kept in upper case: case cannot be told
            return _terms(term, " AND t.value LIKE ?")
        return ("NOT " if f.op == "<>" else "") + _terms(term, " AND t.value = ?")
    col = _COLUMNS[f.field]
    if f.op == "isnull":
        return f"{col} IS NULL"
    params += values
    if f.op == "in":
        return f"{col} IN ({','.join('?' * len(values))})"
    if f.op == "like":  # case-sensitive, as CQL2 says (SQLite's LIKE ignores the case of ASCII letters)
        params[-1] = like_to_glob(str(params[-1]))
        return f"{col} GLOB ?"
    if f.op == "ilike":
        return f"{col} LIKE ?"
    return f"{col} {_SQL_OPS[f.op]} ?"


def like_to_glob(pattern: str) -> str:
    """A CQL2 LIKE pattern (``%`` any run, ``_`` one character, ``\\`` escaping either) as a GLOB pattern."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
            out.append(f"[{c}]" if c in "*?[" else c)
        elif c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        else:
            out.append(f"[{c}]" if c in "*?[" else c)
        i += 1
    return "".join(out)


def filter_sql(f: Filter, params: list[Any]) -> str:
    """SQL for a filter tree over ``products p`` (parameters appended to ``params``)."""
    if isinstance(f, Compare):
        return "(" + _compare_sql(f, params) + ")"
    parts = [filter_sql(a, params) for a in f.args]
    if f.op == "not":
        return f"(NOT {parts[0]})"
    return "(" + f" {f.op.upper()} ".join(parts) + ")"


def _full_where(query: Query, where: Filter | None) -> tuple[str, list[Any]]:
    sql, params = _where(query)
    clauses = [sql[len("WHERE "):]] if sql else []
    if where is not None:
        clauses.append(filter_sql(where, params))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


# ------------------------------------------------------------------------------------------ pages
def search_page(conn: sqlite3.Connection, query: Query, page: Page) -> list[ProductRow]:
    where, params = _full_where(query, page.where)
    keys = _KEYS[page.sort]
    sentinel = "" if page.descending else _NULL_HIGH
    key_params = [sentinel] if "?" in keys[0] else []
    direction = "DESC" if page.descending else "ASC"
    clauses = [where] if where else []
    if page.after is not None:
        if len(page.after) != len(keys) or not all(isinstance(v, str | int | float) for v in page.after):
            raise InvalidQuery("the paging token does not fit this sort order")
        tuple_sql = "(" + ", ".join(keys) + ")"
        cmp = "<" if page.descending else ">"
        clauses.append(("AND " if where else "WHERE ") + f"{tuple_sql} {cmp} ({', '.join('?' * len(keys))})")
        params += key_params + list(page.after)
    order = ", ".join(f"{k} {direction}" for k in keys)
    sql = (f"SELECT {SUMMARY_COLUMNS}, p.start_utc, p.stop_utc, {', '.join(keys)} FROM products p"
           f" {' '.join(clauses)} ORDER BY {order} LIMIT ? OFFSET ?")
    all_params = key_params + params + key_params + [page.limit, page.offset]
    out = []
    n = len(SUMMARY_COLUMNS.split(","))
    for row in _query(conn, sql, all_params):
        summary = _summary(row)
        summary["start_utc"], summary["stop_utc"] = row[n], row[n + 1]
        summary["_key"] = list(row[-len(keys):])
        out.append(summary)
    return out


def count_where(conn: sqlite3.Connection, query: Query, where: Filter | None) -> int:
    sql, params = _full_where(query, where)
    return int(_query(conn, f"SELECT count(*) FROM products p {sql}", params)[0][0])


_TOO_COMPLEX = ("parser stack overflow", "expression tree is too large", "too many sql variables", "too many terms",
                "pattern too complex", "string or blob too big")


QUERY_SECONDS = 30.0
"""How long one search may run: a client that has gone away must not keep a core busy."""


def _query(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """The rows of a search; a query SQLite cannot take (too deep, too many values), or one that runs longer
    than QUERY_SECONDS (it is interrupted), is the client's error."""
    deadline = time.monotonic() + QUERY_SECONDS
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 100_000)
    try:
        return conn.execute(sql, params).fetchall()
    except OverflowError:
        raise InvalidQuery("a number in the query is out of range (64-bit integers)") from None
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc).lower():
            raise InvalidQuery(f"the search ran longer than {QUERY_SECONDS:.0f} s and was stopped; narrow it") \
                from None
        if any(text in str(exc).lower() for text in _TOO_COMPLEX):
            raise InvalidQuery(f"the query is too large or too deeply nested for this server ({exc})") from None
        raise
    finally:
        conn.set_progress_handler(None, 0)


# ------------------------------------------------------------------------------------------ details
def details(conn: sqlite3.Connection, lidvids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not lidvids:
        return {}
    marks = ",".join("?" * len(lidvids))
    rows = conn.execute(
        f"SELECT p.id, p.lidvid, p.label_name, p.label_sha256, coalesce(l.size, length(l.data)), p.ingested_at,"
        f" {PARENT_SQL}"
        f" FROM products p LEFT JOIN labels l ON l.sha256 = p.label_sha256 WHERE p.lidvid IN ({marks})",
        list(lidvids)).fetchall()
    by_id: dict[int, dict[str, Any]] = {}
    for pid, lidvid, name, sha, size, ingested, parent in rows:
        by_id[pid] = {"lidvid": lidvid, "label": {"name": name, "sha256": sha, "size": size},
                      "ingested_at": ingested, "collection": parent, "files": [], "footprint": None,
                      "errors": 0, "warnings": 0}
    ids = list(by_id)
    id_marks = ",".join("?" * len(ids))
    for pid, *rest in conn.execute(
            f"SELECT product_id, name, role, sha256, size, md5, status, declared_md5 FROM files"
            f" WHERE product_id IN ({id_marks}) ORDER BY id", ids):
        by_id[pid]["files"].append(dict(zip(("name", "role", "sha256", "size", "md5", "status", "declared_md5"),
                                            rest, strict=True)))
    for pid, geojson, body, crs, source in conn.execute(
            f"SELECT f.product_id, f.geojson, b.name, b.crs, f.source FROM footprints f"
            f" JOIN footprint_bodies b ON b.id = f.body_id WHERE f.product_id IN ({id_marks})", ids):
        by_id[pid]["footprint"] = {"geometry": json.loads(geojson), "body": body, "crs": crs, "source": source}
    for pid, severity, n in conn.execute(
            f"SELECT product_id, severity, count(*) FROM findings WHERE product_id IN ({id_marks})"
            " GROUP BY product_id, severity", ids):
        if severity in ("error", "warning"):
            by_id[pid][severity + "s"] = n
    return {d["lidvid"]: d for d in by_id.values()}


# ------------------------------------------------------------------------------------------ members
_RESOLVED = (
    "CASE WHEN m.kind = 'lidvid' THEN (SELECT q.lidvid FROM products q WHERE q.lidvid = m.ref)"
    " ELSE (SELECT q.lidvid FROM products q WHERE q.lid = m.ref_lid ORDER BY q.vid_key DESC LIMIT 1) END"
)


def members_page(conn: sqlite3.Connection, lidvid: str, start: int, limit: int,
                 after: int | None = None) -> list[dict[str, Any]]:
    names = ("ref", "status", "kind", "member_type", "lidvid", "_pos")
    keyset = "" if after is None else " AND m.rowid > ?"
    params: list[Any] = [lidvid] + ([] if after is None else [after]) + [limit, 0 if after is not None else start]
    cur = conn.execute(
        f"SELECT m.ref, m.status, m.kind, m.member_type, {_RESOLVED}, m.rowid FROM members m"
        f" WHERE m.product_id = (SELECT id FROM products WHERE lidvid = ?){keyset} ORDER BY m.rowid LIMIT ? OFFSET ?",
        params)
    return [dict(zip(names, r, strict=True)) for r in cur]


def count_members(conn: sqlite3.Connection, lidvid: str) -> int:
    row = conn.execute("SELECT count(*) FROM members WHERE product_id = (SELECT id FROM products WHERE lidvid = ?)",
                       (lidvid,)).fetchone()
    return int(row[0])


def containers(conn: sqlite3.Connection, ident: str) -> list[str]:
    lid, vid = split_lidvid(ident)
    cond = "" if vid is None else " AND (m.kind = 'lid' OR m.ref = ?)"
    params = [lid] if vid is None else [lid, ident]
    cur = conn.execute(
        "SELECT DISTINCT c.lidvid, c.lid, c.vid_key FROM members m JOIN products c ON c.id = m.product_id"
        f" WHERE m.ref_lid = ?{cond} ORDER BY c.lid, c.vid_key", params)
    return [r[0] for r in cur]


# ------------------------------------------------------------------------------------------ collections
def collection_groups(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    cur = conn.execute(
        "SELECT p.lid, p.lidvid, p.product_class, p.title, p.start_utc, p.stop_utc, p.bbox_west, p.bbox_south,"
        f" p.bbox_east, p.bbox_north FROM products p WHERE p.product_class IN {_COLLECTIONS}"
        " AND p.vid_key = (SELECT max(o.vid_key) FROM products o WHERE o.lid = p.lid)")  # sorted below
    for lid, lidvid, cls, title, start, stop, w, s, e, n in cur:
        groups[lid] = {"id": lid, "kind": "bundle" if cls == "Product_Bundle" else "collection", "lidvid": lidvid,
                       "title": title, "start": start, "stop": stop, "bbox": None if w is None else [w, s, e, n]}
    for cid, other in _prefix_groups(conn, groups):
        groups[cid] = {"id": cid, "kind": "kind" if other else "derived", "lidvid": None, "title": None,
                       "start": None, "stop": None, "bbox": None}
    return sorted(groups.values(), key=lambda g: str(g["id"]))


def _prefix_of(lid: str, label_format: str) -> str:
    """The group a product falls in when no inventory lists it (the rule of PARENT_SQL, in Python)."""
    if label_format != "pds4" and lid.startswith("urn:lunarchive:") and lid.count(":") >= 3:
        return lid[:lid.index(":", len("urn:lunarchive:"))]
    return lid.rpartition(":")[0]


def _prefix_groups(conn: sqlite3.Connection, known: dict[str, Any]) -> list[tuple[str, bool]]:
    """Groups of products whose collection is not catalogued, found by skipping through the LID index one
    group at a time (LIDs sharing a prefix sort together), each confirmed by one product whose parent it is."""
    out: list[tuple[str, bool]] = []
    after = ""
    for _ in range(10_000_000):
        row = conn.execute("SELECT lid, label_format, product_class FROM products WHERE lid > ? ORDER BY lid LIMIT 1",
                           (after,)).fetchone()
        if row is None:
            break
        lid, fmt, cls = row
        prefix = _prefix_of(lid, fmt)
        if cls in ("Product_Bundle", "Product_Collection") or not prefix:
            after = lid
            continue
        if prefix not in known and conn.execute(
                f"SELECT 1 FROM products p WHERE p.lid > ? AND p.lid < ? AND p.product_class NOT IN {_COLLECTIONS}"
                f" AND {PARENT_SQL} = ? LIMIT 1", (prefix + ":", prefix + ";", prefix)).fetchone():
            out.append((prefix, fmt != "pds4" and prefix.startswith("urn:lunarchive:")))
        after = prefix + ";"
    return out


# ------------------------------------------------------------------------------------------ files
def file_by_digest(conn: sqlite3.Connection, sha256: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT f.name, f.size, f.md5, f.sha256, p.lidvid FROM files f JOIN products p ON p.id = f.product_id"
        " WHERE f.sha256 = ? AND f.status = 'ok' ORDER BY f.id LIMIT 1", (sha256,)).fetchone()
    if row is None:
        raise NotFound(f"no catalogued file has sha256 {sha256}")
    return dict(zip(("name", "size", "md5", "sha256", "lidvid"), row, strict=True))


def layout(conn: sqlite3.Connection, lidvid: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT id, lidvid, lid, product_class, label_format, source_path, label_name, label_sha256 FROM products"
        " WHERE lidvid = ?", (lidvid,)).fetchone()
    if row is None:
        raise NotFound(f"no product {lidvid}")
    out = dict(zip(("lidvid", "lid", "product_class", "label_format", "source_path", "label_name", "label_sha256"),
                   row[1:], strict=True))
    cur = conn.execute("SELECT name, role, sha256, size, md5, status FROM files WHERE product_id = ? ORDER BY id",
                       (row[0],))
    out["files"] = [dict(zip(("name", "role", "sha256", "size", "md5", "status"), r, strict=True)) for r in cur]
    return out
