"""PDS4 collection inventories: ``Member_Status,LIDVID_LID`` rows → :class:`~lunarchive.model.Member`.

An inventory is a delimited table (PDS DSV 1) named by the collection label's File_Area_Inventory: CSV in
most bundles (``collection_*.csv``), ``.tab`` in older ones (Mars Odyssey), CRLF or LF line ends. Each
row is ``P`` or ``S`` (Primary / Secondary member) and a LIDVID (``urn:...::1.0``) or LID.

Bad rows never raise: they are skipped and described in a list of one-line problems
(``"<file> line 3: unknown member status 'X'"``), each a :class:`Problem` (a ``str``) that also carries the
NASA PDS validate message id it is reported under. Only a file that cannot be read at all raises
FormatError.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import FormatError, InvalidIdentifier
from ..model import Member, Product, split_lidvid

__all__ = ["DELIMITERS", "Problem", "collection_members", "read_inventory"]

DELIMITERS = {"comma": ",", "horizontal tab": "\t", "semicolon": ";", "vertical bar": "|"}
"""PDS4 ``field_delimiter`` values (compared case-insensitively) → the character."""

_STATUS = {"P": "P", "S": "S"}

STATUS = "error.inventory_table.invalid_member_status"
FIELDS = "error.table.fields_mismatch"
CRLF = "error.table.missing_CRLF"
VALUE = "error.validation.invalid_field_value"
ENCODING = "error.validation.invalid_character_stream"
DEFINITION = "error.label.table_definition_problem"
MISSING = "error.label.missing_file"
UNRESOLVABLE = "error.label.unresolvable_resource"
REQUIRED = "error.validation.missing_required_file"


class Problem(str):
    """A one-line problem text that also knows its PDS validate message id (``problem.message_id``)."""

    message_id: str

    def __new__(cls, text: str, message_id: str) -> Problem:
        obj = super().__new__(cls, text)
        obj.message_id = message_id
        return obj

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return str(self), self.message_id


def read_inventory(path: Path, delimiter: str = ",") -> tuple[list[Member], list[Problem]]:
    """Read a collection inventory file: (members, problems).

    Raises FormatError only when the file cannot be read (missing, a directory, no permission).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read inventory: {exc.strerror or exc}") from None
    problems: list[Problem] = []
    name = path.name
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(f"{name}: not UTF-8 text (byte {exc.start}); undecodable bytes replaced", ENCODING))
        text = data.decode("utf-8", errors="replace")
    problems += _line_ends(data, name)
    members: list[Member] = []
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # blank lines after the last record end the file, as the table read
        lines.pop()  # (which stops at its records) takes them; a blank row between records is reported
    for lineno, fields in enumerate(csv.reader(lines, delimiter=delimiter, strict=False), 1):
        where = f"{name} line {lineno}"
        if not fields or all(not f.strip() for f in fields):
            problems.append(Problem(f"{where}: blank row", FIELDS))
            continue
        member = _member(fields, where, problems)
        if member is not None:
            members.append(member)
    return members, problems


def _line_ends(data: bytes, name: str, cap: int = 200) -> list[Problem]:
    """Records that do not end in carriage-return line feed (the delimiter every inventory declares), as
    validate's table check reports them: the first ``cap``, then how many more."""
    records = data.split(b"\n")
    if records and not records[-1]:
        records.pop()  # the file ends with a line feed: no record after it
    else:
        records[-1] += b"?"  # the last record has no line feed at all
    bad = [i for i, r in enumerate(records, 1) if not r.endswith(b"\r")]
    out = [Problem(f"{name}: record {i} does not end in carriage-return line feed", CRLF) for i in bad[:cap]]
    if len(bad) > cap:
        out.append(Problem(f"{name}: ... and {len(bad) - cap} more records that do not end in carriage-return "
                           "line feed", CRLF))
    return out


def _member(fields: list[str], where: str, problems: list[Problem]) -> Member | None:
    if len(fields) < 2:
        problems.append(Problem(f"{where}: expected 2 fields (Member_Status, LIDVID_LID), got {len(fields)}", FIELDS))
        return None
    if len(fields) > 2 and any(f.strip() for f in fields[2:]):
        problems.append(Problem(f"{where}: {len(fields)} fields, only the first 2 used", FIELDS))
    raw_status, ref = fields[0].strip(), fields[1].strip()
    status = _STATUS.get(raw_status.upper())
    if status is None:
        problems.append(Problem(f"{where}: unknown member status {raw_status!r} (expected P or S)", STATUS))
        return None
    if not ref:
        problems.append(Problem(f"{where}: empty LIDVID_LID", VALUE))
        return None
    try:
        _, vid = split_lidvid(ref)
    except InvalidIdentifier as exc:
        problems.append(Problem(f"{where}: {exc.message}", VALUE))
        return None
    if raw_status != status:
        problems.append(Problem(f"{where}: member status {raw_status!r} should be {status!r}", STATUS))
    return Member(ref=ref, status="S" if status == "S" else "P", kind="lidvid" if vid else "lid")


def collection_members(product: Product) -> tuple[list[Member], list[Problem]]:
    """The members of a Product_Collection, read from the inventory file its label names.

    The file is the one named by ``product.extra["inventory_file"]`` (set by the PDS4 parser from
    File_Area_Inventory/File/file_name), found through the matching FileRef's ``path`` or, failing that,
    next to the label; the delimiter comes from ``product.extra["field_delimiter"]``. Anything missing
    becomes a problem string, never an exception.
    """
    if product.product_class != "Product_Collection":
        return [], [Problem(f"{product.lidvid} is a {product.product_class}, not a Product_Collection", REQUIRED)]
    name = product.extra.get("inventory_file")
    if not name:
        return [], [Problem(f"{product.lidvid}: collection label names no inventory file (File_Area_Inventory)",
                            REQUIRED)]
    path = _inventory_path(product, name)
    if path is None:
        return [], [Problem(f"{product.lidvid}: inventory file {name!r} cannot be located", UNRESOLVABLE)]
    problems: list[Problem] = []
    declared = product.extra.get("field_delimiter")
    delimiter = ","
    if declared:
        found = DELIMITERS.get(str(declared).strip().lower())
        if found is None:
            problems.append(Problem(f"{name}: unknown field_delimiter {declared!r}; read as Comma", DEFINITION))
        else:
            delimiter = found
    if not path.is_file():
        return [], [*problems, Problem(f"{name}: inventory file named in the label does not exist ({path})", MISSING)]
    try:
        members, row_problems = read_inventory(path, delimiter)
    except FormatError as exc:
        return [], [*problems, Problem(exc.message, UNRESOLVABLE)]
    return members, problems + row_problems


def _inventory_path(product: Product, name: str) -> Path | None:
    """Where the inventory is: its FileRef's resolved path, else a bare file name next to the label."""
    for ref in product.files:
        if ref.name == name:
            return Path(ref.path) if ref.path else None  # no path: the name leaves the label's directory
    if product.label_path and "/" not in name and "\\" not in name and name not in (".", ".."):
        return Path(product.label_path).parent / name
    return None
