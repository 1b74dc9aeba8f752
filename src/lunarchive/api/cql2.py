"""CQL2 Basic (JSON and text encodings) and the PDS API's ``q`` language, parsed into catalogue filters.

Both read the same filter tree (``catalog.base.Compare`` / ``Logical``) so the catalogue compiles one thing.
Property names are the STAC ones the queryables document lists (``ssys:targets``, ``pds:product_class``,
``datetime``...) or, for ``q``, the PDS registry names (``pds:Identification_Area.pds:title``, ``lid``...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..bodies import resolve_body
from ..catalog.base import Compare, Filter, Logical
from ..errors import InvalidQuery

__all__ = ["PDS_FIELDS", "QUERYABLES", "parse_cql2", "parse_pds_q"]

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
        return value
    raise InvalidQuery(f"unsupported CQL2 literal {value!r}")


# ------------------------------------------------------------------------------------------ CQL2 JSON
def _json_node(node: Any, depth: int = 0) -> Filter:
    if depth > 50:
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
        if self.word("not"):
            return Logical("not", (self.not_(),))
        if self.peek() == ("punct", "("):
            self.depth += 1
            if self.depth > 50:
                raise InvalidQuery("the filter is nested too deeply")
            self.take()
            node = self.or_()
            self.expect(")")
            self.depth -= 1
            return node
        return self.term_fn(self)


# ------------------------------------------------------------------------------------------ CQL2 text
def _text_literal(p: _Parser) -> Any:
    kind, value = p.take()
    if kind == "str":
        return value[1:-1].replace("''", "'")
    if kind == "num":
        return float(value) if any(c in value for c in ".eE") else int(value)
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
        return _json_node(value)
    if lang == "cql2-text" and isinstance(value, str):
        return _Parser(value, _text_term).parse()
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
        return Compare(field, "like", pattern.replace("*", "%").replace("?", "_"))
    if op_kind != "word" or op.lower() not in _PDS_OPS:
        raise InvalidQuery(f"q: expected eq, ne, gt, ge, lt, le, like or exists after {name!r}")
    return Compare(field, _PDS_OPS[op.lower()], _pds_value(p, field))


def parse_pds_q(text: str) -> Filter:
    """The PDS Search API's ``q`` (``title like "*moon*" and (vid ge "2.0")``) as a filter."""
    return _Parser(text, _pds_term).parse()
