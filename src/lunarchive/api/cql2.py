"""CQL2 Basic (JSON and text encodings) and the PDS API's ``q`` language, parsed into catalogue filters.

Both read the same filter tree (``catalog.base.Compare`` / ``Logical``) so the catalogue compiles one thing.
Property names are the STAC ones the queryables document lists (``ssys:targets``, ``pds:product_class``,
``datetime``...) or, for ``q``, the PDS registry names (``pds:Identification_Area.pds:title``, ``lid``...).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from ..bodies import resolve_body
from ..catalog.base import Compare, Filter, Logical
from ..errors import InvalidQuery

__all__ = ["PDS_FIELDS", "QUERYABLES", "in_int64", "parse_cql2", "parse_pds_q"]

QUERYABLES: dict[str, tuple[str, str, str]] = {
    "id": ("lidvid", "string", "The item id: the product's LIDVID"),
    "collection": ("collection", "string", "The parent collection's LID"),
    "title": ("title", "string", "The product's title"),
    "datetime": ("start", "string", "Start of the observation (compared as its start time)"),
    "start_datetime": ("start", "string", "Start of the observation"),
    "end_datetime": ("stop", "string", "End of the observation"),
    "ssys:targets": ("target", "string", "A target body (= means: one of the targets is)"),
    "instruments": ("instrument", "string", "An instrument or instrument host"),
    "mission": ("investigation", "string", "An investigation (mission)"),
    "pds:investigations": ("investigation", "string", "An investigation (mission)"),
    "pds:lidvid": ("lidvid", "string", "LIDVID"),
    "pds:lid": ("lid", "string", "LID"),
    "pds:vid": ("vid", "string", "VID, compared as a version (1.10 > 1.9)"),
    "pds:product_class": ("product_class", "string", "PDS4 product class (or PDS3)"),
    "pds:processing_level": ("processing_level", "string", "Processing level"),
    "pds:label_format": ("label_format", "string", "pds4, pds3 or other"),
    "pds:valid": ("valid", "boolean", "No validation error was found"),
}
"""STAC property → (filter field, JSON type, description)."""

PDS_FIELDS: dict[str, str] = {
    "lidvid": "lidvid", "lid": "lid", "vid": "vid", "title": "title", "product_class": "product_class",
    "pds:identification_area.pds:title": "title", "pds:identification_area.pds:logical_identifier": "lid",
    "pds:identification_area.pds:version_id": "vid", "pds:identification_area.pds:product_class": "product_class",
    "pds:time_coordinates.pds:start_date_time": "start", "pds:time_coordinates.pds:stop_date_time": "stop",
    "start_date_time": "start", "stop_date_time": "stop",
    "pds:primary_result_summary.pds:processing_level": "processing_level",
    "pds:target_identification.pds:name": "target", "target": "target", "ref_lid_target": "target",
    "pds:investigation_area.pds:name": "investigation", "ref_lid_investigation": "investigation",
    "pds:observing_system_component.pds:name": "instrument", "ref_lid_instrument": "instrument",
    "ref_lid_instrument_host": "instrument", "ops:provenance.ops:parent_collection_identifier": "collection",
    "lunarchive:valid": "valid", "lunarchive:label_format": "label_format",
}
"""PDS registry property (lower case, ``/`` read as ``.``) → filter field."""

_CQL_CMP = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _stac_field(name: str) -> str:
    key = name[len("properties."):] if name.startswith("properties.") else name
    if key not in QUERYABLES:
        raise InvalidQuery(f"unknown queryable {name!r}; see /queryables")
    return QUERYABLES[key][0]


def _literal(value: Any) -> Any:
    if isinstance(value, dict):
        for key in ("timestamp", "date"):
            if key in value and isinstance(value[key], str):
                return value[key]
        raise InvalidQuery(f"unsupported CQL2 literal {value!r}")
    if isinstance(value, str | int | float | bool):
        return _number_in_range(value)
    raise InvalidQuery(f"unsupported CQL2 literal {value!r}")


_INT64 = 1 << 63


def in_int64(value: int | float) -> bool:
    """Whether a number fits SQLite's 64-bit integers (a row id, a time, a literal it can compare)."""
    return -_INT64 <= value < _INT64


def _number_in_range(value: Any) -> Any:
    """``value``, or 400 for a number the catalogue cannot compare: an integer beyond 64 bits, a float that is
    not finite (``1e400``, NaN)."""
    if isinstance(value, int) and not isinstance(value, bool) and not in_int64(value):
        raise InvalidQuery(f"the number {str(value)[:30]}... is out of range (64-bit integers)")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidQuery(f"the number {value!r} is not finite")
    return value


MAX_DEPTH = 20
"""Levels of AND / OR / NOT a filter may nest (double negations and runs of one operator are flattened
first): SQLite's parser takes about 40."""
MAX_TERMS = 500
"""Comparisons and list values a filter may hold."""


def _checked(node: Filter) -> Filter:
    """``node`` with double negations dropped and nested runs of one operator merged, or 400 when it is
    still nested more than MAX_DEPTH levels or holds more than MAX_TERMS terms (never a server failure)."""
    terms = 0

    def walk(n: Filter, depth: int) -> Filter:
        nonlocal terms
        if isinstance(n, Compare):
            terms += len(n.value) if n.op == "in" and isinstance(n.value, tuple) else 1
            if terms > MAX_TERMS:
                raise InvalidQuery(f"the filter has more than {MAX_TERMS} terms")
            return n
        if depth > MAX_DEPTH:
            raise InvalidQuery(f"the filter is nested more than {MAX_DEPTH} levels deep")
        while n.op == "not" and isinstance(n.args[0], Logical) and n.args[0].op == "not":
            n = n.args[0].args[0]
            if isinstance(n, Compare):
                return walk(n, depth)
        if n.op == "not":
            return Logical("not", (walk(n.args[0], depth + 1),))
        flat: list[Filter] = []
        stack = list(reversed(n.args))
        while stack:
            a = stack.pop()
            if isinstance(a, Logical) and a.op == n.op:
                stack.extend(reversed(a.args))
            else:
                flat.append(walk(a, depth + 1))
        return Logical(n.op, tuple(flat))

    return walk(node, 0)


# ------------------------------------------------------------------------------------------ CQL2 JSON
def _json_node(node: Any, depth: int = 0) -> Filter:
    if depth > 200:  # deeper than any filter _checked lets through, however it flattens
        raise InvalidQuery("the filter is nested too deeply")
    if not isinstance(node, dict) or not isinstance(node.get("op"), str) or not isinstance(node.get("args"), list):
        raise InvalidQuery("a CQL2 JSON expression is an object with 'op' and 'args'")
    op, args = node["op"].lower(), node["args"]
    if op in ("and", "or"):
        if len(args) < 2:
            raise InvalidQuery(f"'{op}' needs at least two operands")
        return Logical(op, tuple(_json_node(a, depth + 1) for a in args))
    if op == "not":
        if len(args) != 1:
            raise InvalidQuery("'not' takes one operand")
        return Logical("not", (_json_node(args[0], depth + 1),))
    if not args or not isinstance(args[0], dict) or not isinstance(args[0].get("property"), str):
        raise InvalidQuery(f"'{op}': the first operand must be {{\"property\": ...}}")
    field = _stac_field(args[0]["property"])
    if op == "isnull" and len(args) == 1:
        return Compare(field, "isnull")
    if len(args) != 2:
        raise InvalidQuery(f"'{op}' takes two operands")
    if op == "in":
        if not isinstance(args[1], list) or not args[1]:
            raise InvalidQuery("'in' takes a non-empty list")
        return Compare(field, "in", tuple(_literal(v) for v in args[1]))
    if op == "like":
        return Compare(field, "like", _literal(args[1]))
    if op in _CQL_CMP:
        return Compare(field, _CQL_CMP[op], _literal(args[1]))
    raise InvalidQuery(f"unsupported CQL2 operator {node['op']!r}")


# ------------------------------------------------------------------------------------------ tokens
_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<dstr>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w:.])
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][\w:./-]*)
)""", re.X)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InvalidQuery(f"cannot read the filter at {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    """Precedence climbing over OR < AND < NOT; ``term`` reads one comparison."""

    def __init__(self, text: str, term: Callable[[_Parser], Filter]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.term_fn = term
        self.depth = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end":
            raise InvalidQuery("the filter ends too early")
        self.i += 1
        return tok

    def word(self, *words: str) -> bool:
        kind, value = self.peek()
        if kind == "word" and value.lower() in words:
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise InvalidQuery(f"expected {value!r} in the filter")

    def parse(self) -> Filter:
        node = self.or_()
        if self.peek()[0] != "end":
            raise InvalidQuery(f"unexpected {self.peek()[1]!r} in the filter")
        return node

    def or_(self) -> Filter:
        args = [self.and_()]
        while self.word("or"):
            args.append(self.and_())
        return args[0] if len(args) == 1 else Logical("or", tuple(args))

    def and_(self) -> Filter:
        args = [self.not_()]
        while self.word("and"):
            args.append(self.not_())
        return args[0] if len(args) == 1 else Logical("and", tuple(args))

    def not_(self) -> Filter:
        negations = 0
        while self.word("not"):  # a run of NOTs read in a loop: it is no recursion
            negations += 1
        if self.peek() == ("punct", "("):
            self.depth += 1
            if self.depth > 200:
                raise InvalidQuery("the filter is nested too deeply")
            self.take()
            node = self.or_()
            self.expect(")")
            self.depth -= 1
        else:
            node = self.term_fn(self)
        return Logical("not", (node,)) if negations % 2 else node


# ------------------------------------------------------------------------------------------ CQL2 text
def _text_literal(p: _Parser) -> Any:
    kind, value = p.take()
    if kind == "str":
        return value[1:-1].replace("''", "'")
    if kind == "num":
        if len(value) > 40:
            raise InvalidQuery(f"the number {value[:30]}... is out of range")
        return _number_in_range(float(value) if any(c in value for c in ".eE") else int(value))
    if kind == "word" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "word" and value.lower() in ("timestamp", "date"):
        p.expect("(")
        inner = _text_literal(p)
        p.expect(")")
        return inner
    raise InvalidQuery(f"expected a literal in the filter, got {value!r}")


def _text_term(p: _Parser) -> Filter:
    kind, name = p.take()
    if kind not in ("word", "dstr"):
        raise InvalidQuery(f"expected a property name in the filter, got {name!r}")
    field = _stac_field(json.loads(name) if kind == "dstr" else name)
    if p.word("is"):
        negate = p.word("not")
        if not p.word("null"):
            raise InvalidQuery("expected NULL after IS")
        node: Filter = Compare(field, "isnull")
        return Logical("not", (node,)) if negate else node
    negate = p.word("not")
    if p.word("like"):
        node = Compare(field, "like", _text_literal(p))
    elif p.word("in"):
        p.expect("(")
        values = [_text_literal(p)]
        while p.peek() == ("punct", ","):
            p.take()
            values.append(_text_literal(p))
        p.expect(")")
        node = Compare(field, "in", tuple(values))
    elif not negate and p.peek()[0] == "op":
        node = Compare(field, _CQL_CMP[p.take()[1]], _text_literal(p))
    else:
        raise InvalidQuery(f"expected a comparison after {name!r}")
    return Logical("not", (node,)) if negate else node


def parse_cql2(value: Any, lang: str | None) -> Filter:
    """A CQL2 filter: JSON (a dict, or a JSON string with ``lang`` cql2-json) or text (default for strings)."""
    lang = (lang or ("cql2-json" if isinstance(value, dict) else "cql2-text")).lower()
    if lang == "cql2-json":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise InvalidQuery(f"filter: not JSON ({exc})") from exc
        return _checked(_json_node(value))
    if lang == "cql2-text" and isinstance(value, str):
        return _checked(_Parser(value, _text_term).parse())
    if lang == "cql2-text":
        raise InvalidQuery("filter: a cql2-text filter is a string; give filter-lang cql2-json with a JSON filter")
    raise InvalidQuery(f"filter-lang {lang!r} is not supported; use cql2-json or cql2-text")


# ------------------------------------------------------------------------------------------ PDS q
_PDS_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _pds_value(p: _Parser, field: str) -> Any:
    kind, value = p.take()
    if kind == "dstr":
        text = json.loads(value)
    elif kind in ("num", "word"):
        text = value
    else:
        raise InvalidQuery(f"expected a quoted value in q, got {value!r}")
    if field == "target" and isinstance(text, str) and text.lower().startswith("urn:"):
        return resolve_body(text).name
    return text


def _pds_term(p: _Parser) -> Filter:
    kind, name = p.take()
    if kind != "word":
        raise InvalidQuery(f"expected a property name in q, got {name!r}")
    key = name.replace("/", ".").lower()
    if key not in PDS_FIELDS:
        raise InvalidQuery(f"q: unknown property {name!r}")
    field = PDS_FIELDS[key]
    if p.word("exists"):
        return Logical("not", (Compare(field, "isnull"),))
    op_kind, op = p.take()
    if op_kind == "word" and op.lower() == "like":
        pattern = str(_pds_value(p, field))
        return Compare(field, "ilike", pattern.replace("*", "%").replace("?", "_"))  # ignoring case
    if op_kind != "word" or op.lower() not in _PDS_OPS:
        raise InvalidQuery(f"q: expected eq, ne, gt, ge, lt, le, like or exists after {name!r}")
    return Compare(field, _PDS_OPS[op.lower()], _pds_value(p, field))


def parse_pds_q(text: str) -> Filter:
    """The PDS Search API's ``q`` (``title like "*moon*" and (vid ge "2.0")``) as a filter."""
    return _checked(_Parser(text, _pds_term).parse())
