"""PDS3 ODL labels: the label part of a file, the pvl reference reader and a fast reader.

Three pieces, shared by :mod:`lunarchive.formats.pds3` and its tests:

``label_text(path)``
    The label part of a file as text: everything up to and including the ``END`` statement, read in chunks,
    so an attached label at the head of a 100 MB image costs one small read. Both readers parse this text.

``loads_pvl(text)``
    The reference reader: pvl's permissive ``OmniParser`` (the strict ``PDSGrammar`` rejects 6 of the 16
    corpus labels: unquoted ``-``/``/`` in values, microsecond times) with one change: date/time values are
    left as the text the label writes (``2015-170T16:15:46.345`` stays a string), so nothing is reformatted.
    pvl's tokens are budgeted, because OmniParser never returns on some malformed labels.

``loads_fast(text)``
    A regex tokenizer plus a small recursive-descent parser that produces exactly what ``loads_pvl`` produces
    for the usual shape of PDS3 labels. Whenever it meets something whose pvl reading is subtle (empty
    values, unbalanced blocks, stray reserved characters, ``#`` comments next to non-decimal numbers...)
    it raises :class:`Unsupported` and :func:`loads` falls back to pvl, so the result is always pvl's.

The plain form (``to_plain``) is JSON-able: blocks (OBJECT/GROUP) become dicts; a keyword repeated in one
block becomes a list of its values in label order (``{"COLUMN": [{...}, {...}]}``); a value with units
becomes ``{"value": v, "units": "DEG"}``; a sequence becomes a list; a set becomes a sorted list; NULL is
None, TRUE/FALSE are booleans; non-finite floats become the strings ``nan``/``inf``/``-inf``.
"""

from __future__ import annotations

import functools
import json
import math
import re
import warnings
from collections import namedtuple
from datetime import date, time
from pathlib import Path
from typing import Any

from ..errors import FormatError
from .files import open_regular

__all__ = [
    "MAX_LABEL_BYTES",
    "detached_label",
    "Label",
    "Unsupported",
    "label_bytes",
    "label_text",
    "loads",
    "loads_fast",
    "loads_pvl",
    "to_plain",
]

MAX_LABEL_BYTES = 16 * 1024 * 1024
"""A file whose first 16 MiB hold no END statement is not read as a PDS3 label."""
_CHUNK = 64 * 1024

# ------------------------------------------------------------------------------------------- label part
# One match from the start of the data: skip quoted strings, comments and every line that is not END (an
# unclosed quote or comment runs to the end of what was read, so the caller reads more), then the first line
# that holds only END (any case; white space, a comment or ';' may follow).
_END_LOOKAHEAD = rb"[ \t]*[Ee][Nn][Dd](?=[ \t\r\n;\x00]|/\*|\Z)"
_END_RE = re.compile(
    rb"(?:\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z)|/\*.*?(?:\*/|\Z)|\#[^\n]*|[^\"'/\#\n]++|/"
    rb"|\n(?!" + _END_LOOKAHEAD + rb"))*+"
    rb"\n" + _END_LOOKAHEAD,
    re.S,
)


def _find_end(data: bytes) -> int | None:
    """Offset just after the END statement (None when the data read so far holds none)."""
    m = _END_RE.match(b"\n" + data)
    return m.end() - 1 if m is not None else None


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def label_bytes(path: Path) -> bytes:
    """The label part of *path* (up to and including END) as bytes; FormatError when there is no END."""
    with open_regular(path) as f:
        data = f.read(_CHUNK)
        while True:
            end = _find_end(data)
            if end is not None:
                return data[:end]
            if len(data) >= MAX_LABEL_BYTES:
                raise FormatError(f"no END statement in the first {MAX_LABEL_BYTES} bytes")
            more = f.read(len(data))
            if not more:
                raise FormatError(_why_no_end(data))
            data += more


_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f\x80-\xff]")


def detached_label(data: bytes) -> bytes:
    """The label of a file read whole because its name is a detached label's (``.lbl``): all of it, but when
    binary data follows its END (THEMIS's ``.lbl`` files hold their qube), only the label up to END."""
    end = _find_end(data[:MAX_LABEL_BYTES])
    if end is None or end == len(data) or not _BINARY.search(data, end, end + 65536):
        return data
    return data[:end]


def label_text(path: Path, data: bytes | None = None) -> str:
    """The label part of *path* (up to and including END) as text; FormatError when there is no END.

    ``data``, when given, is the file's content (or its first part) already read: it is used instead.
    """
    if data is None:
        return _decode(label_bytes(path))
    end = _find_end(data[:MAX_LABEL_BYTES])
    if end is None:
        raise FormatError(_why_no_end(data))
    return _decode(data[:end])


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")
"""Control bytes no label text holds (NUL, and all but tab, line ends, form feed and DOS's end-of-file ^Z)."""


def detached_text(data: bytes) -> tuple[str, bool]:
    """The text of a detached label (a file that is all label, its bytes ``data``) and whether it ends with an
    END statement. Without END the whole file is the label (old volumes leave the END line out): unless it
    is empty, holds binary bytes, is UTF-16, has CR-only line ends or is too large, when FormatError says why
    no END was read."""
    end = _find_end(data[:MAX_LABEL_BYTES])
    if end is not None:
        return _decode(data[:end]), True
    if _unreadable(data) is not None or _CONTROL.search(data, 0, 65536):
        raise FormatError(_why_no_end(data))
    return _decode(data), False


def _why_no_end(data: bytes) -> str:
    """Why no END statement was found in ``data`` (a whole file, or its first MAX_LABEL_BYTES), in the terms
    a curator can act on: a label that does end in END but is UTF-16, or has CR-only line ends, is not
    reported as truncated."""
    return _unreadable(data) or "no END statement (truncated label?)"


def _unreadable(data: bytes) -> str | None:
    """Why ``data`` holds no END statement a reader could find, when that is not that it was cut short: it is
    empty, UTF-16, has CR-only line ends or is larger than MAX_LABEL_BYTES (None otherwise)."""
    head = data[:4096]
    if not data:
        return "empty file"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") > len(head) // 4:
        return "the label is UTF-16 (or holds NUL bytes), not ASCII text as PDS3 labels are: no END statement read"
    if b"\n" not in head and b"\r" in head:
        return "its lines end in CR only (PDS3 label lines end in CR LF): no END statement read"
    if len(data) >= MAX_LABEL_BYTES:
        return f"no END statement in the first {MAX_LABEL_BYTES} bytes"
    return None


# ------------------------------------------------------------------------------------------ plain data
Quantity = namedtuple("Quantity", ["value", "units"])
"""The fast reader's value-with-units; compares and hashes like pvl's ``Quantity`` (both are tuples)."""


class _Block(list[tuple[str, Any]]):
    """An OBJECT/GROUP (or the module) as the fast reader builds it: a list of (name, value) pairs."""


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _pairs_to_dict(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    repeated: set[str] = set()
    for key, value in pairs:
        name = str(key)
        plain = to_plain(value)
        if name not in out:
            out[name] = plain
        elif name in repeated:
            out[name].append(plain)
        else:
            out[name] = [out[name], plain]
            repeated.add(name)
    return out


def to_plain(obj: Any) -> Any:
    """Turn what pvl (or the fast reader) returns into plain JSON-able data (see the module docstring)."""
    if isinstance(obj, str):
        return str(obj)  # drops str subclasses such as pvl's EmptyValueAtLine
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, tuple) and getattr(obj, "_fields", None) == ("value", "units"):
        return {"value": to_plain(obj[0]), "units": str(obj[1])}
    if isinstance(obj, (set, frozenset)):
        return sorted((to_plain(x) for x in obj), key=_json_key)
    if isinstance(obj, _Block):
        return _pairs_to_dict(obj)
    if isinstance(obj, dict):  # pvl's PVLModule/PVLObject/PVLGroup: items() yields every pair, repeats too
        return _pairs_to_dict(obj.items())
    if isinstance(obj, (list, tuple)):
        return [to_plain(x) for x in obj]
    if isinstance(obj, (date, time)):
        return obj.isoformat()
    return str(obj)


# ------------------------------------------------------------------------------------------ pvl reader
@functools.cache
def _pvl() -> tuple[Any, Any]:
    """Import pvl once, quietly: it warns at import time (no ``multidict``; its deprecated ``Units``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import pvl
        import pvl.decoder
        import pvl.exceptions
        import pvl.grammar
        import pvl.lexer
        import pvl.parser

    class TextTimeDecoder(pvl.decoder.OmniDecoder):
        """OmniDecoder that leaves dates and times as written (and never needs dateutil)."""

        def decode_datetime(self, value: str) -> Any:
            raise ValueError(f"{value!r}: date/time values are kept as text")

    return pvl, TextTimeDecoder


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _PvlLoops(BaseException):
    """pvl asked for far more tokens than the text holds: OmniParser loops on some malformed labels
    (``K = <no value>`` then ``123 = 1``). A BaseException, so that pvl's own ``except Exception`` lets it by."""


class _Budgeted:
    """pvl's lexer generator with a budget on next(); send() and throw() pass straight through."""

    __slots__ = ("tokens", "left")

    def __init__(self, tokens: Any, budget: int) -> None:
        self.tokens = tokens
        self.left = budget

    def __iter__(self) -> _Budgeted:
        return self

    def __next__(self) -> Any:
        self.left -= 1
        if self.left < 0:
            raise _PvlLoops
        return next(self.tokens)

    def send(self, value: Any) -> Any:
        return self.tokens.send(value)

    def throw(self, *args: Any) -> Any:
        return self.tokens.throw(*args)


def loads_pvl(text: str) -> Label:
    """Parse label text with pvl (the reference reading); FormatError with pvl's reason and line."""
    pvl, decoder_cls = _pvl()
    grammar = pvl.grammar.OmniGrammar()

    def lexer(s: str, g: Any, d: Any) -> _Budgeted:
        # Real labels take under 0.5 next() calls per character; 8 per character means pvl is looping.
        return _Budgeted(pvl.lexer.lexer(s, g=g, d=d), 8 * len(s) + 1000)

    parser = pvl.parser.OmniParser(grammar=grammar, decoder=decoder_cls(grammar=grammar), lexer_fn=lexer)
    try:
        module = parser.parse(text)
    except _PvlLoops:
        raise FormatError("pvl cannot read this label (it loops on it; an empty value?)") from None
    except pvl.exceptions.LexerError as err:
        raise FormatError(f"{_one_line(err.msg)} (line {err.lineno}, column {err.colno})",
                          line=err.lineno) from None
    except pvl.exceptions.ParseError as err:
        token = getattr(err, "token", None)
        line = parser.doc.count("\n", 0, token.pos) + 1 if token is not None else None
        reason = _one_line(err.args[-1]) if err.args else "parse error"
        raise FormatError(reason + (f" (line {line})" if line else ""), line=line) from None
    except StopIteration:
        raise FormatError("the label ends inside an OBJECT or GROUP block") from None
    except Exception as err:  # pvl fails in odd ways on odd input (TypeError for a sequence in a set, ...)
        raise FormatError(f"{type(err).__name__}: {_one_line(str(err))}") from None
    label = Label(to_plain(module))
    label.empty_values = _empty_values(module, "")
    return label


class Label(dict[str, Any]):
    """A label in the plain form, with what its reading passed over:

    ``empty_values``: (keyword, line) of keywords written with no value (``KEY =`` then the next statement),
    which pvl reads as empty strings (only pvl reads these labels: the fast reader hands them over);
    ``unclosed``: (name, line) of the OBJECT/GROUP blocks still open at an END, which pvl drops with all
    they hold (told by the fast reader; the labels pvl reads alone are not looked at for it);
    ``no_end``: a detached label without an END statement, read to the end of its file.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_values: list[tuple[str, int]] = []
        self.unclosed: list[tuple[str, int | None]] = []
        self.no_end = False


def _empty_values(block: Any, prefix: str) -> list[tuple[str, int]]:
    """(``OBJECT.KEYWORD``, line) of every value pvl read as ``EmptyValueAtLine`` under ``block``."""
    out: list[tuple[str, int]] = []
    for key, value in block.items():
        name = prefix + str(key)
        if hasattr(value, "items"):
            out += _empty_values(value, name + ".")
        elif isinstance(value, str) and type(value).__name__ == "EmptyValueAtLine":
            out.append((name, int(getattr(value, "lineno", 0))))
    return out


# ----------------------------------------------------------------------------------------- fast reader
class Unsupported(Exception):
    """The fast reader met something it does not read exactly as pvl does; the caller uses pvl instead."""


# OmniGrammar's character classes (tests check these against pvl itself).
WHITESPACE = " \t\n\r\x0b\x0c"
RESERVED = "&<>'{},[]=!#()%\";~|\x00"  # PVL's reserved characters minus '+', plus NUL
_SEP = "[" + re.escape(WHITESPACE + RESERVED) + r"]|/\*|\Z"
_PLAIN = "[^" + re.escape(WHITESPACE + RESERVED + "/*") + "]"
_BARE = rf"(?:{_PLAIN}++|/(?!\*)|\*(?!/))++"  # '/*' opens a comment, '*/' is left to pvl

# One match per token: leading white space and comments are skipped (possessively), then either a token
# (the group) or one character nothing else accepts (an empty group: leave this label to pvl). A radix
# prefix (``16#``) whose number does not close where pvl's lexer would close it matches no token either.
_TOKEN_RE = re.compile(
    r"(?:[ \t\n\r\x0b\x0c]+|/\*.*?(?<!/)\*/|\#[^\n/*]*\n)*+"  # pvl: '/*', '*/' act inside '#' comments
    r"(?:("
    r"[=(){},;]"
    rf"|(?![+-]?(?:1[0-6]|[2-9])\#){_BARE}"
    r'|"[^"]*"|\'[^\']*\''
    rf"|<[^>]*>(?={_SEP})"
    rf"|[+-]?(?:1[0-6]|[2-9])\#[^#]*\#(?={_SEP})"
    r")|.)",
    re.S,
)
_DASH_CONTINUATION = re.compile(r"-[\n\r\f]\s*")  # OmniParser.parse() removes these first
# White space to Python (str.split) but not to the grammar: pvl's parser skips a token made only of these.
_OTHER_SPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_QUOTED_DASH = re.compile("-[\n\r\x0b\x0c][ \t\n\r\x0b\x0c]*")
_WS_RUN = re.compile("[ \t\n\r\x0b\x0c]+")
_NONDECIMAL = re.compile(r"([+-]?)([2-9]|1[0-6])#([+-]?)([0-9A-Fa-f]+)#")
_BEGIN = {"object": "end_object", "begin_object": "end_object", "group": "end_group",
          "begin_group": "end_group"}
_KEYWORDS = {"end", "object", "begin_object", "end_object", "group", "begin_group", "end_group"}
_PUNCT = {"=", "(", ")", "{", "}", ",", ";"}


def _may_be_number(text: str) -> bool:
    """False only when neither int() nor float() can accept *text* (a cheap pre-check)."""
    c = text[0]
    if c in "+-":
        c = text[1:2]
    return not c or not c.isascii() or c.isdigit() or c in ".iInN"


def _is_number(text: str) -> bool:
    if not _may_be_number(text):
        return False
    try:
        int(text, 10)
        return True
    except ValueError:
        pass
    try:
        float(text)
        return True
    except ValueError:
        return False


def _check_name(tok: str) -> bool:
    """pvl's Token.is_parameter_name() for the tokens this reader produces."""
    return (tok[0] not in "\"'<" and tok not in _PUNCT and "#" not in tok
            and tok.casefold() not in _KEYWORDS and not _is_number(tok))


def _quoted(inner: str) -> str:
    """ODLDecoder.decode_quoted_string(): drop dash line continuations, collapse white space."""
    if "-" in inner:
        inner = _QUOTED_DASH.sub("", inner)
    return _WS_RUN.sub(" ", inner.strip(WHITESPACE))


def _decode_value(tok: str) -> Any:
    """pvl's decode_simple_value() (dates kept as text) for a token that is not punctuation or units."""
    if tok[0] in "\"'":
        return _quoted(tok[1:-1])
    folded = tok.casefold()
    if folded == "null":
        return None
    if folded == "true":
        return True
    if folded == "false":
        return False
    if "#" in tok:
        m = _NONDECIMAL.fullmatch(tok)
        if m is None or (m.group(1) and m.group(3)):
            raise Unsupported(tok)
        try:
            return int((m.group(1) or m.group(3)) + m.group(4), int(m.group(2)))
        except ValueError:
            raise Unsupported(tok) from None
    if _may_be_number(tok):
        try:
            return int(tok, 10)
        except ValueError:
            pass
        try:
            return float(tok)
        except ValueError:
            pass
    if folded in _KEYWORDS:
        raise Unsupported(tok)  # pvl reads an empty value here
    return tok


# Both functions above are pure and labels repeat names and many short values, so results for short
# tokens are remembered (at most _CACHE_LIMIT of each, so a few MB).
_CACHE_LIMIT = 1 << 15
_CACHE_LEN = 64
_names: dict[str, bool] = {}
_values: dict[str, Any] = {}
_MISSING = object()


def _is_name(tok: str) -> bool:
    known = _names.get(tok)
    if known is None:
        known = _check_name(tok)
        if len(tok) <= _CACHE_LEN:
            if len(_names) >= _CACHE_LIMIT:
                _names.clear()
            _names[tok] = known
    return known


def _simple(tok: str) -> Any:
    value = _values.get(tok, _MISSING)
    if value is _MISSING:
        value = _decode_value(tok)
        if len(tok) <= _CACHE_LEN:
            if len(_values) >= _CACHE_LIMIT:
                _values.clear()
            _values[tok] = value
    return value


class _EndInsideBlock(Exception):
    """END before the open OBJECT/GROUP blocks were closed."""


class _Parser:
    """Recursive descent over the token list, mirroring pvl's PVLParser on its successful paths only.

    One failure path is mirrored too, because real labels take it (Viking EDRs carry a format file pasted
    inline, END and all): pvl drops every block still open at an END and ends the module there.
    """

    __slots__ = ("toks", "i", "n", "dropped")

    def __init__(self, toks: list[str]) -> None:
        self.toks = toks
        self.i = 0
        self.n = len(toks)
        self.dropped: list[str] = []
        """Names of the outermost blocks still open at an END (dropped, as pvl drops them)."""

    def module(self) -> _Block:
        return self.block("end", "")

    def block(self, end_keyword: str, name: str) -> _Block:
        """Statements up to *end_keyword* (``end_object``/``end_group``, or ``end`` for the module)."""
        toks, n = self.toks, self.n
        out = _Block()
        while True:
            i = self.i
            if i >= n:
                raise Unsupported("ran out of tokens")
            tok = toks[i]
            if _is_name(tok):
                if i + 1 >= n or toks[i + 1] != "=":
                    raise Unsupported("expected '='")
                self.i = i + 2
                out.append((tok, self.value()))
                if self.i < n and toks[self.i] == ";":
                    self.i += 1
                continue
            folded = tok.casefold()
            if folded in _BEGIN:
                if i + 2 >= n or toks[i + 1] != "=" or not _is_name(toks[i + 2]):
                    raise Unsupported("bad block start")
                inner = toks[i + 2]
                self.i = i + 4 if i + 3 < n and toks[i + 3] == ";" else i + 3
                try:
                    out.append((inner, self.block(_BEGIN[folded], inner)))
                except _EndInsideBlock:
                    if end_keyword != "end":
                        raise
                    self.dropped.append(inner)
                    return out  # pvl drops the open blocks and ends the module at this END
            elif folded == end_keyword and end_keyword != "end":
                self.close(name)
                return out
            elif folded == "end":
                self.i = i + 1
                if end_keyword != "end":
                    raise _EndInsideBlock
                return out
            else:
                raise Unsupported(tok)

    def close(self, name: str) -> None:
        """After END_OBJECT/END_GROUP: an optional ``= name`` that must repeat the block name exactly."""
        toks, n = self.toks, self.n
        i = self.i + 1
        if i < n and toks[i] == "=":
            if i + 1 >= n or toks[i + 1] != name:
                raise Unsupported("END block name differs")
            i += 2
        if i < n and toks[i] == ";":
            i += 1
        self.i = i

    def value(self) -> Any:
        toks, n, i = self.toks, self.n, self.i
        if i >= n:
            raise Unsupported("ran out of tokens")
        tok = toks[i]
        self.i = i + 1
        if tok == "(":
            value: Any = self.sequence(")")
        elif tok == "{":
            try:
                value = frozenset(self.sequence("}"))
            except TypeError:
                raise Unsupported("unhashable set member") from None
        elif tok in _PUNCT or tok[0] == "<":
            raise Unsupported(tok)
        else:
            value = _simple(tok)
        i = self.i
        if i < n and toks[i][0] == "<":
            units = toks[i].strip("<>").strip(WHITESPACE)
            if "<" in units or ">" in units:
                raise Unsupported(units)
            self.i = i + 1
            value = Quantity(value, units)
        return value

    def sequence(self, closer: str) -> list[Any]:
        toks, n = self.toks, self.n
        items: list[Any] = []
        if self.i < n and toks[self.i] == closer:
            self.i += 1
            return items
        while True:
            items.append(self.value())
            if self.i >= n:
                raise Unsupported("ran out of tokens")
            tok = toks[self.i]
            self.i += 1
            if tok == closer:
                return items
            if tok != ",":
                raise Unsupported(tok)


def tokens(text: str) -> list[str]:
    """The token list pvl's lexer would produce (white space and comments dropped); Unsupported if unsure."""
    if "-\n" in text or "-\r" in text or "-\f" in text:
        text = _DASH_CONTINUATION.sub("", text)
    if "*/*" in text:
        raise Unsupported("'*/*': pvl reopens the comment")
    toks: list[str] = _TOKEN_RE.findall(text)
    if "" in toks:
        raise Unsupported("a character the fast reader leaves to pvl")
    if _OTHER_SPACE.search(text) and any(tok.isspace() for tok in toks):
        raise Unsupported("a token of Unicode white space")
    return toks


def loads_fast(text: str) -> Label:
    """Parse label text without pvl; raises Unsupported for anything it does not read exactly as pvl."""
    parser = _Parser(tokens(text))
    label = Label(to_plain(parser.module()))
    label.unclosed = [(name, _block_line(text, name)) for name in parser.dropped]
    return label


def _block_line(text: str, name: str) -> int | None:
    """The line of the first ``OBJECT = name`` / ``GROUP = name`` statement of a label's text."""
    m = re.search(rf"^[ \t]*(?:BEGIN_)?(?:OBJECT|GROUP)[ \t]*=[ \t]*{re.escape(name)}[ \t\r]*$", text, re.M | re.I)
    return text.count("\n", 0, m.start()) + 1 if m else None


def loads(text: str, *, fast: bool = True) -> Label:
    """Parse label text: the fast reader when *fast* (falling back to pvl), else pvl itself."""
    if fast:
        try:
            return loads_fast(text)
        except Exception:  # Unsupported by design; anything else (deep nesting...) is pvl's call too
            pass
    return loads_pvl(text)
