"""Product-level rules: one function per rule, each returning Findings with NASA PDS validate's ids.

They look at one label (its parsed tree and :class:`~lunarchive.model.Product`) and the files it names:
the label is XML at all, every file exists with the declared size and md5, the label's own file name is
legal, tables and other data objects are defined consistently and fit their file, a collection's
``<records>`` agrees with its inventory and lists no LIDVID twice, images decode, and one schematron rule
(product version_id recorded in Modification_History) that validate reports as a warning.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from collections.abc import Collection

from lxml import etree

from ..formats.files import file_digest
from ..formats.pds4 import is_label_name
from ..formats.tables import TableDef, file_name_of, fixed_record_tag, line_of, resolve_file
from ..model import FileRef, Finding, Product, Severity
from ..times import time_problem
from .values import _COMPILED

__all__ = [
    "MSG",
    "check_data_objects",
    "check_file_name",
    "check_file_references",
    "check_image",
    "check_inventory",
    "check_label_notes",
    "check_lid",
    "check_times",
    "check_schematron_version_history",
    "file_md5",
    "finding",
    "naming_problem",
    "read_inventory_rows",
]

_P = "{http://pds.nasa.gov/pds4/pds/v1}"

MSG = {
    "invalid_label": "error.validation.invalid_label",
    "missing_file": "error.label.missing_file",
    "filesize": "error.label.filesize_mismatch",
    "checksum": "error.label.checksum_mismatch",
    "unreadable": "error.label.unresolvable_resource",
    "definition": "error.label.table_definition_problem",
    "object": "error.label.invalid_object_definition",
    "shared_file": "error.label.file_areas_duplicated_reference",
    "conflict": "error.label.duplicate_identifier",
    "bad_extension": "error.label.bad_extension",
    "records": "error.table.records_mismatch",
    "duplicate_lidvid": "error.inventory.duplicate_lidvid",
    "name_chars": "error.file.name_has_invalid_characters",
    "name_long": "error.file.name_too_long",
    "base_name": "error.file.unallowed_base_name",
    "file_name": "error.file.unallowed_name",
    "dir_chars": "error.directory.name_has_invalid_characters",
    "dir_long": "error.directory.name_too_long",
    "dir_name": "error.directory.unallowed_name",
    "jpeg": "error.file.not_jpeg_compliant",
    "png": "error.file.not_png_compliant",
    "schematron": "warning.label.schematron",
    "schema": "error.label.schema",
    "schema_warning": "warning.label.schema",
}
"""Message ids used by the product-level rules (keys of validate's ProblemType)."""

_NAME_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_PROHIBITED = frozenset(
    {
        "aux",
        "com1",
        "com2",
        "com3",
        "com4",
        "com5",
        "com6",
        "com7",
        "com8",
        "com9",
        "con",
        "core",
        "lpt1",
        "lpt2",
        "lpt3",
        "lpt4",
        "lpt5",
        "lpt6",
        "lpt7",
        "lpt8",
        "lpt9",
        "nul",
        "prn",
    }
)
_SCHEMATRON = re.compile(rb"PDS4_PDS_(\d)([0-9A-Z])00\.sch")
_IMAGE_IDS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
_ARRAY_TYPES = {
    "SignedByte": 1,
    "UnsignedByte": 1,
    "SignedMSB2": 2,
    "SignedLSB2": 2,
    "UnsignedMSB2": 2,
    "UnsignedLSB2": 2,
    "SignedMSB4": 4,
    "SignedLSB4": 4,
    "UnsignedMSB4": 4,
    "UnsignedLSB4": 4,
    "SignedMSB8": 8,
    "SignedLSB8": 8,
    "UnsignedMSB8": 8,
    "UnsignedLSB8": 8,
    "IEEE754MSBSingle": 4,
    "IEEE754LSBSingle": 4,
    "IEEE754MSBDouble": 8,
    "IEEE754LSBDouble": 8,
    "ComplexMSB8": 8,
    "ComplexLSB8": 8,
    "ComplexMSB16": 16,
    "ComplexLSB16": 16,
}


def finding(key_or_id: str, message: str, path: str, *, line: int | None = None, lidvid: str | None = None) -> Finding:
    """A Finding whose severity follows the message id (``error.`` / ``warning.`` / ``info.``)."""
    message_id = MSG.get(key_or_id, key_or_id)
    severity: Severity = (
        "warning" if message_id.startswith("warning.") else ("info" if message_id.startswith("info.") else "error")
    )
    return Finding(message_id, message, path, severity, line, lidvid)


_ON_LINE = re.compile(r"\bon line (\d+)")


def check_label_notes(product: Product, label_path: str) -> list[Finding]:
    """The label content the reader could not use (``Product.extra["problems"]``: a reference with no
    LID, a file_size that is not an integer, an unknown member_status...), each an ``error.label.schema``:
    what validate's schema check reports for such content."""
    out = []
    for note in product.extra.get("problems", ()):
        m = _ON_LINE.search(note)
        out.append(finding("schema", note, label_path, line=int(m.group(1)) if m else None, lidvid=product.lidvid))
    for entry in product.extra.get("absolute_directories", ()):  # as validate: the file is not looked for
        out.append(finding("dir_name", f"directory_path_name {entry['directory']!r} is absolute: a label names its "
                           "files relative to its own directory", label_path, line=entry.get("line"),
                           lidvid=product.lidvid))
    return out


def file_md5(path: str) -> str:
    """md5 of a file."""
    return file_digest(path, "md5")


# ------------------------------------------------------------------------------------------ file names


def naming_problem(name: str, *, is_dir: bool = False) -> tuple[str, str] | None:
    """(message key, reason) when a file or directory name breaks the PDS4 naming rules (SR 6C), else None."""
    kind = "directory" if is_dir else "file"
    if len(name) > 255:
        return ("dir_long" if is_dir else "name_long"), f"{kind} name is longer than 255 characters"
    if not _NAME_OK.fullmatch(name):
        return ("dir_chars" if is_dir else "name_chars"), (
            f"{kind} name {name!r} uses characters outside A-Z a-z 0-9 _ - . or does not start with a letter or digit"
        )
    if is_dir and "." in name:
        return "dir_chars", f"directory name {name!r} has an extension"
    if not is_dir and name.lower() == "a.out":
        return "file_name", f"file name {name!r} is not allowed"
    if name in _PROHIBITED:
        return ("dir_name" if is_dir else "base_name"), f"{kind} name {name!r} is a reserved name"
    return None


def check_file_name(label_path: str) -> list[Finding]:
    """The label's own file name follows the naming rules and ends as a label's does (a label named on its
    own can have any name: validate says ``error.label.bad_extension`` of one that does not end in .xml)."""
    name = os.path.basename(label_path)
    problem = naming_problem(name)
    out = [finding(problem[0], problem[1], label_path)] if problem else []
    if not is_label_name(name):
        out.append(finding("bad_extension", f"label file name {name!r} does not end in .xml or .lblx", label_path))
    return out


# ------------------------------------------------------------------------------------- file references


def file_lines(root: etree._Element | None) -> dict[str, int]:
    """The line of each File / Document_File element of a label, by the file name it gives (first wins)."""
    lines: dict[str, int] = {}
    if root is None:
        return lines
    for el in root.iter(_P + "File", _P + "Document_File"):
        name = next((c.text.strip() for c in el.iterchildren(_P + "file_name") if c.text), None)
        if name:
            lines.setdefault(name, line_of(el) or 0)
    return lines


def file_line(lines: dict[str, int], name: str) -> int | None:
    """The line of the File element naming ``name`` (as written, or with a directory_path_name before it)."""
    return lines.get(os.path.basename(name)) or lines.get(name)


def check_file_references(product: Product, label_path: str, root: etree._Element | None = None) -> list[Finding]:
    """Every file the label names exists, with the declared ``file_size`` and ``md5_checksum``.

    A FileRef whose ``status`` is no longer ``pending`` was measured by the caller (ingest hashes every file
    as it stores it): its ``size``/``md5`` are used as they are and missing files are not reported again.
    """
    lines: dict[str, int] | None = None  # the File elements' lines, looked up only for a finding
    out: list[Finding] = []
    # a file under an absolute directory_path_name is not looked for (its unallowed_name is the finding)
    unallowed = {entry.get("name") for entry in product.extra.get("absolute_directories", ())}
    for ref in product.files:
        if ref.name in unallowed:
            continue
        found = _check_one_file(ref, label_path, product.lidvid)
        if found:
            lines = file_lines(root) if lines is None else lines
            line = file_line(lines, ref.name)
            for f in found:
                f.line = line
            out += found
    return out


def _check_one_file(ref: FileRef, label_path: str, lidvid: str) -> list[Finding]:
    """Findings about one file reference (without a line: the caller adds it)."""
    measured = ref.status != "pending"
    if measured and ref.status != "ok":
        return []
    size, md5 = ref.size, ref.md5
    if not measured:
        if not ref.path or not os.path.isfile(ref.path):
            where = "cannot be resolved inside the label's directory" if not ref.path else "does not exist"
            return [
                finding(
                    "missing_file",
                    f"file {ref.name!r} named in the label {where}",
                    label_path,
                    lidvid=lidvid,
                )
            ]
        try:
            size = os.path.getsize(ref.path)
            md5 = file_md5(ref.path) if ref.declared_md5 else None
        except OSError as exc:
            return [
                finding(
                    "unreadable",
                    f"file {ref.name!r} cannot be read: {exc.strerror or exc}",
                    label_path,
                    lidvid=lidvid,
                )
            ]
    out = []
    if ref.declared_size is not None and size is not None and size != ref.declared_size:
        out.append(
            finding(
                "filesize",
                f"file {ref.name!r}: the label gives file_size {ref.declared_size}, the file has {size} bytes",
                label_path,
                lidvid=lidvid,
            )
        )
    if ref.declared_md5 and md5 and md5.lower() != ref.declared_md5.lower():
        out.append(
            finding(
                "checksum",
                f"file {ref.name!r}: the label gives md5_checksum {ref.declared_md5}, the file's md5 is {md5}",
                label_path,
                lidvid=lidvid,
            )
        )
    return out


# ------------------------------------------------------------------------------------- data objects


def check_data_objects(root: etree._Element, tables: list[TableDef], label_path: str, lidvid: str,
                       blocked: Collection[str] = ()) -> list[Finding]:
    """Data objects of each file area are defined consistently and fit their file.

    Tables whose definition cannot be right are reported (error.label.table_definition_problem), so are
    objects that overlap the one before (error.label.invalid_object_definition) and objects that run past
    the end of their file ("data object is truncated", as validate reports it). Files in ``blocked`` are
    not looked at.
    """
    out: list[Finding] = []
    for table in tables:
        if table.problems:
            out.append(
                finding(
                    "definition",
                    f"table {table.index} ({table.name or 'unnamed'}): " + "; ".join(table.problems),
                    label_path,
                    line=table.line,
                    lidvid=lidvid,
                )
            )
            return out  # validate stops at the first object it cannot read
    for file_el in root.iter(_P + "File"):
        area = file_el.getparent()
        if area is not None:
            out += _object_extents(area, file_el, label_path, lidvid, blocked)
    return out


def _object_extents(area: etree._Element, file_el: etree._Element, label_path: str, lidvid: str,
                    blocked: Collection[str]) -> list[Finding]:
    name = file_name_of(file_el)
    # as ingest resolves it: a name that leaves the label's directory is not looked at (nor its size told)
    path = resolve_file(os.path.dirname(label_path), name) if name else None
    if not path or path in blocked or not os.path.isfile(path):
        return []
    size = os.path.getsize(path)
    out: list[Finding] = []
    previous_end, number = -1, 0
    for el in area:
        if not isinstance(el.tag, str) or el.tag == _P + "File":
            continue
        number += 1
        offset, length = _object_span(el)
        if offset is None:
            continue
        if offset < previous_end:
            out.append(
                finding(
                    "object",
                    f"data object #{number}: offset {offset} is inside the previous object, "
                    f"which ends at byte {previous_end}",
                    label_path,
                    line=line_of(el),
                    lidvid=lidvid,
                )
            )
        if length is not None:
            previous_end = offset + length
            if offset + length > size:
                have = max(0, size - offset)
                out.append(
                    finding(
                        "definition",
                        f"data object #{number} ({_local(el.tag)}): data object is "
                        f"truncated: the label defines {length} bytes from offset {offset}, the file "
                        f"{name!r} holds {have} bytes after it",
                        label_path,
                        line=line_of(el),
                        lidvid=lidvid,
                    )
                )
                return out
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _object_span(el: etree._Element) -> tuple[int | None, int | None]:
    """(offset, length in bytes) of a data object, length None when it cannot be known from the label."""

    def num(parent: etree._Element, local: str) -> int | None:
        for c in parent.iterchildren(_P + local):
            try:
                return int((c.text or "").strip())
            except ValueError:
                return None
        return None

    offset = num(el, "offset")
    tag = _local(el.tag)
    if tag == "Header":
        return offset, num(el, "object_length")
    record_tag = fixed_record_tag(el.tag)
    if record_tag is not None:
        record = next(el.iterchildren(record_tag), None)
        records, length = num(el, "records"), num(record, "record_length") if record is not None else None
        return offset, records * length if records is not None and length is not None else None
    if tag.startswith("Array"):
        element = next(el.iterchildren(_P + "Element_Array"), None)
        dtype = (
            next((c.text.strip() for c in element.iterchildren(_P + "data_type") if c.text), "")
            if element is not None
            else ""
        )
        total = _ARRAY_TYPES.get(dtype)
        for axis in el.iterchildren(_P + "Axis_Array"):
            n = num(axis, "elements")
            total = total * n if total is not None and n is not None else None
        return offset, total
    return offset, None


# ---------------------------------------------------------------------------------------- inventories


def read_inventory_rows(path: str, delimiter: str = ",", *, limit: int = 50_000_000) -> list[tuple[str, str]]:
    """(member status, LIDVID or LID) of each non-empty inventory line, read line by line."""
    rows = []
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            status, _, ident = line.partition(delimiter)
            rows.append((status.strip().strip('"'), ident.strip().strip('"')))
            if len(rows) >= limit:
                break
    return rows


def check_inventory(
    product: Product, table: TableDef | None, label_path: str
) -> tuple[list[Finding], list[tuple[str, str]]]:
    """A collection's ``<records>`` equals its inventory rows and no LIDVID is listed twice.

    Returns the findings and the inventory rows (for the referential-integrity rules).
    """
    if table is None or not table.path or not os.path.isfile(table.path):
        return [], []
    try:
        rows = read_inventory_rows(table.path, table.field_delimiter)
    except OSError as exc:
        return [
            finding(
                "unreadable",
                f"inventory {table.file_name!r} cannot be read: {exc.strerror}",
                label_path,
                lidvid=product.lidvid,
            )
        ], []
    out = []
    if table.records and len(rows) != table.records:
        out.append(
            finding(
                "records",
                f"inventory {table.file_name!r}: the label gives {table.records} records, "
                f"the inventory has {len(rows)}",
                label_path,
                line=table.line,
                lidvid=product.lidvid,
            )
        )
    for ident, n in Counter(ident for _, ident in rows).items():
        if n > 1:
            out.append(
                finding(
                    "duplicate_lidvid",
                    f"inventory {table.file_name!r} lists {ident} {n} times",
                    label_path,
                    line=table.line,
                    lidvid=product.lidvid,
                )
            )
    return out, rows


def check_bundle_entries(product: Product, label_path: str) -> list[Finding]:
    """A bundle's Bundle_Member_Entry references, each given once: one ``duplicate_lidvid`` per reference
    written more than once (the same LID or LIDVID, whatever its member status), as validate checks its
    collections' inventories."""
    counts = Counter(m.ref for m in product.members)
    return [finding("duplicate_lidvid", f"the bundle lists {ref} in {n} Bundle_Member_Entry elements", label_path,
                    lidvid=product.lidvid) for ref, n in counts.items() if n > 1]


# ----------------------------------------------------------------------------------------- images


def check_image(path: str, label_path: str | None = None, lidvid: str | None = None) -> list[Finding]:
    """A JPEG or PNG file decodes completely (truncated or corrupt images are reported).

    Images up to 16 Mpixel are decoded; larger ones only have their structure verified, so memory
    stays bounded whatever the file claims.
    """
    kind = _IMAGE_IDS.get(os.path.splitext(path)[1].lower())
    if kind is None or not os.path.isfile(path):
        return []
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.format not in ({"JPEG", "MPO"} if kind == "jpeg" else {"PNG"}):
                    raise OSError(f"content is {img.format}, not {kind.upper()}")
                w, h = img.size
                if w * h > 16_000_000:
                    img.verify()
                else:
                    img.load()
    except Image.DecompressionBombError:
        return []  # too large to open here at all; nothing said either way
    except Exception as exc:  # Pillow raises many types for corrupt data; all mean "cannot decode"
        return [finding(kind, f"{os.path.basename(path)} is not a valid {kind.upper()} file: {exc}",
                        label_path or path, lidvid=lidvid)]  # fmt: skip
    return []


# ------------------------------------------------------------------------------------------ identifiers

_LID = _COMPILED["ASCII_LID"]
"""The schema's pattern for a LID (pds:ASCII_LID, as table values are checked): lowercase letters, digits,
``-._`` and ``:``."""


def check_lid(product: Product, root: etree._Element, label_path: str) -> list[Finding]:
    """The label's logical_identifier has the form of a PDS4 LID (the schema's pattern for ASCII_LID): what
    validate's schema check reports as ``error.label.schema``. The product is catalogued under it all the
    same (a template's ``{{lid}}``, a mixed-case id): the finding says why it will not resolve elsewhere."""
    if _LID.fullmatch(product.lid):
        return []
    ident = next(root.iterchildren(_P + "Identification_Area"), None)
    el = next(ident.iterchildren(_P + "logical_identifier"), None) if ident is not None else None
    return [
        finding(
            "schema",
            f"logical_identifier {product.lid[:120]!r} is not a PDS4 LID (urn:<agency>:<authority>:<bundle>..., "
            "lowercase letters, digits and - . _ only)",
            label_path,
            line=line_of(el) if el is not None else None,
            lidvid=product.lidvid,
        )
    ]


def check_times(product: Product, root: etree._Element, label_path: str) -> list[Finding]:
    """The label's start and stop times can be read: one that cannot leaves the product out of every time
    search, so it is reported. Text that is no ISO 8601 time fails the schema's pattern, as validate says
    (``error.label.schema``); a well-formed time that names no instant (February 30, day 366 of a common
    year) passes the pattern, so it is a warning."""
    out = []
    for tag, value in (("start_date_time", product.start), ("stop_date_time", product.stop)):
        problem = time_problem(value)
        if problem is None:
            continue
        well_formed, reason = problem
        el = next(root.iter(_P + tag), None)
        out.append(finding("schema_warning" if well_formed else "schema",
                           f"{tag} {value!r} is not a UTC time ({reason}); the product cannot be found by time",
                           label_path, line=line_of(el) if el is not None else None, lidvid=product.lidvid))
    return out


# ------------------------------------------------------------------------------------- schematron


def check_schematron_version_history(root: etree._Element, data: bytes, label_path: str, lidvid: str) -> list[Finding]:
    """Emulates one schematron rule of PDS4 IM 1.15 (``PDS4_PDS_1F00.sch``) and later, a warning: the
    product's version_id should appear in its Modification_History. Older schematrons do not have it."""
    m = _SCHEMATRON.search(data, 0, 4096)
    if m is None or (int(m.group(1)), int(m.group(2), 36)) < (1, 15):
        return []
    ident = next(root.iterchildren(_P + "Identification_Area"), None)
    if ident is None:
        return []
    vid = next((c.text.strip() for c in ident.iterchildren(_P + "version_id") if c.text), None)
    history = [c.text.strip() for c in ident.iter(_P + "version_id") if c.text and c.getparent() is not ident]
    if vid is None or not history or vid in history:
        return []
    return [
        finding(
            "schematron",
            f"version_id {vid} is not recorded in Modification_History (versions {', '.join(history)})",
            label_path,
            line=line_of(ident),
            lidvid=lidvid,
        )
    ]
